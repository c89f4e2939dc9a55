//! sFlow-RT's `/analyzer/json` document: one builder for the REST endpoint, the Prometheus
//! metrics built from it, and scripts' `analyzer()`.
//!
//! The collector's counters come from the library
//! ([`flowlens_engine::Collector::analyzer_json`], read on the engine thread); this module adds
//! what only the server knows: version, uptime, state-write errors ([`engine_part`]) and the
//! receive sockets' counters and long-polls, the HTTP server's counters and the process's CPU
//! time and resident memory ([`Receive::add_to`], read from atomics and `/proc` off the engine
//! thread).

use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{json, Value as Json};

use super::api::SocketInfo;
use super::core::Core;
use super::http::HttpStats;
use super::ingest::kernel_drops;

/// What the receive side shares with the analyzer: the sockets and the long-polls waiting.
#[derive(Debug, Default)]
pub(crate) struct Receive {
    /// The receive sockets with their live counters.
    pub(crate) sockets: Vec<SocketInfo>,
    /// Long-polls waiting now (`longPollsWaiting`).
    pub(crate) polls: AtomicUsize,
    /// The HTTP server's counters.
    pub(crate) http: std::sync::Arc<HttpStats>,
    /// The ClickHouse export's counters (`--clickhouse`).
    pub(crate) export: Option<std::sync::Arc<super::clickhouse::ExportStats>>,
    /// The sFlow forwarding (its drop and error counters).
    pub(crate) forward: Option<std::sync::Arc<super::forward::Forwarding>>,
    /// The live packet sources (`--pcap`, `--mirror`) with their live counters.
    pub(crate) packets: Vec<super::live::SourceInfo>,
}

/// The engine thread's part of the document: the collector's counters, version, uptime (ms)
/// and `stateWriteErrors`. Run it as a job on the engine thread.
pub(crate) fn engine_part(c: &mut Core) -> Json {
    let mut doc = c.collector().analyzer_json();
    if let Some(o) = doc.as_object_mut() {
        o.insert("version".into(), json!(env!("CARGO_PKG_VERSION")));
        o.insert("uptime".into(), json!(c.uptime_ms()));
        o.insert("stateWriteErrors".into(), json!(c.state_errors));
    }
    doc
}

impl Receive {
    /// Adds the receive side's fields to `doc` (an object from [`engine_part`]): totals over
    /// the sockets (`datagramsReceived`, `bytesReceived`, `datagramsDropped` by a full queue,
    /// `kernelDrops` per bound address, `receiveErrors`), each socket, `longPollsWaiting`, and
    /// with `--clickhouse` the export's counters (`clickhouseRowsSent`, …, see
    /// [`super::clickhouse::ExportStats::to_json`]), and the live packet sources' counters
    /// (`packetsReceived`, …, `packetSources`: see [`super::live::add_to`]).
    pub(crate) fn add_to(&self, doc: &mut Json) {
        let (mut datagrams, mut bytes, mut dropped, mut errors) = (0u64, 0u64, 0u64, 0u64);
        let mut kernel = 0u64;
        let mut counted: Vec<std::net::SocketAddr> = Vec::new();
        let sockets: Vec<Json> = self
            .sockets
            .iter()
            .map(|s| {
                let d = s.stats.datagrams.load(Ordering::Relaxed);
                let b = s.stats.bytes.load(Ordering::Relaxed);
                let x = s.stats.dropped.load(Ordering::Relaxed);
                let e = s.stats.errors.load(Ordering::Relaxed);
                // Per address: sockets sharing one (SO_REUSEPORT) report the same sum.
                let k = kernel_drops(s.local);
                if !counted.contains(&s.local) {
                    counted.push(s.local);
                    kernel += k.unwrap_or(0);
                }
                datagrams += d;
                bytes += b;
                dropped += x;
                errors += e;
                json!({
                    "name": s.name, "address": s.local.to_string(), "receiveBuffer": s.rcvbuf,
                    "datagrams": d, "bytes": b, "dropped": x, "kernelDrops": k, "errors": e,
                })
            })
            .collect();
        if let Some(o) = doc.as_object_mut() {
            o.insert("datagramsReceived".into(), json!(datagrams));
            o.insert("bytesReceived".into(), json!(bytes));
            o.insert("datagramsDropped".into(), json!(dropped));
            o.insert("kernelDrops".into(), json!(kernel));
            o.insert("receiveErrors".into(), json!(errors));
            o.insert("sockets".into(), Json::Array(sockets));
            o.insert(
                "longPollsWaiting".into(),
                json!(self.polls.load(Ordering::Relaxed)),
            );
            let h = &self.http;
            let n = |c: &std::sync::atomic::AtomicU64| json!(c.load(Ordering::Relaxed));
            o.insert("httpConnectionsAccepted".into(), n(&h.accepted));
            o.insert(
                "httpConnectionsOpen".into(),
                json!(h.open.load(Ordering::Relaxed)),
            );
            o.insert("httpConnectionsClosedForRoom".into(), n(&h.closed_for_room));
            o.insert("httpConnectionsRefused".into(), n(&h.refused_at_cap));
            o.insert("httpHeaderTimeouts".into(), n(&h.header_timeouts));
            o.insert("httpBodyTimeouts".into(), n(&h.body_timeouts));
            o.insert("httpBodiesTooLarge".into(), n(&h.bodies_too_large));
            o.insert("httpAcceptErrors".into(), n(&h.accept_errors));
            o.extend(super::process::stats());
            if let Some(Json::Object(x)) = self.export.as_ref().map(|e| e.to_json()) {
                o.extend(x);
            }
        }
        if let Some(f) = &self.forward {
            f.add_to(doc);
        }
        super::live::add_to(&self.packets, doc);
    }
}
