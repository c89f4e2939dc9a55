//! Counter-metric endpoints: `/metrics/json`, `/metric/…`, `/dump/…`, `/table/…`, and their
//! Prometheus forms (`/prometheus/…/txt`).
//!
//! A flow's name is a metric too in `/metric` (unprefixed or `max:`: the data source with the
//! largest total, with its `topKeys`) and `/dump` (one row per data source with `topKeys`), as
//! in sFlow-RT; the data-source filter applies to counter metrics only.

use axum::extract::{Path, Query as QueryString, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use flowlens_engine::api::Query;
use flowlens_engine::counters::DsFilter;
use flowlens_engine::AgentSel;
use serde_json::Value as Json;

use super::server::analyzer_doc;
use super::{answer, ds_filter, json_ok, metric_list, one_agent, params, Api, ApiError, ApiResult};
use crate::run::core::Core;
use crate::run::prometheus;

pub(super) async fn metric_names(State(api): State<Api>) -> ApiResult {
    json_ok(answer(&api, Query::MetricNames).await?)
}

/// `/metric/{agent}/json`: `{"<dataSource>.<metric>": value}` of one agent.
pub(super) async fn agent_metrics(State(api): State<Api>, Path(agent): Path<String>) -> ApiResult {
    let ip = one_agent(&agent)?;
    match answer(&api, Query::AgentMetrics { agent: ip }).await? {
        Json::Null => Err(ApiError::not_found("agent", &agent)),
        doc => json_ok(doc),
    }
}

pub(super) async fn metric(
    State(api): State<Api>,
    Path((agent, metrics)): Path<(String, String)>,
    q: QueryString<Vec<(String, String)>>,
) -> ApiResult {
    let (agents, metrics, filter) = metric_args(&agent, &metrics, q)?;
    let q = Query::Metric {
        agents,
        metrics,
        filter,
    };
    json_ok(answer(&api, q).await?)
}

pub(super) async fn dump(
    State(api): State<Api>,
    Path((agent, metrics)): Path<(String, String)>,
    q: QueryString<Vec<(String, String)>>,
) -> ApiResult {
    let (agents, metrics, filter) = metric_args(&agent, &metrics, q)?;
    let q = Query::Dump {
        agents,
        metrics,
        filter,
    };
    json_ok(answer(&api, q).await?)
}

pub(super) async fn table(
    State(api): State<Api>,
    Path((agent, metrics)): Path<(String, String)>,
    q: QueryString<Vec<(String, String)>>,
) -> ApiResult {
    let (agents, metrics, filter) = metric_args(&agent, &metrics, q)?;
    let q = Query::Table {
        agents,
        metrics,
        filter,
    };
    json_ok(answer(&api, q).await?)
}

/// The agent selector, metric list and data-source filter of `/metric`, `/dump`, `/table`.
fn metric_args(
    agent: &str,
    metrics: &str,
    q: QueryString<Vec<(String, String)>>,
) -> Result<(AgentSel, Vec<String>, DsFilter), ApiError> {
    Ok((
        AgentSel::parse(agent)?,
        metric_list(metrics),
        ds_filter(&params(q)),
    ))
}

// ---- Prometheus ----------------------------------------------------------------------------

fn prometheus_ok(text: String) -> Response {
    ([(header::CONTENT_TYPE, prometheus::CONTENT_TYPE)], text).into_response()
}

pub(super) async fn prometheus_analyzer(State(api): State<Api>) -> ApiResult {
    let doc = analyzer_doc(&api).await?;
    let items: Vec<(&str, &str, f64)> = [
        ("agents", "sFlow agents", "sFlowAgents"),
        (
            "datagrams_received",
            "UDP datagrams received",
            "datagramsReceived",
        ),
        (
            "bytes_received",
            "UDP payload bytes received",
            "bytesReceived",
        ),
        (
            "datagrams_dropped",
            "datagrams dropped: engine queue full",
            "datagramsDropped",
        ),
        (
            "kernel_drops",
            "datagrams dropped by the kernel: socket buffer full",
            "kernelDrops",
        ),
        (
            "sflow_datagrams",
            "sFlow datagrams",
            "sFlowDatagramsReceived",
        ),
        (
            "netflow_datagrams",
            "NetFlow/IPFIX datagrams",
            "netflowDatagramsReceived",
        ),
        (
            "rejected_datagrams",
            "datagrams rejected as a whole",
            "rejectedDatagrams",
        ),
        ("flow_samples", "sFlow flow samples", "flowSamples"),
        ("counter_samples", "sFlow counter samples", "counterSamples"),
        ("netflow_records", "NetFlow/IPFIX records", "netflowRecords"),
        ("active_keys", "active flow keys", "activeKeys"),
        (
            "keys_evicted",
            "flow keys evicted from full tables",
            "keysEvicted",
        ),
        (
            "keys_refused",
            "new flow keys refused at the active-key cap",
            "keysRefused",
        ),
        (
            "agents_refused",
            "datagrams of sFlow agents not tracked (agent caps)",
            "sFlowAgentsRefused",
        ),
        (
            "agents_expired",
            "sFlow agents forgotten after being idle",
            "sFlowAgentsExpired",
        ),
        (
            "data_sources_refused",
            "samples of sFlow data sources not tracked (data-source caps)",
            "sFlowDataSourcesRefused",
        ),
        (
            "counter_data_sources_refused",
            "counter samples of data sources not kept (counter caps)",
            "counterDataSourcesRefused",
        ),
        (
            "netflow_templates_evicted",
            "NetFlow/IPFIX templates evicted (template caps)",
            "netflowTemplatesEvicted",
        ),
        (
            "netflow_templates_refused",
            "NetFlow/IPFIX templates refused as unusable",
            "netflowTemplatesRefused",
        ),
        (
            "netflow_data_expired",
            "NetFlow/IPFIX data sets dropped after waiting for their template",
            "netflowDataExpired",
        ),
        (
            "netflow_data_refused",
            "NetFlow/IPFIX data sets not held for a template (held-data caps)",
            "netflowDataRefused",
        ),
        (
            "netflow_data_evicted",
            "NetFlow/IPFIX held data sets dropped for another exporter's (fair shares)",
            "netflowDataEvicted",
        ),
        (
            "http_connections_closed_for_room",
            "idle HTTP connections closed at the connection cap",
            "httpConnectionsClosedForRoom",
        ),
        (
            "http_connections_refused",
            "HTTP connections refused at the cap, every connection busy",
            "httpConnectionsRefused",
        ),
        (
            "http_header_timeouts",
            "HTTP connections closed waiting for a request head",
            "httpHeaderTimeouts",
        ),
        (
            "http_body_timeouts",
            "HTTP request bodies not received in time (408)",
            "httpBodyTimeouts",
        ),
        ("events", "threshold events", "events"),
        (
            "packets_received",
            "packets received by the live packet sources (--pcap, --mirror)",
            "packetsReceived",
        ),
        (
            "packets_sampled",
            "packets the live packet sources took as samples",
            "packetsSampled",
        ),
        (
            "packets_dropped",
            "packet samples dropped: engine queue full",
            "packetsDropped",
        ),
        (
            "packet_kernel_drops",
            "packets the kernel dropped before a capture read them (libpcap)",
            "packetKernelDrops",
        ),
        (
            "packet_decode_errors",
            "mirrored packets that are not GRE/ERSPAN mirror copies",
            "packetDecodeErrors",
        ),
        (
            "clickhouse_rows_sent",
            "rows ClickHouse acknowledged (--clickhouse)",
            "clickhouseRowsSent",
        ),
        (
            "clickhouse_batches_retried",
            "batches sent to ClickHouse from the spool after failing",
            "clickhouseBatchesRetried",
        ),
        (
            "clickhouse_errors",
            "failed requests to ClickHouse",
            "clickhouseErrors",
        ),
        (
            "clickhouse_spooled_bytes",
            "bytes spooled on disk for ClickHouse",
            "clickhouseSpooledBytes",
        ),
        (
            "clickhouse_dropped_rows",
            "rows not exported: queue or spool full",
            "clickhouseDroppedRows",
        ),
        ("uptime_seconds", "seconds since start", "uptime"),
    ]
    .into_iter()
    // The export's gauges only with --clickhouse.
    .filter(|(_, _, key)| !key.starts_with("clickhouse") || doc.get(key).is_some())
    .map(|(name, help, key)| {
        let v = doc.get(key).and_then(Json::as_f64).unwrap_or(0.0);
        let v = if key == "uptime" { v / 1000.0 } else { v };
        (name, help, v)
    })
    .collect();
    let agents = answer(&api, Query::Agents { agents: None }).await?;
    let scripts = api
        .scripts
        .get()
        .map_or(Json::Array(Vec::new()), |s| s.status_json());
    let mut labelled = labelled_families(&agents, &scripts);
    labelled.extend(source_families(&doc));
    Ok(prometheus_ok(prometheus::analyzer(&items, labelled)))
}

/// The per-agent (`/agents/json`) and per-script (`/scripts/json`) gauges of
/// `/prometheus/analyzer/txt`, labelled `agent` and `script` (the script's file).
fn labelled_families<'a>(agents: &Json, scripts: &Json) -> Vec<prometheus::LabelledFamily<'a>> {
    const AGENT: [(&str, &str, &str); 5] = [
        (
            "agent_datagrams",
            "sFlow datagrams received from the agent",
            "sFlowDatagramsReceived",
        ),
        (
            "agent_datagrams_lost",
            "sFlow datagrams lost (sequence number gaps)",
            "sFlowDatagramsLost",
        ),
        (
            "agent_datagrams_out_of_order",
            "sFlow datagrams out of order",
            "sFlowDatagramsOutOfOrder",
        ),
        (
            "agent_flow_samples_lost",
            "flow samples lost (sample sequence gaps)",
            "sFlowFlowLostSamples",
        ),
        (
            "agent_restarts",
            "agent restarts (sequence numbers started again)",
            "sFlowAgentRestarts",
        ),
    ];
    const SCRIPT: [(&str, &str, &str); 4] = [
        (
            "script_alive",
            "1 while the script runs, 0 once it stopped",
            "alive",
        ),
        (
            "script_handler_errors",
            "script handler calls that threw",
            "handlerErrors",
        ),
        (
            "script_cpu_ms",
            "CPU time the script used, milliseconds",
            "cpuMs",
        ),
        (
            "script_memory_bytes",
            "script heap in use, bytes",
            "memoryBytes",
        ),
    ];
    let number = |v: Option<&Json>| match v {
        Some(Json::Bool(b)) => Some(f64::from(u8::from(*b))),
        Some(v) => v.as_f64(),
        None => None,
    };
    let agents: Vec<(&String, &Json)> = agents.as_object().into_iter().flatten().collect();
    let scripts: Vec<&Json> = scripts.as_array().into_iter().flatten().collect();
    let mut out = Vec::new();
    for (name, help, key) in AGENT {
        let series = agents
            .iter()
            .filter_map(|(agent, a)| {
                let labels = vec![("agent".to_string(), (*agent).clone())];
                Some((labels, number(a.get(key))?))
            })
            .collect();
        out.push((name, help, series));
    }
    for (name, help, key) in SCRIPT {
        let series = scripts
            .iter()
            .filter_map(|s| {
                let file = s.get("file")?.as_str()?.to_string();
                Some((vec![("script".to_string(), file)], number(s.get(key))?))
            })
            .collect();
        out.push((name, help, series));
    }
    out
}

/// The per-source gauges of the live packet sources (`packetSources` of `/analyzer/json`),
/// labelled `type` (`pcap`, `mirror`) and `source` (the interface or bound address).
fn source_families<'a>(doc: &Json) -> Vec<prometheus::LabelledFamily<'a>> {
    const SOURCE: [(&str, &str, &str); 5] = [
        (
            "source_packets_received",
            "packets the live packet source received",
            "packetsReceived",
        ),
        (
            "source_packets_sampled",
            "packets the live packet source took as samples",
            "packetsSampled",
        ),
        (
            "source_packets_dropped",
            "samples of the source dropped: engine queue full",
            "packetsDropped",
        ),
        (
            "source_kernel_drops",
            "packets the kernel dropped before the capture read them",
            "kernelDrops",
        ),
        (
            "source_decode_errors",
            "packets of the source that are not usable samples",
            "decodeErrors",
        ),
    ];
    let sources: Vec<&Json> = doc
        .get("packetSources")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .collect();
    SOURCE
        .iter()
        .map(|(name, help, key)| {
            let series = sources
                .iter()
                .filter_map(|s| {
                    let labels = vec![
                        ("type".to_string(), s.get("type")?.as_str()?.to_string()),
                        ("source".to_string(), s.get("name")?.as_str()?.to_string()),
                    ];
                    Some((labels, s.get(*key)?.as_f64()?))
                })
                .collect();
            (*name, *help, series)
        })
        .collect()
}

pub(super) async fn prometheus_metrics(
    State(api): State<Api>,
    Path((agent, metrics)): Path<(String, String)>,
    q: QueryString<Vec<(String, String)>>,
) -> ApiResult {
    let sel = AgentSel::parse(&agent)?;
    let filter = ds_filter(&params(q));
    let metrics = metric_list(&metrics);
    let (values, names) = api
        .core
        .call(move |c: &mut Core| {
            let now = c.now_ms();
            let m: Vec<&str> = metrics.iter().map(String::as_str).collect();
            let counters = c.engine().counters();
            let values = counters.dump(now, &sel, &m, &filter);
            let names = counters.dump(now, &sel, &["ifname", "host_name"], &DsFilter::default());
            (values, names)
        })
        .await?;
    let mut labels = std::collections::BTreeMap::new();
    for n in names {
        let Some(text) = n.metric_value.text() else {
            continue;
        };
        let ds = if n.metric_name == "host_name" {
            String::new()
        } else {
            n.data_source.clone()
        };
        labels.insert((n.agent, ds), text.to_string());
    }
    Ok(prometheus_ok(prometheus::metrics(&values, &labels)))
}
