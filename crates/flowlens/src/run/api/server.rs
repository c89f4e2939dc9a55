//! Server endpoints: `/version`, `/analyzer/json`, `/agents/json`, `/flowkeys/json`, and the
//! answer to unknown paths.

use std::net::IpAddr;

use axum::extract::{Query, State};
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value as Json};

use super::{json_ok, params, Api, ApiError, ApiResult};
use crate::run::analyzer;
use crate::run::core::Core;

pub(super) async fn version() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        env!("CARGO_PKG_VERSION"),
    )
        .into_response()
}

pub(super) async fn not_found(uri: Uri) -> ApiError {
    ApiError(
        StatusCode::NOT_FOUND,
        format!("no such resource: {}", uri.path()),
    )
}

pub(super) async fn analyzer(State(api): State<Api>) -> ApiResult {
    json_ok(analyzer_doc(&api).await?)
}

/// The `/analyzer/json` document ([`crate::run::analyzer`]).
pub(super) async fn analyzer_doc(api: &Api) -> ApiResult<Json> {
    let mut doc = api.core.call(analyzer::engine_part).await?;
    api.receive.add_to(&mut doc);
    Ok(doc)
}

pub(super) async fn agents(State(api): State<Api>, q: Query<Vec<(String, String)>>) -> ApiResult {
    let p = params(q);
    let wanted: Vec<IpAddr> = p.all("agent").filter_map(|a| a.parse().ok()).collect();
    let any = p.get("agent").is_none();
    let doc = api
        .core
        .call(move |c: &mut Core| {
            let now = c.now_ms();
            let a = c.engine().agents();
            let o: Map<String, Json> = a
                .list()
                .into_iter()
                .filter(|ip| any || wanted.contains(ip))
                .filter_map(|ip| Some((ip.to_string(), a.to_json(now, ip)?)))
                .collect();
            Json::Object(o)
        })
        .await?;
    json_ok(doc)
}

pub(super) async fn flow_keys(State(api): State<Api>) -> ApiResult {
    let keys = api
        .core
        .call(|c: &mut Core| c.engine().flow_keys(c.now_ms()))
        .await?;
    json_ok(Json::Object(
        keys.into_iter().map(|(k, ms)| (k, json!(ms))).collect(),
    ))
}
