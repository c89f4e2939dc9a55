//! The logs of `flowlens run`: `tracing` events written to standard error, as text for people
//! or as one JSON object per line (`--log-format`), filtered by level and target with
//! `RUST_LOG`-style directives (`--log-level`, `RUST_LOG`, the config file's `log-level`).
//!
//! Libraries count what goes wrong with their input and never print; this binary logs. What
//! happens per datagram is never logged: the losses are summed and said at most once per
//! interval per class ([`super::losses`]). The filter can be changed while running (SIGHUP,
//! [`Logs::set_filter`]); the format only at a restart.

use std::io::IsTerminal;

use anyhow::{Context, Result};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, reload, EnvFilter, Registry};

use crate::LogFormat;

/// The installed logger: changes its filter while running.
#[derive(Clone, Debug)]
pub(crate) struct Logs {
    filter: reload::Handle<EnvFilter, Registry>,
    /// The format in effect.
    pub(crate) format: LogFormat,
}

/// Parses `RUST_LOG`-style directives (`warn`, `info,flowlens::run::http=debug`).
///
/// # Errors
/// A directive that does not parse (the message says which).
pub(crate) fn parse_filter(directives: &str) -> Result<EnvFilter, String> {
    flowlens::config_file::parse_log_filter(directives)
}

/// Installs the process's logger: events that pass `directives`, on standard error in
/// `format` (text with colours only on a terminal).
///
/// # Errors
/// The directives do not parse, or a logger is already installed.
pub(crate) fn init(format: LogFormat, directives: &str) -> Result<Logs> {
    let filter = parse_filter(directives).map_err(|e| anyhow::anyhow!("log-level: {e}"))?;
    let (filter, handle) = reload::Layer::new(filter);
    let text = (format == LogFormat::Text).then(|| {
        fmt::layer()
            .with_writer(std::io::stderr)
            .with_target(false)
            .with_ansi(std::io::stderr().is_terminal())
    });
    let json = (format == LogFormat::Json).then(|| {
        fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .with_writer(std::io::stderr)
    });
    tracing_subscriber::registry()
        .with(filter)
        .with(text)
        .with(json)
        .try_init()
        .context("cannot install the logger")?;
    Ok(Logs {
        filter: handle,
        format,
    })
}

impl Logs {
    /// Replaces the filter with `directives`.
    ///
    /// # Errors
    /// The directives do not parse (the filter in effect stays).
    pub(crate) fn set_filter(&self, directives: &str) -> Result<()> {
        let filter = parse_filter(directives).map_err(|e| anyhow::anyhow!("log-level: {e}"))?;
        self.filter
            .reload(filter)
            .map_err(|e| anyhow::anyhow!("cannot change the log filter: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_levels_and_targets_and_refuse_nonsense() {
        for ok in ["info", "warn", "info,flowlens::run::http=debug", "off"] {
            assert!(parse_filter(ok).is_ok(), "{ok}");
        }
        let e = parse_filter("flowlens=everything").unwrap_err();
        assert!(e.starts_with("error parsing level filter"), "{e}");
        // Field filters are regular expressions compiled into automata of unbounded size (the
        // config_file fuzz target's out-of-memory input had one): refused before compiling.
        let e = parse_filter("in[FFFFFFFFFFF{{{{{{{{{{y{{$$$$bws= 34}]=debug").unwrap_err();
        assert!(e.starts_with("span and field filters"), "{e}");
        // Not ASCII: the parser would panic inside a multi-byte character (fuzz input).
        let e = parse_filter(" \u{69f}=F").unwrap_err();
        assert!(e.starts_with("only ASCII"), "{e}");
        let e = parse_filter(&"info,".repeat(1000)).unwrap_err();
        assert!(e.starts_with("longer than 4096 bytes"), "{e}");
    }
}
