//! The JSON answers of sFlow-RT's metric queries, shared by the REST API (`/metric/…`,
//! `/dump/…`, `/table/…`) and the script API (`metric()`, `dump()`, `table()`), so both give
//! the same shapes.
//!
//! A flow's name is a metric too: each data source's `metricValue` is the sum of the flow's
//! values there. In `metric`, unprefixed or `max:` answers the data source with the largest
//! total (its `topKeys`, and `metricN`), `min:` the smallest, `any:` the most recently
//! updated; `sum:`, `avg:` and the other statistics ([`Stat`]) are computed over the selected
//! data sources' totals, without `agent`/`dataSource`, with `topKeys` merged over those data
//! sources (a key's values summed for `sum:`, averaged over the data sources for `avg:`; the
//! `n` largest kept; inferred: sFlow-RT does not document flows under these prefixes). In
//! `dump` one row per data source with `topKeys`. The data-source filter applies to counter
//! metrics only.

use serde_json::{Map, Value as Json};

use crate::counters::DsFilter;
use crate::summary::Stat;
use crate::{AgentSel, Engine, Result};

impl Engine {
    /// `/metric/{agent}/{m1,m2}/json`: one statistic per counter metric (`Statistic::to_json`),
    /// one statistic per flow name (any prefix, see the module doc), in the order asked.
    ///
    /// # Errors
    /// A malformed metric name (summary prefix) or an unknown flow given with `max:`.
    pub fn metric_json(
        &self,
        now_ms: u64,
        agents: &AgentSel,
        metrics: &[&str],
        filter: &DsFilter,
    ) -> Result<Vec<Json>> {
        let mut out = Vec::with_capacity(metrics.len());
        for m in metrics {
            let split = Stat::split(m).ok().filter(|(_, f)| self.flow(f).is_some());
            if let Some((stat, plain)) = split {
                let rows = self.flow_metric(now_ms, agents, plain)?;
                let n = self.flow_def(plain).map_or(0, |d| d.n);
                out.push(flow_statistic(m, stat, rows, n));
            } else {
                let s = self.counters().metric(now_ms, agents, &[m], filter)?;
                out.extend(s.iter().map(|s| s.to_json()));
            }
        }
        Ok(out)
    }

    /// `/dump/{agent}/{m1;m2}/json`: one row per data source and counter metric, then one row
    /// per data source of each flow name (with `topKeys`).
    ///
    /// # Errors
    /// Only from flow names that vanish mid-query (never in practice).
    pub fn dump_json(
        &self,
        now_ms: u64,
        agents: &AgentSel,
        metrics: &[&str],
        filter: &DsFilter,
    ) -> Result<Vec<Json>> {
        let (flows, counters): (Vec<&str>, Vec<&str>) = metrics
            .iter()
            .copied()
            .partition(|m| self.flow(m).is_some());
        let mut out: Vec<Json> = self
            .counters()
            .dump(now_ms, agents, &counters, filter)
            .iter()
            .map(|v| v.to_json())
            .collect();
        for f in flows {
            out.extend(self.flow_metric(now_ms, agents, f)?);
        }
        Ok(out)
    }

    /// `/table/{agent}/{metrics}/json`: rows of cells (`null` where a data source lacks the
    /// metric).
    ///
    /// # Errors
    /// A malformed `sort:` column.
    pub fn table_json(
        &self,
        now_ms: u64,
        agents: &AgentSel,
        metrics: &[&str],
        filter: &DsFilter,
    ) -> Result<Json> {
        let rows = self.counters().table(now_ms, agents, metrics, filter)?;
        Ok(Json::Array(
            rows.iter()
                .map(|r| {
                    Json::Array(
                        r.iter()
                            .map(|cell| cell.as_ref().map_or(Json::Null, |v| v.to_json()))
                            .collect(),
                    )
                })
                .collect(),
        ))
    }
}

/// Statistic `stat` of a flow metric over `rows` (as `Engine::flow_metric` gives them,
/// largest first) under the name `asked`, with `metricN`; merged `topKeys` keep `n` keys.
fn flow_statistic(asked: &str, stat: Stat, rows: Vec<Json>, n: usize) -> Json {
    let count = rows.len();
    let value = |r: &Json| r.get("metricValue").and_then(Json::as_f64).unwrap_or(0.0);
    let mut doc = if stat.picks() {
        let at = match stat {
            Stat::Min => count.saturating_sub(1),
            Stat::Any => rows
                .iter()
                .enumerate()
                .min_by_key(|(_, r)| r.get("lastUpdate").and_then(Json::as_u64).unwrap_or(0))
                .map_or(0, |(i, _)| i),
            _ => 0,
        };
        rows.into_iter()
            .nth(at)
            .unwrap_or_else(|| Json::Object(Map::new()))
    } else if count == 0 {
        Json::Object(Map::new())
    } else {
        let mut values: Vec<f64> = rows.iter().map(value).collect();
        let v = stat.compute(&mut values).unwrap_or(0.0);
        let last = rows
            .iter()
            .filter_map(|r| r.get("lastUpdate").and_then(Json::as_u64))
            .min()
            .unwrap_or(0);
        let mut o = Map::new();
        o.insert("metricValue".into(), Json::from(v));
        o.insert("lastUpdate".into(), Json::from(last));
        o.insert("lastUpdateMin".into(), Json::from(last));
        o.insert(
            "lastUpdateMax".into(),
            Json::from(
                rows.iter()
                    .filter_map(|r| r.get("lastUpdate").and_then(Json::as_u64))
                    .max()
                    .unwrap_or(0),
            ),
        );
        if matches!(stat, Stat::Sum | Stat::Avg) {
            o.insert("topKeys".into(), merged_top_keys(&rows, stat, n));
        }
        Json::Object(o)
    };
    if let Some(o) = doc.as_object_mut() {
        o.insert("metricName".into(), Json::from(asked));
        o.insert("metricN".into(), Json::from(count));
    }
    doc
}

/// The `topKeys` of `rows` merged by key: values summed (`Sum`) or averaged over the rows
/// (`Avg`), the `n` largest first, as `{key, value}`.
fn merged_top_keys(rows: &[Json], stat: Stat, n: usize) -> Json {
    let mut merged: Vec<(String, f64)> = Vec::new();
    for r in rows {
        let Some(keys) = r.get("topKeys").and_then(Json::as_array) else {
            continue;
        };
        for k in keys {
            let (Some(key), Some(v)) = (
                k.get("key").and_then(Json::as_str),
                k.get("value").and_then(Json::as_f64),
            ) else {
                continue;
            };
            match merged.iter_mut().find(|(m, _)| m == key) {
                Some(m) => m.1 += v,
                None => merged.push((key.to_string(), v)),
            }
        }
    }
    if stat == Stat::Avg && !rows.is_empty() {
        for m in &mut merged {
            m.1 /= rows.len() as f64;
        }
    }
    merged.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    merged.truncate(n.max(1));
    Json::Array(
        merged
            .into_iter()
            .map(|(key, value)| serde_json::json!({"key": key, "value": value}))
            .collect(),
    )
}
