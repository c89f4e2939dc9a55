//! Feeds arbitrary bytes as an sFlow datagram to an engine with several flow definitions
//! (key functions, filters, extra values, logging) and thresholds, then ticks it and queries
//! it. Must never panic, and the engine's key count must stay within its caps. Then the same
//! with default caps into one shard (`add_sflow`) and into 4 shards (`add_sflow_batch`):
//! their answers, events, flow records and counters must be the same.
#![no_main]

use flowlens_engine::{AgentSel, AggMode, Engine, FlowQuery, Limits, Sequential};
use flowlens_wire::sflow::Datagram;
use libfuzzer_sys::fuzz_target;
use serde_json::json;

/// An engine with the definitions and thresholds, under `limits`.
fn engine(limits: Limits) -> Engine {
    let mut e = Engine::new(limits);
    let _ = e.set_legacy_groups(&json!({"external":["0.0.0.0/0"],"internal":["10.0.0.0/8"]}));
    let defs = [
        json!({"keys":"ipsource,ipdestination","value":"bytes"}),
        json!({"keys":"ipsource","value":"frames","filter":"outputifindex!=discard&direction=ingress&sourcegroup=external"}),
        json!({"keys":"ipdestination,group:ipdestination:default","value":"frames","values":["count:ipsource","avg:ipbytes","max:ipbytes"],"log":true,"flowStart":true}),
        json!({"keys":"or:tcpsourceport:udpsourceport,mask:ipsource:24,suffix:dnsqname:.:2","value":"frames","log":true,"activeTimeout":1}),
        json!({"keys":"reason,inputifindex","value":"frames","dropped":true}),
        json!({"keys":"ipsource.1,vxlanvni,stack","value":"ipbytes","aggMode":"agent"}),
    ];
    for (i, d) in defs.iter().enumerate() {
        let _ = e.set_flow(&format!("f{i}"), d);
    }
    let _ = e.set_threshold(
        "t",
        &json!({"metric":"f1","value":1,"byFlow":true,"timeout":1}),
    );
    let _ = e.set_threshold("c", &json!({"metric":"ifinoctets","value":1}));
    e
}

/// What the shards must not change: every definition's active flows, events, flow records
/// and counters.
fn answers(e: &Engine, now_ms: u64) -> String {
    let mut out = format!("{:?} {}", e.stats(), e.active_keys());
    for i in 0..DEFS {
        let flows = e.active_flows(now_ms, &FlowQuery::new(&AgentSel::All, &format!("f{i}")));
        out += &format!("{flows:?}");
    }
    for ev in e.events(0, &[], usize::MAX) {
        out += &ev.to_json().to_string();
    }
    for f in e.logged_flows(0, None, usize::MAX) {
        out += &f.to_json().to_string();
    }
    out
}

/// Flow definitions in [`engine`].
const DEFS: usize = 6;

fuzz_target!(|data: &[u8]| {
    let Ok(d) = Datagram::parse(data) else { return };
    let mut e = engine(Limits {
        max_keys_per_table: 64,
        max_active_keys: 256,
        ..Limits::default()
    });
    for round in 0..3u64 {
        e.add_sflow(1_000 + round * 700, &d);
        e.tick(1_500 + round * 700);
    }
    assert!(e.active_keys() <= 256);
    for i in 0..DEFS {
        let name = format!("f{i}");
        let _ = e.active_flows(
            3_000,
            &FlowQuery {
                max_flows: 10,
                agg: AggMode::Sum,
                ..FlowQuery::new(&AgentSel::All, &name)
            },
        );
        let _ = e.active_flows(
            3_000,
            &FlowQuery {
                max_flows: 10,
                ..FlowQuery::new(&AgentSel::All, &name)
            },
        );
    }
    e.tick(100_000);
    assert_eq!(e.active_keys(), 0);

    let mut one = engine(Limits::default());
    let mut four = engine(Limits::default());
    four.set_shards(4);
    for round in 0..3u64 {
        one.add_sflow(1_000 + round * 700, &d);
        one.add_sflow(1_000 + round * 700, &d);
        four.add_sflow_batch(1_000 + round * 700, &[(None, d), (None, d)], &Sequential);
        one.tick(1_500 + round * 700);
        four.tick(1_500 + round * 700);
    }
    assert_eq!(answers(&one, 3_000), answers(&four, 3_000));
});
