//! Engine shards change nothing but speed: every capture (`../shared/data`, else the
//! repository's `testdata/captures`) replayed one datagram at a time into one shard (today's
//! path) and in batches into 4 shards fed by 4 threads ([`crate::shards::Threads`]) gives the
//! same answers: active flows merged with `max` and with `sum`, flows as metrics, flow
//! values and locations, the data sources holding keys, events (in the same order, with the
//! same ids), thresholds still triggered, logged flows (flow ends and flow starts), the
//! agents' statistics and counter metrics (kept in one part per shard: `/agents/json`,
//! `/dump`, `/table`, `/metric`, `/metrics`) and the engine's counters.
//!
//! Twice over: with definitions kept per data source (shards chosen by agent and data
//! source), and with an `aggMode:'agent'` definition besides (shards chosen by agent).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use flowlens_engine::api::Query;
use flowlens_engine::{AgentSel, AggMode, Engine, Limits};
use serde_json::{json, Value as Json};

use super::replay::{Progress, Replayer};

/// Definitions over sFlow, NetFlow/IPFIX and raw packets: flow-end and flow-start records,
/// `values`, key functions, a filter.
const FLOWS: &[(&str, &str)] = &[
    (
        "pair",
        "{keys:'ipsource,ipdestination,ipprotocol',value:'bytes',log:true,activeTimeout:2}",
    ),
    (
        "start",
        "{keys:'ipdestination,or:tcpdestinationport:udpdestinationport',value:'frames',log:true,flowStart:true}",
    ),
    (
        "fanin",
        "{keys:'mask:ipdestination:24',value:'frames',values:['count:ipsource','avg:ipbytes']}",
    ),
    (
        "ports",
        "{keys:'ipprotocol,null:tcpflags:-',value:'bytes',filter:'ipprotocol=6,17',t:5}",
    ),
];

/// Thresholds on the flows (per data source, and `byFlow` re-arming after 2 s) and on a
/// counter metric.
const THRESHOLDS: &[(&str, &str)] = &[
    ("loud", "{metric:'pair',value:1000}"),
    ("each", "{metric:'ports',value:10,byFlow:true,timeout:2}"),
    ("busy", "{metric:'ifinoctets',value:1}"),
];

/// An engine with the definitions (and `by_agent`'s per-agent one) in `shards` shards.
fn engine(shards: usize, by_agent: bool) -> Engine {
    let mut e = Engine::new(Limits::default());
    for (name, spec) in FLOWS {
        e.set_flow(name, &json5::from_str(spec).unwrap()).unwrap();
    }
    if by_agent {
        e.set_flow(
            "agents",
            &json!({"keys":"ipsource","value":"bytes","aggMode":"agent"}),
        )
        .unwrap();
    }
    for (name, spec) in THRESHOLDS {
        e.set_threshold(name, &json5::from_str(spec).unwrap())
            .unwrap();
    }
    e.set_shards(shards);
    e
}

/// Everything the engine answers about flows, thresholds and events, as JSON.
fn answers(e: &Engine, now_ms: u64) -> Json {
    let mut names: Vec<&str> = FLOWS.iter().map(|(n, _)| *n).collect();
    if e.flow_def("agents").is_some() {
        names.push("agents");
    }
    let mut out = serde_json::Map::new();
    for name in &names {
        for agg in [AggMode::Max, AggMode::Sum] {
            let q = Query::ActiveFlows {
                agents: AgentSel::All,
                name: (*name).to_string(),
                max_flows: usize::MAX,
                min_value: 0.0,
                agg,
                key_filter: None,
            };
            out.insert(format!("{name} {agg:?}"), q.answer(e, now_ms).unwrap());
        }
        let metric = Query::Metric {
            agents: AgentSel::All,
            metrics: vec![(*name).to_string()],
            filter: Default::default(),
        };
        out.insert(format!("{name} metric"), metric.answer(e, now_ms).unwrap());
        let sources = e.flow_data_sources(name).unwrap();
        out.insert(
            format!("{name} sources"),
            json!(sources.iter().map(|d| format!("{d:?}")).collect::<Vec<_>>()),
        );
        // The first few keys: their value and where they are.
        let top = e
            .active_flows(
                now_ms,
                &flowlens_engine::FlowQuery::new(&AgentSel::All, name),
            )
            .unwrap();
        for f in top.iter().take(3) {
            let value = Query::FlowValue {
                agents: AgentSel::All,
                name: (*name).to_string(),
                key: f.key.clone(),
            };
            let at = Query::FlowLocations {
                agents: AgentSel::All,
                name: (*name).to_string(),
                key: f.key.clone(),
            };
            out.insert(
                format!("{name} {} value", f.key),
                value.answer(e, now_ms).unwrap(),
            );
            out.insert(
                format!("{name} {} at", f.key),
                at.answer(e, now_ms).unwrap(),
            );
            for ds in &sources {
                let triggered = e
                    .threshold_triggered("each", ds.agent, ds.id, Some(&f.key))
                    .unwrap();
                out.insert(format!("each {ds:?} {} triggered", f.key), json!(triggered));
            }
        }
        for ds in &sources {
            let triggered = e
                .threshold_triggered("loud", ds.agent, ds.id, None)
                .unwrap();
            out.insert(format!("loud {ds:?} triggered"), json!(triggered));
        }
    }
    let events: Vec<Json> = e
        .events(0, &[], usize::MAX)
        .into_iter()
        .map(|v| v.to_json())
        .collect();
    out.insert("events".into(), Json::Array(events));
    let flows: Vec<Json> = e
        .logged_flows(0, None, usize::MAX)
        .into_iter()
        .map(|f| f.to_json())
        .collect();
    out.insert("logged flows".into(), Json::Array(flows));
    // The agents' statistics and counter metrics, kept in one part per shard.
    let agents = Query::Agents { agents: None };
    out.insert("agents".into(), agents.answer(e, now_ms).unwrap());
    out.insert(
        "agents stats".into(),
        json!(format!("{:?}", e.agents().stats())),
    );
    let dump = Query::Dump {
        agents: AgentSel::All,
        metrics: vec!["ALL".into()],
        filter: Default::default(),
    };
    out.insert("dump".into(), dump.answer(e, now_ms).unwrap());
    let table = Query::Table {
        agents: AgentSel::All,
        metrics: vec!["ifname".into(), "sort:ifinoctets:-5".into()],
        filter: Default::default(),
    };
    out.insert("table".into(), table.answer(e, now_ms).unwrap());
    let metric = Query::Metric {
        agents: AgentSel::All,
        metrics: vec!["sum:ifinoctets".into(), "max:ifinutilization".into()],
        filter: Default::default(),
    };
    out.insert("counter metric".into(), metric.answer(e, now_ms).unwrap());
    out.insert(
        "metric names".into(),
        Query::MetricNames.answer(e, now_ms).unwrap(),
    );
    for agent in e.agents().list() {
        let m = Query::AgentMetrics { agent };
        out.insert(format!("metrics of {agent}"), m.answer(e, now_ms).unwrap());
    }
    out.insert(
        "counter stats".into(),
        json!(format!("{:?}", e.counters().stats())),
    );
    out.insert("stats".into(), json!(format!("{:?}", e.stats())));
    out.insert("active keys".into(), json!(e.active_keys()));
    Json::Object(out)
}

/// One capture replayed into an engine of `shards` shards; its answers at the end.
fn replay(path: &Path, shards: usize, by_agent: bool) -> Json {
    let mut r = Replayer::new(engine(shards, by_agent)).unwrap();
    let progress = Progress::new(&[], false);
    r.file(path, &progress, false, |_, _, _| Ok(())).unwrap();
    flowlens_testdata::rounded(answers(r.engine(), r.engine_ms()))
}

#[test]
fn four_shards_answer_like_one_on_every_capture() {
    let files = flowlens_testdata::corpus_files();
    assert!(files.len() > 20, "only {} captures", files.len());
    let (mut events, mut logged, mut with_keys) = (0, 0, 0);
    for by_agent in [false, true] {
        for f in &files {
            let one = replay(f, 1, by_agent);
            let four = replay(f, 4, by_agent);
            if one != four {
                let (a, b) = (one.as_object().unwrap(), four.as_object().unwrap());
                let first = a.keys().find(|k| a.get(*k) != b.get(*k)).unwrap();
                panic!(
                    "{} (by agent: {by_agent}): `{first}` differs with 4 shards:\n1: {}\n4: {}",
                    f.display(),
                    a[first],
                    b[first]
                );
            }
            events += one["events"].as_array().unwrap().len();
            logged += one["logged flows"].as_array().unwrap().len();
            with_keys += usize::from(one["active keys"].as_u64().unwrap() > 0);
        }
    }
    // The comparison saw something: events, flow records and keys on many captures.
    assert!(events > 100, "{events} events");
    assert!(logged > 100, "{logged} logged flows");
    let replays = 2 * files.len();
    assert!(
        with_keys * 3 >= replays,
        "{with_keys} of {replays} replays end with keys"
    );
    println!("{replays} replays alike: {events} events, {logged} logged flows");
}

/// Every flow-export datagram of repository capture `rel`, with its sender.
fn datagrams(rel: &str) -> Vec<(std::net::IpAddr, Vec<u8>)> {
    let path = flowlens_testdata::file(rel).unwrap();
    let probe = flowlens_engine::Collector::new(
        Engine::default(),
        flowlens_netflow::NetflowSession::new(flowlens_netflow::Limits::default()).unwrap(),
    );
    let mut out = Vec::new();
    crate::capture::for_each_frame(&path, |_, frame| {
        if let crate::capture::Frame::Captured { linktype, data, .. } = frame {
            let link = flowlens_wire::packet::LinkType::from_pcap(linktype).unwrap();
            if let Some((from, payload)) = probe.datagram_in(link, data) {
                out.push((from, payload.to_vec()));
            }
        }
        Ok(())
    })
    .unwrap();
    out
}

/// sFlow and NetFlow datagrams mixed in one batch: NetFlow records reach their shards while
/// the batch is read, the sFlow samples after it, yet events and flow records come out in
/// input order, as one datagram at a time into one shard gives them.
#[test]
fn mixed_sflow_and_netflow_batches_keep_input_order() {
    let sflow = datagrams("exporters/sflow-ovs-br0.pcap");
    let netflow = datagrams("exporters/netflow5-softflowd.pcap");
    let mut mixed = Vec::new();
    for i in 0..sflow.len().max(netflow.len()) {
        // sFlow first: its samples reach the shards after the NetFlow records behind it.
        mixed.extend(sflow.get(i).cloned());
        mixed.extend(netflow.get(i).cloned());
    }
    let (a, b) = one_and_four(&mixed, 16, 10, 100);
    let flow_events = a["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["thresholdID"] != "busy")
        .count();
    println!(
        "{flow_events} flow events, {} logged flows",
        a["logged flows"].as_array().unwrap().len()
    );
    assert!(flow_events >= 5, "{}", a["events"]);
    assert!(a["logged flows"].as_array().unwrap().len() > 10);
    assert_eq!(a["events"], b["events"]);
    assert_eq!(a["logged flows"], b["logged flows"]);
    assert_eq!(a, b);
}

/// Datagrams of a fabric of 8 agents (the Open vSwitch capture's datagrams sent again from
/// agents `10.255.k.1`, interleaved, agent k every (k + 1)th), in batches: with 4 shards
/// each batch's datagrams are taken on the threads of their agents' parts (agents'
/// statistics and counter samples there), then the flow samples on their shards' threads;
/// the answers are one shard's, fed one datagram at a time.
#[test]
fn a_fabric_of_agents_in_batches_answers_like_one_shard() {
    let fabric = flowlens_testdata::fabric(datagrams("exporters/sflow-ovs-br0.pcap"), 8, true);
    let (a, b) = one_and_four(&fabric, 64, 100, 10);
    // Every agent, with counters and flow samples.
    assert_eq!(a["agents"].as_object().unwrap().len(), 8, "{}", a["agents"]);
    assert!(a["dump"].as_array().unwrap().len() > 8, "{}", a["dump"]);
    assert!(
        a["pair Max"].as_array().unwrap().len() > 3,
        "{}",
        a["pair Max"]
    );
    let (ao, bo) = (a.as_object().unwrap(), b.as_object().unwrap());
    if let Some(k) = ao.keys().find(|k| ao.get(*k) != bo.get(*k)) {
        panic!("`{k}` differs with 4 shards:\n1: {}\n4: {}", ao[k], bo[k]);
    }
    assert_eq!(a, b);
}

/// `dgrams` into one shard a datagram at a time and into 4 shards (on 4 threads) in batches
/// of `batch`, `step_ms` apart, ticking both every `tick_every` batches; the answers of the
/// one and of the four, numbers rounded.
fn one_and_four(
    dgrams: &[(std::net::IpAddr, Vec<u8>)],
    batch: usize,
    step_ms: u64,
    tick_every: usize,
) -> (Json, Json) {
    let collector = |shards| {
        flowlens_engine::Collector::new(
            engine(shards, false),
            flowlens_netflow::NetflowSession::new(flowlens_netflow::Limits::default()).unwrap(),
        )
    };
    let (mut one, mut four) = (collector(1), collector(4));
    let threads = crate::shards::Threads::new(4).unwrap();
    let mut now_ms = 1_700_000_000_000;
    for (i, chunk) in dgrams.chunks(batch).enumerate() {
        for (from, d) in chunk {
            one.handle_datagram(now_ms, *from, d);
        }
        four.handle_batch(
            now_ms,
            chunk.iter().map(|(from, d)| (*from, d.as_slice())),
            &threads,
        );
        now_ms += step_ms;
        if i % tick_every == tick_every - 1 {
            one.tick(now_ms);
            four.tick(now_ms);
        }
    }
    (
        flowlens_testdata::rounded(answers(one.engine(), now_ms)),
        flowlens_testdata::rounded(answers(four.engine(), now_ms)),
    )
}
