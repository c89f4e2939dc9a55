//! Script functions answered by the flow engine, with the shapes of the matching REST
//! endpoints (sFlow-RT: `setFlow` = PUT `/flow/{name}/json`, `activeFlows` = GET
//! `/activeflows/…`, `metric` = GET `/metric/…`, and so on).

use std::net::IpAddr;

use flowlens_engine::api::Query;
use flowlens_engine::counters::DsFilter;
use flowlens_engine::{AgentSel, AggMode, DataSourceId, DEFAULT_MAX_FLOWS};
use serde_json::{Map, Value as Json};

use super::{json_text, Args, Ops};
use crate::{EngineJob, Result};

pub(super) fn call(ops: &mut Ops, a: Args<'_>) -> Result<Json> {
    let host = ops.host.clone();
    let run = move |job: EngineJob| host.engine(job);
    let query = |q: Query| run(Box::new(move |e, now| q.answer(e, now)));
    match a.function {
        "version" => Ok(Json::from(env!("CARGO_PKG_VERSION"))),
        "analyzer" => ops.host.analyzer(),
        "setFlow" => {
            let name = a.str(0, "name")?;
            let spec = a.get(1).clone();
            // Keys flowlens never produces are logged as the script's warnings.
            let warnings = run(Box::new(move |e, _| {
                e.set_flow(&name, &spec)?;
                Ok(Json::from(
                    e.flow_warnings(&name)
                        .into_iter()
                        .map(|w| format!("setFlow('{name}'): {w}"))
                        .collect::<Vec<_>>(),
                ))
            }))?;
            for w in warnings
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Json::as_str)
            {
                ops.shared.log("warning", w);
                tracing::warn!(script = %ops.id, "script {}: {w}", ops.id);
            }
            Ok(Json::Null)
        }
        "clearFlow" => {
            let name = a.str(0, "name")?;
            run(Box::new(move |e, _| Ok(Json::Bool(e.clear_flow(&name)))))
        }
        "setThreshold" => {
            let name = a.str(0, "name")?;
            let spec = a.get(1).clone();
            run(Box::new(move |e, _| {
                e.set_threshold(&name, &spec).map(|()| Json::Null)
            }))
        }
        "clearThreshold" => {
            let name = a.str(0, "name")?;
            run(Box::new(move |e, _| {
                Ok(Json::Bool(e.clear_threshold(&name)))
            }))
        }
        // setGroups and setMap answer `true` on success: apps test the result
        // (`if(!setGroups(…)) …`); an invalid set throws.
        "setGroups" => {
            // setGroups(groups): the legacy set (sourcegroup/destinationgroup);
            // setGroups(name, groups): a named set for group:<key>:<name>.
            if a.args.len() <= 1 || a.get(1).is_null() {
                let groups = a.get(0).clone();
                run(Box::new(move |e, _| {
                    e.set_legacy_groups(&groups).map(|()| Json::Bool(true))
                }))
            } else {
                let name = a.str(0, "name")?;
                let groups = a.get(1).clone();
                run(Box::new(move |e, _| {
                    e.set_groups(&name, &groups).map(|()| Json::Bool(true))
                }))
            }
        }
        "setMap" => {
            let name = a.str(0, "name")?;
            let map = a.get(1).clone();
            run(Box::new(move |e, _| {
                e.set_map(&name, &map).map(|()| Json::Bool(true))
            }))
        }
        "datasourceInfo" => {
            // datasourceInfo(agent, ds): {samplingRate, effectiveSamplingRate, flowSamples,
            // counterSamples, effectivePollingInterval (seconds)}; null when unknown.
            let agent = ip_arg(&a, 0)?;
            let DataSourceId(ds) = a
                .str(1, "dataSource")?
                .trim()
                .parse::<DataSourceId>()
                .map_err(|e| a.bad(e.to_string()))?;
            run(Box::new(move |e, _| {
                Ok(e.agents().data_source(agent, ds).map_or(Json::Null, |i| {
                    serde_json::json!({
                        "samplingRate": i.sampling_rate,
                        "effectiveSamplingRate": i.effective_sampling_rate,
                        "flowSamples": i.flow_samples,
                        "counterSamples": i.counter_samples,
                        "effectivePollingInterval": i.effective_polling_interval_secs,
                    })
                }))
            }))
        }
        "activeFlows" => {
            let agents = agent_sel(&a, 0)?;
            let name = a.str(1, "flow name")?;
            let max_flows = match a.opt_f64(2, "maxFlows")? {
                Some(n) if n >= 0.0 => n as usize,
                _ => DEFAULT_MAX_FLOWS,
            };
            let min_value = a.opt_f64(3, "minValue")?.unwrap_or(0.0);
            let agg = match a.opt_str(4, "aggMode")? {
                Some(m) => AggMode::parse(&m)?,
                None => AggMode::default(),
            };
            query(Query::ActiveFlows {
                agents,
                name,
                max_flows,
                min_value,
                agg,
                key_filter: None,
            })
        }
        "flowValue" => {
            let agents = agent_sel(&a, 0)?;
            let name = a.str(1, "flow name")?;
            let key = a.str(2, "key")?;
            query(Query::FlowValue { agents, name, key })
        }
        "thresholdTriggered" => {
            let name = a.str(0, "thresholdID")?;
            let agent: IpAddr = a
                .str(1, "agent")?
                .trim()
                .parse()
                .map_err(|_| a.bad("agent must be an IP address"))?;
            let metric = a.str(2, "dataSource.metric")?;
            let key = a.opt_str(3, "flowKey")?;
            let DataSourceId(ds) = metric
                .rsplit_once('.')
                .and_then(|(ds, _)| ds.parse::<DataSourceId>().ok())
                .ok_or_else(|| a.bad("expected '<dataSource>.<metric>', e.g. '2.1000.ddos'"))?;
            run(Box::new(move |e, _| {
                Ok(Json::Bool(e.threshold_triggered(
                    &name,
                    agent,
                    ds,
                    key.as_deref(),
                )?))
            }))
        }
        "metric" | "dump" | "table" => {
            let agents = agent_sel(&a, 0)?;
            let metrics = metric_names(&a, 1)?;
            let filter = ds_filter(&a, 2)?;
            query(match a.function {
                "metric" => Query::Metric {
                    agents,
                    metrics,
                    filter,
                },
                "dump" => Query::Dump {
                    agents,
                    metrics,
                    filter,
                },
                _ => Query::Table {
                    agents,
                    metrics,
                    filter,
                },
            })
        }
        "metrics" => match a.opt_str(0, "agent")? {
            None => query(Query::MetricNames),
            Some(agent) => {
                let agent: IpAddr = agent
                    .trim()
                    .parse()
                    .map_err(|_| a.bad("agent must be an IP address"))?;
                // An agent never seen has no metrics: `{}` (REST answers 404).
                match query(Query::AgentMetrics { agent })? {
                    Json::Null => Ok(Json::Object(Map::new())),
                    doc => Ok(doc),
                }
            }
        },
        "agents" => {
            let agents: Option<Vec<IpAddr>> = a
                .names(0)
                .map(|v| v.iter().filter_map(|s| s.trim().parse().ok()).collect());
            query(Query::Agents { agents })
        }
        "flowKeys" => query(Query::FlowKeys),
        "flows" => query(Query::Flows),
        "thresholds" => query(Query::Thresholds),
        _ => Err(a.bad("not an engine function")),
    }
}

/// The `topology*` functions, `setTopology`, `getTopology` (sFlow-RT's Topology group),
/// answered from the engine's [`Topology`](flowlens_engine::Topology). Lookups of names that
/// are not there answer `null` (or an empty array for lists).
pub(super) fn topology(ops: &mut Ops, a: Args<'_>) -> Result<Json> {
    let host = ops.host.clone();
    let read = move |f: Box<dyn FnOnce(&flowlens_engine::Topology) -> Json + Send>| {
        host.engine(Box::new(move |e, _| Ok(f(&e.env().topology))))
    };
    let opt = |v: Option<Json>| v.unwrap_or(Json::Null);
    match a.function {
        "setTopology" => {
            let doc = a.get(0).clone();
            ops.host.engine(Box::new(move |e, _| {
                e.set_topology(&doc).map(|()| Json::Bool(true))
            }))
        }
        "getTopology" => read(Box::new(|t| t.to_json())),
        "topologyVersion" => read(Box::new(|t| Json::from(t.version()))),
        "topologyNodeNames" => read(Box::new(|t| Json::from(t.node_names()))),
        "topologyLinkNames" => read(Box::new(|t| Json::from(t.link_names()))),
        "topologyDiameter" => read(Box::new(|t| Json::from(t.diameter()))),
        "topologyNode" | "topologyLink" | "topologyNodeLinks" | "topologyAgentForNode" => {
            let name = a.str(0, "name")?;
            let f = a.function.to_string();
            read(Box::new(move |t| match f.as_str() {
                "topologyNode" => opt(t.node(&name)),
                "topologyLink" => opt(t.link(&name)),
                "topologyNodeLinks" => Json::from(t.node_links(&name)),
                _ => t
                    .agent_for_node(&name)
                    .map_or(Json::Null, |ip| Json::from(ip.to_string())),
            }))
        }
        "topologyNodesForAgent" => {
            let agent = ip_arg(&a, 0)?;
            let ifindex = ifindex_arg(&a, 1)?;
            read(Box::new(move |t| {
                Json::from(t.nodes_for_agent(agent, ifindex))
            }))
        }
        "topologyInterfaceToLink" | "topologyInterfaceToPort" => {
            let agent = ip_arg(&a, 0)?;
            let to_link = a.function == "topologyInterfaceToLink";
            // `internal`, `unknown`, `multiple`, `discard` data sources are no interface.
            let Some(ifindex) = ifindex_arg(&a, 1).ok().flatten() else {
                return Ok(Json::Null);
            };
            read(Box::new(move |t| {
                opt(if to_link {
                    t.interface_to_link(agent, ifindex)
                } else {
                    t.interface_to_port(agent, ifindex)
                })
            }))
        }
        "topologyShortestPath" => {
            let (from, to) = (a.str(0, "node1")?, a.str(1, "node2")?);
            read(Box::new(move |t| {
                t.shortest_path(&from, &to).map_or(Json::Null, Json::from)
            }))
        }
        "topologyMinimumSpanningTree" => read(Box::new(|t| Json::from(t.minimum_spanning_tree()))),
        "topologyLocateHostMac" => {
            let text = a.str(0, "mac")?;
            let mac = flowlens_engine::oui::parse_mac(&text)
                .ok_or_else(|| a.bad("mac (argument 1) must be a MAC address"))?;
            ops.host.engine(Box::new(move |e, now| {
                Ok(opt(e.env().topology.locate_mac(now, mac)))
            }))
        }
        "topologyLocatedHostMacs" => {
            let agent = match a.get(0) {
                Json::Null => None,
                _ => Some(ip_arg(&a, 0)?),
            };
            // A data source that is no interface (`internal`, `unknown`…) has no hosts.
            let ifindex = match a.get(1) {
                Json::Null => None,
                _ => match ifindex_arg(&a, 1) {
                    Ok(i) => i,
                    Err(_) => return Ok(Json::Array(Vec::new())),
                },
            };
            read(Box::new(move |t| {
                Json::from(t.located_macs(agent, ifindex))
            }))
        }
        "topologyLocateHostIP" | "topologyLocateHostIP6" => Err(a.bad(
            "not available in flowlens: hosts are located by MAC address only \
             (README: sFlow-RT functions and resources flowlens does not have)",
        )),
        _ => Err(a.bad(
            "not available in flowlens: sFlow-RT does not document its answer \
             (README: sFlow-RT functions and resources flowlens does not have)",
        )),
    }
}

/// Argument `i` as an agent address.
fn ip_arg(a: &Args<'_>, i: usize) -> Result<IpAddr> {
    a.str(i, "agent")?
        .trim()
        .parse()
        .map_err(|_| a.bad(format!("agent (argument {}) must be an IP address", i + 1)))
}

/// Argument `i` as an optional ifIndex (a number or digits; `null`/absent: `None`).
fn ifindex_arg(a: &Args<'_>, i: usize) -> Result<Option<u32>> {
    match a.get(i) {
        Json::Null => Ok(None),
        v => flowlens_engine::topology::ifindex_of(v)
            .map(Some)
            .ok_or_else(|| a.bad(format!("ifIndex (argument {}) must be an integer", i + 1))),
    }
}

/// Argument `i` as an agent selector (`ALL`, `TOPOLOGY`, an address, `a;b`).
fn agent_sel(a: &Args<'_>, i: usize) -> Result<AgentSel> {
    let text = a.opt_str(i, "agent")?.unwrap_or_else(|| "ALL".into());
    Ok(AgentSel::parse(&text)?)
}

/// Metric names: an array or a `,`/`;` separated string.
fn metric_names(a: &Args<'_>, i: usize) -> Result<Vec<String>> {
    let list: Vec<String> = match a.get(i) {
        Json::Array(v) => v.iter().filter_map(json_text).collect(),
        Json::String(s) => s
            .split([',', ';'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    };
    if list.is_empty() {
        return Err(a.bad("metric names (argument 2) must be a non-empty array or string"));
    }
    Ok(list)
}

/// A data-source filter object `{os_name:['linux'], ifspeed:'1000000000'}`.
fn ds_filter(a: &Args<'_>, i: usize) -> Result<DsFilter> {
    let mut f = DsFilter::default();
    match a.get(i) {
        Json::Null => {}
        Json::Object(o) => {
            for (k, v) in o {
                match v {
                    Json::Array(vals) => {
                        for v in vals.iter().filter_map(json_text) {
                            f.push(k, &v);
                        }
                    }
                    v => {
                        if let Some(v) = json_text(v) {
                            f.push(k, &v);
                        }
                    }
                }
            }
        }
        _ => return Err(a.bad("filter (argument 3) must be an object")),
    }
    Ok(f)
}
