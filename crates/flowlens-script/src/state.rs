//! One script's state as its thread, its QuickJS runtime, its API functions (`ops`) and the
//! server share it: where it comes from ([`ScriptSpec`]), its HTTP requests and replies, the
//! handlers it registered ([`Subscriptions`]), its counters, status and log tail ([`Shared`]),
//! and the values all scripts share ([`Globals`]). A leaf module: the thread driver
//! (`script`), the runtime and the ops all use it, and it uses none of them.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde_json::{json, Map, Value as Json};

/// Log lines kept per script for `/scripts/json`.
const LOG_LINES: usize = 20;

/// Where a script comes from.
#[derive(Clone, Debug)]
pub struct ScriptSpec {
    /// The script file.
    pub path: PathBuf,
    /// The app it belongs to (`apps/<app>/scripts/<file>.js`), `None` for `--script FILE`.
    pub app: Option<String>,
}

impl ScriptSpec {
    /// The script's file name (`ddos.js`): `/script/<file>/json` finds it by this.
    pub fn file(&self) -> String {
        self.path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// The script's id: `<app>/<file>` for app scripts, the file name otherwise.
    pub fn id(&self) -> String {
        match &self.app {
            Some(app) => format!("{app}/{}", self.file()),
            None => self.file(),
        }
    }
}

/// An HTTP request for a script's handler (sFlow-RT's `req`).
#[derive(Clone, Debug, Default)]
pub struct HttpRequest {
    /// `GET`, `PUT`, `POST`, `DELETE`…
    pub method: String,
    /// Path segments after the script's name, without the trailing format segment
    /// (`/app/a/scripts/s.js/controls/json` → `["controls"]`).
    pub path: Vec<String>,
    /// Query parameters, every value of a name in order (`?address=a&address=b`).
    pub query: BTreeMap<String, Vec<String>>,
    /// The body parsed as JSON (or JavaScript-object syntax), `None` when empty.
    pub body: Option<Json>,
    /// `json` or `txt` (the trailing path segment).
    pub format: String,
}

impl HttpRequest {
    pub(crate) fn to_json(&self) -> Json {
        json!({
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "body": self.body,
            "format": self.format,
        })
    }
}

/// A script handler's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpReply {
    /// 200, 400 (`throw 'bad_request'`), 404 (`throw 'not_found'`, no handler), 500 (the
    /// handler failed), 503 (the script is busy or stopped).
    pub status: u16,
    /// The body: what the handler returned (a string as is, anything else as JSON), or an
    /// error message.
    pub body: String,
}

/// Which deliveries a script asked for (its handlers).
#[derive(Debug, Default)]
pub struct Subscriptions {
    pub(crate) inner: Mutex<Subs>,
}

#[derive(Debug, Default)]
pub(crate) struct Subs {
    /// `None`: no handler; `Some(None)`: every name; `Some(Some(names))`: these.
    pub(crate) events: Option<Option<Vec<String>>>,
    pub(crate) flows: Option<Option<Vec<String>>>,
    pub(crate) http: bool,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Subscriptions {
    pub(crate) fn set_events(&self, names: Option<Vec<String>>) {
        lock(&self.inner).events = Some(names).filter(|n| n.as_ref().is_none_or(|v| !v.is_empty()));
    }
    pub(crate) fn set_flows(&self, names: Option<Vec<String>>) {
        lock(&self.inner).flows = Some(names).filter(|n| n.as_ref().is_none_or(|v| !v.is_empty()));
    }
    pub(crate) fn set_http(&self, on: bool) {
        lock(&self.inner).http = on;
    }
    pub(crate) fn clear(&self) {
        *lock(&self.inner) = Subs::default();
    }
    pub(crate) fn wants(which: &Option<Option<Vec<String>>>, name: &str) -> bool {
        match which {
            None => false,
            Some(None) => true,
            Some(Some(names)) => names.iter().any(|n| n == name),
        }
    }
}

/// The actions a script takes, counted in its status.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Action {
    Syslog,
    Graphite,
    Http,
    RunCmd,
}

impl Action {
    /// The script function's name (`http` for `http`, `http2` and `httpAsync`).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Action::Syslog => "syslog",
            Action::Graphite => "graphite",
            Action::Http => "http",
            Action::RunCmd => "runCmd",
        }
    }
}

/// State shared by all scripts of a server (`sharedGet`/`sharedSet`).
#[derive(Debug, Default)]
pub struct Globals {
    pub(crate) values: Mutex<Map<String, Json>>,
}

/// What a script's thread and the server share: counters, status, log tail.
#[derive(Debug)]
pub struct Shared {
    pub(crate) globals: Arc<Globals>,
    pub(crate) alive: AtomicBool,
    /// Loading is over (the top-level code ran, or the script died), with its signal.
    pub(crate) settled: Mutex<bool>,
    pub(crate) settled_cv: std::sync::Condvar,
    pub(crate) stop: AtomicBool,
    pub(crate) error: Mutex<Option<String>>,
    pub(crate) last_handler_error: Mutex<Option<String>>,
    pub(crate) log: Mutex<Vec<String>>,
    pub(crate) cpu_us: AtomicU64,
    pub(crate) memory_bytes: AtomicU64,
    pub(crate) events_received: AtomicU64,
    pub(crate) events_lost: AtomicU64,
    pub(crate) flows_received: AtomicU64,
    pub(crate) flows_lost: AtomicU64,
    pub(crate) http_requests: AtomicU64,
    pub(crate) http_refused: AtomicU64,
    pub(crate) handler_calls: AtomicU64,
    pub(crate) handler_errors: AtomicU64,
    pub(crate) actions: [[AtomicU64; 2]; 4],
    /// Whether the last call of each action failed (its failures are logged once per run of
    /// failures, not per call).
    pub(crate) failing: [AtomicBool; 4],
    pub(crate) async_in_flight: AtomicUsize,
}

impl Shared {
    pub(crate) fn new(globals: Arc<Globals>) -> Shared {
        Shared {
            globals,
            alive: AtomicBool::new(true),
            settled: Mutex::new(false),
            settled_cv: std::sync::Condvar::new(),
            stop: AtomicBool::new(false),
            error: Mutex::new(None),
            last_handler_error: Mutex::new(None),
            log: Mutex::new(Vec::new()),
            cpu_us: AtomicU64::new(0),
            memory_bytes: AtomicU64::new(0),
            events_received: AtomicU64::new(0),
            events_lost: AtomicU64::new(0),
            flows_received: AtomicU64::new(0),
            flows_lost: AtomicU64::new(0),
            http_requests: AtomicU64::new(0),
            http_refused: AtomicU64::new(0),
            handler_calls: AtomicU64::new(0),
            handler_errors: AtomicU64::new(0),
            actions: Default::default(),
            failing: Default::default(),
            async_in_flight: AtomicUsize::new(0),
        }
    }

    pub(crate) fn count(&self, action: Action, ok: bool) {
        let i = action as usize;
        if let Some(slot) = self.actions.get(i).and_then(|a| a.get(usize::from(!ok))) {
            slot.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Records whether the last call of `action` failed; returns whether the one before did.
    pub(crate) fn set_failing(&self, action: Action, failed: bool) -> bool {
        self.failing
            .get(action as usize)
            .is_some_and(|f| f.swap(failed, Ordering::Relaxed))
    }

    pub(crate) fn log(&self, level: &str, text: &str) {
        let mut log = lock(&self.log);
        if log.len() >= LOG_LINES {
            log.remove(0);
        }
        log.push(format!("{level}: {text}"));
    }

    pub(crate) fn global_get(&self, key: &str) -> Json {
        lock(&self.globals.values)
            .get(key)
            .cloned()
            .unwrap_or(Json::Null)
    }

    pub(crate) fn global_set(&self, key: String, v: Json) {
        let mut m = lock(&self.globals.values);
        if v.is_null() {
            m.remove(&key);
        } else {
            m.insert(key, v);
        }
    }

    pub(crate) fn global_keys(&self) -> Vec<String> {
        lock(&self.globals.values).keys().cloned().collect()
    }

    pub(crate) fn async_begin(&self, max: usize) -> bool {
        self.async_in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .is_ok()
    }

    pub(crate) fn async_end(&self) {
        self.async_in_flight.fetch_sub(1, Ordering::AcqRel);
    }

    pub(crate) fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    pub(crate) fn add_cpu(&self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.cpu_us.fetch_add(us, Ordering::Relaxed);
    }

    pub(crate) fn set_memory(&self, bytes: u64) {
        self.memory_bytes.store(bytes, Ordering::Relaxed);
    }

    pub(crate) fn handler_error(&self, msg: String) {
        self.handler_errors.fetch_add(1, Ordering::Relaxed);
        *lock(&self.last_handler_error) = Some(msg);
    }

    pub(crate) fn handler_called(&self) {
        self.handler_calls.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn last_handler_error(&self) -> Option<String> {
        lock(&self.last_handler_error).clone()
    }

    pub(crate) fn died(&self, msg: String) {
        self.alive.store(false, Ordering::Relaxed);
        *lock(&self.error) = Some(msg);
        self.settle();
    }

    /// Marks loading as over and wakes [`Shared::wait_settled`].
    pub(crate) fn settle(&self) {
        *lock(&self.settled) = true;
        self.settled_cv.notify_all();
    }

    /// Waits until loading is over or `deadline` passes; true when it is over.
    pub(crate) fn wait_settled(&self, deadline: std::time::Instant) -> bool {
        let mut done = lock(&self.settled);
        while !*done {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return false;
            }
            done = match self.settled_cv.wait_timeout(done, left) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
        true
    }
}
