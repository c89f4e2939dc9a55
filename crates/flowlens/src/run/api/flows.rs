//! Flow endpoints: definitions (`/flow/…`), `/activeflows/…`, `/flowvalue/…`, and the
//! long-polled `/flows/json` and `/events/json`.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query as QueryString, State};
use axum::http::StatusCode;
use flowlens_engine::api::Query;
use flowlens_engine::{AgentSel, AggMode, Engine, DEFAULT_MAX_FLOWS};

use super::defs::{definition_body, delete_named, get_named, put_named};
use serde_json::Value as Json;
use tokio::time::Instant;

use super::{answer, json_ok, params, Api, ApiError, ApiResult, Waiting, DEFAULT_MAX_EVENTS};
use crate::run::core::{Core, Ids};

pub(super) async fn flows_defs(State(api): State<Api>) -> ApiResult {
    json_ok(answer(&api, Query::Flows).await?)
}

/// `GET /flow/{name}/json`: the definition as given, plus `warnings` (an array of messages)
/// when it reads keys flowlens never produces (`flowlens_engine::known_keys`).
pub(super) async fn flow_get(State(api): State<Api>, Path(name): Path<String>) -> ApiResult {
    get_named(&api, "flow", name, |e, n| {
        let mut spec = e.flow(n).cloned()?;
        let warnings = e.flow_warnings(n);
        if let (false, Some(o)) = (warnings.is_empty(), spec.as_object_mut()) {
            o.insert("warnings".into(), Json::from(warnings));
        }
        Some(spec)
    })
    .await
}

/// `PUT /flow/{name}/json`; a definition reading keys flowlens never produces is accepted
/// (as sFlow-RT does) and each such key logged as a warning.
pub(super) async fn flow_put(
    State(api): State<Api>,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult {
    definition_body("flow", &body)?;
    put_named(&api, name, &body, |e, n, spec| {
        e.set_flow(n, spec)?;
        for w in e.flow_warnings(n) {
            tracing::warn!(flow = n, "flow {n}: {w}");
        }
        Ok(())
    })
    .await
}

pub(super) async fn flow_delete(State(api): State<Api>, Path(name): Path<String>) -> ApiResult {
    delete_named(&api, "flow", name, Engine::clear_flow).await
}

pub(super) async fn active_flows(
    State(api): State<Api>,
    Path((agent, name)): Path<(String, String)>,
    q: QueryString<Vec<(String, String)>>,
) -> ApiResult {
    let p = params(q);
    let sel = AgentSel::parse(&agent)?;
    let max_flows = p.count("maxFlows", DEFAULT_MAX_FLOWS)?;
    let min_value = p.num::<f64>("minValue")?.unwrap_or(0.0);
    let agg = match p.get("aggMode") {
        Some(m) => AggMode::parse(m)?,
        None => AggMode::default(),
    };
    let key_filter = match p.get("filter").filter(|f| !f.is_empty()) {
        Some(f) => Some(
            regex::RegexBuilder::new(f)
                .size_limit(1 << 20)
                .build()
                .map_err(|e| {
                    let e = e.to_string();
                    ApiError::bad(format!(
                        "parameter filter: not a regular expression: {}",
                        e.lines().last().unwrap_or_default().trim()
                    ))
                })?,
        ),
        None => None,
    };
    let q = Query::ActiveFlows {
        agents: sel,
        name,
        max_flows,
        min_value,
        agg,
        key_filter,
    };
    json_ok(answer(&api, q).await?)
}

/// `/flowvalue/{agent}/{name}/json?key=…`: the smoothed value of one key, `name` being a flow
/// (any data source) or `<dataSource>.<flow>` (`2.1000.pair`, `3.tcp`); 404 when the key is
/// not active there.
pub(super) async fn flow_value(
    State(api): State<Api>,
    Path((agent, name)): Path<(String, String)>,
    q: QueryString<Vec<(String, String)>>,
) -> ApiResult {
    let p = params(q);
    let sel = AgentSel::parse(&agent)?;
    let key = p
        .get("key")
        .ok_or_else(|| ApiError::bad("parameter key is required"))?
        .to_string();
    let q = Query::FlowValue {
        agents: sel,
        name: name.clone(),
        key,
    };
    let value = answer(&api, q).await?;
    match value {
        Json::Null => Err(ApiError(
            StatusCode::NOT_FOUND,
            format!("no active value for that key of `{name}`"),
        )),
        v => json_ok(v),
    }
}

/// `GET /flowlocations/{agent}/{name}/json?key=…`: the data sources where the key is active.
pub(super) async fn flow_locations(
    State(api): State<Api>,
    Path((agent, name)): Path<(String, String)>,
    q: QueryString<Vec<(String, String)>>,
) -> ApiResult {
    let p = params(q);
    let agents = AgentSel::parse(&agent)?;
    let key = p
        .get("key")
        .ok_or_else(|| ApiError::bad("parameter key is required"))?
        .to_string();
    json_ok(answer(&api, Query::FlowLocations { agents, name, key }).await?)
}

/// Runs `query` until it returns something or `wait` has passed, waking when the engine
/// publishes new ids (long-poll).
pub(super) async fn long_poll<T: Send + 'static>(
    api: &Api,
    wait: Duration,
    query: impl Fn(&mut Core) -> Vec<T> + Send + Sync + Clone + 'static,
    changed: impl Fn(&Ids, &Ids) -> bool,
) -> ApiResult<Vec<T>> {
    let deadline = Instant::now() + wait;
    let mut rx = api.core.subscribe();
    let mut stopping = api.stopping.clone();
    loop {
        let seen = *rx.borrow_and_update();
        let items = api.core.call(query.clone()).await?;
        if !items.is_empty() || Instant::now() >= deadline || *stopping.borrow() {
            return Ok(items);
        }
        // Wait for the ids to move past what the query saw.
        let _waiting = Waiting::new(&api.receive);
        loop {
            tokio::select! {
                r = tokio::time::timeout_at(deadline, rx.changed()) => match r {
                    Ok(Ok(())) if changed(&seen, &rx.borrow()) => break,
                    Ok(Ok(())) => continue,
                    Ok(Err(_)) | Err(_) => return Ok(Vec::new()),
                },
                _ = stopping.changed() => return Ok(Vec::new()),
            }
        }
    }
}

pub(super) async fn logged_flows(
    State(api): State<Api>,
    q: QueryString<Vec<(String, String)>>,
) -> ApiResult {
    let p = params(q);
    let after = u64::try_from(p.num::<i64>("flowID")?.unwrap_or(0)).unwrap_or(0);
    let max = p.count("maxFlows", DEFAULT_MAX_FLOWS)?;
    let name = p.get("name").map(str::to_string);
    let wait = p.timeout()?;
    let flows = long_poll(
        &api,
        wait,
        move |c: &mut Core| {
            c.engine()
                .logged_flows(after, name.as_deref(), max)
                .into_iter()
                .map(|f| f.to_json())
                .collect()
        },
        |a, b| a.flow != b.flow,
    )
    .await?;
    json_ok(Json::Array(flows))
}

pub(super) async fn events(
    State(api): State<Api>,
    q: QueryString<Vec<(String, String)>>,
) -> ApiResult {
    let p = params(q);
    let after = u64::try_from(p.num::<i64>("eventID")?.unwrap_or(0)).unwrap_or(0);
    let max = p.count("maxEvents", DEFAULT_MAX_EVENTS)?;
    let ids: Vec<String> = p
        .all("thresholdID")
        .flat_map(|v| v.split(','))
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let wait = p.timeout()?;
    let events = long_poll(
        &api,
        wait,
        move |c: &mut Core| {
            let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
            c.engine()
                .events(after, &ids, max)
                .into_iter()
                .map(|e| e.to_json())
                .collect()
        },
        |a, b| a.event != b.event,
    )
    .await?;
    json_ok(Json::Array(events))
}
