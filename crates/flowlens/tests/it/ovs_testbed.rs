//! Real Open vSwitch exporting sFlow, NetFlow v5 and IPFIX to `flowlens decode --listen`, in network namespaces the
//! test creates with `scripts/testbed.sh` (private ovsdb/ovs-vswitchd, userspace datapath,
//! bridges `nftb-br0` and underlay `nftb-phy`, hosts `nftb-h1..3`, a kernel VXLAN VTEP in
//! `nftb-vtep`; see the script's header). Traffic stays inside those
//! namespaces; telemetry goes to 127.0.0.1.
//!
//! With sampling 1-in-1 every packet crossing a bridge is sampled, so the counts are exact:
//! `testbed.sh up` itself pings h1→h2 once and h1→10.99.0.100 (across VXLAN VNI 100) twice;
//! the test then pings h1→h2 `PINGS` times and across the overlay `OVERLAY_PINGS` times, and
//! requires every echo request and reply, exactly once (reading goes on past a marker ping
//! sent afterwards, so a late duplicate would be counted), in the decoded sFlow, with the right agent, addresses
//! and ICMP types, and the VTEP's replies decoded inside VXLAN on the underlay bridge (agent
//! 127.0.0.2) with `vxlanvni` 100 and the tenant addresses as `ipsource.1`/`ipdestination.1`.
//! Counter samples must carry Open vSwitch's records (generic and Ethernet interface
//! counters, OpenFlow port 1004 and port name 1005 from both bridges; app resources 2203 and
//! datapath 2207 from the shared datapath).
//!
//! The same pings, exported by OVS as NetFlow v5 and IPFIX flow records to the same socket
//! (told apart by content), must add up to exactly the same packet counts; the IPFIX records
//! of the overlay flows carry OVS's tunnel elements (VMware PEN 6876), giving `vxlanvni` 100
//! and the tenant's addresses at depth 1.
//!
//! Needs root, Open vSwitch and iproute2 (`scripts/testbed.sh deps` lists the packages;
//! `.ci/run` installs them).

use crate::common;

use common::{run_ok, testbed_script};

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value as Json;

const PINGS: u32 = 20;
const OVERLAY_PINGS: u32 = 10;
/// Echo requests `testbed.sh up` sends itself to check the bridge and the overlay.
const UP_PINGS: u32 = 1;
const UP_OVERLAY_PINGS: u32 = 2;

/// Brings the testbed down however the test ends.
struct Testbed {
    dir: String,
    flowlens: Child,
    /// Held until the testbed is down (fields drop after `Drop::drop`).
    _lock: std::fs::File,
}

impl Drop for Testbed {
    fn drop(&mut self) {
        let _ = self.flowlens.kill();
        let _ = self.flowlens.wait();
        let _ = Command::new(testbed_script())
            .arg("down")
            .env("NFTB_DIR", &self.dir)
            .output();
    }
}

/// What the decoded sFlow must contain; counted as lines arrive.
#[derive(Default, Debug)]
struct Seen {
    /// (agent, ipsource, ipdestination, icmptype) of sampled headers, outer or inner.
    icmp: BTreeMap<(String, String, String, u64), u32>,
    /// (agent, inner ipsource, inner ipdestination, inner icmptype) of VXLAN VNI 100 samples.
    vxlan: BTreeMap<(String, String, String, u64), u32>,
    /// Counter record names per agent.
    counters: BTreeMap<String, BTreeSet<String>>,
    /// NetFlow v5 / IPFIX ICMP frames: (type, template id, ipsource, ipdestination) -> sum.
    exported: BTreeMap<(String, u64, String, String), u64>,
    /// IPFIX frames of flows OVS sent into VXLAN VNI 100, by inner (src, dst, icmp type),
    /// from Open vSwitch's tunnel elements (PEN 6876).
    ipfix_vxlan: BTreeMap<(String, String, u64), u64>,
    errors: Vec<String>,
    /// Echo replies the test's overlay pings received, as ping counted them: a reply lost in
    /// the overlay was never there to export (`testbed.sh up` fails unless its own are all
    /// answered).
    overlay_replies: u32,
}

impl Seen {
    fn add(&mut self, doc: &Json) {
        if let Some(e) = doc.get("errors") {
            self.errors.push(e.to_string());
        }
        if doc["type"] == "netflow-v5" || doc["type"] == "ipfix" {
            self.add_export(doc);
            return;
        }
        if doc["type"] != "sflow" {
            return;
        }
        let agent = doc["datagram"]["agent_address"]
            .as_str()
            .unwrap()
            .to_string();
        for s in doc["samples"].as_array().into_iter().flatten() {
            for r in s["records"].as_array().into_iter().flatten() {
                if s["sample"].as_str().unwrap().contains("counter") {
                    let name = r["record"].as_str().unwrap().to_string();
                    self.counters.entry(agent.clone()).or_default().insert(name);
                }
                let k = &r["packet"]["keys"];
                let s = |v: &Json| v.as_str().unwrap_or("-").to_string();
                if let Some(t) = k["icmptype"].as_u64() {
                    let key = (agent.clone(), s(&k["ipsource"]), s(&k["ipdestination"]), t);
                    *self.icmp.entry(key).or_default() += 1;
                }
                if k["vxlanvni"].as_u64() == Some(100) {
                    if let Some(t) = k["icmptype.1"].as_u64() {
                        let key = (
                            agent.clone(),
                            s(&k["ipsource.1"]),
                            s(&k["ipdestination.1"]),
                            t,
                        );
                        *self.vxlan.entry(key).or_default() += 1;
                    }
                }
            }
        }
    }

    fn add_export(&mut self, doc: &Json) {
        let kind = doc["type"].as_str().unwrap().to_string();
        for r in doc["records"].as_array().into_iter().flatten() {
            let k = &r["keys"];
            let s = |v: &Json| v.as_str().unwrap_or("-").to_string();
            let frames = k["frames"].as_u64().unwrap_or(0);
            if k["ipprotocol"].as_u64() == Some(1) {
                let t = r["template_id"].as_u64().unwrap();
                let key = (kind.clone(), t, s(&k["ipsource"]), s(&k["ipdestination"]));
                *self.exported.entry(key).or_default() += frames;
            }
            if k["vxlanvni"].as_u64() == Some(100) {
                if let Some(t) = k["icmptype.1"].as_u64() {
                    let key = (s(&k["ipsource.1"]), s(&k["ipdestination.1"]), t);
                    *self.ipfix_vxlan.entry(key).or_default() += frames;
                }
            }
        }
    }

    /// Frames exported for ICMP `src` -> `dst`, per template (v5: template 0).
    fn exported(&self, kind: &str, src: &str, dst: &str) -> Vec<u64> {
        self.exported
            .iter()
            .filter(|((k, _, s, d), _)| k == kind && s == src && d == dst)
            .map(|(_, n)| *n)
            .collect()
    }

    fn icmp(&self, agent: &str, src: &str, dst: &str, t: u64) -> u32 {
        let key = (agent.to_string(), src.to_string(), dst.to_string(), t);
        self.icmp.get(&key).copied().unwrap_or(0)
    }

    fn vxlan(&self, agent: &str, src: &str, dst: &str, t: u64) -> u32 {
        let key = (agent.to_string(), src.to_string(), dst.to_string(), t);
        self.vxlan.get(&key).copied().unwrap_or(0)
    }

    /// The marker ping h2 -> h3, sent after `complete`, is in the sFlow samples and in the
    /// NetFlow v5 and IPFIX exports.
    fn marker_seen(&self) -> bool {
        self.icmp("127.0.0.1", "10.99.0.2", "10.99.0.3", 8) >= 1
            && ["netflow-v5", "ipfix"]
                .iter()
                .all(|kind| !self.exported(kind, "10.99.0.2", "10.99.0.3").is_empty())
    }

    fn complete(&self) -> bool {
        let ovs_counters = ["if_counters", "ethernet_counters", "of_port", "port_name"];
        self.icmp("127.0.0.1", "10.99.0.1", "10.99.0.2", 8) >= PINGS + UP_PINGS
            && self.icmp("127.0.0.1", "10.99.0.2", "10.99.0.1", 0) >= PINGS + UP_PINGS
            && self.icmp("127.0.0.1", "10.99.0.1", "10.99.0.100", 8)
                >= OVERLAY_PINGS + UP_OVERLAY_PINGS
            && self.vxlan("127.0.0.2", "10.99.0.100", "10.99.0.1", 0)
                >= self.overlay_replies + UP_OVERLAY_PINGS
            && ["127.0.0.1", "127.0.0.2"].iter().all(|a| {
                self.counters
                    .get(*a)
                    .is_some_and(|c| ovs_counters.iter().all(|n| c.contains(*n)))
            })
            && self.counters.values().any(|c| c.contains("app_resources"))
            && self.counters.values().any(|c| c.contains("ovs_dp_stats"))
            && [("10.99.0.1", "10.99.0.2"), ("10.99.0.2", "10.99.0.1")]
                .iter()
                .all(|(a, b)| {
                    ["netflow-v5", "ipfix"].iter().all(|kind| {
                        let sums = self.exported(kind, a, b);
                        !sums.is_empty() && sums.iter().all(|&n| n >= u64::from(PINGS + UP_PINGS))
                    })
                })
            && self
                .ipfix_vxlan
                .get(&("10.99.0.100".into(), "10.99.0.1".into(), 0))
                .copied()
                >= Some(u64::from(self.overlay_replies + UP_OVERLAY_PINGS))
    }
}

/// The replies ping's summary counts (`10 packets transmitted, 9 received, ...`).
fn ping_received(summary: &str) -> u32 {
    summary
        .lines()
        .find_map(|l| {
            let (_, rest) = l.split_once(" packets transmitted, ")?;
            rest.split_whitespace().next()?.parse().ok()
        })
        .unwrap_or_else(|| panic!("no ping summary in {summary:?}"))
}

#[test]
fn open_vswitch_exports_decode_to_exact_packet_counts() {
    assert!(
        Command::new("ovs-vsctl")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success()),
        "Open vSwitch is not installed: install what scripts/testbed.sh deps lists (as .ci/run does)"
    );
    let lock = common::testbed_lock();
    let dir = format!("/tmp/nftb-flowlens-{}", std::process::id());
    let mut flowlens = Command::new(env!("CARGO_BIN_EXE_flowlens"))
        .args([
            "decode",
            "--format",
            "json",
            "--listen",
            "127.0.0.1:0",
            "--duration",
            "300",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(flowlens.stderr.take().unwrap());
    let stdout = BufReader::new(flowlens.stdout.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("flowlens: listening on UDP ")
        .unwrap()
        .to_string();
    let bed = Testbed {
        dir: dir.clone(),
        flowlens,
        _lock: lock,
    };

    // Every exporter of the testbed sends to the one flowlens socket: sFlow, NetFlow v5 and
    // IPFIX are told apart by content.
    run_ok(
        Command::new(testbed_script())
            .arg("up")
            .env("NFTB_DIR", &dir)
            .env("SFLOW_TARGET", &addr)
            .env("NETFLOW_TARGET", &addr)
            .env("IPFIX_TARGET", &addr)
            .env("SAMPLING", "1"),
    );
    run_ok(
        Command::new("ip")
            .args(["netns", "exec", "nftb-h1", "ping", "-q", "-i", "0.1"])
            .args(["-c", &PINGS.to_string(), "10.99.0.2"]),
    );
    let overlay = Command::new("ip")
        .args(["netns", "exec", "nftb-h1", "ping", "-q", "-i", "0.1"])
        .args(["-c", &OVERLAY_PINGS.to_string(), "10.99.0.100"])
        .output()
        .unwrap();
    let overlay_replies = ping_received(&String::from_utf8_lossy(&overlay.stdout));
    // A rare reply lost on the userspace datapath is tolerated (and counted as lost), a broken
    // overlay is not.
    assert!(
        overlay_replies + 1 >= OVERLAY_PINGS,
        "the overlay answered {overlay_replies} of {OVERLAY_PINGS} pings"
    );

    // Read decoded datagrams as they arrive until everything is there (OVS sends samples
    // within about a second and counters every 5 s), or fail after a generous bound.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in stdout.lines() {
            let Ok(line) = line else { break };
            if tx
                .send(serde_json::from_str::<Json>(&line).unwrap())
                .is_err()
            {
                break;
            }
        }
    });
    // NetFlow and IPFIX export a flow once Open vSwitch's datapath flow has been idle for its
    // 10 s timeout, so allow well beyond that.
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut seen = Seen {
        overlay_replies,
        ..Seen::default()
    };
    while !seen.complete() {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(doc) => seen.add(&doc),
            Err(_) => panic!("incomplete after 90 s: {seen:#?}"),
        }
    }
    // Everything expected has arrived at least once; a late duplicate would arrive after
    // it. So keep reading past a marker: one ping h2 -> h3 sent only now, which every
    // exporter reports after everything before it. Reading stops once the marker is in the
    // sFlow, the NetFlow v5 and the IPFIX output, so the exact counts below see every
    // datagram exported before it.
    run_ok(Command::new("ip").args([
        "netns",
        "exec",
        "nftb-h2",
        "ping",
        "-q",
        "-c",
        "1",
        "10.99.0.3",
    ]));
    let deadline = Instant::now() + Duration::from_secs(90);
    while !seen.marker_seen() {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(doc) => seen.add(&doc),
            Err(_) => panic!("marker h2 -> h3 not exported after 90 s: {seen:#?}"),
        }
    }
    drop(bed);

    assert!(seen.errors.is_empty(), "decode errors: {:?}", seen.errors);
    // Exact: with 1-in-1 sampling no echo is missing and none is counted twice.
    assert_eq!(
        seen.icmp("127.0.0.1", "10.99.0.1", "10.99.0.2", 8),
        PINGS + UP_PINGS
    );
    assert_eq!(
        seen.icmp("127.0.0.1", "10.99.0.2", "10.99.0.1", 0),
        PINGS + UP_PINGS
    );
    assert_eq!(
        seen.icmp("127.0.0.1", "10.99.0.1", "10.99.0.100", 8),
        OVERLAY_PINGS + UP_OVERLAY_PINGS
    );
    assert_eq!(
        seen.vxlan("127.0.0.2", "10.99.0.100", "10.99.0.1", 0),
        seen.overlay_replies + UP_OVERLAY_PINGS
    );
    // NetFlow v5 and IPFIX (every template OVS used for these flows) count every echo exactly:
    // 1-in-1 IPFIX sampling, and NetFlow v5 is unsampled.
    for (a, b) in [("10.99.0.1", "10.99.0.2"), ("10.99.0.2", "10.99.0.1")] {
        for kind in ["netflow-v5", "ipfix"] {
            let sums = seen.exported(kind, a, b);
            assert!(
                !sums.is_empty() && sums.iter().all(|&n| n == u64::from(PINGS + UP_PINGS)),
                "{kind} {a} -> {b}: {sums:?}"
            );
        }
    }
    // OVS's IPFIX tunnel elements (VMware PEN 6876) give the VXLAN key and the tenant flow.
    assert_eq!(
        seen.ipfix_vxlan
            .get(&("10.99.0.100".into(), "10.99.0.1".into(), 0))
            .copied(),
        Some(u64::from(seen.overlay_replies + UP_OVERLAY_PINGS)),
        "{seen:?}"
    );
    // The (shared, userspace) datapath reports itself through one of the bridges' agents:
    // app_resources 2203 and ovs_dp_stats 2207, records tshark 4.0 cannot decode.
    assert!(
        seen.counters.values().any(|c| c.contains("app_resources")),
        "{seen:?}"
    );
    assert!(
        seen.counters.values().any(|c| c.contains("ovs_dp_stats")),
        "{seen:?}"
    );
}
