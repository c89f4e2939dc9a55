//! The Grafana dashboard (`packaging/grafana/flowlens.json`) and the Prometheus scrape example
//! (`packaging/prometheus.yml`) against what `flowlens run` really exports: the server replays
//! a real Open vSwitch capture and runs a script, both scrape paths of the example are fetched,
//! and every metric name in every PromQL expression of the dashboard must have at least one
//! sample there (no panel on a metric that does not exist). The top-flows panel reads the
//! REST API through the Infinity data source: its URL must answer rows for a defined flow.

use std::collections::BTreeSet;

use serde_json::Value as Json;

use crate::common;
use crate::run_support::{temp_dir, Server};

/// The dashboard JSON.
fn dashboard() -> Json {
    let path = common::workspace_dir().join("packaging/grafana/flowlens.json");
    let text = std::fs::read_to_string(&path).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every panel, rows' nested panels included.
fn panels(dash: &Json) -> Vec<&Json> {
    let mut out = Vec::new();
    for p in dash["panels"].as_array().unwrap() {
        out.push(p);
        out.extend(p["panels"].as_array().into_iter().flatten());
    }
    out
}

/// The metric names a PromQL expression reads: identifiers that are not followed by `(`
/// (functions), not inside `{…}` or `[…]` (labels, ranges), not keywords, not `$…` variables,
/// and not label names after `by`/`without`.
fn promql_metrics(expr: &str) -> Vec<String> {
    const KEYWORDS: &[&str] = &[
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "and",
        "or",
        "unless",
        "offset",
        "bool",
        "inf",
        "nan",
        "sum",
        "min",
        "max",
        "avg",
        "count",
        "group",
        "stddev",
        "stdvar",
        "topk",
        "bottomk",
        "quantile",
        "count_values",
    ];
    let chars: Vec<char> = expr.chars().collect();
    let mut out = Vec::new();
    let (mut depth_brace, mut depth_bracket) = (0, 0);
    let mut after_grouping = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '{' => depth_brace += 1,
            '}' => depth_brace -= 1,
            '[' => depth_bracket += 1,
            ']' => depth_bracket -= 1,
            '"' => {
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    i += 1;
                }
            }
            _ => {}
        }
        let starts_ident = (c.is_ascii_alphabetic() || c == '_' || c == ':')
            && (i == 0 || !(chars[i - 1].is_ascii_alphanumeric() || chars[i - 1] == '$'));
        if starts_ident && depth_brace == 0 && depth_bracket == 0 {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || "_:".contains(chars[i])) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let next = chars[i..].iter().find(|c| !c.is_whitespace());
            if KEYWORDS.contains(&word.as_str()) {
                after_grouping = matches!(word.as_str(), "by" | "without" | "on" | "ignoring");
            } else if next == Some(&'(') {
                // A function or aggregation.
            } else if after_grouping {
                // Label names inside `by (…)`: skipped until the closing parenthesis.
            } else {
                out.push(word);
            }
            continue;
        }
        if c == ')' {
            after_grouping = false;
        }
        i += 1;
    }
    out
}

#[test]
fn promql_metric_extraction() {
    assert_eq!(
        promql_metrics(
            "rate(sflow_a{agent=\"x\"}[$__rate_interval]) / sum by (agent) (sflow_b) > 0"
        ),
        ["sflow_a", "sflow_b"]
    );
    assert_eq!(
        promql_metrics("topk(10, (sflow_ifinoctets + sflow_ifoutoctets) * 8)"),
        ["sflow_ifinoctets", "sflow_ifoutoctets"]
    );
}

/// Names with at least one sample line in an exposition text.
fn exported(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_string)
        .collect()
}

/// The `metrics_path`s of `packaging/prometheus.yml`.
fn scrape_paths() -> Vec<String> {
    let text =
        std::fs::read_to_string(common::workspace_dir().join("packaging/prometheus.yml")).unwrap();
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("metrics_path:"))
        .map(|p| p.trim().to_string())
        .collect()
}

#[test]
fn dashboard_reads_only_exported_metrics() {
    let dash = dashboard();
    let dir = temp_dir("dashboard");
    let script = dir.join("count.js");
    std::fs::write(&script, "setIntervalHandler(function() {}, 1);\n").unwrap();
    let capture = common::data_file("exporters/sflow-ovs-br0.pcap");
    let server = Server::start_with(
        &dir.join("state"),
        &[
            "--replay",
            capture.to_str().unwrap(),
            "--script",
            script.to_str().unwrap(),
        ],
    );
    // The flow the top-flows panel shows by default (its `flow` variable).
    let flow = dash["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "flow")
        .map(|v| v["query"].as_str().unwrap().to_string())
        .expect("a `flow` variable");
    let put = server.put_json(
        &format!("/flow/{flow}/json"),
        r#"{"keys":"ipsource,ipdestination","value":"bytes"}"#,
    );
    assert_eq!(put.status, 204, "{put:?}");
    // Counter samples arrive every 5 s of capture time: wait until interface counters and
    // the agent's datagrams are there.
    let paths = scrape_paths();
    assert_eq!(
        paths,
        [
            "/prometheus/analyzer/txt",
            "/prometheus/metrics/ALL/ALL/txt"
        ],
        "packaging/prometheus.yml"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let names = loop {
        let mut names = BTreeSet::new();
        for path in &paths {
            let reply = server.get(path);
            assert_eq!(reply.status, 200, "{path}: {reply:?}");
            names.extend(exported(&reply.body));
        }
        let ready = ["sflow_ifinoctets", "sflow_analyzer_agent_datagrams"]
            .iter()
            .all(|n| names.contains(*n));
        if ready || std::time::Instant::now() > deadline {
            break names;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };

    let mut checked = 0;
    let mut missing = Vec::new();
    for panel in panels(&dash) {
        for target in panel["targets"].as_array().into_iter().flatten() {
            if let Some(expr) = target["expr"].as_str() {
                let metrics = promql_metrics(expr);
                assert!(!metrics.is_empty(), "no metric in {expr:?}");
                for m in metrics {
                    checked += 1;
                    if !names.contains(&m) {
                        missing.push(format!("{} ({}): {m}", panel["title"], expr));
                    }
                }
            }
            if let Some(url) = target["url"].as_str() {
                let path = url.replace("${flow}", &flow);
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
                let rows = loop {
                    let rows = server.get_json(&format!("{path}?maxFlows=20"));
                    let n = rows.as_array().map_or(0, Vec::len);
                    if n > 0 || std::time::Instant::now() > deadline {
                        break rows;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(200));
                };
                let first = &rows[0];
                for col in target["columns"].as_array().unwrap() {
                    let sel = col["selector"].as_str().unwrap();
                    assert!(
                        first.get(sel).is_some(),
                        "{}: column {sel} not in {first}",
                        panel["title"]
                    );
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 30, "only {checked} references checked");
    assert!(
        missing.is_empty(),
        "dashboard panels on metrics flowlens does not export:\n{}\nexported: {names:?}",
        missing.join("\n")
    );
    server.stop();
}
