//! Loss summaries: every class of input that `flowlens run` dropped, refused or evicted is
//! logged, rate-limited, from the counters of `/analyzer/json` (so a line's counts always
//! agree with what the API reports).
//!
//! A thread reads the document every interval (`loss-log-interval`, 60 s by default) and
//! writes one warning per class whose counter grew since the last line: its counter name
//! (`counter`), the count since the last line (`count`) and the total since start (`total`).
//! So however fast datagrams are refused, a class costs at most one line per interval, and
//! nothing is ever logged per datagram. The scripts' losses (events and flows their full
//! inboxes turned away, HTTP requests refused) are summed over the scripts of `/scripts/json`
//! into three more classes, `scriptEventsLost`, `scriptFlowsLost` and `scriptHttpRefused`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use flowlens_script::Scripts;
use serde_json::Value as Json;

use super::analyzer::{self, Receive};
use super::core::CoreHandle;

/// The classes of loss: the `/analyzer/json` counter and what it counts.
pub(crate) const CLASSES: &[(&str, &str)] = &[
    (
        "datagramsDropped",
        "datagrams dropped: the engine's queue was full",
    ),
    (
        "kernelDrops",
        "datagrams dropped by the kernel: a receive buffer was full",
    ),
    ("receiveErrors", "receive errors on the UDP sockets"),
    (
        "unknownDatagrams",
        "datagrams refused: neither sFlow, NetFlow nor IPFIX",
    ),
    (
        "rejectedDatagrams",
        "datagrams refused: sFlow, NetFlow or IPFIX with an unusable header",
    ),
    (
        "netflowRecordErrors",
        "NetFlow/IPFIX records or templates that did not decode",
    ),
    ("sampleErrors", "sFlow samples that did not decode"),
    (
        "sFlowAgentsRefused",
        "sFlow agents refused: too many agents",
    ),
    (
        "sFlowDataSourcesRefused",
        "sFlow data sources refused: too many data sources",
    ),
    (
        "counterDataSourcesRefused",
        "counter data sources refused: too many",
    ),
    (
        "netflowTemplatesEvicted",
        "NetFlow/IPFIX templates evicted: too many templates",
    ),
    (
        "netflowTemplatesRefused",
        "NetFlow/IPFIX templates refused: empty, too many fields or too long",
    ),
    (
        "netflowDataExpired",
        "NetFlow/IPFIX data dropped: its template never came",
    ),
    (
        "netflowDataRefused",
        "NetFlow/IPFIX data refused while waiting for its template: no room",
    ),
    (
        "netflowDataEvicted",
        "NetFlow/IPFIX data waiting for its template evicted: no room",
    ),
    (
        "netflowSamplersEvicted",
        "NetFlow/IPFIX sampler rates evicted: too many samplers",
    ),
    ("keysEvicted", "flow keys evicted: too many keys"),
    ("keysRefused", "flow keys refused: too many keys"),
    (
        "httpConnectionsRefused",
        "HTTP connections refused: too many open",
    ),
    (
        "httpConnectionsClosedForRoom",
        "idle HTTP connections closed to make room",
    ),
    (
        "httpHeaderTimeouts",
        "HTTP requests whose headers did not come in time",
    ),
    (
        "httpBodyTimeouts",
        "HTTP requests whose body did not come in time",
    ),
    ("httpBodiesTooLarge", "HTTP request bodies too large"),
    ("httpAcceptErrors", "HTTP accept errors"),
    (
        "clickhouseDroppedRows",
        "ClickHouse rows dropped: the spool was full",
    ),
    (
        "clickhousePartitionsDropped",
        "ClickHouse spool partitions dropped: the spool was full",
    ),
    (
        "forwardingDatagramsDropped",
        "sFlow datagrams not forwarded: the forwarding queue was full",
    ),
    ("forwardingErrors", "sFlow forwarding send errors"),
    (
        "scriptEventsLost",
        "events not offered to scripts: a script's inbox was full",
    ),
    (
        "scriptFlowsLost",
        "logged flows not offered to scripts: a script's inbox was full",
    ),
    (
        "scriptHttpRefused",
        "HTTP requests to scripts refused: busy or stopped",
    ),
];

/// Adds the scripts' losses, summed over the scripts' `/scripts/json` entries
/// (`eventsLost`, `flowsLost`, `httpRefused`), to `doc` as `scriptEventsLost`, ….
fn add_script_losses(scripts: &Scripts, doc: &mut Json) {
    let mut sums = [0u64; 3];
    for s in scripts.iter() {
        let status = s.status_json();
        for (sum, key) in sums
            .iter_mut()
            .zip(["eventsLost", "flowsLost", "httpRefused"])
        {
            *sum += status.get(key).and_then(Json::as_u64).unwrap_or(0);
        }
    }
    if let Some(o) = doc.as_object_mut() {
        for (sum, key) in
            sums.iter()
                .zip(["scriptEventsLost", "scriptFlowsLost", "scriptHttpRefused"])
        {
            o.insert(key.into(), Json::from(*sum));
        }
    }
}

/// The counts since the last summary: for each class of [`CLASSES`] whose counter in `doc`
/// grew beyond `last` (updated), its counter name, the growth and the total.
pub(crate) fn grown(last: &mut [u64], doc: &Json) -> Vec<(&'static str, &'static str, u64, u64)> {
    let mut out = Vec::new();
    for ((counter, what), seen) in CLASSES.iter().zip(last.iter_mut()) {
        let Some(total) = doc.get(counter).and_then(Json::as_u64) else {
            continue;
        };
        if total > *seen {
            out.push((*counter, *what, total - *seen, total));
        }
        *seen = total;
    }
    out
}

/// The summary thread's interval, changed on SIGHUP.
#[derive(Debug)]
pub(crate) struct Interval(AtomicU64);

impl Interval {
    /// An interval of `secs` seconds.
    pub(crate) fn new(secs: u64) -> Arc<Interval> {
        Arc::new(Interval(AtomicU64::new(secs)))
    }

    /// Makes it `secs` seconds from the next line on.
    pub(crate) fn set(&self, secs: u64) {
        self.0.store(secs, Ordering::Relaxed);
    }

    fn get(&self) -> Duration {
        Duration::from_secs(self.0.load(Ordering::Relaxed).max(1))
    }
}

/// Starts the summary thread; it ends once `stop` is set (within a second) or the engine
/// thread is gone.
///
/// # Errors
/// The thread cannot be spawned.
pub(crate) fn spawn(
    core: CoreHandle,
    receive: Arc<Receive>,
    interval: Arc<Interval>,
    scripts: Arc<std::sync::OnceLock<Scripts>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("loss-log".into())
        .spawn(move || {
            let mut last = vec![0u64; CLASSES.len()];
            let mut next = Instant::now() + interval.get();
            while !stop.load(Ordering::Relaxed) {
                let now = Instant::now();
                if now < next {
                    std::thread::sleep((next - now).min(Duration::from_secs(1)));
                    continue;
                }
                next = now + interval.get();
                let Ok(mut doc) = core.call_blocking(analyzer::engine_part) else {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    // Busy: try again at the next interval; the counts carry over.
                    continue;
                };
                receive.add_to(&mut doc);
                if let Some(s) = scripts.get() {
                    add_script_losses(s, &mut doc);
                }
                let secs = interval.get().as_secs();
                for (counter, what, count, total) in grown(&mut last, &doc) {
                    tracing::warn!(
                        counter,
                        count,
                        total,
                        interval_secs = secs,
                        "{what}: {count} in the last interval"
                    );
                }
            }
        })
        .context("cannot start the loss summary thread")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_classes_that_grew_are_reported_with_their_growth() {
        let mut last = vec![0u64; CLASSES.len()];
        let doc = json!({"unknownDatagrams": 5, "keysEvicted": 0, "flowSamples": 9});
        assert_eq!(
            grown(&mut last, &doc),
            [(
                "unknownDatagrams",
                "datagrams refused: neither sFlow, NetFlow nor IPFIX",
                5,
                5
            )]
        );
        assert!(grown(&mut last, &doc).is_empty());
        let doc = json!({"unknownDatagrams": 7, "keysEvicted": 2});
        let g: Vec<(&str, u64, u64)> = grown(&mut last, &doc)
            .into_iter()
            .map(|(c, _, n, t)| (c, n, t))
            .collect();
        assert_eq!(g, [("unknownDatagrams", 2, 7), ("keysEvicted", 2, 2)]);
    }

    #[test]
    fn every_class_is_a_counter_of_the_analyzer_document() {
        let names: std::collections::HashSet<&str> = CLASSES.iter().map(|(c, _)| *c).collect();
        assert_eq!(names.len(), CLASSES.len(), "a class is listed twice");
        let engine = flowlens_engine::Engine::new(flowlens_engine::Limits::default());
        let session =
            flowlens_netflow::NetflowSession::new(flowlens_netflow::Limits::default()).unwrap();
        let mut doc = flowlens_engine::Collector::new(engine, session).analyzer_json();
        Receive::default().add_to(&mut doc);
        for (c, _) in CLASSES {
            let server_side = c.starts_with("clickhouse")
                || c.starts_with("forwarding")
                || c.starts_with("script");
            assert!(
                server_side || doc.get(c).is_some_and(Json::is_u64),
                "{c} is not in /analyzer/json: {doc}"
            );
        }
    }
}
