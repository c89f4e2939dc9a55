//! One running script: its thread, its inbox, and what the server can see of it.
//!
//! Each script runs on its own thread with its own QuickJS runtime (module `runtime`), so a
//! script that loops or allocates without end harms only itself: the runtime's limits stop it
//! and its status says why. The server talks to a script only through its [`ScriptHandle`]:
//! it offers events and flow records (dropped and counted when the inbox is full, never
//! blocking the engine) and passes HTTP requests (answered through a one-shot channel).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};
use serde_json::{json, Map, Value as Json};

use crate::runtime::{Js, Stop};
use crate::{Config, Host};

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
    fn to_json(&self) -> Json {
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

/// What a script's thread receives.
pub(crate) enum Msg {
    Event(Json),
    Flow(Json),
    Async(Json),
    Http(HttpRequest, Sender<HttpReply>),
    Stop,
}

/// Which deliveries a script asked for (its handlers).
#[derive(Debug, Default)]
pub struct Subscriptions {
    inner: Mutex<Subs>,
}

#[derive(Debug, Default)]
struct Subs {
    /// `None`: no handler; `Some(None)`: every name; `Some(Some(names))`: these.
    events: Option<Option<Vec<String>>>,
    flows: Option<Option<Vec<String>>>,
    http: bool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
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
    fn clear(&self) {
        *lock(&self.inner) = Subs::default();
    }
    fn wants(which: &Option<Option<Vec<String>>>, name: &str) -> bool {
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

/// State shared by all scripts of a server (`sharedGet`/`sharedSet`).
#[derive(Debug, Default)]
pub struct Globals {
    values: Mutex<Map<String, Json>>,
}

/// What a script's thread and the server share: counters, status, log tail.
#[derive(Debug)]
pub struct Shared {
    globals: Arc<Globals>,
    alive: AtomicBool,
    stop: AtomicBool,
    error: Mutex<Option<String>>,
    last_handler_error: Mutex<Option<String>>,
    log: Mutex<Vec<String>>,
    cpu_us: AtomicU64,
    memory_bytes: AtomicU64,
    events_received: AtomicU64,
    events_lost: AtomicU64,
    flows_received: AtomicU64,
    flows_lost: AtomicU64,
    http_requests: AtomicU64,
    http_refused: AtomicU64,
    handler_calls: AtomicU64,
    handler_errors: AtomicU64,
    actions: [[AtomicU64; 2]; 4],
    async_in_flight: AtomicUsize,
}

impl Shared {
    fn new(globals: Arc<Globals>) -> Shared {
        Shared {
            globals,
            alive: AtomicBool::new(true),
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
            async_in_flight: AtomicUsize::new(0),
        }
    }

    pub(crate) fn count(&self, action: Action, ok: bool) {
        let i = action as usize;
        if let Some(slot) = self.actions.get(i).and_then(|a| a.get(usize::from(!ok))) {
            slot.fetch_add(1, Ordering::Relaxed);
        }
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

    fn died(&self, msg: String) {
        self.alive.store(false, Ordering::Relaxed);
        *lock(&self.error) = Some(msg);
    }
}

/// The server's handle on one script.
pub struct ScriptHandle {
    spec: ScriptSpec,
    tx: Sender<Msg>,
    shared: Arc<Shared>,
    subs: Arc<Subscriptions>,
    thread: Mutex<Option<JoinHandle<()>>>,
    started_ms: u64,
}

impl ScriptHandle {
    /// Starts `spec` on its own thread. Loading (reading the file, running its top-level
    /// code) happens on that thread; a failure there shows in the status, not here.
    ///
    /// # Errors
    /// The thread cannot be spawned.
    pub fn start(
        spec: ScriptSpec,
        host: Arc<dyn Host>,
        config: Arc<Config>,
        globals: Arc<Globals>,
    ) -> std::io::Result<ScriptHandle> {
        let (tx, rx) = crossbeam_channel::bounded(config.inbox_capacity.max(1));
        let shared = Arc::new(Shared::new(globals));
        let subs = Arc::new(Subscriptions::default());
        let thread = {
            let (spec, shared, subs, tx) = (spec.clone(), shared.clone(), subs.clone(), tx.clone());
            std::thread::Builder::new()
                .name(format!("script {}", spec.id()))
                .spawn(move || run(&spec, host, config, &shared, &subs, &tx, &rx))?
        };
        Ok(ScriptHandle {
            spec,
            tx,
            shared,
            subs,
            thread: Mutex::new(Some(thread)),
            started_ms: unix_ms(),
        })
    }

    /// The script's id (`ddos.js`, `ddos-protect/ddos.js`).
    pub fn id(&self) -> String {
        self.spec.id()
    }

    /// Where it comes from.
    pub fn spec(&self) -> &ScriptSpec {
        &self.spec
    }

    /// Still running (loaded and not stopped by a limit or an exception at top level).
    pub fn alive(&self) -> bool {
        self.shared.alive.load(Ordering::Relaxed)
    }

    /// Whether an event of threshold `threshold_id` goes to this script.
    pub fn wants_event(&self, threshold_id: &str) -> bool {
        self.alive() && Subscriptions::wants(&lock(&self.subs.inner).events, threshold_id)
    }

    /// Whether a logged flow of definition `name` goes to this script.
    pub fn wants_flow(&self, name: &str) -> bool {
        self.alive() && Subscriptions::wants(&lock(&self.subs.inner).flows, name)
    }

    /// Offers an event (`Event::to_json`); counted as lost when the inbox is full.
    pub fn offer_event(&self, event: Json) {
        self.offer(
            Msg::Event(event),
            &self.shared.events_received,
            &self.shared.events_lost,
        );
    }

    /// Offers a logged flow (`LoggedFlow::to_json`); counted as lost when the inbox is full.
    pub fn offer_flow(&self, flow: Json) {
        self.offer(
            Msg::Flow(flow),
            &self.shared.flows_received,
            &self.shared.flows_lost,
        );
    }

    fn offer(&self, msg: Msg, received: &AtomicU64, lost: &AtomicU64) {
        match self.tx.try_send(msg) {
            Ok(()) => received.fetch_add(1, Ordering::Relaxed),
            Err(_) => lost.fetch_add(1, Ordering::Relaxed),
        };
    }

    /// Runs the script's HTTP handler on `req`, waiting at most `timeout`.
    pub fn http(&self, req: HttpRequest, timeout: Duration) -> HttpReply {
        let refuse = |body: &str| {
            self.shared.http_refused.fetch_add(1, Ordering::Relaxed);
            HttpReply {
                status: 503,
                body: body.to_string(),
            }
        };
        if !self.alive() {
            return refuse("the script has stopped; see /scripts/json");
        }
        let (reply_tx, reply_rx) = crossbeam_channel::bounded(1);
        match self.tx.try_send(Msg::Http(req, reply_tx)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return refuse("the script is busy"),
            Err(TrySendError::Disconnected(_)) => return refuse("the script has stopped"),
        }
        self.shared.http_requests.fetch_add(1, Ordering::Relaxed);
        match reply_rx.recv_timeout(timeout) {
            Ok(r) => r,
            Err(_) => refuse("the script did not answer in time"),
        }
    }

    /// The `/scripts/json` entry.
    pub fn status_json(&self) -> Json {
        let s = &self.shared;
        let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let action = |i: usize| {
            let pair = s.actions.get(i);
            json!({
                "sent": pair.and_then(|p| p.first()).map_or(0, n),
                "errors": pair.and_then(|p| p.get(1)).map_or(0, n),
            })
        };
        json!({
            "id": self.id(),
            "file": self.spec.path.display().to_string(),
            "app": self.spec.app,
            "alive": self.alive(),
            "error": *lock(&s.error),
            "started": self.started_ms,
            "cpuMs": n(&s.cpu_us) as f64 / 1000.0,
            "memoryBytes": n(&s.memory_bytes),
            "eventsReceived": n(&s.events_received),
            "eventsLost": n(&s.events_lost),
            "flowsReceived": n(&s.flows_received),
            "flowsLost": n(&s.flows_lost),
            "httpRequests": n(&s.http_requests),
            "httpRefused": n(&s.http_refused),
            "handlerCalls": n(&s.handler_calls),
            "handlerErrors": n(&s.handler_errors),
            "lastHandlerError": *lock(&s.last_handler_error),
            "actions": {
                "syslog": action(Action::Syslog as usize),
                "graphite": action(Action::Graphite as usize),
                "http": action(Action::Http as usize),
                "runCmd": action(Action::RunCmd as usize),
            },
            "log": *lock(&s.log),
        })
    }

    /// Asks the script to stop (interrupting JavaScript that is running) and waits for its
    /// thread.
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        let _ = self.tx.try_send(Msg::Stop);
        if let Some(t) = lock(&self.thread).take() {
            let _ = t.join();
        }
    }
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The script thread: load, then serve the inbox and the interval handler until stopped.
fn run(
    spec: &ScriptSpec,
    host: Arc<dyn Host>,
    config: Arc<Config>,
    shared: &Arc<Shared>,
    subs: &Arc<Subscriptions>,
    tx: &Sender<Msg>,
    rx: &Receiver<Msg>,
) {
    let id = spec.id();
    let died = |msg: String| {
        eprintln!("flowlens: script {id} stopped: {msg}");
        shared.died(msg);
        subs.clear();
    };
    let inbox = tx.clone();
    let async_reply: Arc<dyn Fn(Json) -> bool + Send + Sync> =
        Arc::new(move |j| inbox.try_send(Msg::Async(j)).is_ok());
    let js = Js::new(
        spec,
        host,
        config.clone(),
        shared.clone(),
        subs.clone(),
        async_reply,
    );
    let mut js = match js {
        Ok(js) => js,
        Err(e) => return died(e.to_string()),
    };
    if let Err(stop) = js.load(&spec.path) {
        return died(stop.to_string());
    }
    let mut next_interval: Option<Instant> = None;
    loop {
        // The interval handler's schedule follows its current period.
        match (js.interval(), next_interval) {
            (None, _) => next_interval = None,
            (Some(p), None) => next_interval = Some(Instant::now() + p),
            _ => {}
        }
        let msg = match next_interval {
            Some(at) => rx.recv_timeout(at.saturating_duration_since(Instant::now())),
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        let outcome = match msg {
            Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => break,
            Ok(Msg::Event(e)) => js.dispatch("event", &e).map(drop),
            Ok(Msg::Flow(f)) => js.dispatch("flow", &f).map(drop),
            Ok(Msg::Async(a)) => js.dispatch("async", &a).map(drop),
            Ok(Msg::Http(req, reply)) => match js.http(&req.to_json()) {
                Ok(answer) => {
                    let _ = reply.send(answer);
                    Ok(())
                }
                Err(Stop::Fatal(msg)) => {
                    // Dead before the caller hears of it, so a status read after the 500
                    // already says so.
                    died(msg.clone());
                    let _ = reply.send(HttpReply {
                        status: 500,
                        body: msg,
                    });
                    return;
                }
            },
            Err(RecvTimeoutError::Timeout) => Ok(()),
        };
        if let Err(Stop::Fatal(msg)) = outcome {
            return died(msg);
        }
        if shared.stop_requested() {
            break;
        }
        if let (Some(at), Some(period)) = (next_interval, js.interval()) {
            let now = Instant::now();
            if now >= at {
                // Behind schedule (a slow handler): skip missed ticks rather than burst.
                let mut next = at + period;
                if next <= now {
                    next = now + period;
                }
                next_interval = Some(next);
                if let Err(Stop::Fatal(msg)) = js.dispatch("interval", &Json::from(unix_ms())) {
                    return died(msg);
                }
            }
        }
    }
    subs.clear();
    shared.alive.store(false, Ordering::Relaxed);
}
