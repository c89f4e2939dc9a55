//! `flowlens run --mirror ADDR` fed by real Open vSwitch port mirrors (the RSPAN-to-GRE and
//! ERSPAN recipes) in the namespaces `scripts/testbed.sh` creates: everything on
//! port `nftb-v1` (namespace `nftb-h1`, 10.99.0.1) is mirrored to `nftb-gre0`
//! (`type=gre options:remote_ip=10.99.1.2 options:key=42`), everything on `nftb-v3`
//! (`nftb-h3`, 10.99.0.3) to `nftb-ers0` (`type=erspan options:erspan_ver=1 options:key=7`:
//! ERSPAN type II, session ID 7); their packets cross the underlay bridge to namespace
//! `nftb-vtep`, where flowlens runs with `--mirror 10.99.1.2`.
//!
//! Two tshark captures are the reference: one on the mirrored port (what was sent), one on
//! nftb-vtep's `eth0` (the GRE packets that reached flowlens's host, decapsulated by tshark
//! itself). Once a probe ping has crossed the whole mirror path into flowlens, a host of the
//! mirrored port pings another; once the first capture has every echo, a last, larger ping
//! to the third host shows (when its copy reaches nftb-vtep) that the second has every copy
//! that will arrive. Then the inner flows in `/activeflows` have the pings' addresses, agent
//! 10.99.1.1 (the tunnel's source), data source the GRE key or ERSPAN session ID, and per
//! direction the frame counts of the copies that arrived, which are those sent unless Open
//! vSwitch lost a copy (it lost one exchange once in a CI run under load; the test says so
//! on its output, and holds flowlens to what arrived).
//!
//! Needs root and tshark, otherwise it reports SKIPPED, and Open vSwitch (`scripts/testbed.sh
//! deps` lists the packages; `.ci/run` installs them).

use crate::common;
use crate::run_live_pcap::{missing, ok, Tshark};
use crate::run_support;

use std::net::{SocketAddr, TcpListener};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{testbed_script, Testbed};
use run_support::{temp_dir, Ports, Server};

/// Pings from the mirrored host to its peer (each an echo request and a reply, each mirrored
/// once).
const PINGS: u64 = 30;
/// Smoothing time of the flow definition, s.
const T: f64 = 600.0;
/// ICMP data bytes of the ping sent after the counted ones (the probes carry 56).
const SENTINEL_BYTES: u32 = 999;
/// What tshark reports of each GRE packet reaching nftb-vtep; a field of both the outer and
/// the inner IPv4 header is `outer;inner`.
const ARRIVED_FIELDS: [&str; 6] = [
    "ip.src",
    "ip.dst",
    "ip.proto",
    "ip.len",
    "gre.key",
    "erspan.spanid",
];

/// The mirror session of an arrived packet as tshark decodes it: the GRE key (tshark prints it
/// in hex) or the ERSPAN session ID, in decimal as flowlens's data source.
fn session(f: &[String]) -> Option<String> {
    if let Some(hex) = f[4].strip_prefix("0x") {
        return u32::from_str_radix(hex, 16).ok().map(|k| k.to_string());
    }
    (!f[5].is_empty()).then(|| f[5].clone())
}

/// One of the testbed's port mirrors.
struct Mirror {
    /// The test's name, for SKIPPED lines.
    test: &'static str,
    /// The mirrored OVS port (tshark captures it).
    port: &'static str,
    /// The namespace of the pinging host on that port, and its address.
    host: (&'static str, &'static str),
    /// The address it pings (a host on an unmirrored port).
    peer: &'static str,
    /// The data source flowlens names the mirror session by: the GRE key or ERSPAN session ID.
    data_source: &'static str,
    /// The `type` of the OVS tunnel port the mirror sends to, as `/analyzer/json` has no such
    /// field: checked on the OVS side so that the test drives the encapsulation it says.
    ovs_type: &'static str,
    /// The OVS tunnel port.
    ovs_port: &'static str,
}

#[test]
fn ovs_gre_mirror_counts_equal_tshark() {
    mirror_counts_equal_tshark(&Mirror {
        test: "run_live_mirror::ovs_gre_mirror_counts_equal_tshark",
        port: "nftb-v1",
        host: ("nftb-h1", "10.99.0.1"),
        peer: "10.99.0.2",
        data_source: "42",
        ovs_type: "gre",
        ovs_port: "nftb-gre0",
    });
}

#[test]
fn ovs_erspan_mirror_counts_equal_tshark() {
    mirror_counts_equal_tshark(&Mirror {
        test: "run_live_mirror::ovs_erspan_mirror_counts_equal_tshark",
        port: "nftb-v3",
        host: ("nftb-h3", "10.99.0.3"),
        peer: "10.99.0.2",
        data_source: "7",
        ovs_type: "erspan",
        ovs_port: "nftb-ers0",
    });
}

fn mirror_counts_equal_tshark(m: &Mirror) {
    if let Some(why) = missing() {
        eprintln!("SKIPPED {}: {why}", m.test);
        return;
    }
    assert!(
        Command::new("ovs-vsctl")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success()),
        "ovs-vsctl is not installed: install what scripts/testbed.sh deps lists (as .ci/run does)"
    );
    let dir = temp_dir("live-mirror-nftb").display().to_string();
    let _bed = Testbed::take(&dir);
    common::run_ok(
        Command::new(testbed_script())
            .arg("up")
            .env("NFTB_DIR", &dir),
    );

    let ovs_type = Command::new("ovs-vsctl")
        .arg(format!("--db=unix:{dir}/ovs/db.sock"))
        .args(["get", "interface", m.ovs_port, "type"])
        .output()
        .expect("ovs-vsctl");
    assert_eq!(
        String::from_utf8_lossy(&ovs_type.stdout).trim(),
        m.ovs_type,
        "{}",
        String::from_utf8_lossy(&ovs_type.stderr)
    );

    // tshark on the mirrored port first, known to capture once it shows a probe (to a third
    // host, a pair left out of the comparison, sent before flowlens starts).
    let tshark = Tshark::start(m.port);
    // And tshark where flowlens runs: the GRE packets that reach nftb-vtep, decoded by tshark
    // itself (outer and inner IPv4, GRE key, ERSPAN session ID).
    let arrived = Tshark::start_in(
        &["ip", "netns", "exec", "nftb-vtep"],
        "eth0",
        "ip proto 47",
        &ARRIVED_FIELDS,
    );
    // A ping from the mirrored host to the third host, with `size` bytes of ICMP data.
    let ping_third = |size: u32| {
        let _ = Command::new("ip")
            .args([
                "netns",
                "exec",
                m.host.0,
                "ping",
                "-q",
                "-c",
                "1",
                "-W",
                "1",
                "-s",
                &size.to_string(),
                if m.host.1 == "10.99.0.1" {
                    "10.99.0.3"
                } else {
                    "10.99.0.1"
                },
            ])
            .output();
    };
    let probe = || ping_third(56);
    let start = Instant::now();
    while tshark.count() == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "tshark sees no probe"
        );
        probe();
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

    // The mirror path end to end (OVS's GRE encapsulation, its tunnel neighbour resolved, the
    // raw socket, the engine) carries a probe before the counted pings start.
    let warm = Instant::now();
    while s.get_json("/analyzer/json")["packetSources"][0]["packetsReceived"]
        .as_u64()
        .unwrap_or(0)
        == 0
    {
        assert!(
            warm.elapsed() < Duration::from_secs(30),
            "no mirrored probe reaches flowlens"
        );
        probe();
    }
    let pings_start = Instant::now();
    ok(&[
        "ip",
        "netns",
        "exec",
        m.host.0,
        "ping",
        "-q",
        "-c",
        &PINGS.to_string(),
        "-i",
        "0.02",
        m.peer,
    ]);
    // The frames were counted while ping ran (0.6 s): their age at a query is taken from the
    // middle of that run.
    let pinged = pings_start + pings_start.elapsed() / 2;
    let pair_frames = |src: &str, dst: &str| -> u64 {
        tshark
            .frames
            .lock()
            .unwrap()
            .iter()
            .filter(|f| f[0] == src && f[1] == dst && f[2] == "1")
            .count() as u64
    };
    let (host, peer) = (m.host.1, m.peer);
    while pair_frames(host, peer) < PINGS || pair_frames(peer, host) < PINGS {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "tshark saw {} and {} of {PINGS}",
            pair_frames(host, peer),
            pair_frames(peer, host)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Every mirrored copy of the pings that reaches nftb-vtep has arrived once this mirror's
    // copy of a later ping (to the third host, SENTINEL_BYTES of data) has: Open vSwitch
    // sends one mirror's copies in order. (The third host's port is mirrored too, by the
    // other session, whose copies are not ordered with this one's.)
    let sentinel = Instant::now();
    while !arrived.frames.lock().unwrap().iter().any(|f| {
        f[3].ends_with(&format!(";{}", SENTINEL_BYTES + 28))
            && session(f).as_deref() == Some(m.data_source)
    }) {
        assert!(
            sentinel.elapsed() < Duration::from_secs(30),
            "no mirrored copy of the sentinel ping reaches nftb-vtep; last arrived: {:?}",
            arrived
                .frames
                .lock()
                .unwrap()
                .iter()
                .rev()
                .take(4)
                .collect::<Vec<_>>()
        );
        ping_third(SENTINEL_BYTES);
    }
    // Per direction, the copies that arrived, from this mirror (outer source the underlay's
    // 10.99.1.1, the GRE key or ERSPAN session ID tshark decodes).
    let arrived_frames = |src: &str, dst: &str| -> u64 {
        arrived
            .frames
            .lock()
            .unwrap()
            .iter()
            .filter(|f| {
                f[0] == format!("10.99.1.1;{src}")
                    && f[1] == format!("10.99.1.2;{dst}")
                    && f[2] == "47;1"
                    && session(f).as_deref() == Some(m.data_source)
            })
            .count() as u64
    };
    let expected = [
        (host, peer, arrived_frames(host, peer)),
        (peer, host, arrived_frames(peer, host)),
    ];
    for (src, dst, n) in expected {
        let sent = pair_frames(src, dst);
        assert!(
            n <= sent,
            "{n} copies of {src} -> {dst} arrived, {sent} sent"
        );
        // Open vSwitch's mirror is not the system under test: what it loses (one exchange
        // in a CI run, under load) is named, and flowlens is held to what arrived.
        if n < sent {
            eprintln!("note: Open vSwitch mirrored {n} of {sent} frames {src} -> {dst}");
        }
        assert!(n > 0, "no copy of {src} -> {dst} arrived");
    }

    // A flow's frames: its smoothed rate × T is its frames decayed by e^(-age/T) since they
    // were counted, which is undone here. Without it a slow run (tshark late by 10 s under
    // load) left 30 frames at 29.5 or less, and the count never matched.
    let value = |flows: &serde_json::Value, key: &str| -> u64 {
        let age_secs = pinged.elapsed().as_secs_f64();
        flows
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["key"] == key)
            .map_or(0, |f| {
                (f["value"].as_f64().unwrap() * T * (age_secs / T).exp()).round() as u64
            })
    };
    let counted = Instant::now();
    let flows = loop {
        let flows = s.get_json("/activeflows/ALL/pair/json?maxFlows=100");
        if expected
            .iter()
            .all(|(src, dst, n)| value(&flows, &format!("{src},{dst},1")) >= *n)
        {
            break flows;
        }
        assert!(
            counted.elapsed() < Duration::from_secs(20),
            "flowlens did not count the {expected:?} copies that arrived within 20 s: {flows}; {}",
            s.get_json("/analyzer/json")["packetSources"]
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    for (src, dst, n) in expected {
        assert_eq!(value(&flows, &format!("{src},{dst},1")), n, "{flows}");
    }
    // The pings' flows come from this mirror. (The probe's, to the other mirrored host, may
    // also arrive through the other mirror, with its data source.)
    let pings = [format!("{host},{peer},1"), format!("{peer},{host},1")];
    let ping_flows: Vec<&serde_json::Value> = flows
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| pings.iter().any(|k| f["key"] == k.as_str()))
        .collect();
    assert_eq!(ping_flows.len(), 2, "{flows}");
    for f in ping_flows {
        assert_eq!(f["agent"], "10.99.1.1", "{f}");
        assert_eq!(f["dataSource"], m.data_source, "{f}");
    }
    let doc = s.get_json("/analyzer/json");
    let src = &doc["packetSources"][0];
    assert_eq!(src["type"], "mirror", "{doc}");
    assert_eq!(src["name"], "10.99.1.2");
    assert_eq!(src["decodeErrors"], 0, "{doc}");
    let copies: u64 = expected.iter().map(|(_, _, n)| n).sum();
    assert!(src["packetsReceived"].as_u64() >= Some(copies), "{doc}");
    assert_eq!(src["packetsReceived"], src["packetsSampled"], "{doc}");
}
