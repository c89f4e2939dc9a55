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
//! [`row`] builds the rows, [`schema`] owns the DDL, the schema version and retention,
//! [`client`] speaks HTTP, [`spool`] keeps batches on disk, [`writer`] is the export thread.
//! [`ExportStats`] are the counters in `/analyzer/json` and Prometheus.

mod client;
mod row;
mod schema;
mod spool;
mod writer;

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use crossbeam_channel::{Sender, TrySendError};
use flowlens_engine::counters::{DsFilter, Metric};
use flowlens_engine::{AgentSel, Engine, Observer};
use flowlens_netflow::NetflowRecord;
use flowlens_wire::packet::WalkConfig;
use flowlens_wire::sflow::{Datagram, Sample};
use serde_json::{json, Value as Json};

use self::row::FlowRow;

/// Rows per chunk handed from the engine thread to the export thread.
const CHUNK_ROWS: u32 = 1024;
/// Chunks waiting for the export thread at most.
const QUEUE_CHUNKS: usize = 64;

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

/// The export's counters (`/analyzer/json` `clickhouse…`, Prometheus `flowlens_clickhouse_…`).
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
    fn error(&self, e: &client::Error) {
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

/// The engine thread's end of the export: builds rows and hands them over without waiting.
#[derive(Clone)]
pub(crate) struct ExportHandle {
    tx: Sender<Chunk>,
    stats: Arc<ExportStats>,
    counter_interval_ms: u64,
}

impl ExportHandle {
    fn send(&self, chunk: Chunk) {
        if chunk.rows == 0 {
            return;
        }
        match self.tx.try_send(chunk) {
            Ok(()) => {}
            Err(TrySendError::Full(c) | TrySendError::Disconnected(c)) => {
                self.stats
                    .dropped_rows
                    .fetch_add(u64::from(c.rows), Ordering::Relaxed);
            }
        }
    }
}

/// Counter and event rows, written from the engine thread's tick ([`Side::tick`]).
pub(crate) struct Side {
    handle: ExportHandle,
    /// Newest event id exported.
    last_event: u64,
    /// Next time the counters are written, Unix ms.
    next_counters: u64,
}

impl Side {
    /// Writes the events newer than the last written and, every counter interval, the
    /// numeric counter metrics updated within it (rates per second, as `/dump` shows them).
    pub(crate) fn tick(&mut self, now_ms: u64, engine: &Engine) {
        let events = engine.events(self.last_event, &[], usize::MAX);
        if !events.is_empty() {
            let mut c = Chunk {
                table: Table::Events,
                rows: 0,
                body: Vec::new(),
            };
            for e in events {
                self.last_event = self.last_event.max(e.id);
                let row = json!({
                    "time": e.timestamp_ms / 1000, "event_id": e.id,
                    "threshold_id": e.threshold_id, "metric": e.metric, "agent": e.agent,
                    "datasource": e.data_source, "flow_key": e.flow_key.as_deref().unwrap_or(""),
                    "value": e.value, "threshold": e.threshold,
                });
                push_json(&mut c, &row);
            }
            self.handle.send(c);
        }
        if now_ms < self.next_counters {
            return;
        }
        self.next_counters = now_ms + self.handle.counter_interval_ms;
        let mut c = Chunk {
            table: Table::Counters,
            rows: 0,
            body: Vec::new(),
        };
        let all = engine
            .counters()
            .dump(now_ms, &AgentSel::All, &["ALL"], &DsFilter::default());
        for m in all {
            let Metric::Num(v) = m.metric_value else {
                continue;
            };
            if m.last_update > self.handle.counter_interval_ms {
                continue;
            }
            let row = json!({
                "time": now_ms / 1000, "agent": m.agent.to_string(),
                "datasource": m.data_source, "metric": m.metric_name, "value": v,
            });
            push_json(&mut c, &row);
            if c.rows >= CHUNK_ROWS {
                let full = std::mem::replace(
                    &mut c,
                    Chunk {
                        table: Table::Counters,
                        rows: 0,
                        body: Vec::new(),
                    },
                );
                self.handle.send(full);
            }
        }
        self.handle.send(c);
    }
}

fn push_json(c: &mut Chunk, row: &Json) {
    if serde_json::to_writer(&mut c.body, row).is_ok() {
        c.body.push(b'\n');
        c.rows += 1;
    }
}

/// The [`Observer`] that turns flow samples and records into `flows` rows.
pub(crate) struct FlowObserver {
    handle: ExportHandle,
    chunk: Chunk,
    walk: WalkConfig,
}

impl FlowObserver {
    fn add(&mut self, row: &FlowRow) {
        row.write_line(&mut self.chunk.body);
        self.chunk.rows += 1;
        if self.chunk.rows >= CHUNK_ROWS {
            self.flush();
        }
    }

    fn flush(&mut self) {
        let cap = self.chunk.body.capacity();
        let full = std::mem::replace(
            &mut self.chunk,
            Chunk {
                table: Table::Flows,
                rows: 0,
                body: Vec::with_capacity(cap),
            },
        );
        self.handle.send(full);
    }
}

impl Observer for FlowObserver {
    fn sflow(&mut self, now_ms: u64, d: &Datagram<'_>) {
        let agent: IpAddr = d.agent_address();
        for s in d.samples().map_while(Result::ok) {
            if let Sample::Flow(fs) = s {
                let row = FlowRow::sflow(now_ms, agent, &fs, &self.walk);
                self.add(&row);
            }
        }
    }

    fn netflow_record(&mut self, now_ms: u64, record: &NetflowRecord<'_, '_>) {
        if let Some(row) = FlowRow::netflow(now_ms, record) {
            self.add(&row);
        }
    }

    fn tick(&mut self, _now_ms: u64) {
        self.flush();
    }
}

impl Drop for FlowObserver {
    fn drop(&mut self) {
        self.flush();
    }
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
                eprintln!(
                    "flowlens: clickhouse {}: database {} at schema version {} (was {had})",
                    s.url,
                    s.database,
                    schema::VERSION
                );
            }
            true
        }
        Err(e) => {
            eprintln!(
                "flowlens: clickhouse {}: {e}; rows are spooled in {} and sent when it \
                 answers (retrying with backoff)",
                s.url,
                spool_dir.display()
            );
            stats.error(&e);
            false
        }
    };
    let (tx, rx) = crossbeam_channel::bounded(QUEUE_CHUNKS);
    let handle = ExportHandle {
        tx,
        stats: Arc::clone(&stats),
        counter_interval_ms: s.counter_interval_ms,
    };
    let w = writer::Writer::new(client, s, spool, Arc::clone(&stats), ready);
    let thread = std::thread::Builder::new()
        .name("clickhouse".into())
        .spawn(move || w.run(&rx))
        .context("cannot start the clickhouse export thread")?;
    Ok(Export {
        observer: Box::new(FlowObserver {
            handle: handle.clone(),
            chunk: Chunk {
                table: Table::Flows,
                rows: 0,
                body: Vec::new(),
            },
            walk: WalkConfig::default(),
        }),
        side: Side {
            handle,
            last_event: 0,
            next_counters: 0,
        },
        stats,
        thread,
    })
}
