//! The engine: flow definitions and their tables, thresholds, events, flow records and
//! counter metrics, fed with samples and asked for active flows. Sans-IO: every method takes
//! the caller's `now_ms` (Unix ms).

use std::net::IpAddr;

use flowlens_netflow::NetflowRecord;
use flowlens_wire::packet::{self, LinkType, WalkConfig};
use flowlens_wire::sflow::{Datagram, Sample};
use flowlens_wire::{KeyId, KeyMask, KeyVisitor, Masked, Value};
use serde_json::Value as Json;

use crate::agents::{AgentLimits, Agents};

/// How often idle agents and data sources are forgotten ([`Agents::expire`]), ms.
const AGENTS_EXPIRY_EVERY_MS: u64 = 10_000;
use crate::counters::{CounterLimits, Counters};
use crate::definition::FlowDef;
use crate::error::{Error, Result};
use crate::keybuf::{KeyBuf, Schema};
use crate::ring::Ring;
use crate::sample::{self, DataSource, Weight};
use crate::table::{Entry, Input, Table};
use crate::threshold::{Event, Threshold};

mod query;
mod rows;
mod threshold;

use crate::Env;
use flowlens_netflow::hash::{map, Map};
pub use query::{FlowQuery, DEFAULT_MAX_FLOWS};
pub use rows::{ActiveFlow, AggMode, LoggedFlow};
use threshold::Thresholds;

/// Caps that bound the engine's memory. What does not fit is refused or evicted and counted
/// in [`EngineStats`].
#[derive(Clone, Debug)]
pub struct Limits {
    /// Flow definitions.
    pub max_flows: usize,
    /// Thresholds.
    pub max_thresholds: usize,
    /// Active keys of one definition at one data source (default 100,000); a full table drops
    /// its smaller half.
    pub max_keys_per_table: usize,
    /// Active keys over all tables (default 2,000,000); reaching it makes every definition
    /// drop its smallest eighth of keys (counted as evicted); the new keys of the sample that
    /// reached it are refused (counted).
    pub max_active_keys: usize,
    /// Completed-flow records kept for `/flows/json` (sFlow-RT `flows.max`).
    pub flow_log_len: usize,
    /// Events kept for `/events/json` (sFlow-RT `events.max`).
    pub event_log_len: usize,
    /// A key idle for `idle_factor × t` seconds is removed (its value is then below
    /// `e^-idle_factor` of its last level). 0 keeps idle keys (offline totals).
    pub idle_factor: f64,
    /// Counter-metric caps.
    pub counters: CounterLimits,
    /// Caps of the per-agent sFlow statistics (agents, data sources, per UDP sender).
    pub agents: AgentLimits,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_flows: 1000,
            max_thresholds: 1000,
            max_keys_per_table: 100_000,
            max_active_keys: 2_000_000,
            flow_log_len: 1000,
            event_log_len: 1000,
            idle_factor: 5.0,
            counters: CounterLimits::default(),
            agents: AgentLimits::default(),
        }
    }
}

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

struct Flow {
    def: FlowDef,
    tables: Map<DataSource, Table>,
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
    buf: KeyBuf,
    key_text: String,
    scratch: std::cell::RefCell<String>,
    walk: WalkConfig,
    active_keys: usize,
    stats: EngineStats,
    seen_keys: Map<(&'static str, u8), u64>,
    /// The keys the definitions read (what producers are asked for).
    mask: KeyMask,
    /// Ask producers for every key, whatever the definitions read ([`Engine::set_full_visit`]).
    full_visit: bool,
    sample_tick: u32,
    /// When [`Agents::expire`] runs next (every [`AGENTS_EXPIRY_EVERY_MS`]).
    next_agents_expiry_ms: u64,
    agents: Agents,
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new(Limits::default())
    }
}

/// Records every key name it sees (for `/flowkeys/json`).
struct Seen<'m> {
    map: &'m mut Map<(&'static str, u8), u64>,
    now_ms: u64,
}

impl KeyVisitor for Seen<'_> {
    fn key(&mut self, name: &'static str, depth: u8, _v: Value<'_>) {
        if self.map.len() < 10_000 || self.map.contains_key(&(name, depth)) {
            self.map.insert((name, depth), self.now_ms);
        }
    }
}

/// Both visitors at once. With a [`Seen`] it asks for every key, else for the collector's.
struct Tee<'a, 'b>(&'a mut crate::keybuf::Collector<'b>, Option<Seen<'a>>);

impl KeyVisitor for Tee<'_, '_> {
    #[inline]
    fn key(&mut self, name: &'static str, depth: u8, v: Value<'_>) {
        self.0.key(name, depth, v);
        if let Some(s) = self.1.as_mut() {
            s.key(name, depth, v);
        }
    }

    #[inline]
    fn mask(&self) -> KeyMask {
        if self.1.is_some() {
            KeyMask::ALL
        } else {
            self.0.mask()
        }
    }

    #[inline]
    fn key_id(&mut self, id: KeyId, depth: u8, v: Value<'_>) {
        self.0.key_id(id, depth, v);
        if let Some(s) = self.1.as_mut() {
            s.key(id.name(), depth, v);
        }
    }
}

impl Engine {
    /// An engine with these caps.
    pub fn new(limits: Limits) -> Engine {
        let (flow_log_len, event_log_len) = (limits.flow_log_len, limits.event_log_len);
        Engine {
            counters: Counters::new(limits.counters),
            agents: Agents::new(limits.agents),
            limits,
            schema: Schema::default(),
            env: Env::default(),
            flows: Vec::new(),
            thresholds: Thresholds::default(),
            flow_log: Ring::new(flow_log_len),
            events: Ring::new(event_log_len),
            buf: KeyBuf::default(),
            key_text: String::new(),
            scratch: std::cell::RefCell::new(String::new()),
            walk: WalkConfig::default(),
            active_keys: 0,
            stats: EngineStats::default(),
            seen_keys: map(),
            mask: KeyMask::NONE,
            full_visit: false,
            sample_tick: 0,
            next_agents_expiry_ms: 0,
        }
    }

    /// Packet-walker settings (tunnel ports) used for sampled headers and raw packets.
    pub fn set_walk_config(&mut self, cfg: WalkConfig) {
        self.walk = cfg;
    }

    /// Asks the producers (packet walker, sFlow sample and NetFlow/IPFIX record visitors) for
    /// every key, not only those the definitions read ([`Engine::key_mask`]). The answers are
    /// the same either way, only slower: this exists so tests can show it.
    pub fn set_full_visit(&mut self, full: bool) {
        self.full_visit = full;
    }

    /// The keys the producers are asked for: those the flow definitions read (their
    /// [`FlowDef::reads`]), or all with [`Engine::set_full_visit`].
    pub fn key_mask(&self) -> KeyMask {
        if self.full_visit {
            KeyMask::ALL
        } else {
            self.mask
        }
    }

    /// What the engine did so far.
    pub fn stats(&self) -> EngineStats {
        EngineStats {
            flows_logged: self.flow_log.last_id(),
            events: self.events.last_id(),
            ..self.stats
        }
    }

    /// Active keys over all tables.
    pub fn active_keys(&self) -> usize {
        self.active_keys
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
        match self.flows.iter_mut().find(|f| f.def.name == name) {
            Some(f) => {
                self.active_keys -= f.tables.values().map(|t| t.entries.len()).sum::<usize>();
                f.def = def;
                f.tables = map();
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
                    tables: map(),
                    watch: Vec::new(),
                });
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
        let f = self.flows.remove(i);
        self.active_keys -= f.tables.values().map(|t| t.entries.len()).sum::<usize>();
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
        self.thresholds.set(th, self.limits.max_thresholds)?;
        self.rewire();
        Ok(())
    }

    /// Removes a threshold; false when there was none.
    pub fn clear_threshold(&mut self, name: &str) -> bool {
        let cleared = self.thresholds.clear(name);
        self.rewire();
        cleared
    }

    /// A threshold as JSON.
    pub fn threshold(&self, name: &str) -> Option<&Json> {
        self.thresholds.spec(name)
    }

    /// Every threshold, `{name: threshold}`.
    pub fn thresholds_json(&self) -> Json {
        self.thresholds.json()
    }

    fn rewire(&mut self) {
        self.mask = self
            .flows
            .iter()
            .fold(KeyMask::NONE, |m, f| m.union(f.def.reads));
        for f in &mut self.flows {
            f.watch = self.thresholds.watching(&f.def.name);
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

    // ---- input -------------------------------------------------------------------------

    /// Feeds one sFlow datagram: flow samples into the flow tables, counter samples into the
    /// counter metrics, dropped-packet notifications into `dropped:true` flows.
    pub fn add_sflow(&mut self, now_ms: u64, dgram: &Datagram<'_>) {
        self.add_sflow_from(now_ms, None, dgram);
    }

    /// [`Engine::add_sflow`] for a datagram received from `source` (the UDP sender, listed in
    /// the agent's statistics).
    pub fn add_sflow_from(&mut self, now_ms: u64, source: Option<IpAddr>, dgram: &Datagram<'_>) {
        self.stats.datagrams += 1;
        self.agents.datagram(now_ms, source, dgram);
        let agent = dgram.agent_address();
        for s in dgram.samples() {
            let Ok(s) = s else {
                self.stats.sample_errors += 1;
                break;
            };
            match s {
                Sample::Flow(fs) => {
                    self.stats.flow_samples += 1;
                    self.agents.flow_sample(now_ms, agent, &fs);
                    if !self.wants(false) {
                        continue;
                    }
                    let ds = DataSource::new(agent, fs.source_id_type(), fs.source_id_index());
                    let w = self.collect(now_ms, |cfg, v| {
                        sample::visit_flow_sample(agent, &fs, cfg, v)
                    });
                    self.feed(now_ms, ds, w, false);
                }
                Sample::Discard(d) => {
                    self.stats.discard_samples += 1;
                    self.agents.discard_sample(agent);
                    if !self.wants(true) {
                        continue;
                    }
                    let ds = DataSource::new(agent, d.source_id_type(), d.source_id_index());
                    let w = self.collect(now_ms, |cfg, v| {
                        sample::visit_discard_sample(agent, &d, cfg, v)
                    });
                    self.feed(now_ms, ds, w, true);
                }
                Sample::Counter(c) => {
                    self.stats.counter_samples += 1;
                    self.agents.counter_sample(now_ms, agent, &c);
                    self.counters.add_sample(now_ms, agent, &c);
                }
                Sample::Unknown(_) => {}
            }
        }
    }

    /// Feeds one NetFlow/IPFIX data record (options records are ignored). The agent is the
    /// exporter, the data source its input interface (`ingressInterface`, IE 10; 0 if absent).
    pub fn add_netflow_record(&mut self, now_ms: u64, rec: &NetflowRecord<'_, '_>) {
        if rec.options {
            return;
        }
        self.stats.records += 1;
        if !self.wants(false) {
            return;
        }
        let agent = rec.exporter;
        let ifindex = rec
            .field(10)
            .and_then(flowlens_wire::netflow::ie::be_uint)
            .unwrap_or(0);
        let ds = DataSource::new(agent, 0, ifindex as u32);
        let name = ds.name();
        let w = self.collect(now_ms, |_, v| {
            let mut m = Masked::new(v);
            m.emit(KeyId::AGENT, 0, Value::Ip(agent));
            m.emit(KeyId::DATASOURCE, 0, Value::Display(&name));
            // The record's own counts; the tables scale them by the rate (once).
            let counts = rec.visit_keys(&mut m);
            Weight {
                rate: rec.sampling_rate.max(1),
                frames: counts.packets.unwrap_or(0) as f64,
                bytes: counts.octets.unwrap_or(0) as f64,
            }
        });
        self.feed(now_ms, ds, w, false);
    }

    /// Feeds one raw packet as a 1-in-1 sample of `agent` (data source 0). `frame_len` is the
    /// packet's length on the wire (pcap `orig_len`).
    pub fn add_packet(
        &mut self,
        now_ms: u64,
        agent: IpAddr,
        link: LinkType,
        data: &[u8],
        frame_len: u32,
    ) {
        self.add_sampled_packet(
            now_ms,
            DataSource::new(agent, 0, 0),
            1,
            link,
            data,
            frame_len,
        );
    }

    /// Feeds one packet sampled 1-in-`rate` at data source `ds` (a packet sampler of the
    /// caller's, e.g. mirrored traffic sampled before analysis).
    pub fn add_sampled_packet(
        &mut self,
        now_ms: u64,
        ds: DataSource,
        rate: u32,
        link: LinkType,
        data: &[u8],
        frame_len: u32,
    ) {
        self.stats.packets += 1;
        if !self.wants(false) {
            return;
        }
        let agent = ds.agent;
        let name = ds.name();
        let w = self.collect(now_ms, |cfg, v| {
            let mut m = Masked::new(v);
            m.emit(KeyId::AGENT, 0, Value::Ip(agent));
            m.emit(KeyId::DATASOURCE, 0, Value::Display(&name));
            m.emit(KeyId::BYTES, 0, Value::U64(u64::from(frame_len)));
            m.emit(KeyId::SAMPLINGRATE, 0, Value::U64(u64::from(rate)));
            if m.wants_any(KeyMask::PACKET) {
                packet::walk(link, data, cfg).visit_keys(&mut m);
            }
            Weight {
                rate: rate.max(1),
                frames: 1.0,
                bytes: f64::from(frame_len),
            }
        });
        self.feed(now_ms, ds, w, false);
    }

    /// Counts the sample and says whether to collect its keys: when a definition of this
    /// kind exists, and for every 64th sample anyway (key names for `flow_keys`).
    fn wants(&mut self, dropped: bool) -> bool {
        self.sample_tick = self.sample_tick.wrapping_add(1);
        self.flows.iter().any(|f| f.def.dropped == dropped) || self.sample_tick % 64 == 1
    }

    /// Fills the key buffer through `visit`; every 64th sample (counted by [`Self::wants`])
    /// also records the key names seen.
    fn collect(
        &mut self,
        now_ms: u64,
        visit: impl FnOnce(&WalkConfig, &mut Tee<'_, '_>) -> Weight,
    ) -> Weight {
        self.buf.reset(&self.schema);
        let seen = (self.sample_tick % 64 == 1).then_some(Seen {
            map: &mut self.seen_keys,
            now_ms,
        });
        let mask = if self.full_visit {
            KeyMask::ALL
        } else {
            self.mask
        };
        let mut c = self.buf.collector_masked(&self.schema, mask);
        let mut tee = Tee(&mut c, seen);
        visit(&self.walk, &mut tee)
    }

    fn feed(&mut self, now_ms: u64, ds: DataSource, weight: Weight, dropped: bool) {
        let Engine {
            flows,
            thresholds,
            buf,
            key_text,
            scratch,
            env,
            limits,
            stats,
            active_keys,
            events,
            flow_log,
            ..
        } = self;
        let input = Input {
            now_ms,
            weight,
            keys: buf,
            env,
            scratch,
        };
        let mut over_cap = false;
        for flow in flows.iter_mut() {
            let def = &flow.def;
            if def.dropped != dropped {
                continue;
            }
            if let Some(f) = &def.filter {
                if !f.matches(buf, env) {
                    continue;
                }
            }
            key_text.clear();
            let mut complete = true;
            for (i, k) in def.keys.iter().enumerate() {
                if i > 0 {
                    key_text.push_str(&def.fs);
                }
                if !k.eval(buf, env, key_text) {
                    complete = false;
                    break;
                }
            }
            if !complete {
                continue;
            }
            let ds = if def.agg_agent {
                DataSource {
                    agent: ds.agent,
                    id: DataSource::AGENT,
                }
            } else {
                ds
            };
            let mut is_new = false;
            let table = match flow.tables.get_mut(&ds) {
                Some(t) => t,
                None => flow.tables.entry(ds).or_default(),
            };
            let entry = match table.entries.get_mut(key_text.as_str()) {
                Some(e) => e,
                None => {
                    if *active_keys >= limits.max_active_keys {
                        // Room is made after this sample (every definition gives up its
                        // smallest keys); only this sample's new keys are refused.
                        stats.keys_refused += 1;
                        over_cap = true;
                        continue;
                    }
                    if table.entries.len() >= limits.max_keys_per_table {
                        let removed = evict_half(table, now_ms, def);
                        *active_keys -= removed;
                        stats.keys_evicted += removed as u64;
                    }
                    *active_keys += 1;
                    stats.keys_added += 1;
                    is_new = true;
                    let e = Entry::new(now_ms, &def.value, &def.values, def.log && !def.flow_start);
                    table.entries.entry(key_text.as_str().into()).or_insert(e)
                }
            };
            entry.update(def.t_secs, &def.value, &def.values, &input);
            if is_new && def.log && def.flow_start {
                // The flow's start: its first sample's scaled value.
                flow_log.push(LoggedFlow {
                    id: 0,
                    name: def.name.clone(),
                    flow_keys: key_text.clone(),
                    value: entry.total,
                    start_ms: now_ms,
                    end_ms: now_ms,
                    agent: ds.agent.to_string(),
                    data_source: ds.name().to_string(),
                });
            }
            thresholds.on_value(&flow.watch, now_ms, ds, key_text, entry, def, events);
        }
        if over_cap {
            let removed = evict_smallest(flows, now_ms, GLOBAL_EVICT_FRACTION);
            *active_keys -= removed;
            stats.keys_evicted += removed as u64;
        }
    }

    // ---- time --------------------------------------------------------------------------

    /// Housekeeping at `now_ms` (call about once a second): removes idle keys (logging the
    /// flows that end), flushes logged flows older than their `activeTimeout`, re-arms
    /// thresholds whose value stayed below for `timeout`, checks counter-metric thresholds,
    /// expires counter data sources.
    pub fn tick(&mut self, now_ms: u64) {
        let Engine {
            flows,
            thresholds,
            limits,
            stats,
            active_keys,
            flow_log,
            events,
            counters,
            agents,
            next_agents_expiry_ms,
            ..
        } = self;
        for flow in flows.iter_mut() {
            let def = &flow.def;
            let idle_ms = (limits.idle_factor * def.t_secs * 1000.0) as u64;
            let active_ms = def.active_timeout_secs * 1000;
            let log_end = def.log && !def.flow_start;
            for (ds, table) in flow.tables.iter_mut() {
                table.entries.retain(|key, e| {
                    let idle =
                        limits.idle_factor > 0.0 && now_ms.saturating_sub(e.last_ms) > idle_ms;
                    if log_end {
                        if let Some(ls) = e.more.as_deref_mut().and_then(|m| m.log.as_mut()) {
                            let flush =
                                idle || now_ms.saturating_sub(ls.record_start_ms) >= active_ms;
                            let value = e.total - ls.total_at_start;
                            if flush && value > 0.0 {
                                flow_log.push(LoggedFlow {
                                    id: 0,
                                    name: def.name.clone(),
                                    flow_keys: key.to_string(),
                                    value,
                                    start_ms: ls.record_start_ms,
                                    end_ms: e.last_ms,
                                    agent: ds.agent.to_string(),
                                    data_source: ds.name().to_string(),
                                });
                                ls.record_start_ms = now_ms;
                                ls.total_at_start = e.total;
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
            flow.tables.retain(|_, t| !t.entries.is_empty());
        }
        thresholds.tick(flows, counters, now_ms, events);
        if now_ms >= *next_agents_expiry_ms {
            agents.expire(now_ms);
            *next_agents_expiry_ms = now_ms + AGENTS_EXPIRY_EVERY_MS;
        }
        counters.expire(now_ms);
    }
}

/// Share of each definition's keys given up when the active-key cap is reached.
const GLOBAL_EVICT_FRACTION: f64 = 0.125;

/// Makes room under [`Limits::max_active_keys`]: every definition drops its `fraction`
/// smallest keys (by current value, over all its data sources), so a flood of small keys
/// spread over many data sources cannot lock out new ones, heavy flows stay, and no
/// definition pays for another's keys (values of different definitions are not compared).
/// Returns how many keys were removed. Cost: one pass over the keys, amortised over the
/// `fraction × cap` new keys that then fit.
fn evict_smallest(flows: &mut [Flow], now_ms: u64, fraction: f64) -> usize {
    let mut removed = 0;
    for flow in flows.iter_mut() {
        let def = &flow.def;
        let mut vals: Vec<f64> = flow
            .tables
            .values()
            .flat_map(|t| t.entries.values())
            .map(|e| e.value(now_ms, def.t_secs, &def.value))
            .collect();
        let budget = ((vals.len() as f64 * fraction).ceil() as usize).min(vals.len());
        if budget == 0 {
            continue;
        }
        let (_, cut, _) = vals.select_nth_unstable_by(budget - 1, f64::total_cmp);
        let cut = *cut;
        let mut left = budget;
        for table in flow.tables.values_mut() {
            let before = table.entries.len();
            table.entries.retain(|_, e| {
                if left > 0 && e.value(now_ms, def.t_secs, &def.value) <= cut {
                    left -= 1;
                    false
                } else {
                    true
                }
            });
            removed += before - table.entries.len();
        }
        flow.tables.retain(|_, t| !t.entries.is_empty());
    }
    removed
}

/// Drops the smaller half of a full table (by current value); returns how many.
fn evict_half(table: &mut Table, now_ms: u64, def: &FlowDef) -> usize {
    let mut vals: Vec<f64> = table
        .entries
        .values()
        .map(|e| e.value(now_ms, def.t_secs, &def.value))
        .collect();
    let mid = vals.len() / 2;
    if vals.is_empty() {
        return 0;
    }
    let (_, median, _) = vals.select_nth_unstable_by(mid, f64::total_cmp);
    let median = *median;
    let before = table.entries.len();
    let mut budget = mid.max(1);
    table.entries.retain(|_, e| {
        if budget > 0 && e.value(now_ms, def.t_secs, &def.value) <= median {
            budget -= 1;
            false
        } else {
            true
        }
    });
    before - table.entries.len()
}
