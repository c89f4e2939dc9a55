//! Every flow key the docs list is produced by the engine on the real captures, except the
//! ones listed here with the reason no shared capture carries them (checked to stay absent).
//!
//! One `flowlens top` run defines a flow per documented key (`docs/flow-keys.md`: packet
//! headers, NetFlow/IPFIX records, sFlow samples) and replays every shared capture (templates
//! first); each flow must have at least one key value.

use crate::common;

use common::{data_dir, files_in, flowlens, workspace_dir};

/// Keys no shared capture carries, and why.
const ABSENT: &[(&str, &str)] = &[
    ("sttcontextid", "no STT capture in ../shared/data"),
    (
        "icmpunreachablehost",
        "no ICMP host-unreachable (type 3 code 1 / ICMPv6 1/3) in the captures",
    ),
    (
        "queueindex",
        "no dropped-packet notification with extended_egress_queue (1036)",
    ),
    (
        "transitdelay",
        "no dropped-packet notification with extended_transit (1039)",
    ),
    (
        "queuedepth",
        "no dropped-packet notification with extended_queue (1040)",
    ),
];

/// Keys only dropped-packet notifications carry (their flows need `dropped:true`).
const DROPPED: &[&str] = &["reason", "queueindex", "transitdelay", "queuedepth"];

fn documented_keys() -> Vec<String> {
    let doc = std::fs::read_to_string(workspace_dir().join("docs/flow-keys.md")).unwrap();
    let mut keys: Vec<String> = Vec::new();
    for row in doc.lines().filter(|l| l.starts_with("| `")) {
        let cell = row.split('|').nth(1).unwrap();
        for k in cell.split('`').skip(1).step_by(2) {
            if k.starts_with("ipfix:") || k.contains('<') || keys.iter().any(|x| x == k) {
                continue;
            }
            keys.push(k.to_string());
        }
    }
    keys
}

#[test]
fn every_documented_key_appears_on_the_real_captures() {
    if common::shared_data_or_skip("top_keys::every_documented_key_appears_on_the_real_captures")
        .is_none()
    {
        return;
    }
    let keys = documented_keys();
    assert!(keys.len() > 100, "{} keys", keys.len());
    let data = data_dir();
    let mut files = Vec::new();
    for dir in ["sflow", "exporters", "netflow-ipfix"] {
        files.extend(files_in(&data.join(dir), |n| n.ends_with(".pcap")));
    }
    for dir in ["dns", "fragments", "icmp", "mpls", "tcp", "tunnels", "vlan"] {
        files.extend(files_in(&data.join("packets").join(dir), |n| {
            n.ends_with(".pcap")
        }));
    }
    // The repository's own fixtures add a dropped-packet notification (extended_acl).
    // (Files only: `testdata/captures/` is the in-repository part of the shared set.)
    files.extend(files_in(&workspace_dir().join("testdata"), |n| {
        !n.ends_with(".md") && n != "captures"
    }));
    files.sort_by_key(|f| (!f.to_string_lossy().contains("template"), f.clone()));
    let mut args: Vec<String> = ["top", "--totals", "--json", "-q", "--max-flows", "1"]
        .map(String::from)
        .to_vec();
    for k in &keys {
        args.push("--flow".into());
        let dropped = DROPPED.contains(&k.as_str());
        args.push(format!(
            "{k}={{keys:'{k}',value:'frames',dropped:{dropped}}}"
        ));
    }
    args.extend(files.iter().map(|f| f.to_string_lossy().to_string()));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = flowlens(&argv);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut missing = Vec::new();
    for k in &keys {
        let seen = !doc[k.as_str()].as_array().unwrap().is_empty();
        match ABSENT.iter().find(|(a, _)| a == k) {
            Some((_, why)) => assert!(!seen, "{k} now appears: remove it from ABSENT ({why})"),
            None if !seen => missing.push(k.clone()),
            None => {}
        }
    }
    assert!(
        missing.is_empty(),
        "documented keys never produced: {missing:?}"
    );
}
