//! `flowlens run --script`/apps end to end: the seeds' HTTP handlers answer the articles' curl
//! commands, apps are served, and a runaway script is stopped while the server keeps serving
//! REST and ingesting.

use crate::common;
use crate::run_support;

use std::path::{Path, PathBuf};

use run_support::recorder::Recorder;
use run_support::{exporter_capture, send_all, temp_dir, udp_payloads, Server};
use serde_json::{json, Value as Json};

fn seed(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/sflow-rt-scripts")
        .join(name)
}

fn json_of(body: &str) -> Json {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

fn script_status(server: &Server, id: &str) -> Json {
    let all = server.get_json("/scripts/json");
    all.as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("no script {id} in {all}"))
}

/// ddos.js as printed in "Embedding SDN applications": its HTTP handler, reached at
/// `/script/ddos.js/json` as the article's curl commands do, blocks and allows addresses
/// through the article's external program (`../pyretic/pyretic/pyresonance/sendy_json.py`,
/// run by `runCmd` relative to the working directory; a stand-in that records its arguments
/// takes its place here).
#[test]
fn ddos_js_answers_the_article_curl_commands() {
    if common::shared_file_or_skip(
        "script_api::ddos_js_answers_the_article_curl_commands",
        "sflow-rt-scripts",
    )
    .is_none()
    {
        return;
    }
    let dir = temp_dir("script-ddos");
    let work = dir.join("work");
    let tool_dir = dir.join("pyretic/pyretic/pyresonance");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::create_dir_all(&tool_dir).unwrap();
    let record = dir.join("sendy.log");
    let tool = tool_dir.join("sendy_json.py");
    std::fs::write(
        &tool,
        format!("#!/bin/sh\necho \"$@\" >> '{}'\n", record.display()),
    )
    .unwrap();
    let mut perm = std::fs::metadata(&tool).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
    std::fs::set_permissions(&tool, perm).unwrap();

    let script = seed("ddos.js");
    let server = Server::start_in(
        &dir.join("state"),
        &["--script", script.to_str().unwrap(), "--allow-run-cmd"],
        &work,
    );
    let call = |q: &str| {
        let r = server.get(&format!("/script/ddos.js/json?{q}"));
        assert_eq!(r.status, 200, "{q}: {}", r.body);
        json_of(&r.body)
    };
    assert_eq!(
        call("action=block&address=10.0.0.1"),
        json!({"controls": {"10.0.0.1": "blocked"}, "enabled": true})
    );
    assert_eq!(
        call("action=block&address=10.0.0.2"),
        json!({"controls": {"10.0.0.1": "blocked", "10.0.0.2": "blocked"}, "enabled": true})
    );
    assert_eq!(
        call("action=allow&address=10.0.0.1"),
        json!({"controls": {"10.0.0.2": "blocked"}, "enabled": true})
    );
    assert_eq!(
        call("action=disable"),
        json!({"controls": {"10.0.0.2": "blocked"}, "enabled": false})
    );
    assert_eq!(
        call("action=enable"),
        json!({"controls": {"10.0.0.2": "blocked"}, "enabled": true})
    );
    let lines: Vec<String> = std::fs::read_to_string(&record)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(
        lines,
        [
            "-i 10.0.0.1 -e auth -V clear",
            "-i 10.0.0.2 -e auth -V clear",
            "-i 10.0.0.1 -e auth -V authenticated",
        ]
    );
    let s = script_status(&server, "ddos.js");
    assert_eq!(s["alive"], true);
    assert_eq!(s["actions"]["runCmd"], json!({"sent": 3, "errors": 0}));
    assert_eq!(s["httpRequests"], 5);
    // The script's flow, threshold and legacy groups are live in the REST API.
    assert_eq!(server.get_json("/flow/ddos/json")["keys"], "ipsource");
    assert_eq!(
        server.get_json("/threshold/ddos/json")["value"].as_f64(),
        Some(1000.0)
    );
    // Unknown scripts and formats are 404.
    assert_eq!(server.get("/script/nosuch.js/json").status, 404);
    assert_eq!(server.get("/script/ddos.js/xml").status, 404);
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// normal.js ("Integrated hybrid OpenFlow"): at load it clears the Static Flow Pusher and
/// pushes the `normal` rule with `http()`; a block pushes a drop rule for the address.
#[test]
fn normal_js_pushes_openflow_rules_with_http() {
    if common::shared_file_or_skip(
        "script_api::normal_js_pushes_openflow_rules_with_http",
        "sflow-rt-scripts",
    )
    .is_none()
    {
        return;
    }
    let dir = temp_dir("script-normal");
    // Stands in for Floodlight's Static Flow Pusher.
    let rec = Recorder::start(r#"{"status":"Entry pushed"}"#, Vec::new());
    let text = std::fs::read_to_string(seed("normal.js"))
        .unwrap()
        .replace("localhost:8080", &rec.addr().to_string());
    let script = dir.join("normal.js");
    std::fs::write(&script, text).unwrap();
    let server = Server::start_with(&dir.join("state"), &["--script", script.to_str().unwrap()]);
    let r = server.get("/script/normal.js/json?action=block&address=192.0.2.7");
    assert_eq!(r.status, 200, "{}", r.body);
    let v = json_of(&r.body);
    assert_eq!(v["controls"]["192.0.2.7"]["action"], "block");
    assert_eq!(v["enabled"], true);
    let seen = rec.requests();
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str()),
        ("GET", "/wm/staticflowentrypusher/clear/all/json")
    );
    assert_eq!(
        (seen[1].method.as_str(), seen[1].path.as_str()),
        ("POST", "/wm/staticflowentrypusher/json")
    );
    assert_eq!(
        json_of(&seen[1].body),
        json!({"name": "normal", "switch": "00:00:00:00:00:01", "cookie": "0",
               "priority": "10", "active": true, "actions": "output=normal"})
    );
    assert_eq!(seen[2].method, "POST");
    let block = json_of(&seen[2].body);
    assert_eq!(block["name"], "block-192.0.2.7");
    assert_eq!(block["src-ip"], "192.0.2.7");
    assert_eq!(block["ether-type"], "0x0800");
    let s = script_status(&server, "normal.js");
    assert_eq!(s["actions"]["http"], json!({"sent": 3, "errors": 0}));
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Apps laid out as sFlow-RT's: scripts under `<apps>/<app>/scripts/` start by themselves and
/// answer at `/app/<app>/scripts/<file>/<path…>/json`; `<apps>/<app>/html/` is served.
#[test]
fn apps_run_and_serve_their_files() {
    let dir = temp_dir("script-apps");
    let apps = dir.join("apps");
    write(
        &apps.join("hello/scripts/hello.js"),
        "setHttpHandler(function(req) {\n\
           if (req.path[0] == 'missing') throw 'not_found';\n\
           return {method: req.method, path: req.path, query: req.query, body: req.body, format: req.format};\n\
         });\n",
    );
    write(&apps.join("hello/html/index.html"), "<h1>hello app</h1>\n");
    write(&apps.join("hello/html/js/app.js"), "var x = 1;\n");
    let server = Server::start_with(&dir.join("state"), &["--apps-dir", apps.to_str().unwrap()]);
    let r = server.get("/app/hello/scripts/hello.js/controls/x/json?a=1&a=2&b=3");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        json_of(&r.body),
        json!({"method": "GET", "path": ["controls", "x"], "query": {"a": ["1", "2"], "b": ["3"]},
               "body": null, "format": "json"})
    );
    let r = server.request(
        "PUT",
        "/app/hello/scripts/hello.js/controls/json",
        Some("{action:'block', address:'10.0.0.1'}"),
    );
    assert_eq!(
        json_of(&r.body)["body"],
        json!({"action": "block", "address": "10.0.0.1"})
    );
    assert_eq!(
        server
            .get("/app/hello/scripts/hello.js/missing/json")
            .status,
        404
    );
    let r = server.get("/app/hello/html/");
    assert_eq!((r.status, r.body.as_str()), (200, "<h1>hello app</h1>\n"));
    assert_eq!(server.get("/app/hello/html/js/app.js").body, "var x = 1;\n");
    assert_eq!(
        server.get("/app/hello/html/../scripts/hello.js").status,
        404
    );
    assert_eq!(server.get("/app/nosuch/html/").status, 404);
    assert_eq!(script_status(&server, "hello/hello.js")["app"], "hello");
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A script that loops forever and one that allocates without end are stopped and reported;
/// the server goes on answering REST and counting every sFlow datagram sent to it.
#[test]
fn runaway_scripts_are_stopped_while_the_server_keeps_serving() {
    let dir = temp_dir("script-runaway");
    let looping = dir.join("loop.js");
    std::fs::write(
        &looping,
        "var n = 0; setIntervalHandler(function() { n++; while (true) {} }, 0.1);\n",
    )
    .unwrap();
    let hog = dir.join("hog.js");
    std::fs::write(
        &hog,
        "var a = []; while (true) { a.push(new Array(100000).fill(1)); }\n",
    )
    .unwrap();
    let server = Server::start_with(
        &dir.join("state"),
        &[
            "--script",
            looping.to_str().unwrap(),
            "--script",
            hog.to_str().unwrap(),
            "--script-time-limit-ms",
            "300",
            "--script-memory-mb",
            "64",
        ],
    );
    let stopped = server.wait_for("/scripts/json", |s| {
        s.as_array()
            .unwrap()
            .iter()
            .all(|s| s["alive"] == false && s["error"].is_string())
    });
    let by_id = |id: &str| {
        stopped
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .cloned()
            .unwrap()
    };
    let l = by_id("loop.js");
    assert!(
        l["error"]
            .as_str()
            .unwrap()
            .contains("in interval handler: ran JavaScript longer than its limit of 300 ms"),
        "{l}"
    );
    let h = by_id("hog.js");
    assert!(
        h["error"]
            .as_str()
            .unwrap()
            .contains("exceeded its memory limit of 64 MiB"),
        "{h}"
    );
    // The engine still ingests and answers.
    let payloads = udp_payloads(&exporter_capture("sflow-ovs-br0.pcap"));
    send_all(server.ports.sflow, &payloads, 100, |sent| {
        server.wait_for("/analyzer/json", |a| {
            a["datagramsReceived"].as_u64() == Some(sent as u64)
        });
    });
    // Every datagram taken off the socket reaches the engine (none dropped).
    let a = server.wait_for("/analyzer/json", |a| {
        a["sFlowDatagramsReceived"].as_u64() == Some(payloads.len() as u64)
    });
    assert_eq!(a["datagramsDropped"].as_u64(), Some(0), "{a}");
    assert_eq!(
        server
            .put("/flow/src/json", "{keys:'ipsource',value:'frames'}")
            .status,
        204
    );
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A missing script is a one-line startup error.
#[test]
fn a_missing_script_is_a_startup_error() {
    let dir = temp_dir("script-missing");
    let ports = run_support::Ports::free();
    let mut args = ports.args(&dir);
    args.extend(["--script".to_string(), "/nonexistent/x.js".to_string()]);
    let err = match Server::try_start(ports, &args) {
        Ok(_) => panic!("started with a missing script"),
        Err(e) => e,
    };
    assert!(err.contains("script /nonexistent/x.js not found"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
