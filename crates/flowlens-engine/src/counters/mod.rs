//! Counter metrics from sFlow counter samples, with sFlow-RT semantics (`/metric`, `/dump`,
//! `/table`, `/metrics` endpoints and the `metric()`, `dump()`, `table()` script functions).
//!
//! [`Counters::add_sample`] takes one decoded `counters_sample` (sFlow v5 format 2 or 4) from
//! an agent and keeps, per (agent, data source), the current value of every metric its
//! records carry. Names and units come from the table in [`names`] (e.g. `ifinoctets` in
//! bytes/s, `ifinutilization` in percent, `load_one`, `mem_total` in bytes, `os_name`
//! text); rates and wraps are described in `source.rs`; summary statistics in
//! [`crate::summary`].
//!
//! Data sources are named as sFlow-RT shows them: interface counters (`source_id` class 0)
//! by their ifIndex (`"3"`), every other class as `<class>.<index>` (Host sFlow's physical
//! host is `"2.1"`). A metric can be scoped to a data source as `<ds>.<metric>`
//! (`2.1.load_one`) in [`Counters::metric`] and [`Counters::dump`].
//!
//! Memory is bounded by [`CounterLimits`]: a sample from a new agent or for a new data source
//! beyond a cap is refused (counted in [`CounterStats`]); [`Counters::expire`] forgets data
//! sources silent for longer than the timeout. Each data source holds at most one value per
//! metric name of the static table. Nothing here panics on any input.

mod filter;
pub mod names;
mod query;
mod source;
mod types;

use std::net::IpAddr;

use crate::sample::DataSourceId;

use flowlens_wire::sflow::CounterSample;

use flowlens_netflow::hash::{map, Map};
use source::{Outcome, Source};

pub use filter::DsFilter;
pub use types::{Metric, MetricValue, Statistic};

/// Caps of the counter store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CounterLimits {
    /// Most agents (default 10 000; sFlow-RT's status page is scaled for 5 000).
    pub max_agents: usize,
    /// Most data sources of one agent (default 10 000: every port and VLAN of a large
    /// chassis).
    pub max_data_sources_per_agent: usize,
    /// Most data sources in all (default 200 000).
    pub max_data_sources: usize,
    /// A data source silent for longer than this many milliseconds is forgotten by
    /// [`Counters::expire`] (default 300 000: ten missed 30 s polls).
    pub timeout_ms: u64,
}

impl Default for CounterLimits {
    fn default() -> Self {
        CounterLimits {
            max_agents: 10_000,
            max_data_sources_per_agent: 10_000,
            max_data_sources: 200_000,
            timeout_ms: 300_000,
        }
    }
}

/// Counts describing the store ([`Counters::stats`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CounterStats {
    /// Counter samples offered to [`Counters::add_sample`].
    pub samples: u64,
    /// Data sources held now.
    pub data_sources: usize,
    /// Agents held now.
    pub agents: usize,
    /// Data sources forgotten by [`Counters::expire`].
    pub expired: u64,
    /// Samples refused because a new agent would exceed `max_agents`.
    pub refused_agents: u64,
    /// Samples refused because a new data source would exceed a data-source cap.
    pub refused_data_sources: u64,
    /// Counters that went down implausibly for a wrap (treated as a reset, no rate).
    pub counter_resets: u64,
    /// Samples whose sequence number restarted (agent restart: every rate restarts).
    pub restarts: u64,
    /// Samples ignored as duplicates (same sequence number) or reordered (older one).
    pub ignored: u64,
    /// Counter records the wire decoder rejected (truncated or invalid); the sample's other
    /// records are still used.
    pub record_errors: u64,
}

/// The data sources of one agent.
#[derive(Debug)]
struct Agent {
    sources: Map<(u32, u32), Source>,
}

/// The counter metric store. See the module documentation.
///
/// Split into parts by agent (`part.rs`), one per engine shard: each shard's thread
/// updates its agents' part while the engine takes a batch; the queries read
/// every part. The caps of [`CounterLimits`] other than per agent are shared equally among
/// the parts (each part holds at most its share, rounded up).
#[derive(Debug)]
pub struct Counters {
    limits: CounterLimits,
    parts: Vec<Part>,
}

/// One part of [`Counters`]: the agents [`crate::part::of_agent`] gives it, with its share of
/// the caps.
#[derive(Debug)]
pub(crate) struct Part {
    limits: CounterLimits,
    agents: Map<IpAddr, Agent>,
    sources: usize,
    /// Metric name → time it was last updated anywhere in this part.
    seen: Map<&'static str, u64>,
    stats: CounterStats,
    /// Buffers reused by every counter sample (no allocation per sample once warm).
    observed: names::Observed,
    fresh: Vec<(&'static str, f64)>,
}

impl Part {
    fn new(limits: CounterLimits) -> Part {
        Part {
            limits,
            agents: map(),
            sources: 0,
            seen: map(),
            stats: CounterStats::default(),
            observed: names::Observed::default(),
            fresh: Vec::new(),
        }
    }

    /// [`Counters::add_sample`] for an agent of this part.
    pub(crate) fn add_sample(&mut self, now_ms: u64, agent: IpAddr, sample: &CounterSample<'_>) {
        self.stats.samples += 1;
        let key = (sample.source_id_type(), sample.source_id_index());
        let known_agent = self.agents.get(&agent);
        let known_source = known_agent.is_some_and(|a| a.sources.contains_key(&key));
        if !known_source {
            let per_agent = known_agent.map_or(0, |a| a.sources.len());
            if known_agent.is_none() && self.agents.len() >= self.limits.max_agents {
                self.stats.refused_agents += 1;
                return;
            }
            if per_agent >= self.limits.max_data_sources_per_agent
                || self.sources >= self.limits.max_data_sources
            {
                self.stats.refused_data_sources += 1;
                return;
            }
        }
        let virtual_ds = sample
            .records()
            .any(|r| r.is_ok_and(|r| names::is_virtual_record(&r)));
        let obs = &mut self.observed;
        obs.clear();
        for rec in sample.records() {
            match rec {
                Ok(rec) => names::observe(&rec, virtual_ds, obs),
                Err(_) => self.stats.record_errors += 1,
            }
        }
        let a = self
            .agents
            .entry(agent)
            .or_insert_with(|| Agent { sources: map() });
        let src = a.sources.entry(key).or_insert_with(|| {
            self.sources += 1;
            Source::new(DataSourceId::new(key.0, key.1).to_string(), now_ms)
        });
        match src.update(
            now_ms,
            sample.sequence_number(),
            &self.observed,
            &mut self.fresh,
            &mut self.stats.counter_resets,
        ) {
            Outcome::Applied => {}
            Outcome::Restarted => self.stats.restarts += 1,
            Outcome::Duplicate | Outcome::OutOfOrder => {
                self.stats.ignored += 1;
                return;
            }
        }
        for e in src.entries().iter().filter(|e| e.at_ms == now_ms) {
            self.seen.insert(e.name, now_ms);
        }
    }

    fn expire(&mut self, now_ms: u64) {
        let timeout = self.limits.timeout_ms;
        let stale = |t: u64| now_ms.saturating_sub(t) > timeout;
        let mut expired = 0u64;
        for a in self.agents.values_mut() {
            let before = a.sources.len();
            a.sources.retain(|_, s| !stale(s.last_ms));
            expired += (before - a.sources.len()) as u64;
        }
        self.agents.retain(|_, a| !a.sources.is_empty());
        self.sources = self.agents.values().map(|a| a.sources.len()).sum();
        self.stats.expired += expired;
        self.seen.retain(|_, t| !stale(*t));
    }
}

/// `limits` with the caps shared among `parts` parts (the per-agent cap stays whole).
fn part_limits(limits: CounterLimits, parts: usize) -> CounterLimits {
    CounterLimits {
        max_agents: crate::part::share(limits.max_agents, parts),
        max_data_sources: crate::part::share(limits.max_data_sources, parts),
        ..limits
    }
}

impl Counters {
    /// An empty store with the given caps.
    pub fn new(limits: CounterLimits) -> Self {
        Counters {
            limits,
            parts: vec![Part::new(limits)],
        }
    }

    /// Splits the store into `n` parts (at least 1), moving every agent to its part
    /// ([`crate::part::of_agent`]); the cumulative counts stay (in the first part). Answers do
    /// not change while no cap is reached.
    pub(crate) fn set_parts(&mut self, n: usize) {
        let n = n.max(1);
        let limits = part_limits(self.limits, n);
        let old = std::mem::take(&mut self.parts);
        self.parts = (0..n).map(|_| Part::new(limits)).collect();
        for p in old {
            if let Some(first) = self.parts.first_mut() {
                let s = &mut first.stats;
                s.samples += p.stats.samples;
                s.expired += p.stats.expired;
                s.refused_agents += p.stats.refused_agents;
                s.refused_data_sources += p.stats.refused_data_sources;
                s.counter_resets += p.stats.counter_resets;
                s.restarts += p.stats.restarts;
                s.ignored += p.stats.ignored;
                s.record_errors += p.stats.record_errors;
                for (name, t) in p.seen {
                    let e = first.seen.entry(name).or_insert(t);
                    *e = (*e).max(t);
                }
            }
            for (ip, a) in p.agents {
                if let Some(to) = self.parts.get_mut(crate::part::of_agent(ip, n)) {
                    to.sources += a.sources.len();
                    to.agents.insert(ip, a);
                }
            }
        }
    }

    /// The parts, by index ([`crate::part::of_agent`]).
    pub(crate) fn parts_mut(&mut self) -> &mut [Part] {
        &mut self.parts
    }

    /// One counter sample from `agent` (the sFlow datagram's agent address) at `now_ms`
    /// (Unix ms, caller's clock). Records the wire layer rejects are counted and skipped.
    pub fn add_sample(&mut self, now_ms: u64, agent: IpAddr, sample: &CounterSample<'_>) {
        let i = crate::part::of_agent(agent, self.parts.len());
        if let Some(p) = self.parts.get_mut(i) {
            p.add_sample(now_ms, agent, sample);
        }
    }

    /// Forgets data sources whose last sample is more than the timeout before `now_ms`, agents
    /// left without data sources, and metric names not updated within the timeout.
    pub fn expire(&mut self, now_ms: u64) {
        for p in &mut self.parts {
            p.expire(now_ms);
        }
    }

    /// Counts describing the store.
    pub fn stats(&self) -> CounterStats {
        let mut st = CounterStats::default();
        for p in &self.parts {
            let s = &p.stats;
            st.samples += s.samples;
            st.data_sources += p.sources;
            st.agents += p.agents.len();
            st.expired += s.expired;
            st.refused_agents += s.refused_agents;
            st.refused_data_sources += s.refused_data_sources;
            st.counter_resets += s.counter_resets;
            st.restarts += s.restarts;
            st.ignored += s.ignored;
            st.record_errors += s.record_errors;
        }
        st
    }

    /// The agent's data sources, from its part.
    fn agent(&self, agent: IpAddr) -> Option<&Agent> {
        self.parts
            .get(crate::part::of_agent(agent, self.parts.len()))?
            .agents
            .get(&agent)
    }

    /// Every agent with its data sources, part after part.
    fn agents(&self) -> impl Iterator<Item = (&IpAddr, &Agent)> {
        self.parts.iter().flat_map(|p| p.agents.iter())
    }

    /// The current value of `metric` at `data_source` (`"3"`, `"2.1"`) of `agent`.
    pub fn value(&self, agent: IpAddr, data_source: &str, metric: &str) -> Option<&Metric> {
        let key = data_source.parse::<DataSourceId>().ok()?.class_index();
        let src = self.agent(agent)?.sources.get(&key)?;
        src.get(metric).map(|e| &e.value)
    }

    /// Calls `f(agent, data source, value, last update ms)` for every data source carrying
    /// `metric`, in no particular order (threshold evaluation).
    pub fn each(&self, metric: &str, mut f: impl FnMut(IpAddr, &str, &Metric, u64)) {
        for (ip, a) in self.agents() {
            for s in a.sources.values() {
                if let Some(e) = s.get(metric) {
                    f(*ip, &s.name, &e.value, e.at_ms);
                }
            }
        }
    }
}

impl Default for Counters {
    fn default() -> Self {
        Counters::new(CounterLimits::default())
    }
}
