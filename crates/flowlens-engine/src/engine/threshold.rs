//! The engine's threshold runtime: which thresholds are triggered for which data source (and
//! flow key, for `byFlow`), raising events when a flow value or counter metric crosses its
//! threshold and re-arming after the value stays below for the threshold's `timeout`.
//! Definitions and the event shape are in [`crate::threshold`].

use std::net::IpAddr;

use flowlens_netflow::hash::{map, Map};
use serde_json::Value as Json;

use super::shard::Shard;
use super::Flow;
use crate::counters::{Counters, Metric};
use crate::definition::FlowDef;
use crate::error::{Error, Result};
use crate::ring::Ring;
use crate::sample::{DataSource, DataSourceId};
use crate::table::Entry;
use crate::threshold::{Event, Threshold};

/// What a threshold is triggered for: a data source, and the hash of a stored flow key
/// ([`crate::flow_key`]) for `byFlow`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) struct TrigKey {
    pub(super) ds: DataSource,
    key_hash: u64,
}

/// A triggered state: the key it fired for (its text, and its stored form for `byFlow`), and
/// since when the value has been below.
#[derive(Debug)]
pub(super) struct Trig {
    flow_key: Option<String>,
    stored: Option<Box<[u8]>>,
    below_since: Option<u64>,
}

/// The triggered states of every threshold of one shard, by threshold index.
pub(super) type Triggered = Vec<Map<TrigKey, Trig>>;

struct ThresholdState {
    th: Threshold,
    /// Triggered states of a counter-metric threshold (flow thresholds keep theirs in the
    /// shard of the data source: [`Triggered`]).
    triggered: Map<TrigKey, Trig>,
}

/// A flow key whose entry a sample just updated: what [`Thresholds::on_value`] checks.
#[derive(Clone, Copy)]
pub(super) struct Updated<'a> {
    /// The key's definition.
    pub(super) def: &'a FlowDef,
    /// The data source of the key's table.
    pub(super) ds: DataSource,
    /// The stored key ([`crate::flow_key`]; its text joins the key functions' values with
    /// the definition's separator).
    pub(super) key: &'a [u8],
    /// The key's entry, already updated.
    pub(super) entry: &'a Entry,
}

/// Every threshold with its triggered states, in definition order (flows watch them by
/// index).
#[derive(Default)]
pub(super) struct Thresholds {
    states: Vec<ThresholdState>,
}

impl Thresholds {
    /// Creates or replaces threshold `th` (a replaced one forgets its triggered states);
    /// refuses a new one beyond `max`. Returns its index and whether it is new (the caller
    /// resets or adds the shards' [`Triggered`] states at that index).
    pub(super) fn set(&mut self, th: Threshold, max: usize) -> Result<(usize, bool)> {
        match self
            .states
            .iter_mut()
            .enumerate()
            .find(|(_, t)| t.th.name == th.name)
        {
            Some((i, t)) => {
                t.th = th;
                t.triggered = map();
                Ok((i, false))
            }
            None => {
                if self.states.len() >= max {
                    return Err(Error::Limit {
                        what: "thresholds",
                        limit: max,
                    });
                }
                self.states.push(ThresholdState {
                    th,
                    triggered: map(),
                });
                Ok((self.states.len() - 1, true))
            }
        }
    }

    /// Removes threshold `name`; its index, `None` when there was none.
    pub(super) fn clear(&mut self, name: &str) -> Option<usize> {
        let i = self.states.iter().position(|t| t.th.name == name)?;
        self.states.remove(i);
        Some(i)
    }

    /// How many thresholds there are.
    pub(super) fn len(&self) -> usize {
        self.states.len()
    }

    /// Threshold `name` as it was written.
    pub(super) fn spec(&self, name: &str) -> Option<&Json> {
        self.states
            .iter()
            .find(|t| t.th.name == name)
            .map(|t| &t.th.spec)
    }

    /// Every threshold, `{name: threshold}`.
    pub(super) fn json(&self) -> Json {
        Json::Object(
            self.states
                .iter()
                .map(|t| (t.th.name.clone(), t.th.spec.clone()))
                .collect(),
        )
    }

    /// Indices of the thresholds on metric (flow) `name`.
    pub(super) fn watching(&self, name: &str) -> Vec<usize> {
        self.states
            .iter()
            .enumerate()
            .filter(|(_, t)| t.th.metric == name)
            .map(|(i, _)| i)
            .collect()
    }

    /// A flow key's entry was updated (`u`): each threshold in `watch` whose value it now
    /// reaches (and whose filter accepts the data source) triggers, once per data source (and
    /// key, for `byFlow`), in the shard's `triggered` states, pushing an event tagged `seq`.
    pub(super) fn on_value(
        &self,
        watch: &[usize],
        now_ms: u64,
        u: &Updated<'_>,
        triggered: &mut Triggered,
        events: &mut Vec<(u64, Event)>,
        seq: u64,
    ) {
        let Updated {
            def,
            ds,
            key,
            entry,
        } = *u;
        for &ti in watch {
            let (Some(ts), Some(trig)) = (self.states.get(ti), triggered.get_mut(ti)) else {
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
                key_hash: if ts.th.by_flow { key_hash(key) } else { 0 },
            };
            if let Some(t) = trig.get_mut(&tk) {
                t.below_since = None;
                continue;
            }
            let key_text = crate::flow_key::text(key, &def.fs);
            trig.insert(
                tk,
                Trig {
                    flow_key: Some(key_text.clone()),
                    stored: ts.th.by_flow.then(|| key.into()),
                    below_since: None,
                },
            );
            let values = entry.values(now_ms, def.t_secs, &def.values);
            events.push((
                seq,
                Event {
                    id: 0,
                    timestamp_ms: now_ms,
                    threshold_id: ts.th.name.clone(),
                    metric: ts.th.metric.clone(),
                    threshold: ts.th.value,
                    value,
                    agent: ds.agent.to_string(),
                    data_source: ds.name().to_string(),
                    flow_key: Some(key_text),
                    values,
                },
            ));
        }
    }

    /// Once a second: re-arms flow thresholds whose value stayed below for their timeout (in
    /// every shard) and checks thresholds on counter metrics.
    pub(super) fn tick(
        &mut self,
        flows: &[Flow],
        shards: &mut [Shard],
        counters: &Counters,
        now_ms: u64,
        events: &mut Ring<Event>,
    ) {
        for (ti, ts) in self.states.iter_mut().enumerate() {
            let Some((fi, flow)) = flows
                .iter()
                .enumerate()
                .find(|(_, f)| f.def.name == ts.th.metric)
            else {
                // A counter metric (or a flow not defined yet).
                check_counter_threshold(ts, counters, now_ms, events);
                continue;
            };
            let def = &flow.def;
            let th = ts.th.value;
            let timeout = ts.th.timeout_ms;
            for shard in shards.iter_mut() {
                let (Some(tables), Some(triggered)) =
                    (shard.tables.get(fi), shard.triggered.get_mut(ti))
                else {
                    continue;
                };
                triggered.retain(|tk, trig| {
                    let v = tables.get(&tk.ds).map_or(0.0, |t| match &trig.stored {
                        Some(k) => t
                            .entries
                            .get(k)
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
        }
    }

    /// True while threshold `name` is triggered (not yet re-armed) for this agent and data
    /// source (and flow key, for `byFlow` thresholds).
    /// `shard` finds the shard that keeps a data source's states.
    pub(super) fn triggered<'s>(
        &self,
        name: &str,
        agent: IpAddr,
        data_source: u32,
        flow_key: Option<&str>,
        flow_def: impl Fn(&str) -> Option<&'s FlowDef>,
        shard: impl Fn(DataSource) -> Option<&'s Shard>,
    ) -> Result<bool> {
        let (ti, ts) = self
            .states
            .iter()
            .enumerate()
            .find(|(_, t)| t.th.name == name)
            .ok_or_else(|| Error::NotFound {
                what: "threshold",
                name: name.to_string(),
            })?;
        let ds = DataSource {
            agent,
            id: data_source,
        };
        let states =
            || core::iter::once(&ts.triggered).chain(shard(ds).and_then(|s| s.triggered.get(ti)));
        let key_hash = match (ts.th.by_flow, flow_key) {
            (true, Some(k)) => {
                match flow_def(&ts.th.metric)
                    .and_then(|d| crate::flow_key::from_text(k, &d.fs, d.keys.len()))
                {
                    Some(stored) => key_hash(&stored),
                    // A key whose text cannot be split into its components (one contains the
                    // separator): compare the texts of the keys it fired for.
                    None => {
                        return Ok(states().any(|t| {
                            t.iter().any(|(tk, trig)| {
                                tk.ds == ds && trig.flow_key.as_deref() == Some(k)
                            })
                        }))
                    }
                }
            }
            _ => 0,
        };
        let tk = TrigKey { ds, key_hash };
        Ok(states().any(|t| t.contains_key(&tk)))
    }
}

/// The hash of a stored flow key (never 0 in practice; 0 stands for "no key").
fn key_hash(stored: &[u8]) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = foldhash::fast::FixedState::with_seed(0x7e57).build_hasher();
    h.write(stored);
    h.finish()
}

/// Attributes a flow threshold's filter can test: `agent`, `dataSource`.
fn ds_attr(attr: &str, ds: DataSource) -> Option<String> {
    match attr {
        "agent" => Some(ds.agent.to_string()),
        "dataSource" | "datasource" => Some(ds.name().to_string()),
        _ => None,
    }
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
        let Ok(DataSourceId(id)) = ds_name.parse::<DataSourceId>() else {
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
    // In data-source order, not the value map's (seeded) order: events of one tick are
    // numbered the same way on every run.
    crossed.sort_by_key(|c| c.0);
    for (ds, ds_name, v) in crossed {
        let tk = TrigKey { ds, key_hash: 0 };
        if ts.triggered.contains_key(&tk) {
            continue;
        }
        ts.triggered.insert(
            tk,
            Trig {
                flow_key: None,
                stored: None,
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
