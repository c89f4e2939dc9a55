//! ARCHITECTURE.md stays true: every file or directory it names in backticks exists.
//!
//! A path is taken to be any backticked token containing `/` made only of path characters.
//! Paths are resolved from the workspace root, or, for `src/…`, `tests/…` and `benches/…`,
//! from the crate whose section (`### \`crates/…\``) they appear in.

use crate::common;

#[test]
fn every_path_in_architecture_md_exists() {
    let root = common::workspace_dir();
    let text = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let mut section_base = root.clone();
    let mut checked = 0;
    let mut missing = Vec::new();
    for line in text.lines() {
        if let Some(h) = line.strip_prefix("### `") {
            let name = h.trim_end_matches('`');
            section_base = if name.starts_with("crates/") {
                root.join(name)
            } else {
                root.clone()
            };
        }
        for (i, token) in line.split('`').enumerate() {
            let is_code = i % 2 == 1;
            let pathlike = token.contains('/')
                && !token.contains("://")
                && token
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c));
            if !is_code || !pathlike || token.starts_with("../") {
                continue;
            }
            let base = if ["src/", "tests/", "benches/"]
                .iter()
                .any(|p| token.starts_with(p))
            {
                &section_base
            } else {
                &root
            };
            checked += 1;
            if !base.join(token).exists() {
                missing.push(format!("{token} (looked in {})", base.display()));
            }
        }
    }
    assert!(
        checked >= 10,
        "only {checked} paths found: is the parser still right?"
    );
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md names missing paths: {missing:#?}"
    );
}
