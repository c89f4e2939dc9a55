//! The built-in `placement` app (`builtin-apps = ["placement"]`) on real Host sFlow from three
//! network namespaces, each joined to this host by a veth pair and running
//! `scripts/host-sflow.py` as its hsflowd: one host (agent = its namespace's address) per
//! namespace, sending to flowlens's sFlow port on the host end of its veth (flowlens listens
//! on 0.0.0.0 for this), every second, with a load of its own set on the command line
//! (`--cpu-num --load-one --cpu-util --mem-util`):
//!
//! | namespace | agent | CPUs | load_one | cpu % | mem % | score |
//! |---|---|---|---|---|---|---|
//! | fl16-plc1 | 10.216.40.2 | 2 | 1.9 | 95 | 70 | 1 − 0.95 = 0.05 (hot) |
//! | fl16-plc2 | 10.216.41.2 | 8 | 1.6 | 15 | 25 | 1 − 0.25 = 0.75 |
//! | fl16-plc3 | 10.216.42.2 | 4 | 2.0 | 45 | 55 | 1 − 0.55 = 0.45 |
//!
//! The ranking must be plc2, plc3, plc1 (not the agents' order, not load_one's order: the
//! load is per CPU), with each utilisation equal to what was sent (cpu_utilization from the
//! CPU time counters' increase, mem_utilization from the memory record, load_one as the
//! float32 sent) and the score computed from them. plc1 is the only hotspot (CPU over the
//! configured 90 %, load per CPU over 0.8): `hotspots/json` lists it alone, and
//! `/events/json` holds one `placement_cpu` event, naming its agent, and none for the others
//! (checked once a probe threshold shows that the engine has evaluated all three hosts).
//!
//! Needs root (namespaces) and python3; otherwise it reports SKIPPED.

use crate::run_live_pcap::{sh, Link};
use crate::run_support;

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

use run_support::{temp_dir, Ports, Server};
use serde_json::Value;

const BASE: &str = "/app/placement/scripts/placement.js";

/// One simulated host: namespace, host interface, /30 network, and the load it reports.
struct Host {
    ns: &'static str,
    host_if: &'static str,
    net: &'static str,
    name: &'static str,
    cpu_num: u32,
    load_one: f64,
    cpu_util: f64,
    mem_util: f64,
}

const HOSTS: [Host; 3] = [
    Host {
        ns: "fl16-plc1",
        host_if: "fl16h1",
        net: "10.216.40",
        name: "plc-hot",
        cpu_num: 2,
        load_one: 1.9,
        cpu_util: 95.0,
        mem_util: 70.0,
    },
    Host {
        ns: "fl16-plc2",
        host_if: "fl16h2",
        net: "10.216.41",
        name: "plc-idle",
        cpu_num: 8,
        load_one: 1.6,
        cpu_util: 15.0,
        mem_util: 25.0,
    },
    Host {
        ns: "fl16-plc3",
        host_if: "fl16h3",
        net: "10.216.42",
        name: "plc-mid",
        cpu_num: 4,
        load_one: 2.0,
        cpu_util: 45.0,
        mem_util: 55.0,
    },
];

impl Host {
    fn agent(&self) -> String {
        format!("{}.2", self.net)
    }
}

/// `scripts/host-sflow.py` running in a namespace; killed on drop.
struct Agent {
    child: Child,
    out: BufReader<ChildStdout>,
}

impl Agent {
    fn start(h: &Host, port: u16) -> Agent {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/host-sflow.py");
        let mut child = Command::new("ip")
            .args(["netns", "exec", h.ns, "python3"])
            .arg(script)
            .args(["-H", &format!("{}.1", h.net), "-p", &port.to_string()])
            .args(["-n", "1", "--agent", &h.agent(), "--hostname", h.name])
            .args(["--cpu-num", &h.cpu_num.to_string()])
            .args(["--load-one", &h.load_one.to_string()])
            .args(["--cpu-util", &h.cpu_util.to_string()])
            .args(["--mem-util", &h.mem_util.to_string()])
            .args(["--interval", "1"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let out = BufReader::new(child.stdout.take().unwrap());
        Agent { child, out }
    }

    /// The next round's report of the values sent (one host).
    fn next_round(&mut self) -> Value {
        let mut line = String::new();
        let n = self.out.read_line(&mut line).unwrap();
        assert!(n > 0, "host-sflow.py exited: {:?}", self.child.try_wait());
        let doc: Value = serde_json::from_str(&line).unwrap();
        doc["hosts"][0].clone()
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Root, `ip` and python3, or the reason to skip.
fn missing() -> Option<String> {
    if String::from_utf8_lossy(&sh(&["id", "-u"]).stdout).trim() != "0" {
        return Some("needs root (network namespaces)".into());
    }
    if Command::new("python3").arg("--version").output().is_err() {
        return Some("python3 is not installed".into());
    }
    None
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn close(a: f64, b: f64, what: &str) {
    assert!(
        (a - b).abs() <= 1e-9 * a.abs().max(1.0),
        "{a} != {b}: {what}"
    );
}

/// `flowlens run` with the app, its sFlow listener on every address (the namespaces send to
/// the host ends of their veths).
fn server(config: &Path, state: &Path) -> Server {
    for _ in 0..3 {
        let mut ports = Ports::free();
        ports.sflow = SocketAddr::from((Ipv4Addr::UNSPECIFIED, ports.sflow.port()));
        let mut args = ports.args(state);
        args.extend(["--config".into(), config.display().to_string()]);
        match Server::try_start(ports, &args) {
            Ok(s) => return s,
            Err(e) if e.contains("in use") => continue,
            Err(e) => panic!("flowlens run did not start: {e}"),
        }
    }
    panic!("flowlens run: no free ports after 3 tries");
}

/// The events of `threshold` in an `/events/json` answer.
fn events(doc: &Value, threshold: &str) -> Vec<Value> {
    doc.as_array()
        .unwrap()
        .iter()
        .filter(|e| e["thresholdID"] == threshold)
        .cloned()
        .collect()
}

#[test]
fn placement_ranks_hosts_by_load_and_flags_the_hotspot() {
    if let Some(why) = missing() {
        eprintln!(
            "SKIPPED run_placement::placement_ranks_hosts_by_load_and_flags_the_hotspot: {why}"
        );
        return;
    }
    let _links: Vec<Link> = HOSTS
        .iter()
        .map(|h| Link::up(h.ns, h.host_if, h.net))
        .collect();
    let dir = temp_dir("placement");
    let config = dir.join("flowlens.toml");
    std::fs::write(
        &config,
        "builtin-apps = [\"placement\"]\n[properties]\n\"placement.cpu_hotspot\" = \"90\"\n\
         \"placement.mem_hotspot\" = \"80\"\n\"placement.load_hotspot\" = \"0.8\"\n",
    )
    .unwrap();
    let s = server(&config, &dir.join("state"));

    // The app runs, is listed with its page, and says the configured limits.
    let apps = s.get_json("/apps/json");
    assert_eq!(apps["placement"]["entry"], "/html/", "{apps}");
    assert_eq!(apps["placement"]["scripts"][0], "placement.js", "{apps}");
    let page = s.get("/app/placement/html/");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<h1>Placement</h1>"), "{}", page.body);
    let cfg = s.get_json(&format!("{BASE}/config/json"));
    assert_eq!(cfg["cpu_hotspot"], 90, "{cfg}");
    assert_eq!(cfg["mem_hotspot"], 80, "{cfg}");
    assert_eq!(cfg["load_hotspot"], 0.8, "{cfg}");
    assert_eq!(cfg["weights"]["cpu"], 1, "{cfg}");
    assert_eq!(
        s.get_json(&format!("{BASE}/rank/json")),
        serde_json::json!([])
    );

    let port = s.ports.sflow.port();
    let mut agents: Vec<Agent> = HOSTS.iter().map(|h| Agent::start(h, port)).collect();
    // The first round's values (the set loads; cpu_utilization needs a second round).
    let sent: Vec<Value> = agents.iter_mut().map(Agent::next_round).collect();

    // Every host ranked with every usage known.
    let rank = s.wait_for(&format!("{BASE}/rank/json"), |d| {
        d.as_array()
            .is_some_and(|a| a.len() == 3 && a.iter().all(|h| !h["cpu_utilization"].is_null()))
    });
    let order: Vec<&str> = rank
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["hostname"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["plc-idle", "plc-mid", "plc-hot"], "{rank}");
    for (h, v) in HOSTS.iter().zip(&sent) {
        let row = rank
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["agent"] == h.agent().as_str())
            .unwrap_or_else(|| panic!("{} not ranked: {rank}", h.agent()));
        let what = format!("{}: {row}", h.name);
        assert_eq!(row["hostname"], h.name, "{what}");
        assert_eq!(row["dataSource"], "2.1", "{what}");
        assert_eq!(f(&row["cpu_num"]), f64::from(h.cpu_num), "{what}");
        // load_one travels as a float32.
        let load = f64::from(h.load_one as f32);
        assert_eq!(f(&row["load_one"]), load, "{what}");
        assert_eq!(f(&v["load_one"]), load, "{what}");
        close(
            f(&row["load_one_per_cpu"]),
            load / f64::from(h.cpu_num),
            &what,
        );
        // The CPU counters advance by whole milliseconds: these loads are exact.
        close(f(&row["cpu_utilization"]), h.cpu_util, &what);
        let mem = f(&v["mem_utilization"]);
        close(mem, h.mem_util, &what);
        close(f(&row["mem_utilization"]), mem, &what);
        // Only the namespace's own sFlow datagrams cross its eth0.
        let net = f(&row["net_utilization"]) / 100.0;
        assert!(net < 1e-3, "{what}");
        let usage = [
            h.cpu_util / 100.0,
            mem / 100.0,
            load / f64::from(h.cpu_num),
            net,
        ];
        close(
            f(&row["score"]),
            1.0 - usage.iter().copied().fold(f64::MIN, f64::max),
            &what,
        );
        let hot: &[&str] = if h.name == "plc-hot" {
            &["cpu_utilization", "load_one_per_cpu"]
        } else {
            &[]
        };
        assert_eq!(row["hotspots"], serde_json::json!(hot), "{what}");
    }
    close(f(&rank[0]["score"]), 0.75, "best");
    close(f(&rank[2]["score"]), 0.05, "worst");

    // Hotspots: the hot host alone, load first (0.95 / 0.8 is further over than 95 / 90).
    let hot_agent = HOSTS[0].agent();
    let spots = s.get_json(&format!("{BASE}/hotspots/json"));
    let metrics: Vec<(&str, &str)> = spots
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["agent"].as_str().unwrap(), x["metric"].as_str().unwrap()))
        .collect();
    assert_eq!(
        metrics,
        [
            (hot_agent.as_str(), "load_one_per_cpu"),
            (hot_agent.as_str(), "cpu_utilization")
        ],
        "{spots}"
    );
    assert_eq!(spots[1]["threshold"], 90, "{spots}");
    assert_eq!(spots[1]["hostname"], "plc-hot", "{spots}");

    // The engine's threshold names the hot agent. A probe threshold every host crosses shows
    // when the engine has evaluated all three; then placement_cpu has fired for plc1 alone.
    let r = s.put(
        "/threshold/probe/json",
        r#"{"metric": "cpu_utilization", "value": 0}"#,
    );
    assert!(r.status < 300, "{}", r.body);
    let doc = s.wait_for("/events/json?maxEvents=1000", |d| {
        events(d, "probe").len() == 3 && !events(d, "placement_cpu").is_empty()
    });
    let probe = events(&doc, "probe");
    let mut probed: Vec<&str> = probe.iter().map(|e| e["agent"].as_str().unwrap()).collect();
    probed.sort_unstable();
    assert_eq!(
        probed,
        ["10.216.40.2", "10.216.41.2", "10.216.42.2"],
        "{doc}"
    );
    let cpu = events(&doc, "placement_cpu");
    assert_eq!(cpu.len(), 1, "{cpu:?}");
    assert_eq!(cpu[0]["agent"], hot_agent.as_str(), "{cpu:?}");
    assert_eq!(cpu[0]["dataSource"], "2.1", "{cpu:?}");
    assert_eq!(cpu[0]["metric"], "cpu_utilization", "{cpu:?}");
    close(f(&cpu[0]["value"]), 95.0, "event value");
    close(f(&cpu[0]["threshold"]), 90.0, "event threshold");
    // Memory: 70 % is under the configured 80 %.
    assert_eq!(events(&doc, "placement_mem"), Vec::<Value>::new(), "{doc}");
    drop(agents);
}
