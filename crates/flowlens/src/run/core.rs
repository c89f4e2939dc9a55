//! The engine thread of `flowlens run`: the one owner of the [`Engine`] and the
//! [`NetflowSession`].
//!
//! It waits on two channels: batches of datagrams from the receive threads
//! ([`super::ingest`]) or of packet samples from the live packet sources ([`super::live`]),
//! and jobs from the HTTP side. A job is a closure run on the engine thread
//! with `&mut Core`; its result goes back over a oneshot channel ([`CoreHandle::call`]). So the
//! engine needs no lock, stays sans-IO (this thread supplies the clock and the bytes), and
//! every query sees a consistent engine. Jobs must be short: they hold up ingest while they
//! run, so they copy out what they need and leave formatting to the HTTP side.
//!
//! Time: `now_ms` is Unix milliseconds from a monotonic clock anchored at startup, so a
//! wall-clock step never moves the engine's time backwards. The engine is ticked once per
//! second of that time. Samples count at the time their batch's first datagram or packet
//! was received, not when this thread takes the batch: after a stall (a long job, a busy
//! machine) the queued samples keep their own times instead of landing together as a burst.
//! That time never goes back from one batch to the next ([`receipt_ms`]).
//!
//! After every message the thread publishes the newest logged-flow and event ids on a
//! `watch` channel; the long-polls of `/flows/json` and `/events/json` wait on it.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use crossbeam_channel::{Receiver, Sender, TrySendError};
use flowlens_engine::{Collector, Engine};
use flowlens_netflow::NetflowSession;
use flowlens_script::Scripts;
use tokio::sync::{oneshot, watch};

use super::ingest::Batch;
use super::live::PacketBatch;
use super::state::StateDir;

/// Jobs waiting for the engine thread at most; beyond it the HTTP side answers 503.
const JOB_QUEUE: usize = 1024;

/// Longest a script waits for room in the job queue.
const BLOCKING_WAIT: Duration = Duration::from_secs(5);

/// A closure run on the engine thread.
type Job = Box<dyn FnOnce(&mut Core) + Send>;

/// What the engine thread receives from the HTTP side.
enum Msg {
    /// Run this.
    Job(Job),
    /// Save the state and stop.
    Shutdown,
}

/// Datagram batches fed to the engine's shards at once, at most ([`Core::feed_queued`]).
const QUEUED_BATCHES: usize = 8;

/// What the receive threads and packet sources hand the engine thread.
#[derive(Debug)]
pub(crate) enum Input {
    /// UDP datagrams (receive threads, `--replay`), each recognised by content.
    Datagrams(Batch),
    /// Packet samples of a live packet source (`--pcap`, `--mirror`, [`super::live`]).
    Packets(PacketBatch),
}

/// Newest logged-flow and event ids (0: none yet).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Ids {
    /// `Engine::last_flow_id`.
    pub(crate) flow: u64,
    /// `Engine::last_event_id`.
    pub(crate) event: u64,
}

/// Unix milliseconds, monotonic from startup.
#[derive(Clone, Copy, Debug)]
struct Clock {
    start: Instant,
    start_unix_ms: u64,
}

impl Clock {
    fn new() -> Clock {
        let start_unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        Clock {
            start: Instant::now(),
            start_unix_ms,
        }
    }

    fn now_ms(&self) -> u64 {
        self.ms_at(Instant::now())
    }

    /// `t` in Unix milliseconds (the start's time for instants before it).
    fn ms_at(&self, t: Instant) -> u64 {
        let since = t.saturating_duration_since(self.start).as_millis();
        self.start_unix_ms
            .saturating_add(u64::try_from(since).unwrap_or(u64::MAX))
    }
}

/// The time, Unix ms, at which a batch received at `received_ms` counts, when the previous
/// batch counted at `last_ms` and it is now `now_ms`: its receipt, kept between the previous
/// batch's time and now, so that the engine's time never goes back (batches of different
/// sockets reach the queue up to a batch wait out of order) nor ahead.
fn receipt_ms(received_ms: u64, last_ms: u64, now_ms: u64) -> u64 {
    received_ms.clamp(last_ms.min(now_ms), now_ms)
}

/// The state of the engine thread; jobs get `&mut Core`.
pub(crate) struct Core {
    /// The engine, the NetFlow/IPFIX session and the datagram counters.
    collector: Collector,
    state: StateDir,
    /// Failed writes to the state directory.
    pub(crate) state_errors: u64,
    clock: Clock,
    /// The time the last batch counted at ([`receipt_ms`]).
    fed_ms: u64,
    /// The scripts, once started; they get events and logged flows as they happen.
    scripts: Arc<std::sync::OnceLock<Scripts>>,
    /// Newest event and logged-flow ids offered to the scripts.
    delivered: Ids,
    /// Counter and event rows for ClickHouse (`--clickhouse`).
    export: Option<super::clickhouse::Side>,
    /// The threads that feed the engine's shards (`--engine-threads`).
    threads: crate::shards::Threads,
}

impl Core {
    /// A core over `engine` and `session`, saving to `state`, feeding the engine's shards
    /// with `threads`.
    pub(crate) fn new(
        engine: Engine,
        session: NetflowSession,
        state: StateDir,
        scripts: Arc<std::sync::OnceLock<Scripts>>,
        threads: crate::shards::Threads,
    ) -> Core {
        let delivered = Ids {
            flow: engine.last_flow_id(),
            event: engine.last_event_id(),
        };
        Core {
            collector: Collector::new(engine, session),
            state,
            state_errors: 0,
            clock: Clock::new(),
            fed_ms: 0,
            scripts,
            delivered,
            export: None,
            threads,
        }
    }

    /// Exports history: `observer` sees every flow sample and record, `side` writes counters
    /// and events each tick.
    pub(crate) fn set_export(
        &mut self,
        observer: Box<dyn flowlens_engine::Observer>,
        side: super::clickhouse::Side,
    ) {
        self.collector.set_observer(Some(observer));
        self.export = Some(side);
    }

    /// Offers the events and logged flows newer than the last offered to the scripts whose
    /// handlers take them (a script's full inbox counts them as lost there).
    fn deliver(&mut self, current: Ids) {
        let Some(scripts) = self.scripts.get() else {
            self.delivered = current;
            return;
        };
        if current.event != self.delivered.event {
            for e in self
                .collector
                .engine()
                .events(self.delivered.event, &[], usize::MAX)
            {
                if scripts.wants_event(&e.threshold_id) {
                    scripts.offer_event(&e.threshold_id, &e.to_json());
                }
            }
        }
        if current.flow != self.delivered.flow {
            for f in self
                .collector
                .engine()
                .logged_flows(self.delivered.flow, None, usize::MAX)
            {
                if scripts.wants_flow(&f.name) {
                    scripts.offer_flow(&f.name, &f.to_json());
                }
            }
        }
        self.delivered = current;
    }

    /// The engine's time now, Unix ms.
    pub(crate) fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    /// The time a batch received at `received` counts at ([`receipt_ms`]; now when
    /// `None`), remembered for the next batch.
    fn stamp(&mut self, received: Option<Instant>) -> u64 {
        let now_ms = self.now_ms();
        let received_ms = received.map_or(now_ms, |t| self.clock.ms_at(t));
        self.fed_ms = receipt_ms(received_ms, self.fed_ms, now_ms);
        self.fed_ms
    }

    /// Milliseconds since the server started.
    pub(crate) fn uptime_ms(&self) -> u64 {
        u64::try_from(self.clock.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The flow engine, for queries.
    pub(crate) fn engine(&self) -> &Engine {
        self.collector.engine()
    }

    /// The flow engine, for changes: REST writes go through `api`'s durable path (saved
    /// before they are acknowledged); scripts' own definitions are saved with the rest at
    /// the next REST write and at shutdown.
    pub(crate) fn engine_mut(&mut self) -> &mut Engine {
        self.collector.engine_mut()
    }

    /// The collector, for its counters (`/analyzer/json`).
    pub(crate) fn collector(&self) -> &Collector {
        &self.collector
    }

    fn save_definitions(&mut self) {
        if let Err(e) = self
            .state
            .save_definitions(&self.collector.engine().definitions())
        {
            self.state_errors += 1;
            tracing::error!("{e:#}");
        }
    }

    /// Feeds one batch of datagrams, each recognised by content, one at a time (one engine
    /// shard; with several, [`Core::feed_queued`]).
    fn feed(&mut self, batch: &Batch) {
        let now_ms = self.stamp(batch.received_at());
        for (from, payload) in batch.iter() {
            self.collector.handle_datagram(now_ms, from, payload);
        }
    }

    /// Feeds `first` with the datagram batches queued behind it (up to
    /// [`QUEUED_BATCHES`] in all) as one batch to the engine's shards: waking the shards'
    /// threads costs about the same for 64 datagrams as for 512. A batch of packet samples
    /// found in the queue is fed after them, in order.
    fn feed_queued(&mut self, first: Batch, queue: &Receiver<Input>) {
        let mut held = vec![first];
        let mut packets = None;
        while held.len() < QUEUED_BATCHES {
            match queue.try_recv() {
                Ok(Input::Datagrams(b)) => held.push(b),
                Ok(Input::Packets(p)) => {
                    packets = Some(p);
                    break;
                }
                Err(_) => break,
            }
        }
        // One time for the lot: the first batch's receipt (the others waited less).
        let now_ms = self.stamp(held.first().and_then(Batch::received_at));
        self.collector
            .handle_batch(now_ms, held.iter().flat_map(Batch::iter), &self.threads);
        if let Some(p) = packets {
            self.feed_packets(&p);
        }
    }

    /// Feeds one batch of packet samples (`--pcap`, `--mirror`).
    fn feed_packets(&mut self, batch: &PacketBatch) {
        let now_ms = self.stamp(batch.received_at());
        for s in batch.iter() {
            self.collector.handle_sampled_packet(
                now_ms,
                s.ds,
                s.rate,
                s.link,
                s.frame,
                s.original_len,
            );
        }
    }

    fn ids(&self) -> Ids {
        Ids {
            flow: self.collector.engine().last_flow_id(),
            event: self.collector.engine().last_event_id(),
        }
    }

    /// Saves what must survive a restart.
    fn shutdown(&mut self) {
        // Hands the last rows to the export thread.
        self.collector.set_observer(None);
        self.export = None;
        self.save_definitions();
        let session = self.collector.session();
        if let Err(e) = self.state.save_templates(|w| session.write_snapshot(w)) {
            self.state_errors += 1;
            tracing::error!("{e:#}");
        }
    }
}

/// Why a job did not run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CallError {
    /// Too many jobs are waiting.
    Busy,
    /// The engine thread has stopped.
    Gone,
}

/// The HTTP side's handle on the engine thread.
#[derive(Clone)]
pub(crate) struct CoreHandle {
    tx: Sender<Msg>,
    ids: Arc<watch::Sender<Ids>>,
}

impl CoreHandle {
    /// Runs `job` on the engine thread and returns its result.
    ///
    /// # Errors
    /// [`CallError::Busy`] when the job queue is full, [`CallError::Gone`] when the engine
    /// thread has stopped.
    ///
    /// # Cancel safety
    /// Dropping the future before it completes lets the job run anyway; its result is
    /// discarded.
    pub(crate) async fn call<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Core) -> T + Send + 'static,
    ) -> Result<T, CallError> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |core| {
            let _ = tx.send(job(core));
        });
        match self.tx.try_send(Msg::Job(job)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(CallError::Busy),
            Err(TrySendError::Disconnected(_)) => return Err(CallError::Gone),
        }
        rx.await.map_err(|_| CallError::Gone)
    }

    /// [`CoreHandle::call`] for threads outside the async runtime (scripts): waits up to
    /// [`BLOCKING_WAIT`] for room in the job queue, then for the answer.
    ///
    /// # Errors
    /// As [`CoreHandle::call`].
    pub(crate) fn call_blocking<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Core) -> T + Send + 'static,
    ) -> Result<T, CallError> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |core| {
            let _ = tx.send(job(core));
        });
        match self.tx.send_timeout(Msg::Job(job), BLOCKING_WAIT) {
            Ok(()) => {}
            Err(crossbeam_channel::SendTimeoutError::Timeout(_)) => return Err(CallError::Busy),
            Err(crossbeam_channel::SendTimeoutError::Disconnected(_)) => {
                return Err(CallError::Gone)
            }
        }
        rx.blocking_recv().map_err(|_| CallError::Gone)
    }

    /// A receiver of the newest ids; its current value counts as seen.
    pub(crate) fn subscribe(&self) -> watch::Receiver<Ids> {
        self.ids.subscribe()
    }

    /// Asks the engine thread to save its state and stop (it finishes the jobs queued before).
    pub(crate) fn shutdown(&self) {
        // Blocking send: the queue drains quickly, and shutdown must not be lost to a full
        // queue. An error means the thread is already gone.
        let _ = self.tx.send(Msg::Shutdown);
    }
}

/// Starts the engine thread over `core`, fed by `batches`.
///
/// # Errors
/// The thread cannot be spawned.
pub(crate) fn spawn(core: Core, batches: Receiver<Input>) -> Result<(CoreHandle, JoinHandle<()>)> {
    let (tx, rx) = crossbeam_channel::bounded(JOB_QUEUE);
    let (ids, _) = watch::channel(core.ids());
    let ids = Arc::new(ids);
    let publish = Arc::clone(&ids);
    let thread = std::thread::Builder::new()
        .name("engine".into())
        .spawn(move || {
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                run(core, &batches, &rx, &publish);
            }));
            if ran.is_err() {
                // A bug (the panic message is already on stderr). Without its engine the
                // server cannot answer: stop the process rather than serve 503s forever.
                // Definitions were saved at their last change.
                tracing::error!("internal error in the engine thread; stopping");
                std::process::exit(70);
            }
        })
        .context("cannot start the engine thread")?;
    Ok((CoreHandle { tx, ids }, thread))
}

/// The engine thread's loop (see the module docs).
fn run(mut core: Core, batches: &Receiver<Input>, jobs: &Receiver<Msg>, ids: &watch::Sender<Ids>) {
    let never = crossbeam_channel::never();
    let mut batches = batches;
    let mut next_tick = Instant::now() + Duration::from_secs(1);
    loop {
        let wait = next_tick.saturating_duration_since(Instant::now());
        crossbeam_channel::select! {
            recv(jobs) -> msg => match msg {
                Ok(Msg::Job(job)) => job(&mut core),
                Ok(Msg::Shutdown) | Err(_) => break,
            },
            recv(batches) -> batch => match batch {
                Ok(Input::Datagrams(b)) => {
                    if core.collector.engine().shards() > 1 {
                        core.feed_queued(b, batches);
                    } else {
                        core.feed(&b);
                    }
                }
                Ok(Input::Packets(b)) => core.feed_packets(&b),
                // Every receive thread has stopped; keep answering jobs.
                Err(_) => batches = &never,
            },
            default(wait) => {}
        }
        let now = Instant::now();
        if now >= next_tick {
            let now_ms = core.now_ms();
            core.collector.tick_with(now_ms, &core.threads);
            if let Some(x) = core.export.as_mut() {
                x.tick(now_ms, core.collector.engine());
            }
            next_tick += Duration::from_secs(1);
            if now > next_tick {
                // Far behind (a suspended process, a very long job): skip, do not catch up.
                next_tick = now + Duration::from_secs(1);
            }
        }
        let current = core.ids();
        if current != core.delivered {
            core.deliver(current);
        }
        ids.send_if_modified(|v| {
            let changed = *v != current;
            *v = current;
            changed
        });
    }
    core.shutdown();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A batch counts at its receipt, never before the previous batch's time nor after now.
    #[test]
    fn batches_count_at_their_receipt_and_time_never_goes_back() {
        // Received 700 ms before it is fed, after a batch that counted 1 s earlier.
        assert_eq!(receipt_ms(10_300, 9_000, 11_000), 10_300);
        // Received before the previous batch's time (another socket's batch came first).
        assert_eq!(receipt_ms(8_998, 9_000, 11_000), 9_000);
        // A receipt after now cannot be; a previous time after now neither.
        assert_eq!(receipt_ms(11_500, 9_000, 11_000), 11_000);
        assert_eq!(receipt_ms(10_300, 12_000, 11_000), 11_000);
    }

    /// The clock gives an instant's Unix time from the one it was started with.
    #[test]
    fn clock_turns_instants_into_unix_ms() {
        let clock = Clock::new();
        let later = clock.start + Duration::from_millis(1_234);
        assert_eq!(clock.ms_at(later), clock.start_unix_ms + 1_234);
        let before = clock.start.checked_sub(Duration::from_secs(1));
        if let Some(before) = before {
            assert_eq!(clock.ms_at(before), clock.start_unix_ms);
        }
    }
}
