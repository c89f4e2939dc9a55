//! Script functions answered by the flow engine, with the shapes of the matching REST
//! endpoints (sFlow-RT: `setFlow` = PUT `/flow/{name}/json`, `activeFlows` = GET
//! `/activeflows/…`, `metric` = GET `/metric/…`, and so on).

use std::net::IpAddr;

use flowlens_engine::counters::DsFilter;
use flowlens_engine::{AgentSel, AggMode, DataSourceId, FlowQuery, DEFAULT_MAX_FLOWS};
use serde_json::{json, Map, Value as Json};

use super::{json_text, Args, Ops};
use crate::{EngineJob, Result};

pub(super) fn call(ops: &mut Ops, a: Args<'_>) -> Result<Json> {
    let host = ops.host.clone();
    let run = move |job: EngineJob| host.engine(job);
    match a.function {
        "version" => Ok(Json::from(env!("CARGO_PKG_VERSION"))),
        "analyzer" => ops.host.analyzer(),
        "setFlow" => {
            let name = a.str(0, "name")?;
            let spec = a.get(1).clone();
            run(Box::new(move |e, _| {
                e.set_flow(&name, &spec).map(|()| Json::Null)
            }))
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
        "setGroups" => {
            // setGroups(groups): the legacy set (sourcegroup/destinationgroup);
            // setGroups(name, groups): a named set for group:<key>:<name>.
            if a.args.len() <= 1 || a.get(1).is_null() {
                let groups = a.get(0).clone();
                run(Box::new(move |e, _| {
                    e.set_legacy_groups(&groups).map(|()| Json::Null)
                }))
            } else {
                let name = a.str(0, "name")?;
                let groups = a.get(1).clone();
                run(Box::new(move |e, _| {
                    e.set_groups(&name, &groups).map(|()| Json::Null)
                }))
            }
        }
        "setMap" => {
            let name = a.str(0, "name")?;
            let map = a.get(1).clone();
            run(Box::new(move |e, _| {
                e.set_map(&name, &map).map(|()| Json::Null)
            }))
        }
        "activeFlows" => {
            let sel = agent_sel(&a, 0)?;
            let name = a.str(1, "flow name")?;
            let max = match a.opt_f64(2, "maxFlows")? {
                Some(n) if n >= 0.0 => n as usize,
                _ => DEFAULT_MAX_FLOWS,
            };
            let min = a.opt_f64(3, "minValue")?.unwrap_or(0.0);
            let agg = match a.opt_str(4, "aggMode")? {
                Some(m) => AggMode::parse(&m)?,
                None => AggMode::default(),
            };
            run(Box::new(move |e, now| {
                let flows = e.active_flows(
                    now,
                    &FlowQuery {
                        agents: &sel,
                        name: &name,
                        max_flows: max,
                        min_value: min,
                        agg,
                        key_filter: None,
                    },
                )?;
                Ok(Json::Array(flows.iter().map(|f| f.to_json()).collect()))
            }))
        }
        "flowValue" => {
            let sel = agent_sel(&a, 0)?;
            let name = a.str(1, "flow name")?;
            let key = a.str(2, "key")?;
            run(Box::new(move |e, now| {
                let (ds, flow) = e.split_flow_name(&name);
                let flow = flow.to_string();
                Ok(e.flow_value(now, &sel, ds, &flow, &key)?
                    .map_or(Json::Null, Json::from))
            }))
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
            let sel = agent_sel(&a, 0)?;
            let metrics = metric_names(&a, 1)?;
            let filter = ds_filter(&a, 2)?;
            let f = a.function.to_string();
            run(Box::new(move |e, now| {
                let m: Vec<&str> = metrics.iter().map(String::as_str).collect();
                match f.as_str() {
                    "metric" => e.metric_json(now, &sel, &m, &filter).map(Json::Array),
                    "dump" => e.dump_json(now, &sel, &m, &filter).map(Json::Array),
                    _ => e.table_json(now, &sel, &m, &filter),
                }
            }))
        }
        "metrics" => {
            let agent = a.opt_str(0, "agent")?;
            match agent {
                None => run(Box::new(|e, now| {
                    Ok(Json::Object(
                        e.counters()
                            .names(now)
                            .into_iter()
                            .map(|(k, ms)| (k, json!(ms)))
                            .collect(),
                    ))
                })),
                Some(agent) => {
                    let ip: IpAddr = agent
                        .trim()
                        .parse()
                        .map_err(|_| a.bad("agent must be an IP address"))?;
                    run(Box::new(move |e, now| {
                        let values = e.counters().agent_metrics(now, ip).unwrap_or_default();
                        Ok(Json::Object(
                            values
                                .into_iter()
                                .map(|v| {
                                    (
                                        format!("{}.{}", v.data_source, v.metric_name),
                                        v.metric_value.to_json(),
                                    )
                                })
                                .collect(),
                        ))
                    }))
                }
            }
        }
        "agents" => {
            let wanted: Option<Vec<IpAddr>> = a
                .names(0)
                .map(|v| v.iter().filter_map(|s| s.trim().parse().ok()).collect());
            run(Box::new(move |e, now| {
                let ag = e.agents();
                let o: Map<String, Json> = ag
                    .list()
                    .into_iter()
                    .filter(|ip| wanted.as_ref().is_none_or(|w| w.contains(ip)))
                    .filter_map(|ip| Some((ip.to_string(), ag.to_json(now, ip)?)))
                    .collect();
                Ok(Json::Object(o))
            }))
        }
        "flowKeys" => run(Box::new(|e, now| {
            Ok(Json::Object(
                e.flow_keys(now)
                    .into_iter()
                    .map(|(k, ms)| (k, json!(ms)))
                    .collect(),
            ))
        })),
        "flows" => run(Box::new(|e, _| Ok(e.flows_json()))),
        "thresholds" => run(Box::new(|e, _| Ok(e.thresholds_json()))),
        _ => Err(a.bad("not an engine function")),
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
