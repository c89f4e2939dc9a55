#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! No heap allocation per sample: a warmed engine (every key already in its table) fed the
//! same sFlow flow samples and NetFlow/IPFIX records again allocates nothing, with the
//! benchmark's ten definitions (filters, legacy groups, `group:`, `mask:`, `count:`, `avg:`);
//! and counter samples of interfaces already known, with unchanged texts, allocate nothing
//! either ([`counter_samples_allocate_nothing_once_warm`]).
//!
//! Its own test binary, because it installs a counting global allocator ([`cap::Cap`], with
//! its `stats` feature: `total_allocated` counts every byte ever requested, reallocations
//! included), which must see nothing but this test. The one test function runs both inputs
//! in turn, so no other test thread allocates while it counts.

use std::alloc::System;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use cap::Cap;
use flowlens_engine::{Collector, Engine, Limits};
use flowlens_netflow::NetflowSession;
use flowlens_wire::packet::{walk, LinkType, WalkConfig};
use flowlens_wire::sflow::Datagram;
use flowlens_wire::sniff::{sniff, Export};
use pcap_parser::PcapCapture;
use serde_json::json;

#[global_allocator]
static ALLOC: Cap<System> = Cap::new(System, usize::MAX);

/// The engine benchmark's definitions (`benches/engine.rs`, `DEFS`).
const DEFS: &[(&str, &str)] = &[
    (
        "pair",
        r#"{"keys":"ipsource,ipdestination","value":"bytes"}"#,
    ),
    (
        "external",
        r#"{"keys":"ipsource","value":"frames",
            "filter":"outputifindex!=discard&direction=ingress&sourcegroup=external"}"#,
    ),
    (
        "tuple",
        r#"{"keys":"ipsource,ipdestination,ipprotocol,tcpsourceport,tcpdestinationport",
            "value":"frames"}"#,
    ),
    (
        "fanin",
        r#"{"keys":"ipdestination","value":"frames","values":["count:ipsource","avg:ipbytes"]}"#,
    ),
    (
        "sites",
        r#"{"keys":"group:ipsource:site,group:ipdestination:site","value":"bytes"}"#,
    ),
    (
        "macs",
        r#"{"keys":"macsource,macdestination","value":"bytes"}"#,
    ),
    ("proto", r#"{"keys":"ipprotocol","value":"frames"}"#),
    (
        "tcpports",
        r#"{"keys":"tcpdestinationport","value":"frames","filter":"ipprotocol=6"}"#,
    ),
    (
        "nets",
        r#"{"keys":"mask:ipsource:24,mask:ipdestination:24","value":"bytes"}"#,
    ),
    (
        "ifmatrix",
        r#"{"keys":"agent,inputifindex,outputifindex","value":"bytes"}"#,
    ),
];

/// A capture of the set by its relative path: the repository's copy (`testdata/captures`),
/// else `../shared/data`. Every capture this test reads is in the repository.
fn data_file(rel: &str) -> PathBuf {
    flowlens_testdata::file(rel)
        .unwrap_or_else(|| panic!("{rel}: neither in testdata/captures nor in ../shared/data"))
}

/// UDP payloads of `path` that [`sniff`] takes for `want` (sFlow, or any NetFlow/IPFIX),
/// with their senders, leaving out sFlow datagrams with counter samples.
fn payloads(path: &Path, sflow: bool) -> Vec<(IpAddr, Vec<u8>)> {
    all_payloads(path)
        .into_iter()
        .filter(|(_, d)| {
            let is_sflow = matches!(sniff(d), Some(Export::Sflow));
            is_sflow == sflow && !has_counter_samples(d)
        })
        .collect()
}

/// Every flow-export UDP payload of `path` ([`sniff`] knows it), with its sender.
fn all_payloads(path: &Path) -> Vec<(IpAddr, Vec<u8>)> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let cap = PcapCapture::from_file(&bytes).unwrap();
    let link = LinkType::from_pcap(cap.header.network.0 as u32).expect("known link type");
    let cfg = WalkConfig::default();
    cap.blocks
        .iter()
        .filter_map(|b| {
            let w = walk(link, b.data, &cfg);
            let udp = w.outer_udp()?;
            sniff(udp.payload)?;
            Some((udp.src_addr, udp.payload.to_vec()))
        })
        .collect()
}

/// True for an sFlow datagram carrying counter samples. Those are tested apart
/// ([`counter_samples_allocate_nothing_once_warm`]): fed a second time, a counter sample is a
/// duplicate (same sequence number) and is ignored, so the repeated passes would not exercise
/// it.
fn has_counter_samples(payload: &[u8]) -> bool {
    Datagram::parse(payload).is_ok_and(|d| {
        d.samples()
            .any(|s| matches!(s, Ok(flowlens_wire::sflow::Sample::Counter(_))))
    })
}

fn collector() -> Collector {
    // Idle keys stay (no tick runs while counting anyway), so the second pass finds every key.
    let limits = Limits {
        idle_factor: 0.0,
        ..Limits::default()
    };
    let mut e = Engine::new(limits);
    e.set_legacy_groups(&json!({"external":["0.0.0.0/0"],"internal":["10.0.0.2/32"]}))
        .unwrap();
    e.set_groups(
        "site",
        &json!({"lab":["10.0.0.0/8","192.168.0.0/16"],"dc":["172.16.0.0/12"],
                "v6":["fe80::/10","2001:db8::/32"],"world":["0.0.0.0/0","::/0"]}),
    )
    .unwrap();
    for (name, spec) in DEFS {
        let spec: serde_json::Value = serde_json::from_str(spec).unwrap();
        e.set_flow(name, &spec).unwrap();
    }
    Collector::new(
        e,
        NetflowSession::new(flowlens_netflow::Limits::default()).unwrap(),
    )
}

/// Feeds `dgrams` twice (warm-up: keys, tables, buffers, templates), then once more while
/// counting; returns the bytes allocated during the third pass and the datagram of the first
/// allocation (for the failure message).
fn allocations(what: &str, dgrams: &[(IpAddr, Vec<u8>)]) -> (usize, Option<usize>) {
    let mut c = collector();
    let mut now_ms = 1_700_000_000_000;
    for _ in 0..2 {
        for (from, d) in dgrams {
            c.handle_datagram(now_ms, *from, d);
            now_ms += 1;
        }
    }
    let (total, first) = count_allocations(&mut c, dgrams, now_ms, 1);
    assert!(
        c.engine().active_keys() > 10,
        "{what}: the definitions matched {} keys",
        c.engine().active_keys()
    );
    (total, first)
}

/// Feeds `dgrams` from `now_ms` on, `step_ms` apart, counting the bytes allocated meanwhile;
/// returns them and the index of the first datagram that allocated.
fn count_allocations(
    c: &mut Collector,
    dgrams: &[(IpAddr, Vec<u8>)],
    mut now_ms: u64,
    step_ms: u64,
) -> (usize, Option<usize>) {
    let mut total = 0;
    let mut first = None;
    for (i, (from, d)) in dgrams.iter().enumerate() {
        let before = ALLOC.total_allocated();
        c.handle_datagram(now_ms, *from, d);
        let grew = ALLOC.total_allocated() - before;
        if grew > 0 && first.is_none() {
            first = Some(i);
        }
        total += grew;
        now_ms += step_ms;
    }
    (total, first)
}

#[test]
fn warmed_engine_allocates_nothing_per_sample() {
    let mut sflow = Vec::new();
    for f in [
        "exporters/sflow-ovs-br0.pcap",
        "exporters/sflow-pmacct-live.pcap",
        "exporters/sflow-ovs-underlay-tunnels.pcap",
    ] {
        sflow.extend(payloads(&data_file(f), true));
    }
    assert!(sflow.len() > 100);
    let (bytes, first) = allocations("sFlow", &sflow);
    assert_eq!(bytes, 0, "sFlow: allocated, first at datagram {first:?}");

    for f in [
        "exporters/netflow9-softflowd.pcap",
        "exporters/ipfix-softflowd.pcap",
        "exporters/netflow5-softflowd.pcap",
        "exporters/ipfix-ovs.pcap",
    ] {
        let nf = payloads(&data_file(f), false);
        assert!(!nf.is_empty(), "{f}");
        let (bytes, first) = allocations(f, &nf);
        assert_eq!(bytes, 0, "{f}: allocated, first at datagram {first:?}");
    }

    counter_samples_allocate_nothing_once_warm();
}

/// Counter samples: a capture's datagrams that carry them, the first half to warm up (every
/// agent, data source and metric name), the second half counted. The Open vSwitch captures
/// poll the same interfaces again and again; tcpdump's 30-PDU capture is not used, as its
/// data sources each appear once (a new data source allocates its state). Unlike flow samples they
/// cannot be fed twice: a repeated sequence number is a duplicate and changes nothing. The
/// engine has no definitions, so the flow samples beside them only count.
fn counter_samples_allocate_nothing_once_warm() {
    for f in [
        "exporters/sflow-ovs-br0.pcap",
        "exporters/sflow-ovs-underlay-tunnels.pcap",
    ] {
        let dgrams: Vec<_> = all_payloads(&data_file(f))
            .into_iter()
            .filter(|(_, d)| has_counter_samples(d))
            .collect();
        assert!(
            dgrams.len() > 20,
            "{f}: {} datagrams with counter samples",
            dgrams.len()
        );
        let (warm, counted) = dgrams.split_at(dgrams.len() / 2);
        let mut c = Collector::new(
            Engine::new(Limits::default()),
            NetflowSession::new(flowlens_netflow::Limits::default()).unwrap(),
        );
        let mut now_ms = 1_700_000_000_000;
        for (from, d) in warm {
            c.handle_datagram(now_ms, *from, d);
            now_ms += 1000;
        }
        let applied = |c: &Collector| {
            let s = c.engine().counters().stats();
            s.samples - s.ignored
        };
        let before_applied = applied(&c);
        let (total, first) = count_allocations(&mut c, counted, now_ms, 1000);
        let applied = applied(&c) - before_applied;
        assert!(
            applied >= 10,
            "{f}: {applied} counter samples applied while counting"
        );
        assert_eq!(
            total, 0,
            "{f}: allocated, first (datagram, bytes) {first:?}"
        );
    }
}
