//! SIGHUP: read the config file again and apply what can change while running, and the
//! systemd notifications (`READY=1`, `RELOADING=1`, `STOPPING=1`) that go with start, reload
//! and stop.
//!
//! What a reload applies at once: `log-level` (unless `--log-level` or `RUST_LOG` set it) and
//! `loss-log-interval`. Every other setting (addresses, state directory, workers, scripts,
//! write policy, ClickHouse, `log-format`) is bound at start: a change is logged as waiting
//! for a restart and the setting in effect stays. A file that no longer parses is logged and
//! nothing changes. Definitions made over REST are not in the file and are untouched.

use std::sync::Arc;

use tracing::{error, info, warn};

use super::config::Settings;
use super::log::Logs;
use super::losses::Interval;
use crate::RunArgs;

/// What a reload needs: the flags (which still override the file), the settings in effect
/// and the handles of what can change.
pub(crate) struct Reload {
    /// The command line.
    pub(crate) cli: RunArgs,
    /// The settings in effect.
    pub(crate) settings: Settings,
    /// The logger.
    pub(crate) logs: Logs,
    /// The loss summaries' interval.
    pub(crate) loss_interval: Arc<Interval>,
}

impl Reload {
    /// Reads the config file again and applies what changed (see the module docs); logs what
    /// was applied and what waits for a restart.
    pub(crate) fn reload(&mut self) {
        let mut reloading = vec![sd_notify::NotifyState::Reloading];
        // systemd 253 and later want the time of the reload with it.
        reloading.extend(sd_notify::NotifyState::monotonic_usec_now().ok());
        notify(&reloading);
        self.apply();
        notify(&[sd_notify::NotifyState::Ready]);
    }

    fn apply(&mut self) {
        let Some(path) = self.cli.config.clone() else {
            info!("SIGHUP: no config file (--config) to reload");
            return;
        };
        let new = match Settings::resolve(&self.cli) {
            Ok(s) => s,
            Err(e) => {
                error!(config = %path.display(), "SIGHUP: config not reloaded: {e:#}");
                return;
            }
        };
        let (live, restart) = self.settings.changes(&new);
        let mut applied = Vec::new();
        for key in live {
            let done = match key {
                "log-level" => self.logs.set_filter(&new.log.filter).map(|()| {
                    self.settings.log.filter.clone_from(&new.log.filter);
                }),
                "loss-log-interval" => {
                    self.loss_interval.set(new.log.loss_interval_secs);
                    self.settings.log.loss_interval_secs = new.log.loss_interval_secs;
                    Ok(())
                }
                _ => Ok(()),
            };
            match done {
                Ok(()) => applied.push(key),
                Err(e) => error!(setting = key, "SIGHUP: {key} not changed: {e:#}"),
            }
        }
        if !restart.is_empty() {
            warn!(
                config = %path.display(),
                restart_needed = %restart.join(", "),
                "SIGHUP: changed settings that take effect at the next restart: {}",
                restart.join(", ")
            );
        }
        info!(
            config = %path.display(),
            reloaded = %applied.join(", "),
            log_level = %self.settings.log.filter,
            loss_log_interval = self.settings.log.loss_interval_secs,
            "config reloaded{}",
            if applied.is_empty() {
                String::from(": nothing to change")
            } else {
                format!(": {} changed", applied.join(", "))
            }
        );
    }
}

/// Tells systemd (`NOTIFY_SOCKET`, `Type=notify`) `state`; nothing without it. A failure is
/// logged: systemd would otherwise wait for readiness in silence.
pub(crate) fn notify(state: &[sd_notify::NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(state) {
        warn!("cannot notify systemd: {e}");
    }
}
