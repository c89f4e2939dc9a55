//! sFlow-RT's published apps on `flowlens run`: an app written the way InMon writes them
//! (sloppy globals, `for…in` without `var`, expression closures, `setGroups` result checks,
//! `sum:` over a flow metric, topology queries) answers from real traffic replayed over UDP;
//! the topology REST resource and its agent selectors and aggregation modes; the small
//! answers apps rely on (405 bodies, definition warnings, the start-up line).

use crate::run_support;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use run_support::{exporter_capture, send_all, temp_dir, udp_payloads, Server};
use serde_json::{json, Value as Json};

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// The app: a flow by source MAC, groups checked as InMon's apps check them, and an HTTP
/// handler answering the statistics and topology questions of fabric-view-like apps.
const APP: &str = r#"// author: flowlens tests
// version: 1.0
// description: written the way sFlow-RT's published apps are
requests = 0;
groupsOk = setGroups('local', {lan: ['10.0.0.0/8', '192.168.0.0/16'], other: ['0.0.0.0/0']});
if (!groupsOk) throw 'setGroups failed';
setFlow('fabric-src', {keys: 'macsource', value: 'frames', t: 60, n: 10});

function keysOf(flows) {
  return flows.map(function(f) f.key).sort();
}

setHttpHandler(function(req) {
  requests++;
  switch (req.path[0]) {
    case 'stats':
      var dumped = dump('ALL', 'fabric-src');
      var total = 0;
      for (i in dumped) total += dumped[i].metricValue;
      var m = metric('ALL', 'sum:fabric-src,avg:fabric-src,max:fabric-src,min:fabric-src');
      return {total: total, n: dumped.length, sum: m[0], avg: m[1], max: m[2], min: m[3]};
    case 'topology':
      var out = {};
      for (ds in {'38': 1, '39': 1, '40': 1}) {
        var link = topologyInterfaceToLink('127.0.0.1', ds);
        var port = topologyInterfaceToPort('127.0.0.1', ds);
        out[ds] = {link: link ? link.linkname : null, node: port ? port.node : null};
      }
      return {ports: out,
              edge: keysOf(activeFlows('EDGE', 'fabric-src', 20, 0, 'sum')),
              aggEdge: keysOf(activeFlows('ALL', 'fabric-src', 20, 0, 'edge')),
              core: keysOf(activeFlows('CORE', 'fabric-src', 20, 0)),
              topo: keysOf(activeFlows('TOPOLOGY', 'fabric-src', 20, 0)),
              hostsAt38: topologyLocatedHostMacs('127.0.0.1', 38),
              hostsAt40: topologyLocatedHostMacs('127.0.0.1', '40'),
              host: topologyLocateHostMac('3e:95:0d:76:38:5e'),
              requests: requests};
  }
  throw 'not_found';
});
"#;

/// Two switches of the shared captures: the Open vSwitch bridge (agent 127.0.0.1, ports 38–40,
/// whose flow samples all come from the datapath's data source `2.1000`) with port 40 wired to
/// a spine, and the akvorado capture's switch (agent 172.16.0.3, flow samples from the
/// ifIndex data sources 25, 27, 28) with port 28 wired to the spine: its 25 and 27 are edge
/// ports, 28 a core port.
const TOPOLOGY: &str = r#"{
  nodes: {
    ovs: {agent: '127.0.0.1', ports: {h1: {ifindex: '38'}, h2: {ifindex: '39'}, uplink: {ifindex: 40}}},
    leaf: {agent: '172.16.0.3', ports: {e25: {ifindex: '25'}, e27: {ifindex: '27'}, up: {ifindex: '28'}}},
    spine: {ports: {down1: {ifindex: '1'}, down2: {ifindex: '2'}}}
  },
  links: {'ovs-spine': {node1: 'ovs', port1: 'uplink', node2: 'spine', port2: 'down1'},
          'leaf-spine': {node1: 'leaf', port1: 'up', node2: 'spine', port2: 'down2'}}
}"#;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-3 * a.abs().max(b.abs()).max(1.0)
}

/// The top keys of `dump` rows at `agent` (any agent: `None`) and one of `data_sources`
/// (any: empty).
fn keys_at(dump: &Json, agent: Option<&str>, data_sources: &[&str]) -> BTreeSet<String> {
    dump.as_array()
        .unwrap()
        .iter()
        .filter(|r| agent.is_none_or(|a| r["agent"] == a))
        .filter(|r| {
            data_sources.is_empty() || data_sources.contains(&r["dataSource"].as_str().unwrap())
        })
        .flat_map(|r| r["topKeys"].as_array().unwrap().iter())
        .map(|k| k["key"].as_str().unwrap().to_string())
        .collect()
}

fn wait_stderr(server: &Server, what: &str) -> String {
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        let s = server.stderr();
        if s.contains(what) {
            return s;
        }
        assert!(Instant::now() < end, "no `{what}` in stderr:\n{s}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn an_app_reads_flow_statistics_and_the_topology_from_real_traffic() {
    let dir = temp_dir("script-apps-fabric");
    let apps = dir.join("apps");
    write(&apps.join("fabric/scripts/fabric.js"), APP);
    write(&apps.join("fabric/html/index.html"), "<h1>fabric</h1>\n");
    // An app that stops at load is not counted as running.
    write(&apps.join("broken/scripts/broken.js"), "var a = ;\n");
    let state = dir.join("state");
    let server = Server::start_with(&state, &["--apps-dir", apps.to_str().unwrap()]);
    wait_stderr(&server, "1 script(s) running, 1 stopped");
    // The apps and their health, as sFlow-RT's status page reads them.
    assert_eq!(
        server.get_json("/apps/json"),
        json!({"broken": {"entry": null, "scripts": ["broken.js"]},
               "fabric": {"entry": "/html/", "scripts": ["fabric.js"]}})
    );
    let health = |path: &str| {
        let r = server.get(path);
        (r.status, r.body)
    };
    assert_eq!(health("/app/fabric/status"), (200, "OK".to_string()));
    assert_eq!(
        health("/app/broken/status"),
        (503, "UNAVAILABLE".to_string())
    );
    assert_eq!(health("/status"), (503, "UNAVAILABLE".to_string()));
    assert_eq!(server.get("/app/nosuch/status").status, 404);

    // Topology over REST, as sFlow-RT's topology apps PUT it.
    assert_eq!(server.put("/topology/json", TOPOLOGY).status, 204);
    let topo = server.get_json("/topology/json");
    assert_eq!(topo["nodes"]["ovs"]["agent"], "127.0.0.1");
    assert_eq!(topo["links"]["ovs-spine"]["port1"], "uplink");
    let bad = server.put("/topology/json", "{nodes:{x:{agent:'not-an-ip'}}}");
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("nodes.x.agent"), "{}", bad.body);

    // The switch's capture (Akvorado's, AGPL) is only in ../shared/data: a plain clone checks
    // the apps and the topology above and skips the traffic part.
    let Some(switch) = crate::common::data_file_or_skip(
        "script_apps::an_app_reads_flow_statistics_and_the_topology_from_real_traffic \
         (traffic part)",
        "sflow/akvorado__sflow-data-1140.pcap",
    ) else {
        return;
    };
    let mut payloads = udp_payloads(&exporter_capture("sflow-ovs-br0.pcap"));
    payloads.extend(udp_payloads(&switch));
    send_all(server.ports.sflow, &payloads, 100, |sent| {
        server.wait_for("/analyzer/json", |a| {
            a["sFlowDatagramsReceived"].as_u64() == Some(sent as u64)
        });
    });
    // One row per data source: the bridge's 2.1000 and the switch's 25, 27, 28.
    let dump = server.wait_for("/dump/ALL/fabric-src/json", |d| {
        d.as_array().is_some_and(|a| a.len() == 4)
    });

    // sum:/avg:/max:/min: over the flow metric, against the per-data-source rows.
    let stats = server.get_json("/app/fabric/scripts/fabric.js/stats/json");
    let n = stats["n"].as_u64().unwrap();
    assert_eq!(n, 4, "{stats}");
    let total = stats["total"].as_f64().unwrap();
    assert!(total > 0.0, "{stats}");
    let sum = &stats["sum"];
    assert_eq!(sum["metricName"], "sum:fabric-src");
    assert_eq!(sum["metricN"].as_u64(), Some(n));
    assert!(
        close(sum["metricValue"].as_f64().unwrap(), total),
        "{stats}"
    );
    assert!(
        close(
            stats["avg"]["metricValue"].as_f64().unwrap(),
            total / n as f64
        ),
        "{stats}"
    );
    let (max, min) = (
        stats["max"]["metricValue"].as_f64().unwrap(),
        stats["min"]["metricValue"].as_f64().unwrap(),
    );
    assert!(max >= min && min > 0.0 && max < total, "{stats}");
    // The merged topKeys of sum: hold every source MAC the capture carries.
    let sum_keys: BTreeSet<&str> = sum["topKeys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["key"].as_str().unwrap())
        .collect();
    for mac in ["3e950d76385e", "0eb6e4cb188d", "36d02b791ddb"] {
        assert!(sum_keys.contains(mac), "{mac} missing from {stats}");
    }
    // The same through REST.
    let rest = server.get_json("/metric/ALL/sum:fabric-src/json");
    assert!(
        close(rest[0]["metricValue"].as_f64().unwrap(), total),
        "{rest}"
    );

    // Topology queries: ports and links, EDGE/CORE/TOPOLOGY selectors, edge aggregation.
    let t = server.get_json("/app/fabric/scripts/fabric.js/topology/json");
    assert_eq!(
        t["ports"],
        json!({"38": {"link": null, "node": "ovs"}, "39": {"link": null, "node": "ovs"},
               "40": {"link": "ovs-spine", "node": "ovs"}})
    );
    // The bridge's samples come from no port data source: neither edge nor core.
    let edge = keys_at(&dump, Some("172.16.0.3"), &["25", "27"]);
    let core = keys_at(&dump, Some("172.16.0.3"), &["28"]);
    assert!(
        !edge.is_empty() && !core.is_empty() && edge != core,
        "{dump}"
    );
    let list = |v: &Json| -> BTreeSet<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(list(&t["edge"]), edge, "{t}");
    assert_eq!(list(&t["aggEdge"]), edge, "{t}");
    assert_eq!(list(&t["core"]), core, "{t}");
    assert_eq!(list(&t["topo"]), keys_at(&dump, None, &[]), "{t}");
    assert_eq!(t["requests"], 2);
    // Hosts are located where their frames enter at an edge port (the capture's `top`:
    // 3e950d76385e enters at 38, 0eb6e4cb188d at 40, the uplink, where no host is located).
    assert_eq!(t["hostsAt38"], json!(["3e950d76385e"]), "{t}");
    assert_eq!(t["hostsAt40"], json!([]), "{t}");
    assert_eq!(
        (
            &t["host"]["agent"],
            &t["host"]["ifindex"],
            &t["host"]["node"],
            &t["host"]["port"]
        ),
        (&json!("127.0.0.1"), &json!(38), &json!("ovs"), &json!("h1")),
        "{t}"
    );
    let rest_core: BTreeSet<String> = server
        .get_json("/activeflows/ALL/fabric-src/json?aggMode=core")
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(rest_core, core);
    assert_eq!(
        server
            .get("/activeflows/ALL/fabric-src/json?aggMode=diagonal")
            .status,
        400
    );
    // Counter metrics under the same selectors: the bridge's ports 38 and 39 are edge ports,
    // 40 its core port (its counters come per port, unlike its flow samples).
    let counter_sources = |sel: &str| -> BTreeSet<String> {
        server
            .get_json(&format!("/dump/{sel}/ifinoctets/json"))
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                format!(
                    "{}/{}",
                    r["agent"].as_str().unwrap(),
                    r["dataSource"].as_str().unwrap()
                )
            })
            .collect()
    };
    assert_eq!(
        counter_sources("EDGE"),
        BTreeSet::from(["127.0.0.1/38".to_string(), "127.0.0.1/39".to_string()])
    );
    assert_eq!(
        counter_sources("CORE"),
        BTreeSet::from(["127.0.0.1/40".to_string()])
    );
    // Where a key was seen: the data sources whose rows carry it.
    for key in edge.iter().chain(&core) {
        let want: BTreeSet<(String, String)> = dump
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| {
                r["topKeys"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|k| k["key"] == *key)
            })
            .map(|r| (r["agent"].to_string(), r["dataSource"].to_string()))
            .collect();
        let got: BTreeSet<(String, String)> = server
            .get_json(&format!("/flowlocations/ALL/fabric-src/json?key={key}"))
            .as_array()
            .unwrap()
            .iter()
            .map(|l| (l["agent"].to_string(), l["dataSource"].to_string()))
            .collect();
        assert_eq!(got, want, "{key}");
    }

    // The topology is kept with the definitions across a restart.
    drop(server);
    let server = Server::start_with(&state, &[]);
    assert_eq!(server.get_json("/topology/json"), topo);
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Answers that tell an operator what went wrong instead of staying silent.
#[test]
fn method_errors_and_definition_typos_are_explained() {
    let dir = temp_dir("script-apps-explain");
    let server = Server::start(&dir.join("state"));
    // POST on a PUT-only route: 405 naming the methods that work.
    let r = server.request(
        "POST",
        "/flow/x/json",
        Some("{keys:'ipsource',value:'bytes'}"),
    );
    assert_eq!(r.status, 405);
    assert!(
        r.body.contains("POST is not allowed on /flow/x/json"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("PUT") && r.body.contains("GET"),
        "{}",
        r.body
    );
    // A value flowlens never produces: accepted as sFlow-RT does, with a warning.
    assert_eq!(
        server
            .put("/flow/typo/json", "{keys:'ipsource', value:'byts'}")
            .status,
        204
    );
    let doc = server.get_json("/flow/typo/json");
    let warnings = doc["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{doc}");
    assert!(warnings[0].as_str().unwrap().contains("`byts`"), "{doc}");
    let s = wait_stderr(&server, "flow typo: key `byts`");
    assert!(
        s.lines()
            .any(|l| l.contains("WARN") && l.contains("flow typo")),
        "{s}"
    );
    // A correct definition has none; `aggMode:'AGENT'` (sFlow-RT 3.1) is accepted.
    assert_eq!(
        server
            .put(
                "/flow/ok/json",
                "{keys:'ipsource', value:'bytes', aggMode:'AGENT'}"
            )
            .status,
        204
    );
    let ok = server.get_json("/flow/ok/json");
    assert!(ok.get("warnings").is_none(), "{ok}");
    assert_eq!(ok["aggMode"], "agent");
    // The OUI table is either loaded or its absence said.
    let s = wait_stderr(&server, "OUI table");
    assert!(
        s.contains("OUI table /usr/share/ieee-data/oui.csv")
            || s.contains("no OUI table at /usr/share/ieee-data/oui.csv"),
        "{s}"
    );
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}
