//! One script's JavaScript runtime (QuickJS through `rquickjs`), with its limits.
//!
//! * Memory: the runtime's heap is capped ([`Config::memory_limit_bytes`]); an allocation
//!   beyond it throws `out of memory`. A script that lets it escape is stopped.
//! * Time: each entry into JavaScript (loading, one handler call) has a budget
//!   ([`Config::handler_time_limit`], [`Config::load_time_limit`]). QuickJS polls an interrupt
//!   handler while it runs; past the deadline the handler interrupts the script, which is
//!   then stopped. Time spent in native calls (engine queries, `http()`, `runCmd()`, which
//!   have their own timeouts) moves the deadline, so only JavaScript's own running counts.
//! * CPU accounting: the thread's CPU clock around each entry (`cpuMs` in `/scripts/json`).
//!
//! Every API function reaches Rust through one native function, `__flowlens_op(name, json)`,
//! which the prelude (`prelude.js`) wraps into sFlow-RT's globals.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rquickjs::context::EvalOptions;
use rquickjs::{Context, Ctx, Function, Module, Runtime};

use serde_json::{json, Value as Json};

use crate::actions::http::HttpClient;
use crate::actions::syslog::Syslog;
use crate::ops::{store::Store, Ops};
use crate::state::{HttpReply, ScriptSpec, Shared, Subscriptions};
use crate::{Config, Error, Host};

/// The API prelude, evaluated before the script.
const PRELUDE: &str = include_str!("prelude.js");
/// The prelude's name in stack frames.
const PRELUDE_NAME: &str = "flowlens-prelude.js";
/// The name QuickJS gives code evaluated from text: the script's frames (see [`Js::load`]).
const SCRIPT_FRAME: &str = "eval_script";
/// Largest script file loaded, bytes.
const MAX_SCRIPT_BYTES: u64 = 16 << 20;

/// Why a script must stop.
#[derive(Debug)]
pub(crate) enum Stop {
    /// Limit exceeded, exception at top level, or a stop request.
    Fatal(String),
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stop::Fatal(m) => f.write_str(m),
        }
    }
}

/// The deadline of the current entry into JavaScript.
struct Budget {
    deadline: Cell<Option<Instant>>,
    /// Set by the interrupt handler when it interrupts: the deadline passed.
    expired: Cell<bool>,
    shared: Arc<Shared>,
}

impl Budget {
    /// Moves the deadline later by `d` (time spent outside JavaScript).
    fn extend(&self, d: Duration) {
        if let Some(at) = self.deadline.get() {
            self.deadline.set(Some(at + d));
        }
    }
}

/// A script's runtime.
pub(crate) struct Js {
    rt: Runtime,
    ctx: Context,
    ops: Rc<RefCell<Ops>>,
    budget: Rc<Budget>,
    config: Arc<Config>,
    shared: Arc<Shared>,
    id: String,
}

impl Js {
    /// A runtime with the API installed, for script `spec`.
    pub(crate) fn new(
        spec: &ScriptSpec,
        host: Arc<dyn Host>,
        config: Arc<Config>,
        shared: Arc<Shared>,
        subs: Arc<Subscriptions>,
        async_reply: Arc<dyn Fn(Json) -> bool + Send + Sync>,
    ) -> Result<Js, Error> {
        let id = spec.id();
        let js_err = |e: rquickjs::Error| Error::Script(format!("cannot start JavaScript: {e}"));
        let rt = Runtime::new().map_err(js_err)?;
        rt.set_memory_limit(config.memory_limit_bytes);
        rt.set_max_stack_size(1 << 20);
        let budget = Rc::new(Budget {
            deadline: Cell::new(None),
            expired: Cell::new(false),
            shared: shared.clone(),
        });
        {
            let b = budget.clone();
            rt.set_interrupt_handler(Some(Box::new(move || {
                if b.shared.stop_requested() {
                    return true;
                }
                match b.deadline.get() {
                    Some(at) if Instant::now() > at => {
                        b.expired.set(true);
                        true
                    }
                    _ => false,
                }
            })));
        }
        let ctx = Context::full(&rt).map_err(js_err)?;
        let dir = spec
            .path
            .parent()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_default();
        let ops = Rc::new(RefCell::new(Ops {
            id: id.clone(),
            dir,
            host,
            config: config.clone(),
            shared: shared.clone(),
            store: Store::open(config.store_dir.as_deref(), &id),
            baselines: Default::default(),
            syslog: Syslog::new(config.syslog_format, "flowlens"),
            http: HttpClient::new(config.http_timeout, config.http_max_body_bytes),
            async_reply,
            subs,
            interval_secs: None,
        }));
        let js = Js {
            rt,
            ctx,
            ops,
            budget,
            config,
            shared,
            id,
        };
        js.install()
            .map_err(|e| Error::Script(format!("cannot install the API: {e}")))?;
        Ok(js)
    }

    /// Installs `__flowlens_op` and evaluates the prelude.
    fn install(&self) -> Result<(), String> {
        let ops = self.ops.clone();
        let budget = self.budget.clone();
        self.ctx.with(|ctx| {
            let op = Function::new(ctx.clone(), move |name: String, args: String| -> String {
                let started = Instant::now();
                let answer = match serde_json::from_str::<Vec<Json>>(&args) {
                    Ok(args) => match ops.try_borrow_mut() {
                        Ok(mut ops) => ops.call(&name, &args),
                        Err(_) => Err(Error::Script(format!(
                            "{name}() cannot be called from inside another API call"
                        ))),
                    },
                    Err(e) => Err(Error::Script(format!("{name}(): bad arguments: {e}"))),
                };
                budget.extend(started.elapsed());
                match answer {
                    Ok(v) => json!({ "v": v }).to_string(),
                    Err(e) => json!({ "e": e.to_string() }).to_string(),
                }
            })
            .map_err(|e| e.to_string())?;
            ctx.globals()
                .set("__flowlens_op", op)
                .map_err(|e| e.to_string())?;
            // A module, so its frames carry their own name and never look like the script's.
            Module::evaluate(ctx.clone(), PRELUDE_NAME, PRELUDE)
                .and_then(|p| p.finish::<()>())
                .map_err(|e| describe(&ctx, e, PRELUDE_NAME))
        })
    }

    /// Runs the script's top-level code from its file, as sFlow-RT does: ordinary (sloppy)
    /// JavaScript, not strict mode, after the rewrite of expression closures
    /// ([`crate::source`]) and with the API under one name when the header says
    /// `// wrapglobals: NAME`. Errors name the script's line.
    pub(crate) fn load(&mut self, path: &std::path::Path) -> Result<(), Stop> {
        let src = match std::fs::metadata(path) {
            Ok(m) if m.len() > MAX_SCRIPT_BYTES => {
                return Err(Stop::Fatal(format!(
                    "{} is larger than {MAX_SCRIPT_BYTES} bytes",
                    path.display()
                )))
            }
            _ => std::fs::read_to_string(path)
                .map_err(|e| Stop::Fatal(format!("cannot read {}: {e}", path.display())))?,
        };
        let wrap = crate::source::wrapglobals(&src);
        let code = crate::source::rewrite_expression_closures(&src);
        let limit = self.config.load_time_limit;
        let r = self.enter(limit, |ctx| {
            if let Some(ns) = &wrap {
                let f: Function = ctx.globals().get("__flowlens_wrapglobals")?;
                f.call::<_, ()>((ns.as_str(),))?;
            }
            let mut opts = EvalOptions::default();
            opts.strict = false;
            ctx.eval_with_options::<(), _>(code, opts)
                .map(|()| Json::Null)
        });
        match r {
            Ok(_) => Ok(()),
            Err(Entry::Limit(msg)) => Err(Stop::Fatal(format!("while loading: {msg}"))),
            Err(Entry::Exception(msg)) => Err(Stop::Fatal(msg)),
        }
    }

    /// The interval handler's period, if there is one.
    pub(crate) fn interval(&self) -> Option<Duration> {
        let secs = self.ops.borrow().interval_secs?;
        Some(Duration::from_secs_f64(secs.clamp(0.001, 86_400.0 * 365.0)))
    }

    /// Runs handler `kind` (`event`, `flow`, `interval`, `async`) with `arg`. An exception
    /// in the handler is recorded (`handlerErrors`) and the script goes on; a limit stops it.
    pub(crate) fn dispatch(&mut self, kind: &str, arg: &Json) -> Result<Json, Stop> {
        let text = arg.to_string();
        let limit = self.config.handler_time_limit;
        let r = self.enter(limit, |ctx| {
            let f: Function = ctx.globals().get("__flowlens_dispatch")?;
            let out: Option<String> = f.call((kind, text.as_str()))?;
            Ok(out.map_or(Json::Null, Json::from))
        });
        self.shared.handler_called();
        match r {
            Ok(v) => Ok(v),
            Err(Entry::Limit(msg)) => Err(Stop::Fatal(format!("in {kind} handler: {msg}"))),
            Err(Entry::Exception(msg)) => {
                let msg = format!("{kind} handler: {msg}");
                // Logged when it differs from the last one: a handler failing the same way
                // on every event is one line (the calls are counted in /scripts/json).
                if self.shared.last_handler_error().as_deref() != Some(msg.as_str()) {
                    tracing::warn!(script = %self.id, "script {}: {msg}", self.id);
                }
                self.shared.handler_error(msg);
                Ok(Json::Null)
            }
        }
    }

    /// Runs the HTTP handler with request `req` (`HttpRequest::to_json`).
    pub(crate) fn http(&mut self, req: &Json) -> Result<HttpReply, Stop> {
        match self.dispatch("http", req) {
            Ok(Json::String(text)) => {
                let v: Json = serde_json::from_str(&text).unwrap_or(Json::Null);
                Ok(HttpReply {
                    status: v
                        .get("status")
                        .and_then(Json::as_u64)
                        .and_then(|s| u16::try_from(s).ok())
                        .unwrap_or(500),
                    body: v
                        .get("body")
                        .and_then(Json::as_str)
                        .unwrap_or_default()
                        .to_string(),
                })
            }
            Ok(_) => Ok(HttpReply {
                status: 500,
                body: self
                    .shared
                    .last_handler_error()
                    .unwrap_or_else(|| "the HTTP handler failed".into()),
            }),
            Err(stop) => Err(stop),
        }
    }

    /// One entry into JavaScript with a time budget, accounting CPU and memory.
    fn enter(
        &mut self,
        limit: Duration,
        f: impl FnOnce(&Ctx<'_>) -> rquickjs::Result<Json>,
    ) -> Result<Json, Entry> {
        self.budget.expired.set(false);
        self.budget.deadline.set(Some(Instant::now() + limit));
        let cpu0 = thread_cpu();
        let file = SCRIPT_FRAME;
        let r = self
            .ctx
            .with(|ctx| f(&ctx).map_err(|e| describe(&ctx, e, file)));
        self.budget.deadline.set(None);
        self.shared.add_cpu(thread_cpu().saturating_sub(cpu0));
        let usage = self.rt.memory_usage();
        self.shared
            .set_memory(u64::try_from(usage.malloc_size).unwrap_or(0));
        match r {
            Ok(v) => Ok(v),
            Err(_) if self.shared.stop_requested() => {
                Err(Entry::Limit("stopped by the server".into()))
            }
            Err(_) if self.budget.expired.get() => Err(Entry::Limit(format!(
                "ran JavaScript longer than its limit of {} ms; stopped",
                limit.as_millis()
            ))),
            Err(msg) if msg.contains("out of memory") => Err(Entry::Limit(format!(
                "exceeded its memory limit of {} MiB; stopped",
                self.config.memory_limit_bytes >> 20
            ))),
            Err(msg) => Err(Entry::Exception(msg)),
        }
    }
}

/// How an entry into JavaScript failed.
enum Entry {
    /// A limit (time, memory, stop request): the script must stop.
    Limit(String),
    /// An exception the script did not catch.
    Exception(String),
}

/// The message of a failed evaluation: the exception's message and the line of `file`
/// (the script's file name) where it was thrown or passed through.
fn describe(ctx: &Ctx<'_>, e: rquickjs::Error, file: &str) -> String {
    if !matches!(e, rquickjs::Error::Exception) {
        return e.to_string();
    }
    let v = ctx.catch();
    if let Some(ex) = v.as_exception() {
        let msg = ex.message().unwrap_or_default();
        // Frames look like `    at block (ddos.js:27)` or `    at <eval> (ddos.js:85:1)`;
        // a syntax error's only frame is `    at ddos.js:37:1`.
        let markers = [format!("({file}:"), format!("at {file}:")];
        let line = ex.stack().and_then(|s| {
            s.lines().find_map(|l| {
                let (at, marker) = markers
                    .iter()
                    .find_map(|m| l.find(m.as_str()).map(|at| (at, m)))?;
                let rest = &l[at + marker.len()..];
                let n: String = rest.chars().take_while(char::is_ascii_digit).collect();
                (!n.is_empty()).then_some(n)
            })
        });
        return match line {
            Some(n) => format!("{msg} (line {n})"),
            None => msg,
        };
    }
    // `throw 'text'` and other non-Error values.
    match v.as_string().and_then(|s| s.to_string().ok()) {
        Some(s) => s,
        None => format!("uncaught {}", v.type_name()),
    }
}

/// This thread's CPU time.
fn thread_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    )
}
