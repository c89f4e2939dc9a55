//! sFlow forwarding endpoints: `/forwarding/json`, `/forwarding/{name}/json` (raw copies to
//! other collectors) and `/tenant/json`, `/tenant/{name}/json` (per-tenant slices); see
//! [`crate::run::forward`]. A PUT or DELETE is saved before its 204 (500 when it cannot be,
//! the change not applied).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;

use super::{json_ok, parse_body, Api, ApiError, ApiResult};
use crate::run::forward::spec::{TargetSpec, TenantSpec};
use crate::run::forward::{Forwarding, Refused};

impl From<Refused> for ApiError {
    fn from(r: Refused) -> ApiError {
        match r {
            Refused::Bad(m) => ApiError::bad(m),
            Refused::NotFound(m) => ApiError(StatusCode::NOT_FOUND, m),
            Refused::Unsaved(m) => ApiError(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("forwarding not saved, change not applied: {m}"),
            ),
        }
    }
}

fn forwarding(api: &Api) -> ApiResult<Arc<Forwarding>> {
    api.receive.forward.clone().ok_or_else(|| {
        ApiError(
            StatusCode::SERVICE_UNAVAILABLE,
            "forwarding is not running".into(),
        )
    })
}

/// Runs a change (a blocking save) off the async workers; 204 when done.
async fn change(
    api: &Api,
    f: impl FnOnce(&Forwarding) -> Result<(), Refused> + Send + 'static,
) -> ApiResult {
    let fw = forwarding(api)?;
    tokio::task::spawn_blocking(move || f(&fw))
        .await
        .map_err(|e| {
            ApiError(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the change did not finish: {e}"),
            )
        })??;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /forwarding/json`: `{name: {address, port, agents, datagrams, bytes, errors}}`.
pub(super) async fn targets(State(api): State<Api>) -> ApiResult {
    json_ok(forwarding(&api)?.targets_json(None).unwrap_or_default())
}

/// `GET /forwarding/{name}/json`; 404 when not set.
pub(super) async fn target_get(State(api): State<Api>, Path(name): Path<String>) -> ApiResult {
    forwarding(&api)?
        .targets_json(Some(&name))
        .map_or_else(|| Err(ApiError::not_found("forwarding", &name)), json_ok)
}

/// `PUT /forwarding/{name}/json` `{address, port=6343, agents=[]}`.
pub(super) async fn target_put(
    State(api): State<Api>,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult {
    let spec = TargetSpec::parse(&parse_body(&body)?).map_err(ApiError::bad)?;
    change(&api, move |f| f.set_target(&name, spec)).await
}

/// `DELETE /forwarding/{name}/json`; 404 when not set.
pub(super) async fn target_delete(State(api): State<Api>, Path(name): Path<String>) -> ApiResult {
    change(&api, move |f| f.clear_target(&name)).await
}

/// `GET /tenant/json`: `{name: {collectorAddress, collectorPort, filters, datagrams, bytes,
/// samples, errors}}`.
pub(super) async fn tenants(State(api): State<Api>) -> ApiResult {
    json_ok(forwarding(&api)?.tenants_json(None).unwrap_or_default())
}

/// `GET /tenant/{name}/json`; 404 when not set.
pub(super) async fn tenant_get(State(api): State<Api>, Path(name): Path<String>) -> ApiResult {
    forwarding(&api)?
        .tenants_json(Some(&name))
        .map_or_else(|| Err(ApiError::not_found("tenant", &name)), json_ok)
}

/// `PUT /tenant/{name}/json` `{collectorAddress, collectorPort=6343, filters:{ifindex, ifname,
/// cidr, mac}}`.
pub(super) async fn tenant_put(
    State(api): State<Api>,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult {
    let spec = TenantSpec::parse(&parse_body(&body)?).map_err(ApiError::bad)?;
    change(&api, move |f| f.set_tenant(&name, spec)).await
}

/// `DELETE /tenant/{name}/json`; 404 when not set.
pub(super) async fn tenant_delete(State(api): State<Api>, Path(name): Path<String>) -> ApiResult {
    change(&api, move |f| f.clear_tenant(&name)).await
}
