//! The export thread: batches chunks per table, sends a batch when it holds `batch_rows` rows
//! or its oldest row waited `batch_interval_ms`, spools what cannot be sent, sends the spool
//! (oldest first) once the server answers again, and drops day partitions past the retention.
//!
//! A failure (refused, timed out, bad credentials, a server error) backs off: 1 s, doubling,
//! at most 60 s; until the next attempt batches go straight to the spool. A missing table or
//! database (dropped by hand) makes the next attempt create the schema again. A batch the
//! answering server refuses [`MAX_REFUSALS`] times in a row (not for credentials) is set
//! aside as `rejected-last.jsonl` in the spool directory and its rows counted as dropped, so
//! one bad batch cannot hold up the rest.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};

use super::client::{Client, Error};
use super::spool::Spool;
use super::{schema, Chunk, ExportStats, Settings, Table};

const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Refusals of the oldest spooled batch by an answering server before it is set aside.
const MAX_REFUSALS: u32 = 5;
/// How often retention runs.
const EXPIRE_EVERY: Duration = Duration::from_secs(3600);

/// One table's batch being filled.
#[derive(Default)]
struct Pending {
    rows: u64,
    body: Vec<u8>,
    since: Option<Instant>,
}

/// The export thread's state.
pub(crate) struct Writer {
    client: Client,
    database: String,
    batch_rows: u64,
    interval: Duration,
    retention_days: u32,
    spool: Spool,
    stats: Arc<ExportStats>,
    /// The schema is in place.
    ready: bool,
    /// No request before this.
    next_try: Instant,
    backoff: Duration,
    next_expire: Instant,
    pending: [Pending; 3],
    /// Refusals in a row of the oldest spooled batch.
    refusals: u32,
}

impl Writer {
    /// A writer; `ready` when the schema was already migrated.
    pub(crate) fn new(
        client: Client,
        s: &Settings,
        spool: Spool,
        stats: Arc<ExportStats>,
        ready: bool,
    ) -> Writer {
        let now = Instant::now();
        Writer {
            client,
            database: s.database.clone(),
            batch_rows: s.batch_rows as u64,
            interval: Duration::from_millis(s.batch_interval_ms),
            retention_days: s.retention_days,
            spool,
            stats,
            ready,
            next_try: if ready { now } else { now + FIRST_BACKOFF },
            backoff: FIRST_BACKOFF,
            next_expire: now,
            pending: Default::default(),
            refusals: 0,
        }
    }

    /// Runs until every sender is gone, then sends or spools what is left.
    pub(crate) fn run(mut self, rx: &Receiver<Chunk>) {
        loop {
            let wake = self.next_wake();
            match rx.recv_timeout(wake.saturating_duration_since(Instant::now())) {
                Ok(c) => self.take(c),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            let now = Instant::now();
            for t in Table::ALL {
                let (interval, batch_rows) = (self.interval, self.batch_rows);
                let p = self.pending(t);
                let due = p.since.is_some_and(|s| now >= s + interval);
                if p.rows >= batch_rows || due {
                    self.flush(t);
                }
            }
            self.drain_spool();
            self.expire();
        }
        // Stopping: one attempt while the server answers; when the last request failed, the
        // rest goes straight to the spool (shutdown never waits on a dead server's timeout).
        if !self.stats.connected.load(Ordering::Relaxed) {
            self.next_try = Instant::now() + MAX_BACKOFF;
        }
        for t in Table::ALL {
            self.flush(t);
        }
    }

    fn pending(&mut self, t: Table) -> &mut Pending {
        let [f, c, e] = &mut self.pending;
        match t {
            Table::Flows => f,
            Table::Counters => c,
            Table::Events => e,
        }
    }

    fn next_wake(&self) -> Instant {
        let mut wake = Instant::now() + self.interval;
        for p in &self.pending {
            if let Some(s) = p.since {
                wake = wake.min(s + self.interval);
            }
        }
        if !self.spool.is_empty() || !self.ready {
            wake = wake.min(self.next_try);
        }
        wake
    }

    fn take(&mut self, c: Chunk) {
        let p = self.pending(c.table);
        p.since.get_or_insert_with(Instant::now);
        p.rows += u64::from(c.rows);
        if p.body.is_empty() {
            p.body = c.body;
        } else {
            p.body.extend_from_slice(&c.body);
        }
    }

    /// True when a request may be made now (the schema is migrated first when needed).
    fn may_send(&mut self) -> bool {
        if Instant::now() < self.next_try {
            return false;
        }
        if !self.ready {
            match schema::migrate(&self.client, &self.database) {
                Ok(_) => {
                    tracing::info!(
                        schema = schema::VERSION,
                        "clickhouse: connected; schema version {}",
                        schema::VERSION
                    );
                    self.ready = true;
                    self.ok();
                }
                Err(e) => {
                    self.failed(&e);
                    return false;
                }
            }
        }
        true
    }

    fn ok(&mut self) {
        self.backoff = FIRST_BACKOFF;
        self.stats.connected.store(true, Ordering::Relaxed);
    }

    fn failed(&mut self, e: &Error) {
        if self.stats.connected.load(Ordering::Relaxed) {
            tracing::error!("clickhouse: {e}; spooling and retrying with backoff");
        }
        self.stats.error(e);
        if missing_schema(e) {
            self.ready = false;
        }
        self.next_try = Instant::now() + self.backoff;
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
    }

    fn table(&self, t: &str) -> String {
        format!("{}.{t}", self.database)
    }

    /// Sends (or spools) one table's batch.
    fn flush(&mut self, t: Table) {
        let p = std::mem::take(self.pending(t));
        if p.rows == 0 {
            return;
        }
        if self.spool.is_empty() && self.may_send() {
            match self.client.insert(&self.table(t.name()), &p.body) {
                Ok(()) => {
                    self.ok();
                    self.stats.rows_sent.fetch_add(p.rows, Ordering::Relaxed);
                    self.stats.batches_sent.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Err(e) => self.failed(&e),
            }
        }
        // The server is down, or older batches wait: keep the order, spool.
        if let Err(e) = self.spool.push(t.name(), &p.body) {
            self.stats.dropped_rows.fetch_add(p.rows, Ordering::Relaxed);
            if let Ok(mut l) = self.stats.last_error.lock() {
                *l = e.to_string();
            }
        }
        self.stats
            .spooled_bytes
            .store(self.spool.bytes(), Ordering::Relaxed);
    }

    /// Sends the spooled batches, oldest first, while the server takes them.
    fn drain_spool(&mut self) {
        while !self.spool.is_empty() && self.may_send() {
            let Some(b) = self.spool.oldest() else { break };
            match self.client.insert(&self.table(&b.table), &b.body) {
                Ok(()) => {
                    self.ok();
                    let rows = b.body.iter().filter(|&&c| c == b'\n').count() as u64;
                    self.stats.rows_sent.fetch_add(rows, Ordering::Relaxed);
                    self.stats.batches_sent.fetch_add(1, Ordering::Relaxed);
                    self.stats.batches_retried.fetch_add(1, Ordering::Relaxed);
                    self.spool.remove_oldest();
                    self.refusals = 0;
                }
                Err(e) => {
                    self.failed(&e);
                    let refused = matches!(&e, Error::Server { status, .. }
                        if *status != 401 && *status != 403)
                        && !missing_schema(&e);
                    if refused {
                        self.refusals += 1;
                    }
                    if self.refusals >= MAX_REFUSALS {
                        self.refusals = 0;
                        let rows = b.body.iter().filter(|&&c| c == b'\n').count() as u64;
                        self.stats.dropped_rows.fetch_add(rows, Ordering::Relaxed);
                        let kept = self.spool.set_aside_oldest();
                        // The server answers: the next batch is tried at once.
                        self.backoff = FIRST_BACKOFF;
                        self.next_try = Instant::now();
                        tracing::error!(
                            table = %b.table,
                            rows,
                            kept = %kept.display(),
                            "clickhouse: a batch of {rows} rows for {} refused {MAX_REFUSALS} \
                             times ({e}); set aside as {}",
                            b.table,
                            kept.display()
                        );
                        continue;
                    }
                    break;
                }
            }
            self.stats
                .spooled_bytes
                .store(self.spool.bytes(), Ordering::Relaxed);
        }
        self.stats
            .spooled_bytes
            .store(self.spool.bytes(), Ordering::Relaxed);
    }

    /// Drops day partitions past the retention, hourly.
    fn expire(&mut self) {
        if self.retention_days == 0 || !self.ready || Instant::now() < self.next_expire {
            return;
        }
        self.next_expire = Instant::now() + EXPIRE_EVERY;
        match schema::expire(&self.client, &self.database, self.retention_days) {
            Ok(n) => {
                self.stats
                    .partitions_dropped
                    .fetch_add(n, Ordering::Relaxed);
            }
            Err(e) => self.failed(&e),
        }
    }
}

/// ClickHouse's "unknown table" (60) or "unknown database" (81): the schema must be created
/// again.
fn missing_schema(e: &Error) -> bool {
    let Error::Server { message, .. } = e else {
        return false;
    };
    let code: String = message
        .strip_prefix("Code: ")
        .unwrap_or("")
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    code == "60" || code == "81"
}
