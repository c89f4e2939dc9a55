//! The REST API of `flowlens run`: the articles' curl bodies are accepted as written, writes
//! answer 204, bad input 400 with a message, unknown names 404, long-polls wait and wake.

use crate::common;
use crate::run_support;

use std::time::{Duration, Instant};

use run_support::{exporter_capture, send_all, temp_dir, udp_payloads, Server};
use serde_json::json;

#[test]
fn seed_curl_body_is_accepted_as_written() {
    if common::shared_file_or_skip(
        "run_api::seed_curl_body_is_accepted_as_written",
        "sflow-rt-scripts",
    )
    .is_none()
    {
        return;
    }
    let dir = temp_dir("api-seed");
    let s = Server::start(&dir);
    // sflow-rt-scripts/README.md:
    // curl -H "Content-Type:application/json" -X PUT \
    //   --data "{keys:'icmpunreachableport', value:'frames', t:20}" \
    //   http://localhost:8008/flow/uports/json
    let r = s.put_json(
        "/flow/uports/json",
        "{keys:'icmpunreachableport', value:'frames', t:20}",
    );
    assert_eq!((r.status, r.body.as_str()), (204, ""));
    let f = s.get_json("/flow/uports/json");
    assert_eq!(f["keys"], "icmpunreachableport", "{f}");
    assert_eq!(f["value"], "frames", "{f}");
    assert_eq!(f["t"].as_f64(), Some(20.0), "{f}");
    // curl's default content type for --data, and strict JSON, work as well.
    let r = s.put(
        "/flow/uhosts/json",
        "{keys:'icmpunreachablehost', value:'frames'}",
    );
    assert_eq!(r.status, 204, "{}", r.body);
    let r = s.put_json(
        "/flow/pair/json",
        r#"{"keys":"ipsource,ipdestination","value":"bytes"}"#,
    );
    assert_eq!(r.status, 204, "{}", r.body);
    let all = s.get_json("/flow/json");
    let names: Vec<&String> = all.as_object().unwrap().keys().collect();
    assert_eq!(names, ["uports", "uhosts", "pair"], "{all}");
    assert_eq!(s.delete("/flow/uhosts/json").status, 204);
    assert_eq!(s.get("/flow/uhosts/json").status, 404);
    drop(s);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn errors_are_400_with_a_message_and_unknown_names_404() {
    let dir = temp_dir("api-errors");
    let s = Server::start(&dir);
    // A filter that does not parse: 400, the message names the filter and the offset.
    let r = s.put(
        "/flow/bad/json",
        "{keys:'ipsource', value:'bytes', filter:'ipsource=1&'}",
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.starts_with("filter `ipsource=1&`:"), "{}", r.body);
    assert!(r.body.contains("offset"), "{}", r.body);
    assert_eq!(r.body.lines().count(), 1, "{}", r.body);
    assert_eq!(s.get("/flow/bad/json").status, 404, "nothing was defined");
    // A body that is not an object.
    let r = s.put("/flow/bad/json", "{keys:");
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body
            .starts_with("body is not a JSON or JavaScript object"),
        "{}",
        r.body
    );
    let r = s.put("/flow/bad/json", "");
    assert_eq!(r.status, 400, "{}", r.body);
    // Absurd nesting, in the body or in an expression, is refused (not a stack overflow).
    // Bodies this large go to a group set (flow definitions stop at 1 MiB + 64 KiB: 413).
    let deep = 200_000;
    let body = format!("{{a:{}{}}}", "[".repeat(deep), "]".repeat(deep));
    let r = s.put("/group/bad/json", &body);
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.starts_with("body nested deeper"), "{}", r.body);
    // Within the filter length limit (1 MiB), still far deeper than 64 levels.
    let deep = 4000;
    let body = format!(
        "{{value:'bytes', filter:'{}ipsource=1{}'}}",
        "(".repeat(deep),
        ")".repeat(deep)
    );
    let r = s.put("/flow/bad/json", &body);
    assert_eq!(r.status, 400, "{}", r.body.get(..200).unwrap_or(&r.body));
    assert!(
        r.body.contains("nested deeper than 64 levels"),
        "{}",
        &r.body[r.body.len() - 200..]
    );
    assert_eq!(s.get("/version").status, 200, "still alive");
    // Unknown names.
    for path in [
        "/flow/nope/json",
        "/activeflows/ALL/nope/json",
        "/threshold/nope/json",
        "/group/nope/json",
        "/map/nope/json",
        "/metric/192.0.2.1/json",
        "/no/such/path",
    ] {
        let r = s.get(path);
        assert_eq!(r.status, 404, "GET {path}: {}", r.body);
        assert!(!r.body.trim().is_empty(), "GET {path}: empty message");
    }
    let r = s.get("/flow/nope/json");
    assert_eq!(r.body.trim(), "flow `nope` not found");
    for path in [
        "/flow/nope/json",
        "/threshold/nope/json",
        "/group/nope/json",
        "/map/nope/json",
    ] {
        assert_eq!(s.delete(path).status, 404, "DELETE {path}");
    }
    // Bad parameters.
    assert_eq!(
        s.put("/flow/pair/json", "{keys:'ipsource',value:'bytes'}")
            .status,
        204
    );
    for path in [
        "/activeflows/ALL/pair/json?aggMode=diagonal",
        "/activeflows/ALL/pair/json?maxFlows=ten",
        "/activeflows/ALL/pair/json?minValue=x",
        "/events/json?timeout=-1",
        "/table/ALL/sort:ifinoctets:x/json",
    ] {
        let r = s.get(path);
        assert_eq!(r.status, 400, "GET {path}: {}", r.body);
    }
    let r = s.put("/threshold/t/json", "{metric:'pair', value:'lots'}");
    assert_eq!(r.status, 400, "{}", r.body);
    let r = s.put("/group/g/json", "{inside:['10.0.0.0/33']}");
    assert_eq!(r.status, 400, "{}", r.body);
    drop(s);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn groups_maps_thresholds() {
    let dir = temp_dir("api-defs");
    let s = Server::start(&dir);
    let r = s.put(
        "/group/dc/json",
        "{inside:['10.0.0.0/8','192.168.0.0/16'], outside:['0.0.0.0/0']}",
    );
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(
        s.get_json("/group/dc/json"),
        json!({"inside":["10.0.0.0/8","192.168.0.0/16"],"outside":["0.0.0.0/0"]})
    );
    // The old one-argument setGroups, as the 2013 scripts use it.
    let r = s.put(
        "/group/json",
        "{external:['0.0.0.0/0'], internal:['10.0.0.0/8']}",
    );
    assert_eq!(r.status, 204, "{}", r.body);
    let all = s.get_json("/group/json");
    assert_eq!(all.as_object().unwrap().len(), 2, "{all}");
    assert!(all.get("dc").is_some(), "{all}");
    // A flow may use both.
    let r = s.put(
        "/flow/ddos/json",
        "{keys:'ipsource,group:ipsource:dc',value:'frames',filter:'sourcegroup=external'}",
    );
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(s.delete("/group/dc/json").status, 204);
    assert_eq!(s.get("/group/dc/json").status, 404);

    let r = s.put("/map/svc/json", "{web:['80','443'], mail:['25']}");
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(s.get_json("/map/svc/json")["web"], json!(["80", "443"]));
    assert!(s.get_json("/map/json").get("svc").is_some());
    assert_eq!(s.delete("/map/svc/json").status, 204);
    assert_eq!(s.get("/map/svc/json").status, 404);

    let r = s.put(
        "/threshold/flood/json",
        "{metric:'ddos', value:1000, byFlow:true, timeout:5}",
    );
    assert_eq!(r.status, 204, "{}", r.body);
    let t = s.get_json("/threshold/flood/json");
    assert_eq!(t["metric"], "ddos", "{t}");
    assert_eq!(t["value"].as_f64(), Some(1000.0), "{t}");
    assert!(s.get_json("/threshold/json").get("flood").is_some());
    assert_eq!(s.delete("/threshold/flood/json").status, 204);
    assert_eq!(s.get("/threshold/flood/json").status, 404);
    drop(s);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn long_polls_wait_then_wake_on_new_flows_and_events() {
    let dir = temp_dir("api-poll");
    let s = Server::start(&dir);
    // Nothing yet: the poll waits for its timeout, then answers an empty list.
    let t = Instant::now();
    assert_eq!(s.get_json("/events/json?eventID=0&timeout=0.5"), json!([]));
    assert!(
        t.elapsed() >= Duration::from_millis(450),
        "{:?}",
        t.elapsed()
    );

    // A logged flow (t 0.2 s: idle and logged about a second after its last sample) and a
    // threshold any traffic crosses.
    let r = s.put(
        "/flow/pair/json",
        "{keys:'ipsource,ipdestination', value:'bytes', log:true, t:0.2}",
    );
    assert_eq!(r.status, 204, "{}", r.body);
    let r = s.put("/threshold/any/json", "{metric:'pair', value:1}");
    assert_eq!(r.status, 204, "{}", r.body);

    let addr = s.ports.http;
    let poll = |path: &'static str| {
        std::thread::spawn(move || {
            let t = Instant::now();
            let r = run_support::http(addr, "GET", path, None, "text/plain").unwrap();
            (r, t.elapsed())
        })
    };
    let events = poll("/events/json?eventID=0&timeout=60");
    let flows = poll("/flows/json?flowID=-1&timeout=60&maxFlows=5");
    // Both polls are waiting on the server before anything arrives.
    s.wait_for("/analyzer/json", |a| a["longPollsWaiting"] == 2);
    let payloads = udp_payloads(&exporter_capture("sflow-ovs-br0.pcap"));
    send_all(s.ports.sflow, &payloads[..200], 100, |sent| {
        s.wait_for("/analyzer/json", |a| {
            a["datagramsReceived"].as_u64() == Some(sent as u64)
        });
    });

    let (r, waited) = events.join().unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let ev = r.json();
    let ev = ev.as_array().unwrap();
    assert!(!ev.is_empty(), "no event");
    assert!(waited < Duration::from_secs(30), "{waited:?}");
    assert_eq!(ev[0]["thresholdID"], "any", "{ev:?}");
    assert_eq!(ev[0]["metric"], "pair", "{ev:?}");
    let newest = ev[0]["eventID"].as_u64().unwrap();

    let (r, waited) = flows.join().unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let fl = r.json();
    let fl = fl.as_array().unwrap();
    assert!(!fl.is_empty() && fl.len() <= 5, "{fl:?}");
    assert!(waited < Duration::from_secs(30), "{waited:?}");
    assert_eq!(fl[0]["name"], "pair", "{fl:?}");
    assert!(fl[0]["value"].as_f64().unwrap() > 0.0, "{fl:?}");
    let ids: Vec<u64> = fl.iter().map(|f| f["flowID"].as_u64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");

    // Asking after the newest id gives nothing (without a timeout: at once).
    let after = s.get_json(&format!("/events/json?eventID={newest}"));
    assert_eq!(after, json!([]));
    assert_eq!(s.get_json("/analyzer/json")["longPollsWaiting"], 0);
    let (status, _) = s.stop();
    assert!(status.success());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sigterm_ends_waiting_long_polls_and_exits_0() {
    let dir = temp_dir("api-stop");
    let s = Server::start(&dir);
    let addr = s.ports.http;
    let poll = std::thread::spawn(move || {
        run_support::http(addr, "GET", "/flows/json?timeout=120", None, "text/plain")
    });
    s.wait_for("/analyzer/json", |a| a["longPollsWaiting"] == 1);
    let t = Instant::now();
    let (status, stderr) = s.stop();
    assert!(status.success(), "{status}: {stderr}");
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    // The poll got its (empty) answer rather than a reset connection.
    let r = poll.join().unwrap().unwrap();
    assert_eq!((r.status, r.body.as_str()), (200, "[]"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn read_only_mode_and_bearer_token_protect_writes() {
    let dir = temp_dir("api-writes");
    let s = Server::start_with(&dir, &["--read-only"]);
    let r = s.put("/flow/f/json", "{value:'bytes'}");
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.starts_with("read-only mode"), "{}", r.body);
    assert_eq!(s.delete("/flow/f/json").status, 403);
    assert_eq!(s.get_json("/flow/json"), json!({}), "reads stay open");
    drop(s);

    let token = dir.join("token");
    std::fs::write(&token, "s3cret\n").unwrap();
    let s = Server::start_with(&dir, &["--token-file", token.to_str().unwrap()]);
    let put = |headers: &[(&str, &str)]| {
        run_support::http_with(
            s.ports.http,
            "PUT",
            "/flow/f/json",
            Some("{value:'bytes'}"),
            "application/json",
            headers,
        )
        .unwrap()
    };
    assert_eq!(put(&[]).status, 401);
    assert_eq!(put(&[("Authorization", "Bearer wrong")]).status, 401);
    let r = put(&[("Authorization", "Bearer s3cret")]);
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(s.get_json("/flow/f/json")["value"], "bytes");
    assert_eq!(s.delete("/flow/f/json").status, 401);
    drop(s);

    // A token file that is missing or empty is a startup error.
    std::fs::write(&token, "\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_flowlens"))
        .args(run_support::Ports::free().args(&dir))
        .args(["--token-file", token.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("is empty"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn api_docs_describe_only_served_paths() {
    let dir = temp_dir("api-docs");
    let s = Server::start(&dir);
    let doc = s.get_json("/api-docs");
    assert_eq!(doc["openapi"], "3.0.3");
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 20, "{}", paths.len());
    for (path, item) in paths {
        let concrete = path
            .replace("{agent}", "ALL")
            .replace("{metrics}", "ifinoctets")
            .replace("{name}", "nosuchname");
        for method in item.as_object().unwrap().keys() {
            let m = method.to_uppercase();
            let body = (m == "PUT").then_some("{}");
            let r = s.request(&m, &concrete, body);
            // Served: anything but the fallback's 404 and 405 Method Not Allowed.
            assert!(
                r.status != 405 && !r.body.starts_with("no such resource"),
                "{m} {concrete}: {} {}",
                r.status,
                r.body
            );
        }
    }
    // The fallback does say so.
    assert!(s.get("/nope/json").body.starts_with("no such resource"));
    drop(s);
    std::fs::remove_dir_all(&dir).unwrap();
}
