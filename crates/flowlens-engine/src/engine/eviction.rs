//! Room for new keys under the [`Limits`]: a new key is admitted, or refused when the
//! active-key cap is reached ([`insert_key`]); a full table drops its smaller half
//! ([`evict_half`]); after a sample that reached the active-key cap every definition drops
//! its smallest keys ([`evict_smallest`]).

use flowlens_netflow::hash::Map;

use super::{EngineStats, Flow, Limits};
use crate::definition::FlowDef;
use crate::sample::DataSource;
use crate::table::{Entry, Table};

/// Share of each definition's keys given up when the active-key cap is reached.
pub(super) const GLOBAL_EVICT_FRACTION: f64 = 0.125;

/// The engine's key accounting that admitting and evicting keys updates.
pub(super) struct KeyCount<'a> {
    /// Active keys over the shard's tables.
    pub(super) active: &'a mut usize,
    /// The shard's share of [`Limits::max_active_keys`].
    pub(super) cap: usize,
    /// `keys_added`, `keys_evicted`, `keys_refused` are counted here.
    pub(super) stats: &'a mut EngineStats,
}

/// Inserts new key `key` of definition `def` into `table` (which lacks it), first making
/// room in a full table ([`Limits::max_keys_per_table`]). `None` (counted as refused) when
/// the shard's share of [`Limits::max_active_keys`] is reached: the caller then runs
/// [`evict_smallest`] after the sample.
pub(super) fn insert_key<'t>(
    table: &'t mut Table,
    key: &[u8],
    def: &FlowDef,
    now_ms: u64,
    limits: &Limits,
    count: KeyCount<'_>,
) -> Option<&'t mut Entry> {
    if *count.active >= count.cap {
        // Room is made after this sample (every definition gives up its smallest keys);
        // only this sample's new keys are refused.
        count.stats.keys_refused += 1;
        return None;
    }
    if table.entries.len() >= limits.max_keys_per_table {
        let removed = evict_half(table, now_ms, def);
        *count.active -= removed;
        count.stats.keys_evicted += removed as u64;
    }
    *count.active += 1;
    count.stats.keys_added += 1;
    let total = def.log || limits.keep_totals;
    let e = Entry::new(
        now_ms,
        &def.value,
        &def.values,
        def.log && !def.flow_start,
        total,
    );
    Some(table.entries.entry(key.into()).or_insert(e))
}

/// Makes room under [`Limits::max_active_keys`] in one shard (`tables`, per definition of
/// `flows`): every definition drops its `fraction` smallest keys (by current value, over all
/// the shard's data sources), so a flood of small keys
/// spread over many data sources cannot lock out new ones, heavy flows stay, and no
/// definition pays for another's keys (values of different definitions are not compared).
/// Returns how many keys were removed. Cost: one pass over the keys, amortised over the
/// `fraction × cap` new keys that then fit.
pub(super) fn evict_smallest(
    flows: &[Flow],
    tables: &mut [Map<DataSource, Table>],
    now_ms: u64,
    fraction: f64,
) -> usize {
    let mut removed = 0;
    for (flow, tables) in flows.iter().zip(tables.iter_mut()) {
        let def = &flow.def;
        let mut vals: Vec<f64> = tables
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
        for table in tables.values_mut() {
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
        tables.retain(|_, t| !t.entries.is_empty());
    }
    removed
}

/// Drops the smaller half of a full table (by current value); returns how many.
pub(super) fn evict_half(table: &mut Table, now_ms: u64, def: &FlowDef) -> usize {
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
