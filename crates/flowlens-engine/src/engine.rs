//! The engine: flow definitions and their tables, thresholds, events, flow records and
//! counter metrics, fed with samples and asked for active flows. Sans-IO: every method takes
//! the caller's `now_ms` (Unix ms).
//!
//! Split by concern the way quinn-proto splits its `connection/` module: this file holds the
//! state, the definitions and [`Engine::tick`]; `engine/input.rs` the samples' way into the
//! tables, `engine/keys.rs` which keys producers are asked for, `engine/eviction.rs` room
//! under the [`Limits`] (`engine/limits.rs`), `engine/threshold.rs` the threshold runtime,
//! `engine/query.rs` the read side, `engine/rows.rs` the answer rows and `engine/shard.rs`
//! the shards that hold the per-sample state (tables, threshold states, key buffers).

use serde_json::Value as Json;

use crate::agents::Agents;
use crate::counters::Counters;
use crate::definition::FlowDef;
use crate::error::{Error, Result};
use crate::keybuf::Schema;
use crate::ring::Ring;
use crate::threshold::{Event, Threshold};
use crate::Env;
use flowlens_netflow::hash::map;
use flowlens_wire::packet::WalkConfig;
use flowlens_wire::KeyMask;

mod eviction;
mod input;
mod keys;
mod limits;
mod query;
mod rows;
mod shard;
mod threshold;

pub use limits::Limits;
pub use query::{FlowQuery, DEFAULT_MAX_FLOWS};
pub use rows::{ActiveFlow, AggMode, LoggedFlow};
pub(crate) use shard::relabel;
use shard::Route;
pub use shard::{Fork, Sequential, Shard};
use threshold::Thresholds;

/// How often idle agents and data sources are forgotten ([`Agents::expire`]), ms.
const AGENTS_EXPIRY_EVERY_MS: u64 = 10_000;

/// Counters of what the engine did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// sFlow datagrams seen.
    pub datagrams: u64,
    /// sFlow flow samples.
    pub flow_samples: u64,
    /// sFlow counter samples.
    pub counter_samples: u64,
    /// sFlow dropped-packet notifications.
    pub discard_samples: u64,
    /// NetFlow/IPFIX data records.
    pub records: u64,
    /// Raw packets.
    pub packets: u64,
    /// Samples whose records did not decode (the datagram was cut short there).
    pub sample_errors: u64,
    /// Keys added to tables.
    pub keys_added: u64,
    /// Keys removed for being idle.
    pub keys_expired: u64,
    /// Keys dropped when a table was full.
    pub keys_evicted: u64,
    /// New keys refused because `max_active_keys` was reached.
    pub keys_refused: u64,
    /// Flow records logged.
    pub flows_logged: u64,
    /// Events generated.
    pub events: u64,
}

/// A definition and the thresholds that watch it; its tables are in the shards (at the
/// definition's index).
impl EngineStats {
    /// Adds `other`'s sFlow input counts (`datagrams`, `flow_samples`, `counter_samples`,
    /// `discard_samples`, `sample_errors`): a part's in a batch, to the engine's.
    fn add_sflow_counts(&mut self, other: &EngineStats) {
        self.datagrams += other.datagrams;
        self.flow_samples += other.flow_samples;
        self.counter_samples += other.counter_samples;
        self.discard_samples += other.discard_samples;
        self.sample_errors += other.sample_errors;
    }

    /// Adds `other`'s key counts (`keys_added`, `keys_expired`, `keys_evicted`,
    /// `keys_refused`): a shard's, to the engine's.
    fn add_key_counts(&mut self, other: &EngineStats) {
        self.keys_added += other.keys_added;
        self.keys_expired += other.keys_expired;
        self.keys_evicted += other.keys_evicted;
        self.keys_refused += other.keys_refused;
    }
}

struct Flow {
    def: FlowDef,
    /// Indices of the thresholds watching this flow.
    watch: Vec<usize>,
}

/// The flow engine.
pub struct Engine {
    limits: Limits,
    schema: Schema,
    env: Env,
    flows: Vec<Flow>,
    thresholds: Thresholds,
    counters: Counters,
    flow_log: Ring<LoggedFlow>,
    events: Ring<Event>,
    walk: WalkConfig,
    /// Datagram and sample counts, and the key counts of shards since replaced.
    stats: EngineStats,
    /// The keys the definitions read (what producers are asked for).
    mask: KeyMask,
    /// Ask producers for every key, whatever the definitions read ([`Engine::set_full_visit`]).
    full_visit: bool,
    /// Whether a definition of flow samples, of dropped packets, exists.
    any_flow: bool,
    any_dropped: bool,
    /// When [`Agents::expire`] runs next (every [`AGENTS_EXPIRY_EVERY_MS`]).
    next_agents_expiry_ms: u64,
    agents: Agents,
    /// The per-sample state, split by [`Route`].
    shards: Vec<Shard>,
    route: Route,
    /// The newest input position handed out ([`Engine::next_seq`]).
    seq: u64,
    /// Inside [`Engine::begin_batch`]: events and flow records wait in the shards.
    in_batch: bool,
    /// The last batch's per-shard sample lists, emptied, kept for their capacity
    /// ([`Engine::take_work`]).
    spare_work: shard::SpareWork,
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new(Limits::default())
    }
}

impl Engine {
    /// An engine with these caps.
    pub fn new(limits: Limits) -> Engine {
        let (flow_log_len, event_log_len) = (limits.flow_log_len, limits.event_log_len);
        let mut e = Engine {
            counters: Counters::new(limits.counters),
            agents: Agents::new(limits.agents),
            limits,
            schema: Schema::default(),
            env: Env::default(),
            flows: Vec::new(),
            thresholds: Thresholds::default(),
            flow_log: Ring::new(flow_log_len),
            events: Ring::new(event_log_len),
            walk: WalkConfig::default(),
            stats: EngineStats::default(),
            mask: KeyMask::NONE,
            full_visit: false,
            any_flow: false,
            any_dropped: false,
            next_agents_expiry_ms: 0,
            shards: Vec::new(),
            route: Route {
                shards: 1,
                by_agent: false,
            },
            seq: 0,
            in_batch: false,
            spare_work: shard::SpareWork::default(),
        };
        e.reshard(e.route);
        e
    }

    /// Packet-walker settings (tunnel ports) used for sampled headers and raw packets.
    pub fn set_walk_config(&mut self, cfg: WalkConfig) {
        self.walk = cfg;
    }

    /// What the engine did so far.
    pub fn stats(&self) -> EngineStats {
        let mut st = EngineStats {
            flows_logged: self.flow_log.last_id(),
            events: self.events.last_id(),
            ..self.stats
        };
        for s in &self.shards {
            st.add_key_counts(&s.stats);
        }
        st
    }

    /// Active keys over all tables.
    pub fn active_keys(&self) -> usize {
        self.shards.iter().map(|s| s.active_keys).sum()
    }

    /// The lookup tables of key functions (groups, maps, OUI).
    pub fn env(&self) -> &Env {
        &self.env
    }

    /// Mutable lookup tables (`setGroups`, `setMap`).
    pub fn env_mut(&mut self) -> &mut Env {
        &mut self.env
    }

    /// Counter metrics.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Per-agent sFlow session statistics.
    pub fn agents(&self) -> &Agents {
        &self.agents
    }

    // ---- definitions -------------------------------------------------------------------

    /// Creates or replaces a flow definition (`setFlow`, `PUT /flow/{name}/json`). Replacing
    /// a definition drops its tables.
    pub fn set_flow(&mut self, name: &str, spec: &Json) -> Result<()> {
        let def = FlowDef::parse(name, spec, &mut self.schema)?;
        match self
            .flows
            .iter_mut()
            .enumerate()
            .find(|(_, f)| f.def.name == name)
        {
            Some((i, f)) => {
                f.def = def;
                for s in &mut self.shards {
                    if let Some(t) = s.tables.get_mut(i) {
                        let t = std::mem::replace(t, map());
                        s.active_keys -= t.values().map(|t| t.entries.len()).sum::<usize>();
                    }
                }
            }
            None => {
                if self.flows.len() >= self.limits.max_flows {
                    return Err(Error::Limit {
                        what: "flow definitions",
                        limit: self.limits.max_flows,
                    });
                }
                self.flows.push(Flow {
                    def,
                    watch: Vec::new(),
                });
                for s in &mut self.shards {
                    s.tables.push(map());
                }
            }
        }
        self.rewire();
        Ok(())
    }

    /// Removes a flow definition; false when there was none.
    pub fn clear_flow(&mut self, name: &str) -> bool {
        let Some(i) = self.flows.iter().position(|f| f.def.name == name) else {
            return false;
        };
        self.flows.remove(i);
        for s in &mut self.shards {
            let t = s.tables.remove(i);
            s.active_keys -= t.values().map(|t| t.entries.len()).sum::<usize>();
        }
        self.rewire();
        true
    }

    /// A flow definition as JSON (`GET /flow/{name}/json`).
    pub fn flow(&self, name: &str) -> Option<&Json> {
        self.flows
            .iter()
            .find(|f| f.def.name == name)
            .map(|f| &f.def.spec)
    }

    /// Every flow definition, `{name: definition}`, in creation order.
    pub fn flows_json(&self) -> Json {
        Json::Object(
            self.flows
                .iter()
                .map(|f| (f.def.name.clone(), f.def.spec.clone()))
                .collect(),
        )
    }

    /// Creates or replaces a threshold (`setThreshold`, `PUT /threshold/{name}/json`).
    ///
    /// # Errors
    /// The threshold does not parse, or [`Limits::max_thresholds`] is reached.
    pub fn set_threshold(&mut self, name: &str, spec: &Json) -> Result<()> {
        let th = Threshold::parse(name, spec)?;
        let (i, new) = self.thresholds.set(th, self.limits.max_thresholds)?;
        for s in &mut self.shards {
            if new {
                s.triggered.push(map());
            } else if let Some(t) = s.triggered.get_mut(i) {
                *t = map();
            }
        }
        self.rewire();
        Ok(())
    }

    /// Removes a threshold; false when there was none.
    pub fn clear_threshold(&mut self, name: &str) -> bool {
        let cleared = self.thresholds.clear(name);
        if let Some(i) = cleared {
            for s in &mut self.shards {
                s.triggered.remove(i);
            }
        }
        self.rewire();
        cleared.is_some()
    }

    /// A threshold as JSON.
    pub fn threshold(&self, name: &str) -> Option<&Json> {
        self.thresholds.spec(name)
    }

    /// Every threshold, `{name: threshold}`.
    pub fn thresholds_json(&self) -> Json {
        self.thresholds.json()
    }

    /// Recomputes what depends on the set of definitions and thresholds: the key mask (the
    /// union of the definitions' [`FlowDef::reads`]), which thresholds watch each flow, and
    /// the shards' [`Route`] (by agent while a definition aggregates per agent).
    fn rewire(&mut self) {
        self.mask = self
            .flows
            .iter()
            .fold(KeyMask::NONE, |m, f| m.union(f.def.reads));
        for f in &mut self.flows {
            f.watch = self.thresholds.watching(&f.def.name);
        }
        self.any_flow = self.flows.iter().any(|f| !f.def.dropped);
        self.any_dropped = self.flows.iter().any(|f| f.def.dropped);
        let by_agent = self.flows.iter().any(|f| f.def.agg_agent);
        if by_agent != self.route.by_agent {
            self.reshard(Route {
                shards: self.route.shards,
                by_agent,
            });
        }
    }

    /// Creates or replaces a named group set (`setGroups(name, groups)`,
    /// `PUT /group/{name}/json`): `{"label":["cidr",…],…}`.
    pub fn set_groups(&mut self, name: &str, groups: &Json) -> Result<()> {
        crate::definition::validate_name("group", name)?;
        let set = crate::groups::GroupSet::from_json(groups)?;
        self.env.groups.set(name, set);
        Ok(())
    }

    /// The legacy one-argument `setGroups(groups)`: the set behind the `sourcegroup` /
    /// `destinationgroup` keys ([`crate::groups::LEGACY_SET`]).
    pub fn set_legacy_groups(&mut self, groups: &Json) -> Result<()> {
        self.set_groups(crate::groups::LEGACY_SET, groups)
    }

    /// Creates or replaces a value map (`setMap(name, map)`, `PUT /map/{name}/json`):
    /// `{"label":["value",…],…}`.
    pub fn set_map(&mut self, name: &str, m: &Json) -> Result<()> {
        crate::definition::validate_name("map", name)?;
        let vm = crate::maps::ValueMap::from_json(m)?;
        self.env.maps.set(name, vm);
        Ok(())
    }

    // ---- time --------------------------------------------------------------------------

    /// Housekeeping at `now_ms` (call about once a second): removes idle keys (logging the
    /// flows that end), flushes logged flows older than their `activeTimeout`, re-arms
    /// thresholds whose value stayed below for `timeout`, checks counter-metric thresholds,
    /// expires counter data sources.
    pub fn tick(&mut self, now_ms: u64) {
        self.tick_with(now_ms, &Sequential);
    }

    /// [`Engine::tick`] with each shard's tables scanned through `fork` (which may run them on
    /// several threads, as [`Engine::add_sflow_batch`] does); the result is the same.
    pub fn tick_with(&mut self, now_ms: u64, fork: &dyn Fork) {
        let Engine {
            flows,
            thresholds,
            limits,
            flow_log,
            events,
            counters,
            agents,
            next_agents_expiry_ms,
            shards,
            ..
        } = self;
        let expire = |shard: &mut Shard| shard.expire(flows, limits, now_ms);
        match shards.as_mut_slice() {
            [one] => expire(one),
            all => fork.each(all, &expire),
        }
        // Records flushed this tick, by definition, then in (data source, key) order: the
        // same whatever the shards and the tables' (seeded) order.
        let mut flushed: Vec<(usize, crate::sample::DataSource, LoggedFlow)> = Vec::new();
        for shard in shards.iter_mut() {
            flushed.append(&mut shard.flushed);
        }
        flushed.sort_by(|a, b| {
            (a.0, a.1)
                .cmp(&(b.0, b.1))
                .then_with(|| a.2.flow_keys.cmp(&b.2.flow_keys))
        });
        for (_, _, f) in flushed {
            flow_log.push(f);
        }
        thresholds.tick(flows, shards, counters, now_ms, events);
        if now_ms >= *next_agents_expiry_ms {
            agents.expire(now_ms);
            *next_agents_expiry_ms = now_ms + AGENTS_EXPIRY_EVERY_MS;
        }
        counters.expire(now_ms);
    }
}
