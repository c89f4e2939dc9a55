//! Per-agent sFlow session statistics (sFlow-RT's `/agents/json`, `datasourceInfo()`).
//!
//! Datagram sequence numbers (per agent and sub-agent, sFlow v5 §5) give lost, duplicate and
//! out-of-order datagrams and agent restarts; flow-sample sequence numbers (per data source)
//! give lost samples; the `drops` field gives samples the agent itself dropped; `sample_pool`
//! deltas over the samples received give the effective sampling rate, which departs from the
//! configured rate when samples are lost on the way. Bounded: at most [`MAX_AGENTS`] agents
//! and [`MAX_DATA_SOURCES`] data sources per agent (more are counted, not tracked).

use std::net::IpAddr;

use flowlens_wire::sflow::{CounterSample, Datagram, FlowSample};
use serde_json::{json, Value as Json};

use crate::hash::{map, Map};
use crate::sample::DataSource;

/// Most agents tracked.
pub const MAX_AGENTS: usize = 10_000;
/// Most data sources tracked per agent.
pub const MAX_DATA_SOURCES: usize = 4_096;
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
}

#[derive(Debug, Default)]
struct AgentState {
    stats: AgentStats,
    seq: Map<u32, u32>,
    flow_ds: Map<u32, DsState>,
    counter_ds: Map<u32, DsState>,
    untracked: u64,
}

/// All agents.
#[derive(Debug)]
pub struct Agents {
    agents: Map<IpAddr, AgentState>,
    refused: u64,
}

impl Default for Agents {
    fn default() -> Self {
        Agents {
            agents: map(),
            refused: 0,
        }
    }
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

impl Agents {
    /// Accounts one datagram's header from `source` (the UDP sender, when known) at
    /// `now_ms`; the caller then reports each of its samples ([`Agents::flow_sample`],
    /// [`Agents::counter_sample`], [`Agents::discard_sample`]) while it decodes them, so
    /// samples are parsed once.
    pub fn datagram(&mut self, now_ms: u64, source: Option<IpAddr>, d: &Datagram<'_>) {
        let agent = d.agent_address();
        if !self.agents.contains_key(&agent) && self.agents.len() >= MAX_AGENTS {
            self.refused += 1;
            return;
        }
        let a = self.agents.entry(agent).or_default();
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
        if advance && a.seq.len() < MAX_DATA_SOURCES {
            a.seq.insert(d.sub_agent_id(), seq);
        }
    }

    /// Accounts one flow sample of `agent` (after [`Agents::datagram`]).
    pub fn flow_sample(&mut self, agent: IpAddr, f: &FlowSample<'_>) {
        let Some(a) = self.agents.get_mut(&agent) else {
            return;
        };
        a.stats.flow_samples += 1;
        let id = DataSource::new(agent, f.source_id_type(), f.source_id_index()).id;
        if !a.flow_ds.contains_key(&id) && a.flow_ds.len() >= MAX_DATA_SOURCES {
            a.untracked += 1;
            return;
        }
        let ds = a.flow_ds.entry(id).or_default();
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

    /// Accounts one counter sample of `agent` at `now_ms`.
    pub fn counter_sample(&mut self, now_ms: u64, agent: IpAddr, c: &CounterSample<'_>) {
        let Some(a) = self.agents.get_mut(&agent) else {
            return;
        };
        a.stats.counter_samples += 1;
        let id = DataSource::new(agent, c.source_id_type(), c.source_id_index()).id;
        if !a.counter_ds.contains_key(&id) && a.counter_ds.len() >= MAX_DATA_SOURCES {
            a.untracked += 1;
            return;
        }
        let ds = a.counter_ds.entry(id).or_default();
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

    /// Accounts one dropped-packet notification of `agent`.
    pub fn discard_sample(&mut self, agent: IpAddr) {
        if let Some(a) = self.agents.get_mut(&agent) {
            a.stats.discard_samples += 1;
        }
    }

    /// One agent's counters.
    pub fn get(&self, agent: IpAddr) -> Option<&AgentStats> {
        self.agents.get(&agent).map(|a| &a.stats)
    }

    /// Agents, sorted by address.
    pub fn list(&self) -> Vec<IpAddr> {
        let mut v: Vec<IpAddr> = self.agents.keys().copied().collect();
        v.sort();
        v
    }

    /// Ids of the data sources that sent flow samples (see [`DataSource`]), sorted.
    pub fn flow_data_sources(&self, agent: IpAddr) -> Vec<u32> {
        let mut v: Vec<u32> = self
            .agents
            .get(&agent)
            .map(|a| a.flow_ds.keys().copied().collect())
            .unwrap_or_default();
        v.sort_unstable();
        v
    }

    /// Sampling facts of one data source (flow and counter sides merged).
    pub fn data_source(&self, agent: IpAddr, id: u32) -> Option<DataSourceInfo> {
        let a = self.agents.get(&agent)?;
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

    /// Datagrams from agents beyond [`MAX_AGENTS`].
    pub fn refused(&self) -> u64 {
        self.refused
    }

    /// sFlow-RT's `/agents/json` object for one agent (`firstSeen`/`lastSeen` are ms ago at
    /// `now_ms`, `uptime` ms).
    pub fn to_json(&self, now_ms: u64, agent: IpAddr) -> Option<Json> {
        let a = self.agents.get(&agent)?;
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
