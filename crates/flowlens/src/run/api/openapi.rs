//! `/api-docs`: an OpenAPI 3.0 description of the REST API, generated from the table below
//! (`run_api.rs` checks that every path and method it lists is served).

use serde_json::{json, Map, Value as Json};

/// One path: methods, summary, query parameters (name, description).
struct Endpoint {
    path: &'static str,
    methods: &'static [&'static str],
    summary: &'static str,
    query: &'static [(&'static str, &'static str)],
}

/// Query parameters of the data-source filtered metric queries.
const DS_FILTER: &[(&str, &str)] = &[(
    "<attribute>",
    "data-source filter: any metric name, e.g. os_name=linux (repeat for alternatives, * wildcard)",
)];

const ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        path: "/version",
        methods: &["get"],
        summary: "software version (text)",
        query: &[],
    },
    Endpoint {
        path: "/analyzer/json",
        methods: &["get"],
        summary: "collector statistics: datagrams, drops, engine counters",
        query: &[],
    },
    Endpoint {
        path: "/agents/json",
        methods: &["get"],
        summary: "per-agent sFlow statistics",
        query: &[("agent", "only these agents (repeatable)")],
    },
    Endpoint {
        path: "/flowkeys/json",
        methods: &["get"],
        summary: "flow keys seen recently, ms since last seen",
        query: &[],
    },
    Endpoint {
        path: "/flow/json",
        methods: &["get"],
        summary: "all flow definitions",
        query: &[],
    },
    Endpoint {
        path: "/flow/{name}/json",
        methods: &["get", "put", "delete"],
        summary: "one flow definition (PUT body: JSON or JavaScript object)",
        query: &[],
    },
    Endpoint {
        path: "/activeflows/{agent}/{name}/json",
        methods: &["get"],
        summary: "largest active flows",
        query: &[
            ("maxFlows", "rows (default 100)"),
            ("minValue", "smallest value"),
            ("aggMode", "max (default), sum, edge or core (edge/core: the topology's edge or core ports only)"),
            ("filter", "regular expression the joined key must match"),
        ],
    },
    Endpoint {
        path: "/flowvalue/{agent}/{name}/json",
        methods: &["get"],
        summary: "one key's value; name may be <dataSource>.<flow>",
        query: &[("key", "the joined key values (required)")],
    },
    Endpoint {
        path: "/flowlocations/{agent}/{name}/json",
        methods: &["get"],
        summary: "data sources where a flow key is active: [{agent, dataSource, value}]",
        query: &[("key", "the flow key (required)")],
    },
    Endpoint {
        path: "/flows/json",
        methods: &["get"],
        summary: "logged flow records, newest first (long-poll)",
        query: &[
            ("flowID", "only after this id"),
            ("timeout", "seconds to wait for one"),
            ("maxFlows", "records (default 100)"),
            ("name", "one definition"),
        ],
    },
    Endpoint {
        path: "/events/json",
        methods: &["get"],
        summary: "threshold events, newest first (long-poll)",
        query: &[
            ("eventID", "only after this id"),
            ("timeout", "seconds to wait for one"),
            ("maxEvents", "events (default 100)"),
            ("thresholdID", "only these thresholds (repeatable)"),
        ],
    },
    Endpoint {
        path: "/group/json",
        methods: &["get", "put"],
        summary: "all group sets; PUT: the legacy one-argument groups",
        query: &[],
    },
    Endpoint {
        path: "/group/{name}/json",
        methods: &["get", "put", "delete"],
        summary: "one CIDR group set {label:[cidr]}",
        query: &[],
    },
    Endpoint {
        path: "/map/json",
        methods: &["get"],
        summary: "all value maps",
        query: &[],
    },
    Endpoint {
        path: "/map/{name}/json",
        methods: &["get", "put", "delete"],
        summary: "one value map {label:[value]}",
        query: &[],
    },
    Endpoint {
        path: "/threshold/json",
        methods: &["get"],
        summary: "all thresholds",
        query: &[],
    },
    Endpoint {
        path: "/threshold/{name}/json",
        methods: &["get", "put", "delete"],
        summary: "one threshold {metric, value, byFlow, timeout, filter}",
        query: &[],
    },
    Endpoint {
        path: "/topology/json",
        methods: &["get", "put"],
        summary: "network topology {nodes:{name:{agent,ports:{port:{ifindex}}}}, links:{name:{node1,port1,node2,port2}}}",
        query: &[],
    },
    Endpoint {
        path: "/forwarding/json",
        methods: &["get"],
        summary: "sFlow forwarding targets with their counters (datagrams, bytes, errors)",
        query: &[],
    },
    Endpoint {
        path: "/forwarding/{name}/json",
        methods: &["get", "put", "delete"],
        summary: "copy sFlow datagrams unchanged to a collector (PUT body {address, port=6343, agents=[]})",
        query: &[],
    },
    Endpoint {
        path: "/tenant/json",
        methods: &["get"],
        summary: "tenants with their counters (datagrams, bytes, samples, errors)",
        query: &[],
    },
    Endpoint {
        path: "/tenant/{name}/json",
        methods: &["get", "put", "delete"],
        summary: "send a tenant's samples, re-encoded as sFlow, to its collector (PUT body {collectorAddress, collectorPort=6343, filters:{ifindex:[\"AGENT_IFINDEX\"], ifname:[\"AGENT_IFNAME\"], cidr, mac}})",
        query: &[],
    },
    Endpoint {
        path: "/metrics/json",
        methods: &["get"],
        summary: "counter metric names, ms since last update",
        query: &[],
    },
    Endpoint {
        path: "/metric/{agent}/json",
        methods: &["get"],
        summary: "every metric of one agent",
        query: &[],
    },
    Endpoint {
        path: "/metric/{agent}/{metrics}/json",
        methods: &["get"],
        summary: "summary statistics (max: min: sum: avg: ...)",
        query: DS_FILTER,
    },
    Endpoint {
        path: "/dump/{agent}/{metrics}/json",
        methods: &["get"],
        summary: "raw values per data source",
        query: DS_FILTER,
    },
    Endpoint {
        path: "/table/{agent}/{metrics}/json",
        methods: &["get"],
        summary: "a row per data source (sort:<m>:<n>, null:<m>)",
        query: DS_FILTER,
    },
    Endpoint {
        path: "/prometheus/analyzer/txt",
        methods: &["get"],
        summary: "collector statistics, Prometheus text",
        query: &[],
    },
    Endpoint {
        path: "/prometheus/metrics/{agent}/{metrics}/txt",
        methods: &["get"],
        summary: "counter metrics, Prometheus text",
        query: DS_FILTER,
    },
    Endpoint {
        path: "/scripts/json",
        methods: &["get"],
        summary: "scripts: alive, error, cpuMs, memoryBytes, events/flows received and lost, actions sent/errors",
        query: &[],
    },
    Endpoint {
        path: "/script/{name}/json",
        methods: &["get", "put", "post", "delete"],
        summary: "a script's HTTP handler (name: its file, e.g. ddos.js); query and body passed as req.query, req.body",
        query: &[],
    },
    Endpoint {
        path: "/app/{name}/scripts/{name}/json",
        methods: &["get", "put", "post", "delete"],
        summary: "an app script's HTTP handler: /app/<app>/scripts/<file>/<path…>/json, req.path = the segments",
        query: &[],
    },
    Endpoint {
        path: "/app/{name}/html/",
        methods: &["get"],
        summary: "an app's static files (<apps dir>/<app>/html/)",
        query: &[],
    },
    Endpoint {
        path: "/apps/json",
        methods: &["get"],
        summary: "running apps {app:{entry, scripts}}",
        query: &[],
    },
    Endpoint {
        path: "/app/{app}/status",
        methods: &["get"],
        summary: "an app's health: OK, or UNAVAILABLE (503) when one of its scripts stopped",
        query: &[],
    },
    Endpoint {
        path: "/status",
        methods: &["get"],
        summary: "all apps' health: OK, or UNAVAILABLE (503)",
        query: &[],
    },
    Endpoint {
        path: "/",
        methods: &["get"],
        summary: "the web UI (HTML; its files under /ui/)",
        query: &[],
    },
    Endpoint {
        path: "/ui/config.json",
        methods: &["get"],
        summary: "what the web UI may do: writes open, read-only or token; version",
        query: &[],
    },
    Endpoint {
        path: "/inc/stripchart.js",
        methods: &["get"],
        summary: "one of sFlow-RT's shared page assets under /inc/ that app pages load (jQuery, jQuery UI, DataTables, Bootstrap, the stripchart widgets; see the README)",
        query: &[],
    },
    Endpoint {
        path: "/api-docs",
        methods: &["get"],
        summary: "this document",
        query: &[],
    },
];

/// The methods of the endpoint whose path template matches `path` (`{name}` matches one
/// segment, `{*rest}` the rest), upper case, for 405 answers.
pub(super) fn methods_for(path: &str) -> Option<Vec<String>> {
    let segs: Vec<&str> = path.split('/').collect();
    ENDPOINTS.iter().find_map(|e| {
        let tpl: Vec<&str> = e.path.split('/').collect();
        let wild_tail = tpl.last().is_some_and(|t| t.starts_with("{*"));
        let fits = if wild_tail {
            segs.len() >= tpl.len()
        } else {
            segs.len() == tpl.len()
        };
        let same = fits
            && tpl
                .iter()
                .zip(&segs)
                .all(|(t, s)| (t.starts_with('{') && t.ends_with('}') && !s.is_empty()) || t == s);
        same.then(|| e.methods.iter().map(|m| m.to_ascii_uppercase()).collect())
    })
}

/// The OpenAPI document.
pub(super) fn document() -> Json {
    let mut paths = Map::new();
    for e in ENDPOINTS {
        let mut params: Vec<Json> = Vec::new();
        for seg in e.path.split('/') {
            if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                let description = match name {
                    "agent" => "ALL, TOPOLOGY, EDGE, CORE, or agent addresses separated by ; or ,",
                    "metrics" => "metric names separated by , (or ALL for dump)",
                    _ => "name",
                };
                params.push(json!({"name": name, "in": "path", "required": true,
                    "description": description, "schema": {"type": "string"}}));
            }
        }
        for (name, description) in e.query {
            params.push(json!({"name": name, "in": "query", "required": false,
                "description": description, "schema": {"type": "string"}}));
        }
        let mut item = Map::new();
        for m in e.methods {
            let mut op = json!({"summary": e.summary, "parameters": params});
            let responses = match *m {
                "get" => {
                    json!({"200": {"description": "OK"}, "400": {"description": "bad parameter"}, "404": {"description": "unknown name"}})
                }
                _ => {
                    json!({"204": {"description": "done, and saved"}, "400": {"description": "bad body"}, "401": {"description": "bearer token required"}, "403": {"description": "read-only mode"}, "404": {"description": "unknown name"}, "408": {"description": "body not received in time"}, "413": {"description": "body or definition over its size limit"}, "500": {"description": "could not be saved; the change was undone"}})
                }
            };
            if let Some(o) = op.as_object_mut() {
                o.insert("responses".into(), responses);
                if *m == "put" {
                    o.insert(
                        "requestBody".into(),
                        json!({"required": true, "content": {
                        "application/json": {"schema": {"type": "object"}}}}),
                    );
                }
            }
            item.insert((*m).to_string(), op);
        }
        paths.insert(e.path.to_string(), Json::Object(item));
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "flowlens REST API (sFlow-RT compatible)",
            "version": env!("CARGO_PKG_VERSION"),
        },
        "paths": paths,
    })
}
