//! docs/flow-keys.md stays true: its table is the one documented in the walker's `keys.rs`,
//! and every flow key `flowlens decode` reports on the shared captures is listed in it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a panic is a failed test

mod common;

use std::collections::BTreeSet;

use common::{data_dir, decode_json, files_in, workspace_dir};

fn table_rows(text: &str, prefix: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix(prefix))
        .filter(|l| l.starts_with('|'))
        .map(str::to_string)
        .collect()
}

#[test]
fn doc_table_matches_the_walker_and_lists_every_key_seen() {
    let root = workspace_dir();
    let doc = std::fs::read_to_string(root.join("docs/flow-keys.md")).unwrap();
    let src =
        std::fs::read_to_string(root.join("crates/flowlens-wire/src/packet/keys.rs")).unwrap();
    let doc_rows = table_rows(&doc, "");
    assert!(doc_rows.len() > 30, "table not found in docs/flow-keys.md");
    assert_eq!(
        doc_rows,
        table_rows(&src, "//! "),
        "docs/flow-keys.md differs from keys.rs"
    );

    // Key names in the first column, e.g. "| `ipsource`, `ipdestination` | ..." .
    let documented: BTreeSet<String> = doc_rows
        .iter()
        .filter_map(|r| r.split('|').nth(1))
        .flat_map(|cell| cell.split('`').skip(1).step_by(2).map(str::to_string))
        .collect();

    let data = data_dir();
    let mut files = files_in(&data.join("sflow"), |n| n.ends_with(".pcap"));
    for d in files_in(&data.join("packets"), |_| true) {
        files.extend(files_in(&d, |n| n.ends_with(".pcap")));
    }
    let mut seen = BTreeSet::new();
    for f in &files {
        let (_, docs) = decode_json(f);
        for d in &docs {
            let mut packets: Vec<&serde_json::Value> = vec![d];
            for s in d["samples"].as_array().into_iter().flatten() {
                for r in s["records"].as_array().into_iter().flatten() {
                    packets.push(&r["packet"]);
                }
            }
            for p in packets {
                for k in p["keys"].as_object().into_iter().flatten().map(|(k, _)| k) {
                    let base = k.split('.').next().unwrap();
                    seen.insert(base.to_string());
                }
            }
        }
    }
    assert!(seen.len() > 40, "only {} distinct keys seen", seen.len());
    let undocumented: Vec<&String> = seen.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "keys missing from docs/flow-keys.md: {undocumented:?}"
    );
}
