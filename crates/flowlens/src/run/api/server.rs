//! Server endpoints: `/version`, `/analyzer/json`, `/agents/json`, `/flowkeys/json`, and the
//! answer to unknown paths.

use axum::extract::{Query as QueryString, State};
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use flowlens_engine::api::Query;
use serde_json::Value as Json;

use super::{answer, json_ok, params, Api, ApiError, ApiResult};
use crate::run::analyzer;

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

pub(super) async fn agents(
    State(api): State<Api>,
    q: QueryString<Vec<(String, String)>>,
) -> ApiResult {
    let p = params(q);
    let agents = p
        .get("agent")
        .is_some()
        .then(|| p.all("agent").filter_map(|a| a.parse().ok()).collect());
    json_ok(answer(&api, Query::Agents { agents }).await?)
}

pub(super) async fn flow_keys(State(api): State<Api>) -> ApiResult {
    json_ok(answer(&api, Query::FlowKeys).await?)
}
