//! `flowlens run --mirror ADDR` fed by a real Open vSwitch port mirror into a GRE port (the
//! RSPAN-to-GRE recipe) in the namespaces `../shared/tools/nftestbed.sh` creates: everything
//! on port `nftb-v1` (namespace `nftb-h1`, 10.99.0.1) is mirrored to `nftb-gre0`
//! (`type=gre options:remote_ip=10.99.1.2 options:key=42`), whose GRE packets cross the
//! underlay bridge to namespace `nftb-vtep`, where flowlens runs with `--mirror 10.99.1.2`.
//! While h1 pings h2, tshark captures `nftb-v1`; once both have seen every echo (on their
//! counters), the inner flows in `/activeflows` have the pings' addresses, agent 10.99.1.1
//! (the tunnel's source), data source 42 (the GRE key), and per direction the frame counts
//! tshark saw.
//!
//! Needs root, Open vSwitch and tshark (`nftestbed.sh deps`); otherwise it reports SKIPPED.

use crate::common;
use crate::run_live_pcap::{missing, ok, Tshark};
use crate::run_support;

use std::net::{SocketAddr, TcpListener};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{testbed_script, Testbed};
use run_support::{temp_dir, Ports, Server};

/// Pings from h1 to h2 (each an echo request and a reply, each mirrored once).
const PINGS: u64 = 30;
/// Smoothing time of the flow definition, s.
const T: f64 = 600.0;

#[test]
fn ovs_gre_mirror_counts_equal_tshark() {
    if common::shared_file_or_skip(
        "run_live_mirror::ovs_gre_mirror_counts_equal_tshark",
        "tools/nftestbed.sh",
    )
    .is_none()
    {
        return;
    }
    if let Some(why) = missing() {
        eprintln!("SKIPPED run_live_mirror::ovs_gre_mirror_counts_equal_tshark: {why}");
        return;
    }
    assert!(
        Command::new("ovs-vsctl")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success()),
        "ovs-vsctl is not installed: run ../shared/tools/nftestbed.sh deps (as .ci/run does)"
    );
    let dir = temp_dir("live-mirror-nftb").display().to_string();
    let _bed = Testbed::take(&dir);
    common::run_ok(
        Command::new(testbed_script())
            .arg("up")
            .env("NFTB_DIR", &dir),
    );

    // tshark on the mirrored port first, known to capture once it shows a probe (h1 → h3,
    // a pair left out of the comparison).
    let tshark = Tshark::start("nftb-v1");
    let start = Instant::now();
    while tshark.count() == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "tshark sees no probe"
        );
        let _ = Command::new("ip")
            .args([
                "netns",
                "exec",
                "nftb-h1",
                "ping",
                "-q",
                "-c",
                "1",
                "-W",
                "1",
                "10.99.0.3",
            ])
            .output();
    }

    // flowlens in nftb-vtep, its HTTP on 10.99.1.2 (reached over the underlay bridge).
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let http: SocketAddr = format!("10.99.1.2:{port}").parse().unwrap();
    let udp: SocketAddr = "10.99.1.2:0".parse().unwrap();
    let ports = Ports {
        http,
        sflow: udp,
        netflow: udp,
        ipfix: udp,
    };
    let state = temp_dir("live-mirror");
    let mut args = ports.args(&state);
    args.extend(["--mirror".into(), "10.99.1.2".into()]);
    let s = Server::try_start_wrapped(ports, &args, &["ip", "netns", "exec", "nftb-vtep"])
        .unwrap_or_else(|e| panic!("flowlens run: {e}"));
    let r = s.put(
        "/flow/pair/json",
        &format!("{{keys:'ipsource,ipdestination,ipprotocol',value:'frames',t:{T}}}"),
    );
    assert_eq!(r.status, 204, "{}", r.body);

    ok(&[
        "ip",
        "netns",
        "exec",
        "nftb-h1",
        "ping",
        "-q",
        "-c",
        &PINGS.to_string(),
        "-i",
        "0.02",
        "10.99.0.2",
    ]);
    let pair_frames = |src: &str, dst: &str| -> u64 {
        tshark
            .frames
            .lock()
            .unwrap()
            .iter()
            .filter(|f| f[0] == src && f[1] == dst && f[2] == "1")
            .count() as u64
    };
    let (h1, h2) = ("10.99.0.1", "10.99.0.2");
    while pair_frames(h1, h2) < PINGS || pair_frames(h2, h1) < PINGS {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "tshark saw {} and {} of {PINGS}",
            pair_frames(h1, h2),
            pair_frames(h2, h1)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let value = |flows: &serde_json::Value, key: &str| -> u64 {
        flows
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["key"] == key)
            .map_or(0, |f| (f["value"].as_f64().unwrap() * T).round() as u64)
    };
    let flows = s.wait_for("/activeflows/ALL/pair/json?maxFlows=100", |f| {
        value(f, &format!("{h1},{h2},1")) >= PINGS && value(f, &format!("{h2},{h1},1")) >= PINGS
    });
    assert_eq!(
        value(&flows, &format!("{h1},{h2},1")),
        pair_frames(h1, h2),
        "{flows}"
    );
    assert_eq!(
        value(&flows, &format!("{h2},{h1},1")),
        pair_frames(h2, h1),
        "{flows}"
    );
    for f in flows.as_array().unwrap() {
        assert_eq!(f["agent"], "10.99.1.1", "{f}");
        assert_eq!(f["dataSource"], "42", "{f}");
    }
    let doc = s.get_json("/analyzer/json");
    let src = &doc["packetSources"][0];
    assert_eq!(src["type"], "mirror", "{doc}");
    assert_eq!(src["name"], "10.99.1.2");
    assert_eq!(src["decodeErrors"], 0, "{doc}");
    assert!(src["packetsReceived"].as_u64() >= Some(2 * PINGS), "{doc}");
    assert_eq!(src["packetsReceived"], src["packetsSampled"], "{doc}");
}
