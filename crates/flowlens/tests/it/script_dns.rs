//! The article's `dns_queries.js` ("DNS amplification attacks") under `flowlens run --script`,
//! unchanged: real DNS captures replayed by pmacct's `pmacctd` sfprobe (sFlow, 1-in-1) make its
//! `dnsqueries` flow show every query type the captures hold, as tshark names them. No
//! capture asks for ANY, so the test writes DNS ANY queries itself (the message laid out from
//! RFC 1035 §4.1, in a UDP/IPv4/Ethernet frame), has tshark confirm what they are, replays
//! them through the same exporter and requires the script's ANY flows (`dnsqany` by name,
//! `dnsqanytot`) to hold exactly the names tshark reads.

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

/// `packets/dns/<name>`: the repository's copy (all three are in `testdata/captures`), else
/// `../shared/data`'s.
fn capture(name: &str) -> PathBuf {
    common::data_file(&format!("packets/dns/{name}"))
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
    // Before any ANY query has been sent, the ANY flows are empty.
    let got = server.wait_for("/activeflows/ALL/dnsqueries/json", |f| {
        f.as_array().unwrap().len() >= expected.len()
    });
    assert_eq!(
        server.get_json("/activeflows/ALL/dnsqany/json"),
        serde_json::json!([])
    );
    assert_eq!(
        server.get_json("/activeflows/ALL/dnsqanytot/json"),
        serde_json::json!([])
    );
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

    // Now real ANY queries, through the same exporter.
    let any_pcap = dir.join("any-queries.pcap");
    std::fs::write(&any_pcap, any_query_pcap(ANY_NAMES)).unwrap();
    let (types, any_type_names) = tshark_query_types(&any_pcap);
    assert_eq!(types, vec![255; ANY_NAMES.len()], "tshark: not ANY queries");
    let names = tshark_any_names(&any_pcap);
    assert_eq!(names.len(), ANY_NAMES.len(), "{names:?}");
    let sub = dir.join("any");
    std::fs::create_dir_all(&sub).unwrap();
    replay_sfprobe(&sub, &any_pcap, server.ports.sflow, "127.0.0.9");
    // sFlow-RT shows names fully qualified, with the trailing dot.
    let expected_any: BTreeSet<String> = names.iter().map(|n| format!("{n}.")).collect();
    let any = server.wait_for("/activeflows/ALL/dnsqany/json", |f| {
        f.as_array().unwrap().len() >= expected_any.len()
    });
    let keys: BTreeSet<String> = any
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(keys, expected_any);
    for f in any.as_array().unwrap() {
        assert!(f["value"].as_f64().unwrap() > 0.0, "{f}");
    }
    let tot = server.wait_for("/activeflows/ALL/dnsqanytot/json", |f| {
        !f.as_array().unwrap().is_empty()
    });
    assert_eq!(tot.as_array().unwrap().len(), 1, "{tot}");
    assert!(tot[0]["value"].as_f64().unwrap() > 0.0, "{tot}");
    // The ANY queries also show in the query-type flow. tshark names type 255 by IANA's
    // mnemonic `*`; flowlens (as dig and sFlow-RT users write it) `ANY`: the one name
    // this test maps.
    assert_eq!(any_type_names[&255], "*");
    let any_name = "ANY";
    server.wait_for("/activeflows/ALL/dnsqueries/json", |f| {
        f.as_array().unwrap().iter().any(|q| q["key"] == any_name)
    });
    assert_eq!(script_status(&server, "dns_queries.js")["alive"], true);
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The names the test's ANY queries ask for; the first twice, so one key counts two frames.
const ANY_NAMES: &[&str] = &["example.org", "example.org", "isc.org"];

/// A classic pcap (Ethernet) of one DNS ANY query over UDP/IPv4 per name, then one plain UDP
/// frame (pmacct's sfprobe never samples a savefile's last frame). The DNS message follows
/// RFC 1035 §4.1: a 12-byte header (ID, flags with RD set, QDCOUNT 1, AN/NS/ARCOUNT 0), then
/// the question: QNAME as length-prefixed labels ending in the root's zero length, QTYPE 255
/// (`*`, "a request for all records", §3.2.3), QCLASS 1 (IN).
fn any_query_pcap(names: &[&str]) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    p.extend_from_slice(&2u16.to_le_bytes());
    p.extend_from_slice(&4u16.to_le_bytes());
    for w in [0u32, 0, 65535, 1] {
        p.extend_from_slice(&w.to_le_bytes());
    }
    let mut payloads: Vec<Vec<u8>> = names
        .iter()
        .zip(1u16..)
        .map(|(name, id)| {
            let mut m = Vec::new();
            for w in [id, 0x0100, 1, 0, 0, 0] {
                m.extend_from_slice(&w.to_be_bytes());
            }
            for label in name.split('.') {
                m.push(u8::try_from(label.len()).unwrap());
                m.extend_from_slice(label.as_bytes());
            }
            m.push(0);
            m.extend_from_slice(&255u16.to_be_bytes());
            m.extend_from_slice(&1u16.to_be_bytes());
            m
        })
        .collect();
    // The trailing frame: UDP to a port that is no DNS.
    payloads.push(vec![0; 8]);
    let last = payloads.len() - 1;
    for (i, payload) in payloads.iter().enumerate() {
        let dport: u16 = if i == last { 9 } else { 53 };
        let udp_len = u16::try_from(8 + payload.len()).unwrap();
        let mut f = Vec::new();
        f.extend_from_slice(&[0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1]);
        f.extend_from_slice(&0x0800u16.to_be_bytes());
        let mut ip = vec![0x45, 0];
        ip.extend_from_slice(&(20 + udp_len).to_be_bytes());
        ip.extend_from_slice(&[0, 0, 0x40, 0, 64, 17, 0, 0, 192, 0, 2, 1, 192, 0, 2, 53]);
        let sum = ip
            .chunks(2)
            .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
            .sum::<u32>();
        let sum = !(((sum & 0xffff) + (sum >> 16)) as u16);
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        f.extend_from_slice(&ip);
        f.extend_from_slice(&(40000 + u16::try_from(i).unwrap()).to_be_bytes());
        f.extend_from_slice(&dport.to_be_bytes());
        f.extend_from_slice(&udp_len.to_be_bytes());
        f.extend_from_slice(&[0, 0]);
        f.extend_from_slice(payload);
        let len = u32::try_from(f.len()).unwrap();
        let ts = 1_700_000_000 + u32::try_from(i).unwrap();
        for w in [ts, 0, len, len] {
            p.extend_from_slice(&w.to_le_bytes());
        }
        p.extend_from_slice(&f);
    }
    p
}

/// The question names of the ANY queries in `pcap`, as tshark decodes them.
fn tshark_any_names(pcap: &Path) -> Vec<String> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(pcap)
        .args(["-Y", "dns.flags.response==0 && dns.qry.type==255"])
        .args(["-T", "fields", "-e", "dns.qry.name"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}
