//! The settings file of `flowlens run --config FILE` (TOML; `packaging/flowlens.toml` shows
//! every key): its schema ([`File`], [`ClickHouseFile`]) and [`parse`], which does every check
//! that needs only the file. Merging the flags over it and the checks that need both (the
//! ClickHouse settings, whose URL may come from `--clickhouse`) are the binary's
//! (`run/config.rs`).
//!
//! The text comes from an operator's file: nothing here panics on any input, and a refusal is
//! a [`ConfigError`] saying which key and why.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Receive threads per UDP address (`workers`).
pub const WORKERS: RangeInclusive<u16> = 1..=64;
/// Engine shards, each fed by its own thread (`engine-threads`).
pub const ENGINE_THREADS: RangeInclusive<u16> = 1..=64;
/// Heap limit per script, MiB (`script-memory-mb`).
pub const SCRIPT_MEMORY_MB: RangeInclusive<usize> = 8..=65_536;
/// Handler time limit, milliseconds (`script-time-limit-ms`).
pub const SCRIPT_TIME_LIMIT_MS: RangeInclusive<u64> = 10..=3_600_000;
/// Seconds between loss summaries (`loss-log-interval`).
pub const LOSS_LOG_INTERVAL_SECS: RangeInclusive<u64> = 1..=86_400;
/// The values of `syslog-format` (`rfc5424`, the default, or `rfc3164`).
pub const SYSLOG_FORMATS: [&str; 2] = ["rfc5424", "rfc3164"];

/// The settings file: every key is optional (absent: the flag's value or the default). Keys
/// are the flags' names without `--`, in kebab case; an unknown key is an error.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct File {
    /// `http`: REST API and web UI TCP address.
    pub http: Option<SocketAddr>,
    /// `sflow`: sFlow UDP address.
    pub sflow: Option<SocketAddr>,
    /// `netflow`: NetFlow UDP address.
    pub netflow: Option<SocketAddr>,
    /// `ipfix`: IPFIX UDP address.
    pub ipfix: Option<SocketAddr>,
    /// `state-dir`: state directory (after [`parse`]: relative to the file's directory).
    pub state_dir: Option<PathBuf>,
    /// `rcvbuf`: receive buffer asked for per UDP socket, bytes.
    pub rcvbuf: Option<usize>,
    /// `workers`: receive threads per UDP address (after [`parse`]: within [`WORKERS`]).
    pub workers: Option<u16>,
    /// `engine-threads`: engine shards, one thread each (after [`parse`]: within
    /// [`ENGINE_THREADS`]).
    pub engine_threads: Option<u16>,
    /// `read-only`: refuse writes over REST (after [`parse`]: not with `token-file`).
    pub read_only: Option<bool>,
    /// `token-file`: bearer token file for writes (after [`parse`]: resolved like
    /// `state-dir`).
    pub token_file: Option<PathBuf>,
    /// `script`: script files, started in this order (after [`parse`]: resolved like
    /// `state-dir`).
    pub script: Option<Vec<PathBuf>>,
    /// `apps-dir`: apps directory (after [`parse`]: resolved like `state-dir`).
    pub apps_dir: Option<PathBuf>,
    /// `allow-run-cmd`: let scripts run programs.
    pub allow_run_cmd: Option<bool>,
    /// `script-memory-mb`: heap limit per script, MiB (after [`parse`]: within
    /// [`SCRIPT_MEMORY_MB`]).
    pub script_memory_mb: Option<usize>,
    /// `script-time-limit-ms`: handler time limit, ms (after [`parse`]: within
    /// [`SCRIPT_TIME_LIMIT_MS`]).
    pub script_time_limit_ms: Option<u64>,
    /// `syslog-format`: message format of scripts' `syslog()` (after [`parse`]: one of
    /// [`SYSLOG_FORMATS`]).
    pub syslog_format: Option<String>,
    /// `bgp`: BGP speaker's TCP address.
    pub bgp: Option<SocketAddr>,
    /// `builtin-apps`: built-in apps to run (`tenants`, `tcp`), before the `--builtin-app` ones.
    pub builtin_apps: Option<Vec<String>>,
    /// `pcap`: interfaces to capture on, each `IFACE` or `IFACE:N` (1 in N packets sampled),
    /// started before the `--pcap` ones.
    pub pcap: Option<Vec<String>>,
    /// `mirror`: this host's IPv4 addresses that receive GRE/ERSPAN mirror copies, before the
    /// `--mirror` ones.
    pub mirror: Option<Vec<std::net::Ipv4Addr>>,
    /// `[properties]`: values of scripts' `getSystemProperty()`.
    pub properties: Option<BTreeMap<String, String>>,
    /// `[clickhouse]`: history in ClickHouse.
    pub clickhouse: Option<ClickHouseFile>,
    /// `log-level`: `RUST_LOG`-style filter directives (after [`parse`]: they parse, see
    /// [`parse_log_filter`]).
    pub log_level: Option<String>,
    /// `log-format`: log line format.
    pub log_format: Option<LogFormat>,
    /// `loss-log-interval`: seconds between loss summaries (after [`parse`]: within
    /// [`LOSS_LOG_INTERVAL_SECS`]).
    pub loss_log_interval: Option<u64>,
}

/// The `[clickhouse]` table. Its values are checked by the binary once `--clickhouse` is
/// merged (the URL may come from the flag).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ClickHouseFile {
    /// `url`: the server's HTTP interface.
    pub url: Option<String>,
    /// `database`: database name.
    pub database: Option<String>,
    /// `user`: user name.
    pub user: Option<String>,
    /// `password-file`: file whose first line is the password (after [`parse`]: relative to
    /// the file's directory).
    pub password_file: Option<PathBuf>,
    /// `batch-rows`: rows per INSERT at most.
    pub batch_rows: Option<usize>,
    /// `batch-interval-ms`: longest a row waits before its batch is sent, ms.
    pub batch_interval_ms: Option<u64>,
    /// `retention-days`: days kept (0: everything).
    pub retention_days: Option<u32>,
    /// `spool-dir`: spool directory (after [`parse`]: relative to the file's directory).
    pub spool_dir: Option<PathBuf>,
    /// `spool-max-mb`: spool cap, MiB.
    pub spool_max_mb: Option<u64>,
    /// `counter-interval-ms`: interval of the counters rows, ms.
    pub counter_interval_ms: Option<u64>,
}

/// Log line format of `flowlens run` (`--log-format`, `log-format`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// `timestamp LEVEL message field=value …`, for people.
    #[default]
    Text,
    /// One JSON object per line: `timestamp`, `level`, `message`, `target` and the fields.
    Json,
}

/// Why a settings file was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// Not TOML, or not this schema (unknown key, wrong type): the first line of the TOML
    /// parser's message and the 1-based line of the text it points at, when it does.
    Syntax {
        /// 1-based line of the fault.
        line: Option<usize>,
        /// What is wrong (one line).
        message: String,
    },
    /// A value out of its range or contradicting another; the message starts with the key.
    Invalid(String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Syntax {
                line: Some(n),
                message,
            } => write!(f, "line {n}: {message}"),
            ConfigError::Syntax {
                line: None,
                message,
            } => f.write_str(message),
            ConfigError::Invalid(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Longest `log-level` / `--log-level` / `RUST_LOG` text taken, bytes.
pub const MAX_LOG_FILTER_BYTES: usize = 4096;

/// Parses `RUST_LOG`-style filter directives (`info`, `warn,flowlens::run::http=debug`):
/// levels and targets only. Span and field filters (`[span{field=value}]`) are refused: their
/// values are regular expressions, compiled into automata whose size the text does not bound
/// (the `config_file` fuzz target found a one-line `log-level` taking over 2 GiB).
///
/// # Errors
/// Longer than [`MAX_LOG_FILTER_BYTES`], not ASCII, a `[` (span or field filter), or
/// directives that do not parse (the parser's message).
pub fn parse_log_filter(directives: &str) -> Result<tracing_subscriber::EnvFilter, String> {
    if directives.len() > MAX_LOG_FILTER_BYTES {
        return Err(format!(
            "longer than {MAX_LOG_FILTER_BYTES} bytes ({} bytes)",
            directives.len()
        ));
    }
    // tracing-subscriber 0.3's directive parser slices at byte offsets and panics inside a
    // multi-byte character (` ڟ=F`, found by the `config_file` fuzz target); targets are
    // Rust paths and levels are words, so ASCII is all a filter needs.
    if !directives.is_ascii() {
        return Err("only ASCII is accepted (levels and Rust module paths)".into());
    }
    if directives.contains('[') {
        return Err("span and field filters ([...]) are not supported: give levels and                     targets (e.g. info,flowlens::run::http=debug)"
            .into());
    }
    tracing_subscriber::EnvFilter::builder()
        .parse(directives)
        .map_err(|e| e.to_string())
}

/// Parses a settings file's text, checks every value that needs only the file (the ranges of
/// `workers`, `engine-threads`, `script-memory-mb`, `script-time-limit-ms`, `loss-log-interval`; `syslog-format`;
/// `log-level`'s syntax; `read-only` with `token-file`), and makes its relative paths
/// relative to `base_dir` (the file's directory).
///
/// # Errors
/// [`ConfigError::Syntax`] for text that is not TOML or not this schema,
/// [`ConfigError::Invalid`] for the first value that fails a check.
pub fn parse(text: &str, base_dir: &Path) -> Result<File, ConfigError> {
    let mut file: File = toml::from_str(text).map_err(|e| ConfigError::Syntax {
        line: e
            .span()
            .map(|s| text.get(..s.start).unwrap_or("").matches('\n').count() + 1),
        message: e.message().lines().next().unwrap_or("").trim().to_string(),
    })?;
    check(&file).map_err(ConfigError::Invalid)?;
    let scripts = file.script.iter_mut().flatten();
    let (ch_password, ch_spool) = match file.clickhouse.as_mut() {
        Some(c) => (c.password_file.as_mut(), c.spool_dir.as_mut()),
        None => (None, None),
    };
    for p in [
        file.state_dir.as_mut(),
        file.token_file.as_mut(),
        file.apps_dir.as_mut(),
        ch_password,
        ch_spool,
    ]
    .into_iter()
    .flatten()
    .chain(scripts)
    {
        if p.is_relative() {
            *p = base_dir.join(&*p);
        }
    }
    Ok(file)
}

/// The checks of [`parse`]: the first failing one's message.
fn check(f: &File) -> Result<(), String> {
    if let Some(w) = f.workers {
        check_workers(w)?;
    }
    if let Some(n) = f.engine_threads {
        check_engine_threads(n)?;
    }
    if f.read_only == Some(true) && f.token_file.is_some() {
        return Err(READ_ONLY_WITH_TOKEN.into());
    }
    if let Some(s) = &f.syslog_format {
        check_syslog_format(s)?;
    }
    if let Some(m) = f.script_memory_mb {
        check_script_memory_mb(m)?;
    }
    if let Some(t) = f.script_time_limit_ms {
        check_script_time_limit_ms(t)?;
    }
    if let Some(l) = &f.log_level {
        check_log_level(l)?;
    }
    if let Some(s) = f.loss_log_interval {
        check_loss_log_interval(s)?;
    }
    Ok(())
}

/// `engine-threads` within [`ENGINE_THREADS`].
///
/// # Errors
/// Out of range: a message naming the key and the range.
pub fn check_engine_threads(n: u16) -> Result<(), String> {
    in_range("engine-threads", n, &ENGINE_THREADS)
}

/// The message for `read-only` with `token-file`.
pub const READ_ONLY_WITH_TOKEN: &str = "read-only and token-file exclude each other";

/// `workers` within [`WORKERS`].
///
/// # Errors
/// Out of range: a message naming the key and the range.
pub fn check_workers(w: u16) -> Result<(), String> {
    in_range("workers", w, &WORKERS)
}

/// `value` of setting `key` within `range`, else a message naming both.
fn in_range(key: &str, value: u16, range: &RangeInclusive<u16>) -> Result<(), String> {
    if range.contains(&value) {
        return Ok(());
    }
    Err(format!(
        "{key} must be {} to {}, not {value}",
        range.start(),
        range.end()
    ))
}

/// `syslog-format` one of [`SYSLOG_FORMATS`]; `true` for `rfc3164`.
///
/// # Errors
/// Another value: a message naming the key and the values.
pub fn check_syslog_format(s: &str) -> Result<bool, String> {
    match s {
        "rfc5424" => Ok(false),
        "rfc3164" => Ok(true),
        other => Err(format!(
            "syslog-format must be rfc5424 or rfc3164, not `{other}`"
        )),
    }
}

/// `script-memory-mb` within [`SCRIPT_MEMORY_MB`].
///
/// # Errors
/// Out of range: a message naming the key and the range.
pub fn check_script_memory_mb(m: usize) -> Result<(), String> {
    if SCRIPT_MEMORY_MB.contains(&m) {
        return Ok(());
    }
    Err(format!("script-memory-mb must be 8 to 65536, not {m}"))
}

/// `script-time-limit-ms` within [`SCRIPT_TIME_LIMIT_MS`].
///
/// # Errors
/// Out of range: a message naming the key and the range.
pub fn check_script_time_limit_ms(t: u64) -> Result<(), String> {
    if SCRIPT_TIME_LIMIT_MS.contains(&t) {
        return Ok(());
    }
    Err(format!(
        "script-time-limit-ms must be 10 to 3600000, not {t}"
    ))
}

/// `loss-log-interval` within [`LOSS_LOG_INTERVAL_SECS`].
///
/// # Errors
/// Out of range: a message naming the key and the range.
pub fn check_loss_log_interval(s: u64) -> Result<(), String> {
    if LOSS_LOG_INTERVAL_SECS.contains(&s) {
        return Ok(());
    }
    Err(format!(
        "loss-log-interval must be 1 to 86400 seconds, not {s}"
    ))
}

/// `log-level` directives that [`parse_log_filter`] accepts.
///
/// # Errors
/// They do not parse: a message naming the key, the value and the parser's reason.
pub fn check_log_level(filter: &str) -> Result<(), String> {
    match parse_log_filter(filter) {
        Ok(_) => Ok(()),
        Err(e) => Err(format!("log-level `{filter}`: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invalid(text: &str) -> String {
        match parse(text, Path::new("/etc/flowlens")) {
            Err(ConfigError::Invalid(m)) => m,
            other => panic!("{text:?}: expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn each_file_only_check_names_its_key() {
        for (text, key) in [
            ("workers = 0\n", "workers must be 1 to 64"),
            ("workers = 65\n", "workers must be 1 to 64"),
            ("engine-threads = 0\n", "engine-threads must be 1 to 64"),
            ("engine-threads = 65\n", "engine-threads must be 1 to 64"),
            (
                "script-memory-mb = 7\n",
                "script-memory-mb must be 8 to 65536",
            ),
            (
                "script-memory-mb = 65537\n",
                "script-memory-mb must be 8 to 65536",
            ),
            (
                "script-time-limit-ms = 9\n",
                "script-time-limit-ms must be 10",
            ),
            (
                "loss-log-interval = 0\n",
                "loss-log-interval must be 1 to 86400",
            ),
            (
                "loss-log-interval = 86401\n",
                "loss-log-interval must be 1 to 86400",
            ),
            (
                "syslog-format = \"json\"\n",
                "syslog-format must be rfc5424 or rfc3164",
            ),
            (
                "log-level = \"flowlens=loud\"\n",
                "log-level `flowlens=loud`",
            ),
            (
                "read-only = true\ntoken-file = \"t\"\n",
                READ_ONLY_WITH_TOKEN,
            ),
        ] {
            let m = invalid(text);
            assert!(m.starts_with(key), "{text:?}: {m}");
        }
        // The bounds themselves are accepted.
        let ok = "workers = 64\nscript-memory-mb = 8\nscript-time-limit-ms = 3600000\n\
                  loss-log-interval = 86400\nsyslog-format = \"rfc3164\"\n\
                  log-level = \"warn,flowlens::run=debug\"\nread-only = true\n";
        let f = parse(ok, Path::new("/")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((f.workers, f.script_memory_mb), (Some(64), Some(8)));
    }

    #[test]
    fn syntax_errors_carry_the_line_and_paths_follow_the_base() {
        let r = parse("http = \"127.0.0.1:9000\"\nworkerz = 2\n", Path::new("/x"));
        match r {
            Err(ConfigError::Syntax {
                line: Some(2),
                ref message,
            }) if message.contains("workerz") => {}
            other => panic!("{other:?}"),
        }
        let f = parse(
            "state-dir = \"s\"\nscript = [\"a.js\", \"/b.js\"]\n[clickhouse]\nspool-dir = \"sp\"\n",
            Path::new("/etc/flowlens"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f.state_dir, Some(PathBuf::from("/etc/flowlens/s")));
        assert_eq!(
            f.script,
            Some(vec![
                PathBuf::from("/etc/flowlens/a.js"),
                PathBuf::from("/b.js")
            ])
        );
        let spool = f.clickhouse.and_then(|c| c.spool_dir);
        assert_eq!(spool, Some(PathBuf::from("/etc/flowlens/sp")));
    }
}
