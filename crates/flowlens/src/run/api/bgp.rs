//! sFlow-RT's BGP REST endpoints over the speaker of `--bgp` (`run/bgp.rs`):
//!
//! * `GET /bgp/json`: the neighbors, their state and counters (flowlens's own);
//! * `GET /bgp/routepusher/{router}/json`: the pushed prefixes;
//! * `GET|PUT|DELETE /bgp/routepusher/{router}/{address}/{bits}/json`: one route (body
//!   `{nexthop, nexthoplinklocal, aspath, origin, localpref, med, communities}`);
//! * `GET|PUT|DELETE /bgp/flowspec/{router}/json`: the flow specs (PUT and DELETE take one
//!   `{match, then}`);
//! * `GET /prometheus/bgp/txt`: the neighbors' state and counters as Prometheus gauges.
//!
//! 404 for an unknown router (or route), 400 for a bad body, 503 when `--bgp` is off.

use std::sync::atomic::AtomicU64;

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use flowlens_bgp::{FlowSpec, Prefix, Route};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use serde_json::{json, Value as Json};

use super::{json_ok, parse_body, Api, ApiError, ApiResult};
use crate::run::bgp::{self, router_arg, Bgp};

/// The BGP routes, merged into the API router.
pub(super) fn routes() -> Router<Api> {
    Router::new()
        .route("/bgp/json", get(status))
        .route("/bgp/routepusher/{router}/json", get(routes_list))
        .route(
            "/bgp/routepusher/{router}/{address}/{bits}/json",
            get(route_get).put(route_put).delete(route_delete),
        )
        .route(
            "/bgp/flowspec/{router}/json",
            get(flows_list).put(flow_put).delete(flow_delete),
        )
        .route("/prometheus/bgp/txt", get(prometheus))
}

fn speaker() -> ApiResult<&'static Bgp> {
    bgp::get().ok_or_else(|| {
        ApiError(
            StatusCode::SERVICE_UNAVAILABLE,
            "the BGP speaker is off (start flowlens run with --bgp ADDR:PORT)".into(),
        )
    })
}

fn router(s: &str) -> ApiResult<std::net::IpAddr> {
    router_arg(&Json::String(s.into())).map_err(ApiError::bad)
}

fn no_router(r: &str) -> ApiError {
    ApiError::not_found("BGP neighbor", r)
}

fn no_content() -> ApiResult {
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn status() -> ApiResult {
    json_ok(speaker()?.status())
}

async fn routes_list(Path(r): Path<String>) -> ApiResult {
    let bgp = speaker()?;
    let ip = router(&r)?;
    let s = bgp.lock();
    let n = s.get(&ip).ok_or_else(|| no_router(&r))?;
    let list: Vec<String> = n.routes().map(|r| r.prefix.to_string()).collect();
    json_ok(json!(list))
}

fn prefix(address: &str, bits: &str) -> ApiResult<Prefix> {
    format!("{address}/{bits}")
        .parse()
        .map_err(|e: flowlens_bgp::Error| ApiError::bad(e.to_string()))
}

async fn route_get(Path((r, address, bits)): Path<(String, String, String)>) -> ApiResult {
    let bgp = speaker()?;
    let ip = router(&r)?;
    let p = prefix(&address, &bits)?;
    let s = bgp.lock();
    let n = s.get(&ip).ok_or_else(|| no_router(&r))?;
    let route = n
        .routes()
        .find(|x| x.prefix == p)
        .ok_or_else(|| ApiError::not_found("route", &p.to_string()))?;
    json_ok(route.to_json())
}

async fn route_put(
    Path((r, address, bits)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult {
    let bgp = speaker()?;
    let ip = router(&r)?;
    let p = prefix(&address, &bits)?;
    let v = parse_body(&body)?;
    let o = v
        .as_object()
        .ok_or_else(|| ApiError::bad("route must be an object"))?;
    let route = Route::from_json(o, Some(p)).map_err(|e| ApiError::bad(e.to_string()))?;
    if bgp.lock().get(&ip).is_none() {
        return Err(no_router(&r));
    }
    match bgp.add_route(ip, route) {
        Ok(true) => no_content(),
        Ok(false) => Err(ApiError(
            StatusCode::INSUFFICIENT_STORAGE,
            "route table full".into(),
        )),
        Err(e) => Err(ApiError::bad(e)),
    }
}

async fn route_delete(Path((r, address, bits)): Path<(String, String, String)>) -> ApiResult {
    let bgp = speaker()?;
    let ip = router(&r)?;
    let p = prefix(&address, &bits)?;
    if bgp.remove_route(ip, &p) {
        no_content()
    } else {
        Err(ApiError::not_found("route", &p.to_string()))
    }
}

async fn flows_list(Path(r): Path<String>) -> ApiResult {
    let bgp = speaker()?;
    let ip = router(&r)?;
    let s = bgp.lock();
    let n = s.get(&ip).ok_or_else(|| no_router(&r))?;
    let list: Vec<Json> = n.flows().map(FlowSpec::to_json).collect();
    json_ok(json!(list))
}

fn flow_body(body: &Bytes) -> ApiResult<FlowSpec> {
    FlowSpec::from_json(&parse_body(body)?).map_err(|e| ApiError::bad(e.to_string()))
}

async fn flow_put(Path(r): Path<String>, body: Bytes) -> ApiResult {
    let bgp = speaker()?;
    let ip = router(&r)?;
    let f = flow_body(&body)?;
    if bgp.lock().get(&ip).is_none() {
        return Err(no_router(&r));
    }
    match bgp.add_flow(ip, f) {
        Ok(true) => no_content(),
        Ok(false) => Err(ApiError(
            StatusCode::INSUFFICIENT_STORAGE,
            "flow table full".into(),
        )),
        Err(e) => Err(ApiError::bad(e)),
    }
}

async fn flow_delete(Path(r): Path<String>, body: Bytes) -> ApiResult {
    let bgp = speaker()?;
    let ip = router(&r)?;
    let f = flow_body(&body)?;
    if bgp.remove_flow(ip, &f) {
        no_content()
    } else {
        Err(ApiError::not_found("flowspec on", &r))
    }
}

type Gauges = Family<Vec<(String, String)>, Gauge<f64, AtomicU64>>;

/// `GET /prometheus/bgp/txt`: `flowlens_bgp_*{peer}` gauges.
async fn prometheus() -> ApiResult {
    let doc = speaker()?.status();
    let items: [(&str, &str, &str); 11] = [
        ("established", "1 when the session is Established", "state"),
        ("uptime_seconds", "seconds since Established", "uptime"),
        ("routes", "routes pushed", "routes"),
        ("flows", "flow specs pushed", "flows"),
        ("messages_in", "messages received", "messagesIn"),
        ("messages_out", "messages sent", "messagesOut"),
        ("updates_out", "UPDATE messages sent", "updatesOut"),
        (
            "notifications_in",
            "NOTIFICATIONs received",
            "notificationsIn",
        ),
        (
            "notifications_out",
            "NOTIFICATIONs sent",
            "notificationsOut",
        ),
        (
            "errors",
            "malformed or unexpected messages from the peer",
            "errors",
        ),
        (
            "established_total",
            "times the session came up",
            "established",
        ),
    ];
    let mut registry = Registry::with_prefix("flowlens_bgp");
    let empty = Vec::new();
    let neighbors = doc
        .get("neighbors")
        .and_then(Json::as_array)
        .unwrap_or(&empty);
    for (name, help, key) in items {
        let family = Gauges::default();
        for n in neighbors {
            let field = |k: &str| n.get(k).unwrap_or(&Json::Null);
            let labels = vec![(
                "peer".to_string(),
                field("peer").as_str().unwrap_or("").to_string(),
            )];
            let v = match key {
                "state" => f64::from(u8::from(field("state") == "Established")),
                "uptime" => field("uptime").as_f64().unwrap_or(0.0) / 1000.0,
                k => field(k).as_f64().unwrap_or(0.0),
            };
            family.get_or_create(&labels).set(v);
        }
        registry.register(name, help, family);
    }
    let mut out = String::new();
    let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
    Ok((
        [(header::CONTENT_TYPE, crate::run::prometheus::CONTENT_TYPE)],
        out,
    )
        .into_response())
}
