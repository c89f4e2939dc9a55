//! The built-in `tenants` app (`flowlens run --builtin-app tenants`) on real VXLAN traffic the
//! test makes: two tenants, VNI 100 ("blue") and VNI 200 ("red"), each in its own namespace
//! with a Linux VXLAN device on the same overlay subnet 10.0.0.0/24 and the same host address
//! 10.0.0.1; blue pings 10.0.0.2, red pings 10.0.0.3 (static neighbours: no ARP, no
//! replies, so each echo request is one frame). flowlens captures both underlay veths
//! (`--pcap`, every packet) and the app must keep the overlapping address spaces apart:
//! per tenant, its own segment, its own flow, and as many frames as it sent.
//!
//! Needs root; otherwise it reports SKIPPED.

use crate::run_live_pcap::{missing, ok, Link};
use crate::run_support;

use run_support::{temp_dir, Server};
use serde_json::Value;

/// Echo requests sent by each tenant.
const BLUE_PINGS: u64 = 20;
const RED_PINGS: u64 = 30;
/// SYNs blue sends to 10.0.0.2:80 (the tcp app's services per tenant).
const SYNS: u64 = 10;
/// The app's smoothing time (`tenants.t`), s: decay negligible over the test.
const T: f64 = 600.0;
/// The app's event threshold (`tenants.flow_threshold_bytes`), bytes/s: red's pings (30
/// frames of 148 bytes on the underlay, over T: 7.4) cross it, blue's (20: 4.9) do not.
const THRESHOLD: f64 = 6.0;

/// Namespace `ns` joined to this host by `host_if` (underlay `net.1`/`net.2`), with VXLAN
/// device `vx` of VNI `vni` towards `net.1` holding overlay address 10.0.0.1/24, and a
/// static neighbour `peer` (so that pings leave without ARP).
fn tenant(ns: &'static str, host_if: &'static str, net: &str, vni: u32, peer: &str) -> Link {
    let link = Link::up(ns, host_if, net);
    let vni = vni.to_string();
    let (local, remote) = (format!("{net}.2"), format!("{net}.1"));
    #[rustfmt::skip]
    ok(&["ip", "-n", ns, "link", "add", "vx0", "type", "vxlan", "id", &vni, "local", &local,
        "remote", &remote, "dstport", "4789", "dev", "eth0"]);
    ok(&[
        "ip",
        "netns",
        "exec",
        ns,
        "sysctl",
        "-qw",
        "net.ipv6.conf.vx0.disable_ipv6=1",
    ]);
    ok(&["ip", "-n", ns, "addr", "add", "10.0.0.1/24", "dev", "vx0"]);
    ok(&["ip", "-n", ns, "link", "set", "vx0", "arp", "off", "up"]);
    #[rustfmt::skip]
    ok(&["ip", "-n", ns, "neigh", "replace", peer, "lladdr", "02:00:00:00:00:02", "dev", "vx0",
        "nud", "permanent"]);
    link
}

fn ping(ns: &str, to: &str, count: u64) {
    // No replies come back (the remote VTEP is this host, which has no VXLAN device): ping's
    // exit status says so; the frames are what counts.
    let _ = std::process::Command::new("ip")
        .args(["netns", "exec", ns, "ping", "-q", "-c"])
        .arg(count.to_string())
        .args(["-i", "0.01", "-W", "1", to])
        .output()
        .unwrap();
}

fn tenant_row<'a>(doc: &'a Value, name: &str) -> Option<&'a Value> {
    doc.as_array()?.iter().find(|t| t["tenant"] == name)
}

fn frames(doc: &Value, name: &str) -> u64 {
    tenant_row(doc, name).map_or(0, |t| (t["frames"].as_f64().unwrap() * T).round() as u64)
}

#[test]
fn tenants_with_overlapping_addresses_are_kept_apart() {
    if let Some(why) = missing() {
        eprintln!("SKIPPED run_tenants::tenants_with_overlapping_addresses_are_kept_apart: {why}");
        return;
    }
    let _blue = tenant("fl16-blue", "fl16tb", "10.216.10", 100, "10.0.0.2");
    let _red = tenant("fl16-red", "fl16tr", "10.216.11", 200, "10.0.0.3");
    let dir = temp_dir("tenants");
    let config = dir.join("flowlens.toml");
    std::fs::write(
        &config,
        format!(
            "builtin-apps = [\"tenants\", \"tcp\"]\npcap = [\"fl16tb\", \"fl16tr\"]\n\
             [properties]\n\"tenants.vni.100\" = \"blue\"\n\"tenants.vni.200\" = \"red\"\n\
             \"tenants.t\" = \"{T}\"\n\"tcp.t\" = \"{T}\"\n\"tenants.flow_threshold_bytes\" = \"{THRESHOLD}\"\n"
        ),
    )
    .unwrap();
    let s = Server::start_with(&dir.join("state"), &["--config", config.to_str().unwrap()]);
    let base = "/app/tenants/scripts/tenants.js";

    // The app runs, is listed with its page, and says the configured map.
    let apps = s.get_json("/apps/json");
    assert_eq!(apps["tenants"]["entry"], "/html/", "{apps}");
    assert_eq!(apps["tenants"]["scripts"][0], "tenants.js", "{apps}");
    let map = s.get_json(&format!("{base}/map/json"));
    assert_eq!(
        map,
        serde_json::json!({"vni:100": "blue", "vni:200": "red"})
    );
    let page = s.get("/app/tenants/html/");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<h1>Tenants</h1>"), "{}", page.body);

    ping("fl16-blue", "10.0.0.2", BLUE_PINGS);
    ping("fl16-red", "10.0.0.3", RED_PINGS);
    let doc = s.wait_for(&format!("{base}/tenants/json"), |d| {
        frames(d, "blue") >= BLUE_PINGS && frames(d, "red") >= RED_PINGS
    });
    let blue = tenant_row(&doc, "blue").unwrap();
    let red = tenant_row(&doc, "red").unwrap();
    assert_eq!(frames(&doc, "blue"), BLUE_PINGS, "{doc}");
    assert_eq!(frames(&doc, "red"), RED_PINGS, "{doc}");
    assert_eq!(blue["segments"], serde_json::json!(["vni:100"]), "{doc}");
    assert_eq!(red["segments"], serde_json::json!(["vni:200"]), "{doc}");
    assert_eq!(blue["named"], true);
    assert_eq!(blue["flows"], 1, "{doc}");
    assert_eq!(red["flows"], 1, "{doc}");
    assert_eq!(blue["crossing"], 0, "{doc}");
    // Red sent more frames of the same size: it comes first.
    assert_eq!(doc[0]["tenant"], "red", "{doc}");
    assert_eq!(doc.as_array().unwrap().len(), 2, "{doc}");

    // 10.0.0.1 is in both tenants, each with its own destination.
    for (name, dst) in [("blue", "10.0.0.2"), ("red", "10.0.0.3")] {
        let flows = s.get_json(&format!("{base}/flows/json?tenant={name}"));
        let f = flows.as_array().unwrap();
        assert_eq!(f.len(), 1, "{flows}");
        assert_eq!(f[0]["ipsource"], "10.0.0.1", "{flows}");
        assert_eq!(f[0]["ipdestination"], dst, "{flows}");
        assert_eq!(f[0]["ipprotocol"], 1, "{flows}");
    }
    assert_eq!(
        s.get_json(&format!("{base}/crossing/json")),
        serde_json::json!([])
    );

    // Red's flow crossed the threshold: one event in the usual stream naming VNI 200 and its
    // hosts, and in the app's list with the tenant's name; blue's did not.
    let events = s.wait_for("/events/json", |e| {
        e.as_array()
            .is_some_and(|a| a.iter().any(|e| e["thresholdID"] == "tenants_vni_bytes"))
    });
    let ours: Vec<&Value> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["thresholdID"] == "tenants_vni_bytes")
        .collect();
    assert_eq!(ours.len(), 1, "{events}");
    assert_eq!(ours[0]["flowKey"], "200,10.0.0.1,10.0.0.3,1", "{events}");
    let app_events = s.get_json(&format!("{base}/events/json"));
    assert_eq!(app_events[0]["tenant"], "red", "{app_events}");
    assert_eq!(app_events[0]["segment"], "vni:200", "{app_events}");
    assert_eq!(app_events.as_array().unwrap().len(), 1, "{app_events}");

    // The tcp app keeps services per tenant too: blue's SYNs to 10.0.0.2:80 (inside VNI 100;
    // no answer comes back) are blue's service, named from the same map.
    // hping3 exits 1 when nothing answers, as here: the captured SYNs are what counts.
    let _ = std::process::Command::new("ip")
        .args([
            "netns",
            "exec",
            "fl16-blue",
            "hping3",
            "-q",
            "-S",
            "-p",
            "80",
            "-c",
        ])
        .arg(SYNS.to_string())
        .args(["-i", "u10000", "10.0.0.2"])
        .output()
        .unwrap();
    let tcp = "/app/tcp/scripts/tcp.js/services/json?tenant=blue";
    let services = s.wait_for(tcp, |d| {
        d[0]["syn"]
            .as_f64()
            .is_some_and(|v| (v * T).round() as u64 >= SYNS)
    });
    assert_eq!(services.as_array().unwrap().len(), 1, "{services}");
    let svc = &services[0];
    assert_eq!(svc["segment"], "vni:100", "{services}");
    assert_eq!(svc["ipaddress"], "10.0.0.2", "{services}");
    assert_eq!(svc["port"], 80, "{services}");
    assert_eq!(
        (svc["syn"].as_f64().unwrap() * T).round() as u64,
        SYNS,
        "{services}"
    );
    assert_eq!(svc["synack"], 0.0, "{services}");
    let red = s.get_json("/app/tcp/scripts/tcp.js/services/json?tenant=red");
    assert_eq!(red, serde_json::json!([]));

    // A name set over REST replaces the configured one; a bad segment is refused.
    let r = s.put(&format!("{base}/map/json"), r#"{"vni:200": "green"}"#);
    assert_eq!(r.status, 200, "{}", r.body);
    let doc = s.get_json(&format!("{base}/tenants/json"));
    assert!(tenant_row(&doc, "green").is_some(), "{doc}");
    assert!(tenant_row(&doc, "red").is_none(), "{doc}");
    let r = s.put(&format!("{base}/map/json"), r#"{"vni:abc": "x"}"#);
    assert_eq!(r.status, 400, "{}", r.body);
}

/// Built-in apps run only when asked for, and an app of the same name in the apps directory
/// is the operator's: it runs instead, with its own page.
#[test]
fn builtin_apps_are_opt_in_and_the_apps_directory_replaces_them() {
    let dir = temp_dir("tenants-replaced");
    let s = Server::start(&dir.join("plain"));
    let apps = s.get_json("/apps/json");
    assert!(apps.get("tenants").is_none(), "{apps}");
    drop(s);

    let own = dir.join("apps/tenants");
    std::fs::create_dir_all(own.join("scripts")).unwrap();
    std::fs::create_dir_all(own.join("html")).unwrap();
    std::fs::write(
        own.join("scripts/tenants.js"),
        "setHttpHandler(function (req) { return {mine: true}; });\n",
    )
    .unwrap();
    std::fs::write(own.join("html/index.html"), "<p>my tenants</p>\n").unwrap();
    let s = Server::start_with(
        &dir.join("state"),
        &[
            "--builtin-app",
            "tenants",
            "--apps-dir",
            dir.join("apps").to_str().unwrap(),
        ],
    );
    let base = "/app/tenants/scripts/tenants.js";
    assert_eq!(
        s.get_json(&format!("{base}/map/json")),
        serde_json::json!({"mine": true})
    );
    assert_eq!(s.get("/app/tenants/html/").body, "<p>my tenants</p>\n");
    let status = s.get_json("/scripts/json");
    assert_eq!(status.as_array().unwrap().len(), 1, "{status}");
    // Without `--apps-dir`'s app, the built-in one answers (and is not left over on disk
    // from the last start: each start writes what it runs).
    drop(s);
    let s = Server::start_with(&dir.join("state"), &["--builtin-app", "tenants"]);
    assert_eq!(
        s.get_json(&format!("{base}/map/json")),
        serde_json::json!({})
    );
    assert!(s
        .get("/app/tenants/html/")
        .body
        .contains("<h1>Tenants</h1>"));
}
