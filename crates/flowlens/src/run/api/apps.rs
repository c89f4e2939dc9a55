//! Script endpoints: `/scripts/json` (status of every script), the apps (`/apps/json`, their
//! health at `/app/<app>/status` and `/status`), the scripts' HTTP handlers at
//! `/script/<file>/json` (sFlow-RT's older form) and `/app/<app>/scripts/<file>/…/json`, and
//! the apps' static files at `/app/<app>/html/…`.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use flowlens_script::{HttpReply, HttpRequest};
use tower::ServiceExt;
use tower_http::services::ServeDir;

use super::{json_ok, parse_body, Api, ApiError, ApiResult};

/// Longest wait for a script's HTTP handler (its own time limit stops it sooner).
const SCRIPT_HTTP_WAIT: Duration = Duration::from_secs(60);

/// Largest body passed to a script's handler.
const MAX_SCRIPT_BODY: usize = 16 << 20;

pub(super) async fn scripts_status(State(api): State<Api>) -> ApiResult {
    json_ok(
        api.scripts
            .get()
            .map_or(serde_json::Value::Array(Vec::new()), |s| s.status_json()),
    )
}

/// `/script/{file}/{json|txt}`.
pub(super) async fn script_http(
    State(api): State<Api>,
    Path((file, format)): Path<(String, String)>,
    method: Method,
    q: Query<Vec<(String, String)>>,
    body: Bytes,
) -> ApiResult {
    if format != "json" && format != "txt" {
        return Err(ApiError::not_found("format", &format));
    }
    let req = request(&method, Vec::new(), format, q.0, &body)?;
    call(&api, None, file, req).await
}

/// `/app/{app}/scripts/{file}/{*rest}`: `rest` = path segments then `json` or `txt`.
pub(super) async fn app_script_http(
    State(api): State<Api>,
    Path((app, file, rest)): Path<(String, String, String)>,
    method: Method,
    q: Query<Vec<(String, String)>>,
    body: Bytes,
) -> ApiResult {
    let mut path: Vec<String> = rest
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let format = match path.last().map(String::as_str) {
        Some("json" | "txt") => path.pop().unwrap_or_default(),
        _ => return Err(ApiError::not_found("resource", &rest)),
    };
    let req = request(&method, path, format, q.0, &body)?;
    call(&api, Some(app), file, req).await
}

/// The handler's request object.
fn request(
    method: &Method,
    path: Vec<String>,
    format: String,
    query: Vec<(String, String)>,
    body: &Bytes,
) -> ApiResult<HttpRequest> {
    if body.len() > MAX_SCRIPT_BODY {
        return Err(ApiError::bad("body too large"));
    }
    let mut req = HttpRequest {
        method: method.as_str().to_string(),
        path,
        format,
        ..HttpRequest::default()
    };
    for (k, v) in query {
        req.query.entry(k).or_default().push(v);
    }
    if !body.iter().all(u8::is_ascii_whitespace) {
        req.body = Some(parse_body(body)?);
    }
    Ok(req)
}

/// Runs the handler on a blocking thread (it waits for the script's thread).
async fn call(api: &Api, app: Option<String>, file: String, req: HttpRequest) -> ApiResult {
    if api.scripts.get().is_none() {
        return Err(ApiError::not_found("script", &file));
    }
    let json = req.format == "json";
    let scripts = api.scripts.clone();
    let reply = tokio::task::spawn_blocking(move || match scripts.get() {
        Some(s) => s.http(app.as_deref(), &file, req, SCRIPT_HTTP_WAIT),
        None => HttpReply {
            status: 404,
            body: String::new(),
        },
    })
    .await
    .map_err(|_| {
        ApiError(
            StatusCode::INTERNAL_SERVER_ERROR,
            "script call failed".into(),
        )
    })?;
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let ctype = if status.is_success() && json {
        "application/json"
    } else {
        "text/plain; charset=utf-8"
    };
    Ok((status, [(header::CONTENT_TYPE, ctype)], reply.body).into_response())
}

/// `/app/{app}/html/` → the app's `index.html`.
pub(super) async fn app_html_index(
    State(api): State<Api>,
    Path(app): Path<String>,
    req: Request,
) -> Response {
    serve_html(&api, &app, "/", req).await
}

/// `/app/{app}/html/{*path}`: a static file of the app.
pub(super) async fn app_html(
    State(api): State<Api>,
    Path((app, path)): Path<(String, String)>,
    req: Request,
) -> Response {
    serve_html(&api, &app, &format!("/{path}"), req).await
}

/// Serves `path` from `<apps>/<app>/html` (tower-http's `ServeDir`: no `..` escape from the
/// directory, content types, `index.html` for directories); a symbolic link resolving
/// outside the directory is 404 ([`stays_inside`]).
async fn serve_html(api: &Api, app: &str, path: &str, req: Request) -> Response {
    if app.is_empty() || app.starts_with('.') || app.contains(['/', '\\']) {
        return ApiError::not_found("app", app).into_response();
    }
    let dir = app_root(api, app).join("html");
    if !stays_inside(&dir, path) {
        return ApiError::not_found("file", path).into_response();
    }
    let mut req = req.map(|_| Body::empty());
    match path.parse() {
        Ok(uri) => *req.uri_mut() = uri,
        Err(_) => return ApiError::not_found("file", path).into_response(),
    }
    match ServeDir::new(dir).oneshot(req).await {
        Ok(r) => r.into_response(),
        Err(e) => ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// False when `path` (a URI path under `dir`, percent-decoded as `ServeDir` decodes it) names
/// an existing file or directory (or, for a directory, its `index.html`) whose real location,
/// symbolic links resolved, is outside `dir`'s. A path that does not exist stays inside
/// (`ServeDir` answers 404); so does one `ServeDir` itself refuses (`..`).
fn stays_inside(dir: &std::path::Path, path: &str) -> bool {
    let Ok(root) = dir.canonicalize() else {
        return true;
    };
    let decoded = percent_encoding::percent_decode_str(path.trim_start_matches('/'))
        .decode_utf8_lossy()
        .into_owned();
    let mut target = root.clone();
    for part in decoded.split('/') {
        match part {
            "" | "." => {}
            ".." => return true,
            p => target.push(p),
        }
    }
    let inside = |p: &std::path::Path| p.canonicalize().map_or(true, |r| r.starts_with(&root));
    if !inside(&target) {
        return false;
    }
    !target.is_dir() || inside(&target.join("index.html"))
}

/// The folder of `app`: that of its running scripts (`<root>/<app>/scripts/<file>.js`: an app
/// of the apps directory or a built-in one), else `<apps directory>/<app>` (an app with pages
/// only).
fn app_root(api: &Api, app: &str) -> std::path::PathBuf {
    api.scripts
        .get()
        .into_iter()
        .flat_map(|s| s.iter())
        .find(|h| h.spec().app.as_deref() == Some(app))
        .and_then(|h| {
            h.spec()
                .path
                .parent()?
                .parent()
                .map(std::path::Path::to_path_buf)
        })
        .unwrap_or_else(|| api.apps.join(app))
}

/// The running apps: `(name, its scripts)`, in start order (scripts given with `--script`
/// belong to no app).
fn apps_of(api: &Api) -> Vec<(String, Vec<&flowlens_script::ScriptHandle>)> {
    let mut out: Vec<(String, Vec<&flowlens_script::ScriptHandle>)> = Vec::new();
    for h in api.scripts.get().into_iter().flat_map(|s| s.iter()) {
        let Some(app) = h.spec().app.clone() else {
            continue;
        };
        match out.iter_mut().find(|(a, _)| *a == app) {
            Some((_, v)) => v.push(h),
            None => out.push((app, vec![h])),
        }
    }
    out
}

/// `GET /apps/json`: `{app: {entry, scripts}}`: `entry` is `/html/` when the app has pages
/// (else `null`; inferred), `scripts` its script files.
pub(super) async fn apps_json(State(api): State<Api>) -> ApiResult {
    let doc: serde_json::Map<String, serde_json::Value> = apps_of(&api)
        .into_iter()
        .map(|(app, scripts)| {
            let html = app_root(&api, &app).join("html").is_dir();
            let files: Vec<String> = scripts.iter().map(|h| h.spec().file()).collect();
            let entry = html.then_some("/html/");
            (app, serde_json::json!({"entry": entry, "scripts": files}))
        })
        .collect();
    json_ok(serde_json::Value::Object(doc))
}

/// `OK` (200) when every script in `scripts` is alive, else `UNAVAILABLE` (503).
fn health(scripts: &[&flowlens_script::ScriptHandle]) -> Response {
    if scripts.iter().all(|h| h.alive()) {
        (StatusCode::OK, "OK").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE").into_response()
    }
}

/// `GET /app/{app}/status`: the app's health (404 for an app not running).
pub(super) async fn app_status(State(api): State<Api>, Path(app): Path<String>) -> ApiResult {
    let apps = apps_of(&api);
    let (_, scripts) = apps
        .iter()
        .find(|(a, _)| *a == app)
        .ok_or_else(|| ApiError::not_found("app", &app))?;
    Ok(health(scripts))
}

/// `GET /status`: `OK` when every app's scripts are alive, else `UNAVAILABLE` (503).
pub(super) async fn status(State(api): State<Api>) -> ApiResult {
    let apps = apps_of(&api);
    let all: Vec<&flowlens_script::ScriptHandle> =
        apps.iter().flat_map(|(_, s)| s.iter().copied()).collect();
    Ok(health(&all))
}
