//! docs/flow-engine.md stays true: every table in it (definition attributes, sFlow sample
//! keys, key functions, thresholds) is the table of the source file it cites, with rustdoc
//! links written as plain code.

use crate::common;

use common::workspace_dir;

/// Table rows of `text` (lines starting with `|` after `prefix`), with "[`x`](…)" and "[`x`]"
/// reduced to "`x`".
fn rows(text: &str, prefix: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix(prefix))
        .filter(|l| l.starts_with('|'))
        .map(|l| {
            let mut out = String::new();
            let mut rest = l;
            while let Some(i) = rest.find("[`") {
                out.push_str(&rest[..i]);
                let after = &rest[i + 1..];
                let Some(end) = after.find("`]") else {
                    out.push_str(&rest[i..]);
                    rest = "";
                    break;
                };
                out.push_str(&after[..end + 1]);
                rest = &after[end + 2..];
                if rest.starts_with('(') {
                    rest = &rest[rest.find(')').map_or(0, |p| p + 1)..];
                }
            }
            out.push_str(rest);
            out
        })
        .collect()
}

#[test]
fn engine_doc_tables_match_the_sources() {
    let root = workspace_dir();
    let doc = std::fs::read_to_string(root.join("docs/flow-engine.md")).unwrap();
    let doc_rows = rows(&doc, "");
    let mut want = Vec::new();
    for src in [
        "crates/flowlens-engine/src/definition.rs",
        "crates/flowlens-engine/src/sample.rs",
        "crates/flowlens-engine/src/expr/mod.rs",
        "crates/flowlens-engine/src/threshold.rs",
    ] {
        let text = std::fs::read_to_string(root.join(src)).unwrap();
        let r = rows(&text, "//! ");
        assert!(r.len() > 3, "{src}: no table");
        want.extend(r);
    }
    assert_eq!(doc_rows, want);
}
