//! The web UI in a real browser: runs the Playwright tests of `ui/tests/` (Debian's chromium,
//! headless) against this build's `flowlens run`, fed with the Open vSwitch sFlow capture from
//! `testdata/captures/exporters/`. Each page asserts on its DOM and on zero console errors,
//! and takes its screenshot (saved in `docs/screenshots/` when `UPDATE_SCREENSHOTS=1` is set).
//! `inc.spec.js` does the same for sFlow-RT's `/inc/` page assets, with an app of our own
//! (`ui/tests/apps/inc-demo`, and `ui/tests/apps/inc-charts` for the heat map and sunburst
//! widgets) served by `--apps-dir`.
//!
//! Needs Node.js, `npm ci` run in `ui/tests/` (`.ci/run` does it) and `/usr/bin/chromium`
//! (or `CHROMIUM`).

use std::path::Path;
use std::process::Command;

#[test]
fn ui_pages_in_chromium() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let tests = root.join("ui/tests");
    assert!(
        tests.join("node_modules/@playwright/test").is_dir(),
        "Playwright is not installed: run `npm ci` in {} (.ci/run does)",
        tests.display()
    );
    let out = Command::new("npx")
        .args(["--no-install", "playwright", "test"])
        .current_dir(&tests)
        .env("FLOWLENS_BIN", env!("CARGO_BIN_EXE_flowlens"))
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
        .output()
        .expect("cannot run npx (is Node.js installed?)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "playwright failed:\n{stdout}\n{stderr}"
    );
    // Every test ran and passed (none skipped or filtered away): `  15 passed (50.8s)`; from a
    // plain clone (no ../shared/sflow-rt-scripts) the Apps test skips itself, and says so here.
    let seeds = root
        .join("../shared/sflow-rt-scripts/dns_queries.js")
        .is_file();
    let passed = stdout
        .lines()
        .find(|l| l.contains(" passed ("))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse::<u32>().ok());
    if seeds {
        assert!(passed.is_some_and(|n| n >= 15), "{stdout}");
        assert!(!stdout.contains(" skipped"), "{stdout}");
    } else {
        println!(
            "SKIPPED ui_browser::ui_pages_in_chromium (\"Apps: scripts status and app links\" \
             part): needs ../shared/sflow-rt-scripts/dns_queries.js, which is not beside this \
             checkout"
        );
        assert!(passed.is_some_and(|n| n >= 14), "{stdout}");
        assert!(stdout.contains("1 skipped"), "{stdout}");
    }
    assert!(
        stdout.contains("inc.spec.js"),
        "the /inc/ tests did not run:\n{stdout}"
    );
}
