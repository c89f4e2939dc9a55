//! Prometheus exposition of `flowlens run` (sFlow-RT's `/prometheus/analyzer/txt` and
//! `/prometheus/metrics/{agent}/{metrics}/txt`), encoded with the `prometheus-client` crate
//! in the OpenMetrics text format.
//!
//! Every value is a gauge named `sflow_<metric>` (sFlow-RT's default prefix, so dashboards
//! made for it work): counter metrics are already per-second rates. Labels: `agent` and
//! `datasource`, plus `ifname` for data sources that report one and `host` for agents that
//! report a `host_name`. Text metrics are left out. Names keep `[a-zA-Z0-9_]`; other
//! characters become `_`.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::atomic::AtomicU64;

use flowlens_engine::counters::MetricValue;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// Content type of the answers.
pub(crate) const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Label set of one series.
pub(crate) type Labels = Vec<(String, String)>;
/// One metric family.
type Gauges = Family<Labels, Gauge<f64, AtomicU64>>;

/// `[a-zA-Z0-9_]` only.
fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

fn encode(registry: &Registry) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut out, registry);
    out
}

/// One labelled gauge family of `/prometheus/analyzer/txt`: name (after the prefix), help,
/// and the value of each label set.
pub(crate) type LabelledFamily<'a> = (&'a str, &'a str, Vec<(Labels, f64)>);

/// `/prometheus/analyzer/txt`: `(name, help, value)` as `sflow_analyzer_<name>` gauges, then
/// the labelled families (per agent, per script) under the same prefix.
pub(crate) fn analyzer(items: &[(&str, &str, f64)], labelled: Vec<LabelledFamily<'_>>) -> String {
    let mut registry = Registry::with_prefix("sflow_analyzer");
    for (name, help, value) in items {
        let g = Gauge::<f64, AtomicU64>::default();
        g.set(*value);
        registry.register(sanitize(name), *help, g);
    }
    for (name, help, series) in labelled {
        let family = Gauges::default();
        for (labels, value) in series {
            family.get_or_create(&labels).set(value);
        }
        registry.register(sanitize(name), help, family);
    }
    encode(&registry)
}

/// `/prometheus/metrics/...`: numeric `values` as gauges; `names` gives the `ifname` of
/// `(agent, datasource)` and the `host_name` of agents (`(agent, "")`).
pub(crate) fn metrics(
    values: &[MetricValue],
    names: &BTreeMap<(IpAddr, String), String>,
) -> String {
    let mut families: BTreeMap<String, Gauges> = BTreeMap::new();
    for v in values {
        let Some(x) = v.metric_value.num() else {
            continue;
        };
        let mut labels: Labels = vec![
            ("agent".into(), v.agent.to_string()),
            ("datasource".into(), v.data_source.clone()),
        ];
        if let Some(host) = names.get(&(v.agent, String::new())) {
            labels.push(("host".into(), host.clone()));
        }
        if let Some(ifname) = names.get(&(v.agent, v.data_source.clone())) {
            labels.push(("ifname".into(), ifname.clone()));
        }
        families
            .entry(sanitize(&v.metric_name))
            .or_default()
            .get_or_create(&labels)
            .set(x);
    }
    let mut registry = Registry::with_prefix("sflow");
    for (name, family) in families {
        registry.register(
            name,
            "sFlow counter metric (per second for counters)",
            family,
        );
    }
    encode(&registry)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowlens_engine::counters::Metric;

    #[test]
    fn gauges_with_labels() {
        let agent: IpAddr = "10.0.0.200".parse().unwrap();
        let values = vec![
            MetricValue {
                agent,
                data_source: "2.1".into(),
                metric_name: "load_one".into(),
                metric_value: Metric::Num(0.1),
                last_update: 0,
            },
            MetricValue {
                agent,
                data_source: "3".into(),
                metric_name: "ifname".into(),
                metric_value: Metric::Text("eth0".into()),
                last_update: 0,
            },
        ];
        let mut names = BTreeMap::new();
        names.insert((agent, String::new()), "cl-leaf1".to_string());
        let text = metrics(&values, &names);
        assert!(
            text.contains(
                r#"sflow_load_one{agent="10.0.0.200",datasource="2.1",host="cl-leaf1"} 0.1"#
            ),
            "{text}"
        );
        assert!(!text.contains("ifname"), "{text}");
        let a = analyzer(
            &[("agents", "agents", 7.0)],
            vec![(
                "agent_datagrams_lost",
                "lost",
                vec![(vec![("agent".into(), "10.0.0.1".into())], 3.0)],
            )],
        );
        assert!(a.contains("sflow_analyzer_agents 7.0"), "{a}");
        assert!(
            a.contains(r#"sflow_analyzer_agent_datagrams_lost{agent="10.0.0.1"} 3.0"#),
            "{a}"
        );
    }
}
