//! `flowlens run` fed live by a real Open vSwitch (sFlow 1-in-10, NetFlow v5, IPFIX) in the
//! namespaces `scripts/testbed.sh` creates (see `ovs_testbed.rs` and the script's header),
//! while iperf3 runs between two of them:
//!
//! * `/activeflows` shows the iperf3 pair on top. Its bit rate, the mean of the snapshots taken
//!   in the transfer's second half, is within three standard errors of its reported confidence
//!   interval (`ci95` / 1.96, plus 2 %) of iperf3's own per-second figures (the receiver's,
//!   with the sender's retransmitted segments) smoothed the way the engine smooths (t = 4 s)
//!   at the snapshots' times, with the Ethernet/IP/TCP header overhead iperf3 does not count;
//! * VXLAN overlay traffic appears, sampled on the underlay bridge (agent 127.0.0.2), with
//!   `vxlanvni` 100 and the tenant's inner addresses;
//! * `/agents/json` lists both bridges' agents with no datagram lost, duplicated or
//!   reordered (sequence numbers), and the NetFlow v5 / IPFIX exports arrive and decode.
//!
//! Needs root, Open vSwitch, iproute2 and iperf3 (`scripts/testbed.sh deps` lists the
//! packages; `.ci/run` installs them).

use crate::common;

use crate::run_support;
use common::{run_ok, testbed_script, Testbed};

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use run_support::{temp_dir, Server};
use serde_json::Value as Json;

/// iperf3's target rate, bits/s, and duration, s.
const IPERF_RATE: &str = "50M";
const IPERF_SECS: u64 = 8;
/// Smoothing time of the pair flow, s (its `t`). When samples counted at the time flowlens
/// took them, a snapshot just after a stall under load (the full suite on 2 cores) read high:
/// with `t` = 1 s, 15 % above the wire's rate; 4 s cut that fourfold. They now count at their
/// receipt; whether 1 s would do again is not measured (the exporter, Open vSwitch, shares
/// the loaded cores too), so the test keeps 4 s.
const PAIR_T_SECS: f64 = 4.0;
/// Payload bytes of a full-sized TCP segment on the testbed's 1500-byte MTU: 1500 − IPv4 20 −
/// TCP 32 (with timestamps).
const MSS_BYTES: f64 = 1448.0;
/// Header bytes per full-sized TCP segment iperf3 does not count: Ethernet 14 + FCS 4 + IPv4
/// 20 + TCP 32 (with timestamps) over a [`MSS_BYTES`] payload, as a fraction.
const OVERHEAD: f64 = (14.0 + 4.0 + 20.0 + 32.0) / MSS_BYTES;

fn netns(ns: &str) -> Command {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", ns]);
    c
}

#[test]
fn open_vswitch_exports_to_flowlens_run() {
    for tool in ["ovs-vsctl", "iperf3"] {
        assert!(
            Command::new(tool)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success()),
            "{tool} is not installed: install what scripts/testbed.sh deps lists (as .ci/run does)"
        );
    }
    let state = temp_dir("ovs");
    let s = Server::start(&state);
    let pair = format!("{{keys:'ipsource,ipdestination', value:'bytes', t:{PAIR_T_SECS}}}");
    for (name, def) in [
        ("pair", pair.as_str()),
        (
            "overlay",
            "{keys:'agent,ipsource.1,ipdestination.1,vxlanvni', value:'frames', filter:'vxlanvni=100'}",
        ),
    ] {
        let r = s.put(&format!("/flow/{name}/json"), def);
        assert_eq!(r.status, 204, "{name}: {}", r.body);
    }

    let dir = format!("/tmp/nftb-run-{}", std::process::id());
    let _bed = Testbed::take(&dir);
    run_ok(
        Command::new(testbed_script())
            .arg("up")
            .env("NFTB_DIR", &dir)
            .env("SFLOW_TARGET", s.ports.sflow.to_string())
            .env("NETFLOW_TARGET", s.ports.netflow.to_string())
            .env("IPFIX_TARGET", s.ports.ipfix.to_string()),
    );

    // iperf3 h1 -> h2, once the server listens.
    let mut server = netns("nftb-h2")
        .args([
            "timeout",
            "60",
            "iperf3",
            "-s",
            // JSON, so that the client's --get-server-output brings its intervals as JSON.
            "-J",
            "-B",
            "10.99.0.2",
            "-p",
            "5211",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while run_ok(netns("nftb-h2").args(["ss", "-Hltn", "sport = :5211"]))
        .trim()
        .is_empty()
    {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "iperf3 -s does not listen"
        );
        assert!(server.try_wait().unwrap().is_none(), "iperf3 -s exited");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut client = netns("nftb-h1")
        .args([
            "iperf3",
            "-c",
            "10.99.0.2",
            "-p",
            "5211",
            "-J",
            "--get-server-output",
            "-b",
            IPERF_RATE,
        ])
        .args(["-t", &IPERF_SECS.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let client_start = Instant::now();
    // Snapshots of the pair flow while the transfer runs, each with its time since the
    // client started, in the transfer's second half.
    let mut snaps: Vec<(f64, Json)> = Vec::new();
    while client.try_wait().unwrap().is_none() {
        let at = client_start.elapsed();
        if at > Duration::from_secs(IPERF_SECS / 2) && at < Duration::from_secs(IPERF_SECS) {
            let flows = s.get_json("/activeflows/ALL/pair/json?maxFlows=3");
            snaps.push((at.as_secs_f64(), flows));
        }
        std::thread::sleep(Duration::from_millis(250));
        assert!(
            client_start.elapsed() < Duration::from_secs(60),
            "iperf3 hangs"
        );
    }
    let out = client.wait_with_output().unwrap();
    // SIGTERM, which `timeout` passes on to iperf3 (SIGKILL would orphan it).
    let _ = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    let _ = server.wait();
    let report: Json = serde_json::from_slice(&out.stdout).unwrap();
    let iperf_bps = report["end"]["sum_received"]["bits_per_second"]
        .as_f64()
        .unwrap_or_else(|| panic!("no rate in iperf3's report: {report}"));
    assert!(!snaps.is_empty(), "no snapshot taken during the transfer");
    // The bytes on the wire per interval (s from the start, bytes): what the receiver took in
    // that second (the server's report, which the client fetched), with the segments the
    // sender sent again (they cross the bridge and are sampled too, but are received once).
    // The sender's own per-second bytes are what iperf3 wrote into its socket: after a stall
    // of the userspace datapath under the full suite's load, the socket buffer drains at
    // line rate in seconds the sender's figures show as steady (flowlens saw 12 % above
    // them once).
    fn interval_list<'a>(doc: &'a Json, report: &Json) -> &'a [Json] {
        doc["intervals"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_else(|| panic!("no intervals in iperf3's report: {report}"))
    }
    let sent = interval_list(&report, &report);
    let received = interval_list(&report["server_output_json"], &report);
    let mut retransmits = 0.0;
    let intervals: Vec<(f64, f64, f64)> = received
        .iter()
        .enumerate()
        .filter_map(|(k, i)| {
            let sum = &i["sum"];
            let again = sent
                .get(k)
                .and_then(|s| s["sum"]["retransmits"].as_f64())
                .unwrap_or(0.0);
            retransmits += again;
            Some((
                sum["start"].as_f64()?,
                sum["end"].as_f64()?,
                sum["bytes"].as_f64()? + again * MSS_BYTES,
            ))
        })
        .collect();
    // What a snapshot at `at` should show: the wire's rate smoothed as the engine smooths it,
    // each interval weighted by e^(-Δt/t), so a burst shows in the expectation too.
    let smoothed = |at: f64| -> f64 {
        intervals
            .iter()
            .filter(|(start, end, _)| end > start && *start < at)
            .map(|&(start, end, bytes)| {
                let rate = bytes * 8.0 / (end - start);
                let end = end.min(at);
                rate * ((-(at - end) / PAIR_T_SECS).exp() - (-(at - start) / PAIR_T_SECS).exp())
            })
            .sum()
    };
    let mut bps = 0.0;
    let mut expected = 0.0;
    for (at, flows) in &snaps {
        let top = &flows[0];
        assert_eq!(top["key"], "10.99.0.1,10.99.0.2", "{flows}");
        assert_eq!(top["agent"], "127.0.0.1", "{flows}");
        bps += top["value"].as_f64().unwrap() * 8.0;
        expected += smoothed(*at) * (1.0 + OVERHEAD);
    }
    bps /= snaps.len() as f64;
    expected /= snaps.len() as f64;
    let (_, last) = &snaps[snaps.len() - 1];
    let top = &last[0];
    // The last snapshot's interval: one snapshot's error, wider than the mean's.
    let ci_bps = top["ci95"].as_f64().unwrap() * 8.0;
    eprintln!(
        "flowlens {bps:.0} b/s (mean of {} snapshots, last ± {ci_bps:.0}, {} samples); iperf3 \
         {iperf_bps:.0} b/s on average, {retransmits} segments sent again, smoothed at the \
         snapshots with headers {expected:.0}",
        snaps.len(),
        top["samples"]
    );
    // Within three standard errors (ci95 is 1.96 of them): a 95 % interval alone would fail
    // one run in twenty by design (it did, once, at 1.06 × ci95). One snapshot against
    // iperf3's whole-run average, with t = 1 s, failed under the full suite's load (61 Mb/s
    // against 52.5): see PAIR_T_SECS.
    let three_sigma = ci_bps * 3.0 / 1.96;
    assert!(
        (bps - expected).abs() <= three_sigma + 0.02 * expected,
        "flowlens {bps:.0} b/s ± {ci_bps:.0} (3σ {three_sigma:.0}) vs iperf3 smoothed {expected:.0} \
         b/s (+{:.1} % headers; {iperf_bps:.0} b/s on average, {retransmits} segments sent \
         again): {last}",
        OVERHEAD * 100.0
    );

    // VXLAN overlay: the VTEP's pings cross the underlay bridge encapsulated.
    run_ok(netns("nftb-h1").args(["ping", "-q", "-i", "0.05", "-c", "60", "10.99.0.100"]));
    let overlay = s.wait_for("/activeflows/ALL/overlay/json", |f| {
        f.as_array().is_some_and(|a| {
            a.iter()
                .any(|x| x["key"] == "127.0.0.2,10.99.0.100,10.99.0.1,100")
        })
    });
    assert!(
        overlay
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["key"].as_str().unwrap().ends_with(",100")),
        "{overlay}"
    );

    // Both bridges' agents, no loss; NetFlow v5 and IPFIX arrive (OVS exports a flow after its
    // 10 s active timeout) and decode.
    let agents = s.get_json("/agents/json");
    for agent in ["127.0.0.1", "127.0.0.2"] {
        let a = &agents[agent];
        assert!(
            a["sFlowDatagramsReceived"].as_u64().unwrap() > 0,
            "{agents}"
        );
        assert!(a["sFlowFlowSamples"].as_u64().unwrap() > 0, "{agents}");
        for k in [
            "sFlowDatagramsLost",
            "sFlowDatagramsDuplicates",
            "sFlowDatagramsOutOfOrder",
        ] {
            assert_eq!(a[k], 0, "{agent} {k}: {agents}");
        }
    }
    let a = s.wait_for("/analyzer/json", |a| {
        a["sockets"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["datagrams"].as_u64() > Some(0))
            && a["netflowRecords"].as_u64() > Some(0)
    });
    assert_eq!(a["rejectedDatagrams"], 0, "{a}");
    assert_eq!(a["netflowRecordErrors"], 0, "{a}");
    assert_eq!(a["datagramsDropped"], 0, "{a}");
    let (status, stderr) = s.stop();
    assert!(status.success(), "{stderr}");
    std::fs::remove_dir_all(&state).unwrap();
}
