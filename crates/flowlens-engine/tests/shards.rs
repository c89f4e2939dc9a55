#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Shards through a [`Fork`] that does not run them at once ([`Sequential`]): a batch's two
//! steps (datagrams on their agents' parts, then flow samples on their shards) in two calls.
//! Over a fabric of 8 agents built from a real Open vSwitch capture, 4 shards fed in batches
//! answer as one shard fed a datagram at a time: flows, the agents' statistics, the counter
//! metrics and the engine's counts. (`flowlens`'s `top/shards_test.rs` covers the threads
//! that run every shard at once, over every capture.)

use std::net::IpAddr;

use flowlens_engine::api::Query;
use flowlens_engine::{AgentSel, AggMode, Collector, Engine, Sequential};
use flowlens_netflow::NetflowSession;
use flowlens_wire::packet::{walk, LinkType, WalkConfig};
use pcap_parser::PcapCapture;
use serde_json::{json, Value as Json};

/// The capture's sFlow datagrams sent again from 8 agents, agent k every (k + 1)th datagram
/// ([`flowlens_testdata::fabric`]).
fn fabric() -> Vec<(IpAddr, Vec<u8>)> {
    let path = flowlens_testdata::file("exporters/sflow-ovs-br0.pcap").expect("capture");
    let bytes = std::fs::read(&path).unwrap();
    let cap = PcapCapture::from_file(&bytes).unwrap();
    let link = LinkType::from_pcap(cap.header.network.0 as u32).expect("link type");
    let cfg = WalkConfig::default();
    let payloads = cap.blocks.iter().filter_map(|b| {
        let w = walk(link, b.data, &cfg);
        let udp = w.outer_udp()?;
        Some((udp.src_addr, udp.payload.to_vec()))
    });
    flowlens_testdata::fabric(payloads, 8, true)
}

fn collector(shards: usize) -> Collector {
    let mut e = Engine::default();
    e.set_flow(
        "pair",
        &json!({"keys":"ipsource,ipdestination,ipprotocol","value":"bytes"}),
    )
    .unwrap();
    e.set_shards(shards);
    Collector::new(
        e,
        NetflowSession::new(flowlens_netflow::Limits::default()).unwrap(),
    )
}

fn answers(c: &Collector, now_ms: u64) -> Json {
    let e = c.engine();
    let all = || AgentSel::All;
    let queries = [
        (
            "flows",
            Query::ActiveFlows {
                agents: all(),
                name: "pair".into(),
                max_flows: 1000,
                min_value: 0.0,
                agg: AggMode::Sum,
                key_filter: None,
            },
        ),
        ("agents", Query::Agents { agents: None }),
        (
            "dump",
            Query::Dump {
                agents: all(),
                metrics: vec!["ALL".into()],
                filter: Default::default(),
            },
        ),
        ("names", Query::MetricNames),
    ];
    let mut out = serde_json::Map::new();
    for (name, q) in queries {
        out.insert(name.into(), q.answer(e, now_ms).unwrap());
    }
    out.insert("stats".into(), json!(format!("{:?}", e.stats())));
    out.insert(
        "agent stats".into(),
        json!(format!("{:?}", e.agents().stats())),
    );
    out.insert(
        "counter stats".into(),
        json!(format!("{:?}", e.counters().stats())),
    );
    Json::Object(out)
}

#[test]
fn four_shards_in_two_steps_answer_like_one() {
    let fabric = fabric();
    let (mut one, mut four) = (collector(1), collector(4));
    let mut now_ms = 1_700_000_000_000;
    for (i, chunk) in fabric.chunks(64).enumerate() {
        for (from, d) in chunk {
            one.handle_datagram(now_ms, *from, d);
        }
        four.handle_batch(
            now_ms,
            chunk.iter().map(|(from, d)| (*from, d.as_slice())),
            &Sequential,
        );
        now_ms += 100;
        if i % 10 == 9 {
            one.tick(now_ms);
            four.tick(now_ms);
        }
    }
    let (a, b) = (
        flowlens_testdata::rounded(answers(&one, now_ms)),
        flowlens_testdata::rounded(answers(&four, now_ms)),
    );
    assert_eq!(a["agents"].as_object().unwrap().len(), 8, "{}", a["agents"]);
    assert!(a["dump"].as_array().unwrap().len() > 8, "{}", a["dump"]);
    assert!(a["flows"].as_array().unwrap().len() > 3, "{}", a["flows"]);
    for key in [
        "flows",
        "agents",
        "dump",
        "names",
        "stats",
        "agent stats",
        "counter stats",
    ] {
        assert_eq!(a[key], b[key], "{key} differs with 4 shards");
    }
}
