//! The JSON answers of sFlow-RT's metric queries, shared by the REST API (`/metric/…`,
//! `/dump/…`, `/table/…`) and the script API (`metric()`, `dump()`, `table()`), so both give
//! the same shapes.
//!
//! A flow's name is a metric too: in `metric` (unprefixed or `max:`) it is the data source with
//! the largest total, with its `topKeys` and `metricN`; in `dump` one row per data source with
//! `topKeys`. The data-source filter applies to counter metrics only.

use serde_json::{Map, Value as Json};

use crate::counters::DsFilter;
use crate::{AgentSel, Engine, Result};

impl Engine {
    /// `/metric/{agent}/{m1,m2}/json`: one statistic per counter metric (`Statistic::to_json`),
    /// one `max:` statistic per flow name, in the order asked.
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
            let plain = m.strip_prefix("max:").unwrap_or(m);
            if self.flow(plain).is_some() {
                let rows = self.flow_metric(now_ms, agents, plain)?;
                out.push(flow_statistic(m, rows));
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

/// The `max:` statistic of a flow metric: the largest of `rows` (as `Engine::flow_metric`
/// gives them, largest first) under the name `asked`, with `metricN`.
fn flow_statistic(asked: &str, rows: Vec<Json>) -> Json {
    let n = rows.len();
    let mut first = rows
        .into_iter()
        .next()
        .unwrap_or_else(|| Json::Object(Map::new()));
    if let Some(o) = first.as_object_mut() {
        o.insert("metricName".into(), Json::from(asked));
        o.insert("metricN".into(), Json::from(n));
    }
    first
}
