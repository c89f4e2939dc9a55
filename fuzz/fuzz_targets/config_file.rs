//! The settings file of `flowlens run --config FILE`: any UTF-8 text is parsed by
//! `flowlens::config_file::parse`, the parser the binary uses. Nothing may panic; a refusal is
//! an error with a message; a file it accepts holds every invariant it promises (the ranges,
//! `syslog-format`, `log-level` syntax, `read-only` without `token-file`, and every path
//! absolute once resolved against an absolute base directory).
#![no_main]

use std::path::Path;

use flowlens::config_file::{self as cf, ConfigError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let base = Path::new("/etc/flowlens");
    let f = match cf::parse(text, base) {
        Ok(f) => f,
        Err(e) => {
            match &e {
                ConfigError::Syntax { line, .. } => {
                    // The line is within the text (a fault at its very end may point one
                    // line past the last newline).
                    if let Some(n) = line {
                        assert!(*n >= 1 && *n <= text.matches('\n').count() + 1, "{e}");
                    }
                }
                ConfigError::Invalid(m) => assert!(!m.is_empty()),
            }
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    if let Some(w) = f.workers {
        assert!(cf::WORKERS.contains(&w), "workers {w}");
    }
    if let Some(n) = f.engine_threads {
        assert!(cf::ENGINE_THREADS.contains(&n), "engine-threads {n}");
    }
    if let Some(m) = f.script_memory_mb {
        assert!(cf::SCRIPT_MEMORY_MB.contains(&m), "script-memory-mb {m}");
    }
    if let Some(t) = f.script_time_limit_ms {
        assert!(
            cf::SCRIPT_TIME_LIMIT_MS.contains(&t),
            "script-time-limit-ms {t}"
        );
    }
    if let Some(s) = f.loss_log_interval {
        assert!(
            cf::LOSS_LOG_INTERVAL_SECS.contains(&s),
            "loss-log-interval {s}"
        );
    }
    if let Some(s) = &f.syslog_format {
        assert!(
            cf::SYSLOG_FORMATS.contains(&s.as_str()),
            "syslog-format {s:?}"
        );
    }
    if let Some(l) = &f.log_level {
        assert!(cf::parse_log_filter(l).is_ok(), "log-level {l:?}");
    }
    assert!(
        !(f.read_only == Some(true) && f.token_file.is_some()),
        "read-only with token-file"
    );
    let ch = f.clickhouse.as_ref();
    let paths = [
        f.state_dir.as_ref(),
        f.token_file.as_ref(),
        f.apps_dir.as_ref(),
        ch.and_then(|c| c.password_file.as_ref()),
        ch.and_then(|c| c.spool_dir.as_ref()),
    ];
    for p in paths.into_iter().flatten().chain(f.script.iter().flatten()) {
        assert!(p.is_absolute(), "{} not resolved", p.display());
    }
});
