//! The built-in `mtu` app (`builtin-apps = ["mtu"]`) on real traffic the test makes, captured
//! by flowlens with `--pcap` on two host-side veths.
//!
//! * Overlay (`fl16ma`): namespace `fl16-mtua` has two Linux VXLAN devices towards this host,
//!   VNI 100 (tenant "blue", 10.1.0.1 → 10.1.0.2) and VNI 200 (10.1.0.129 → 10.1.0.130),
//!   both with a 1,500-byte MTU. Each tenant pings with `ping -M do -s 1472`: 1,500-byte
//!   DF packets, 1,550 bytes once encapsulated. The capture must see these packets with
//!   their DF bit and size, so the real underlay veth has a 9,000-byte MTU and carries them;
//!   the underlay MTU the app checks against is configured: `mtu.underlay` 1500 (VNI 100's
//!   packets do not fit: what an underlay of 1,500 bytes would drop) and `mtu.vni.200` 9000
//!   (VNI 200's do). So this part shows the app's judgement on real encapsulated packets, not
//!   a real drop. VNI 100 also sends 1,428-byte DF packets (1,478 encapsulated), which fit.
//!   Asserted: `oversize/json` lists exactly VNI 100's 1,500-byte pings, named "blue" (the
//!   tenants app's `tenants.vni.100` property), with the inner hosts and MTU 1500, and not
//!   VNI 200; an `mtu_oversize_vni` event in `/events/json` has flowKey
//!   "100,10.1.0.1,10.1.0.2", and the app's own `events/json` names the tenant; with no ICMP
//!   back to 10.1.0.1, `blackhole/json` lists the flow.
//! * A real drop (`fl16mb`): this host routes 10.216.32.0/30 through router namespace
//!   `fl16-mtur`, whose far link to `fl16-mtuc` (10.216.32.0/28) has a 1,400-byte MTU.
//!   `ping -M do -s 1472` sends one 1,500-byte DF packet to each of 10 addresses of the far
//!   link (one each: after the first ICMP this host knows the path MTU of that destination
//!   and refuses to send more); the router's kernel answers each with ICMP fragmentation
//!   needed (3/4, next-hop MTU 1400; its ICMP rate limit is off) before it would resolve
//!   the far neighbour. Asserted: `icmp/json` shows sender
//!   10.216.31.2, destination 10.216.31.1, MTU 1400 and as many messages as pings, an
//!   `mtu_icmp` event names them, and `paths/json` has the path MTU learnt for each far
//!   address (the quoted packets' destinations, `icmptoobighost`).
//! * Fragments (`fl16mb`): `ping -M dont -s 3000` to the router: each request leaves this
//!   host in 3 fragments (MTU 1500) and each reply comes back in 3; `fragments/json` counts
//!   them per direction.
//!
//! Needs root; otherwise it reports SKIPPED.

use crate::run_live_pcap::{missing, ok, sh, Link};
use crate::run_support;

use run_support::{temp_dir, Server};
use serde_json::Value;

/// 1,500-byte DF pings per VNI.
const BIG_PINGS: u64 = 20;
/// 1,428-byte DF pings on VNI 100 (fit the underlay).
const SMALL_PINGS: u64 = 10;
/// Far-link destinations each sent one 1,500-byte DF ping across the router's 1,400-byte
/// link.
const PROBE_PINGS: u64 = 10;
/// Non-DF 3,028-byte pings to the router (3 fragments each way).
const FRAG_PINGS: u64 = 5;
/// The app's smoothing time (`mtu.t`), s: decay negligible over the test.
const T: f64 = 600.0;

/// A namespace removed on drop (the far side of the router).
struct Ns(&'static str);

impl Drop for Ns {
    fn drop(&mut self) {
        let _ = sh(&["ip", "netns", "del", self.0]);
    }
}

fn in_ns(ns: &str, args: &[&str]) {
    let mut all = vec!["ip", "netns", "exec", ns];
    all.extend_from_slice(args);
    ok(&all);
}

/// `fl16-mtua` with an underlay of MTU 9000 and VXLAN devices for VNI 100 and 200.
fn overlay() -> Link {
    let link = Link::up("fl16-mtua", "fl16ma", "10.216.30");
    ok(&["ip", "link", "set", "fl16ma", "mtu", "9000"]);
    ok(&[
        "ip",
        "-n",
        "fl16-mtua",
        "link",
        "set",
        "eth0",
        "mtu",
        "9000",
    ]);
    for (dev, vni, addr, peer) in [
        ("vx100", "100", "10.1.0.1/25", "10.1.0.2"),
        ("vx200", "200", "10.1.0.129/25", "10.1.0.130"),
    ] {
        #[rustfmt::skip]
        ok(&["ip", "-n", "fl16-mtua", "link", "add", dev, "mtu", "1500", "type", "vxlan", "id",
            vni, "local", "10.216.30.2", "remote", "10.216.30.1", "dstport", "4789", "dev",
            "eth0"]);
        let v6 = format!("net.ipv6.conf.{dev}.disable_ipv6=1");
        in_ns("fl16-mtua", &["sysctl", "-qw", &v6]);
        ok(&["ip", "-n", "fl16-mtua", "addr", "add", addr, "dev", dev]);
        ok(&[
            "ip",
            "-n",
            "fl16-mtua",
            "link",
            "set",
            dev,
            "arp",
            "off",
            "up",
        ]);
        #[rustfmt::skip]
        ok(&["ip", "-n", "fl16-mtua", "neigh", "replace", peer, "lladdr", "02:00:00:00:00:02",
            "dev", dev, "nud", "permanent"]);
    }
    link
}

/// Router `fl16-mtur` (joined to this host by `fl16mb`) with a far link of MTU 1400 to
/// `fl16-mtuc`, and this host's route to the far link through it.
fn router() -> (Link, Ns) {
    let link = Link::up("fl16-mtur", "fl16mb", "10.216.31");
    let _ = sh(&["ip", "netns", "del", "fl16-mtuc"]);
    ok(&["ip", "netns", "add", "fl16-mtuc"]);
    let far = Ns("fl16-mtuc");
    #[rustfmt::skip]
    ok(&["ip", "-n", "fl16-mtur", "link", "add", "far", "mtu", "1400", "type", "veth", "peer",
        "name", "eth0", "mtu", "1400", "netns", "fl16-mtuc"]);
    for (ns, dev) in [("fl16-mtur", "far"), ("fl16-mtuc", "eth0")] {
        let v6 = format!("net.ipv6.conf.{dev}.disable_ipv6=1");
        in_ns(ns, &["sysctl", "-qw", &v6]);
    }
    in_ns("fl16-mtur", &["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
    in_ns("fl16-mtur", &["sysctl", "-qw", "net.ipv4.icmp_ratelimit=0"]);
    ok(&[
        "ip",
        "-n",
        "fl16-mtur",
        "addr",
        "add",
        "10.216.32.1/28",
        "dev",
        "far",
    ]);
    ok(&[
        "ip",
        "-n",
        "fl16-mtuc",
        "addr",
        "add",
        "10.216.32.2/28",
        "dev",
        "eth0",
    ]);
    ok(&["ip", "-n", "fl16-mtur", "link", "set", "far", "up"]);
    ok(&["ip", "-n", "fl16-mtuc", "link", "set", "eth0", "up"]);
    #[rustfmt::skip]
    ok(&["ip", "route", "replace", "10.216.32.0/28", "via", "10.216.31.2", "dev", "fl16mb"]);
    (link, far)
}

/// `ping` (in `ns`, or here) with `args` before the destination; no reply is expected for
/// most of them, so the exit status is not looked at: the frames are what counts.
fn ping(ns: Option<&str>, args: &[&str], count: u64, to: &str) {
    let mut cmd = std::process::Command::new(if ns.is_some() { "ip" } else { "ping" });
    if let Some(ns) = ns {
        cmd.args(["netns", "exec", ns, "ping"]);
    }
    let out = cmd
        .args(["-q", "-c"])
        .arg(count.to_string())
        .args(["-i", "0.01", "-W", "1"])
        .args(args)
        .arg(to)
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("invalid"),
        "ping {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Frames counted by a row's `frames` rate (× T).
fn count(row: &Value) -> u64 {
    (row["frames"].as_f64().unwrap() * T).round() as u64
}

fn rows<'a>(doc: &'a Value, pred: impl Fn(&Value) -> bool + 'a) -> Vec<&'a Value> {
    doc.as_array().unwrap().iter().filter(|r| pred(r)).collect()
}

fn has_event(doc: &Value, threshold: &str, key: &str) -> bool {
    doc.as_array()
        .unwrap()
        .iter()
        .any(|e| e["thresholdID"] == threshold && e["flowKey"] == key)
}

#[test]
fn mtu_app_names_oversize_tenants_and_icmp_next_hop_mtu() {
    if let Some(why) = missing() {
        eprintln!("SKIPPED run_mtu::mtu_app_names_oversize_tenants_and_icmp_next_hop_mtu: {why}");
        return;
    }
    let _overlay = overlay();
    let _router = router();
    let dir = temp_dir("mtu");
    let config = dir.join("flowlens.toml");
    std::fs::write(
        &config,
        format!(
            "builtin-apps = [\"mtu\"]\npcap = [\"fl16ma\", \"fl16mb\"]\n\
             [properties]\n\"mtu.underlay\" = \"1500\"\n\"mtu.vni.200\" = \"9000\"\n\
             \"tenants.vni.100\" = \"blue\"\n\"mtu.t\" = \"{T}\"\n\
             \"mtu.oversize.frames_per_sec\" = \"0.01\"\n\
             \"mtu.icmp.frames_per_sec\" = \"0.01\"\n\
             \"mtu.fragments.frames_per_sec\" = \"0.01\"\n"
        ),
    )
    .unwrap();
    let s = Server::start_with(&dir.join("state"), &["--config", config.to_str().unwrap()]);
    let base = "/app/mtu/scripts/mtu.js";

    let apps = s.get_json("/apps/json");
    assert_eq!(apps["mtu"]["entry"], "/html/", "{apps}");
    assert_eq!(apps["mtu"]["scripts"][0], "mtu.js", "{apps}");
    let page = s.get("/app/mtu/html/");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<h1>MTU</h1>"), "{}", page.body);
    let conf = s.get_json(&format!("{base}/config/json"));
    assert_eq!(conf["underlay_mtu_bytes"], 1500.0, "{conf}");
    assert_eq!(conf["segments"]["vni:200"], 9000.0, "{conf}");

    // The overlay: 1,500-byte DF packets on VNI 100 (too big) and 200 (fit 9000), 1,428-byte
    // ones on VNI 100 (fit 1500).
    ping(
        Some("fl16-mtua"),
        &["-M", "do", "-s", "1472"],
        BIG_PINGS,
        "10.1.0.2",
    );
    ping(
        Some("fl16-mtua"),
        &["-M", "do", "-s", "1400"],
        SMALL_PINGS,
        "10.1.0.2",
    );
    ping(
        Some("fl16-mtua"),
        &["-M", "do", "-s", "1472"],
        BIG_PINGS,
        "10.1.0.130",
    );
    // The router's 1,400-byte link: one DF ping to each of 10 far addresses, together.
    let probes: Vec<_> = (2..2 + PROBE_PINGS)
        .map(|i| {
            std::process::Command::new("ping")
                .args(["-q", "-c", "1", "-W", "1", "-M", "do", "-s", "1472"])
                .arg(format!("10.216.32.{i}"))
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for p in probes {
        let out = p.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("1 packets transmitted"), "{text}");
    }
    // Fragments to and from the router.
    ping(
        None,
        &["-M", "dont", "-s", "3000"],
        FRAG_PINGS,
        "10.216.31.2",
    );

    let blue = |r: &Value| r["segment"] == "vni:100" && r["ipsource"] == "10.1.0.1";
    let doc = s.wait_for(&format!("{base}/oversize/json"), |d| {
        rows(d, blue).first().is_some_and(|r| count(r) >= BIG_PINGS)
    });
    let over = doc.as_array().unwrap();
    assert_eq!(over.len(), 1, "only VNI 100's big pings: {doc}");
    let row = &over[0];
    assert_eq!(count(row), BIG_PINGS, "{doc}");
    assert_eq!(row["tenant"], "blue", "{doc}");
    assert_eq!(row["ipdestination"], "10.1.0.2", "{doc}");
    assert_eq!(row["mtu_bytes"], 1500.0, "{doc}");
    // Bytes are frames on the wire: the 1,500-byte inner packet, its Ethernet header and the
    // 50 bytes of VXLAN/UDP/IPv4 overhead, in an outer Ethernet frame: 1,564 bytes.
    let per_frame = row["bytes"].as_f64().unwrap() / row["frames"].as_f64().unwrap();
    assert!(
        (per_frame - 1564.0).abs() < 0.5,
        "bytes per frame {per_frame}: {doc}"
    );

    let events = s.wait_for("/events/json?maxEvents=1000", |d| {
        has_event(d, "mtu_oversize_vni", "100,10.1.0.1,10.1.0.2")
            && has_event(d, "mtu_icmp", "10.216.31.2,10.216.31.1,1400")
    });
    assert!(
        !events
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["flowKey"].as_str().unwrap_or("").starts_with("200,")),
        "{events}"
    );
    let app_events = s.get_json(&format!("{base}/events/json"));
    let named = rows(&app_events, |e| {
        e["kind"] == "oversize"
            && e["segment"] == "vni:100"
            && e["tenant"] == "blue"
            && e["ipsource"] == "10.1.0.1"
            && e["ipdestination"] == "10.1.0.2"
    });
    assert_eq!(named.len(), 1, "{app_events}");

    // The router's ICMP fragmentation needed, one per ping, with the next-hop MTU.
    let doc = s.wait_for(&format!("{base}/icmp/json"), |d| {
        rows(d, |r| r["mtu_bytes"] == 1400)
            .first()
            .is_some_and(|r| count(r) >= PROBE_PINGS)
    });
    let icmp = doc.as_array().unwrap();
    assert_eq!(icmp.len(), 1, "{doc}");
    assert_eq!(icmp[0]["sender"], "10.216.31.2", "{doc}");
    assert_eq!(icmp[0]["ipdestination"], "10.216.31.1", "{doc}");
    assert_eq!(count(&icmp[0]), PROBE_PINGS, "{doc}");
    // The path MTU learnt per path: this host to each far address, 1400, once each.
    let doc = s.wait_for(&format!("{base}/paths/json"), |d| {
        rows(d, |r| r["mtu_bytes"] == 1400).len() as u64 >= PROBE_PINGS
    });
    let mut far: Vec<String> = rows(&doc, |_| true)
        .iter()
        .map(|r| {
            assert_eq!(r["ipsource"], "10.216.31.1", "{doc}");
            assert_eq!(r["sender"], "10.216.31.2", "{doc}");
            assert_eq!(r["mtu_bytes"], 1400, "{doc}");
            assert_eq!(count(r), 1, "{doc}");
            r["ipdestination"].as_str().unwrap().to_string()
        })
        .collect();
    far.sort();
    let mut sent: Vec<String> = (2..2 + PROBE_PINGS)
        .map(|i| format!("10.216.32.{i}"))
        .collect();
    sent.sort();
    assert_eq!(far, sent, "{doc}");
    let named = rows(&s.get_json(&format!("{base}/events/json")), |e| {
        e["kind"] == "icmp" && e["sender"] == "10.216.31.2" && e["mtu_bytes"] == 1400
    })
    .len();
    assert_eq!(named, 1);

    // Fragments: 3 per request and 3 per reply.
    let pair = |src: &'static str| move |r: &Value| r["ipsource"] == src;
    let doc = s.wait_for(&format!("{base}/fragments/json"), |d| {
        rows(d, pair("10.216.31.1"))
            .first()
            .is_some_and(|r| count(r) >= 3 * FRAG_PINGS)
            && rows(d, pair("10.216.31.2"))
                .first()
                .is_some_and(|r| count(r) >= 3 * FRAG_PINGS)
    });
    assert_eq!(doc.as_array().unwrap().len(), 2, "{doc}");
    for (src, dst) in [
        ("10.216.31.1", "10.216.31.2"),
        ("10.216.31.2", "10.216.31.1"),
    ] {
        let r = rows(&doc, pair(src))[0];
        assert_eq!(r["ipdestination"], dst, "{doc}");
        assert_eq!(count(r), 3 * FRAG_PINGS, "{doc}");
    }

    // VNI 100's oversize flow, repeated, had no ICMP back to 10.1.0.1: a black-hole
    // suspicion; the ICMP the router sent went to 10.216.31.1, which sent no oversize flow.
    let doc = s.get_json(&format!("{base}/blackhole/json"));
    let suspects = doc.as_array().unwrap();
    assert_eq!(suspects.len(), 1, "{doc}");
    assert_eq!(suspects[0]["segment"], "vni:100", "{doc}");
    assert_eq!(suspects[0]["ipdestination"], "10.1.0.2", "{doc}");
}
