//! Arguments a script passes to sFlow-RT's script API: the input, as a JSON array of
//! arguments (or, when it is not one, as a single string argument), is handed to every
//! engine, store and formatting function of the API from a real script running in the real
//! QuickJS runtime, against a real flow engine. Scripts are user code: whatever they pass,
//! the API throws an error at worst, and nothing panics (the fuzzer aborts on a panic in any
//! thread).
//!
//! One script runs for the whole fuzzing process, as a long-lived app does: each input
//! reaches it as the body of a request to its HTTP handler (`setHttpHandler`), so the engine
//! and the stores keep what earlier inputs set (their caps hold it bounded). The handler must
//! answer every request, in time, and the script must stay alive.
#![no_main]

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use flowlens_engine::Engine;
use flowlens_script::{Config, EngineJob, Host, HttpRequest, ScriptSpec, Scripts};
use libfuzzer_sys::fuzz_target;
use serde_json::Value as Json;

/// The API functions called: every one that reaches the engine, the stores and the
/// formatting helpers; none that acts outside the process (syslog, http, runCmd, ...).
const FUNCTIONS: &[&str] = &[
    "setFlow",
    "flowValue",
    "activeFlows",
    "flowKeys",
    "setThreshold",
    "thresholdTriggered",
    "setGroups",
    "setMap",
    "metric",
    "dump",
    "table",
    "agents",
    "metrics",
    "flows",
    "thresholds",
    "groups",
    "maps",
    "datasourceInfo",
    "setTopology",
    "getTopology",
    "topologyNodeNames",
    "storeSet",
    "storeGet",
    "storeKeys",
    "storeDelete",
    "sharedSet",
    "sharedGet",
    "sharedDelete",
    "formatDate",
    "setIntervalHandler",
    "clearThreshold",
    "clearFlow",
];

/// A host whose engine thread is the caller's: jobs run at once on a real engine.
struct FuzzHost(Mutex<Engine>);

impl Host for FuzzHost {
    fn engine(&self, job: EngineJob) -> flowlens_script::Result<Json> {
        let mut engine = self.0.lock().unwrap_or_else(|e| e.into_inner());
        job(&mut engine, 1_700_000_000_000).map_err(flowlens_script::Error::Engine)
    }

    fn analyzer(&self) -> flowlens_script::Result<Json> {
        Ok(Json::Object(serde_json::Map::new()))
    }
}

/// The script, started on the first input.
fn script() -> &'static Scripts {
    static SCRIPTS: OnceLock<Scripts> = OnceLock::new();
    SCRIPTS.get_or_init(|| {
        let names = serde_json::to_string(FUNCTIONS).unwrap_or_default();
        let source = format!(
            "var G = this;\n\
             setHttpHandler(function (req) {{\n\
               var s = String(req.body);\n\
               var args; try {{ args = JSON.parse(s); }} catch (e) {{ args = [s]; }}\n\
               if (!Array.isArray(args)) args = [args];\n\
               {names}.forEach(function (f) {{\n\
                 try {{ G[f].apply(null, args); }} catch (e) {{ String(e); }}\n\
               }});\n\
               return 'done';\n\
             }});\n"
        );
        let path =
            std::env::temp_dir().join(format!("flowlens-fuzz-script-{}.js", std::process::id()));
        std::fs::write(&path, source).expect("write the fuzz script");
        let host = Arc::new(FuzzHost(Mutex::new(Engine::default())));
        let config = Config {
            load_time_limit: Duration::from_secs(2),
            ..Config::default()
        };
        let spec = ScriptSpec {
            path: path.clone(),
            app: None,
        };
        let scripts = Scripts::start(vec![spec], host, config).expect("start the fuzz script");
        for s in scripts.iter() {
            assert!(s.wait_loaded(Instant::now() + Duration::from_secs(5)));
        }
        // Loaded: the file is read once, so the run leaves nothing in the temporary directory.
        let _ = std::fs::remove_file(&path);
        scripts
    })
}

fuzz_target!(|data: &[u8]| {
    let scripts = script();
    let text = String::from_utf8_lossy(data).into_owned();
    let req = HttpRequest {
        method: "POST".into(),
        body: Some(Json::String(text)),
        format: "json".into(),
        ..HttpRequest::default()
    };
    let file = scripts
        .iter()
        .next()
        .map(|s| s.spec().file())
        .unwrap_or_default();
    let reply = scripts.http(None, &file, req, Duration::from_secs(10));
    assert_eq!(reply.status, 200, "the handler failed: {}", reply.body);
    assert!(scripts.iter().all(|s| s.alive()), "the script stopped");
});
