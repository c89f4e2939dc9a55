//! sFlow-RT's shared page assets at `/inc/…`: the files every sFlow-RT app page loads with
//! `../../../inc/…` (jQuery, jQuery UI, DataTables, Bootstrap with Popper, the `stripchart` and
//! `chart` widgets and their CSS, the `heatmap` and `sunburst` widgets, the common stylesheet
//! and images), embedded from `ui/inc/www/` at build time.
//!
//! The libraries are the pinned npm packages' dist files (`ui/inc/package.json`,
//! `ui/inc/PROVENANCE.md`, licences under `/inc/licenses/`); the widgets, stylesheets and
//! images are flowlens's own implementation of the interface apps call
//! (`ui/inc/README.md`).

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use rust_embed::RustEmbed;

use super::ApiError;

/// The embedded files of `ui/inc/www/`.
#[derive(RustEmbed)]
#[folder = "../../ui/inc/www/"]
struct IncAssets;

/// The route: `/inc/{*path}`.
pub(super) fn routes() -> Router {
    Router::new().route("/inc/{*path}", get(asset))
}

/// `/inc/{*path}`: one embedded file. Empty segments are dropped, as a static file server
/// would (apps write `../../../inc//jquery.stripchart.js`).
async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    let path: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let path = path.join("/");
    let Some(file) = IncAssets::get(&path) else {
        return ApiError(
            StatusCode::NOT_FOUND,
            format!("no such resource: /inc/{path}"),
        )
        .into_response();
    };
    let etag: String = std::iter::once("\"".to_string())
        .chain(
            file.metadata
                .sha256_hash()
                .iter()
                .take(12)
                .map(|b| format!("{b:02x}")),
        )
        .chain(std::iter::once("\"".to_string()))
        .collect();
    let cached = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let etag = HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"\""));
    // The files change only with the binary: revalidate (cheap, by entity tag) every time.
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

    /// Every path InMon's published app pages load from `../../../inc/` (both generations:
    /// jQuery UI + DataTables, and Bootstrap 4).
    const APP_PATHS: &[&str] = &[
        "jquery.min.js",
        "jquery-ui/jquery-ui.min.js",
        "jquery-ui/jquery-ui.structure.min.css",
        "jquery-ui/jquery-ui.theme.css",
        "DataTables/css/dataTables.jqueryui.css",
        "DataTables/js/jquery.dataTables.min.js",
        "DataTables/js/dataTables.jqueryui.min.js",
        "stripchart.css",
        "jquery.stripchart.js",
        "stripchart.js",
        "jquery.widget.js",
        "bootstrap.min.css",
        "bootstrap.min.js",
        "popper.min.js",
        "inmsf/main.css",
        "img/favicon.png",
        "img/inmon.svg",
    ];

    #[test]
    fn every_path_apps_load_is_embedded() {
        for f in APP_PATHS {
            assert!(IncAssets::get(f).is_some(), "{f} not embedded");
        }
        let mime = |f: &str| IncAssets::get(f).map(|f| f.metadata.mimetype().to_string());
        // The heat map and sunburst widgets (InMon's apps bring their own copies; ours serve
        // pages that load them from /inc/).
        for f in ["jquery.heatmap.js", "jquery.sunburst.js"] {
            assert_eq!(mime(f).as_deref(), Some("text/javascript"), "{f}");
        }
        assert_eq!(mime("stripchart.js").as_deref(), Some("text/javascript"));
        assert_eq!(mime("img/inmon.svg").as_deref(), Some("image/svg+xml"));
        assert_eq!(mime("img/favicon.png").as_deref(), Some("image/png"));
    }

    #[test]
    fn every_library_carries_its_licence() {
        for l in [
            "jquery",
            "jquery-ui",
            "datatables.net",
            "datatables.net-jqui",
            "bootstrap",
            "popper.js",
        ] {
            let f = IncAssets::get(&format!("licenses/{l}.txt"));
            let text = f.map(|f| String::from_utf8_lossy(&f.data).into_owned());
            assert!(
                text.is_some_and(|t| t.contains("Permission is hereby granted")),
                "{l}: no MIT licence text"
            );
        }
    }
}
