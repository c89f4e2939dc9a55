//! The built-in `tcp` app (`builtin-apps = ["tcp"]`) on real TCP traffic the test makes over
//! two namespaces joined to this host by veths that flowlens captures (`pcap`, every packet):
//!
//! * `fl16-tcpa` (10.216.20.2) runs an iperf3 server; a short iperf3 client run from this
//!   host is ordinary traffic: the app's services view shows the iperf3 port with its SYNs
//!   answered by as many SYN-ACKs, and neither of the app's thresholds raises an event.
//! * hping3 on this host then sends SYNs (1000/s) to a closed port of `fl16-tcpb`
//!   (10.216.21.2), which answers each with RST+ACK: the app's SYN threshold and RST
//!   threshold raise events naming that service, and its view shows SYNs with no SYN-ACK,
//!   RSTs and a half-open estimate. The iperf3 service still has no event.
//!
//! * hping3 then sends SYNs (500/s) to the iperf3 service, whose baseline learnt its quiet
//!   rate: the app lists a connection-rate anomaly ("high") for it.
//!
//! Needs root, tshark, iperf3 and hping3; otherwise it reports SKIPPED.

use crate::run_live_pcap::{missing, sh, Link};
use crate::run_support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use run_support::{temp_dir, Server};
use serde_json::Value;

/// The iperf3 server and its port.
const IPERF_IP: &str = "10.216.20.2";
const IPERF_PORT: u16 = 5201;
/// The flood's target: an address with nothing listening on `CLOSED_PORT`.
const TARGET_IP: &str = "10.216.21.2";
const CLOSED_PORT: u16 = 5999;
/// The app's smoothing time (`tcp.t`), s, and thresholds (`tcp.syn_threshold`,
/// `tcp.rst_threshold`), frames/s: the flood (1000 SYN/s) crosses them within a second;
/// iperf3's two connections (0.2 SYN/s over t) stay far below.
const T: f64 = 10.0;
const SYN_THRESHOLD: f64 = 20.0;
const RST_THRESHOLD: f64 = 20.0;
const BASE: &str = "/app/tcp/scripts/tcp.js";
const EVENTS: &str = "/events/json?maxEvents=1000&thresholdID=tcp_syn&thresholdID=tcp_rst";

/// A child process killed (and reaped) on drop.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(args: &[&str]) -> Killed {
    Killed(
        Command::new(args[0])
            .args(&args[1..])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

/// Root, tshark (the other live tests' requirement), iperf3 and hping3, or the reason to
/// skip.
fn unavailable() -> Option<String> {
    if let Some(why) = missing() {
        return Some(why);
    }
    for tool in ["iperf3", "hping3"] {
        if Command::new(tool).arg("--version").output().is_err() {
            return Some(format!("{tool} is not installed"));
        }
    }
    None
}

fn service<'a>(doc: &'a Value, ip: &str, port: u16) -> Option<&'a Value> {
    doc.as_array()?
        .iter()
        .find(|s| s["ipaddress"] == ip && s["port"] == port)
}

fn num(v: &Value, field: &str) -> f64 {
    v[field]
        .as_f64()
        .unwrap_or_else(|| panic!("{field} not a number: {v}"))
}

fn flow_key(ip: &str, port: u16) -> String {
    format!("{ip},{port}")
}

fn events_naming(doc: &Value, threshold: &str, key: &str) -> usize {
    doc.as_array()
        .unwrap()
        .iter()
        .filter(|e| e["thresholdID"] == threshold && e["flowKey"] == key)
        .count()
}

/// Waits (at most 10 s) until something listens on TCP `port` in namespace `ns`.
fn wait_listening(ns: &str, port: u16) {
    let start = Instant::now();
    let filter = format!("sport = :{port}");
    loop {
        let out = sh(&["ip", "netns", "exec", ns, "ss", "-Htln", &filter]);
        if !String::from_utf8_lossy(&out.stdout).trim().is_empty() {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "nothing listens on {ns} port {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn syn_flood_on_a_closed_port_raises_an_event_and_iperf3_none() {
    if let Some(why) = unavailable() {
        eprintln!(
            "SKIPPED run_tcp::syn_flood_on_a_closed_port_raises_an_event_and_iperf3_none: {why}"
        );
        return;
    }
    let _a = Link::up("fl16-tcpa", "fl16ca", "10.216.20");
    let _b = Link::up("fl16-tcpb", "fl16cb", "10.216.21");
    let dir = temp_dir("tcp");
    let config = dir.join("flowlens.toml");
    std::fs::write(
        &config,
        format!(
            "builtin-apps = [\"tcp\"]\npcap = [\"fl16ca\", \"fl16cb\"]\n\
             [properties]\n\"tcp.t\" = \"{T}\"\n\"tcp.syn_threshold\" = \"{SYN_THRESHOLD}\"\n\
             \"tcp.rst_threshold\" = \"{RST_THRESHOLD}\"\n\
             \"tcp.baseline_interval\" = \"0.2\"\n\"tcp.baseline_window\" = \"5\"\n\
             \"tcp.baseline_repeat\" = \"2\"\n\"tcp.baseline_min_syn\" = \"5\"\n"
        ),
    )
    .unwrap();
    let s = Server::start_with(&dir.join("state"), &["--config", config.to_str().unwrap()]);

    // The app runs, is listed with its page, and has set its thresholds from the properties.
    let apps = s.get_json("/apps/json");
    assert_eq!(apps["tcp"]["entry"], "/html/", "{apps}");
    assert_eq!(apps["tcp"]["scripts"][0], "tcp.js", "{apps}");
    let page = s.get("/app/tcp/html/");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<h1>TCP</h1>"), "{}", page.body);
    let conf = s.get_json(&format!("{BASE}/thresholds/json"));
    assert_eq!(num(&conf, "syn"), SYN_THRESHOLD, "{conf}");
    assert_eq!(num(&conf, "rst"), RST_THRESHOLD, "{conf}");
    assert_eq!(num(&conf, "t"), T, "{conf}");
    assert_eq!(num(&conf, "timeout"), 60.0, "{conf}");
    let th = s.get_json("/threshold/tcp_syn/json");
    assert_eq!(th["value"], SYN_THRESHOLD, "{th}");
    assert_eq!(th["byFlow"], true, "{th}");
    assert_eq!(s.get_json(EVENTS), serde_json::json!([]));

    // (a) Ordinary traffic: one short iperf3 run (a control and a data connection).
    let _server = spawn(&[
        "ip",
        "netns",
        "exec",
        "fl16-tcpa",
        "iperf3",
        "-s",
        "-1",
        "-p",
        &IPERF_PORT.to_string(),
    ]);
    wait_listening("fl16-tcpa", IPERF_PORT);
    #[rustfmt::skip]
    let client = sh(&["iperf3", "-c", IPERF_IP, "-p", &IPERF_PORT.to_string(), "-t", "1",
        "-b", "20M"]);
    assert!(
        client.status.success(),
        "iperf3 client: {}{}",
        String::from_utf8_lossy(&client.stdout),
        String::from_utf8_lossy(&client.stderr)
    );
    // Both connections' SYNs and SYN-ACKs seen (2 each, less the decay since: value × t is
    // 2·e^(-age/t), above 1 for 6.9 s), each SYN answered.
    let doc = s.wait_for(&format!("{BASE}/services/json"), |d| {
        service(d, IPERF_IP, IPERF_PORT)
            .is_some_and(|v| num(v, "syn") * T > 1.0 && num(v, "synack") * T > 1.0)
    });
    let iperf = service(&doc, IPERF_IP, IPERF_PORT).unwrap();
    assert!(num(iperf, "syn") * T <= 2.0, "{doc}");
    assert!(num(iperf, "synack") * T <= 2.0, "{doc}");
    assert!(num(iperf, "halfopen") < 0.1, "{doc}");
    // The client's ephemeral ports are not services: iperf3's is the only one.
    assert_eq!(doc.as_array().unwrap().len(), 1, "{doc}");
    // Thresholds are checked as each sample arrives: every frame of the run is counted
    // above, so any event it raised is there now.
    assert_eq!(s.get_json(EVENTS), serde_json::json!([]));

    // (b) The SYN flood on a closed port: RST+ACK answers every SYN.
    #[rustfmt::skip]
    let _flood = spawn(&["hping3", "-q", "-S", "-p", &CLOSED_PORT.to_string(), "-i", "u1000",
        "-c", "30000", TARGET_IP]);
    let key = flow_key(TARGET_IP, CLOSED_PORT);
    let events = s.wait_for(EVENTS, |d| {
        events_naming(d, "tcp_syn", &key) == 1 && events_naming(d, "tcp_rst", &key) == 1
    });
    let syn_event = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["thresholdID"] == "tcp_syn")
        .unwrap();
    assert_eq!(syn_event["metric"], "tcp_syn", "{events}");
    assert!(num(syn_event, "value") >= SYN_THRESHOLD, "{events}");
    // The data source is the captured interface, by its ifIndex.
    let ifindex = std::fs::read_to_string("/sys/class/net/fl16cb/ifindex").unwrap();
    assert_eq!(syn_event["dataSource"], ifindex.trim(), "{events}");
    // No event for anything else (the iperf3 service, the flood's source).
    assert_eq!(events.as_array().unwrap().len(), 2, "{events}");

    let doc = s.wait_for(&format!("{BASE}/services/json"), |d| {
        service(d, TARGET_IP, CLOSED_PORT)
            .is_some_and(|v| num(v, "syn") >= SYN_THRESHOLD && num(v, "rst") >= RST_THRESHOLD)
    });
    let target = service(&doc, TARGET_IP, CLOSED_PORT).unwrap();
    assert_eq!(num(target, "synack"), 0.0, "{doc}");
    // Every RST is the service's own: none is sent to it.
    assert_eq!(num(target, "rst_total"), num(target, "rst"), "{doc}");
    // halfopen = syn × t (no SYN answered), to the last bits of the JSON numbers' rounding.
    let expected = num(target, "syn") * T;
    assert!(
        (num(target, "halfopen") - expected).abs() <= expected * 1e-12,
        "no SYN answered: {doc}"
    );
    // Most SYNs first.
    assert_eq!(doc[0]["ipaddress"], TARGET_IP, "{doc}");
    assert_eq!(doc[0]["port"], CLOSED_PORT, "{doc}");

    // The RSTs come from the target and go to this host (the flood's source).
    let rst = s.get_json(&format!("{BASE}/rst/json"));
    assert_eq!(rst["sources"][0]["ipaddress"], TARGET_IP, "{rst}");
    assert_eq!(rst["destinations"][0]["ipaddress"], "10.216.21.1", "{rst}");
    assert!(num(&rst["sources"][0], "rst") >= RST_THRESHOLD, "{rst}");

    // (c) A surge of connection requests to the iperf3 service, whose baseline (a window of
    // 5 checks every 0.2 s) learnt its quiet rate during (a) and (b): an anomaly, "high".
    let anomalies = format!("{BASE}/anomalies/json");
    let quiet = s.get_json(&anomalies);
    assert!(
        !quiet
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["port"] == IPERF_PORT),
        "{quiet}"
    );
    #[rustfmt::skip]
    let _surge = spawn(&["hping3", "-q", "-S", "-p", &IPERF_PORT.to_string(), "-i", "u2000",
        "-c", "30000", IPERF_IP]);
    let doc = s.wait_for(&anomalies, |d| {
        d.as_array()
            .is_some_and(|a| a.iter().any(|a| a["port"] == IPERF_PORT))
    });
    let a = doc
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["port"] == IPERF_PORT)
        .unwrap();
    assert_eq!(a["ipaddress"], IPERF_IP, "{doc}");
    assert_eq!(a["status"], "high", "{doc}");
    assert_eq!(a["segment"], serde_json::Value::Null, "{doc}");
    assert!(num(a, "syn") >= num(a, "mean") + 5.0, "{doc}");
    // The quiet rate learnt: iperf3's two connections over t.
    assert!(num(a, "mean") < 1.0, "{doc}");
}
