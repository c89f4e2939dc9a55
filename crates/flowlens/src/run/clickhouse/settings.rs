//! The export's settings (`--clickhouse URL` and the config file's `[clickhouse]` table,
//! resolved in `run/config.rs`) and their checks.

use std::path::PathBuf;

use anyhow::{bail, Result};

/// The settings of the export (`--clickhouse`, `[clickhouse]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Settings {
    /// HTTP interface, e.g. `http://127.0.0.1:8123`.
    pub(crate) url: String,
    /// Database (created if missing). Default `flowlens`.
    pub(crate) database: String,
    /// User (`None`: ClickHouse's `default` without a password).
    pub(crate) user: Option<String>,
    /// File holding the password (first line).
    pub(crate) password_file: Option<PathBuf>,
    /// Rows per `INSERT` at most. Default 50,000.
    pub(crate) batch_rows: usize,
    /// Longest a row waits before its batch is sent, ms. Default 5,000.
    pub(crate) batch_interval_ms: u64,
    /// Days kept; older day partitions are dropped hourly. 0 keeps everything. Default 30.
    pub(crate) retention_days: u32,
    /// Spool directory (`None`: `<state dir>/clickhouse-spool`).
    pub(crate) spool_dir: Option<PathBuf>,
    /// Spool cap, bytes. Default 1 GiB.
    pub(crate) spool_max_bytes: u64,
    /// Interval of the `counters` rows, ms. Default 30,000.
    pub(crate) counter_interval_ms: u64,
}

impl Settings {
    /// Defaults for `url`.
    pub(crate) fn new(url: String) -> Settings {
        Settings {
            url,
            database: "flowlens".into(),
            user: None,
            password_file: None,
            batch_rows: 50_000,
            batch_interval_ms: 5_000,
            retention_days: 30,
            spool_dir: None,
            spool_max_bytes: 1 << 30,
            counter_interval_ms: 30_000,
        }
    }

    /// Checks ranges and names.
    ///
    /// # Errors
    /// A setting out of range or a database name that is not an identifier.
    pub(crate) fn check(&self) -> Result<()> {
        if !(self.url.starts_with("http://") || self.url.starts_with("https://")) {
            bail!(
                "clickhouse url must start with http:// or https://, not `{}`",
                self.url
            );
        }
        let ident = |s: &str| {
            !s.is_empty()
                && s.len() <= 64
                && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                && !s.as_bytes().first().is_some_and(u8::is_ascii_digit)
        };
        if !ident(&self.database) {
            bail!(
                "clickhouse database must be letters, digits and _, not `{}`",
                self.database
            );
        }
        if !(1..=1_000_000).contains(&self.batch_rows) {
            bail!(
                "clickhouse batch-rows must be 1 to 1000000, not {}",
                self.batch_rows
            );
        }
        if !(100..=3_600_000).contains(&self.batch_interval_ms) {
            bail!(
                "clickhouse batch-interval-ms must be 100 to 3600000, not {}",
                self.batch_interval_ms
            );
        }
        if !(1_000..=86_400_000).contains(&self.counter_interval_ms) {
            bail!(
                "clickhouse counter-interval-ms must be 1000 to 86400000, not {}",
                self.counter_interval_ms
            );
        }
        Ok(())
    }
}
