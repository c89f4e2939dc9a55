//! One running script: its thread, its inbox, and what the server can see of it.
//!
//! Each script runs on its own thread with its own QuickJS runtime (module `runtime`), so a
//! script that loops or allocates without end harms only itself: the runtime's limits stop it
//! and its status says why. The server talks to a script only through its [`ScriptHandle`]:
//! it offers events and flow records (dropped and counted when the inbox is full, never
//! blocking the engine) and passes HTTP requests (answered through a one-shot channel).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};
use serde_json::{json, Value as Json};

use crate::runtime::{Js, Stop};
use crate::state::{
    lock, Action, Globals, HttpReply, HttpRequest, ScriptSpec, Shared, Subscriptions,
};
use crate::{Config, Host};

/// What a script's thread receives.
pub(crate) enum Msg {
    Event(Json),
    Flow(Json),
    Async(Json),
    Http(HttpRequest, Sender<HttpReply>),
    Stop,
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

    /// Waits until the script has loaded (its top-level code ran) or died, at most until
    /// `deadline`; true when it did.
    pub fn wait_loaded(&self, deadline: Instant) -> bool {
        self.shared.wait_settled(deadline)
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
        tracing::error!(script = %id, "script {id} stopped: {msg}");
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
    shared.settle();
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
