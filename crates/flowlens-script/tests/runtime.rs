//! Scripts on a real engine (no server): the API, handlers, limits and stores.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::field_reassign_with_default
)]

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use flowlens_engine::{Engine, Limits};
use flowlens_script::{Config, EngineJob, Host, HttpRequest, ScriptSpec, Scripts};
use serde_json::{json, Value as Json};

/// A host over an engine in a mutex (the server uses its engine thread instead).
struct EngineHost {
    engine: Mutex<Engine>,
}

impl Host for EngineHost {
    fn engine(&self, job: EngineJob) -> flowlens_script::Result<Json> {
        let mut e = self.engine.lock().unwrap();
        Ok(job(&mut e, 1_700_000_000_000)?)
    }
    fn analyzer(&self) -> flowlens_script::Result<Json> {
        Ok(json!({"version": "test"}))
    }
}

fn host() -> Arc<EngineHost> {
    Arc::new(EngineHost {
        engine: Mutex::new(Engine::new(Limits::default())),
    })
}

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("flowlens-script-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }
    fn script(&self, file: &str, src: &str) -> ScriptSpec {
        let path = self.0.join(file);
        std::fs::write(&path, src).unwrap();
        ScriptSpec { path, app: None }
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `../shared/sflow-rt-scripts` (the sFlow-RT article scripts, whose licence is not known, so
/// they stay out of the repository); `None` after a `SKIPPED` line when it is absent.
fn seeds(test: &str) -> Option<PathBuf> {
    flowlens_testdata::shared_file_or_skip(test, "sflow-rt-scripts")
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::yield_now();
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn status(s: &Scripts) -> Json {
    s.status_json()[0].clone()
}

fn req(query: &[(&str, &str)]) -> HttpRequest {
    let mut r = HttpRequest {
        method: "GET".into(),
        format: "json".into(),
        ..Default::default()
    };
    for (k, v) in query {
        r.query
            .entry(k.to_string())
            .or_default()
            .push(v.to_string());
    }
    r
}

const T: Duration = Duration::from_secs(20);

#[test]
fn seed_ddos_js_defines_its_flow_threshold_and_groups_and_answers_http() {
    let Some(seeds) = seeds("seed_ddos_js_defines_its_flow_threshold_and_groups_and_answers_http")
    else {
        return;
    };
    let h = host();
    let spec = ScriptSpec {
        path: seeds.join("ddos.js"),
        app: None,
    };
    assert!(spec.path.is_file(), "missing seed {}", spec.path.display());
    let mut config = Config::default();
    config.allow_run_cmd = true;
    let scripts = Scripts::start(vec![spec], h.clone(), config).unwrap();
    // The HTTP answer comes after loading (the inbox is served in order).
    let r = scripts.http(None, "ddos.js", req(&[("action", "disable")]), T);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        serde_json::from_str::<Json>(&r.body).unwrap(),
        json!({"controls": {}, "enabled": false})
    );
    {
        let e = h.engine.lock().unwrap();
        let flow = e.flow("ddos").expect("setFlow ran");
        assert_eq!(flow["keys"], "ipsource");
        assert_eq!(flow["t"].as_f64(), Some(2.0));
        assert_eq!(e.threshold("ddos").unwrap()["value"].as_f64(), Some(1000.0));
    }
    // block runs the article's external command; it is not installed here, so runCmd
    // throws inside the handler's try and the article's error field carries it.
    let r = scripts.http(
        None,
        "ddos.js",
        req(&[("action", "block"), ("address", "10.0.0.1")]),
        T,
    );
    let v: Json = serde_json::from_str(&r.body).unwrap();
    assert!(v["error"].as_str().unwrap().contains("cannot run"), "{v}");
    assert_eq!(status(&scripts)["actions"]["runCmd"]["errors"], 1);
    assert_eq!(status(&scripts)["alive"], true);
    scripts.stop();
}

#[test]
fn events_reach_the_handler_filtered_by_threshold() {
    let d = Dir::new("events");
    let spec = d.script(
        "ev.js",
        "var got = [];\n\
         setEventHandler(function(evt) { got.push(evt.thresholdID + ':' + evt.flowKey); }, ['a']);\n\
         setHttpHandler(function(req) { return got; });\n",
    );
    let scripts = Scripts::start(vec![spec], host(), Config::default()).unwrap();
    let r = scripts.http(None, "ev.js", req(&[]), T);
    assert_eq!(r.body, "[]");
    assert!(scripts.wants_event("a"));
    assert!(!scripts.wants_event("b"));
    scripts.offer_event("a", &json!({"thresholdID": "a", "flowKey": "10.0.0.1"}));
    let r = scripts.http(None, "ev.js", req(&[]), T);
    assert_eq!(r.body, r#"["a:10.0.0.1"]"#);
    assert_eq!(status(&scripts)["eventsReceived"], 1);
    scripts.stop();
}

#[test]
fn an_infinite_loop_is_stopped_and_reported() {
    let d = Dir::new("loop");
    let spec = d.script(
        "loop.js",
        "setHttpHandler(function() { while(true) {} });\n",
    );
    let mut config = Config::default();
    config.handler_time_limit = Duration::from_millis(300);
    let scripts = Scripts::start(vec![spec], host(), config).unwrap();
    let r = scripts.http(None, "loop.js", req(&[]), T);
    assert_eq!(r.status, 500);
    assert!(
        r.body.contains("longer than its limit of 300 ms"),
        "{}",
        r.body
    );
    let s = status(&scripts);
    assert_eq!(s["alive"], false);
    assert!(s["error"].as_str().unwrap().contains("http handler"), "{s}");
    assert!(s["cpuMs"].as_f64().unwrap() >= 50.0, "{s}");
    let r = scripts.http(None, "loop.js", req(&[]), T);
    assert_eq!(r.status, 503);
    scripts.stop();
}

#[test]
fn a_huge_allocation_is_stopped_and_reported() {
    let d = Dir::new("alloc");
    let spec = d.script(
        "alloc.js",
        "var a = []; while (true) { a.push(new Array(100000).fill(1)); }\n",
    );
    let mut config = Config::default();
    config.memory_limit_bytes = 64 << 20;
    let scripts = Scripts::start(vec![spec], host(), config).unwrap();
    wait_until("the script to stop", || status(&scripts)["alive"] == false);
    let s = status(&scripts);
    assert!(
        s["error"]
            .as_str()
            .unwrap()
            .contains("memory limit of 64 MiB"),
        "{s}"
    );
    scripts.stop();
}

#[test]
fn handler_exceptions_are_counted_and_the_script_goes_on() {
    let d = Dir::new("throw");
    let spec = d.script(
        "t.js",
        "var n = 0;\n\
         setHttpHandler(function(req) {\n\
           n++;\n\
           if (req.query.what == 'nf') throw 'not_found';\n\
           if (req.query.what == 'bad') throw 'bad_request';\n\
           if (req.query.what == 'boom') null.x;\n\
           return {n: n, path: req.path, format: req.format};\n\
         });\n",
    );
    let scripts = Scripts::start(vec![spec], host(), Config::default()).unwrap();
    assert_eq!(
        scripts.http(None, "t.js", req(&[("what", "nf")]), T).status,
        404
    );
    assert_eq!(
        scripts
            .http(None, "t.js", req(&[("what", "bad")]), T)
            .status,
        400
    );
    let r = scripts.http(None, "t.js", req(&[("what", "boom")]), T);
    assert_eq!(r.status, 500);
    assert!(r.body.contains("null"), "{}", r.body);
    let mut q = req(&[]);
    q.path = vec!["controls".into()];
    let r = scripts.http(None, "t.js", q, T);
    assert_eq!(r.status, 200);
    assert_eq!(
        serde_json::from_str::<Json>(&r.body).unwrap(),
        json!({"n": 4, "path": ["controls"], "format": "json"})
    );
    let s = status(&scripts);
    assert_eq!(
        (s["alive"].clone(), s["handlerErrors"].clone()),
        (json!(true), json!(1))
    );
    scripts.stop();
}

#[test]
fn a_script_failing_at_load_is_reported_with_its_line() {
    let d = Dir::new("bad");
    let spec = d.script(
        "bad.js",
        "var x = 1;\nsetFlow('f', {keys:'nosuchkey(', value:'frames'});\n",
    );
    let scripts = Scripts::start(vec![spec], host(), Config::default()).unwrap();
    wait_until("the script to stop", || status(&scripts)["alive"] == false);
    let err = status(&scripts)["error"].as_str().unwrap().to_string();
    assert!(err.contains("setFlow") || err.contains("key"), "{err}");
    assert!(err.contains("line 2"), "{err}");
    scripts.stop();
}

#[test]
fn a_script_with_a_syntax_error_is_reported_with_its_line() {
    // As in the graphite.js fixture: article prose after the code.
    let d = Dir::new("syntax");
    let spec = d.script(
        "prose.js",
        "var a = 1;\n\nThe interval handler function runs every 15 seconds.\n",
    );
    let scripts = Scripts::start(vec![spec], host(), Config::default()).unwrap();
    wait_until("the script to stop", || status(&scripts)["alive"] == false);
    let err = status(&scripts)["error"].as_str().unwrap().to_string();
    assert!(err.contains("expecting ';'"), "{err}");
    assert!(err.contains("line 3"), "{err}");
    scripts.stop();
}

#[test]
fn stores_persist_across_restarts_and_shared_values_cross_scripts() {
    let d = Dir::new("store");
    let store = d.0.join("store");
    let a = d.script(
        "a.js",
        "storeSet('k', {n: (storeGet('k') ? storeGet('k').n : 0) + 1});\n\
         sharedSet('from-a', 42);\n\
         setHttpHandler(function() { return {k: storeGet('k'), keys: storeKeys()}; });\n",
    );
    let b = d.script(
        "b.js",
        "setHttpHandler(function() { return {shared: sharedGet('from-a')}; });\n",
    );
    for round in 1..=2 {
        let mut config = Config::default();
        config.store_dir = Some(store.clone());
        let scripts = Scripts::start(vec![a.clone(), b.clone()], host(), config).unwrap();
        let r = scripts.http(None, "a.js", req(&[]), T);
        assert_eq!(
            serde_json::from_str::<Json>(&r.body).unwrap(),
            json!({"k": {"n": round}, "keys": ["k"]})
        );
        let r = scripts.http(None, "b.js", req(&[]), T);
        assert_eq!(r.body, r#"{"shared":42}"#);
        scripts.stop();
    }
}

#[test]
fn interval_handler_gets_the_time_and_include_json2_is_a_no_op() {
    let d = Dir::new("interval");
    let spec = d.script(
        "i.js",
        "include('extras/json2.js');\n\
         var ticks = []; setIntervalHandler(function(now) { ticks.push(now); }, 0.05);\n\
         setHttpHandler(function() { return ticks; });\n",
    );
    let scripts = Scripts::start(vec![spec], host(), Config::default()).unwrap();
    let t0 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as f64;
    wait_until("three ticks", || {
        let r = scripts.http(None, "i.js", req(&[]), T);
        serde_json::from_str::<Json>(&r.body)
            .unwrap()
            .as_array()
            .unwrap()
            .len()
            >= 3
    });
    let r = scripts.http(None, "i.js", req(&[]), T);
    let ticks: Vec<f64> = serde_json::from_str(&r.body).unwrap();
    assert!(ticks[0] >= t0 - 1000.0 && ticks[0] < t0 + 20_000.0);
    assert!(ticks.windows(2).all(|w| w[1] >= w[0]));
    scripts.stop();
}

#[test]
fn run_cmd_is_refused_unless_allowed() {
    let d = Dir::new("cmd");
    let spec = d.script(
        "c.js",
        "setHttpHandler(function() { try { runCmd(['true']); return 'ran'; } catch(e) { return e.message; } });\n",
    );
    let scripts = Scripts::start(vec![spec], host(), Config::default()).unwrap();
    let r = scripts.http(None, "c.js", req(&[]), T);
    assert!(r.body.contains("--allow-run-cmd"), "{}", r.body);
    scripts.stop();
}

// ---------------------------------------------------------------------------------------------
// sFlow-RT's published apps: scripts written the way InMon writes them

/// The loading and handler idioms of InMon's apps: a top-level assignment to an undeclared
/// name (`lastQueryTime = …`), `for (key in obj)` without `var` inside a handler, Rhino/Nashorn
/// expression closures (`function(el) el.key`), `if(!setGroups(…))` as a success check,
/// sFlow-RT's utilities, and a handler error that names its own line.
#[test]
fn app_idioms_run_as_on_sflow_rt() {
    let d = Dir::new("idioms");
    let spec = d.script(
        "app.js",
        "// author: test\n\
         // version: 1.0\n\
         lastQueryTime = 0;\n\
         settings = {a: 1, b: 2, c: 3};\n\
         if(!setGroups('local', {lan: ['10.0.0.0/8'], other: ['0.0.0.0/0']})) throw 'setGroups failed';\n\
         var sorted = [{key: 'x', value: 1}, {key: 'y', value: 3}].sort(function(a, b) b.value - a.value);\n\
         var names = sorted.map(function(el) el.key);\n\
         setHttpHandler(function(req) {\n\
           lastQueryTime = 1;\n\
           var out = [];\n\
           for (param in req.query) out.push(param);\n\
           for (key in settings) out.push(key + '=' + settings[key]);\n\
           if (req.query.fail) {\n\
             var n = 1;\n\
             undefinedFunction(n);\n\
           }\n\
           return {names: names, out: out, last: lastQueryTime,\n\
                   num: formatNumber(1234567.891, '#,###.##'), pct: formatNumber(0.256, '0.0%'),\n\
                   md5: md5('flowlens'), date: formatDate(0, \"yyyy-MM-dd'T'HH:mm:ss\"),\n\
                   map: setMap('svc', {web: ['80']}), info: datasourceInfo('10.0.0.1', '3')};\n\
         });\n",
    );
    let h = host();
    let scripts = Scripts::start(vec![spec], h.clone(), Config::default()).unwrap();
    let r = scripts.http(None, "app.js", req(&[("q", "1")]), T);
    assert_eq!(r.status, 200, "{r:?} {}", status(&scripts));
    assert_eq!(
        serde_json::from_str::<Json>(&r.body).unwrap(),
        json!({
            "names": ["y", "x"], "out": ["q", "a=1", "b=2", "c=3"], "last": 1,
            "num": "1,234,567.89", "pct": "25.6%",
            // `printf flowlens | md5sum`
            "md5": "1e83a117ef45a100eb1940b5cf0b213a",
            "date": "1970-01-01T00:00:00", "map": true, "info": null,
        })
    );
    assert!(h.engine.lock().unwrap().env().groups.get("local").is_some());
    // The error names the line that failed (15), not the handler's first line (8).
    let r = scripts.http(None, "app.js", req(&[("fail", "1")]), T);
    assert_eq!(r.status, 500);
    assert!(
        r.body.contains("undefinedFunction is not defined"),
        "{}",
        r.body
    );
    assert!(r.body.contains("line 15"), "{}", r.body);
    assert_eq!(status(&scripts)["alive"], true);
    scripts.stop();
}

/// `// wrapglobals: rt` puts the API under `rt`, so a script may define its own `logInfo`.
#[test]
fn wrapglobals_namespaces_the_api() {
    let d = Dir::new("wrap");
    let spec = d.script(
        "wrapped.js",
        "// wrapglobals: rt\n\
         var said = [];\n\
         function logInfo(msg) { said.push(msg); }\n\
         logInfo('mine');\n\
         rt.setFlow('wrapped', {keys: 'ipsource', value: 'frames'});\n\
         rt.setHttpHandler(function(req) {\n\
           return {said: said, global: typeof setFlow, wrapped: typeof rt.activeFlows};\n\
         });\n",
    );
    let h = host();
    let scripts = Scripts::start(vec![spec], h.clone(), Config::default()).unwrap();
    let r = scripts.http(None, "wrapped.js", req(&[]), T);
    assert_eq!(r.status, 200, "{r:?} {}", status(&scripts));
    assert_eq!(
        serde_json::from_str::<Json>(&r.body).unwrap(),
        json!({"said": ["mine"], "global": "undefined", "wrapped": "function"})
    );
    assert!(h.engine.lock().unwrap().flow("wrapped").is_some());
    scripts.stop();
}

/// A definition reading a key flowlens never produces is accepted (as sFlow-RT does) and the
/// script's log says so.
#[test]
fn set_flow_with_an_unknown_key_logs_a_warning() {
    let d = Dir::new("typo");
    let spec = d.script(
        "typo.js",
        "setFlow('typo', {keys: 'ipsource', value: 'byts'});\n\
         setHttpHandler(function() { return 'ok'; });\n",
    );
    let scripts = Scripts::start(vec![spec], host(), Config::default()).unwrap();
    assert_eq!(scripts.http(None, "typo.js", req(&[]), T).status, 200);
    let log = status(&scripts)["log"].to_string();
    assert!(
        log.contains("setFlow('typo'): key `byts` is never produced by flowlens"),
        "{log}"
    );
    scripts.stop();
}

/// The topology functions as InMon's topology apps call them: set a two-switch fabric, ask
/// which interfaces are inter-switch links, which port an interface is, the diameter.
#[test]
fn topology_functions_answer_from_the_topology() {
    let d = Dir::new("topo");
    let spec = d.script(
        "topo.js",
        "var ok = setTopology({\n\
           nodes: {\n\
             leaf1: {agent: '10.0.0.1', ports: {'s1-eth1': {ifindex: '1', ofport: '1', dpid: '0000000000000001'}, 's1-eth2': {ifindex: '2'}}},\n\
             leaf2: {agent: '10.0.0.2', ports: {'s2-eth1': {ifindex: '1'}, 's2-eth2': {ifindex: '2'}}}\n\
           },\n\
           links: {l12: {node1: 'leaf1', port1: 's1-eth2', node2: 'leaf2', port2: 's2-eth2'}}\n\
         });\n\
         function located() { try { return topologyLocateHostIP('10.0.0.9'); } catch (e) { return e.message; } }\n\
         setHttpHandler(function(req) {\n\
           var link = topologyInterfaceToLink('10.0.0.1', '2');\n\
           return {ok: ok, version: topologyVersion(), nodes: topologyNodeNames(), links: topologyLinkNames(),\n\
             link: link, edge: topologyInterfaceToLink('10.0.0.1', '1'),\n\
             port: topologyInterfaceToPort('10.0.0.1', '1'), agent: topologyAgentForNode('leaf2'),\n\
             forAgent: topologyNodesForAgent('10.0.0.2'), nodeLinks: topologyNodeLinks('leaf1'),\n\
             l12: topologyLink(link.linkname).node2, diameter: topologyDiameter(),\n\
             internal: topologyInterfaceToPort('10.0.0.1', 'internal'), located: located(),\n\
             macs: topologyLocatedHostMacs('10.0.0.1', '1'), host: topologyLocateHostMac('00:11:22:33:44:55'),\n\
             path: topologyShortestPath('leaf1', 'leaf2'), tree: topologyMinimumSpanningTree(),\n\
             paths: (function() { try { return topologyShortestPaths('leaf1', 'leaf2', 2); } catch (e) { return e.message; } })(),\n\
             keys: Object.keys(getTopology())};\n\
         });\n",
    );
    let scripts = Scripts::start(vec![spec], host(), Config::default()).unwrap();
    let r = scripts.http(None, "topo.js", req(&[]), T);
    assert_eq!(r.status, 200, "{r:?} {}", status(&scripts));
    assert_eq!(
        serde_json::from_str::<Json>(&r.body).unwrap(),
        json!({
            "ok": true, "version": 1, "nodes": ["leaf1", "leaf2"], "links": ["l12"],
            "link": {"linkname": "l12", "link": "l12", "localnode": "leaf1", "localport": "s1-eth2",
                     "remotenode": "leaf2", "remoteport": "s2-eth2"},
            "edge": null,
            "port": {"ifindex": "1", "ofport": "1", "dpid": "0000000000000001", "node": "leaf1", "port": "s1-eth1"},
            "agent": "10.0.0.2", "forAgent": ["leaf2"], "nodeLinks": ["l12"], "l12": "leaf2",
            "diameter": 1, "internal": null, "keys": ["nodes", "links"],
            "path": ["l12"], "tree": ["l12"],
            "paths": "topologyShortestPaths(): not available in flowlens: sFlow-RT does not document its answer \
                     (README: sFlow-RT functions and resources flowlens does not have)",
            "located": "topologyLocateHostIP(): not available in flowlens: hosts are located by MAC \
                        address only (README: sFlow-RT functions and resources flowlens does not have)",
            "macs": [], "host": null,
        })
    );
    scripts.stop();
}
