//! The export's counters, shared by the engine thread, the export thread and the analyzer.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use serde_json::{json, Value as Json};

use super::client;

/// The export's counters (`/analyzer/json` `clickhouse…`, Prometheus
/// `sflow_analyzer_clickhouse_…`).
#[derive(Debug, Default)]
pub(crate) struct ExportStats {
    /// Rows ClickHouse acknowledged.
    pub(crate) rows_sent: AtomicU64,
    /// `INSERT`s acknowledged.
    pub(crate) batches_sent: AtomicU64,
    /// Batches sent from the spool after failing (each retry that succeeded).
    pub(crate) batches_retried: AtomicU64,
    /// Failed requests (inserts, schema, retention).
    pub(crate) errors: AtomicU64,
    /// Bytes in the spool now.
    pub(crate) spooled_bytes: AtomicU64,
    /// Rows dropped: the export queue was full, or the spool was.
    pub(crate) dropped_rows: AtomicU64,
    /// Day partitions dropped by retention.
    pub(crate) partitions_dropped: AtomicU64,
    /// True after the last request succeeded.
    pub(crate) connected: AtomicBool,
    /// The last error, as text (empty: none yet).
    pub(crate) last_error: Mutex<String>,
}

impl ExportStats {
    pub(super) fn error(&self, e: &client::Error) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        self.connected.store(false, Ordering::Relaxed);
        if let Ok(mut l) = self.last_error.lock() {
            *l = e.to_string();
        }
    }

    /// The counters as `/analyzer/json` fields.
    pub(crate) fn to_json(&self) -> Json {
        let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let last = self
            .last_error
            .lock()
            .map(|l| l.clone())
            .unwrap_or_default();
        json!({
            "clickhouseConnected": self.connected.load(Ordering::Relaxed),
            "clickhouseRowsSent": n(&self.rows_sent),
            "clickhouseBatchesSent": n(&self.batches_sent),
            "clickhouseBatchesRetried": n(&self.batches_retried),
            "clickhouseErrors": n(&self.errors),
            "clickhouseSpooledBytes": n(&self.spooled_bytes),
            "clickhouseDroppedRows": n(&self.dropped_rows),
            "clickhousePartitionsDropped": n(&self.partitions_dropped),
            "clickhouseLastError": last,
        })
    }
}
