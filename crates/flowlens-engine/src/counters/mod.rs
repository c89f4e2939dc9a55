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
#[derive(Debug)]
pub struct Counters {
    limits: CounterLimits,
    agents: Map<IpAddr, Agent>,
    sources: usize,
    /// Metric name → time it was last updated anywhere.
    seen: Map<&'static str, u64>,
    stats: CounterStats,
    /// Buffers reused by every counter sample (no allocation per sample once warm).
    observed: names::Observed,
    fresh: Vec<(&'static str, f64)>,
}

impl Counters {
    /// An empty store with the given caps.
    pub fn new(limits: CounterLimits) -> Self {
        Counters {
            limits,
            agents: map(),
            sources: 0,
            seen: map(),
            stats: CounterStats::default(),
            observed: names::Observed::default(),
            fresh: Vec::new(),
        }
    }

    /// One counter sample from `agent` (the sFlow datagram's agent address) at `now_ms`
    /// (Unix ms, caller's clock). Records the wire layer rejects are counted and skipped.
    pub fn add_sample(&mut self, now_ms: u64, agent: IpAddr, sample: &CounterSample<'_>) {
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

    /// Forgets data sources whose last sample is more than the timeout before `now_ms`, agents
    /// left without data sources, and metric names not updated within the timeout.
    pub fn expire(&mut self, now_ms: u64) {
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

    /// Counts describing the store.
    pub fn stats(&self) -> CounterStats {
        CounterStats {
            data_sources: self.sources,
            agents: self.agents.len(),
            ..self.stats
        }
    }

    /// The current value of `metric` at `data_source` (`"3"`, `"2.1"`) of `agent`.
    pub fn value(&self, agent: IpAddr, data_source: &str, metric: &str) -> Option<&Metric> {
        let key = data_source.parse::<DataSourceId>().ok()?.class_index();
        let src = self.agents.get(&agent)?.sources.get(&key)?;
        src.get(metric).map(|e| &e.value)
    }

    /// Calls `f(agent, data source, value, last update ms)` for every data source carrying
    /// `metric`, in no particular order (threshold evaluation).
    pub fn each(&self, metric: &str, mut f: impl FnMut(IpAddr, &str, &Metric, u64)) {
        for (ip, a) in &self.agents {
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
