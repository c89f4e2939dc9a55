//! The native side of the script API: every sFlow-RT function a script calls ends here as
//! `(name, JSON arguments)` and returns JSON or an [`Error`] (thrown in JavaScript as an
//! `Error` with the same message).
//!
//! The JavaScript definitions of the functions (argument defaults, handlers, `include`) are in
//! `prelude.js`; they pass their arguments through `JSON.stringify`, so values arrive here as
//! JSON (`undefined` as `null`). Submodules by what they touch: [`engine`] (flows, thresholds,
//! groups, maps, metrics, topology — through the [`Host`]), [`act`] (syslog, Graphite, HTTP, runCmd),
//! [`store`] (persistent and shared key/value stores), [`util`] (logging, properties,
//! includes, baselines).

use std::path::PathBuf;
use std::sync::Arc;

use flowlens_engine::baseline::Baselines;
use serde_json::Value as Json;

use crate::actions::http::HttpClient;
use crate::actions::syslog::Syslog;
use crate::state::{Shared, Subscriptions};
use crate::{Config, Error, Host, Result};

mod act;
mod engine;
pub(crate) mod store;
mod util;

/// The state behind one script's API calls (one per script thread).
pub(crate) struct Ops {
    pub(crate) id: String,
    pub(crate) dir: PathBuf,
    pub(crate) host: Arc<dyn Host>,
    pub(crate) config: Arc<Config>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) store: store::Store,
    pub(crate) baselines: Baselines,
    pub(crate) syslog: Syslog,
    pub(crate) http: HttpClient,
    /// Where `httpAsync` answers go (into the script's inbox).
    pub(crate) async_reply: Arc<dyn Fn(Json) -> bool + Send + Sync>,
    /// Handlers the script registered, read by the server to decide deliveries.
    pub(crate) subs: Arc<Subscriptions>,
    /// Interval handler period, seconds (`None`: no interval handler).
    pub(crate) interval_secs: Option<f64>,
}

impl Ops {
    /// Runs API function `name` with `args`.
    ///
    /// # Errors
    /// The function's own errors; an unknown `name` is an internal error of the prelude.
    pub(crate) fn call(&mut self, name: &str, args: &[Json]) -> Result<Json> {
        let a = Args {
            function: name,
            args,
        };
        match name {
            // engine
            "setFlow" | "clearFlow" | "activeFlows" | "flowValue" | "setThreshold"
            | "clearThreshold" | "thresholdTriggered" | "setGroups" | "setMap" | "metric"
            | "dump" | "table" | "agents" | "metrics" | "flowKeys" | "flows" | "thresholds"
            | "groups" | "maps" | "analyzer" | "version" | "datasourceInfo" => {
                engine::call(self, a)
            }
            n if n.starts_with("topology") || n == "setTopology" || n == "getTopology" => {
                engine::topology(self, a)
            }
            n if n.starts_with("bgp") => self.host.bgp(n, args),
            // actions
            "syslog" | "graphite" | "http" | "http2" | "httpAsync" | "runCmd"
            | "dnsGetAllByName" | "setForward" | "clearForward" => act::call(self, a),
            // stores
            "storeGet" | "storeSet" | "storeDelete" | "storeKeys" | "sharedGet" | "sharedSet"
            | "sharedDelete" | "sharedKeys" => store::call(self, a),
            // handlers (the functions themselves live in the prelude)
            "setEventHandler" => {
                self.subs.set_events(a.names(0));
                Ok(Json::Null)
            }
            "setFlowHandler" => {
                self.subs.set_flows(a.names(0));
                Ok(Json::Null)
            }
            "setHttpHandler" => {
                self.subs.set_http(a.bool_or(0, true));
                Ok(Json::Null)
            }
            "setIntervalHandler" => {
                self.interval_secs = match a.get(0) {
                    Json::Bool(false) => None,
                    Json::Null => Some(1.0),
                    v => Some(
                        v.as_f64()
                            .filter(|s| s.is_finite() && *s > 0.0)
                            .ok_or_else(|| a.bad("seconds must be a number > 0"))?,
                    ),
                };
                Ok(Json::Null)
            }
            _ => util::call(self, a),
        }
    }
}

/// The arguments of one call, with typed accessors that produce precise errors.
#[derive(Clone, Copy)]
pub(crate) struct Args<'a> {
    pub(crate) function: &'a str,
    pub(crate) args: &'a [Json],
}

static NULL: Json = Json::Null;

impl<'a> Args<'a> {
    /// Argument `i`, `null` when absent.
    pub(crate) fn get(&self, i: usize) -> &'a Json {
        self.args.get(i).unwrap_or(&NULL)
    }

    /// An [`Error::Arguments`] of this function.
    pub(crate) fn bad(&self, reason: impl Into<String>) -> Error {
        Error::Arguments {
            function: self.function.to_string().into(),
            reason: reason.into(),
        }
    }

    /// Argument `i` as a string (numbers and booleans converted, as JavaScript would).
    pub(crate) fn str(&self, i: usize, what: &str) -> Result<String> {
        match self.get(i) {
            Json::String(s) => Ok(s.clone()),
            Json::Number(n) => Ok(n.to_string()),
            Json::Bool(b) => Ok(b.to_string()),
            _ => Err(self.bad(format!("{what} (argument {}) must be a string", i + 1))),
        }
    }

    /// Argument `i` as an optional string (`null`/absent: `None`).
    pub(crate) fn opt_str(&self, i: usize, what: &str) -> Result<Option<String>> {
        match self.get(i) {
            Json::Null => Ok(None),
            _ => self.str(i, what).map(Some),
        }
    }

    /// Argument `i` as an optional number.
    pub(crate) fn opt_f64(&self, i: usize, what: &str) -> Result<Option<f64>> {
        match self.get(i) {
            Json::Null => Ok(None),
            Json::Number(n) => Ok(n.as_f64()),
            Json::String(s) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| self.bad(format!("{what} (argument {}) must be a number", i + 1))),
            _ => Err(self.bad(format!("{what} (argument {}) must be a number", i + 1))),
        }
    }

    /// Argument `i` as an object.
    pub(crate) fn object(&self, i: usize, what: &str) -> Result<&'a serde_json::Map<String, Json>> {
        self.get(i)
            .as_object()
            .ok_or_else(|| self.bad(format!("{what} (argument {}) must be an object", i + 1)))
    }

    /// Argument `i` as a boolean (`null`/absent: `default`).
    pub(crate) fn bool_or(&self, i: usize, default: bool) -> bool {
        match self.get(i) {
            Json::Bool(b) => *b,
            Json::Null => default,
            _ => true,
        }
    }

    /// Argument `i` as a list of names: an array of strings or one comma-separated string;
    /// `null`/absent: `None` (all names).
    pub(crate) fn names(&self, i: usize) -> Option<Vec<String>> {
        match self.get(i) {
            Json::Array(a) => Some(a.iter().filter_map(json_text).collect()),
            Json::String(s) => Some(
                s.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
            ),
            _ => None,
        }
    }
}

/// A string or number as text.
pub(crate) fn json_text(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}
