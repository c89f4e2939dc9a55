//! sFlow-RT's read API as typed requests with their JSON answers: one layer that the REST
//! handlers (`flowlens run`) and the script functions (`flowlens-script`) both call, so an
//! endpoint and its script twin (`/activeflows/…` and `activeFlows()`, `/metric/…` and
//! `metric()`, …) cannot drift apart. Each caller only parses its own arguments into a
//! [`Query`] and runs [`Query::answer`] on the engine; the shapes are sFlow-RT's
//! (`../shared/reference/sflow-rt-api.md`).
//!
//! Where REST and scripts differ, they differ in how they present a missing answer, not in
//! the answer: [`Query::answer`] returns JSON `null` for "nothing there" (no value for that
//! key, no such agent); REST turns it into 404, scripts into `null` or `{}`.

use std::net::IpAddr;

use serde_json::{json, Map, Value as Json};

use crate::counters::DsFilter;
use crate::{AgentSel, AggMode, Engine, FlowQuery, Result};

/// One read request of sFlow-RT's API (REST path and script function in each variant's doc).
#[derive(Clone, Debug)]
pub enum Query {
    /// `GET /activeflows/{agent}/{name}/json?maxFlows&minValue&aggMode&filter`,
    /// `activeFlows(agent, name, maxFlows, minValue, aggMode)`: an array of
    /// [`ActiveFlow::to_json`](crate::ActiveFlow::to_json).
    ActiveFlows {
        /// The agents whose data sources count.
        agents: AgentSel,
        /// The flow definition.
        name: String,
        /// At most this many rows.
        max_flows: usize,
        /// Rows with a smaller value are left out.
        min_value: f64,
        /// Merge of a key seen at several data sources.
        agg: AggMode,
        /// Only keys this regular expression matches (REST's `filter`).
        key_filter: Option<regex::Regex>,
    },
    /// `GET /flowvalue/{agent}/{name}/json?key=…`, `flowValue(agent, name, key)`: the
    /// smoothed value (a number), `null` when the key is not active; `name` is a flow or
    /// `<dataSource>.<flow>` ([`Engine::split_flow_name`]).
    FlowValue {
        /// The agents whose data sources count.
        agents: AgentSel,
        /// `flow` or `<dataSource>.<flow>`.
        name: String,
        /// The flow key, its parts joined by the definition's separator.
        key: String,
    },
    /// `GET /flowlocations/{agent}/{name}/json?key=…`: where a key of a flow was seen, an
    /// array of `{agent, dataSource, value}` (the key's smoothed value at that data source),
    /// largest first; `[]` when no data source holds it. The shape is inferred: sFlow-RT's
    /// description says only "list".
    FlowLocations {
        /// The agents whose data sources count.
        agents: AgentSel,
        /// The flow definition.
        name: String,
        /// The flow key, its parts joined by the definition's separator.
        key: String,
    },
    /// `GET /metric/{agent}/{metrics}/json`, `metric(agent, metrics, filter)`: an array of
    /// statistics ([`Engine::metric_json`]).
    Metric {
        /// The agents.
        agents: AgentSel,
        /// Metric names (counter metrics with summary prefixes, or flow names).
        metrics: Vec<String>,
        /// Data-source filter (counter metrics only).
        filter: DsFilter,
    },
    /// `GET /dump/{agent}/{metrics}/json`, `dump(…)`: an array of rows
    /// ([`Engine::dump_json`]).
    Dump {
        /// The agents.
        agents: AgentSel,
        /// Metric names.
        metrics: Vec<String>,
        /// Data-source filter.
        filter: DsFilter,
    },
    /// `GET /table/{agent}/{metrics}/json`, `table(…)`: rows of cells
    /// ([`Engine::table_json`]).
    Table {
        /// The agents.
        agents: AgentSel,
        /// Metric names (and `sort:` columns).
        metrics: Vec<String>,
        /// Data-source filter.
        filter: DsFilter,
    },
    /// `GET /metrics/json`, `metrics()`: `{name: ms since last seen}`.
    MetricNames,
    /// `GET /metric/{agent}/json`, `metrics(agent)`: `{"<dataSource>.<metric>": value}`;
    /// `null` for an agent never seen.
    AgentMetrics {
        /// The agent.
        agent: IpAddr,
    },
    /// `GET /agents/json?agent=…`, `agents(agents)`: `{address: agent object}`, every agent
    /// when `agents` is `None`.
    Agents {
        /// Only these agents.
        agents: Option<Vec<IpAddr>>,
    },
    /// `GET /flowkeys/json`, `flowKeys()`: `{key: ms since last seen}`.
    FlowKeys,
    /// `GET /flow/json`, `flows()`: `{name: definition}`.
    Flows,
    /// `GET /threshold/json`, `thresholds()`: `{name: threshold}`.
    Thresholds,
}

impl Query {
    /// The answer at `now_ms` (Unix ms), as sFlow-RT shapes it.
    ///
    /// # Errors
    /// [`crate::Error::NotFound`] for an unknown flow; a malformed metric name.
    pub fn answer(&self, engine: &Engine, now_ms: u64) -> Result<Json> {
        // `TOPOLOGY`, `EDGE`, `CORE` name the topology's agents and ports at this moment.
        let unresolved =
            |a: &AgentSel| matches!(a, AgentSel::Topology | AgentSel::Edge | AgentSel::Core);
        if !self.agents().is_some_and(unresolved) {
            return self.answer_resolved(engine, now_ms);
        }
        let mut q = self.clone();
        if let Some(agents) = q.agents_mut() {
            *agents = engine.resolve_agents(agents);
        }
        q.answer_resolved(engine, now_ms)
    }

    /// The agent selector of a query that has one.
    fn agents(&self) -> Option<&AgentSel> {
        match self {
            Query::ActiveFlows { agents, .. }
            | Query::FlowValue { agents, .. }
            | Query::FlowLocations { agents, .. }
            | Query::Metric { agents, .. }
            | Query::Dump { agents, .. }
            | Query::Table { agents, .. } => Some(agents),
            _ => None,
        }
    }

    fn agents_mut(&mut self) -> Option<&mut AgentSel> {
        match self {
            Query::ActiveFlows { agents, .. }
            | Query::FlowValue { agents, .. }
            | Query::FlowLocations { agents, .. }
            | Query::Metric { agents, .. }
            | Query::Dump { agents, .. }
            | Query::Table { agents, .. } => Some(agents),
            _ => None,
        }
    }

    fn answer_resolved(&self, engine: &Engine, now_ms: u64) -> Result<Json> {
        match self {
            Query::ActiveFlows {
                agents,
                name,
                max_flows,
                min_value,
                agg,
                key_filter,
            } => {
                let flows = engine.active_flows(
                    now_ms,
                    &FlowQuery {
                        agents,
                        name,
                        max_flows: *max_flows,
                        min_value: *min_value,
                        agg: *agg,
                        key_filter: key_filter.as_ref(),
                    },
                )?;
                Ok(Json::Array(flows.iter().map(|f| f.to_json()).collect()))
            }
            Query::FlowValue { agents, name, key } => {
                let (ds, flow) = engine.split_flow_name(name);
                Ok(engine
                    .flow_value(now_ms, agents, ds, flow, key)?
                    .map_or(Json::Null, Json::from))
            }
            Query::FlowLocations { agents, name, key } => Ok(Json::Array(
                engine
                    .flow_locations(now_ms, agents, name, key)?
                    .into_iter()
                    .map(|(ds, v)| {
                        json!({"agent": ds.agent.to_string(), "dataSource": ds.name().to_string(), "value": v})
                    })
                    .collect(),
            )),
            Query::Metric {
                agents,
                metrics,
                filter,
            } => engine
                .metric_json(now_ms, agents, &strs(metrics), filter)
                .map(Json::Array),
            Query::Dump {
                agents,
                metrics,
                filter,
            } => engine
                .dump_json(now_ms, agents, &strs(metrics), filter)
                .map(Json::Array),
            Query::Table {
                agents,
                metrics,
                filter,
            } => engine.table_json(now_ms, agents, &strs(metrics), filter),
            Query::MetricNames => Ok(ages(engine.counters().names(now_ms))),
            Query::AgentMetrics { agent } => Ok(engine
                .counters()
                .agent_metrics(now_ms, *agent)
                .map_or(Json::Null, |values| {
                    Json::Object(
                        values
                            .into_iter()
                            .map(|v| {
                                (
                                    format!("{}.{}", v.data_source, v.metric_name),
                                    v.metric_value.to_json(),
                                )
                            })
                            .collect(),
                    )
                })),
            Query::Agents { agents } => {
                let ag = engine.agents();
                let o: Map<String, Json> = ag
                    .list()
                    .into_iter()
                    .filter(|ip| agents.as_ref().is_none_or(|w| w.contains(ip)))
                    .filter_map(|ip| Some((ip.to_string(), ag.to_json(now_ms, ip)?)))
                    .collect();
                Ok(Json::Object(o))
            }
            Query::FlowKeys => Ok(ages(engine.flow_keys(now_ms))),
            Query::Flows => Ok(engine.flows_json()),
            Query::Thresholds => Ok(engine.thresholds_json()),
        }
    }
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// `{name: ms}` from name/age pairs.
fn ages(v: Vec<(String, u64)>) -> Json {
    Json::Object(v.into_iter().map(|(k, ms)| (k, json!(ms))).collect())
}
