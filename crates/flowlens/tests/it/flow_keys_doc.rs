//! docs/flow-keys.md stays true: its tables are the ones documented in the packet walker's
//! `keys.rs` and in flowlens-netflow's `keys.rs`, and every flow key `flowlens decode` reports on
//! the shared captures (packets, sampled headers, NetFlow/IPFIX records) is listed.

use crate::common;

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
fn doc_tables_match_the_sources_and_list_every_key_seen() {
    if common::shared_data_or_skip(
        "flow_keys_doc::doc_tables_match_the_sources_and_list_every_key_seen",
    )
    .is_none()
    {
        return;
    }
    let root = workspace_dir();
    let doc = std::fs::read_to_string(root.join("docs/flow-keys.md")).unwrap();
    let (packet_part, rest) = doc
        .split_once("## NetFlow and IPFIX records")
        .expect("the NetFlow/IPFIX section");
    let (record_part, sample_part) = rest
        .split_once("## sFlow samples, exporters and agents")
        .expect("the sFlow samples section");
    let sample_src =
        std::fs::read_to_string(root.join("crates/flowlens-engine/src/sample.rs")).unwrap();
    assert_eq!(
        table_rows(sample_part, ""),
        table_rows(&sample_src, "//! "),
        "sample table differs from sample.rs"
    );
    let packet_src =
        std::fs::read_to_string(root.join("crates/flowlens-wire/src/packet/keys.rs")).unwrap();
    let record_src =
        std::fs::read_to_string(root.join("crates/flowlens-netflow/src/keys.rs")).unwrap();
    let packet_rows = table_rows(packet_part, "");
    let record_rows = table_rows(record_part, "");
    assert!(
        packet_rows.len() > 30 && record_rows.len() > 15,
        "tables not found"
    );
    assert_eq!(
        packet_rows,
        table_rows(&packet_src, "//! "),
        "packet table differs from keys.rs"
    );
    assert_eq!(
        record_rows,
        table_rows(&record_src, "//! "),
        "record table differs from keys.rs"
    );

    // Key names in the first column, e.g. "| `ipsource`, `ipdestination` | ..." .
    let documented: BTreeSet<String> = packet_rows
        .iter()
        .chain(&record_rows)
        .filter_map(|r| r.split('|').nth(1))
        .flat_map(|cell| cell.split('`').skip(1).step_by(2).map(str::to_string))
        .collect();

    let data = data_dir();
    let mut files = files_in(&data.join("sflow"), |n| n.ends_with(".pcap"));
    files.extend(files_in(&data.join("netflow-ipfix"), |n| {
        n.ends_with(".pcap")
    }));
    files.extend(files_in(&data.join("exporters"), |n| {
        !n.starts_with("sflow") && n.ends_with(".pcap")
    }));
    for d in files_in(&data.join("packets"), |_| true) {
        files.extend(files_in(&d, |n| n.ends_with(".pcap")));
    }
    let mut seen = BTreeSet::new();
    for f in &files {
        let (_, docs) = decode_json(f);
        for d in &docs {
            let mut keyed: Vec<&serde_json::Value> = vec![d];
            for s in d["samples"].as_array().into_iter().flatten() {
                for r in s["records"].as_array().into_iter().flatten() {
                    keyed.push(&r["packet"]);
                }
            }
            keyed.extend(d["records"].as_array().into_iter().flatten());
            for p in keyed {
                for k in p["keys"].as_object().into_iter().flatten().map(|(k, _)| k) {
                    // `ipfix:` keys are named from the registry (documented as a pattern).
                    if k.starts_with("ipfix:") {
                        continue;
                    }
                    let base = k.split('.').next().unwrap();
                    seen.insert(base.to_string());
                }
            }
        }
    }
    assert!(seen.len() > 50, "only {} distinct keys seen", seen.len());
    let undocumented: Vec<&String> = seen.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "keys missing from docs/flow-keys.md: {undocumented:?}"
    );
}
