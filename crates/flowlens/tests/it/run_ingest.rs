//! `flowlens run` fed with real exporter datagrams over UDP: what /agents/json, /analyzer/json
//! and /activeflows report matches what was sent (per-agent counts as tshark reads the
//! captures).

use crate::run_support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

use run_support::{exporter_capture, send_all, temp_dir, udp_payloads, Server};
use serde_json::Value as Json;

/// Sends `payloads` to `to` in chunks, waiting after each until the server has taken them off
/// the socket (`datagramsReceived`).
fn replay(server: &Server, to: SocketAddr, payloads: &[Vec<u8>], before: u64) {
    send_all(to, payloads, 100, |sent| {
        server.wait_for("/analyzer/json", |a| {
            a["datagramsReceived"].as_u64() == Some(before + sent as u64)
        });
    });
}

/// Expected per-agent counts of an sFlow capture, from tshark (not flowlens's own parser):
/// datagrams, flow samples (sample types 1 and 3), counter samples (2 and 4). Every UDP
/// payload replayed must be one of the frames tshark takes for sFlow.
fn sflow_counts(pcap: &Path, payloads: &[Vec<u8>]) -> BTreeMap<String, (u64, u64, u64)> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(pcap)
        .args(["-d", "udp.port==6343,sflow", "-Y", "sflow", "-T", "fields"])
        .args(["-E", "occurrence=a", "-E", "aggregator=,"])
        .args(["-e", "sflow_245.agent", "-e", "sflow_245.agent.v6"])
        .args(["-e", "sflow_245.sampletype"])
        .output()
        .expect("tshark must be installed (apt-get install tshark)");
    assert!(
        out.status.success(),
        "tshark: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut m: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
    let mut frames = 0;
    for line in text.lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        let agent = if cols[0].is_empty() { cols[1] } else { cols[0] };
        let e = m.entry(agent.to_string()).or_default();
        e.0 += 1;
        frames += 1;
        for t in cols[2].split(',').filter(|t| !t.is_empty()) {
            match t {
                "1" | "3" => e.1 += 1,
                "2" | "4" => e.2 += 1,
                other => panic!("{}: sample type {other}", pcap.display()),
            }
        }
    }
    assert_eq!(
        frames,
        payloads.len(),
        "tshark's sFlow frames vs UDP payloads sent"
    );
    m
}

#[test]
fn ovs_sflow_agents_counts_and_active_flows() {
    let dir = temp_dir("ingest-sflow");
    let server = Server::start(&dir);
    let r = server.put(
        "/flow/pair/json",
        "{keys:'ipsource,ipdestination',value:'bytes'}",
    );
    assert_eq!(r.status, 204, "{}", r.body);

    let capture = exporter_capture("sflow-ovs-br0.pcap");
    let payloads = udp_payloads(&capture);
    assert!(payloads.len() > 1000, "{} datagrams", payloads.len());
    let expected = sflow_counts(&capture, &payloads);
    replay(&server, server.ports.sflow, &payloads, 0);
    let n = payloads.len() as u64;
    let a = server.wait_for("/analyzer/json", |a| {
        a["sFlowDatagramsReceived"].as_u64() == Some(n)
    });
    assert_eq!(a["datagramsDropped"], 0, "{a}");
    assert_eq!(a["kernelDrops"], 0, "{a}");
    assert_eq!(a["sockets"][0]["kernelDrops"], 0, "{a}");
    assert_eq!(a["rejectedDatagrams"], 0, "{a}");
    assert_eq!(a["sFlowAgents"], expected.len(), "{a}");

    let agents = server.get_json("/agents/json");
    for (agent, (datagrams, flows, counters)) in &expected {
        let s = &agents[agent];
        assert_eq!(s["sFlowDatagramsReceived"], *datagrams, "{agent}: {s}");
        assert_eq!(s["sFlowFlowSamples"], *flows, "{agent}: {s}");
        assert_eq!(s["sFlowCounterSamples"], *counters, "{agent}: {s}");
        assert_eq!(s["sFlowDatagramsLost"], 0, "{agent}: {s}");
        assert_eq!(s["sFlowDatagramSource"][0], "127.0.0.1", "{agent}: {s}");
    }
    assert_eq!(
        agents.as_object().unwrap().len(),
        expected.len(),
        "{agents}"
    );
    // ?agent= selects.
    let one = expected.keys().next().unwrap();
    let sel = server.get_json(&format!("/agents/json?agent={one}&agent=192.0.2.99"));
    assert_eq!(sel.as_object().unwrap().len(), 1, "{sel}");

    // The iperf3 pair of the testbed dominates the capture: it is the top flow, and every
    // flow has samples behind it and a confidence interval.
    let flows = server.get_json("/activeflows/ALL/pair/json?maxFlows=5");
    let flows = flows.as_array().unwrap();
    assert!(!flows.is_empty() && flows.len() <= 5, "{flows:?}");
    assert!(
        flows[0]["key"].as_str().unwrap().starts_with("10.99.0."),
        "{flows:?}"
    );
    for f in flows {
        assert!(f["value"].as_f64().unwrap() > 0.0, "{f}");
        assert!(f["samples"].as_f64().unwrap() > 0.0, "{f}");
        assert!(f["ci95"].as_f64().unwrap() >= 0.0, "{f}");
        assert_eq!(f["agent"], "127.0.0.1", "{f}");
    }
    let values: Vec<f64> = flows.iter().map(|f| f["value"].as_f64().unwrap()).collect();
    assert!(values.windows(2).all(|w| w[0] >= w[1]), "{values:?}");
    // minValue cuts, the agent selector narrows. Values decay between queries (t = 2 s), so
    // the cut sits halfway between the top two, far from both.
    let (top, second) = (values[0], values.get(1).copied().unwrap_or(0.0));
    assert!(second < top * 0.5, "{values:?}");
    let cut = server.get_json(&format!(
        "/activeflows/ALL/pair/json?minValue={}",
        (top + second) / 2.0
    ));
    assert_eq!(cut.as_array().unwrap().len(), 1, "{cut}");
    let none = server.get_json("/activeflows/192.0.2.99/pair/json");
    assert_eq!(none, serde_json::json!([]));
    // filter keeps the keys a regular expression matches, before maxFlows applies: every
    // active key with destination 10.99.0.3, and only those.
    let all = server.get_json("/activeflows/ALL/pair/json?maxFlows=100000");
    let want: Vec<&Json> = all
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["key"].as_str().unwrap().ends_with(",10.99.0.3"))
        .collect();
    assert!(!want.is_empty(), "{all}");
    let got =
        server.get_json("/activeflows/ALL/pair/json?maxFlows=100000&filter=,10%5C.99%5C.0%5C.3$");
    let got_keys: Vec<&str> = got
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap())
        .collect();
    let want_keys: Vec<&str> = want.iter().map(|f| f["key"].as_str().unwrap()).collect();
    assert_eq!(got_keys, want_keys);
    assert_eq!(
        server.get("/activeflows/ALL/pair/json?filter=(").status,
        400
    );
    // /flowvalue: one key's value, at any data source or at the one that reported it.
    let key = flows[0]["key"].as_str().unwrap();
    let ds = flows[0]["dataSource"].as_str().unwrap();
    let v = server.get_json(&format!("/flowvalue/ALL/pair/json?key={key}"));
    assert!(v.as_f64().unwrap() > 0.0, "{v}");
    let v = server.get_json(&format!("/flowvalue/127.0.0.1/{ds}.pair/json?key={key}"));
    assert!(v.as_f64().unwrap() > 0.0, "{v}");
    assert_eq!(
        server
            .get(&format!("/flowvalue/ALL/9.9.pair/json?key={key}"))
            .status,
        404
    );
    assert_eq!(
        server
            .get("/flowvalue/ALL/pair/json?key=1.2.3.4,5.6.7.8")
            .status,
        404
    );
    assert_eq!(server.get("/flowvalue/ALL/pair/json").status, 400);

    // A flow is a metric too: per data source, with its top keys.
    let m = server.get_json("/metric/ALL/pair,ifinoctets/json");
    assert_eq!(m[0]["metricName"], "pair", "{m}");
    assert_eq!(m[0]["metricN"], 1, "{m}");
    assert!(m[0]["metricValue"].as_f64().unwrap() >= top, "{m}");
    assert_eq!(m[0]["topKeys"][0]["key"], flows[0]["key"], "{m}");
    assert_eq!(m[1]["metricName"], "ifinoctets", "{m}");
    let d = server.get_json("/dump/ALL/pair/json");
    assert_eq!(d.as_array().unwrap().len(), 1, "{d}");
    assert!(
        d[0]["topKeys"].as_array().is_some_and(|k| !k.is_empty()),
        "{d}"
    );
    // Counter samples feed the metrics.
    let names = server.get_json("/metrics/json");
    assert!(names.get("ifinoctets").is_some(), "{names}");
    let dump = server.get_json("/dump/ALL/ifinoctets/json");
    assert!(!dump.as_array().unwrap().is_empty(), "{dump}");
    // The same counters for Prometheus, labelled with the interface name.
    let r = server.get("/prometheus/metrics/ALL/ifinoctets,ifoutoctets/txt");
    assert_eq!(r.status, 200, "{}", r.body);
    let lines: Vec<&str> = r.body.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(
        lines.len(),
        2 * dump.as_array().unwrap().len(),
        "{}",
        r.body
    );
    assert!(
        lines.iter().all(
            |l| l.starts_with("sflow_ifinoctets{agent=\"127.0.0.1\",datasource=\"")
                || l.starts_with("sflow_ifoutoctets{agent=\"127.0.0.1\",datasource=\"")
        ),
        "{}",
        r.body
    );
    assert!(r.body.contains(",ifname=\"nftb-"), "{}", r.body);
    let r = server.get("/prometheus/analyzer/txt");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body
            .contains(&format!("sflow_analyzer_sflow_datagrams {n}.0")),
        "{}",
        r.body
    );
    assert!(r.body.contains("sflow_analyzer_agents 1.0"), "{}", r.body);
    let keys = server.get_json("/flowkeys/json");
    assert!(keys.get("ipsource").is_some(), "{keys}");

    let (status, _) = server.stop();
    assert!(status.success());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn netflow_is_recognised_by_content_on_any_port() {
    let dir = temp_dir("ingest-netflow");
    let server = Server::start(&dir);
    let payloads = udp_payloads(&exporter_capture("netflow5-ovs.pcap"));
    assert!(!payloads.is_empty());
    // NetFlow v5: the record count is the header's `count` field.
    let records: u64 = payloads
        .iter()
        .map(|p| u64::from(u16::from_be_bytes([p[2], p[3]])))
        .sum();
    // Sent to the sFlow and the IPFIX port: both take any protocol.
    let half = payloads.len() / 2;
    replay(&server, server.ports.sflow, &payloads[..half], 0);
    replay(&server, server.ports.ipfix, &payloads[half..], half as u64);
    let n = payloads.len() as u64;
    let a = server.wait_for("/analyzer/json", |a| {
        a["netflowDatagramsReceived"].as_u64() == Some(n)
    });
    assert_eq!(a["netflowRecords"], records, "{a}");
    assert_eq!(a["rejectedDatagrams"], 0, "{a}");
    assert_eq!(a["sFlowDatagramsReceived"], 0, "{a}");
    let sockets = a["sockets"].as_array().unwrap();
    assert_eq!(sockets.len(), 3, "{a}");
    let by_name = |name: &str| {
        sockets
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing: {a}"))
    };
    assert_eq!(by_name("sflow")["datagrams"], half as u64);
    assert_eq!(by_name("ipfix")["datagrams"], n - half as u64);
    assert_eq!(by_name("netflow")["datagrams"], 0);
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Several receive threads per address, and the engine split into 4 shards fed by 4
/// threads (`--engine-threads`): every datagram is taken, and the flows are those that
/// `flowlens top` (one shard, one datagram at a time) finds in the capture.
#[test]
fn several_receive_threads_share_each_address() {
    let dir = temp_dir("ingest-workers");
    let server = Server::start_with(&dir, &["--workers", "3", "--engine-threads", "4"]);
    // Packet sizes make many keys.
    let def = "{keys:'ipsource,ipdestination,ipbytes',value:'bytes'}";
    let r = server.put("/flow/conv/json", def);
    assert_eq!(r.status, 204, "{}", r.body);
    let capture = exporter_capture("sflow-ovs-br0.pcap");
    let payloads = udp_payloads(&capture);
    let expected = sflow_counts(&capture, &payloads);
    replay(&server, server.ports.sflow, &payloads, 0);
    let a = server.get_json("/analyzer/json");
    let sockets = a["sockets"].as_array().unwrap();
    assert_eq!(sockets.len(), 9, "{a}");
    let sflow: Vec<_> = sockets.iter().filter(|s| s["name"] == "sflow").collect();
    assert_eq!(sflow.len(), 3, "{a}");
    assert!(sflow
        .iter()
        .all(|s| s["address"] == server.ports.sflow.to_string()));
    let n: u64 = sflow.iter().map(|s| s["datagrams"].as_u64().unwrap()).sum();
    assert_eq!(n, payloads.len() as u64);
    let agents = server.wait_for("/agents/json", |g| {
        expected
            .iter()
            .all(|(agent, c)| g[agent]["sFlowDatagramsReceived"] == c.0)
    });
    for (agent, (_, flows, counters)) in &expected {
        assert_eq!(agents[agent]["sFlowFlowSamples"], *flows);
        assert_eq!(agents[agent]["sFlowCounterSamples"], *counters);
        // One exporter stays on one socket, so its datagrams stay in order.
        assert_eq!(agents[agent]["sFlowDatagramsOutOfOrder"], 0);
    }
    let keys = |rows: &Json| -> std::collections::BTreeSet<String> {
        rows.as_array()
            .unwrap()
            .iter()
            .map(|r| r["key"].as_str().unwrap().to_string())
            .collect()
    };
    let live = keys(&server.get_json("/activeflows/ALL/conv/json?maxFlows=100000"));
    let top = crate::common::flowlens(&[
        "top",
        "--quiet",
        "--json",
        "--totals",
        "--max-flows",
        "100000",
        "--flow",
        &format!("conv={def}"),
        capture.to_str().unwrap(),
    ]);
    assert!(top.status.success(), "{top:?}");
    let offline = keys(&serde_json::from_slice(&top.stdout).unwrap());
    assert!(offline.len() > 10, "{offline:?}");
    assert_eq!(live, offline);
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}
