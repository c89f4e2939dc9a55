//! `flowlens run --bgp` against real BGP daemons from Debian, started by the test on loopback
//! (run_support/gobgp.rs, run_support/bird.rs):
//!
//! * a small ddos-protect-style script (setFlow, setThreshold, setEventHandler, bgpAddRoute,
//!   bgpAddFlow, as InMon's ddos-protect uses them) sees the flood of Open vSwitch's capture
//!   `sflow-ovs-br0.pcap` replayed over UDP cross its threshold and pushes an RTBH route
//!   (65535:666) and a FlowSpec drop rule for the victim 10.99.0.2; both appear in gobgpd's
//!   RIBs (`gobgp global rib`, `-a ipv4-flowspec`); gobgpd killed and restarted gets them again
//!   on the new session; both are withdrawn when the script removes them. The time from the
//!   threshold event to the route in gobgp's RIB is printed (BENCHMARKS.md);
//! * the REST endpoints `/bgp/routepusher/…` and `/bgp/flowspec/…` against gobgpd, IPv4 and
//!   IPv6, with rate-limit, marking and redirect actions;
//! * the same script with BIRD 2 as a passive neighbor flowlens connects to (an active
//!   session): the route in `birdc show route`, resolved over BIRD's blackhole route, again
//!   after BIRD restarts, and gone after removal;
//! * README.md's BGP curl lines, run with the real curl against gobgpd;
//! * garbage from a neighbor's address gets flowlens's NOTIFICATION and is counted; a
//!   connection from any other address is closed;
//! * without `--bgp` the REST endpoints answer 503 and the script functions throw.
//!
//! Waits poll with deadlines; nothing sleeps for synchronisation.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value as Json;

use crate::run_support::bird::Bird;
use crate::run_support::gobgp::{
    attrs, communities, free_tcp_port, own_loopback, poll, Gobgp, BLACKHOLE,
};
use crate::run_support::{exporter_capture, send_all, temp_dir, udp_payloads, Server};

/// The flood's victim in `sflow-ovs-br0.pcap` (82,770 of its ~98,000 sampled frames).
const VICTIM: &str = "10.99.0.2";
/// How long a BGP session may take to come up (gobgpd's first connection waits a little).
const SESSION_WITHIN: Duration = Duration::from_secs(40);
/// How long a route may take to show in a peer's RIB once pushed.
const ROUTE_WITHIN: Duration = Duration::from_secs(20);

/// The mitigation script: RTBH for every destination over 1,000 frames/s, and a FlowSpec
/// rule dropping its UDP when `ddos.flowspec` is `yes`; `?release=1` on its HTTP handler
/// removes everything and stops blocking.
const DDOS_JS: &str = r#"// A small ddos-protect: block destinations over a frames/s threshold with BGP.
var router = getSystemProperty('ddos.router');
var flowspec = getSystemProperty('ddos.flowspec') === 'yes';
var opts = {flowspec: flowspec};
var port = getSystemProperty('ddos.port');
if (port) { opts.active = true; opts.port = parseInt(port); opts.connectRetry = 1; }
var sessions = {opens: 0, closes: 0};
bgpAddNeighbor(router, '65000', '10.0.0.1', opts,
  function (peer) { sessions.opens++; }, function (peer) { sessions.closes++; });
setFlow('ddos_dst', {keys: 'ipdestination', value: 'frames', t: 2});
setThreshold('ddos_dst', {metric: 'ddos_dst', value: 1000, byFlow: true, timeout: 2});
var controls = {};
var released = false;
setEventHandler(function (evt) {
  var target = evt.flowKey;
  if (released || controls[target]) return;
  var ctl = {target: target, eventTime: evt.timestamp};
  ctl.route = bgpAddRoute(router, {prefix: target, nexthop: '192.0.2.1',
    communities: '65535:666', localpref: '100'});
  if (flowspec) {
    ctl.spec = {match: {destination: target, protocol: '=17'}, then: {'traffic-rate': 0}};
    ctl.flow = bgpAddFlow(router, ctl.spec);
  }
  ctl.addedTime = Date.now();
  controls[target] = ctl;
  logInfo('ddos: blocked ' + target);
}, ['ddos_dst']);
setHttpHandler(function (req) {
  if (req.query.release) {
    released = true;
    for (var t in controls) {
      controls[t].removed = bgpRemoveRoute(router, t);
      if (controls[t].spec) controls[t].removedFlow = bgpRemoveFlow(router, controls[t].spec);
    }
  }
  return {controls: controls, routes: bgpRouteCount(router), flows: bgpFlowCount(router),
    sessions: sessions};
});
"#;

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Starts flowlens with `--bgp` on a free loopback port and the ddos script.
fn start_flowlens(dir: &Path, props: &[String]) -> (Server, SocketAddr) {
    let script = dir.join("ddos.js");
    std::fs::write(&script, DDOS_JS).unwrap();
    let bgp = SocketAddr::from(([127, 0, 0, 1], free_tcp_port()));
    let bgp_s = bgp.to_string();
    let script_s = script.display().to_string();
    let mut extra: Vec<&str> = vec!["--bgp", &bgp_s, "--script", &script_s];
    for p in props {
        extra.push("--property");
        extra.push(p);
    }
    let server = Server::start_with(&dir.join("state"), &extra);
    (server, bgp)
}

/// Replays `sflow-ovs-br0.pcap` into the server's sFlow port, as fast as it takes them.
fn flood(server: &Server) {
    let payloads = udp_payloads(&exporter_capture("sflow-ovs-br0.pcap"));
    send_all(server.ports.sflow, &payloads, 100, |sent| {
        server.wait_for("/analyzer/json", |a| {
            a["datagramsReceived"].as_u64() >= Some(sent as u64)
        });
    });
}

fn neighbor<'a>(status: &'a Json, peer: &str) -> &'a Json {
    status["neighbors"]
        .as_array()
        .and_then(|a| a.iter().find(|n| n["peer"] == peer))
        .unwrap_or(&Json::Null)
}

#[test]
fn gobgp_gets_rtbh_and_flowspec_from_a_ddos_script_and_again_after_a_restart() {
    let dir = temp_dir("bgp-gobgp-ddos");
    let peer = own_loopback(71, 2);
    let (server, bgp) = start_flowlens(
        &dir,
        &[format!("ddos.router={peer}"), "ddos.flowspec=yes".into()],
    );
    let mut gobgp = Gobgp::start(&dir, peer, bgp);
    poll(SESSION_WITHIN, "gobgp session", || {
        gobgp.established().then_some(())
    });
    let status = server.get_json("/bgp/json");
    assert_eq!(
        neighbor(&status, &peer.to_string())["state"],
        "Established",
        "{status}"
    );
    assert_eq!(neighbor(&status, &peer.to_string())["mode"], "passive");

    // The flood crosses the threshold; the script's RTBH route reaches gobgp's RIB.
    let victim = format!("{VICTIM}/32");
    let started = Instant::now();
    // gobgp's RIB monitor stamps the moment gobgpd learns the route.
    let mut monitor = gobgp.monitor();
    let lines = BufReader::new(monitor.stdout.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    let needle = format!("\"{victim}\"");
    std::thread::spawn(move || {
        for line in lines.lines().map_while(Result::ok) {
            if line.contains(&needle) {
                let _ = tx.send(unix_ms());
                return;
            }
        }
    });
    let seen_ms = std::thread::scope(|s| {
        s.spawn(|| flood(&server));
        // None if the monitor subscribed too late to see it (a loaded machine): no figure then.
        rx.recv_timeout(ROUTE_WITHIN + Duration::from_secs(30)).ok()
    });
    let _ = monitor.kill();
    let _ = monitor.wait();
    poll(ROUTE_WITHIN, "RTBH route in gobgp", || {
        attrs(&gobgp.rib("ipv4"), &victim).map(|_| ())
    });
    let rib = gobgp.rib("ipv4");
    let a = attrs(&rib, &victim).unwrap();
    assert!(communities(a).contains(&BLACKHOLE), "{a}");
    assert!(
        a.as_array()
            .unwrap()
            .iter()
            .any(|x| x["type"] == 3 && x["nexthop"] == "192.0.2.1"),
        "{a}"
    );
    assert!(
        a.as_array()
            .unwrap()
            .iter()
            .any(|x| x["type"] == 5 && x["value"] == 100),
        "{a}"
    );
    let fs_key = poll(ROUTE_WITHIN, "FlowSpec rule in gobgp", || {
        gobgp
            .rib("ipv4-flowspec")
            .keys()
            .find(|k| k.contains(&victim) && k.contains("==udp"))
            .cloned()
    });
    let fs = gobgp.rib("ipv4-flowspec");
    let fa = attrs(&fs, &fs_key).unwrap().to_string();
    assert!(
        fa.contains(r#""type":16"#) && fa.contains(r#""subtype":6"#) && fa.contains(r#""rate":0"#),
        "traffic-rate 0 (discard) expected: {fa}"
    );

    // The figures of BENCHMARKS.md: event (engine clock) → route seen in gobgp's RIB.
    let ctl = server.get_json("/script/ddos.js/json");
    let c = &ctl["controls"][VICTIM];
    assert_eq!(c["route"], true, "{ctl}");
    assert_eq!(c["flow"], true, "{ctl}");
    let event_ms = c["eventTime"].as_u64().unwrap();
    let added_ms = c["addedTime"].as_u64().unwrap();
    assert!(added_ms >= event_ms, "{ctl}");
    match seen_ms {
        Some(seen) => eprintln!(
            "bgp latency: threshold event -> bgpAddRoute/bgpAddFlow returned {} ms; \
             event -> route in gobgp's RIB (gobgp monitor) {} ms; flood start -> route seen {} ms",
            added_ms - event_ms,
            seen.saturating_sub(event_ms),
            started.elapsed().as_millis()
        ),
        None => eprintln!("bgp latency: the RIB monitor missed the route; no figure"),
    }

    // gobgpd dies and comes back: the new session gets the routes again.
    gobgp.kill();
    server.wait_for("/bgp/json", |s| {
        neighbor(s, &peer.to_string())["state"] != "Established"
    });
    gobgp.restart();
    poll(SESSION_WITHIN, "gobgp session again", || {
        gobgp.established().then_some(())
    });
    poll(ROUTE_WITHIN, "RTBH route re-announced", || {
        attrs(&gobgp.rib("ipv4"), &victim).map(|_| ())
    });
    poll(ROUTE_WITHIN, "FlowSpec rule re-announced", || {
        gobgp
            .rib("ipv4-flowspec")
            .contains_key(&fs_key)
            .then_some(())
    });
    let status = server.get_json("/bgp/json");
    let n = neighbor(&status, &peer.to_string());
    assert_eq!(n["established"], 2, "{n}");
    // The script's onOpen/onClose callbacks saw the restart (they run before its handlers).
    let sessions = server.get_json("/script/ddos.js/json")["sessions"].clone();
    assert_eq!(
        sessions,
        serde_json::json!({"opens": 2, "closes": 1}),
        "{sessions}"
    );
    assert!(n["events"].as_array().unwrap().len() >= 3, "{n}");

    // The script removes its controls: both are withdrawn.
    let ctl = server.get_json("/script/ddos.js/json?release=1");
    assert_eq!(ctl["controls"][VICTIM]["removed"], true, "{ctl}");
    assert_eq!(ctl["controls"][VICTIM]["removedFlow"], true, "{ctl}");
    assert_eq!(ctl["routes"], 0, "{ctl}");
    assert_eq!(ctl["flows"], 0, "{ctl}");
    poll(ROUTE_WITHIN, "RTBH route withdrawn", || {
        attrs(&gobgp.rib("ipv4"), &victim).is_none().then_some(())
    });
    poll(ROUTE_WITHIN, "FlowSpec rule withdrawn", || {
        gobgp.rib("ipv4-flowspec").is_empty().then_some(())
    });

    // Counters in Prometheus form.
    let prom = server.get("/prometheus/bgp/txt").body;
    assert!(
        prom.contains(&format!("flowlens_bgp_established{{peer=\"{peer}\"}} 1")),
        "{prom}"
    );
    assert!(prom.contains("flowlens_bgp_updates_out"), "{prom}");
    assert!(!gobgp.log().is_empty());
}

#[test]
fn rest_routepusher_and_flowspec_reach_gobgp() {
    let dir = temp_dir("bgp-gobgp-rest");
    let peer = own_loopback(72, 2);
    let script = dir.join("neighbor.js");
    std::fs::write(
        &script,
        format!(
            "bgpAddNeighbor('{peer}', 65000, '10.0.0.1', \
             {{ipv6: true, flowspec: true, flowspec6: true}});\n"
        ),
    )
    .unwrap();
    let bgp = SocketAddr::from(([127, 0, 0, 1], free_tcp_port()));
    let server = Server::start_with(
        &dir.join("state"),
        &[
            "--bgp",
            &bgp.to_string(),
            "--script",
            script.to_str().unwrap(),
        ],
    );
    let gobgp = Gobgp::start(&dir, peer, bgp);
    poll(SESSION_WITHIN, "gobgp session", || {
        gobgp.established().then_some(())
    });
    let base = format!("/bgp/routepusher/{peer}");
    let r = server.put_json(
        &format!("{base}/203.0.113.0/24/json"),
        r#"{"nexthop":"192.0.2.1","communities":"65535:666 65000:7","localpref":200,"med":5}"#,
    );
    assert_eq!(r.status, 204, "{}", r.body);
    let r = server.put_json(
        &format!("{base}/2001:db8:1::/48/json"),
        r#"{"nexthop":"100::1","communities":"blackhole"}"#,
    );
    assert_eq!(r.status, 204, "{}", r.body);
    let listed = server.get_json(&format!("{base}/json"));
    assert_eq!(
        listed,
        serde_json::json!(["203.0.113.0/24", "2001:db8:1::/48"])
    );
    let one = server.get_json(&format!("{base}/203.0.113.0/24/json"));
    assert_eq!(one["communities"], "65535:666 65000:7", "{one}");

    let v4 = poll(ROUTE_WITHIN, "IPv4 route in gobgp", || {
        let rib = gobgp.rib("ipv4");
        attrs(&rib, "203.0.113.0/24").cloned()
    });
    assert_eq!(communities(&v4), [BLACKHOLE, 0xFDE8_0007], "{v4}");
    assert!(v4.to_string().contains(r#"{"type":5,"value":200}"#), "{v4}");
    assert!(v4.to_string().contains(r#"{"type":4,"metric":5}"#), "{v4}");
    let v6 = poll(ROUTE_WITHIN, "IPv6 route in gobgp", || {
        let rib = gobgp.rib("ipv6");
        attrs(&rib, "2001:db8:1::/48").cloned()
    });
    assert_eq!(communities(&v6), [BLACKHOLE], "{v6}");
    assert!(v6.to_string().contains("100::1"), "{v6}");

    let fs_url = format!("/bgp/flowspec/{peer}/json");
    let limit = r#"{"match":{"destination":"198.51.100.0/24","source-port":"=53","protocol":"udp",
        "length":">=1000","fragment":"I"},"then":{"traffic-rate":12500}}"#;
    let mark = r#"{"match":{"destination":"2001:db8::7","protocol":"6","tcp-flags":"=S",
        "destination-port":">=1024&<=2048"},"then":{"traffic-marking":"le"}}"#;
    let redirect = r#"{"match":{"destination":"198.51.100.9","icmp-type":"8","protocol":"1"},
        "then":{"redirect-as":"65000:666"}}"#;
    for body in [limit, mark, redirect] {
        let r = server.put_json(&fs_url, body);
        assert_eq!(r.status, 204, "{}", r.body);
    }
    assert_eq!(server.get_json(&fs_url).as_array().unwrap().len(), 3);
    let v4fs = poll(ROUTE_WITHIN, "IPv4 flow specs in gobgp", || {
        let rib = gobgp.rib("ipv4-flowspec");
        (rib.len() == 2).then_some(rib)
    });
    let text = serde_json::to_string(&v4fs).unwrap();
    assert!(text.contains("[source-port: ==53]"), "{text}");
    assert!(text.contains("[packet-length: >=1000]"), "{text}");
    assert!(text.contains("is-fragment"), "{text}");
    assert!(text.contains(r#""rate":12500"#), "{text}");
    assert!(text.contains("[icmp-type: ==8]"), "{text}");
    assert!(text.contains(r#""subtype":8"#), "redirect: {text}");
    let v6fs = poll(ROUTE_WITHIN, "IPv6 flow spec in gobgp", || {
        let rib = gobgp.rib("ipv6-flowspec");
        (rib.len() == 1).then_some(rib)
    });
    let text = serde_json::to_string(&v6fs).unwrap();
    assert!(text.contains("[destination-port: >=1024&<=2048]"), "{text}");
    assert!(text.contains(r#""subtype":9,"value":1"#), "{text}");

    // Removal withdraws.
    let r = server.delete(&format!("{base}/203.0.113.0/24/json"));
    assert_eq!(r.status, 204, "{}", r.body);
    let r = server.request("DELETE", &fs_url, Some(limit));
    assert_eq!(r.status, 204, "{}", r.body);
    poll(ROUTE_WITHIN, "IPv4 route withdrawn", || {
        attrs(&gobgp.rib("ipv4"), "203.0.113.0/24")
            .is_none()
            .then_some(())
    });
    poll(ROUTE_WITHIN, "IPv4 flow spec withdrawn", || {
        (gobgp.rib("ipv4-flowspec").len() == 1).then_some(())
    });
    assert!(attrs(&gobgp.rib("ipv6"), "2001:db8:1::/48").is_some());

    // Errors: unknown router 404, bad bodies 400, unknown route 404.
    let r = server.put_json(
        "/bgp/routepusher/192.0.2.99/10.0.0.0/8/json",
        r#"{"nexthop":"192.0.2.1"}"#,
    );
    assert_eq!(r.status, 404, "{}", r.body);
    let r = server.put_json(
        &format!("{base}/10.0.0.0/8/json"),
        r#"{"communities":"1:1"}"#,
    );
    assert_eq!(r.status, 400, "{}", r.body);
    let r = server.put_json(
        &format!("{base}/10.0.0.0/33/json"),
        r#"{"nexthop":"192.0.2.1"}"#,
    );
    assert_eq!(r.status, 400, "{}", r.body);
    let r = server.put_json(&fs_url, r#"{"match":{"colour":"red"}}"#);
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(
        server.delete(&format!("{base}/10.0.0.0/8/json")).status,
        404
    );
    let status = server.get_json("/bgp/json");
    let n = neighbor(&status, &peer.to_string());
    assert_eq!(n["routes"], 1, "{n}");
    assert_eq!(n["flows"], 2, "{n}");
    assert_eq!(n["errors"], 0, "{n}");
}

#[test]
fn bird_gets_rtbh_over_an_active_session_and_again_after_a_restart() {
    let dir = temp_dir("bgp-bird");
    let addr = own_loopback(73, 3);
    let port = free_tcp_port();
    let mut bird = Bird::start(&dir, addr, port, std::net::Ipv4Addr::LOCALHOST);
    let (server, _bgp) = start_flowlens(
        &dir,
        &[format!("ddos.router={addr}"), format!("ddos.port={port}")],
    );
    poll(SESSION_WITHIN, "BIRD session", || {
        bird.established().then_some(())
    });
    let status = server.get_json("/bgp/json");
    assert_eq!(
        neighbor(&status, &addr.to_string())["mode"],
        "active",
        "{status}"
    );

    let victim = format!("{VICTIM}/32");
    flood(&server);
    let route = poll(ROUTE_WITHIN, "RTBH route in BIRD", || {
        Some(bird.route(&victim)).filter(|r| !r.is_empty())
    });
    assert!(route.contains("BGP.community: (65535,666)"), "{route}");
    assert!(route.contains("BGP.next_hop: 192.0.2.1"), "{route}");
    // Resolved over BIRD's own blackhole route to the RTBH next hop.
    assert!(
        route.contains(&format!("{victim}         blackhole")),
        "{route}"
    );

    bird.restart();
    poll(SESSION_WITHIN, "BIRD session again", || {
        bird.established().then_some(())
    });
    poll(ROUTE_WITHIN, "RTBH route re-announced to BIRD", || {
        Some(bird.route(&victim)).filter(|r| !r.is_empty())
    });

    let ctl = server.get_json("/script/ddos.js/json?release=1");
    assert_eq!(ctl["routes"], 0, "{ctl}");
    poll(ROUTE_WITHIN, "RTBH route withdrawn from BIRD", || {
        bird.route(&victim).is_empty().then_some(())
    });
    assert!(bird.log().contains("Started"));
}

#[test]
fn without_bgp_the_api_says_it_is_off() {
    let dir = temp_dir("bgp-off");
    let script = dir.join("try.js");
    std::fs::write(
        &script,
        "var err = null;\n\
         try { bgpAddNeighbor('127.0.0.2', 65000, '10.0.0.1'); } catch (e) { err = '' + e; }\n\
         setHttpHandler(function () { return {error: err}; });\n",
    )
    .unwrap();
    let server = Server::start_with(&dir.join("state"), &["--script", script.to_str().unwrap()]);
    let r = server.get("/bgp/json");
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(r.body.contains("--bgp"), "{}", r.body);
    let e = server.get_json("/script/try.js/json");
    assert!(
        e["error"].as_str().is_some_and(|s| s.contains("--bgp")),
        "{e}"
    );
}

/// The `curl` lines of README.md's BGP section, joined across `\` continuations, with its
/// comments dropped.
fn readme_bgp_curls() -> Vec<String> {
    let readme = std::fs::read_to_string(crate::common::workspace_dir().join("README.md")).unwrap();
    let section = readme
        .split("\n## Mitigation with BGP")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("README has a BGP section");
    let block = section
        .split("Over REST")
        .nth(1)
        .and_then(|s| s.split("```sh\n").nth(1))
        .and_then(|s| s.split("```").next())
        .expect("README's BGP section has a REST example block");
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in block.lines() {
        let line = line.split(" # ").next().unwrap_or("").trim_end();
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(part) => cur.push_str(part),
            None => {
                cur.push_str(line);
                out.push(std::mem::take(&mut cur));
            }
        }
    }
    out
}

#[test]
fn readme_bgp_curl_examples_work_against_gobgp() {
    let dir = temp_dir("bgp-readme");
    let peer = own_loopback(74, 2);
    let script = dir.join("neighbor.js");
    std::fs::write(
        &script,
        format!("bgpAddNeighbor('{peer}', '65000', '10.0.0.70', {{flowspec: true}});\n"),
    )
    .unwrap();
    let bgp = SocketAddr::from(([127, 0, 0, 1], free_tcp_port()));
    let server = Server::start_with(
        &dir.join("state"),
        &[
            "--bgp",
            &bgp.to_string(),
            "--script",
            script.to_str().unwrap(),
        ],
    );
    let gobgp = Gobgp::start(&dir, peer, bgp);
    poll(SESSION_WITHIN, "gobgp session", || {
        gobgp.established().then_some(())
    });
    let curls = readme_bgp_curls();
    assert!(curls.len() >= 8, "{curls:?}");
    let host = format!("http://{}", server.ports.http);
    for cmd in &curls {
        let real = cmd
            .replace("http://localhost:8008", &host)
            .replace("/10.0.0.1/", &format!("/{peer}/"))
            .replacen("curl ", "curl -sS --fail-with-body ", 1);
        let out = std::process::Command::new("sh")
            .args(["-c", &real])
            .output()
            .unwrap();
        let body = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{real}: {body} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let put = cmd.contains("-X PUT");
        let delete = cmd.contains("-X DELETE");
        if cmd.contains("routepusher") && put {
            let a = poll(ROUTE_WITHIN, "README's RTBH route in gobgp", || {
                attrs(&gobgp.rib("ipv4"), "203.0.113.7/32").cloned()
            });
            assert_eq!(communities(&a), [BLACKHOLE], "{a}");
        } else if cmd.contains("routepusher") && delete {
            poll(ROUTE_WITHIN, "README's RTBH route withdrawn", || {
                attrs(&gobgp.rib("ipv4"), "203.0.113.7/32")
                    .is_none()
                    .then_some(())
            });
        } else if cmd.contains("routepusher") {
            assert_eq!(body.trim(), r#"["203.0.113.7/32"]"#, "{real}");
        } else if cmd.contains("flowspec") && put {
            let rib = poll(ROUTE_WITHIN, "README's flow spec in gobgp", || {
                Some(gobgp.rib("ipv4-flowspec")).filter(|r| !r.is_empty())
            });
            let text = serde_json::to_string(&rib).unwrap();
            assert!(
                text.contains("203.0.113.7/32")
                    && text.contains("[source-port: ==53]")
                    && text.contains(r#""rate":12500"#),
                "{text}"
            );
        } else if cmd.contains("flowspec") && delete {
            poll(ROUTE_WITHIN, "README's flow spec withdrawn", || {
                gobgp.rib("ipv4-flowspec").is_empty().then_some(())
            });
        } else if cmd.contains("flowspec") {
            let v: Json = serde_json::from_str(&body).unwrap();
            assert_eq!(v.as_array().map(Vec::len), Some(1), "{body}");
        } else if cmd.contains("/bgp/json") {
            let v: Json = serde_json::from_str(&body).unwrap();
            assert_eq!(
                neighbor(&v, &peer.to_string())["state"],
                "Established",
                "{v}"
            );
        } else if cmd.contains("prometheus") {
            assert!(body.contains("flowlens_bgp_established"), "{body}");
        } else {
            panic!("README curl line not checked: {cmd}");
        }
    }
}

/// Connects to `to` from `from` (a loopback address of the test's own).
fn connect_from(from: std::net::Ipv4Addr, to: SocketAddr) -> std::net::TcpStream {
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    s.bind(&SocketAddr::from((from, 0)).into()).unwrap();
    s.connect(&to.into()).unwrap();
    s.into()
}

#[test]
fn garbage_from_a_peer_gets_a_notification_and_is_counted() {
    use std::io::{Read, Write};
    let dir = temp_dir("bgp-garbage");
    let peer = own_loopback(75, 2);
    let script = dir.join("neighbor.js");
    std::fs::write(
        &script,
        format!("bgpAddNeighbor('{peer}', 65000, '10.0.0.1');\n"),
    )
    .unwrap();
    let bgp = SocketAddr::from(([127, 0, 0, 1], free_tcp_port()));
    let server = Server::start_with(
        &dir.join("state"),
        &[
            "--bgp",
            &bgp.to_string(),
            "--script",
            script.to_str().unwrap(),
        ],
    );
    server.wait_for("/bgp/json", |s| {
        neighbor(s, &peer.to_string())["state"] == "Active"
    });

    // From the neighbor's address: flowlens's OPEN, then a NOTIFICATION for the bad marker
    // (1/1, RFC 4271 §6.1), then the connection closes.
    let mut c = connect_from(peer, bgp);
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    c.write_all(&[0u8; 40]).unwrap();
    let mut got = Vec::new();
    c.read_to_end(&mut got).unwrap();
    let open_len = usize::from(u16::from_be_bytes([got[16], got[17]]));
    assert_eq!(got[18], 1, "OPEN first: {got:?}");
    let notification = &got[open_len..];
    assert_eq!(&notification[16..21], &[0, 21, 3, 1, 1], "{got:?}");
    let s = server.wait_for("/bgp/json", |s| {
        neighbor(s, &peer.to_string())["state"] == "Active"
    });
    let n = neighbor(&s, &peer.to_string());
    assert_eq!(n["errors"], 1, "{n}");
    assert_eq!(n["notificationsOut"], 1, "{n}");

    // From an address that is no neighbor: closed at once, counted.
    let mut c = connect_from(own_loopback(75, 9), bgp);
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut got = Vec::new();
    let _ = c.read_to_end(&mut got);
    assert!(got.is_empty(), "{got:?}");
    server.wait_for("/bgp/json", |s| s["unknownPeers"] == 1);
}
