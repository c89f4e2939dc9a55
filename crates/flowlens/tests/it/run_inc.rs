//! sFlow-RT's shared page assets at `/inc/` from `flowlens run` (the browser tests of
//! `ui/tests/inc.spec.js` load them in Chromium from an app page; this checks the server's
//! answers without a browser).

use crate::run_support::{temp_dir, Server};

#[test]
fn inc_serves_the_libraries_and_our_widgets_at_the_paths_apps_use() {
    let dir = temp_dir("inc");
    let s = Server::start(&dir);
    // The pinned libraries, unmodified.
    let jquery = s.get("/inc/jquery.min.js");
    assert_eq!(jquery.status, 200);
    assert!(
        jquery.body.starts_with("/*! jQuery v3.7.1"),
        "{}",
        &jquery.body[..80]
    );
    let dt = s.get("/inc/DataTables/js/jquery.dataTables.min.js");
    assert!(dt.status == 200 && dt.body.contains("DataTables 1.13.7"));
    let widget = s.get("/inc/jquery.widget.js");
    assert!(widget.body.contains("jQuery UI Widget 1.13.3"));
    assert!(widget.body.contains("$.widget = function"));
    // Our widgets; empty segments are ignored (`../../../inc//jquery.stripchart.js`).
    let strip = s.get("/inc//jquery.stripchart.js");
    assert_eq!(strip.status, 200);
    assert!(strip.body.contains("$.widget('inmon.stripchart'"));
    assert!(s
        .get("/inc/stripchart.js")
        .body
        .contains("$.fn.chart = function"));
    assert!(s.get("/inc/inmsf/main.css").body.contains("#titleBar"));
    // Licences are served beside them.
    assert!(s
        .get("/inc/licenses/bootstrap.txt")
        .body
        .contains("Permission is hereby granted"));
    // Anything else is 404, also outside the folder.
    for path in [
        "/inc/nope.js",
        "/inc/../Cargo.toml",
        "/inc/%2e%2e/Cargo.toml",
    ] {
        let r = s.get(path);
        assert_eq!(r.status, 404, "{path}: {}", r.body);
    }
    assert!(s
        .get("/inc/nope.js")
        .body
        .contains("no such resource: /inc/nope.js"));
    drop(s);
    std::fs::remove_dir_all(&dir).unwrap();
}
