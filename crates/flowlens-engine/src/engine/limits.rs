//! The caps that bound the engine's memory ([`Limits`]). How a full table or the active-key
//! cap makes room is in [`super::eviction`].

use crate::agents::AgentLimits;
use crate::counters::CounterLimits;

/// Caps that bound the engine's memory. What does not fit is refused or evicted and counted
/// in [`EngineStats`](super::EngineStats).
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
    /// reached it are refused (counted). With several shards ([`Engine::set_shards`](
    /// super::Engine::set_shards)) each shard has its share (the cap divided by the number
    /// of shards, rounded up) and makes room among its own keys.
    pub max_active_keys: usize,
    /// Completed-flow records kept for `/flows/json` (sFlow-RT `flows.max`).
    pub flow_log_len: usize,
    /// Events kept for `/events/json` (sFlow-RT `events.max`).
    pub event_log_len: usize,
    /// A key idle for `idle_factor × t` seconds is removed (its value is then below
    /// `e^-idle_factor` of its last level). 0 keeps idle keys (offline totals).
    pub idle_factor: f64,
    /// Keep each key's undecayed total since it became active ([`Engine::flow_totals`](
    /// super::Engine::flow_totals), `flowlens top --totals`), at 16 more bytes per key (a
    /// boxed state). Off by default: live queries read smoothed values only. Definitions
    /// with `log` keep totals either way (their records are differences of totals).
    pub keep_totals: bool,
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
            keep_totals: false,
            counters: CounterLimits::default(),
            agents: AgentLimits::default(),
        }
    }
}
