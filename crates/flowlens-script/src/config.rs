//! What the operator decides for every script: limits, permissions, where the store lives.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::actions::syslog::Format;

/// Settings shared by all scripts of a server.
#[derive(Clone, Debug)]
pub struct Config {
    /// Heap limit of each script's JavaScript runtime, bytes (QuickJS `JS_SetMemoryLimit`).
    /// An allocation beyond it throws; a script that exceeds it outside a `try` is stopped.
    pub memory_limit_bytes: usize,
    /// Longest time one handler call (event, flow, interval, HTTP) may run JavaScript, not
    /// counting time waiting in the engine, `http()` or `runCmd()`. Beyond it the call is
    /// interrupted and the script stopped.
    pub handler_time_limit: Duration,
    /// The same for loading the script (its top-level code).
    pub load_time_limit: Duration,
    /// Deliveries (events, flow records, HTTP requests, async HTTP answers) waiting for one
    /// script at most; beyond it events and flows are counted as lost and HTTP gets 503.
    pub inbox_capacity: usize,
    /// `runCmd()` may run programs (`--allow-run-cmd`); otherwise it throws.
    pub allow_run_cmd: bool,
    /// Longest run of a `runCmd()` program before it is killed.
    pub cmd_timeout: Duration,
    /// Largest output kept per stream of a `runCmd()` program, bytes.
    pub cmd_max_output_bytes: usize,
    /// Timeout of one `http()` request (connect to last byte).
    pub http_timeout: Duration,
    /// Largest `http()` response body, bytes.
    pub http_max_body_bytes: u64,
    /// Timeout of one `graphite()` send (connect and write).
    pub graphite_timeout: Duration,
    /// Message format of `syslog()`.
    pub syslog_format: Format,
    /// Directory of the persistent stores (`storeSet`), one JSON file per script; `None`:
    /// stores are kept in memory only.
    pub store_dir: Option<PathBuf>,
    /// `getSystemProperty()` values (sFlow-RT's `-Dname=value`).
    pub properties: BTreeMap<String, String>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            memory_limit_bytes: 512 << 20,
            handler_time_limit: Duration::from_secs(10),
            load_time_limit: Duration::from_secs(60),
            inbox_capacity: 4096,
            allow_run_cmd: false,
            cmd_timeout: Duration::from_secs(30),
            cmd_max_output_bytes: 1 << 20,
            http_timeout: Duration::from_secs(30),
            http_max_body_bytes: 256 << 20,
            graphite_timeout: Duration::from_secs(5),
            syslog_format: Format::Rfc5424,
            store_dir: None,
            properties: BTreeMap::new(),
        }
    }
}
