//! The engine's queries: active flows ([`FlowQuery`]), totals, top keys, flows as metrics,
//! flow values, logged flows, events, triggered thresholds and the key names seen. Read-only:
//! every answer is computed from the tables at the caller's `now_ms`.

use std::net::IpAddr;

use flowlens_netflow::hash::{map, Map};
use serde_json::Value as Json;

use super::{ActiveFlow, AggMode, Engine, Flow, LoggedFlow};
use crate::definition::FlowDef;
use crate::error::{Error, Result};
use crate::flow_key;
use crate::sample::{DataSource, DataSourceId};
use crate::select::AgentSel;
use crate::table::{Entry, Table};
use crate::threshold::Event;
use crate::topology::PortRole;

/// sFlow-RT's default `maxFlows` for `/activeflows` and `activeFlows()`.
pub const DEFAULT_MAX_FLOWS: usize = 100;

/// What [`Engine::active_flows`] selects: a definition at some agents, merged over data
/// sources by `agg`, keys with value ≥ `min_value` (and matching `key_filter`, a regular
/// expression searched in the joined key text: sFlow-RT's `/activeflows` `filter`), largest
/// first, at most `max_flows`.
#[derive(Clone, Copy, Debug)]
pub struct FlowQuery<'a> {
    /// The agents whose data sources count.
    pub agents: &'a AgentSel,
    /// The flow definition's name.
    pub name: &'a str,
    /// At most this many rows (0: none).
    pub max_flows: usize,
    /// Rows with a smaller value are left out.
    pub min_value: f64,
    /// How a key seen at several data sources merges.
    pub agg: AggMode,
    /// Only keys this expression matches.
    pub key_filter: Option<&'a regex::Regex>,
}

impl<'a> FlowQuery<'a> {
    /// Definition `name` at `agents` with sFlow-RT's defaults: [`DEFAULT_MAX_FLOWS`], no
    /// minimum, `max` aggregation, no key filter.
    #[must_use]
    pub fn new(agents: &'a AgentSel, name: &'a str) -> FlowQuery<'a> {
        FlowQuery {
            agents,
            name,
            max_flows: DEFAULT_MAX_FLOWS,
            min_value: 0.0,
            agg: AggMode::Max,
            key_filter: None,
        }
    }
}

impl Engine {
    /// The active flows `q` selects (see [`FlowQuery`]).
    ///
    /// Cost: one pass over the selected tables without allocating per key, a partial selection
    /// of the `max_flows` largest, and full rows only for those.
    ///
    /// # Errors
    /// [`Error::NotFound`] when there is no such definition.
    pub fn active_flows(&self, now_ms: u64, q: &FlowQuery<'_>) -> Result<Vec<ActiveFlow>> {
        let FlowQuery {
            agents,
            name,
            max_flows,
            min_value,
            agg,
            key_filter,
        } = *q;
        let (fi, flow) = self.find_flow(name)?;
        let def = &flow.def;
        let role = match agg {
            AggMode::Edge => Some(PortRole::Edge),
            AggMode::Core => Some(PortRole::Core),
            AggMode::Max | AggMode::Sum => None,
        };
        let topology = &self.env.topology;
        let mut tables: Vec<(DataSource, &Table)> = self
            .tables(fi)
            .filter(|(ds, _)| agents.contains_ds(**ds))
            .filter(|(ds, _)| role.is_none_or(|r| topology.role(**ds) == Some(r)))
            .map(|(ds, t)| (*ds, t))
            .collect();
        // In data-source order, not the map's (seeded) order: a key as large in two data
        // sources reports the first, and sums add up in the same order on every run.
        tables.sort_unstable_by_key(|(ds, _)| *ds);
        let (t, main) = (def.t_secs, &def.value);
        // (value, key, data source, entry of that data source)
        let mut cands: Vec<(f64, &[u8], DataSource, &Entry)> = Vec::new();
        match tables.as_slice() {
            [(ds, table)] => {
                cands.reserve(table.entries.len());
                for (k, e) in &table.entries {
                    cands.push((e.value(now_ms, t, main), k, *ds, e));
                }
            }
            _ => {
                let n: usize = tables.iter().map(|(_, t)| t.entries.len()).sum();
                let mut merged: Map<&[u8], (f64, DataSource, &Entry)> = map();
                merged.reserve(n);
                for (ds, table) in &tables {
                    for (k, e) in &table.entries {
                        let v = e.value(now_ms, t, main);
                        merged
                            .entry(k)
                            .and_modify(|m| {
                                if agg.sums() {
                                    m.0 += v;
                                } else if v > m.0 {
                                    *m = (v, *ds, e);
                                }
                            })
                            .or_insert((v, *ds, e));
                    }
                }
                cands.extend(merged.into_iter().map(|(k, (v, ds, e))| (v, k, ds, e)));
            }
        }
        let mut text = String::new();
        cands.retain(|c| {
            c.0 >= min_value
                && c.0 > 0.0
                && key_filter.is_none_or(|re| {
                    text.clear();
                    flow_key::write_text(c.1, &def.fs, &mut text);
                    re.is_match(&text)
                })
        });
        // The `max_flows` largest by value, then the keys that tie with the smallest of them
        // (they compete by text): only those are made text.
        if cands.len() > max_flows && max_flows > 0 {
            cands.select_nth_unstable_by(max_flows - 1, |a, b| b.0.total_cmp(&a.0));
            if let Some(cut) = cands.get(max_flows - 1).map(|c| c.0) {
                cands.retain(|c| c.0.total_cmp(&cut).is_ge());
            }
        }
        let mut rows: Vec<(f64, String, &[u8], DataSource, &Entry)> = cands
            .into_iter()
            .map(|(v, k, ds, e)| (v, flow_key::text(k, &def.fs), k, ds, e))
            .collect();
        // Equal values in the order of the keys' texts.
        rows.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        rows.truncate(max_flows);
        Ok(rows
            .into_iter()
            .map(|(value, text, key, ds, e)| {
                let mut a = active(
                    Row {
                        key: text,
                        value,
                        ds,
                        entry: e,
                    },
                    now_ms,
                    def,
                );
                if agg.sums() && tables.len() > 1 {
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
    /// [`Limits::idle_factor`](crate::Limits::idle_factor) 0 so none expires). Only for rate values (`bytes`, `frames`,
    /// numeric keys), and only with [`Limits::keep_totals`](crate::Limits::keep_totals): others
    /// are refused.
    pub fn flow_totals(&self, agents: &AgentSel, name: &str) -> Result<Vec<(String, f64)>> {
        let (fi, flow) = self.find_flow(name)?;
        if !self.limits.keep_totals {
            return Err(Error::invalid(
                "flow",
                "totals",
                "totals are not kept (Limits::keep_totals)".to_string(),
            ));
        }
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
        let mut sums: Map<&[u8], f64> = map();
        for (ds, t) in self.tables(fi) {
            if agents.contains_ds(*ds) {
                for (k, e) in &t.entries {
                    *sums.entry(k).or_default() += e.total().unwrap_or(0.0);
                }
            }
        }
        let fs = &flow.def.fs;
        let mut v: Vec<(String, f64)> = sums
            .into_iter()
            .map(|(k, v)| (flow_key::text(k, fs), v))
            .collect();
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
        let (fi, flow) = self.find_flow(name)?;
        let def = &flow.def;
        let ds = DataSource {
            agent,
            id: data_source,
        };
        let mut out: Vec<ActiveFlow> = self
            .table(fi, ds)
            .map(|t| {
                t.entries
                    .iter()
                    .map(|(k, e)| {
                        let v = e.value(now_ms, def.t_secs, &def.value);
                        active(
                            Row {
                                key: flow_key::text(k, &def.fs),
                                value: v,
                                ds,
                                entry: e,
                            },
                            now_ms,
                            def,
                        )
                    })
                    .filter(|a| a.value > 0.0)
                    .collect()
            })
            .unwrap_or_default();
        // Equal values in key order, not the table's (seeded) order.
        out.sort_by(|a, b| b.value.total_cmp(&a.value).then_with(|| a.key.cmp(&b.key)));
        out.truncate(def.n);
        Ok(out)
    }

    /// Definition `name` as a metric per data source, the way sFlow-RT's `metric()`/`dump()`
    /// show flows: one object per selected data source with `agent`, `dataSource`,
    /// `metricName`, `metricValue` (the sum of the definition's values over its keys there,
    /// e.g. bytes/s of all matching traffic) and `topKeys` (the `n` largest keys, each as
    /// [`ActiveFlow::to_json`]), largest `metricValue` first.
    pub fn flow_metric(&self, now_ms: u64, agents: &AgentSel, name: &str) -> Result<Vec<Json>> {
        let (fi, flow) = self.find_flow(name)?;
        let def = &flow.def;
        let mut rows: Vec<(f64, DataSource, Json)> = Vec::new();
        for (ds, table) in self.tables(fi) {
            if !agents.contains_ds(*ds) {
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
                *ds,
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
        // Equal values in data-source order, not the map's (seeded) order.
        rows.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        Ok(rows.into_iter().map(|(_, _, j)| j).collect())
    }

    /// The data sources that currently hold keys of definition `name`.
    pub fn flow_data_sources(&self, name: &str) -> Result<Vec<DataSource>> {
        let (fi, _) = self.find_flow(name)?;
        let mut v: Vec<DataSource> = self.tables(fi).map(|(ds, _)| *ds).collect();
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
        let (fi, flow) = self.find_flow(name)?;
        let def = &flow.def;
        let stored = Stored::of(key, def);
        Ok(self
            .tables(fi)
            .filter(|(ds, _)| agents.contains_ds(**ds) && data_source.is_none_or(|id| id == ds.id))
            .filter_map(|(_, t)| stored.find(t))
            .map(|e| e.value(now_ms, def.t_secs, &def.value))
            .reduce(f64::max))
    }

    /// The selected data sources whose table of definition `name` holds `key`, with the key's
    /// smoothed value there, largest first (`/flowlocations`: where a flow was seen).
    pub fn flow_locations(
        &self,
        now_ms: u64,
        agents: &AgentSel,
        name: &str,
        key: &str,
    ) -> Result<Vec<(DataSource, f64)>> {
        let (fi, flow) = self.find_flow(name)?;
        let def = &flow.def;
        let stored = Stored::of(key, def);
        let mut v: Vec<(DataSource, f64)> = self
            .tables(fi)
            .filter(|(ds, _)| agents.contains_ds(**ds))
            .filter_map(|(ds, t)| Some((*ds, stored.find(t)?)))
            .map(|(ds, e)| (ds, e.value(now_ms, def.t_secs, &def.value)))
            .filter(|(_, v)| *v > 0.0)
            .collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok(v)
    }

    /// Splits `/flowvalue`'s and `flowValue()`'s name: a defined flow's name as is (`None`),
    /// else `<dataSource>.<flow>` (`2.1000.ddos`: data source `2.1000`, flow `ddos`). A name
    /// that is neither stays whole (and the query then finds no such flow).
    #[must_use]
    pub fn split_flow_name<'n>(&self, name: &'n str) -> (Option<u32>, &'n str) {
        if self.flow(name).is_some() {
            return (None, name);
        }
        match name.rsplit_once('.') {
            Some((ds, flow)) => match ds.parse::<DataSourceId>() {
                Ok(DataSourceId(id)) => (Some(id), flow),
                Err(_) => (None, name),
            },
            None => (None, name),
        }
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
    ///
    /// # Errors
    /// [`Error::NotFound`] when there is no such threshold.
    pub fn threshold_triggered(
        &self,
        name: &str,
        agent: IpAddr,
        data_source: u32,
        flow_key: Option<&str>,
    ) -> Result<bool> {
        self.thresholds.triggered(
            name,
            agent,
            data_source,
            flow_key,
            |metric| self.flow_def(metric),
            |ds| self.shards.get(self.route.of(ds)),
        )
    }

    /// Key names seen recently (every 64th sample is inspected) with ms since last seen
    /// (`/flowkeys/json`), sorted by name.
    pub fn flow_keys(&self, now_ms: u64) -> Vec<(String, u64)> {
        // Each shard inspects every 64th of its own samples; a key seen by several shards
        // counts as last seen by any.
        let mut seen: Map<(&'static str, u8), u64> = map();
        for s in &self.shards {
            super::shard::merge_seen(&mut seen, &s.seen_keys);
        }
        let mut v: Vec<(String, u64)> = seen
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

    /// Definition `name` and its index (its tables' in every shard).
    fn find_flow(&self, name: &str) -> Result<(usize, &Flow)> {
        self.flows
            .iter()
            .enumerate()
            .find(|(_, f)| f.def.name == name)
            .ok_or_else(|| Error::NotFound {
                what: "flow",
                name: name.to_string(),
            })
    }

    /// Every table of definition `fi` (by index), over all shards, in no particular order.
    fn tables(&self, fi: usize) -> impl Iterator<Item = (&DataSource, &Table)> {
        self.shards
            .iter()
            .filter_map(move |s| s.tables.get(fi))
            .flat_map(|t| t.iter())
    }

    /// The table of definition `fi` at data source `ds`, if it has keys.
    fn table(&self, fi: usize, ds: DataSource) -> Option<&Table> {
        self.shards.get(self.route.of(ds))?.tables.get(fi)?.get(&ds)
    }
}

/// A key given as text (`/flowvalue`, `/flowlocations`), to find in tables.
struct Stored<'k> {
    text: &'k str,
    fs: &'k str,
    /// Its stored form; `None` when the text cannot be split into the definition's keys
    /// (a component contains the separator): tables are then searched by text.
    stored: Option<Vec<u8>>,
}

impl<'k> Stored<'k> {
    fn of(text: &'k str, def: &'k FlowDef) -> Stored<'k> {
        Stored {
            text,
            fs: &def.fs,
            stored: flow_key::from_text(text, &def.fs, def.keys.len()),
        }
    }

    fn find<'t>(&self, t: &'t Table) -> Option<&'t Entry> {
        match &self.stored {
            Some(k) => t.entries.get(k.as_slice()),
            None => t
                .entries
                .iter()
                .find(|(k, _)| flow_key::text(k, self.fs) == self.text)
                .map(|(_, e)| e),
        }
    }
}

/// One key of a definition at one data source, with its value at query time: what an
/// [`ActiveFlow`] row is built from.
struct Row<'a> {
    /// The key's text.
    key: String,
    value: f64,
    ds: DataSource,
    entry: &'a Entry,
}

/// The answer row of `r` at `now_ms`: its value, `values[]`, effective sample count and 95%
/// confidence half-width as [`Entry`] computes them over the definition's time constant.
fn active(r: Row<'_>, now_ms: u64, def: &FlowDef) -> ActiveFlow {
    let (e, t) = (r.entry, def.t_secs);
    ActiveFlow {
        key: r.key,
        value: r.value,
        values: e.values(now_ms, t, &def.values),
        agent: r.ds.agent,
        data_source: r.ds.name().to_string(),
        samples: e.samples(now_ms, t),
        ci95: e.ci95(now_ms, t, &def.value),
    }
}
