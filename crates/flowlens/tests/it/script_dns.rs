//! The article's `dns_queries.js` ("DNS amplification attacks") under `flowlens run --script`,
//! unchanged: real DNS captures replayed by pmacct's `pmacctd` sfprobe (sFlow, 1-in-1) make its
//! `dnsqueries` flow show every query type the captures hold, as tshark names them, and its
//! ANY-query flows stay empty because no capture asks for ANY.

use crate::common;
use crate::run_support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use run_support::pmacctd::replay_sfprobe;
use run_support::seed::script_status;
use run_support::{temp_dir, Server};

const CAPTURES: &[&str] = &[
    "suricata-verify__dns-udp-google-a-aaaa-mx.pcap",
    "tcpdump__dnssec.pcap",
    "zeek__dns-txt-multiple.pcap",
];

fn capture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/packets/dns")
        .join(name)
}

/// tshark's decode of the queries (not responses) of `pcap`: query type numbers, and the
/// names tshark gives them (`Type: MX (Mail eXchange) (15)`).
fn tshark_query_types(pcap: &Path) -> (Vec<u64>, BTreeMap<u64, String>) {
    let run = |args: &[&str]| {
        let out = Command::new("tshark")
            .arg("-r")
            .arg(pcap)
            .args(["-Y", "dns.flags.response==0"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let types: Vec<u64> = run(&["-T", "fields", "-e", "dns.qry.type"])
        .split_whitespace()
        .flat_map(|l| l.split(','))
        .map(|t| t.parse().unwrap())
        .collect();
    let mut names = BTreeMap::new();
    for line in run(&["-V"]).lines() {
        let Some(rest) = line.trim().strip_prefix("Type: ") else {
            continue;
        };
        let Some(num) = rest
            .rsplit_once('(')
            .and_then(|(_, n)| n.strip_suffix(')'))
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        let name = rest.split_whitespace().next().unwrap().to_string();
        names.insert(num, name);
    }
    (types, names)
}

#[test]
fn dns_queries_js_tracks_query_types_of_real_captures() {
    if common::shared_file_or_skip(
        "script_dns::dns_queries_js_tracks_query_types_of_real_captures",
        "sflow-rt-scripts",
    )
    .is_none()
    {
        return;
    }
    if common::shared_file_or_skip(
        "script_dns::dns_queries_js_tracks_query_types_of_real_captures",
        "data/packets/dns",
    )
    .is_none()
    {
        return;
    }
    let dir = temp_dir("script-dns");
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/sflow-rt-scripts/dns_queries.js");
    let server = Server::start_with(&dir.join("state"), &["--script", script.to_str().unwrap()]);
    server.wait_for("/flow/json", |f| f.get("dnsqanytot").is_some());

    let mut expected = BTreeSet::new();
    let mut any_queries = 0;
    for name in CAPTURES {
        let pcap = capture(name);
        let (types, names) = tshark_query_types(&pcap);
        assert!(!types.is_empty(), "{name}: no queries");
        for t in types {
            any_queries += usize::from(t == 255);
            expected.insert(names.get(&t).cloned().unwrap_or_else(|| t.to_string()));
        }
        let sub = dir.join(name);
        std::fs::create_dir_all(&sub).unwrap();
        replay_sfprobe(&sub, &pcap, server.ports.sflow, "127.0.0.9");
    }
    assert_eq!(
        any_queries, 0,
        "a capture holds ANY queries: extend the test"
    );
    let got = server.wait_for("/activeflows/ALL/dnsqueries/json", |f| {
        f.as_array().unwrap().len() >= expected.len()
    });
    let keys: BTreeSet<String> = got
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(keys, expected);
    assert!(
        expected.contains("MX") && expected.contains("SSHFP"),
        "{expected:?}"
    );
    for f in got.as_array().unwrap() {
        assert!(f["value"].as_f64().unwrap() > 0.0, "{f}");
    }
    assert_eq!(
        server.get_json("/activeflows/ALL/dnsqany/json"),
        serde_json::json!([])
    );
    assert_eq!(
        server.get_json("/activeflows/ALL/dnsqanytot/json"),
        serde_json::json!([])
    );
    assert_eq!(script_status(&server, "dns_queries.js")["alive"], true);
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}
