//! Per-agent sFlow session statistics (sFlow-RT's `/agents/json`, `datasourceInfo()`).
//!
//! Datagram sequence numbers (per agent and sub-agent, sFlow v5 §5) give lost, duplicate and
//! out-of-order datagrams and agent restarts; flow-sample sequence numbers (per data source)
//! give lost samples; the `drops` field gives samples the agent itself dropped; `sample_pool`
//! deltas over the samples received give the effective sampling rate, which departs from the
//! configured rate when samples are lost on the way.
//!
//! # Bounded under spoofed agents
//!
//! The agent address is a payload field, so one sender can claim any number of agents and
//! data sources. [`AgentLimits`] bounds what is kept: agents in all, agents and data sources
//! per UDP sender (so one sender cannot take the tables from the others: fair shares), data
//! sources per agent and in all; what does not fit is counted, not tracked
//! ([`AgentsStats`]). Agents and data sources idle for [`AgentLimits::idle_ms`] are forgotten
//! at [`Agents::expire`], so memory returns once a flood stops.

use std::net::IpAddr;

use flowlens_wire::sflow::{CounterSample, Datagram, FlowSample};
use serde_json::{json, Value as Json};

use crate::sample::DataSource;
use flowlens_netflow::hash::{map, Map};

/// Most agents tracked (default of [`AgentLimits::max_agents`]).
pub const MAX_AGENTS: usize = 10_000;
/// Most data sources tracked per agent (default of
/// [`AgentLimits::max_data_sources_per_agent`]).
pub const MAX_DATA_SOURCES: usize = 4_096;

/// Caps of the agents' statistics. Defaults: 10,000 agents, 1,024 per UDP sender, 4,096 data
/// sources per agent, 16,384 per UDP sender, 100,000 in all; idle 15 minutes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AgentLimits {
    /// Agents tracked in all.
    pub max_agents: usize,
    /// Agents one UDP sender may introduce (a relay forwarding for a fabric stays well under
    /// it; a spoofing sender is held to it).
    pub max_agents_per_source: usize,
    /// Data sources (flow and counter sides each) tracked per agent.
    pub max_data_sources_per_agent: usize,
    /// Data sources tracked over the agents one UDP sender introduced.
    pub max_data_sources_per_source: usize,
    /// Data sources tracked in all.
    pub max_data_sources: usize,
    /// An agent (or one of its data sources) with nothing for this long is forgotten, ms.
    pub idle_ms: u64,
}

impl Default for AgentLimits {
    fn default() -> Self {
        AgentLimits {
            max_agents: MAX_AGENTS,
            max_agents_per_source: 1_024,
            max_data_sources_per_agent: MAX_DATA_SOURCES,
            max_data_sources_per_source: 16_384,
            max_data_sources: 100_000,
            idle_ms: 15 * 60 * 1000,
        }
    }
}

/// What the agents' statistics refused and forgot (`/analyzer/json`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AgentsStats {
    /// Agents tracked now.
    pub agents: usize,
    /// Data sources tracked now (flow and counter sides).
    pub data_sources: usize,
    /// Datagrams of agents that were not tracked (a cap was reached).
    pub agents_refused: u64,
    /// Samples of data sources that were not tracked (a cap was reached).
    pub data_sources_refused: u64,
    /// Agents forgotten after being idle.
    pub agents_expired: u64,
    /// Data sources forgotten after being idle.
    pub data_sources_expired: u64,
}
/// A sequence number this far below the last one is a restart, not reordering.
const REORDER_WINDOW: u32 = 1_000;

/// Counters of one agent.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AgentStats {
    /// Datagrams received.
    pub datagrams: u64,
    /// Datagrams missing from the sequence (sequence gaps).
    pub datagrams_lost: u64,
    /// Datagrams whose sequence number repeated the previous one.
    pub duplicates: u64,
    /// Datagrams that arrived after a later one (within a window of 1,000).
    pub out_of_order: u64,
    /// Agent restarts (sequence numbers started again).
    pub restarts: u64,
    /// Flow samples received.
    pub flow_samples: u64,
    /// Flow samples missing from the per-data-source sequences.
    pub flow_samples_lost: u64,
    /// Samples the agent reports having dropped (`drops` deltas).
    pub flow_drops: u64,
    /// Counter samples received.
    pub counter_samples: u64,
    /// Dropped-packet notifications received.
    pub discard_samples: u64,
    /// First datagram, Unix ms.
    pub first_seen_ms: u64,
    /// Last datagram, Unix ms.
    pub last_seen_ms: u64,
    /// Agent uptime in the last datagram, ms.
    pub uptime_ms: u32,
    /// Addresses the datagrams came from (up to 4).
    pub sources: Vec<IpAddr>,
}

/// What is known of one data source's sampling.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct DataSourceInfo {
    /// The configured 1-in-N rate of the last flow sample.
    pub sampling_rate: u32,
    /// Sample-pool growth per sample received (≈ the rate when nothing is lost).
    pub effective_sampling_rate: f64,
    /// Flow samples received.
    pub flow_samples: u64,
    /// Counter samples received.
    pub counter_samples: u64,
    /// Mean seconds between counter samples.
    pub effective_polling_interval_secs: f64,
}

#[derive(Debug, Default)]
struct DsState {
    info: DataSourceInfo,
    flow_seq: Option<u32>,
    pool_first: Option<(u32, u64)>,
    pool_wrapped: u64,
    pool_last: u32,
    drops_last: Option<u32>,
    counter_first_ms: u64,
    counter_last_ms: u64,
    /// Last sample, Unix ms (idle expiry).
    last_ms: u64,
}

#[derive(Debug, Default)]
struct AgentState {
    stats: AgentStats,
    seq: Map<u32, u32>,
    flow_ds: Map<u32, DsState>,
    counter_ds: Map<u32, DsState>,
    untracked: u64,
    /// The UDP sender that introduced the agent (whose budget it counts against).
    owner: Option<IpAddr>,
}

/// What one UDP sender holds.
#[derive(Clone, Copy, Debug, Default)]
struct Budget {
    agents: usize,
    data_sources: usize,
}

/// All agents.
///
/// Split into parts by agent (`part.rs`), one per engine shard: each shard's thread
/// accounts its agents' datagrams in their part while the engine takes a batch;
/// the queries read every part. The caps of [`AgentLimits`] other than per agent are shared
/// equally among the parts (each part holds at most its share, rounded up), the UDP senders'
/// budgets included.
#[derive(Debug)]
pub struct Agents {
    limits: AgentLimits,
    parts: Vec<Part>,
}

/// One part of [`Agents`]: the agents [`crate::part::of_agent`] gives it, with its share of
/// the caps.
#[derive(Debug)]
pub(crate) struct Part {
    agents: Map<IpAddr, AgentState>,
    budgets: Map<Option<IpAddr>, Budget>,
    limits: AgentLimits,
    stats: AgentsStats,
}

impl Default for Agents {
    fn default() -> Self {
        Agents::new(AgentLimits::default())
    }
}

/// One tracked agent while a datagram of it is decoded ([`Agents::datagram`]): its samples
/// are counted through this handle without looking the agent up again.
pub struct AgentDatagram<'a> {
    agent: IpAddr,
    a: &'a mut AgentState,
    budgets: &'a mut Map<Option<IpAddr>, Budget>,
    limits: &'a AgentLimits,
    stats: &'a mut AgentsStats,
}

impl AgentDatagram<'_> {
    /// Accounts one flow sample at `now_ms`: its data source's sequence (samples lost),
    /// drops, sampling rate and sample pool (the effective sampling rate).
    pub fn flow_sample(&mut self, now_ms: u64, f: &FlowSample<'_>) {
        let (agent, a) = (self.agent, &mut *self.a);
        a.stats.flow_samples += 1;
        let id = DataSource::new(agent, f.source_id_type(), f.source_id_index()).id;
        // One look-up for a known data source (every sample but its first).
        let ds = match a.flow_ds.get_mut(&id) {
            Some(ds) => ds,
            None => {
                let b = self.budgets.entry(a.owner).or_default();
                let len = a.flow_ds.len();
                if !admit_ds(a, len, b, self.stats, self.limits) {
                    return;
                }
                a.flow_ds.entry(id).or_default()
            }
        };
        ds.last_ms = now_ms;
        if let Some(last) = ds.flow_seq {
            let q = f.sequence_number();
            if q > last && q - last < 1 << 30 {
                a.stats.flow_samples_lost += u64::from(q - last - 1);
            }
        }
        ds.flow_seq = Some(f.sequence_number());
        if let Some(last) = ds.drops_last {
            a.stats.flow_drops += u64::from(f.drops().wrapping_sub(last));
        }
        ds.drops_last = Some(f.drops());
        ds.info.sampling_rate = f.sampling_rate();
        ds.info.flow_samples += 1;
        let pool = f.sample_pool();
        match ds.pool_first {
            None => ds.pool_first = Some((pool, ds.info.flow_samples)),
            Some((first, n0)) => {
                if pool < ds.pool_last {
                    ds.pool_wrapped += 1 << 32;
                }
                let grown = ds.pool_wrapped + u64::from(pool) - u64::from(first);
                let samples = ds.info.flow_samples - n0;
                if samples > 0 {
                    ds.info.effective_sampling_rate = grown as f64 / samples as f64;
                }
            }
        }
        ds.pool_last = pool;
    }

    /// Accounts one counter sample at `now_ms`: its data source's polling interval.
    pub fn counter_sample(&mut self, now_ms: u64, c: &CounterSample<'_>) {
        let (agent, a) = (self.agent, &mut *self.a);
        a.stats.counter_samples += 1;
        let id = DataSource::new(agent, c.source_id_type(), c.source_id_index()).id;
        if !a.counter_ds.contains_key(&id) {
            let b = self.budgets.entry(a.owner).or_default();
            let len = a.counter_ds.len();
            if !admit_ds(a, len, b, self.stats, self.limits) {
                return;
            }
        }
        let ds = a.counter_ds.entry(id).or_default();
        ds.last_ms = now_ms;
        if ds.info.counter_samples == 0 {
            ds.counter_first_ms = now_ms;
        }
        ds.info.counter_samples += 1;
        ds.counter_last_ms = now_ms;
        if ds.info.counter_samples > 1 {
            ds.info.effective_polling_interval_secs = (ds.counter_last_ms - ds.counter_first_ms)
                as f64
                / 1000.0
                / (ds.info.counter_samples - 1) as f64;
        }
    }

    /// Accounts one dropped-packet notification.
    pub fn discard_sample(&mut self) {
        self.a.stats.discard_samples += 1;
    }
}

/// Admits a new data source of `a` (owned by budget `b`) within the caps; counts a refusal.
fn admit_ds(
    a: &mut AgentState,
    side_len: usize,
    b: &mut Budget,
    stats: &mut AgentsStats,
    limits: &AgentLimits,
) -> bool {
    if side_len >= limits.max_data_sources_per_agent
        || b.data_sources >= limits.max_data_sources_per_source
        || stats.data_sources >= limits.max_data_sources
    {
        a.untracked += 1;
        stats.data_sources_refused += 1;
        return false;
    }
    b.data_sources += 1;
    stats.data_sources += 1;
    true
}

fn seq_step(last: u32, seq: u32, s: &mut AgentStats) -> bool {
    if seq == last {
        s.duplicates += 1;
        false
    } else if seq > last {
        s.datagrams_lost += u64::from(seq - last - 1);
        true
    } else if last - seq <= REORDER_WINDOW && seq > 1 {
        s.out_of_order += 1;
        false
    } else {
        s.restarts += 1;
        true
    }
}

impl Part {
    fn new(limits: AgentLimits) -> Part {
        Part {
            agents: map(),
            budgets: map(),
            limits,
            stats: AgentsStats::default(),
        }
    }

    /// Forgets agents with no datagram, and data sources with no sample, for
    /// [`AgentLimits::idle_ms`] before `now_ms`; their budgets are freed.
    fn expire(&mut self, now_ms: u64) {
        let idle = self.limits.idle_ms;
        let Part {
            agents,
            budgets,
            stats,
            ..
        } = self;
        agents.retain(|_, a| {
            let b = budgets.entry(a.owner).or_default();
            if now_ms.saturating_sub(a.stats.last_seen_ms) > idle {
                let n = a.flow_ds.len() + a.counter_ds.len();
                b.agents = b.agents.saturating_sub(1);
                b.data_sources = b.data_sources.saturating_sub(n);
                stats.data_sources = stats.data_sources.saturating_sub(n);
                stats.agents_expired += 1;
                return false;
            }
            for side in [&mut a.flow_ds, &mut a.counter_ds] {
                let before = side.len();
                side.retain(|_, d| now_ms.saturating_sub(d.last_ms) <= idle);
                let gone = before - side.len();
                b.data_sources = b.data_sources.saturating_sub(gone);
                stats.data_sources = stats.data_sources.saturating_sub(gone);
                stats.data_sources_expired += gone as u64;
            }
            true
        });
        budgets.retain(|_, b| b.agents > 0);
        stats.agents = agents.len();
    }

    /// Accounts one datagram's header from `source` (the UDP sender, when known) at
    /// `now_ms`, and returns its agent's handle, through which the caller reports each of
    /// the datagram's samples ([`AgentDatagram::flow_sample`],
    /// [`AgentDatagram::counter_sample`], [`AgentDatagram::discard_sample`]) while it
    /// decodes them: samples are parsed once and the agent is looked up once per datagram.
    /// `None` when the agent is not tracked (a cap was reached): its samples are not
    /// counted.
    pub(crate) fn datagram(
        &mut self,
        now_ms: u64,
        source: Option<IpAddr>,
        d: &Datagram<'_>,
    ) -> Option<AgentDatagram<'_>> {
        let agent = d.agent_address();
        if !self.agents.contains_key(&agent) {
            if self.agents.len() >= self.limits.max_agents {
                self.stats.agents_refused += 1;
                return None;
            }
            let b = self.budgets.entry(source).or_default();
            if b.agents >= self.limits.max_agents_per_source {
                self.stats.agents_refused += 1;
                return None;
            }
            b.agents += 1;
            self.agents.insert(
                agent,
                AgentState {
                    owner: source,
                    ..AgentState::default()
                },
            );
            self.stats.agents = self.agents.len();
        }
        let a = self.agents.get_mut(&agent)?;
        let s = &mut a.stats;
        if s.datagrams == 0 {
            s.first_seen_ms = now_ms;
        }
        s.datagrams += 1;
        s.last_seen_ms = s.last_seen_ms.max(now_ms);
        s.uptime_ms = d.uptime_ms();
        if let Some(src) = source {
            if !s.sources.contains(&src) && s.sources.len() < 4 {
                s.sources.push(src);
            }
        }
        let seq = d.sequence_number();
        let advance = match a.seq.get(&d.sub_agent_id()) {
            Some(&last) => seq_step(last, seq, s),
            None => true,
        };
        if advance && a.seq.len() < self.limits.max_data_sources_per_agent {
            a.seq.insert(d.sub_agent_id(), seq);
        }
        Some(AgentDatagram {
            agent,
            a,
            budgets: &mut self.budgets,
            limits: &self.limits,
            stats: &mut self.stats,
        })
    }
}

/// `limits` with the caps shared among `parts` parts (the per-agent caps and the idle time
/// stay whole).
fn part_limits(limits: AgentLimits, parts: usize) -> AgentLimits {
    use crate::part::share;
    AgentLimits {
        max_agents: share(limits.max_agents, parts),
        max_agents_per_source: share(limits.max_agents_per_source, parts),
        max_data_sources_per_source: share(limits.max_data_sources_per_source, parts),
        max_data_sources: share(limits.max_data_sources, parts),
        ..limits
    }
}

impl Agents {
    /// Empty statistics with these caps.
    #[must_use]
    pub fn new(limits: AgentLimits) -> Agents {
        Agents {
            limits,
            parts: vec![Part::new(limits)],
        }
    }

    /// Splits the statistics into `n` parts (at least 1), moving every agent to its part
    /// ([`crate::part::of_agent`]) with its data sources counted against its UDP sender's
    /// budget there; the cumulative counts stay (in the first part).
    pub(crate) fn set_parts(&mut self, n: usize) {
        let n = n.max(1);
        let limits = part_limits(self.limits, n);
        let old = std::mem::take(&mut self.parts);
        self.parts = (0..n).map(|_| Part::new(limits)).collect();
        for p in old {
            if let Some(first) = self.parts.first_mut() {
                let s = &mut first.stats;
                s.agents_refused += p.stats.agents_refused;
                s.data_sources_refused += p.stats.data_sources_refused;
                s.agents_expired += p.stats.agents_expired;
                s.data_sources_expired += p.stats.data_sources_expired;
            }
            for (ip, a) in p.agents {
                let Some(to) = self.parts.get_mut(crate::part::of_agent(ip, n)) else {
                    continue;
                };
                let held = a.flow_ds.len() + a.counter_ds.len();
                let b = to.budgets.entry(a.owner).or_default();
                b.agents += 1;
                b.data_sources += held;
                to.stats.data_sources += held;
                to.agents.insert(ip, a);
                to.stats.agents = to.agents.len();
            }
        }
    }

    /// The parts, by index ([`crate::part::of_agent`]).
    pub(crate) fn parts_mut(&mut self) -> &mut [Part] {
        &mut self.parts
    }

    /// The part that keeps `agent`.
    fn part(&self, agent: IpAddr) -> Option<&Part> {
        self.parts
            .get(crate::part::of_agent(agent, self.parts.len()))
    }

    /// `agent`'s state, from its part.
    fn agent(&self, agent: IpAddr) -> Option<&AgentState> {
        self.part(agent)?.agents.get(&agent)
    }

    /// What was tracked, refused and forgotten.
    #[must_use]
    pub fn stats(&self) -> AgentsStats {
        let mut st = AgentsStats::default();
        for p in &self.parts {
            let s = &p.stats;
            st.agents += s.agents;
            st.data_sources += s.data_sources;
            st.agents_refused += s.agents_refused;
            st.data_sources_refused += s.data_sources_refused;
            st.agents_expired += s.agents_expired;
            st.data_sources_expired += s.data_sources_expired;
        }
        st
    }

    /// Forgets agents with no datagram, and data sources with no sample, for
    /// [`AgentLimits::idle_ms`] before `now_ms`; their budgets are freed.
    pub fn expire(&mut self, now_ms: u64) {
        for p in &mut self.parts {
            p.expire(now_ms);
        }
    }

    /// Accounts one datagram's header from `source` (the UDP sender, when known) at
    /// `now_ms`, in its agent's part, and returns its agent's handle, through which the
    /// caller reports each of the datagram's samples ([`AgentDatagram::flow_sample`],
    /// [`AgentDatagram::counter_sample`], [`AgentDatagram::discard_sample`]) while it
    /// decodes them. `None` when the agent is not tracked (a cap was reached): its samples
    /// are not counted.
    pub fn datagram(
        &mut self,
        now_ms: u64,
        source: Option<IpAddr>,
        d: &Datagram<'_>,
    ) -> Option<AgentDatagram<'_>> {
        let i = crate::part::of_agent(d.agent_address(), self.parts.len());
        self.parts.get_mut(i)?.datagram(now_ms, source, d)
    }

    /// One agent's counters.
    pub fn get(&self, agent: IpAddr) -> Option<&AgentStats> {
        self.agent(agent).map(|a| &a.stats)
    }

    /// Agents, sorted by address.
    pub fn list(&self) -> Vec<IpAddr> {
        let mut v: Vec<IpAddr> = self
            .parts
            .iter()
            .flat_map(|p| p.agents.keys().copied())
            .collect();
        v.sort();
        v
    }

    /// Ids of the data sources that sent flow samples (see [`DataSource`]), sorted.
    pub fn flow_data_sources(&self, agent: IpAddr) -> Vec<u32> {
        let mut v: Vec<u32> = self
            .agent(agent)
            .map(|a| a.flow_ds.keys().copied().collect())
            .unwrap_or_default();
        v.sort_unstable();
        v
    }

    /// Sampling facts of one data source (flow and counter sides merged).
    pub fn data_source(&self, agent: IpAddr, id: u32) -> Option<DataSourceInfo> {
        let a = self.agent(agent)?;
        let f = a.flow_ds.get(&id).map(|d| d.info);
        let c = a.counter_ds.get(&id).map(|d| d.info);
        match (f, c) {
            (None, None) => None,
            (f, c) => {
                let mut i = f.unwrap_or_default();
                if let Some(c) = c {
                    i.counter_samples = c.counter_samples;
                    i.effective_polling_interval_secs = c.effective_polling_interval_secs;
                }
                Some(i)
            }
        }
    }

    /// Datagrams of agents not tracked (a cap of [`AgentLimits`] was reached).
    pub fn refused(&self) -> u64 {
        self.parts.iter().map(|p| p.stats.agents_refused).sum()
    }

    /// sFlow-RT's `/agents/json` object for one agent (`firstSeen`/`lastSeen` are ms ago at
    /// `now_ms`, `uptime` ms).
    pub fn to_json(&self, now_ms: u64, agent: IpAddr) -> Option<Json> {
        let a = self.agent(agent)?;
        let s = &a.stats;
        let (rate, effective) = sampling_summary(a.flow_ds.values().map(|d| d.info));
        Some(json!({
            "sFlowDatagramsReceived": s.datagrams,
            "sFlowDatagramsLost": s.datagrams_lost,
            "sFlowDatagramsDuplicates": s.duplicates,
            "sFlowDatagramsOutOfOrder": s.out_of_order,
            "sFlowAgentRestarts": s.restarts,
            "sFlowFlowSamples": s.flow_samples,
            "sFlowFlowLostSamples": s.flow_samples_lost,
            "sFlowFlowDrops": s.flow_drops,
            "sFlowCounterSamples": s.counter_samples,
            "sFlowNotificationSamples": s.discard_samples,
            "sFlowFlowDatasources": a.flow_ds.len(),
            "sFlowCounterDatasources": a.counter_ds.len(),
            "sFlowDatagramSource": s.sources.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "firstSeen": now_ms.saturating_sub(s.first_seen_ms),
            "lastSeen": now_ms.saturating_sub(s.last_seen_ms),
            "uptime": s.uptime_ms,
            "sFlowSamplingRate": rate,
            "sFlowEffectiveSamplingRate": effective,
        }))
    }
}

/// The largest configured sampling rate over an agent's flow data sources, and the
/// sample-weighted mean of their effective rates (0 until a data source has sent two samples).
fn sampling_summary(infos: impl Iterator<Item = DataSourceInfo>) -> (u32, f64) {
    let (mut rate, mut weighted, mut samples) = (0u32, 0.0f64, 0.0f64);
    for i in infos {
        rate = rate.max(i.sampling_rate);
        if i.effective_sampling_rate > 0.0 {
            weighted += i.effective_sampling_rate * i.flow_samples as f64;
            samples += i.flow_samples as f64;
        }
    }
    (
        rate,
        if samples > 0.0 {
            weighted / samples
        } else {
            0.0
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    /// An sFlow v5 datagram (sFlow v5 spec, `sample_datagram_v5`) from IPv4 agent `agent`
    /// holding one `flow_sample` (enterprise 0, format 1) of data source `0:index`, with no
    /// flow records.
    fn datagram(agent: Ipv4Addr, seq: u32, index: u32) -> Vec<u8> {
        let mut d = Vec::new();
        for w in [5u32, 1] {
            d.extend_from_slice(&w.to_be_bytes()); // version, address type IPv4
        }
        d.extend_from_slice(&agent.octets());
        for w in [0u32, seq, 1000, 1] {
            d.extend_from_slice(&w.to_be_bytes()); // sub_agent_id, sequence, uptime, samples
        }
        // flow_sample: sequence_number, source_id, sampling_rate, sample_pool, drops, input,
        // output, flow records (none).
        let body = [seq, index, 100, seq * 100, 0, 1, 2, 0];
        d.extend_from_slice(&1u32.to_be_bytes()); // data format: enterprise 0, format 1
        d.extend_from_slice(&(body.len() as u32 * 4).to_be_bytes());
        for w in body {
            d.extend_from_slice(&w.to_be_bytes());
        }
        d
    }

    fn feed(a: &mut Agents, now_ms: u64, source: IpAddr, agent: Ipv4Addr, seq: u32, ds: u32) {
        let bytes = datagram(agent, seq, ds);
        let d = Datagram::parse(&bytes).expect("a valid datagram");
        let Some(mut h) = a.datagram(now_ms, Some(source), &d) else {
            return;
        };
        for s in d.samples() {
            if let Ok(flowlens_wire::sflow::Sample::Flow(f)) = s {
                h.flow_sample(now_ms, &f);
            }
        }
    }

    /// One sender claiming 10,007 agents with 8 data sources each (the attack of issue 17)
    /// holds no more than its share, a real agent from another sender is still tracked in
    /// full, and the flood's state is forgotten once it stops.
    #[test]
    fn a_spoofing_sender_is_held_to_its_share_and_forgotten_when_idle() {
        let limits = AgentLimits::default();
        let mut a = Agents::new(limits);
        let spoofer = IpAddr::from([192, 0, 2, 66]);
        for i in 0..10_007u32 {
            let agent = Ipv4Addr::from(0x0a00_0000 + i);
            for ds in 0..8 {
                feed(&mut a, 1_000, spoofer, agent, ds + 1, i * 8 + ds);
            }
        }
        let st = a.stats();
        assert_eq!(st.agents, limits.max_agents_per_source, "{st:?}");
        assert_eq!(st.data_sources, limits.max_agents_per_source * 8, "{st:?}");
        assert_eq!(
            st.agents_refused,
            (10_007 - limits.max_agents_per_source as u64) * 8,
            "{st:?}"
        );

        // A real switch behind another sender: every one of its 48 ports is tracked.
        let real = Ipv4Addr::new(198, 51, 100, 1);
        let sender = IpAddr::from([198, 51, 100, 1]);
        for port in 1..=48 {
            feed(&mut a, 2_000, sender, real, port, port);
        }
        assert_eq!(a.flow_data_sources(IpAddr::V4(real)).len(), 48);
        assert_eq!(a.get(IpAddr::V4(real)).map(|s| s.datagrams), Some(48));

        // The flood stops; the real agent keeps sending. Past the idle time only it is left.
        let later = 2_000 + limits.idle_ms + 1;
        feed(&mut a, later - 500, sender, real, 49, 1);
        a.expire(later);
        let st = a.stats();
        assert_eq!(st.agents, 1, "{st:?}");
        assert_eq!(st.agents_expired, limits.max_agents_per_source as u64);
        assert_eq!(a.list(), vec![IpAddr::V4(real)]);
        // Its 47 idle ports were forgotten too; port 1 is still there.
        assert_eq!(a.flow_data_sources(IpAddr::V4(real)), vec![1]);
        assert_eq!(st.data_sources, 1, "{st:?}");
        // The spoofer's budget is free again.
        feed(&mut a, later, spoofer, Ipv4Addr::new(10, 9, 9, 9), 1, 1);
        assert_eq!(a.stats().agents, 2);
    }

    /// Data sources are capped per agent, per sender and in all, and what is refused is
    /// counted.
    #[test]
    fn data_source_caps_count_what_they_refuse() {
        let limits = AgentLimits {
            max_data_sources_per_agent: 10,
            max_data_sources_per_source: 25,
            max_data_sources: 40,
            ..AgentLimits::default()
        };
        let mut a = Agents::new(limits);
        let s1 = IpAddr::from([192, 0, 2, 1]);
        let s2 = IpAddr::from([192, 0, 2, 2]);
        for (src, base) in [(s1, 1u32), (s2, 100)] {
            for agent in 0..3u32 {
                for ds in 0..20 {
                    feed(&mut a, 1, src, Ipv4Addr::from(base + agent), ds + 1, ds);
                }
            }
        }
        let st = a.stats();
        // s1: 10 + 10 + 5 (its budget of 25); s2: 10 + 5 (the global cap of 40).
        assert_eq!(st.data_sources, 40, "{st:?}");
        assert_eq!(st.data_sources_refused, 120 - 40, "{st:?}");
    }

    #[test]
    fn sampling_summary_weighs_by_samples() {
        let ds = |rate, eff, n| DataSourceInfo {
            sampling_rate: rate,
            effective_sampling_rate: eff,
            flow_samples: n,
            ..DataSourceInfo::default()
        };
        // 300 samples at an effective 10, 100 at 20 (a quarter of the samples): 12.5.
        let (rate, eff) = sampling_summary([ds(10, 10.0, 300), ds(16, 20.0, 100)].into_iter());
        assert_eq!(rate, 16);
        assert!((eff - 12.5).abs() < 1e-9, "{eff}");
        assert_eq!(sampling_summary([ds(10, 0.0, 1)].into_iter()), (10, 0.0));
    }

    #[test]
    fn sequence_steps() {
        let mut s = AgentStats::default();
        assert!(seq_step(10, 11, &mut s));
        assert!(seq_step(11, 15, &mut s));
        assert_eq!(s.datagrams_lost, 3);
        assert!(!seq_step(15, 15, &mut s));
        assert_eq!(s.duplicates, 1);
        assert!(!seq_step(15, 14, &mut s));
        assert_eq!(s.out_of_order, 1);
        assert!(seq_step(50_000, 1, &mut s));
        assert_eq!(s.restarts, 1);
    }
}
