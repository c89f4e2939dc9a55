//! The REST API of `flowlens run`: sFlow-RT's paths, parameters, shapes and status codes
//! (inventory in `../shared/reference/sflow-rt-api.md` §1), served with axum.
//!
//! Handlers parse the request, run a short job on the engine thread ([`CoreHandle::call`])
//! that copies out what the answer needs, and build the JSON here. Status codes: 200 with
//! JSON (text for `/version`); 204 for a successful PUT or DELETE; 400 with a one-line message
//! for a bad body or parameter; 404 for an unknown flow, threshold, group, map or agent;
//! 503 when the engine's job queue is full or the engine has stopped. Writes may be refused
//! as a whole ([`Writes`]): 403 in read-only mode, 401 without the bearer token.
//!
//! Request bodies are JSON or JavaScript-object syntax (JSON5: unquoted keys, single quotes,
//! trailing commas), as sFlow-RT's articles send them with curl
//! (`--data "{keys:'icmpunreachableport', value:'frames', t:20}"`); the content type is
//! ignored, since curl's `--data` sends `application/x-www-form-urlencoded`.

use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use flowlens_engine::counters::DsFilter;
use flowlens_engine::{AgentSel, AggMode};
use serde_json::{json, Map, Value as Json};
use tokio::sync::watch;
use tokio::time::Instant;

use super::core::{CallError, Core, CoreHandle, Ids};
use super::ingest::{kernel_drops, Listener, SocketStats};
use super::prometheus;

/// Longest long-poll wait (`timeout` parameter), seconds.
const MAX_POLL_SECS: f64 = 300.0;
/// Default `maxFlows` of `/activeflows` (sFlow-RT's) and `/flows`.
const DEFAULT_MAX_FLOWS: usize = 100;
/// Default `maxEvents` of `/events`.
const DEFAULT_MAX_EVENTS: usize = 100;

/// One receive socket as `/analyzer/json` reports it.
#[derive(Debug)]
pub(crate) struct SocketInfo {
    /// `sflow`, `netflow`, `ipfix`.
    pub(crate) name: &'static str,
    /// Bound address.
    pub(crate) local: std::net::SocketAddr,
    /// Granted receive buffer, bytes.
    pub(crate) rcvbuf: usize,
    /// Live counters of its receive thread.
    pub(crate) stats: Arc<SocketStats>,
}

impl SocketInfo {
    /// The info of `l`, sharing `stats` with its thread.
    pub(crate) fn new(l: &Listener, stats: Arc<SocketStats>) -> SocketInfo {
        SocketInfo {
            name: l.name,
            local: l.local,
            rcvbuf: l.rcvbuf,
            stats,
        }
    }
}

/// What every handler shares.
#[derive(Clone)]
pub(crate) struct Api {
    core: CoreHandle,
    sockets: Arc<Vec<SocketInfo>>,
    /// Becomes true when the server stops: long-polls answer at once.
    stopping: watch::Receiver<bool>,
    /// Long-polls waiting now (`/analyzer/json` `longPollsWaiting`).
    polls: Arc<AtomicUsize>,
}

/// Counts one waiting long-poll for as long as it lives.
struct Waiting(Arc<AtomicUsize>);

impl Waiting {
    fn new(n: &Arc<AtomicUsize>) -> Waiting {
        n.fetch_add(1, Ordering::Relaxed);
        Waiting(Arc::clone(n))
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Who may change definitions (PUT, DELETE) over REST; reads are always open.
#[derive(Clone, Debug, Default)]
pub(crate) enum Writes {
    /// Anyone.
    #[default]
    Open,
    /// No one: 403 (sFlow-RT's `http.readonly=yes`).
    ReadOnly,
    /// Requests carrying `Authorization: Bearer <token>`; others get 401.
    Token(Arc<str>),
}

/// The router with every endpoint.
pub(crate) fn router(
    core: CoreHandle,
    sockets: Vec<SocketInfo>,
    stopping: watch::Receiver<bool>,
    writes: Writes,
) -> Router {
    let api = Api {
        core,
        sockets: Arc::new(sockets),
        stopping,
        polls: Arc::new(AtomicUsize::new(0)),
    };
    routes()
        .with_state(api)
        .layer(axum::middleware::from_fn_with_state(writes, guard_writes))
}

/// Applies [`Writes`] before any handler runs.
async fn guard_writes(
    State(writes): State<Writes>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use axum::http::Method;
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    match &writes {
        Writes::Open => next.run(req).await,
        Writes::ReadOnly => ApiError(
            StatusCode::FORBIDDEN,
            "read-only mode: definitions cannot be changed".into(),
        )
        .into_response(),
        Writes::Token(token) => {
            let given = req
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim);
            if given.is_some_and(|g| same_secret(g.as_bytes(), token.as_bytes())) {
                next.run(req).await
            } else {
                let mut r = ApiError(
                    StatusCode::UNAUTHORIZED,
                    "changing definitions needs `Authorization: Bearer <token>`".into(),
                )
                .into_response();
                r.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    header::HeaderValue::from_static("Bearer"),
                );
                r
            }
        }
    }
}

/// Compares secrets in time independent of where they differ.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Every endpoint, before the state is attached.
fn routes() -> Router<Api> {
    Router::new()
        .route("/version", get(version))
        .route("/analyzer/json", get(analyzer))
        .route("/agents/json", get(agents))
        .route("/flowkeys/json", get(flow_keys))
        .route("/flow/json", get(flows_defs))
        .route(
            "/flow/{name}/json",
            get(flow_get).put(flow_put).delete(flow_delete),
        )
        .route("/activeflows/{agent}/{name}/json", get(active_flows))
        .route("/flowvalue/{agent}/{name}/json", get(flow_value))
        .route("/flows/json", get(logged_flows))
        .route("/events/json", get(events))
        .route("/group/json", get(groups_all).put(groups_legacy_put))
        .route(
            "/group/{name}/json",
            get(group_get).put(group_put).delete(group_delete),
        )
        .route("/map/json", get(maps_all))
        .route(
            "/map/{name}/json",
            get(map_get).put(map_put).delete(map_delete),
        )
        .route("/threshold/json", get(thresholds_all))
        .route(
            "/threshold/{name}/json",
            get(threshold_get)
                .put(threshold_put)
                .delete(threshold_delete),
        )
        .route("/metrics/json", get(metric_names))
        .route("/metric/{agent}/json", get(agent_metrics))
        .route("/metric/{agent}/{metrics}/json", get(metric))
        .route("/dump/{agent}/{metrics}/json", get(dump))
        .route("/table/{agent}/{metrics}/json", get(table))
        .route("/prometheus/analyzer/txt", get(prometheus_analyzer))
        .route(
            "/prometheus/metrics/{agent}/{metrics}/txt",
            get(prometheus_metrics),
        )
        .fallback(not_found)
}

// ---- errors and bodies -------------------------------------------------------------------

/// An error answer: status and a one-line message.
#[derive(Debug)]
pub(crate) struct ApiError(StatusCode, String);

impl ApiError {
    fn bad(msg: impl Into<String>) -> ApiError {
        ApiError(StatusCode::BAD_REQUEST, msg.into())
    }

    fn not_found(what: &str, name: &str) -> ApiError {
        ApiError(StatusCode::NOT_FOUND, format!("{what} `{name}` not found"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut msg = self.1;
        msg.push('\n');
        (
            self.0,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            msg,
        )
            .into_response()
    }
}

impl From<flowlens_engine::Error> for ApiError {
    fn from(e: flowlens_engine::Error) -> ApiError {
        let status = match e {
            flowlens_engine::Error::NotFound { .. } => StatusCode::NOT_FOUND,
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError(status, e.to_string())
    }
}

impl From<CallError> for ApiError {
    fn from(e: CallError) -> ApiError {
        let msg = match e {
            CallError::Busy => "the engine is busy: too many requests waiting",
            CallError::Gone => "the engine has stopped",
        };
        ApiError(StatusCode::SERVICE_UNAVAILABLE, msg.into())
    }
}

type ApiResult<T = Response> = Result<T, ApiError>;

/// A JSON answer.
fn json_ok(v: Json) -> ApiResult {
    Ok(([(header::CONTENT_TYPE, "application/json")], v.to_string()).into_response())
}

/// Parses a request body: JSON or JavaScript-object syntax.
fn parse_body(body: &Bytes) -> ApiResult<Json> {
    let text = std::str::from_utf8(body).map_err(|_| ApiError::bad("body is not UTF-8"))?;
    if text.trim().is_empty() {
        return Err(ApiError::bad(
            "empty body: expected a JSON or JavaScript object",
        ));
    }
    json5::from_str::<Json>(text).map_err(|e| {
        let e = e.to_string();
        ApiError::bad(format!(
            "body is not a JSON or JavaScript object: {}",
            e.lines().next().unwrap_or_default()
        ))
    })
}

// ---- query parameters --------------------------------------------------------------------

/// Query parameters in order, repeated names kept.
#[derive(Debug, Default)]
struct Params(Vec<(String, String)>);

impl Params {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn num<T: std::str::FromStr>(&self, name: &str) -> ApiResult<Option<T>> {
        self.get(name)
            .map(|v| {
                v.trim()
                    .parse::<T>()
                    .map_err(|_| ApiError::bad(format!("parameter {name}: `{v}` is not a number")))
            })
            .transpose()
    }

    /// `maxFlows`-style counts: a non-negative integer (a negative one means the default).
    fn count(&self, name: &str, default: usize) -> ApiResult<usize> {
        Ok(self
            .num::<i64>(name)?
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(default))
    }

    /// The long-poll timeout, capped at [`MAX_POLL_SECS`].
    fn timeout(&self) -> ApiResult<Duration> {
        let secs = self.num::<f64>("timeout")?.unwrap_or(0.0);
        if !secs.is_finite() || secs < 0.0 {
            return Err(ApiError::bad("parameter timeout: expected seconds ≥ 0"));
        }
        Ok(Duration::from_secs_f64(secs.min(MAX_POLL_SECS)))
    }
}

/// `Query<Params>` without a custom extractor.
fn params(q: Query<Vec<(String, String)>>) -> Params {
    Params(q.0)
}

/// A data-source filter from the query string (`os_name=linux&os_name=windows`).
fn ds_filter(p: &Params) -> DsFilter {
    let mut f = DsFilter::default();
    for (k, v) in &p.0 {
        f.push(k, v);
    }
    f
}

/// A comma (or `;`) separated metric list.
fn metric_list(text: &str) -> Vec<String> {
    text.split([',', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// One agent address (`/metric/{agent}/json`).
fn one_agent(text: &str) -> ApiResult<IpAddr> {
    text.trim()
        .parse()
        .map_err(|_| ApiError::not_found("agent", text))
}

// ---- server ------------------------------------------------------------------------------

async fn version() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        env!("CARGO_PKG_VERSION"),
    )
        .into_response()
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError(
        StatusCode::NOT_FOUND,
        format!("no such resource: {}", uri.path()),
    )
}

async fn analyzer(State(api): State<Api>) -> ApiResult {
    json_ok(analyzer_doc(&api).await?)
}

/// The `/analyzer/json` document.
async fn analyzer_doc(api: &Api) -> ApiResult<Json> {
    let mut doc = api
        .core
        .call(|c: &mut Core| {
            let s = c.engine.stats();
            let f = c.feed;
            let n = c.session().stats();
            json!({
                "version": env!("CARGO_PKG_VERSION"),
                "uptime": c.uptime_ms(),
                "sFlowDatagramsReceived": f.sflow,
                "sFlowAgents": c.engine.agents().list().len(),
                "netflowDatagramsReceived": f.netflow,
                "unknownDatagrams": f.unknown,
                "rejectedDatagrams": f.rejected,
                "netflowRecordErrors": f.record_errors,
                "netflowTemplates": c.session().templates().len(),
                "netflowDataHeldBytes": n.pending.bytes,
                "flowSamples": s.flow_samples,
                "counterSamples": s.counter_samples,
                "discardSamples": s.discard_samples,
                "netflowRecords": s.records,
                "sampleErrors": s.sample_errors,
                "activeKeys": c.engine.active_keys(),
                "keysAdded": s.keys_added,
                "keysExpired": s.keys_expired,
                "keysEvicted": s.keys_evicted,
                "keysRefused": s.keys_refused,
                "flowsLogged": s.flows_logged,
                "events": s.events,
                "stateWriteErrors": c.state_errors,
            })
        })
        .await?;
    let (mut datagrams, mut bytes, mut dropped, mut errors) = (0u64, 0u64, 0u64, 0u64);
    let mut kernel = 0u64;
    let mut counted: Vec<std::net::SocketAddr> = Vec::new();
    let sockets: Vec<Json> = api
        .sockets
        .iter()
        .map(|s| {
            let d = s.stats.datagrams.load(Ordering::Relaxed);
            let b = s.stats.bytes.load(Ordering::Relaxed);
            let x = s.stats.dropped.load(Ordering::Relaxed);
            let e = s.stats.errors.load(Ordering::Relaxed);
            // Per address: sockets sharing one (SO_REUSEPORT) report the same sum.
            let k = kernel_drops(s.local);
            if !counted.contains(&s.local) {
                counted.push(s.local);
                kernel += k.unwrap_or(0);
            }
            datagrams += d;
            bytes += b;
            dropped += x;
            errors += e;
            json!({
                "name": s.name, "address": s.local.to_string(), "receiveBuffer": s.rcvbuf,
                "datagrams": d, "bytes": b, "dropped": x, "kernelDrops": k, "errors": e,
            })
        })
        .collect();
    if let Some(o) = doc.as_object_mut() {
        o.insert("datagramsReceived".into(), json!(datagrams));
        o.insert("bytesReceived".into(), json!(bytes));
        o.insert("datagramsDropped".into(), json!(dropped));
        o.insert("kernelDrops".into(), json!(kernel));
        o.insert("receiveErrors".into(), json!(errors));
        o.insert("sockets".into(), Json::Array(sockets));
        o.insert(
            "longPollsWaiting".into(),
            json!(api.polls.load(Ordering::Relaxed)),
        );
    }
    Ok(doc)
}

async fn agents(State(api): State<Api>, q: Query<Vec<(String, String)>>) -> ApiResult {
    let p = params(q);
    let wanted: Vec<IpAddr> = p.all("agent").filter_map(|a| a.parse().ok()).collect();
    let any = p.get("agent").is_none();
    let doc = api
        .core
        .call(move |c: &mut Core| {
            let now = c.now_ms();
            let a = c.engine.agents();
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

async fn flow_keys(State(api): State<Api>) -> ApiResult {
    let keys = api
        .core
        .call(|c: &mut Core| c.engine.flow_keys(c.now_ms()))
        .await?;
    json_ok(Json::Object(
        keys.into_iter().map(|(k, ms)| (k, json!(ms))).collect(),
    ))
}

// ---- flows -------------------------------------------------------------------------------

async fn flows_defs(State(api): State<Api>) -> ApiResult {
    json_ok(api.core.call(|c: &mut Core| c.engine.flows_json()).await?)
}

async fn flow_get(State(api): State<Api>, Path(name): Path<String>) -> ApiResult {
    let n = name.clone();
    match api
        .core
        .call(move |c: &mut Core| c.engine.flow(&n).cloned())
        .await?
    {
        Some(f) => json_ok(f),
        None => Err(ApiError::not_found("flow", &name)),
    }
}

async fn flow_put(State(api): State<Api>, Path(name): Path<String>, body: Bytes) -> ApiResult {
    let spec = parse_body(&body)?;
    api.core
        .call(move |c: &mut Core| c.write(|e| e.set_flow(&name, &spec)))
        .await??;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn flow_delete(State(api): State<Api>, Path(name): Path<String>) -> ApiResult {
    let n = name.clone();
    let found = api
        .core
        .call(move |c: &mut Core| c.write(|e| e.clear_flow(&n).then_some(()).ok_or(())))
        .await?
        .is_ok();
    if found {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::not_found("flow", &name))
    }
}

async fn active_flows(
    State(api): State<Api>,
    Path((agent, name)): Path<(String, String)>,
    q: Query<Vec<(String, String)>>,
) -> ApiResult {
    let p = params(q);
    let sel = AgentSel::parse(&agent)?;
    let max_flows = p.count("maxFlows", DEFAULT_MAX_FLOWS)?;
    let min_value = p.num::<f64>("minValue")?.unwrap_or(0.0);
    let agg = match p.get("aggMode") {
        Some(m) => AggMode::parse(m)?,
        None => AggMode::default(),
    };
    let flows = api
        .core
        .call(move |c: &mut Core| {
            c.engine
                .active_flows(c.now_ms(), &sel, &name, max_flows, min_value, agg)
        })
        .await??;
    json_ok(Json::Array(flows.iter().map(|f| f.to_json()).collect()))
}

/// `/flowvalue/{agent}/{name}/json?key=…`: the smoothed value of one key, `name` being a flow
/// (any data source) or `<dataSource>.<flow>` (`2.1000.pair`, `3.tcp`); 404 when the key is
/// not active there.
async fn flow_value(
    State(api): State<Api>,
    Path((agent, name)): Path<(String, String)>,
    q: Query<Vec<(String, String)>>,
) -> ApiResult {
    let p = params(q);
    let sel = AgentSel::parse(&agent)?;
    let key = p
        .get("key")
        .ok_or_else(|| ApiError::bad("parameter key is required"))?
        .to_string();
    let n = name.clone();
    let value = api
        .core
        .call(move |c: &mut Core| {
            let (ds, flow) = match n.rsplit_once('.') {
                _ if c.engine.flow(&n).is_some() => (None, n.as_str()),
                Some((ds, flow)) => match flowlens_engine::counters::parse_ds(ds) {
                    Some((class, index)) => {
                        let id = flowlens_engine::DataSource::new(agent_any(), class, index).id;
                        (Some(id), flow)
                    }
                    None => (None, n.as_str()),
                },
                None => (None, n.as_str()),
            };
            c.engine.flow_value(c.now_ms(), &sel, ds, flow, &key)
        })
        .await??;
    match value {
        Some(v) => json_ok(json!(v)),
        None => Err(ApiError(
            StatusCode::NOT_FOUND,
            format!("no active value for that key of `{name}`"),
        )),
    }
}

/// Any agent address (only a data source's id is wanted from [`DataSource::new`]).
///
/// [`DataSource::new`]: flowlens_engine::DataSource::new
fn agent_any() -> IpAddr {
    IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)
}

/// Runs `query` until it returns something or `wait` has passed, waking when the engine
/// publishes new ids (long-poll).
async fn long_poll<T: Send + 'static>(
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
        let _waiting = Waiting::new(&api.polls);
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

async fn logged_flows(State(api): State<Api>, q: Query<Vec<(String, String)>>) -> ApiResult {
    let p = params(q);
    let after = u64::try_from(p.num::<i64>("flowID")?.unwrap_or(0)).unwrap_or(0);
    let max = p.count("maxFlows", DEFAULT_MAX_FLOWS)?;
    let name = p.get("name").map(str::to_string);
    let wait = p.timeout()?;
    let flows = long_poll(
        &api,
        wait,
        move |c: &mut Core| {
            c.engine
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

async fn events(State(api): State<Api>, q: Query<Vec<(String, String)>>) -> ApiResult {
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
            c.engine
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

// ---- groups and maps ---------------------------------------------------------------------

async fn groups_all(State(api): State<Api>) -> ApiResult {
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

async fn groups_legacy_put(State(api): State<Api>, body: Bytes) -> ApiResult {
    let spec = parse_body(&body)?;
    api.core
        .call(move |c: &mut Core| c.write(|e| e.set_legacy_groups(&spec)))
        .await??;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn group_get(State(api): State<Api>, Path(name): Path<String>) -> ApiResult {
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

async fn group_put(State(api): State<Api>, Path(name): Path<String>, body: Bytes) -> ApiResult {
    let spec = parse_body(&body)?;
    api.core
        .call(move |c: &mut Core| c.write(|e| e.set_groups(&name, &spec)))
        .await??;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn group_delete(State(api): State<Api>, Path(name): Path<String>) -> ApiResult {
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

async fn maps_all(State(api): State<Api>) -> ApiResult {
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

async fn map_get(State(api): State<Api>, Path(name): Path<String>) -> ApiResult {
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

async fn map_put(State(api): State<Api>, Path(name): Path<String>, body: Bytes) -> ApiResult {
    let spec = parse_body(&body)?;
    api.core
        .call(move |c: &mut Core| c.write(|e| e.set_map(&name, &spec)))
        .await??;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn map_delete(State(api): State<Api>, Path(name): Path<String>) -> ApiResult {
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

async fn thresholds_all(State(api): State<Api>) -> ApiResult {
    json_ok(
        api.core
            .call(|c: &mut Core| c.engine.thresholds_json())
            .await?,
    )
}

async fn threshold_get(State(api): State<Api>, Path(name): Path<String>) -> ApiResult {
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

async fn threshold_put(State(api): State<Api>, Path(name): Path<String>, body: Bytes) -> ApiResult {
    let spec = parse_body(&body)?;
    api.core
        .call(move |c: &mut Core| c.write(|e| e.set_threshold(&name, &spec)))
        .await??;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn threshold_delete(State(api): State<Api>, Path(name): Path<String>) -> ApiResult {
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

// ---- counter metrics ---------------------------------------------------------------------

async fn metric_names(State(api): State<Api>) -> ApiResult {
    let names = api
        .core
        .call(|c: &mut Core| c.engine.counters().names(c.now_ms()))
        .await?;
    json_ok(Json::Object(
        names.into_iter().map(|(k, ms)| (k, json!(ms))).collect(),
    ))
}

/// `/metric/{agent}/json`: `{"<dataSource>.<metric>": value}` of one agent.
async fn agent_metrics(State(api): State<Api>, Path(agent): Path<String>) -> ApiResult {
    let ip = one_agent(&agent)?;
    let values = api
        .core
        .call(move |c: &mut Core| c.engine.counters().agent_metrics(c.now_ms(), ip))
        .await?
        .ok_or_else(|| ApiError::not_found("agent", &agent))?;
    json_ok(Json::Object(
        values
            .into_iter()
            .map(|v| {
                (
                    format!("{}.{}", v.data_source, v.metric_name),
                    v.metric_value.to_json(),
                )
            })
            .collect(),
    ))
}

async fn metric(
    State(api): State<Api>,
    Path((agent, metrics)): Path<(String, String)>,
    q: Query<Vec<(String, String)>>,
) -> ApiResult {
    let sel = AgentSel::parse(&agent)?;
    let filter = ds_filter(&params(q));
    let metrics = metric_list(&metrics);
    let stats = api
        .core
        .call(move |c: &mut Core| {
            let m: Vec<&str> = metrics.iter().map(String::as_str).collect();
            c.engine.counters().metric(c.now_ms(), &sel, &m, &filter)
        })
        .await??;
    json_ok(Json::Array(stats.iter().map(|s| s.to_json()).collect()))
}

async fn dump(
    State(api): State<Api>,
    Path((agent, metrics)): Path<(String, String)>,
    q: Query<Vec<(String, String)>>,
) -> ApiResult {
    let sel = AgentSel::parse(&agent)?;
    let filter = ds_filter(&params(q));
    let metrics = metric_list(&metrics);
    let values = api
        .core
        .call(move |c: &mut Core| {
            let m: Vec<&str> = metrics.iter().map(String::as_str).collect();
            c.engine.counters().dump(c.now_ms(), &sel, &m, &filter)
        })
        .await?;
    json_ok(Json::Array(values.iter().map(|v| v.to_json()).collect()))
}

async fn table(
    State(api): State<Api>,
    Path((agent, metrics)): Path<(String, String)>,
    q: Query<Vec<(String, String)>>,
) -> ApiResult {
    let sel = AgentSel::parse(&agent)?;
    let filter = ds_filter(&params(q));
    let metrics = metric_list(&metrics);
    let rows = api
        .core
        .call(move |c: &mut Core| {
            let m: Vec<&str> = metrics.iter().map(String::as_str).collect();
            c.engine.counters().table(c.now_ms(), &sel, &m, &filter)
        })
        .await??;
    json_ok(Json::Array(
        rows.iter()
            .map(|r| {
                Json::Array(
                    r.iter()
                        .map(|cell| cell.as_ref().map_or(Json::Null, |v| v.to_json()))
                        .collect(),
                )
            })
            .collect(),
    ))
}

// ---- Prometheus ----------------------------------------------------------------------------

fn prometheus_ok(text: String) -> Response {
    ([(header::CONTENT_TYPE, prometheus::CONTENT_TYPE)], text).into_response()
}

async fn prometheus_analyzer(State(api): State<Api>) -> ApiResult {
    let doc = analyzer_doc(&api).await?;
    let items: Vec<(&str, &str, f64)> = [
        ("agents", "sFlow agents", "sFlowAgents"),
        (
            "datagrams_received",
            "UDP datagrams received",
            "datagramsReceived",
        ),
        (
            "bytes_received",
            "UDP payload bytes received",
            "bytesReceived",
        ),
        (
            "datagrams_dropped",
            "datagrams dropped: engine queue full",
            "datagramsDropped",
        ),
        (
            "kernel_drops",
            "datagrams dropped by the kernel: socket buffer full",
            "kernelDrops",
        ),
        (
            "sflow_datagrams",
            "sFlow datagrams",
            "sFlowDatagramsReceived",
        ),
        (
            "netflow_datagrams",
            "NetFlow/IPFIX datagrams",
            "netflowDatagramsReceived",
        ),
        (
            "rejected_datagrams",
            "datagrams rejected as a whole",
            "rejectedDatagrams",
        ),
        ("flow_samples", "sFlow flow samples", "flowSamples"),
        ("counter_samples", "sFlow counter samples", "counterSamples"),
        ("netflow_records", "NetFlow/IPFIX records", "netflowRecords"),
        ("active_keys", "active flow keys", "activeKeys"),
        ("events", "threshold events", "events"),
        ("uptime_seconds", "seconds since start", "uptime"),
    ]
    .into_iter()
    .map(|(name, help, key)| {
        let v = doc.get(key).and_then(Json::as_f64).unwrap_or(0.0);
        let v = if key == "uptime" { v / 1000.0 } else { v };
        (name, help, v)
    })
    .collect();
    Ok(prometheus_ok(prometheus::analyzer(&items)))
}

async fn prometheus_metrics(
    State(api): State<Api>,
    Path((agent, metrics)): Path<(String, String)>,
    q: Query<Vec<(String, String)>>,
) -> ApiResult {
    let sel = AgentSel::parse(&agent)?;
    let filter = ds_filter(&params(q));
    let metrics = metric_list(&metrics);
    let (values, names) = api
        .core
        .call(move |c: &mut Core| {
            let now = c.now_ms();
            let m: Vec<&str> = metrics.iter().map(String::as_str).collect();
            let counters = c.engine.counters();
            let values = counters.dump(now, &sel, &m, &filter);
            let names = counters.dump(now, &sel, &["ifname", "host_name"], &DsFilter::default());
            (values, names)
        })
        .await?;
    let mut labels = std::collections::BTreeMap::new();
    for n in names {
        let Some(text) = n.metric_value.text() else {
            continue;
        };
        let ds = if n.metric_name == "host_name" {
            String::new()
        } else {
            n.data_source.clone()
        };
        labels.insert((n.agent, ds), text.to_string());
    }
    Ok(prometheus_ok(prometheus::metrics(&values, &labels)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_in_javascript_object_syntax() {
        let b = Bytes::from_static(b"{keys:'icmpunreachableport', value:'frames', t:20}");
        let v = parse_body(&b).unwrap();
        assert_eq!(v["keys"], "icmpunreachableport");
        assert_eq!(v["t"], 20);
        assert!(parse_body(&Bytes::from_static(b"{keys:")).is_err());
        assert!(parse_body(&Bytes::from_static(b"  ")).is_err());
    }

    #[test]
    fn counts_and_timeouts() {
        let p = Params(vec![
            ("maxFlows".into(), "-1".into()),
            ("timeout".into(), "1e9".into()),
            ("minValue".into(), "x".into()),
        ]);
        assert_eq!(p.count("maxFlows", 7).unwrap(), 7);
        assert_eq!(p.timeout().unwrap(), Duration::from_secs(300));
        assert!(p.num::<f64>("minValue").is_err());
    }
}
