//! History in ClickHouse (`flowlens run --clickhouse URL`): every sFlow flow sample and
//! NetFlow/IPFIX record as a row of `flows`, counter metrics as rates in `counters`, threshold
//! events in `events`.
//!
//! ```text
//! engine thread: Collector ─► FlowObserver (rows as JSONEachRow, chunks of CHUNK_ROWS)
//!                Core::tick ─► counters, events ─┐
//!                                                ▼  bounded channel (full: rows dropped, counted)
//! export thread: writer ─► INSERT over HTTP ─► ClickHouse
//!                       └─► spool directory while it fails (capped; past it dropped, counted)
//! ```
//!
//! The engine thread never waits on ClickHouse: it only formats rows and `try_send`s them.
//! [`settings`] holds the configuration, [`observer`] the engine thread's side, [`row`] builds
//! the rows, [`schema`] owns the DDL, the schema version and retention, [`client`] speaks
//! HTTP, [`spool`] keeps batches on disk, [`writer`] is the export thread, and [`stats`] the
//! counters in `/analyzer/json` and Prometheus.

mod client;
mod observer;
mod row;
mod schema;
mod settings;
mod spool;
mod stats;
mod writer;

pub(crate) use self::observer::Side;
pub(crate) use self::settings::Settings;
pub(crate) use self::stats::ExportStats;

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context, Result};
use flowlens_engine::Observer;

use self::observer::{ExportHandle, FlowObserver};

/// Chunks waiting for the export thread at most.
const QUEUE_CHUNKS: usize = 64;

/// Which table a chunk is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Table {
    /// `flows`.
    Flows,
    /// `counters`.
    Counters,
    /// `events`.
    Events,
}

impl Table {
    /// All tables, in [`schema::TABLES`] order.
    const ALL: [Table; 3] = [Table::Flows, Table::Counters, Table::Events];

    fn name(self) -> &'static str {
        match self {
            Table::Flows => "flows",
            Table::Counters => "counters",
            Table::Events => "events",
        }
    }
}

/// Rows for one table, as `JSONEachRow` lines.
pub(crate) struct Chunk {
    table: Table,
    rows: u32,
    body: Vec<u8>,
}

/// A started export: the observer and side for the engine thread, the counters, the thread.
pub(crate) struct Export {
    /// Goes into the [`flowlens_engine::Collector`].
    pub(crate) observer: Box<dyn Observer>,
    /// Counter and event rows from the engine thread's tick.
    pub(crate) side: Side,
    /// The counters.
    pub(crate) stats: Arc<ExportStats>,
    /// The export thread; it ends once the observer and side are dropped and the last batch
    /// is sent or spooled.
    pub(crate) thread: JoinHandle<()>,
}

/// Starts the export: reads the password, opens the spool, tries the server once (creating
/// or migrating the tables) and reports a failure on standard error (the export thread keeps
/// retrying with backoff), then starts the export thread.
///
/// # Errors
/// The password file cannot be read, the spool directory cannot be opened, or the thread
/// cannot start. An unreachable server or refused credentials are not errors here.
pub(crate) fn start(s: &Settings, spool_dir: PathBuf) -> Result<Export> {
    let password = match &s.password_file {
        Some(p) => std::fs::read_to_string(p)
            .with_context(|| format!("cannot read clickhouse password file {}", p.display()))?
            .lines()
            .next()
            .unwrap_or("")
            .to_string(),
        None => String::new(),
    };
    let client = client::Client::new(
        &s.url,
        s.user.as_deref(),
        &password,
        Duration::from_secs(10),
    );
    let spool =
        spool::Spool::open(&spool_dir, s.spool_max_bytes).map_err(|e| anyhow::anyhow!("{e}"))?;
    let stats = Arc::new(ExportStats::default());
    stats.spooled_bytes.store(spool.bytes(), Ordering::Relaxed);
    let ready = match schema::migrate(&client, &s.database) {
        Ok(had) => {
            stats.connected.store(true, Ordering::Relaxed);
            if had < schema::VERSION {
                tracing::info!(
                    url = %s.url,
                    database = %s.database,
                    schema = schema::VERSION,
                    "clickhouse {}: database {} at schema version {} (was {had})",
                    s.url,
                    s.database,
                    schema::VERSION
                );
            }
            true
        }
        Err(e) => {
            tracing::error!(
                url = %s.url,
                spool = %spool_dir.display(),
                "clickhouse {}: {e}; rows are spooled in {} and sent when it answers \
                 (retrying with backoff)",
                s.url,
                spool_dir.display()
            );
            stats.error(&e);
            false
        }
    };
    let (tx, rx) = crossbeam_channel::bounded(QUEUE_CHUNKS);
    let handle = ExportHandle::new(tx, Arc::clone(&stats), s.counter_interval_ms);
    let w = writer::Writer::new(client, s, spool, Arc::clone(&stats), ready);
    let thread = std::thread::Builder::new()
        .name("clickhouse".into())
        .spawn(move || w.run(&rx))
        .context("cannot start the clickhouse export thread")?;
    Ok(Export {
        observer: Box::new(FlowObserver::new(handle.clone())),
        side: Side::new(handle, 0),
        stats,
        thread,
    })
}
