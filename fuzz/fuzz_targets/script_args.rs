//! Arguments a script passes to sFlow-RT's script API: the input, as a JSON array of
//! arguments (or, when it is not one, as a single string argument), is handed to every
//! engine, store and formatting function of the API from a real script running in the real
//! QuickJS runtime, against a real flow engine. Scripts are user code: whatever they pass,
//! the API throws an error at worst, and nothing panics (the fuzzer aborts on a panic in any
//! thread).
#![no_main]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use flowlens_engine::Engine;
use flowlens_script::{Config, EngineJob, Host, ScriptSpec, Scripts};
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

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // The input as a JavaScript string literal (JSON's string syntax is one).
    let literal = serde_json::to_string(&text).unwrap_or_default();
    let names = serde_json::to_string(FUNCTIONS).unwrap_or_default();
    let script = format!(
        "var s = {literal};\n\
         var args; try {{ args = JSON.parse(s); }} catch (e) {{ args = [s]; }}\n\
         if (!Array.isArray(args)) args = [args];\n\
         {names}.forEach(function (f) {{\n\
           try {{ this[f].apply(null, args); }} catch (e) {{ String(e); }}\n\
         }}, this);\n"
    );
    let path = std::env::temp_dir().join(format!("flowlens-fuzz-script-{}.js", std::process::id()));
    if std::fs::write(&path, script).is_err() {
        return;
    }
    let host = Arc::new(FuzzHost(Mutex::new(Engine::default())));
    let config = Config {
        load_time_limit: Duration::from_secs(2),
        ..Config::default()
    };
    let spec = ScriptSpec { path, app: None };
    let Ok(scripts) = Scripts::start(vec![spec], host, config) else {
        return;
    };
    for s in scripts.iter() {
        s.wait_loaded(Instant::now() + Duration::from_secs(5));
    }
    scripts.stop();
});
