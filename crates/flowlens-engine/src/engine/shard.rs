//! Engine shards: the per-sample state split by (agent, data source), so that several
//! threads can feed one engine. A [`Shard`] owns the flow tables, threshold states, key
//! buffer and key counts of the data sources [`Route`] gives it; the definitions, thresholds
//! and lookup tables stay in the [`Engine`], shared read-only by the shards while they take a
//! batch ([`Ctx`]). The agents' statistics and counter metrics are split by agent into one
//! part per shard ([`crate::part`]), lent to the shards' threads in the first step of a batch
//! ([`Engine::add_sflow_batch`]).
//!
//! The engine never starts a thread. [`Engine::add_sflow_batch`] hands each shard to the
//! caller's [`Fork`], which may run them on several threads (`flowlens run
//! --engine-threads`) or one after the other ([`Sequential`]). A shard is lent whole
//! (`&mut`) to one thread at a time, so no lock guards it.
//!
//! Answers do not depend on the number of shards: queries read every shard's tables the way
//! they read every data source's, and the events and flow records a batch raises are merged
//! in input order (each is tagged with its datagram's and sample's position, `seq`). Caps are
//! per shard: [`Limits::max_active_keys`] is divided among the shards, as are the agents' and
//! counter metrics' caps other than per agent; key names for `/flowkeys/json` are sampled
//! per shard.

use std::cell::RefCell;
use std::hash::BuildHasher;
use std::net::IpAddr;

use flowlens_netflow::hash::{map, Map};
use flowlens_wire::packet::WalkConfig;
use flowlens_wire::sflow::{Datagram, DiscardSample, FlowSample, Sample};
use flowlens_wire::{KeyMask, KeyVisitor};

use super::keys::SampleKeys;
use super::threshold::{Thresholds, Triggered};
use super::{Engine, EngineStats, Flow, Limits, LoggedFlow};
use crate::keybuf::{KeyBuf, Schema};
use crate::sample::{self, DataSource};
use crate::table::Table;
use crate::threshold::Event;
use crate::Env;

/// Which shard keeps a data source's state: by (agent, data source), or by agent alone while
/// a definition aggregates per agent (`aggMode:'agent'`, whose table gathers all of an
/// agent's data sources).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Route {
    /// Number of shards (≥ 1).
    pub(super) shards: usize,
    /// Route by agent only.
    pub(super) by_agent: bool,
}

impl Route {
    /// The index of the shard that keeps `ds`.
    #[inline]
    pub(super) fn of(self, ds: DataSource) -> usize {
        if self.shards <= 1 {
            return 0;
        }
        if self.by_agent {
            return crate::part::of_agent(ds.agent, self.shards);
        }
        // The address hashed as the standard library does (its discriminant, then its
        // bytes): `DataSource`'s own `Hash`, one integer for the tables' look-ups, spread the
        // fabric bench's data sources unevenly over 2 shards.
        let hash = foldhash::fast::FixedState::with_seed(0x5a4d).hash_one((ds.agent, ds.id));
        ((hash >> 32) as usize) % self.shards
    }
}

/// Runs a closure over every shard of a batch ([`Engine::add_sflow_batch`]): possibly on
/// several threads, each shard on one of them.
pub trait Fork {
    /// Calls `f` once for every shard in `shards`, returning when all calls have.
    fn each(&self, shards: &mut [Shard], f: &(dyn Fn(&mut Shard) + Sync));

    /// Whether [`Fork::each`] over `shards` shards runs all the calls at the same time, each
    /// on its own thread, so that the calls may wait for one another: a batch then takes
    /// both of its steps in one call ([`Engine::add_sflow_batch`]), the shards meeting
    /// between them, instead of two. False unless the implementation guarantees it (a call
    /// waiting for one that is not running would never return).
    fn at_once(&self, shards: usize) -> bool {
        let _ = shards;
        false
    }
}

/// Where the threads of one [`Fork::each`] call wait for one another
/// ([`Fork::at_once`]): each arrives once, then spins until all have (the steps it separates
/// are even, so the wait is short), yielding the core now and then.
struct Meet {
    arrived: std::sync::atomic::AtomicUsize,
    all: usize,
}

/// One thread's arrival at a [`Meet`], made when it is dropped: also when the step before
/// panics, so that the other threads do not wait forever (the panic then reaches the
/// caller at the end of [`Fork::each`]).
struct Arrival<'m>(&'m Meet);

impl Drop for Arrival<'_> {
    fn drop(&mut self) {
        self.0
            .arrived
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }
}

impl Meet {
    /// Arrives (now, or when the returned guard is dropped, whichever the caller chooses).
    fn arrival(&self) -> Arrival<'_> {
        Arrival(self)
    }

    /// Waits until every thread has arrived.
    fn wait(&self) {
        use std::sync::atomic::Ordering;
        let mut spins = 0u32;
        while self.arrived.load(Ordering::Acquire) < self.all {
            spins = spins.wrapping_add(1);
            if spins % 256 == 0 {
                std::thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
        }
    }
}

/// The [`Fork`] that runs the shards one after the other on the caller's thread.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sequential;

impl Fork for Sequential {
    fn each(&self, shards: &mut [Shard], f: &(dyn Fn(&mut Shard) + Sync)) {
        for s in shards {
            f(s);
        }
    }
}

/// A batch's flow samples and dropped-packet notifications, sorted by the shard that takes
/// them ([`Engine::add_sflow_batch`]).
pub(crate) struct Work<'d> {
    per_shard: Vec<Vec<Item<'d>>>,
}

/// Emptied per-shard sample lists kept between batches, so that a batch's lists neither
/// allocate nor regrow (and copy their items) once the lists have reached a batch's size.
#[derive(Default)]
pub(crate) struct SpareWork(Vec<Vec<Item<'static>>>);

/// Lists kept at most this long (items) between batches: one batch of oversized datagrams
/// does not keep its memory.
const SPARE_ITEMS_MAX: usize = 1 << 16;

/// `v` emptied, as a list of items of another lifetime (`A` and `B` are one type but for a
/// lifetime; for other types the list would only start empty), keeping its allocation: an empty
/// `Vec` collected in place from its own iterator reuses its buffer (the items' layout does
/// not depend on the lifetime). Were the standard library not to, the list would only start
/// empty, as a new one does.
// `filter` cannot stand in: it keeps the item type, and the point is to change its lifetime.
#[allow(clippy::unnecessary_filter_map)]
pub(crate) fn relabel<A, B>(mut v: Vec<A>) -> Vec<B> {
    v.clear();
    v.into_iter().filter_map(|_| None).collect()
}

impl Work<'_> {
    /// Empty lists for `shards` shards, reusing `spare`'s.
    pub(crate) fn new<'d>(shards: usize, spare: &mut SpareWork) -> Work<'d> {
        // `into_iter` (not `drain`) so that the list of lists is collected in place too.
        let mut per_shard: Vec<Vec<Item<'d>>> = std::mem::take(&mut spare.0)
            .into_iter()
            .map(relabel)
            .collect();
        per_shard.resize_with(shards, Vec::new);
        Work { per_shard }
    }

    /// Gives the lists back to `spare`, emptied.
    pub(crate) fn recycle(self, spare: &mut SpareWork) {
        spare.0 = self
            .per_shard
            .into_iter()
            .filter(|l| l.capacity() <= SPARE_ITEMS_MAX)
            .map(relabel)
            .collect();
    }
}

/// What one part's thread holds in the first step of a batch of several shards
/// ([`Engine::add_sflow_batch`]).
struct Slot<'a, 'd> {
    agents: &'a mut crate::agents::Part,
    counters: &'a mut crate::counters::Part,
    /// The part's datagram and sample counts, added to the engine's after the step.
    stats: EngineStats,
    /// The part's flow samples, by shard.
    work: &'a mut Work<'d>,
}

/// One sample with its input position and data source.
pub(super) struct Item<'d> {
    pub(super) seq: u64,
    /// Its data source, whose `agent` is the datagram's.
    pub(super) ds: DataSource,
    pub(super) sample: Sample<'d>,
}

/// An sFlow flow sample's or dropped-packet notification's keys, with the datagram's agent
/// ([`sample::visit_flow_sample`], [`sample::visit_discard_sample`]).
enum SflowKeys<'s, 'd> {
    Flow(IpAddr, &'s FlowSample<'d>),
    Discard(IpAddr, &'s DiscardSample<'d>),
}

impl SampleKeys for SflowKeys<'_, '_> {
    fn visit(self, cfg: &WalkConfig, v: &mut impl KeyVisitor) -> sample::Weight {
        match self {
            SflowKeys::Flow(agent, fs) => sample::visit_flow_sample(agent, fs, cfg, v),
            SflowKeys::Discard(agent, d) => sample::visit_discard_sample(agent, d, cfg, v),
        }
    }
}

/// The engine's state that a datagram touches outside the shards: on the caller's thread,
/// or, in a batch of several shards, on the thread of the shard whose agents' parts it is
/// lent ([`Engine::add_sflow_batch`]).
pub(super) struct Common<'a> {
    pub(super) stats: &'a mut EngineStats,
    /// Parts of the agents' statistics (all of them, or the one of the datagrams' agents).
    pub(super) agents: &'a mut [crate::agents::Part],
    /// Parts of the counter metrics, as `agents`.
    pub(super) counters: &'a mut [crate::counters::Part],
}

/// One shard of the engine's per-sample state (see the module docs). Opaque: it is only
/// handed to a [`Fork`].
///
/// Aligned to 128 bytes (two cache lines, the unit the adjacent-line prefetcher pairs), so
/// that shards side by side in the engine's list share no cache line: fields written per
/// sample in one shard's struct would otherwise bounce between the cores of neighbouring
/// shards (2 shards spent 10–20 % more CPU time than 1 on the same samples; about 6 % with
/// it).
#[repr(align(128))]
pub struct Shard {
    /// This shard's index in [`Route::of`].
    index: usize,
    /// Per definition (by index), the tables of this shard's data sources.
    pub(super) tables: Vec<Map<DataSource, Table>>,
    /// Per threshold (by index), the triggered states of this shard's data sources.
    pub(super) triggered: Triggered,
    pub(super) buf: KeyBuf,
    /// The sample's stored key for the definition at hand ([`crate::flow_key`]).
    pub(super) key: Vec<u8>,
    /// Reused text of key functions that compute text, on their way into `key`.
    pub(super) key_text: String,
    pub(super) scratch: RefCell<String>,
    /// Active keys over this shard's tables.
    pub(super) active_keys: usize,
    /// `keys_added`, `keys_expired`, `keys_evicted`, `keys_refused` of this shard.
    pub(super) stats: EngineStats,
    pub(super) sample_tick: u32,
    /// Key names seen (every 64th sample) with when, Unix ms.
    pub(super) seen_keys: Map<(&'static str, u8), u64>,
    /// Flow records (flow ends, `activeTimeout` flushes) of the last [`Shard::expire`], by
    /// definition index and data source; taken by the engine's tick.
    pub(super) flushed: Vec<(usize, DataSource, LoggedFlow)>,
    /// Events raised and not yet merged into the engine's log, with their input position.
    pub(super) events: Vec<(u64, Event)>,
    /// Flow records (`flowStart`) not yet merged, with their input position.
    pub(super) logs: Vec<(u64, LoggedFlow)>,
}

impl Shard {
    /// A sample of this shard's data sources.
    pub(super) fn add_item(&mut self, ctx: &Ctx<'_>, now_ms: u64, it: &Item<'_>) {
        let agent = it.ds.agent;
        let (dropped, keys) = match &it.sample {
            Sample::Flow(fs) => (false, SflowKeys::Flow(agent, fs)),
            Sample::Discard(d) => (true, SflowKeys::Discard(agent, d)),
            Sample::Counter(_) | Sample::Unknown(_) => return,
        };
        if self.wants(ctx, dropped) {
            self.add_visited(ctx, now_ms, it.ds, dropped, it.seq, keys);
        }
    }

    /// The tick's scan of this shard's tables at `now_ms` ([`Engine::tick_with`]): removes
    /// idle keys (their flows ending), flushes logged flows older than their
    /// `activeTimeout` into [`Shard::flushed`], drops emptied tables.
    pub(super) fn expire(&mut self, flows: &[Flow], limits: &Limits, now_ms: u64) {
        let Shard {
            tables: shard_tables,
            active_keys,
            stats,
            flushed,
            ..
        } = self;
        for (fi, (flow, tables)) in flows.iter().zip(shard_tables.iter_mut()).enumerate() {
            let def = &flow.def;
            let idle_ms = (limits.idle_factor * def.t_secs * 1000.0) as u64;
            let active_ms = def.active_timeout_secs * 1000;
            let log_end = def.log && !def.flow_start;
            for (ds, table) in tables.iter_mut() {
                table.entries.retain(|key, e| {
                    let idle =
                        limits.idle_factor > 0.0 && now_ms.saturating_sub(e.last_ms) > idle_ms;
                    if log_end {
                        let more = e.more.as_deref_mut();
                        if let Some((total, ls)) = more
                            .and_then(|m| Some((m.total, m.states.as_deref_mut()?.log.as_mut()?)))
                        {
                            let flush =
                                idle || now_ms.saturating_sub(ls.record_start_ms) >= active_ms;
                            let value = total - ls.total_at_start;
                            if flush && value > 0.0 {
                                flushed.push((
                                    fi,
                                    *ds,
                                    LoggedFlow {
                                        id: 0,
                                        name: def.name.clone(),
                                        flow_keys: crate::flow_key::text(key, &def.fs),
                                        value,
                                        start_ms: ls.record_start_ms,
                                        end_ms: e.last_ms,
                                        agent: ds.agent.to_string(),
                                        data_source: ds.name().to_string(),
                                    },
                                ));
                                ls.record_start_ms = now_ms;
                                ls.total_at_start = total;
                            }
                        }
                    }
                    if idle {
                        *active_keys -= 1;
                        stats.keys_expired += 1;
                    }
                    !idle
                });
            }
            tables.retain(|_, t| !t.entries.is_empty());
        }
    }

    fn new(index: usize, flows: usize, thresholds: usize) -> Shard {
        Shard {
            index,
            tables: (0..flows).map(|_| map()).collect(),
            triggered: (0..thresholds).map(|_| map()).collect(),
            buf: KeyBuf::default(),
            key: Vec::new(),
            key_text: String::new(),
            scratch: RefCell::new(String::new()),
            active_keys: 0,
            stats: EngineStats::default(),
            sample_tick: 0,
            seen_keys: map(),
            flushed: Vec::new(),
            events: Vec::new(),
            logs: Vec::new(),
        }
    }
}

/// What the shards share, read-only, while they take samples: the definitions and what is
/// compiled from them, the thresholds, the lookup tables and the caps.
pub(super) struct Ctx<'a> {
    pub(super) flows: &'a [Flow],
    pub(super) thresholds: &'a Thresholds,
    pub(super) env: &'a Env,
    pub(super) schema: &'a Schema,
    pub(super) walk: &'a WalkConfig,
    /// The keys producers are asked for.
    pub(super) mask: KeyMask,
    pub(super) limits: &'a Limits,
    /// This shard's share of [`Limits::max_active_keys`].
    pub(super) key_cap: usize,
    pub(super) route: Route,
    /// Whether a definition of flow samples (`dropped: false`) exists.
    pub(super) any_flow: bool,
    /// Whether a definition of dropped packets exists.
    pub(super) any_dropped: bool,
}

impl Engine {
    /// Splits the engine's state into what the shards share and the shards themselves.
    pub(super) fn split(&mut self) -> (Ctx<'_>, &mut [Shard]) {
        let (ctx, shards, _) = self.parts();
        (ctx, shards)
    }

    /// [`Engine::split`], and the state outside the shards that input changes ([`Common`]).
    pub(super) fn parts(&mut self) -> (Ctx<'_>, &mut [Shard], Common<'_>) {
        let Engine {
            limits,
            schema,
            env,
            flows,
            thresholds,
            counters,
            walk,
            stats,
            mask,
            full_visit,
            any_flow,
            any_dropped,
            agents,
            shards,
            route,
            ..
        } = self;
        let key_cap = limits.max_active_keys.div_ceil(route.shards.max(1));
        (
            Ctx {
                flows,
                thresholds,
                env,
                schema,
                walk,
                mask: if *full_visit { KeyMask::ALL } else { *mask },
                limits,
                key_cap,
                route: *route,
                any_flow: *any_flow,
                any_dropped: *any_dropped,
            },
            shards,
            Common {
                stats,
                agents: agents.parts_mut(),
                counters: counters.parts_mut(),
            },
        )
    }

    /// The number of shards (1 unless [`Engine::set_shards`] changed it).
    pub fn shards(&self) -> usize {
        self.route.shards
    }

    /// Splits the per-sample state into `n` shards (at least 1), moving every table and
    /// triggered threshold state to its new shard. Answers do not change; only
    /// [`Engine::add_sflow_batch`] can then feed the shards on several threads.
    pub fn set_shards(&mut self, n: usize) {
        self.agents.set_parts(n);
        self.counters.set_parts(n);
        self.reshard(Route {
            shards: n.max(1),
            by_agent: self.route.by_agent,
        });
    }

    /// Moves the shards' state to the shards of `route`.
    pub(super) fn reshard(&mut self, route: Route) {
        let old = std::mem::take(&mut self.shards);
        self.route = route;
        let (flows, thresholds) = (self.flows.len(), self.thresholds.len());
        self.shards = (0..route.shards)
            .map(|i| Shard::new(i, flows, thresholds))
            .collect();
        for s in old {
            self.stats.add_key_counts(&s.stats);
            for (fi, tables) in s.tables.into_iter().enumerate() {
                for (ds, t) in tables {
                    if let Some(to) = self.shards.get_mut(route.of(ds)) {
                        to.active_keys += t.entries.len();
                        if let Some(map) = to.tables.get_mut(fi) {
                            map.insert(ds, t);
                        }
                    }
                }
            }
            for (ti, trig) in s.triggered.into_iter().enumerate() {
                for (tk, tr) in trig {
                    if let Some(map) = self
                        .shards
                        .get_mut(route.of(tk.ds))
                        .and_then(|to| to.triggered.get_mut(ti))
                    {
                        map.insert(tk, tr);
                    }
                }
            }
            if let Some(first) = self.shards.first_mut() {
                merge_seen(&mut first.seen_keys, &s.seen_keys);
                first.events.extend(s.events);
                first.logs.extend(s.logs);
            }
        }
        self.drain();
    }

    /// Moves the events and flow records the shards raised into the engine's logs, in input
    /// order. A shard's own list need not be in order: in a batch, NetFlow/IPFIX records
    /// reach their shards as the batch is read, and sFlow samples after it.
    pub(super) fn drain(&mut self) {
        if self
            .shards
            .iter()
            .all(|s| s.events.is_empty() && s.logs.is_empty())
        {
            return;
        }
        let mut events: Vec<(u64, Event)> = Vec::new();
        let mut logs: Vec<(u64, LoggedFlow)> = Vec::new();
        for s in &mut self.shards {
            events.append(&mut s.events);
            logs.append(&mut s.logs);
        }
        // Stable: one sample's items stay in the order its shard raised them.
        events.sort_by_key(|(seq, _)| *seq);
        logs.sort_by_key(|(seq, _)| *seq);
        for (_, e) in events {
            self.events.push(e);
        }
        for (_, f) in logs {
            self.flow_log.push(f);
        }
    }

    /// Feeds a batch of sFlow datagrams, received at `now_ms`, each with the UDP sender it
    /// came from: their flow samples go to the shards through `fork` (which may run them on
    /// several threads), everything else (datagram and agent statistics, counter samples)
    /// on the caller's thread first. The result is the same as [`Engine::add_sflow_from`] for
    /// each datagram in order, whatever the number of shards.
    ///
    /// With several shards the batch goes in two steps, each on the shards' threads. The
    /// agents' statistics and counter metrics are kept in one part per shard, by agent:
    /// first every datagram is taken on the thread of its agent's part (its samples parsed,
    /// its agent's statistics and counter samples taken there, its flow samples sorted by
    /// shard), then every shard takes its flow samples, from one part after the other. A
    /// data source's samples keep their order, since all come from one agent. When `fork`
    /// runs every shard at once ([`Fork::at_once`]) both steps take one call, the shards
    /// meeting between them.
    pub fn add_sflow_batch(
        &mut self,
        now_ms: u64,
        batch: &[(Option<IpAddr>, Datagram<'_>)],
        fork: &dyn Fork,
    ) {
        let first = self.seq + 1;
        self.seq += batch.len() as u64;
        self.add_sflow_batch_at(now_ms, batch, |k| (first + k as u64) << 32, fork);
    }

    /// [`Engine::add_sflow_batch`] with each datagram's input position given by `seq`
    /// (from [`Engine::next_seq`], by the datagram's index in `batch`).
    pub(crate) fn add_sflow_batch_at<'d>(
        &mut self,
        now_ms: u64,
        batch: &[(Option<IpAddr>, Datagram<'d>)],
        seq: impl Fn(usize) -> u64 + Sync,
        fork: &dyn Fork,
    ) {
        let n = self.route.shards;
        if n <= 1 {
            let mut work = self.take_work();
            for (k, (source, d)) in batch.iter().enumerate() {
                self.add_sflow_sorted_at(now_ms, seq(k), *source, d, &mut work);
            }
            self.add_sflow_work(now_ms, std::slice::from_ref(&work), fork);
            self.put_work(work);
            return;
        }
        let mut works: Vec<Work<'d>> = (0..n).map(|_| self.take_work()).collect();
        let route = self.route;
        let (ctx, shards, common) = self.parts();
        let slots: Vec<std::sync::RwLock<Slot<'_, 'd>>> = common
            .agents
            .iter_mut()
            .zip(common.counters.iter_mut())
            .zip(works.iter_mut())
            .map(|((agents, counters), work)| {
                std::sync::RwLock::new(Slot {
                    agents,
                    counters,
                    stats: EngineStats::default(),
                    work,
                })
            })
            .collect();
        let sort = |shard: &mut Shard| {
            let Some(slot) = slots.get(shard.index) else {
                return;
            };
            // Each slot is written once, by its own shard's thread: never contended.
            let mut slot = slot
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let Slot {
                agents,
                counters,
                stats,
                work,
            } = &mut *slot;
            let mut common = Common {
                stats,
                agents: std::slice::from_mut(&mut **agents),
                counters: std::slice::from_mut(&mut **counters),
            };
            // This part's datagrams: each thread picks its own out of the batch (a hash of
            // the agent address per datagram, rather than a list made beforehand on the
            // caller's thread).
            let mine = batch
                .iter()
                .enumerate()
                .filter(|(_, (_, d))| crate::part::of_agent(d.agent_address(), n) == shard.index);
            for (k, (source, d)) in mine {
                let s = seq(k);
                common.add_sflow(now_ms, *source, d, |j, ds, sample| {
                    if let Some(list) = work.per_shard.get_mut(route.of(ds)) {
                        list.push(Item {
                            seq: s | j,
                            ds,
                            sample,
                        });
                    }
                });
            }
        };
        let fused = fork.at_once(n);
        if fused {
            // Both steps in one call: the shards meet between them, then each takes its
            // flow samples from every part's lists.
            let meet = Meet {
                arrived: std::sync::atomic::AtomicUsize::new(0),
                all: shards.len(),
            };
            let both = |shard: &mut Shard| {
                let arrival = meet.arrival();
                sort(shard);
                drop(arrival);
                meet.wait();
                for slot in &slots {
                    let slot = slot
                        .read()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    if let Some(items) = slot.work.per_shard.get(shard.index) {
                        for it in items {
                            shard.add_item(&ctx, now_ms, it);
                        }
                    }
                }
            };
            fork.each(shards, &both);
        } else {
            fork.each(shards, &sort);
        }
        for slot in slots {
            let slot = slot
                .into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            common.stats.add_sflow_counts(&slot.stats);
        }
        if fused {
            if !self.in_batch {
                self.drain();
            }
        } else {
            self.add_sflow_work(now_ms, &works, fork);
        }
        for w in works {
            self.put_work(w);
        }
    }

    /// Empty per-shard sample lists for a batch, with the capacity the last batch's reached.
    pub(crate) fn take_work<'d>(&mut self) -> Work<'d> {
        Work::new(self.route.shards, &mut self.spare_work)
    }

    /// Keeps a batch's lists (emptied) for the next [`Engine::take_work`].
    pub(crate) fn put_work(&mut self, work: Work<'_>) {
        work.recycle(&mut self.spare_work);
    }

    /// The part of a batch's datagram that stays on the caller's thread (datagram, sample
    /// and agent statistics, counter samples), sorting its flow samples and dropped-packet
    /// notifications into `work` by shard.
    pub(crate) fn add_sflow_sorted_at<'d>(
        &mut self,
        now_ms: u64,
        seq: u64,
        source: Option<IpAddr>,
        dgram: &Datagram<'d>,
        work: &mut Work<'d>,
    ) {
        let route = self.route;
        let (_, _, mut common) = self.parts();
        common.add_sflow(now_ms, source, dgram, |j, ds, sample| {
            if let Some(list) = work.per_shard.get_mut(route.of(ds)) {
                list.push(Item {
                    seq: seq | j,
                    ds,
                    sample,
                });
            }
        });
    }

    /// The samples sorted into `works` into the shards through `fork` (each shard takes its
    /// list of the first work, then of the next...), then, outside a batch, the events and
    /// records they raised into the logs.
    pub(crate) fn add_sflow_work(&mut self, now_ms: u64, works: &[Work<'_>], fork: &dyn Fork) {
        let (ctx, shards) = self.split();
        let run = |shard: &mut Shard| {
            for work in works {
                if let Some(items) = work.per_shard.get(shard.index) {
                    for it in items {
                        shard.add_item(&ctx, now_ms, it);
                    }
                }
            }
        };
        match shards {
            [one] => run(one),
            _ => {
                // Only the shards with samples are handed over.
                let busy = (0..shards.len())
                    .filter(|&i| {
                        works
                            .iter()
                            .any(|w| w.per_shard.get(i).is_some_and(|l| !l.is_empty()))
                    })
                    .count();
                if busy <= 1 {
                    shards.iter_mut().for_each(run);
                } else {
                    fork.each(shards, &run);
                }
            }
        }
        if !self.in_batch {
            self.drain();
        }
    }

    /// The next input position, in its top 32 bits: an sFlow datagram's (its samples number
    /// the low 32), a NetFlow/IPFIX record's or a packet's.
    pub(crate) fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq << 32
    }

    /// Starts a batch: events and flow records stay in the shards until
    /// [`Engine::end_batch`] merges them in input order.
    pub(crate) fn begin_batch(&mut self) {
        self.in_batch = true;
    }

    /// Ends a batch ([`Engine::begin_batch`]).
    pub(crate) fn end_batch(&mut self) {
        self.in_batch = false;
        self.drain();
    }
}

/// Adds the key names `from` saw to `into`, each with the later of the two times.
pub(super) fn merge_seen(
    into: &mut Map<(&'static str, u8), u64>,
    from: &Map<(&'static str, u8), u64>,
) {
    for (k, t) in from {
        let e = into.entry(*k).or_insert(*t);
        *e = (*e).max(*t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A thread whose step before the meeting panics still arrives (its guard arrives while
    /// unwinding): the other threads go on, and the panic reaches whoever joins it.
    #[test]
    #[allow(clippy::panic)]
    fn a_thread_that_panics_before_the_meeting_still_arrives() {
        let meet = Meet {
            arrived: std::sync::atomic::AtomicUsize::new(0),
            all: 2,
        };
        std::thread::scope(|s| {
            let failing = s.spawn(|| {
                let _arrival = meet.arrival();
                panic!("the step before the meeting failed");
            });
            drop(meet.arrival());
            meet.wait();
            assert!(failing.join().is_err());
        });
        assert_eq!(meet.arrived.load(std::sync::atomic::Ordering::Acquire), 2);
    }

    /// A batch's lists come back with their buffers: relabelling keeps the allocation, so
    /// batches after the first do not allocate or regrow their lists.
    #[test]
    fn work_lists_keep_their_buffers_between_batches() {
        let list: Vec<Item<'_>> = Vec::with_capacity(300);
        let (ptr, cap) = (list.as_ptr() as usize, list.capacity());
        let list: Vec<Item<'static>> = relabel::<Item<'_>, Item<'static>>(list);
        assert_eq!((list.as_ptr() as usize, list.capacity()), (ptr, cap));

        let mut spare = SpareWork(vec![list, Vec::with_capacity(SPARE_ITEMS_MAX + 1)]);
        let work = Work::new(3, &mut spare);
        assert!(spare.0.is_empty());
        let caps: Vec<usize> = work.per_shard.iter().map(Vec::capacity).collect();
        assert_eq!(caps, [300, SPARE_ITEMS_MAX + 1, 0]);
        assert_eq!(work.per_shard[0].as_ptr() as usize, ptr);
        // An oversized list is not kept.
        work.recycle(&mut spare);
        let caps: Vec<usize> = spare.0.iter().map(Vec::capacity).collect();
        assert_eq!(caps, [300, 0]);
        // The list of lists keeps its buffer too, batch after batch.
        let outer = spare.0.as_ptr() as usize;
        let work = Work::new(2, &mut spare);
        assert_eq!(work.per_shard.as_ptr() as usize, outer);
        work.recycle(&mut spare);
        assert_eq!(spare.0.as_ptr() as usize, outer);
    }
}
