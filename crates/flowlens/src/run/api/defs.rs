//! Definition endpoints besides flows: groups (`/group/…`, including the legacy one-argument
//! set), maps (`/map/…`) and thresholds (`/threshold/…`).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::Value as Json;

use super::{json_ok, parse_body, Api, ApiError, ApiResult};
use crate::run::core::Core;

pub(super) async fn groups_all(State(api): State<Api>) -> ApiResult {
    json_ok(
        api.core
            .call(|c: &mut Core| {
                let g = &c.engine.env().groups;
                Json::Object(
                    g.names()
                        .filter_map(|n| Some((n.to_string(), g.get(n)?.to_json())))
                        .collect(),
                )
            })
            .await?,
    )
}

pub(super) async fn groups_legacy_put(State(api): State<Api>, body: Bytes) -> ApiResult {
    let spec = parse_body(&body)?;
    api.core
        .call(move |c: &mut Core| c.write(|e| e.set_legacy_groups(&spec)))
        .await??;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(super) async fn group_get(State(api): State<Api>, Path(name): Path<String>) -> ApiResult {
    let n = name.clone();
    match api
        .core
        .call(move |c: &mut Core| c.engine.env().groups.get(&n).map(|g| g.to_json()))
        .await?
    {
        Some(g) => json_ok(g),
        None => Err(ApiError::not_found("group", &name)),
    }
}

pub(super) async fn group_put(
    State(api): State<Api>,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult {
    let spec = parse_body(&body)?;
    api.core
        .call(move |c: &mut Core| c.write(|e| e.set_groups(&name, &spec)))
        .await??;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(super) async fn group_delete(State(api): State<Api>, Path(name): Path<String>) -> ApiResult {
    let n = name.clone();
    let found = api
        .core
        .call(move |c: &mut Core| {
            c.write(|e| e.env_mut().groups.remove(&n).then_some(()).ok_or(()))
        })
        .await?
        .is_ok();
    if found {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::not_found("group", &name))
    }
}

pub(super) async fn maps_all(State(api): State<Api>) -> ApiResult {
    json_ok(
        api.core
            .call(|c: &mut Core| {
                let m = &c.engine.env().maps;
                Json::Object(
                    m.names()
                        .filter_map(|n| Some((n.to_string(), m.get(n)?.to_json())))
                        .collect(),
                )
            })
            .await?,
    )
}

pub(super) async fn map_get(State(api): State<Api>, Path(name): Path<String>) -> ApiResult {
    let n = name.clone();
    match api
        .core
        .call(move |c: &mut Core| c.engine.env().maps.get(&n).map(|m| m.to_json()))
        .await?
    {
        Some(m) => json_ok(m),
        None => Err(ApiError::not_found("map", &name)),
    }
}

pub(super) async fn map_put(
    State(api): State<Api>,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult {
    let spec = parse_body(&body)?;
    api.core
        .call(move |c: &mut Core| c.write(|e| e.set_map(&name, &spec)))
        .await??;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(super) async fn map_delete(State(api): State<Api>, Path(name): Path<String>) -> ApiResult {
    let n = name.clone();
    let found = api
        .core
        .call(move |c: &mut Core| c.write(|e| e.env_mut().maps.remove(&n).then_some(()).ok_or(())))
        .await?
        .is_ok();
    if found {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::not_found("map", &name))
    }
}

// ---- thresholds --------------------------------------------------------------------------

pub(super) async fn thresholds_all(State(api): State<Api>) -> ApiResult {
    json_ok(
        api.core
            .call(|c: &mut Core| c.engine.thresholds_json())
            .await?,
    )
}

pub(super) async fn threshold_get(State(api): State<Api>, Path(name): Path<String>) -> ApiResult {
    let n = name.clone();
    match api
        .core
        .call(move |c: &mut Core| c.engine.threshold(&n).cloned())
        .await?
    {
        Some(t) => json_ok(t),
        None => Err(ApiError::not_found("threshold", &name)),
    }
}

pub(super) async fn threshold_put(
    State(api): State<Api>,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult {
    let spec = parse_body(&body)?;
    api.core
        .call(move |c: &mut Core| c.write(|e| e.set_threshold(&name, &spec)))
        .await??;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(super) async fn threshold_delete(
    State(api): State<Api>,
    Path(name): Path<String>,
) -> ApiResult {
    let n = name.clone();
    let found = api
        .core
        .call(move |c: &mut Core| c.write(|e| e.clear_threshold(&n).then_some(()).ok_or(())))
        .await?
        .is_ok();
    if found {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::not_found("threshold", &name))
    }
}
