//! flowlens-script: embedded JavaScript apps with sFlow-RT's script API.
//!
//! sFlow-RT users automate with small scripts: define flows and thresholds, react to events
//! and logged flows, act (an OpenFlow rule through `runCmd('ovs-ofctl', …)`, a syslog message
//! to a SIEM, metrics to Graphite, a REST call to a controller) and answer HTTP requests.
//! This crate runs those scripts unchanged.
//!
//! * [`Scripts`] ([`apps`]): the running set, started from `--script FILE` and from apps
//!   (`<apps>/<app>/scripts/*.js`); the server offers it events and flow records and routes
//!   HTTP requests to it.
//! * [`ScriptHandle`] ([`script`]): one script: its thread, inbox, status and counters.
//! * `runtime`: the QuickJS runtime of a script and its limits (memory, time per call);
//!   scripts run as sloppy-mode JavaScript, as sFlow-RT's do.
//! * `source`: the `// wrapglobals:` header and the rewrite of Rhino/Nashorn expression
//!   closures (`function(el) el.key`).
//! * `ops` and `prelude.js`: sFlow-RT's API (`setFlow`, `activeFlows`, `setEventHandler`,
//!   `syslog`, `http`, `runCmd`, `storeSet`, …), reference in
//!   `../shared/reference/sflow-rt-api.md` §2.
//! * [`actions`]: what scripts do outside the process (syslog, Graphite, HTTP, commands).
//! * [`Host`] ([`host`]): how scripts reach the flow engine, implemented by the server.
//!
//! # Errors
//!
//! One error type, [`Error`]. A script sees each as a thrown `Error` with its message.

pub mod actions;
pub mod apps;
mod config;
mod error;
pub mod host;
mod ops;
mod runtime;
pub mod script;
mod source;
pub mod state;

pub use apps::{find_apps, Scripts};
pub use config::Config;
pub use error::{Error, Result};
pub use host::{EngineJob, Host};
pub use script::ScriptHandle;
pub use state::{HttpReply, HttpRequest, ScriptSpec};
