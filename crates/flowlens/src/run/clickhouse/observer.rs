//! The engine thread's side of the export: [`FlowObserver`] (the collector's [`Observer`]:
//! one `flows` row per flow sample and record) and [`Side`] (counter rates and events at the
//! tick) format rows into chunks and `try_send` them; a full queue drops the chunk and counts
//! its rows. Nothing here waits.

use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use crossbeam_channel::{Sender, TrySendError};
use flowlens_engine::counters::{DsFilter, Metric};
use flowlens_engine::{AgentSel, Engine, Observer};
use flowlens_netflow::NetflowRecord;
use flowlens_wire::packet::WalkConfig;
use flowlens_wire::sflow::{Datagram, Sample};
use serde_json::{json, Value as Json};

use super::row::FlowRow;
use super::{Chunk, ExportStats, Table};

/// Rows per chunk handed from the engine thread to the export thread.
const CHUNK_ROWS: u32 = 1024;

/// The engine thread's end of the export: builds rows and hands them over without waiting.
#[derive(Clone)]
pub(crate) struct ExportHandle {
    tx: Sender<Chunk>,
    stats: Arc<ExportStats>,
    counter_interval_ms: u64,
}

impl ExportHandle {
    /// A handle sending over `tx`, counting drops in `stats`.
    pub(super) fn new(
        tx: Sender<Chunk>,
        stats: Arc<ExportStats>,
        counter_interval_ms: u64,
    ) -> Self {
        ExportHandle {
            tx,
            stats,
            counter_interval_ms,
        }
    }

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
    /// When the counters were last written, Unix ms (0: never).
    last_counters: u64,
}

impl Side {
    /// The side over `handle`, starting after event id `last_event`.
    pub(super) fn new(handle: ExportHandle, last_event: u64) -> Side {
        Side {
            handle,
            last_event,
            next_counters: 0,
            last_counters: 0,
        }
    }

    /// Writes the events newer than the last written and, every counter interval, the
    /// numeric counter metrics updated since the last write (rates per second, as `/dump` shows them).
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
        // Values updated since the last write (all of them the first time).
        let fresh_ms = now_ms.saturating_sub(self.last_counters);
        self.last_counters = now_ms;
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
            if m.last_update > fresh_ms {
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
    /// An observer sending over `handle`.
    pub(super) fn new(handle: ExportHandle) -> FlowObserver {
        FlowObserver {
            handle,
            chunk: Chunk {
                table: Table::Flows,
                rows: 0,
                body: Vec::new(),
            },
            walk: WalkConfig::default(),
        }
    }

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
