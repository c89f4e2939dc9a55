//! The web UI: the files of `ui/web/` (HTML, CSS, JavaScript modules, the vendored uPlot),
//! embedded in the binary at build time, served at `/` and `/ui/…`, and `/ui/config.json`,
//! which tells the page what the server allows.
//!
//! The page is a client of the public REST API only; nothing here computes what it shows.
//! Files are embedded with `rust-embed` (its `debug-embed` feature embeds in debug builds too,
//! so tests exercise the same bytes a release serves); no network and no JavaScript toolchain
//! are needed to build or run.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use rust_embed::RustEmbed;
use serde_json::json;

use super::{json_ok, ApiError, ApiResult, Writes};

/// The embedded files of `ui/web/`.
#[derive(RustEmbed)]
#[folder = "../../ui/web/"]
struct Assets;

/// The UI's routes: `/`, `/ui/config.json`, `/ui/{*path}`.
pub(super) fn routes(writes: Writes) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/ui/config.json", get(config))
        .route("/ui/{*path}", get(asset))
        .with_state(writes)
}

/// `/`: the single page.
async fn index(headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

/// `/ui/{*path}`: one embedded file.
async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    serve(&path, &headers)
}

/// `/ui/config.json`: `{"writes": "open" | "read-only" | "token", "version": …}`; the page
/// hides write controls when writes are refused and asks for the bearer token when needed.
async fn config(State(writes): State<Writes>) -> ApiResult {
    let mode = match writes {
        Writes::Open => "open",
        Writes::ReadOnly => "read-only",
        Writes::Token(_) => "token",
    };
    json_ok(json!({"writes": mode, "version": env!("CARGO_PKG_VERSION")}))
}

/// The embedded file at `path`, with its content type and an entity tag (its SHA-256); 304
/// when the browser already has it, 404 when there is no such file.
fn serve(path: &str, headers: &HeaderMap) -> Response {
    let Some(file) = Assets::get(path) else {
        return ApiError(
            StatusCode::NOT_FOUND,
            format!("no such resource: /ui/{path}"),
        )
        .into_response();
    };
    let hash = file.metadata.sha256_hash();
    let etag: String = std::iter::once("\"".to_string())
        .chain(hash.iter().take(12).map(|b| format!("{b:02x}")))
        .chain(std::iter::once("\"".to_string()))
        .collect();
    let cached = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let etag = HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"\""));
    // `no-cache`: revalidate every time, so a new binary's UI is picked up at once.
    let cache = (header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if cached {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag), cache]).into_response();
    }
    let mime = HeaderValue::from_str(file.metadata.mimetype())
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    (
        [(header::CONTENT_TYPE, mime), (header::ETAG, etag), cache],
        file.data.into_owned(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_script_is_embedded() {
        for f in [
            "index.html",
            "app.js",
            "app.css",
            "vendor/uPlot.iife.min.js",
        ] {
            assert!(Assets::get(f).is_some(), "{f} not embedded");
        }
        let js = Assets::get("app.js").map(|f| f.metadata.mimetype().to_string());
        assert_eq!(js.as_deref(), Some("text/javascript"));
    }
}
