//! The scripts of `flowlens run`: which to start (`--script`, apps), with what limits, and the
//! [`Host`] through which they reach the engine thread.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::{Context, Result};
use flowlens_script::actions::syslog::Format;
use flowlens_script::{Config, EngineJob, Host, ScriptSpec, Scripts};
use serde_json::Value as Json;

use super::analyzer::{self, Receive};
use super::config::Settings;
use super::core::{CallError, CoreHandle};
use super::state::StateDir;

/// Scripts' access to the engine thread.
struct CoreHost {
    core: CoreHandle,
    /// The receive side, for `analyzer()`.
    receive: Arc<Receive>,
}

impl Host for CoreHost {
    fn engine(&self, job: EngineJob) -> flowlens_script::Result<Json> {
        self.core
            .call_blocking(move |c| {
                let now = c.now_ms();
                job(c.engine_mut(), now)
            })
            .map_err(unavailable)?
            .map_err(flowlens_script::Error::Engine)
    }

    fn analyzer(&self) -> flowlens_script::Result<Json> {
        let mut doc = self
            .core
            .call_blocking(analyzer::engine_part)
            .map_err(unavailable)?;
        self.receive.add_to(&mut doc);
        Ok(doc)
    }

    fn forward(&self, name: &str, to: Option<(&str, u16)>) -> Result<(), String> {
        use super::forward::{spec::TargetSpec, Refused};
        let f = self
            .receive
            .forward
            .as_ref()
            .ok_or("sFlow forwarding is not running")?;
        let r = match to {
            Some((address, port)) => {
                let ip = address
                    .trim()
                    .parse()
                    .map_err(|_| format!("address {address:?} is not an IP address"))?;
                f.set_target(
                    name,
                    TargetSpec {
                        to: std::net::SocketAddr::new(ip, port),
                        agents: Vec::new(),
                    },
                )
            }
            None => f.clear_target(name),
        };
        r.map_err(|e| match e {
            Refused::Bad(m) | Refused::NotFound(m) => m,
            Refused::Unsaved(m) => format!("not saved: {m}"),
        })
    }

    fn bgp(&self, function: &str, args: &[Json]) -> flowlens_script::Result<Json> {
        super::bgp::script_call(function, args).map_err(|reason| {
            flowlens_script::Error::Arguments {
                function: function.to_string().into(),
                reason,
            }
        })
    }
}

fn unavailable(e: CallError) -> flowlens_script::Error {
    flowlens_script::Error::Unavailable(match e {
        CallError::Busy => "too many requests waiting",
        CallError::Gone => "the engine has stopped",
    })
}

/// The apps directory in effect.
pub(crate) fn apps_dir(args: &Settings, state: &StateDir) -> PathBuf {
    args.apps_dir
        .clone()
        .unwrap_or_else(|| state.path().join("apps"))
}

/// The scripts to start: `--script` files (each must exist), then the apps' scripts, then
/// those of the built-in apps installed in `builtin` (`super::builtin_apps`) that no app of
/// the apps directory replaces (same name).
///
/// # Errors
/// A script file that does not exist or an apps directory cannot be read (startup errors).
pub(crate) fn specs(
    args: &Settings,
    apps: &std::path::Path,
    builtin: &std::path::Path,
) -> Result<Vec<ScriptSpec>> {
    let mut specs = Vec::new();
    for path in &args.scripts {
        if !path.is_file() {
            anyhow::bail!("script {} not found", path.display());
        }
        specs.push(ScriptSpec {
            path: path.clone(),
            app: None,
        });
    }
    let own = flowlens_script::find_apps(apps).map_err(|e| anyhow::anyhow!("{e}"))?;
    let built_in = flowlens_script::find_apps(builtin).map_err(|e| anyhow::anyhow!("{e}"))?;
    let replaced = |s: &ScriptSpec| own.iter().any(|o| o.app == s.app);
    let built_in: Vec<ScriptSpec> = built_in.into_iter().filter(|s| !replaced(s)).collect();
    specs.extend(own);
    specs.extend(built_in);
    Ok(specs)
}

/// Starts `specs` and makes them known to the engine thread (through `slot`).
///
/// # Errors
/// Two scripts with one name, or a thread that cannot start.
pub(crate) fn start(
    specs: Vec<ScriptSpec>,
    args: &Settings,
    state: &StateDir,
    core: CoreHandle,
    receive: Arc<Receive>,
    slot: &Arc<OnceLock<Scripts>>,
) -> Result<()> {
    let s = &args.script;
    let config = Config {
        memory_limit_bytes: s.memory_mb << 20,
        handler_time_limit: Duration::from_millis(s.time_limit_ms),
        allow_run_cmd: s.allow_run_cmd,
        syslog_format: if s.syslog_rfc3164 {
            Format::Rfc3164
        } else {
            Format::Rfc5424
        },
        store_dir: Some(state.path().join("store")),
        properties: s.properties.clone(),
        ..Config::default()
    };
    let scripts = Scripts::start(specs, Arc::new(CoreHost { core, receive }), config)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("cannot start the scripts")?;
    let _ = slot.set(scripts);
    Ok(())
}
