//! The REST API of `flowlens run`: sFlow-RT's paths, parameters, shapes and status codes
//! (inventory in `../shared/reference/sflow-rt-api.md` §1), served with axum.
//!
//! Handlers parse the request, run a short job on the engine thread ([`CoreHandle::call`])
//! that copies out what the answer needs, and build the JSON here. Status codes: 200 with
//! JSON (text for `/version`); 204 for a successful PUT or DELETE, sent once the definitions
//! are saved (500 with the reason when they cannot be, the change undone: [`super::durable`]);
//! 400 with a one-line message for a bad body or parameter; 404 for an unknown flow,
//! threshold, group, map or agent; 405 with a body naming the allowed methods for a method
//! the route does not take;
//! 503 when the engine's job queue is full or the engine has stopped. Writes may be refused
//! as a whole ([`Writes`]): 403 in read-only mode, 401 without the bearer token.
//!
//! Request bodies are JSON or JavaScript-object syntax (JSON5: unquoted keys, single quotes,
//! trailing commas), as sFlow-RT's articles send them with curl
//! (`--data "{keys:'icmpunreachableport', value:'frames', t:20}"`); the content type is
//! ignored, since curl's `--data` sends `application/x-www-form-urlencoded`.
//!
//! This file holds the router, the write guard, errors, bodies and query parameters; the
//! handlers live in [`server`] (version, analyzer, agents, flow keys), [`flows`] (flow
//! definitions, active flows, flow values, the long-polled flow records and events), [`defs`]
//! (groups, maps, thresholds, topology), [`forward`] (sFlow forwarding and tenants) and
//! [`metrics`] (counter metrics and the Prometheus forms); [`openapi`] describes them all
//! at `/api-docs`; [`ui`] serves the embedded web UI at `/`.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::Router;
use flowlens_engine::counters::DsFilter;
use flowlens_script::Scripts;
use serde_json::Value as Json;
use tokio::sync::watch;

use super::analyzer::Receive;
use super::core::{CallError, Core, CoreHandle};
use super::durable::Refused;
use super::http::HttpStats;
use super::ingest::{Listener, SocketStats};
use super::state::StateDir;

mod apps;
mod bgp;
mod defs;
mod flows;
mod forward;
mod inc;
mod metrics;
mod openapi;
mod server;
mod ui;

/// Longest long-poll wait (`timeout` parameter), seconds.
const MAX_POLL_SECS: f64 = 300.0;
/// Largest request body, bytes (group sets of many prefixes are large).
const MAX_BODY_BYTES: usize = 16 << 20;
/// Longest wait for a whole request body, from the end of its head; beyond it 408.
pub(crate) const BODY_TIMEOUT: Duration = Duration::from_secs(10);
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

/// What the server hands the API.
pub(crate) struct Shared {
    /// The engine thread.
    pub(crate) core: CoreHandle,
    /// The receive sockets and long-poll count.
    pub(crate) receive: Arc<Receive>,
    /// Who may write.
    pub(crate) writes: Writes,
    /// Where writes are saved before they are acknowledged.
    pub(crate) state: StateDir,
    /// The scripts (set once started).
    pub(crate) scripts: Arc<OnceLock<Scripts>>,
    /// The apps directory (`/app/<app>/html/`).
    pub(crate) apps: PathBuf,
}

/// What every handler shares.
#[derive(Clone)]
pub(crate) struct Api {
    core: CoreHandle,
    /// The receive side (`/analyzer/json`, long-poll count).
    receive: Arc<Receive>,
    state: StateDir,
    scripts: Arc<OnceLock<Scripts>>,
    apps: Arc<PathBuf>,
    /// Becomes true when the server stops: long-polls answer at once.
    stopping: watch::Receiver<bool>,
}

/// Counts one waiting long-poll for as long as it lives.
struct Waiting(Arc<Receive>);

impl Waiting {
    fn new(r: &Arc<Receive>) -> Waiting {
        r.polls.fetch_add(1, Ordering::Relaxed);
        Waiting(Arc::clone(r))
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.polls.fetch_sub(1, Ordering::Relaxed);
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
pub(crate) fn router(shared: Shared, stopping: watch::Receiver<bool>) -> Router {
    let http_stats = Arc::clone(&shared.receive.http);
    let api = Api {
        core: shared.core,
        receive: shared.receive,
        state: shared.state,
        scripts: shared.scripts,
        apps: Arc::new(shared.apps),
        stopping,
    };
    routes()
        .with_state(api)
        .layer(axum::middleware::from_fn(explain_method_not_allowed))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&http_stats),
            read_body,
        ))
        .merge(ui::routes(shared.writes.clone()))
        .merge(inc::routes())
        .layer(axum::middleware::from_fn_with_state(
            shared.writes,
            guard_writes,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// Reads the request body before any handler runs, within bounds: a `Content-Length` over
/// [`MAX_BODY_BYTES`] is 413 before a byte of the body is read (so a client sending
/// `Expect: 100-continue` gets 413, never `100 Continue`); a body not received within
/// [`BODY_TIMEOUT`] is 408; a chunked body growing past the limit is 413.
async fn read_body(
    State(stats): State<Arc<HttpStats>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let too_large = || {
        stats.bodies_too_large.fetch_add(1, Ordering::Relaxed);
        ApiError(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body larger than {MAX_BODY_BYTES} bytes (the body size limit)"),
        )
        .into_response()
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return too_large();
    }
    let (parts, body) = req.into_parts();
    let limited = http_body_util::Limited::new(body, MAX_BODY_BYTES);
    let read = tokio::time::timeout(BODY_TIMEOUT, http_body_util::BodyExt::collect(limited)).await;
    match read {
        Err(_) => {
            stats.body_timeouts.fetch_add(1, Ordering::Relaxed);
            ApiError(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "request body not received within {} s",
                    BODY_TIMEOUT.as_secs()
                ),
            )
            .into_response()
        }
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => too_large(),
        Ok(Err(e)) => ApiError::bad(format!("cannot read the request body: {e}")).into_response(),
        Ok(Ok(b)) => {
            let req =
                axum::extract::Request::from_parts(parts, axum::body::Body::from(b.to_bytes()));
            next.run(req).await
        }
    }
}

/// Applies [`Writes`] before any handler runs.
async fn guard_writes(
    State(writes): State<Writes>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use axum::http::Method;
    let read = match *req.method() {
        Method::GET => true,
        // Scripts' handlers take every method: only GET reads there.
        Method::HEAD | Method::OPTIONS => !reaches_scripts(req.uri().path()),
        _ => false,
    };
    if read {
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

/// Gives a 405 (a method the route does not take, e.g. `POST` on a PUT-only route) a body
/// that names the allowed methods (from the OpenAPI table, [`openapi::methods_for`]) and an
/// `Allow` header.
async fn explain_method_not_allowed(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let r = next.run(req).await;
    if r.status() != StatusCode::METHOD_NOT_ALLOWED {
        return r;
    }
    let allowed = openapi::methods_for(&path)
        .map(|m| m.join(", "))
        .or_else(|| {
            r.headers()
                .get(header::ALLOW)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        })
        .unwrap_or_default();
    let mut out = ApiError(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{method} is not allowed on {path}; allowed methods: {allowed}"),
    )
    .into_response();
    if let Ok(v) = header::HeaderValue::from_str(&allowed) {
        out.headers_mut().insert(header::ALLOW, v);
    }
    out
}

/// True for the paths routed to scripts' HTTP handlers (`/script/…`,
/// `/app/<app>/scripts/…`), which take every method.
fn reaches_scripts(path: &str) -> bool {
    path.starts_with("/script/")
        || path
            .strip_prefix("/app/")
            .and_then(|rest| rest.split_once('/'))
            .is_some_and(|(_, rest)| rest.starts_with("scripts/"))
}

/// Longest bearer token, bytes (a token file holding more is a startup error).
pub(crate) const MAX_TOKEN_BYTES: usize = 1024;

/// Compares a given secret with the token in time that depends on neither the token's
/// content nor its length: both are copied into buffers of [`MAX_TOKEN_BYTES`] + 1 bytes,
/// compared whole with `subtle`'s constant-time equality, as are their lengths.
fn same_secret(given: &[u8], token: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    let pad = |s: &[u8]| {
        let mut b = [0u8; MAX_TOKEN_BYTES + 1];
        let n = s.len().min(b.len());
        if let (Some(dst), Some(src)) = (b.get_mut(..n), s.get(..n)) {
            dst.copy_from_slice(src);
        }
        b
    };
    let same_bytes = pad(given).ct_eq(&pad(token));
    let same_len = (given.len() as u64).ct_eq(&(token.len() as u64));
    bool::from(same_bytes & same_len)
}

/// Every endpoint, before the state is attached.
fn routes() -> Router<Api> {
    Router::new()
        .route("/version", get(server::version))
        .route("/analyzer/json", get(server::analyzer))
        .route("/agents/json", get(server::agents))
        .route("/flowkeys/json", get(server::flow_keys))
        .route("/flow/json", get(flows::flows_defs))
        .route(
            "/flow/{name}/json",
            get(flows::flow_get)
                .put(flows::flow_put)
                .delete(flows::flow_delete),
        )
        .route("/activeflows/{agent}/{name}/json", get(flows::active_flows))
        .route("/flowvalue/{agent}/{name}/json", get(flows::flow_value))
        .route(
            "/flowlocations/{agent}/{name}/json",
            get(flows::flow_locations),
        )
        .route("/flows/json", get(flows::logged_flows))
        .route("/events/json", get(flows::events))
        .route(
            "/group/json",
            get(defs::groups_all).put(defs::groups_legacy_put),
        )
        .route(
            "/group/{name}/json",
            get(defs::group_get)
                .put(defs::group_put)
                .delete(defs::group_delete),
        )
        .route("/map/json", get(defs::maps_all))
        .route(
            "/map/{name}/json",
            get(defs::map_get)
                .put(defs::map_put)
                .delete(defs::map_delete),
        )
        .route("/threshold/json", get(defs::thresholds_all))
        .route(
            "/threshold/{name}/json",
            get(defs::threshold_get)
                .put(defs::threshold_put)
                .delete(defs::threshold_delete),
        )
        .route(
            "/topology/json",
            get(defs::topology_get).put(defs::topology_put),
        )
        .route("/forwarding/json", get(forward::targets))
        .route(
            "/forwarding/{name}/json",
            get(forward::target_get)
                .put(forward::target_put)
                .delete(forward::target_delete),
        )
        .route("/tenant/json", get(forward::tenants))
        .route(
            "/tenant/{name}/json",
            get(forward::tenant_get)
                .put(forward::tenant_put)
                .delete(forward::tenant_delete),
        )
        .route("/metrics/json", get(metrics::metric_names))
        .route("/metric/{agent}/json", get(metrics::agent_metrics))
        .route("/metric/{agent}/{metrics}/json", get(metrics::metric))
        .route("/dump/{agent}/{metrics}/json", get(metrics::dump))
        .route("/table/{agent}/{metrics}/json", get(metrics::table))
        .route(
            "/prometheus/analyzer/txt",
            get(metrics::prometheus_analyzer),
        )
        .route(
            "/prometheus/metrics/{agent}/{metrics}/txt",
            get(metrics::prometheus_metrics),
        )
        .route("/api-docs", get(api_docs))
        .route("/scripts/json", get(apps::scripts_status))
        .route("/apps/json", get(apps::apps_json))
        .route("/status", get(apps::status))
        .route("/app/{app}/status", get(apps::app_status))
        .route("/script/{file}/{format}", any(apps::script_http))
        .route(
            "/app/{app}/scripts/{file}/{*rest}",
            any(apps::app_script_http),
        )
        .route("/app/{app}/html/", get(apps::app_html_index))
        .route("/app/{app}/html/{*path}", get(apps::app_html))
        .merge(bgp::routes())
        .fallback(server::not_found)
}

/// `/api-docs`.
async fn api_docs() -> ApiResult {
    json_ok(openapi::document())
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

impl<E: Into<ApiError>> From<Refused<E>> for ApiError {
    fn from(r: Refused<E>) -> ApiError {
        match r {
            Refused::Change(e) => e.into(),
            Refused::NotSaved(why) => ApiError(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("definitions not saved, change undone: {why}"),
            ),
        }
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
/// Answers an sFlow-RT read query on the engine thread ([`flowlens_engine::api::Query`]).
async fn answer(api: &Api, q: flowlens_engine::api::Query) -> ApiResult<Json> {
    Ok(api
        .core
        .call(move |c: &mut Core| q.answer(c.engine(), c.now_ms()))
        .await??)
}

fn json_ok(v: Json) -> ApiResult {
    Ok(([(header::CONTENT_TYPE, "application/json")], v.to_string()).into_response())
}

/// Parses a request body: JSON or JavaScript-object syntax (see
/// [`flowlens_engine::body::parse`]).
fn parse_body(body: &Bytes) -> ApiResult<Json> {
    flowlens_engine::body::parse(body).map_err(|e| ApiError::bad(e.to_string()))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_in_javascript_object_syntax() {
        let b = Bytes::from_static(b"{keys:'icmpunreachableport', value:'frames', t:20}");
        let v = parse_body(&b).unwrap();
        assert_eq!(v["keys"], "icmpunreachableport");
        assert_eq!(v["t"], 20);
        let e = parse_body(&Bytes::from_static(b"{keys:")).unwrap_err();
        assert_eq!(e.0, StatusCode::BAD_REQUEST, "{e:?}");
        assert!(
            e.1.starts_with("body is not a JSON or JavaScript object: "),
            "{e:?}"
        );
        let e = parse_body(&Bytes::from_static(b"  ")).unwrap_err();
        assert_eq!(e.0, StatusCode::BAD_REQUEST, "{e:?}");
        assert!(e.1.starts_with("empty body"), "{e:?}");
        let deep = format!("{{a:{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
        let e = parse_body(&Bytes::from(deep)).unwrap_err();
        assert_eq!(e.0, StatusCode::BAD_REQUEST);
    }

    #[test]
    fn secrets_and_script_paths() {
        assert!(same_secret(b"s3cret", b"s3cret"));
        assert!(!same_secret(b"s3cre", b"s3cret"));
        assert!(!same_secret(b"s3cret!", b"s3cret"));
        assert!(!same_secret(b"", b"s3cret"));
        let long = [b'a'; MAX_TOKEN_BYTES + 10];
        assert!(!same_secret(&long, &long[..MAX_TOKEN_BYTES]));
        assert!(same_secret(
            &long[..MAX_TOKEN_BYTES],
            &long[..MAX_TOKEN_BYTES]
        ));
        assert!(reaches_scripts("/script/a.js/json"));
        assert!(reaches_scripts("/app/hello/scripts/hello.js/x/json"));
        assert!(!reaches_scripts("/app/hello/html/index.html"));
        assert!(!reaches_scripts("/flow/json"));
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
        let e = p.num::<f64>("minValue").unwrap_err();
        assert_eq!(e.0, StatusCode::BAD_REQUEST, "{e:?}");
        assert_eq!(e.1, "parameter minValue: `x` is not a number");
    }
}
