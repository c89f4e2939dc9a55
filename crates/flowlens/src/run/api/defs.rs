//! Definition endpoints besides flows: groups (`/group/…`, including the legacy one-argument
//! set), maps (`/map/…`), thresholds (`/threshold/…`) and the topology (`/topology/json`).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use flowlens_engine::definition::MAX_DEFINITION_BYTES;
use flowlens_engine::Engine;
use serde_json::Value as Json;

use super::{json_ok, parse_body, Api, ApiError, ApiResult};
use crate::run::core::Core;
use crate::run::durable;

/// Runs a REST change of definitions durably: the change on the engine thread, the save (a
/// write and an fsync) off it on the blocking pool, so ingest never waits for the disk. The
/// answer comes once the save is done; when it fails, the change is undone in a second
/// engine-thread job, reported on standard error and counted in `/analyzer/json`
/// `stateWriteErrors` ([`durable::Refused::NotSaved`], answered 500).
pub(super) async fn durable<T, E>(
    api: &Api,
    change: impl FnOnce(&mut Engine) -> Result<T, E> + Send + 'static,
) -> ApiResult<Result<T, durable::Refused<E>>>
where
    T: Send + 'static,
    E: Send + 'static,
{
    let state = api.state.clone();
    let made = api
        .core
        .call(move |c: &mut Core| durable::change(c.engine_mut(), &state, change))
        .await?;
    let (out, unsaved) = match made {
        Ok(x) => x,
        Err(e) => return Ok(Err(durable::Refused::Change(e))),
    };
    let durable::Unsaved {
        before,
        after,
        version,
    } = unsaved;
    let state = api.state.clone();
    let saved = tokio::task::spawn_blocking(move || {
        let r = state.save_definitions_version(version, &after);
        (r.map_err(|e| format!("{e:#}")), after)
    })
    .await;
    let (why, after) = match saved {
        Ok((Ok(()), _)) => return Ok(Ok(out)),
        Ok((Err(why), after)) => (why, after),
        Err(e) => (format!("the save did not finish: {e}"), Json::Null),
    };
    tracing::error!("change refused and undone: {why}");
    api.core
        .call(move |c: &mut Core| {
            if !after.is_null() {
                durable::undo(c.engine_mut(), &before, &after);
            }
            c.state_errors += 1;
        })
        .await?;
    Ok(Err(durable::Refused::NotSaved(why)))
}

/// GET of one named definition: `read` takes its JSON out of the engine; 404 when absent.
pub(super) async fn get_named(
    api: &Api,
    what: &'static str,
    name: String,
    read: fn(&Engine, &str) -> Option<Json>,
) -> ApiResult {
    let n = name.clone();
    match api
        .core
        .call(move |c: &mut Core| read(c.engine(), &n))
        .await?
    {
        Some(j) => json_ok(j),
        None => Err(ApiError::not_found(what, &name)),
    }
}

/// PUT of one named definition: `set` compiles the body into the engine (400 with the
/// engine's message when it does not), and the definitions are saved; 204 once saved, 500
/// when they cannot be (the change undone).
pub(super) async fn put_named(
    api: &Api,
    name: String,
    body: &Bytes,
    set: fn(&mut Engine, &str, &Json) -> Result<(), flowlens_engine::Error>,
) -> ApiResult {
    let spec = parse_body(body)?;
    durable(api, move |e| set(e, &name, &spec)).await??;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Refuses a flow or threshold body (`what`) larger than the engine's
/// [`MAX_DEFINITION_BYTES`]: 413 naming the limit, before the body is parsed.
pub(super) fn definition_body(what: &str, body: &Bytes) -> ApiResult<()> {
    if body.len() > MAX_DEFINITION_BYTES {
        return Err(ApiError(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "{what} definition of {} bytes; the limit is {MAX_DEFINITION_BYTES} bytes \
                 (MAX_DEFINITION_BYTES)",
                body.len()
            ),
        ));
    }
    Ok(())
}

/// DELETE of one named definition: `remove` says whether it existed (then the definitions
/// are saved; 204 once saved, 500 and undone when they cannot be), else 404.
pub(super) async fn delete_named(
    api: &Api,
    what: &'static str,
    name: String,
    remove: fn(&mut Engine, &str) -> bool,
) -> ApiResult {
    durable(api, move |e| {
        remove(e, &name)
            .then_some(())
            .ok_or_else(|| ApiError::not_found(what, &name))
    })
    .await??;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(super) async fn groups_all(State(api): State<Api>) -> ApiResult {
    json_ok(
        api.core
            .call(|c: &mut Core| {
                let g = &c.engine().env().groups;
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
    durable(&api, move |e| e.set_legacy_groups(&spec)).await??;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(super) async fn group_get(State(api): State<Api>, Path(name): Path<String>) -> ApiResult {
    get_named(&api, "group", name, |e, n| {
        e.env().groups.get(n).map(|g| g.to_json())
    })
    .await
}

pub(super) async fn group_put(
    State(api): State<Api>,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult {
    put_named(&api, name, &body, |e, n, spec| e.set_groups(n, spec)).await
}

pub(super) async fn group_delete(State(api): State<Api>, Path(name): Path<String>) -> ApiResult {
    delete_named(&api, "group", name, |e, n| e.env_mut().groups.remove(n)).await
}

pub(super) async fn maps_all(State(api): State<Api>) -> ApiResult {
    json_ok(
        api.core
            .call(|c: &mut Core| {
                let m = &c.engine().env().maps;
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
    get_named(&api, "map", name, |e, n| {
        e.env().maps.get(n).map(|m| m.to_json())
    })
    .await
}

pub(super) async fn map_put(
    State(api): State<Api>,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult {
    put_named(&api, name, &body, |e, n, spec| e.set_map(n, spec)).await
}

pub(super) async fn map_delete(State(api): State<Api>, Path(name): Path<String>) -> ApiResult {
    delete_named(&api, "map", name, |e, n| e.env_mut().maps.remove(n)).await
}

pub(super) async fn thresholds_all(State(api): State<Api>) -> ApiResult {
    json_ok(super::answer(&api, flowlens_engine::api::Query::Thresholds).await?)
}

pub(super) async fn threshold_get(State(api): State<Api>, Path(name): Path<String>) -> ApiResult {
    get_named(&api, "threshold", name, |e, n| e.threshold(n).cloned()).await
}

pub(super) async fn threshold_put(
    State(api): State<Api>,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult {
    definition_body("threshold", &body)?;
    put_named(&api, name, &body, |e, n, spec| e.set_threshold(n, spec)).await
}

pub(super) async fn threshold_delete(
    State(api): State<Api>,
    Path(name): Path<String>,
) -> ApiResult {
    delete_named(&api, "threshold", name, Engine::clear_threshold).await
}

/// `GET /topology/json`: the topology document as set (`{}` before any).
pub(super) async fn topology_get(State(api): State<Api>) -> ApiResult {
    json_ok(
        api.core
            .call(|c: &mut Core| c.engine().env().topology.to_json())
            .await?,
    )
}

/// `PUT /topology/json`: replaces the topology (400 naming the bad node, port or link);
/// saved with the definitions before the 204 (500 and undone when it cannot be).
pub(super) async fn topology_put(State(api): State<Api>, body: Bytes) -> ApiResult {
    let spec = parse_body(&body)?;
    durable(&api, move |e| e.set_topology(&spec)).await??;
    Ok(StatusCode::NO_CONTENT.into_response())
}
