//! The sFlow-RT article scripts in `../shared/sflow-rt-scripts`, copied into a test's temp
//! dir with only their addresses/ports rewritten (the README there allows nothing else).

use std::path::{Path, PathBuf};

/// `../shared/sflow-rt-scripts/<name>`'s text; fails the test when it is missing.
pub(crate) fn seed_script(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/sflow-rt-scripts")
        .join(name);
    std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("the shared scripts are missing: {}: {e}", p.display()))
}

/// Writes `dir/<name>`: the seed script with each `(from, to)` replaced; each `from` must
/// occur exactly once, so nothing else can change.
pub(crate) fn rewrite_script(name: &str, dir: &Path, replacements: &[(&str, &str)]) -> PathBuf {
    let mut text = seed_script(name);
    for (from, to) in replacements {
        assert_eq!(
            text.matches(from).count(),
            1,
            "{name}: {from:?} not exactly once"
        );
        text = text.replacen(from, to, 1);
    }
    let out = dir.join(name);
    std::fs::write(&out, text).unwrap();
    out
}

/// The `/scripts/json` entry of the script whose file is `name`.
pub(crate) fn script_status(server: &super::Server, name: &str) -> serde_json::Value {
    let all = server.get_json("/scripts/json");
    all.as_array()
        .unwrap()
        .iter()
        .find(|s| s["file"].as_str().is_some_and(|f| f.ends_with(name)))
        .unwrap_or_else(|| panic!("{name} not in /scripts/json: {all}"))
        .clone()
}
