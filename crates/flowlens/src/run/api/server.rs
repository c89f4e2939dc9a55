//! Server endpoints: `/version`, `/analyzer/json`, `/agents/json`, `/flowkeys/json`, and the
//! answer to unknown paths.

use std::net::IpAddr;
use std::sync::atomic::Ordering;

use axum::extract::{Query, State};
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value as Json};

use super::{json_ok, params, Api, ApiError, ApiResult};
use crate::run::core::Core;
use crate::run::ingest::kernel_drops;

pub(super) async fn version() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        env!("CARGO_PKG_VERSION"),
    )
        .into_response()
}

pub(super) async fn not_found(uri: Uri) -> ApiError {
    ApiError(
        StatusCode::NOT_FOUND,
        format!("no such resource: {}", uri.path()),
    )
}

pub(super) async fn analyzer(State(api): State<Api>) -> ApiResult {
    json_ok(analyzer_doc(&api).await?)
}

/// The `/analyzer/json` document.
pub(super) async fn analyzer_doc(api: &Api) -> ApiResult<Json> {
    let mut doc = api
        .core
        .call(|c: &mut Core| {
            let s = c.engine.stats();
            let f = c.feed;
            let n = c.session().stats();
            json!({
                "version": env!("CARGO_PKG_VERSION"),
                "uptime": c.uptime_ms(),
                "sFlowDatagramsReceived": f.sflow,
                "sFlowAgents": c.engine.agents().list().len(),
                "netflowDatagramsReceived": f.netflow,
                "unknownDatagrams": f.unknown,
                "rejectedDatagrams": f.rejected,
                "netflowRecordErrors": f.record_errors,
                "netflowTemplates": c.session().templates().len(),
                "netflowDataHeldBytes": n.pending.bytes,
                "flowSamples": s.flow_samples,
                "counterSamples": s.counter_samples,
                "discardSamples": s.discard_samples,
                "netflowRecords": s.records,
                "sampleErrors": s.sample_errors,
                "activeKeys": c.engine.active_keys(),
                "keysAdded": s.keys_added,
                "keysExpired": s.keys_expired,
                "keysEvicted": s.keys_evicted,
                "keysRefused": s.keys_refused,
                "flowsLogged": s.flows_logged,
                "events": s.events,
                "stateWriteErrors": c.state_errors,
            })
        })
        .await?;
    let (mut datagrams, mut bytes, mut dropped, mut errors) = (0u64, 0u64, 0u64, 0u64);
    let mut kernel = 0u64;
    let mut counted: Vec<std::net::SocketAddr> = Vec::new();
    let sockets: Vec<Json> = api
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
            json!(api.polls.load(Ordering::Relaxed)),
        );
        o.extend(super::process::stats());
    }
    Ok(doc)
}

pub(super) async fn agents(State(api): State<Api>, q: Query<Vec<(String, String)>>) -> ApiResult {
    let p = params(q);
    let wanted: Vec<IpAddr> = p.all("agent").filter_map(|a| a.parse().ok()).collect();
    let any = p.get("agent").is_none();
    let doc = api
        .core
        .call(move |c: &mut Core| {
            let now = c.now_ms();
            let a = c.engine.agents();
            let o: Map<String, Json> = a
                .list()
                .into_iter()
                .filter(|ip| any || wanted.contains(ip))
                .filter_map(|ip| Some((ip.to_string(), a.to_json(now, ip)?)))
                .collect();
            Json::Object(o)
        })
        .await?;
    json_ok(doc)
}

pub(super) async fn flow_keys(State(api): State<Api>) -> ApiResult {
    let keys = api
        .core
        .call(|c: &mut Core| c.engine.flow_keys(c.now_ms()))
        .await?;
    json_ok(Json::Object(
        keys.into_iter().map(|(k, ms)| (k, json!(ms))).collect(),
    ))
}
