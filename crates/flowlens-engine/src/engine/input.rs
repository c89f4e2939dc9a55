//! The engine's input: sFlow datagrams ([`Engine::add_sflow`]), NetFlow/IPFIX data records
//! ([`Engine::add_netflow_record`]) and raw packets ([`Engine::add_packet`]). Each sample's
//! keys are collected once ([`super::keys`]), then its shard's `feed` updates every definition
//! that accepts it, one named step at a time: filter and stored key ([`flow_key`]), the table
//! of its data source ([`table_source`]), the key's entry (new keys admitted under the
//! [`Limits`](super::Limits), [`super::eviction`]), the flow-start record, the thresholds.

use std::net::IpAddr;

use flowlens_netflow::NetflowRecord;
use flowlens_wire::packet::{self, LinkType, WalkConfig};
use flowlens_wire::sflow::{Datagram, Sample};
use flowlens_wire::{KeyId, KeyMask, KeyVisitor, Masked, Value};

use super::eviction::{self, KeyCount, GLOBAL_EVICT_FRACTION};
use super::keys::SampleKeys;
use super::shard::{Common, Ctx, Item, Shard};
use super::threshold::Updated;
use super::{Engine, LoggedFlow};
use crate::definition::FlowDef;
use crate::keybuf::KeyBuf;
use crate::sample::{DataSource, Weight};
use crate::table::Input;
use crate::Env;

impl Engine {
    /// Feeds one sFlow datagram: flow samples into the flow tables, counter samples into the
    /// counter metrics, dropped-packet notifications into `dropped:true` flows.
    pub fn add_sflow(&mut self, now_ms: u64, dgram: &Datagram<'_>) {
        self.add_sflow_from(now_ms, None, dgram);
    }

    /// [`Engine::add_sflow`] for a datagram received from `source` (the UDP sender, listed in
    /// the agent's statistics).
    pub fn add_sflow_from(&mut self, now_ms: u64, source: Option<IpAddr>, dgram: &Datagram<'_>) {
        let seq = self.next_seq();
        let (ctx, shards, mut common) = self.parts();
        common.add_sflow(now_ms, source, dgram, |j, ds, sample| {
            if let Some(shard) = shards.get_mut(ctx.route.of(ds)) {
                let it = Item {
                    seq: seq | j,
                    ds,
                    sample,
                };
                shard.add_item(&ctx, now_ms, &it);
            }
        });
        if !self.in_batch {
            self.drain();
        }
    }

    /// Feeds one NetFlow/IPFIX data record (options records are ignored). The agent is the
    /// exporter, the data source its input interface (`ingressInterface`, IE 10; 0 if absent).
    pub fn add_netflow_record(&mut self, now_ms: u64, rec: &NetflowRecord<'_, '_>) {
        if rec.options {
            return;
        }
        self.stats.records += 1;
        let agent = rec.exporter;
        let ifindex = rec.ingress_interface().unwrap_or(0);
        let ds = DataSource::new(agent, 0, ifindex as u32);
        self.add_one(now_ms, ds, false, RecordKeys { ds, rec });
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
        let keys = PacketKeys {
            ds,
            rate,
            link,
            data,
            frame_len,
        };
        self.add_one(now_ms, ds, false, keys);
    }

    /// One sample at data source `ds`, on the caller's thread: the shard that keeps `ds`
    /// takes it if it wants it ([`Shard::wants`]), collecting its keys from `keys`.
    fn add_one(&mut self, now_ms: u64, ds: DataSource, dropped: bool, keys: impl SampleKeys) {
        let seq = self.next_seq();
        let (ctx, shards) = self.split();
        if let Some(shard) = shards.get_mut(ctx.route.of(ds)) {
            if shard.wants(&ctx, dropped) {
                shard.add_visited(&ctx, now_ms, ds, dropped, seq, keys);
            }
        }
        if !self.in_batch {
            self.drain();
        }
    }
}

/// A NetFlow/IPFIX data record's keys ([`Engine::add_netflow_record`]).
struct RecordKeys<'r, 'a, 'b> {
    ds: DataSource,
    rec: &'r NetflowRecord<'a, 'b>,
}

impl SampleKeys for RecordKeys<'_, '_, '_> {
    fn visit(self, _: &WalkConfig, v: &mut impl KeyVisitor) -> Weight {
        let name = self.ds.name();
        let mut m = Masked::new(v);
        m.emit(KeyId::AGENT, 0, Value::Ip(self.ds.agent));
        m.emit(KeyId::DATASOURCE, 0, Value::Display(&name));
        // The record's own counts; the tables scale them by the rate (once).
        let counts = self.rec.visit_keys_masked(&mut m);
        Weight {
            rate: self.rec.sampling_rate.max(1),
            frames: counts.packets.unwrap_or(0) as f64,
            bytes: counts.octets.unwrap_or(0) as f64,
        }
    }
}

/// A packet's keys ([`Engine::add_sampled_packet`]).
struct PacketKeys<'d> {
    ds: DataSource,
    rate: u32,
    link: LinkType,
    data: &'d [u8],
    frame_len: u32,
}

impl SampleKeys for PacketKeys<'_> {
    fn visit(self, cfg: &WalkConfig, v: &mut impl KeyVisitor) -> Weight {
        let name = self.ds.name();
        let mut m = Masked::new(v);
        m.emit(KeyId::AGENT, 0, Value::Ip(self.ds.agent));
        m.emit(KeyId::DATASOURCE, 0, Value::Display(&name));
        m.emit(KeyId::BYTES, 0, Value::U64(u64::from(self.frame_len)));
        m.emit(KeyId::SAMPLINGRATE, 0, Value::U64(u64::from(self.rate)));
        if m.wants_any(KeyMask::PACKET) {
            packet::with_walk(self.link, self.data, cfg, |w| w.visit_keys_masked(&mut m));
        }
        Weight {
            rate: self.rate.max(1),
            frames: 1.0,
            bytes: f64::from(self.frame_len),
        }
    }
}

impl Common<'_> {
    /// The part of an sFlow datagram that is not the shards': datagram, sample and agent
    /// statistics and counter samples, in the datagram's agent's part of the agents'
    /// statistics and counter metrics ([`crate::part::of_agent`] over the parts lent). Each
    /// flow sample and dropped-packet notification goes to `each` with its index in the
    /// datagram and its data source.
    pub(super) fn add_sflow<'d>(
        &mut self,
        now_ms: u64,
        source: Option<IpAddr>,
        dgram: &Datagram<'d>,
        mut each: impl FnMut(u64, DataSource, Sample<'d>),
    ) {
        self.stats.datagrams += 1;
        let agent = dgram.agent_address();
        let part = crate::part::of_agent(agent, self.agents.len());
        // The agent's statistics, looked up once for the datagram (`None`: not tracked).
        let mut agent_stats = self
            .agents
            .get_mut(part)
            .and_then(|p| p.datagram(now_ms, source, dgram));
        for (j, s) in dgram.samples().enumerate() {
            let Ok(s) = s else {
                self.stats.sample_errors += 1;
                break;
            };
            match s {
                Sample::Flow(fs) => {
                    self.stats.flow_samples += 1;
                    if let Some(a) = agent_stats.as_mut() {
                        a.flow_sample(now_ms, &fs);
                    }
                    let ds = DataSource::new(agent, fs.source_id_type(), fs.source_id_index());
                    each(j as u64, ds, s);
                }
                Sample::Discard(d) => {
                    self.stats.discard_samples += 1;
                    if let Some(a) = agent_stats.as_mut() {
                        a.discard_sample();
                    }
                    let ds = DataSource::new(agent, d.source_id_type(), d.source_id_index());
                    each(j as u64, ds, s);
                }
                Sample::Counter(c) => {
                    self.stats.counter_samples += 1;
                    if let Some(a) = agent_stats.as_mut() {
                        a.counter_sample(now_ms, &c);
                    }
                    if let Some(p) = self.counters.get_mut(part) {
                        p.add_sample(now_ms, agent, &c);
                    }
                }
                Sample::Unknown(_) => {}
            }
        }
    }
}

impl Shard {
    /// One sample the shard chose to take ([`Shard::wants`]) at data source `ds`, at input
    /// position `seq`: its keys are collected from `keys`, then fed to the definitions of
    /// its kind (`dropped`).
    pub(super) fn add_visited(
        &mut self,
        ctx: &Ctx<'_>,
        now_ms: u64,
        ds: DataSource,
        dropped: bool,
        seq: u64,
        keys: impl SampleKeys,
    ) {
        let w = self.collect(ctx, now_ms, keys);
        self.feed(ctx, now_ms, ds, w, dropped, seq);
    }

    /// Updates every definition of this kind (`dropped`) that accepts the sample whose keys
    /// are in the key buffer, at data source `ds`, with `weight`. New keys beyond this shard's
    /// share of [`Limits::max_active_keys`](super::Limits::max_active_keys) are refused, and
    /// room is made after the sample ([`eviction::evict_smallest`]).
    fn feed(
        &mut self,
        ctx: &Ctx<'_>,
        now_ms: u64,
        ds: DataSource,
        weight: Weight,
        dropped: bool,
        seq: u64,
    ) {
        let Shard {
            tables,
            triggered,
            buf,
            key,
            key_text,
            scratch,
            stats,
            active_keys,
            events,
            logs,
            ..
        } = self;
        let env = ctx.env;
        let input = Input {
            now_ms,
            weight,
            keys: buf,
            env,
            scratch,
        };
        let mut over_cap = false;
        for (flow, tables) in ctx.flows.iter().zip(tables.iter_mut()) {
            let def = &flow.def;
            if def.dropped != dropped || !flow_key(def, buf, env, key, key_text) {
                continue;
            }
            let ds = table_source(def, ds);
            let table = match tables.get_mut(&ds) {
                Some(t) => t,
                None => tables.entry(ds).or_default(),
            };
            let mut is_new = false;
            let entry = match table.entries.get_mut(key.as_slice()) {
                Some(e) => e,
                None => {
                    let count = KeyCount {
                        active: active_keys,
                        cap: ctx.key_cap,
                        stats,
                    };
                    match eviction::insert_key(table, key, def, now_ms, ctx.limits, count) {
                        Some(e) => {
                            is_new = true;
                            e
                        }
                        None => {
                            over_cap = true;
                            continue;
                        }
                    }
                }
            };
            entry.update(def.t_secs, &def.value, &def.values, &input);
            let updated = Updated {
                def,
                ds,
                key,
                entry,
            };
            if is_new && def.log && def.flow_start {
                logs.push((seq, flow_started(&updated, now_ms)));
            }
            if !flow.watch.is_empty() {
                ctx.thresholds
                    .on_value(&flow.watch, now_ms, &updated, triggered, events, seq);
            }
        }
        if over_cap {
            let removed =
                eviction::evict_smallest(ctx.flows, tables, now_ms, GLOBAL_EVICT_FRACTION);
            *active_keys -= removed;
            stats.keys_evicted += removed as u64;
        }
    }
}

/// Whether definition `def` accepts the sample in `buf` (its filter matches), writing the
/// sample's stored key for it (its key functions' values, typed: [`crate::flow_key`]) into
/// `key`, through `text` (a reused buffer for functions that compute text). False when the
/// filter refuses or a key function has no value.
#[inline(always)]
fn flow_key(def: &FlowDef, buf: &KeyBuf, env: &Env, key: &mut Vec<u8>, text: &mut String) -> bool {
    if let Some(f) = &def.filter {
        if !f.matches(buf, env) {
            return false;
        }
    }
    key.clear();
    def.keys.iter().all(|k| k.eval_key(buf, env, key, text))
}

/// The data source whose table of `def` a sample of `ds` goes to: `ds` itself, or the
/// agent's [`DataSource::AGENT`] for definitions aggregated per agent (`agg_agent`).
fn table_source(def: &FlowDef, ds: DataSource) -> DataSource {
    if def.agg_agent {
        DataSource {
            agent: ds.agent,
            id: DataSource::AGENT,
        }
    } else {
        ds
    }
}

/// The flow-start record (`flowStart:true` definitions) of a key just added: its first
/// sample's scaled value.
fn flow_started(u: &Updated<'_>, now_ms: u64) -> LoggedFlow {
    LoggedFlow {
        id: 0,
        name: u.def.name.clone(),
        flow_keys: crate::flow_key::text(u.key, &u.def.fs),
        value: u.entry.total().unwrap_or(0.0),
        start_ms: now_ms,
        end_ms: now_ms,
        agent: u.ds.agent.to_string(),
        data_source: u.ds.name().to_string(),
    }
}
