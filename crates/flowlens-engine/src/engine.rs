//! The engine: flow definitions and their tables, thresholds, events, flow records and
//! counter metrics, fed with samples and asked for active flows. Sans-IO: every method takes
//! the caller's `now_ms` (Unix ms).

use std::net::IpAddr;

use flowlens_netflow::NetflowRecord;
use flowlens_wire::packet::{self, LinkType, WalkConfig};
use flowlens_wire::sflow::{Datagram, Sample};
use flowlens_wire::{KeyVisitor, Value};
use serde_json::Value as Json;

use crate::agents::Agents;
use crate::counters::{CounterLimits, Counters, Metric};
use crate::definition::FlowDef;
use crate::error::{Error, Result};
use crate::keybuf::{KeyBuf, Schema};
use crate::ring::{Logged, Ring};
use crate::sample::{self, DataSource, Weight};
use crate::select::AgentSel;
use crate::table::{Entry, Input, Table};
use crate::threshold::{Event, Threshold};
use crate::Env;
use flowlens_netflow::hash::{map, Map};

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
    /// Active keys over all tables; new keys beyond it are refused.
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

/// A completed (or started) flow record (sFlow-RT `/flows/json` item).
#[derive(Clone, Debug, PartialEq)]
pub struct LoggedFlow {
    /// Increasing id (`flowID`).
    pub id: u64,
    /// The definition's name.
    pub name: String,
    /// The joined key values.
    pub flow_keys: String,
    /// Total value over the record (scaled bytes/frames/…, not a rate).
    pub value: f64,
    /// First sample, Unix ms.
    pub start_ms: u64,
    /// Last sample, Unix ms.
    pub end_ms: u64,
    /// Agent.
    pub agent: String,
    /// Data source name.
    pub data_source: String,
}

impl Logged for LoggedFlow {
    fn set_id(&mut self, id: u64) {
        self.id = id;
    }
    fn id(&self) -> u64 {
        self.id
    }
}

impl Logged for Event {
    fn set_id(&mut self, id: u64) {
        self.id = id;
    }
    fn id(&self) -> u64 {
        self.id
    }
}

impl LoggedFlow {
    /// sFlow-RT's JSON shape `{flowID, name, flowKeys, value, start, end, agent, dataSource}`.
    pub fn to_json(&self) -> Json {
        serde_json::json!({
            "flowID": self.id, "name": self.name, "flowKeys": self.flow_keys,
            "value": self.value, "start": self.start_ms, "end": self.end_ms,
            "agent": self.agent, "dataSource": self.data_source,
        })
    }
}

/// How `/activeflows` merges a key seen at several data sources.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AggMode {
    /// The largest value (default; a flow crossing several switches counts once).
    #[default]
    Max,
    /// The sum over data sources.
    Sum,
}

impl AggMode {
    /// Parses `max` / `sum` (case-insensitive); sFlow-RT's topology modes `edge`/`core` need a
    /// topology and are refused.
    pub fn parse(s: &str) -> Result<AggMode> {
        match s.to_ascii_lowercase().as_str() {
            "max" => Ok(AggMode::Max),
            "sum" => Ok(AggMode::Sum),
            _ => Err(Error::invalid(
                "activeflows",
                "aggMode",
                format!("`{s}`: expected max or sum"),
            )),
        }
    }
}

/// One active flow.
#[derive(Clone, Debug, PartialEq)]
pub struct ActiveFlow {
    /// The joined key values.
    pub key: String,
    /// The smoothed value (per second for rates).
    pub value: f64,
    /// `values[]`.
    pub values: Vec<f64>,
    /// Agent of the data source reporting the value (the largest, for `max`).
    pub agent: IpAddr,
    /// That data source's name.
    pub data_source: String,
    /// Decayed number of samples behind the value.
    pub samples: f64,
    /// Half-width of the value's 95 % confidence interval.
    pub ci95: f64,
}

impl ActiveFlow {
    /// `{key, value, values?, agent, dataSource, samples, ci95}`; `values` only when the
    /// definition has them.
    pub fn to_json(&self) -> Json {
        let mut o = serde_json::Map::new();
        o.insert("key".into(), Json::String(self.key.clone()));
        o.insert("value".into(), Json::from(self.value));
        if !self.values.is_empty() {
            o.insert("values".into(), Json::from(self.values.clone()));
        }
        o.insert("agent".into(), Json::String(self.agent.to_string()));
        o.insert("dataSource".into(), Json::String(self.data_source.clone()));
        o.insert("samples".into(), Json::from(self.samples));
        o.insert("ci95".into(), Json::from(self.ci95));
        Json::Object(o)
    }
}

struct Flow {
    def: FlowDef,
    tables: Map<DataSource, Table>,
    /// Indices of the thresholds watching this flow.
    watch: Vec<usize>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct TrigKey {
    ds: DataSource,
    key_hash: u64,
}

#[derive(Debug)]
struct Trig {
    flow_key: Option<String>,
    below_since: Option<u64>,
}

struct ThresholdState {
    th: Threshold,
    triggered: Map<TrigKey, Trig>,
}

/// The flow engine.
pub struct Engine {
    limits: Limits,
    schema: Schema,
    env: Env,
    flows: Vec<Flow>,
    thresholds: Vec<ThresholdState>,
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
    sample_tick: u32,
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

/// Both visitors at once.
struct Tee<'a, 'b>(&'a mut crate::keybuf::Collector<'b>, Option<Seen<'a>>);

impl KeyVisitor for Tee<'_, '_> {
    #[inline]
    fn key(&mut self, name: &'static str, depth: u8, v: Value<'_>) {
        self.0.key(name, depth, v);
        if let Some(s) = self.1.as_mut() {
            s.key(name, depth, v);
        }
    }
}

fn key_hash(s: &str) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = foldhash::fast::FixedState::with_seed(0x7e57).build_hasher();
    h.write(s.as_bytes());
    h.finish()
}

impl Engine {
    /// An engine with these caps.
    pub fn new(limits: Limits) -> Engine {
        let (flow_log_len, event_log_len) = (limits.flow_log_len, limits.event_log_len);
        Engine {
            counters: Counters::new(limits.counters),
            limits,
            schema: Schema::default(),
            env: Env::default(),
            flows: Vec::new(),
            thresholds: Vec::new(),
            flow_log: Ring::new(flow_log_len),
            events: Ring::new(event_log_len),
            buf: KeyBuf::default(),
            key_text: String::new(),
            scratch: std::cell::RefCell::new(String::new()),
            walk: WalkConfig::default(),
            active_keys: 0,
            stats: EngineStats::default(),
            seen_keys: map(),
            sample_tick: 0,
            agents: Agents::default(),
        }
    }

    /// Packet-walker settings (tunnel ports) used for sampled headers and raw packets.
    pub fn set_walk_config(&mut self, cfg: WalkConfig) {
        self.walk = cfg;
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
    pub fn set_threshold(&mut self, name: &str, spec: &Json) -> Result<()> {
        let th = Threshold::parse(name, spec)?;
        match self.thresholds.iter_mut().find(|t| t.th.name == name) {
            Some(t) => {
                t.th = th;
                t.triggered = map();
            }
            None => {
                if self.thresholds.len() >= self.limits.max_thresholds {
                    return Err(Error::Limit {
                        what: "thresholds",
                        limit: self.limits.max_thresholds,
                    });
                }
                self.thresholds.push(ThresholdState {
                    th,
                    triggered: map(),
                });
            }
        }
        self.rewire();
        Ok(())
    }

    /// Removes a threshold; false when there was none.
    pub fn clear_threshold(&mut self, name: &str) -> bool {
        let before = self.thresholds.len();
        self.thresholds.retain(|t| t.th.name != name);
        self.rewire();
        before != self.thresholds.len()
    }

    /// A threshold as JSON.
    pub fn threshold(&self, name: &str) -> Option<&Json> {
        self.thresholds
            .iter()
            .find(|t| t.th.name == name)
            .map(|t| &t.th.spec)
    }

    /// Every threshold, `{name: threshold}`.
    pub fn thresholds_json(&self) -> Json {
        Json::Object(
            self.thresholds
                .iter()
                .map(|t| (t.th.name.clone(), t.th.spec.clone()))
                .collect(),
        )
    }

    fn rewire(&mut self) {
        for f in &mut self.flows {
            f.watch = self
                .thresholds
                .iter()
                .enumerate()
                .filter(|(_, t)| t.th.metric == f.def.name)
                .map(|(i, _)| i)
                .collect();
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
                    self.agents.flow_sample(agent, &fs);
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
            v.key("agent", 0, Value::Ip(agent));
            v.key("datasource", 0, Value::Display(&name));
            // The record's own counts; the tables scale them by the rate (once).
            let counts = rec.visit_keys(v);
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
            v.key("agent", 0, Value::Ip(agent));
            v.key("datasource", 0, Value::Display(&name));
            v.key("bytes", 0, Value::U64(u64::from(frame_len)));
            v.key("samplingrate", 0, Value::U64(u64::from(rate)));
            packet::walk(link, data, cfg).visit_keys(v);
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
        let mut c = self.buf.collector(&self.schema);
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
                        stats.keys_refused += 1;
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
            for &ti in &flow.watch {
                let Some(ts) = thresholds.get_mut(ti) else {
                    continue;
                };
                let value = entry.value(now_ms, def.t_secs, &def.value);
                if value < ts.th.value {
                    continue;
                }
                if !ts.th.accepts(|a| ds_attr(a, ds)) {
                    continue;
                }
                let tk = TrigKey {
                    ds,
                    key_hash: if ts.th.by_flow { key_hash(key_text) } else { 0 },
                };
                if let Some(t) = ts.triggered.get_mut(&tk) {
                    t.below_since = None;
                    continue;
                }
                ts.triggered.insert(
                    tk,
                    Trig {
                        flow_key: Some(key_text.clone()),
                        below_since: None,
                    },
                );
                let values = entry.values(now_ms, def.t_secs, &def.values);
                events.push(Event {
                    id: 0,
                    timestamp_ms: now_ms,
                    threshold_id: ts.th.name.clone(),
                    metric: ts.th.metric.clone(),
                    threshold: ts.th.value,
                    value,
                    agent: ds.agent.to_string(),
                    data_source: ds.name().to_string(),
                    flow_key: Some(key_text.clone()),
                    values,
                });
            }
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
        // Re-arm flow thresholds.
        for ts in thresholds.iter_mut() {
            let Some(flow) = flows.iter().find(|f| f.def.name == ts.th.metric) else {
                // A counter metric (or a flow not defined yet).
                check_counter_threshold(ts, counters, now_ms, events);
                continue;
            };
            let def = &flow.def;
            let th = ts.th.value;
            let timeout = ts.th.timeout_ms;
            ts.triggered.retain(|tk, trig| {
                let v =
                    flow.tables
                        .get(&tk.ds)
                        .map_or(0.0, |t| match (&trig.flow_key, tk.key_hash) {
                            (Some(k), h) if h != 0 => t
                                .entries
                                .get(k.as_str())
                                .map_or(0.0, |e| e.value(now_ms, def.t_secs, &def.value)),
                            _ => t
                                .entries
                                .values()
                                .map(|e| e.value(now_ms, def.t_secs, &def.value))
                                .fold(0.0, f64::max),
                        });
                rearm(trig, v < th, now_ms, timeout)
            });
        }
        counters.expire(now_ms);
    }

    // ---- queries -----------------------------------------------------------------------

    /// The active flows of definition `name` at the selected agents, merged over data sources
    /// by `agg`, with value ≥ `min_value`, largest first, at most `max_flows`.
    ///
    /// Cost: one pass over the selected tables without allocating per key, a partial selection
    /// of the `max_flows` largest, and full rows only for those.
    pub fn active_flows(
        &self,
        now_ms: u64,
        agents: &AgentSel,
        name: &str,
        max_flows: usize,
        min_value: f64,
        agg: AggMode,
    ) -> Result<Vec<ActiveFlow>> {
        self.active_flows_matching(now_ms, agents, name, max_flows, min_value, agg, None)
    }

    /// [`Engine::active_flows`] keeping only keys that `key_filter` matches (a regular
    /// expression searched in the joined key text, sFlow-RT's `/activeflows` `filter`
    /// parameter), before `max_flows` applies.
    #[allow(clippy::too_many_arguments)]
    pub fn active_flows_matching(
        &self,
        now_ms: u64,
        agents: &AgentSel,
        name: &str,
        max_flows: usize,
        min_value: f64,
        agg: AggMode,
        key_filter: Option<&regex::Regex>,
    ) -> Result<Vec<ActiveFlow>> {
        let flow = self.find_flow(name)?;
        let def = &flow.def;
        let tables: Vec<(DataSource, &Table)> = flow
            .tables
            .iter()
            .filter(|(ds, _)| agents.contains(ds.agent))
            .map(|(ds, t)| (*ds, t))
            .collect();
        let (t, main) = (def.t_secs, &def.value);
        // (value, key, data source, entry of that data source)
        let mut cands: Vec<(f64, &str, DataSource, &Entry)> = Vec::new();
        match tables.as_slice() {
            [(ds, table)] => {
                cands.reserve(table.entries.len());
                for (k, e) in &table.entries {
                    cands.push((e.value(now_ms, t, main), k, *ds, e));
                }
            }
            _ => {
                let n: usize = tables.iter().map(|(_, t)| t.entries.len()).sum();
                let mut merged: Map<&str, (f64, DataSource, &Entry)> = map();
                merged.reserve(n);
                for (ds, table) in &tables {
                    for (k, e) in &table.entries {
                        let v = e.value(now_ms, t, main);
                        merged
                            .entry(k)
                            .and_modify(|m| match agg {
                                AggMode::Max if v > m.0 => *m = (v, *ds, e),
                                AggMode::Max => {}
                                AggMode::Sum => m.0 += v,
                            })
                            .or_insert((v, *ds, e));
                    }
                }
                cands.extend(merged.into_iter().map(|(k, (v, ds, e))| (v, k, ds, e)));
            }
        }
        cands.retain(|c| {
            c.0 >= min_value && c.0 > 0.0 && key_filter.is_none_or(|re| re.is_match(c.1))
        });
        let order = |a: &(f64, &str, DataSource, &Entry), b: &(f64, &str, DataSource, &Entry)| {
            b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1))
        };
        if cands.len() > max_flows && max_flows > 0 {
            cands.select_nth_unstable_by(max_flows - 1, order);
        }
        cands.truncate(max_flows);
        cands.sort_by(order);
        Ok(cands
            .into_iter()
            .map(|(value, key, ds, e)| {
                let mut a = active(
                    key,
                    value,
                    e,
                    now_ms,
                    def,
                    ds,
                    e.samples(now_ms, t),
                    e.ci95(now_ms, t, main),
                );
                if agg == AggMode::Sum && tables.len() > 1 {
                    // Sum the other data sources' samples, variances and values[] for this key.
                    let (mut samples, mut var) = (0.0, 0.0);
                    let mut values = vec![0.0; def.values.len()];
                    for (_, table) in &tables {
                        if let Some(o) = table.entries.get(key) {
                            samples += o.samples(now_ms, t);
                            let ci = o.ci95(now_ms, t, main);
                            var += ci * ci;
                            for (x, y) in values.iter_mut().zip(o.values(now_ms, t, &def.values)) {
                                *x += y;
                            }
                        }
                    }
                    a.samples = samples;
                    a.ci95 = var.sqrt();
                    a.values = values;
                }
                a
            })
            .collect())
    }

    /// Undecayed totals of definition `name` per key, summed over the selected agents' data
    /// sources, largest first (`flowlens top --totals`; keep keys with
    /// [`Limits::idle_factor`] 0 so none expires). Only for rate values (`bytes`, `frames`,
    /// numeric keys): others are refused.
    pub fn flow_totals(&self, agents: &AgentSel, name: &str) -> Result<Vec<(String, f64)>> {
        let flow = self.find_flow(name)?;
        if !flow.def.value.kind.is_rate() {
            return Err(Error::invalid(
                "flow",
                "value",
                format!(
                    "`{}` has no total (use bytes, frames or a numeric key)",
                    flow.def.value.source
                ),
            ));
        }
        let mut sums: Map<&str, f64> = map();
        for (ds, t) in &flow.tables {
            if agents.contains(ds.agent) {
                for (k, e) in &t.entries {
                    *sums.entry(k).or_default() += e.total;
                }
            }
        }
        let mut v: Vec<(String, f64)> = sums.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok(v)
    }

    /// A definition's compiled form.
    pub fn flow_def(&self, name: &str) -> Option<&FlowDef> {
        self.flows
            .iter()
            .find(|f| f.def.name == name)
            .map(|f| &f.def)
    }

    /// The `n` largest keys of definition `name` at one data source (`topKeys`).
    pub fn top_keys(
        &self,
        now_ms: u64,
        agent: IpAddr,
        data_source: u32,
        name: &str,
    ) -> Result<Vec<ActiveFlow>> {
        let flow = self.find_flow(name)?;
        let def = &flow.def;
        let ds = DataSource {
            agent,
            id: data_source,
        };
        let mut out: Vec<ActiveFlow> = flow
            .tables
            .get(&ds)
            .map(|t| {
                t.entries
                    .iter()
                    .map(|(k, e)| {
                        let v = e.value(now_ms, def.t_secs, &def.value);
                        active(
                            k,
                            v,
                            e,
                            now_ms,
                            def,
                            ds,
                            e.samples(now_ms, def.t_secs),
                            e.ci95(now_ms, def.t_secs, &def.value),
                        )
                    })
                    .filter(|a| a.value > 0.0)
                    .collect()
            })
            .unwrap_or_default();
        out.sort_by(|a, b| b.value.total_cmp(&a.value));
        out.truncate(def.n);
        Ok(out)
    }

    /// Definition `name` as a metric per data source, the way sFlow-RT's `metric()`/`dump()`
    /// show flows: one object per selected data source with `agent`, `dataSource`,
    /// `metricName`, `metricValue` (the sum of the definition's values over its keys there,
    /// e.g. bytes/s of all matching traffic) and `topKeys` (the `n` largest keys, each as
    /// [`ActiveFlow::to_json`]), largest `metricValue` first.
    pub fn flow_metric(&self, now_ms: u64, agents: &AgentSel, name: &str) -> Result<Vec<Json>> {
        let flow = self.find_flow(name)?;
        let def = &flow.def;
        let mut rows: Vec<(f64, Json)> = Vec::new();
        for (ds, table) in &flow.tables {
            if !agents.contains(ds.agent) {
                continue;
            }
            let total: f64 = table
                .entries
                .values()
                .map(|e| e.value(now_ms, def.t_secs, &def.value))
                .sum();
            let top = self.top_keys(now_ms, ds.agent, ds.id, name)?;
            let last = table
                .entries
                .values()
                .map(|e| e.last_ms)
                .max()
                .unwrap_or(now_ms);
            rows.push((
                total,
                serde_json::json!({
                    "agent": ds.agent.to_string(),
                    "dataSource": ds.name().to_string(),
                    "metricName": name,
                    "metricValue": total,
                    "lastUpdate": now_ms.saturating_sub(last),
                    "topKeys": top.iter().map(ActiveFlow::to_json).collect::<Vec<_>>(),
                }),
            ));
        }
        rows.sort_by(|a, b| b.0.total_cmp(&a.0));
        Ok(rows.into_iter().map(|(_, j)| j).collect())
    }

    /// The data sources that currently hold keys of definition `name`.
    pub fn flow_data_sources(&self, name: &str) -> Result<Vec<DataSource>> {
        let mut v: Vec<DataSource> = self.find_flow(name)?.tables.keys().copied().collect();
        v.sort();
        Ok(v)
    }

    /// The smoothed value of one key of definition `name` at the selected agents' data
    /// sources (`data_source`: `None` = any), the largest if several (`/flowvalue`).
    pub fn flow_value(
        &self,
        now_ms: u64,
        agents: &AgentSel,
        data_source: Option<u32>,
        name: &str,
        key: &str,
    ) -> Result<Option<f64>> {
        let flow = self.find_flow(name)?;
        let def = &flow.def;
        Ok(flow
            .tables
            .iter()
            .filter(|(ds, _)| agents.contains(ds.agent) && data_source.is_none_or(|id| id == ds.id))
            .filter_map(|(_, t)| t.entries.get(key))
            .map(|e| e.value(now_ms, def.t_secs, &def.value))
            .reduce(f64::max))
    }

    /// Logged flows with id > `after`, newest first, optionally of one definition, at most
    /// `max`.
    pub fn logged_flows(&self, after: u64, name: Option<&str>, max: usize) -> Vec<&LoggedFlow> {
        self.flow_log
            .after(after, |f| name.is_none_or(|n| f.name == n), max)
    }

    /// Id of the newest logged flow (0: none yet).
    pub fn last_flow_id(&self) -> u64 {
        self.flow_log.last_id()
    }

    /// Events with id > `after`, newest first, optionally of some thresholds, at most `max`.
    pub fn events(&self, after: u64, thresholds: &[&str], max: usize) -> Vec<&Event> {
        self.events.after(
            after,
            |e| thresholds.is_empty() || thresholds.contains(&e.threshold_id.as_str()),
            max,
        )
    }

    /// Id of the newest event (0: none yet).
    pub fn last_event_id(&self) -> u64 {
        self.events.last_id()
    }

    /// True while threshold `name` is triggered (not yet re-armed) for this agent and data
    /// source (and flow key, for `byFlow` thresholds).
    pub fn threshold_triggered(
        &self,
        name: &str,
        agent: IpAddr,
        data_source: u32,
        flow_key: Option<&str>,
    ) -> Result<bool> {
        let ts = self
            .thresholds
            .iter()
            .find(|t| t.th.name == name)
            .ok_or_else(|| Error::NotFound {
                what: "threshold",
                name: name.to_string(),
            })?;
        let tk = TrigKey {
            ds: DataSource {
                agent,
                id: data_source,
            },
            key_hash: match (ts.th.by_flow, flow_key) {
                (true, Some(k)) => key_hash(k),
                _ => 0,
            },
        };
        Ok(ts.triggered.contains_key(&tk))
    }

    /// Key names seen recently (every 64th sample is inspected) with ms since last seen
    /// (`/flowkeys/json`), sorted by name.
    pub fn flow_keys(&self, now_ms: u64) -> Vec<(String, u64)> {
        let mut v: Vec<(String, u64)> = self
            .seen_keys
            .iter()
            .map(|((n, d), t)| {
                let name = if *d == 0 {
                    (*n).to_string()
                } else {
                    format!("{n}.{d}")
                };
                (name, now_ms.saturating_sub(*t))
            })
            .collect();
        v.sort();
        v
    }

    fn find_flow(&self, name: &str) -> Result<&Flow> {
        self.flows
            .iter()
            .find(|f| f.def.name == name)
            .ok_or_else(|| Error::NotFound {
                what: "flow",
                name: name.to_string(),
            })
    }
}

#[allow(clippy::too_many_arguments)]
fn active(
    key: &str,
    value: f64,
    e: &Entry,
    now_ms: u64,
    def: &FlowDef,
    ds: DataSource,
    samples: f64,
    ci: f64,
) -> ActiveFlow {
    ActiveFlow {
        key: key.to_string(),
        value,
        values: e.values(now_ms, def.t_secs, &def.values),
        agent: ds.agent,
        data_source: ds.name().to_string(),
        samples,
        ci95: ci,
    }
}

/// Attributes a flow threshold's filter can test: `agent`, `dataSource`.
fn ds_attr(attr: &str, ds: DataSource) -> Option<String> {
    match attr {
        "agent" => Some(ds.agent.to_string()),
        "dataSource" | "datasource" => Some(ds.name().to_string()),
        _ => None,
    }
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

/// Updates a triggered state; returns false when it re-arms (to be removed).
fn rearm(trig: &mut Trig, below: bool, now_ms: u64, timeout_ms: u64) -> bool {
    if !below {
        trig.below_since = None;
        return true;
    }
    let since = *trig.below_since.get_or_insert(now_ms);
    now_ms.saturating_sub(since) < timeout_ms
}

fn check_counter_threshold(
    ts: &mut ThresholdState,
    counters: &Counters,
    now_ms: u64,
    events: &mut Ring<Event>,
) {
    let th = &ts.th;
    let mut crossed: Vec<(DataSource, String, f64)> = Vec::new();
    let mut values: Map<(IpAddr, String), f64> = map();
    counters.each(&th.metric, |agent, ds_name, m, _last| {
        if let Metric::Num(v) = m {
            values.insert((agent, ds_name.to_string()), *v);
        }
    });
    for ((agent, ds_name), v) in &values {
        let Some(id) = sample::parse_ds_name(ds_name) else {
            continue;
        };
        let ds = DataSource { agent: *agent, id };
        let accepted = th.accepts(|a| match counters.value(*agent, ds_name, a) {
            Some(Metric::Num(x)) => Some(x.to_string()),
            Some(Metric::Text(t)) => Some(t.clone()),
            None => ds_attr(a, ds),
        });
        if accepted && *v >= th.value {
            crossed.push((ds, ds_name.clone(), *v));
        }
    }
    let (thv, timeout) = (th.value, th.timeout_ms);
    ts.triggered.retain(|tk, trig| {
        let v = values
            .get(&(tk.ds.agent, tk.ds.name().to_string()))
            .copied()
            .unwrap_or(0.0);
        rearm(trig, v < thv, now_ms, timeout)
    });
    for (ds, ds_name, v) in crossed {
        let tk = TrigKey { ds, key_hash: 0 };
        if ts.triggered.contains_key(&tk) {
            continue;
        }
        ts.triggered.insert(
            tk,
            Trig {
                flow_key: None,
                below_since: None,
            },
        );
        events.push(Event {
            id: 0,
            timestamp_ms: now_ms,
            threshold_id: ts.th.name.clone(),
            metric: ts.th.metric.clone(),
            threshold: ts.th.value,
            value: v,
            agent: ds.agent.to_string(),
            data_source: ds_name,
            flow_key: None,
            values: Vec::new(),
        });
    }
}
