//! `flowlens top --totals` against tshark on the real captures.
//!
//! * Raw packet captures (`../shared/data/packets/*/`): per IPv4 and per IPv6 conversation,
//!   the frames and bytes flowlens counts equal tshark's conversation tables (`tshark -q -z
//!   conv,ip`, `-z conv,ipv6`). tshark
//!   lists every IP header of a frame (outer and tunnelled), so flowlens is asked for
//!   `ipsource,ipdestination` at tunnel depths 0..3 and the directions of a pair are summed.
//!   tshark prints bytes exactly below 10,000 and rounded to kB/MB above; those are compared
//!   at tshark's precision and, exactly, against the sum of `frame.len` per pair from tshark's
//!   own fields.
//! * sFlow captures: the estimates equal the hand-computed sum of frame_length × sampling
//!   rate (and 1 × rate for frames) over tshark's decode of every flow sample.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::{files_in, flowlens};

type Pair = (String, String);

/// Captures where tshark and flowlens see different conversations, and why. The test checks
/// that each still differs, so the list cannot go stale.
const JUSTIFIED: &[(&str, &str)] = &[
    (
        "akvorado__mpls-eompls-cw.pcap",
        "Ethernet over MPLS with a control word: tshark needs 'decode as' for the pseudowire and \
         stops at the MPLS payload; flowlens walks the inner Ethernet/IPv4 (10.31.0.1 <-> 10.34.0.1)",
    ),
    (
        "tcpdump__various_gre.pcap",
        "GRE protocol 0x8909 (Cisco MetaData) carrying IPv4: tshark decodes it, flowlens stops at \
         GRE for this non-tunnel payload type",
    ),
];

/// An IP version: tshark's conversation table and address fields, flowlens's keys, and the
/// protocol chain of an address quoted in an ICMP error.
struct Family {
    conv: &'static str,
    src_field: &'static str,
    dst_field: &'static str,
    src_key: &'static str,
    dst_key: &'static str,
    quoted: &'static str,
}

const IPV4: Family = Family {
    conv: "conv,ip",
    src_field: "ip.src",
    dst_field: "ip.dst",
    src_key: "ipsource",
    dst_key: "ipdestination",
    quoted: ":icmp:ip",
};

const IPV6: Family = Family {
    conv: "conv,ipv6",
    src_field: "ipv6.src",
    dst_field: "ipv6.dst",
    src_key: "ip6source",
    dst_key: "ip6destination",
    quoted: ":icmpv6:ipv6",
};

/// IPv6 captures of fragmented datagrams: with reassembly off, tshark's IPv6 conversation
/// tap counts only a datagram's first fragment, while its field decode shows the IPv6 header
/// of every fragment, and flowlens counts every fragment. There the totals are compared with
/// tshark's field decode (frame lengths per pair) instead, and the conversation table must
/// still count fewer frames (so the entry cannot go stale).
const IPV6_FRAGMENTED: &[&str] = &[
    "suricata-verify__frag-rawipv6-tcp.pcap",
    "zeek__ipv6-fragmented-dns.pcap",
];

fn pair(a: &str, b: &str) -> Pair {
    if a <= b {
        (a.to_string(), b.to_string())
    } else {
        (b.to_string(), a.to_string())
    }
}

/// flowlens totals per unordered pair: (frames, bytes).
fn flowlens_pairs(file: &Path, fam: &Family) -> BTreeMap<Pair, (u64, u64)> {
    let mut args = vec![
        "top".to_string(),
        "--totals".into(),
        "--json".into(),
        "-q".into(),
    ];
    args.push("--max-flows".into());
    args.push("1000000".into());
    for d in 0..4 {
        let sfx = if d == 0 {
            String::new()
        } else {
            format!(".{d}")
        };
        for v in ["frames", "bytes"] {
            args.push("--flow".into());
            args.push(format!(
                "{v}{d}={{keys:'{}{sfx},{}{sfx}',value:'{v}'}}",
                fam.src_key, fam.dst_key
            ));
        }
    }
    args.push(file.to_str().unwrap().into());
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = flowlens(&argv);
    assert!(
        out.status.success(),
        "{}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut m: BTreeMap<Pair, (u64, u64)> = BTreeMap::new();
    for (name, rows) in doc.as_object().unwrap() {
        for r in rows.as_array().unwrap() {
            let key = r["key"].as_str().unwrap();
            let (a, b) = key.split_once(',').unwrap();
            let v = r["value"].as_f64().unwrap();
            assert_eq!(v.fract(), 0.0, "{key}: {v}");
            let e = m.entry(pair(a, b)).or_default();
            if name.starts_with("frames") {
                e.0 += v as u64;
            } else {
                e.1 += v as u64;
            }
        }
    }
    m
}

/// A tshark byte cell: exact ("9800 bytes") or rounded ("29 kB").
#[derive(Debug)]
enum Bytes {
    Exact(u64),
    Rounded(u64, u64),
}

fn tshark_conv(file: &Path, fam: &Family) -> BTreeMap<Pair, (u64, Bytes)> {
    let out = Command::new("tshark")
        .args([
            "-n",
            "-q",
            "-o",
            "ip.defragment:FALSE",
            "-o",
            "ipv6.defragment:FALSE",
            "-z",
            fam.conv,
            "-r",
        ])
        .arg(file)
        .output()
        .expect("tshark");
    assert!(
        out.status.success(),
        "tshark -z {} {}: {}",
        fam.conv,
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut m = BTreeMap::new();
    for line in text.lines().filter(|l| l.contains("<->")) {
        let t: Vec<&str> = line.split_whitespace().collect();
        // a <-> b  f1 n1 u1  f2 n2 u2  F N U  start dur
        let (a, b) = (t[0], t[2]);
        let frames: u64 = t[9].parse().unwrap();
        let n: u64 = t[10].parse().unwrap();
        let bytes = match t[11] {
            "bytes" => Bytes::Exact(n),
            "kB" => Bytes::Rounded(n, 1000),
            "MB" => Bytes::Rounded(n, 1_000_000),
            u => panic!("unit {u} in {line}"),
        };
        m.insert(pair(a, b), (frames, bytes));
    }
    m
}

/// Sum of frame.len per unordered pair over every IP header of the family in each frame
/// (tshark fields).
fn tshark_field_bytes(file: &Path, fam: &Family) -> BTreeMap<Pair, u64> {
    let out = Command::new("tshark")
        .args([
            "-n",
            "-o",
            "ip.defragment:FALSE",
            "-o",
            "ipv6.defragment:FALSE",
            "-r",
        ])
        .arg(file)
        .args([
            "-T",
            "fields",
            "-E",
            "occurrence=a",
            "-E",
            "aggregator=/",
            "-e",
            "frame.len",
            "-e",
            fam.src_field,
            "-e",
            fam.dst_field,
            "-e",
            "frame.protocols",
        ])
        .output()
        .expect("tshark");
    assert!(
        out.status.success(),
        "tshark -T fields {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut m = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() < 3 || f[1].is_empty() {
            continue;
        }
        let len: u64 = f[0].parse().unwrap();
        let mut ips: Vec<(&str, &str)> = f[1]
            .split(['/', '\\'])
            .zip(f[2].split(['/', '\\']))
            .collect();
        // The IP header quoted in an ICMP error is not a conversation (tshark's tap skips it).
        if f.get(3).is_some_and(|p| p.contains(fam.quoted)) {
            ips.pop();
        }
        for (s, d) in ips {
            *m.entry(pair(s, d)).or_default() += len;
        }
    }
    m
}

/// Compares every raw capture's totals per conversation of `fam` with tshark's; returns
/// (files checked, conversations compared, conversations tshark rounded).
fn compare_conversations(fam: &Family) -> (usize, usize, usize) {
    let data = common::corpus_dir();
    let mut checked = 0;
    let mut pairs = 0;
    let mut rounded = 0;
    let mut diffs = Vec::new();
    for dir in ["dns", "fragments", "icmp", "mpls", "tcp", "tunnels", "vlan"] {
        for file in files_in(&data.join("packets").join(dir), |n| n.ends_with(".pcap")) {
            let ours = flowlens_pairs(&file, fam);
            let conv = tshark_conv(&file, fam);
            let field_bytes = tshark_field_bytes(&file, fam);
            let name = file.file_name().unwrap().to_string_lossy().to_string();
            // A file where tshark sees no conversation must hold no frame of the family at all
            // (by tshark's own field decode), so an empty table is not a silent pass.
            if conv.is_empty() {
                assert!(
                    field_bytes.is_empty(),
                    "{}: tshark's {} table is empty but it decodes such frames",
                    file.display(),
                    fam.conv
                );
            }
            if fam.conv == IPV6.conv && IPV6_FRAGMENTED.contains(&name.as_str()) {
                assert_eq!(
                    ours.iter().map(|(p, (_, b))| (p, *b)).collect::<Vec<_>>(),
                    field_bytes.iter().map(|(p, b)| (p, *b)).collect::<Vec<_>>(),
                    "{name}: bytes per pair vs tshark's frame.len sums"
                );
                assert!(
                    conv.iter()
                        .any(|(p, (f, _))| ours.get(p).is_some_and(|o| o.0 > *f)),
                    "{name} now agrees with tshark's IPv6 conversations: remove it from \
                     IPV6_FRAGMENTED"
                );
                continue;
            }
            let ours_keys: Vec<_> = ours.keys().collect();
            let conv_keys: Vec<_> = conv.keys().collect();
            if let Some((_, why)) = JUSTIFIED
                .iter()
                .find(|(f, _)| *f == name && fam.conv == IPV4.conv)
            {
                assert_ne!(
                    ours_keys, conv_keys,
                    "{name} now agrees with tshark: remove it from JUSTIFIED ({why})"
                );
                continue;
            }
            if ours_keys != conv_keys {
                diffs.push(format!("{name}: ours {ours_keys:?} tshark {conv_keys:?}"));
                continue;
            }
            for (p, (frames, bytes)) in &conv {
                let (f, b) = ours[p];
                if f != *frames {
                    diffs.push(format!("{name} {p:?}: frames {f} vs {frames}"));
                    continue;
                }
                match bytes {
                    Bytes::Exact(n) => assert_eq!(b, *n, "{name} {p:?}: bytes"),
                    Bytes::Rounded(n, unit) => {
                        if (b as f64 / *unit as f64 - *n as f64).abs() > 1.0 {
                            diffs.push(format!("{name} {p:?}: {b} vs {n}×{unit}"));
                            continue;
                        }
                        // Exactly, against tshark's own frame lengths.
                        assert_eq!(
                            Some(&b),
                            field_bytes.get(p),
                            "{name} {p:?}: bytes vs tshark frame.len sum"
                        );
                        rounded += 1;
                    }
                }
                pairs += 1;
            }
            checked += 1;
        }
    }
    assert!(diffs.is_empty(), "{}: {}", fam.conv, diffs.join("\n"));
    (checked, pairs, rounded)
}

#[test]
fn raw_capture_totals_equal_tshark_conversations() {
    let (checked, pairs, rounded) = compare_conversations(&IPV4);
    assert!(
        checked > 50 && pairs > 100 && rounded > 5,
        "{checked} files, {pairs} conversations, {rounded} rounded by tshark"
    );
}

#[test]
fn raw_capture_ipv6_totals_equal_tshark_conversations() {
    let (checked, pairs, rounded) = compare_conversations(&IPV6);
    eprintln!("IPv6: {checked} files, {pairs} conversations, {rounded} rounded by tshark");
    assert!(
        pairs > 10,
        "{checked} files, {pairs} IPv6 conversations, {rounded} rounded by tshark"
    );
}

/// Σ rate and Σ rate × frame_length over tshark's decode of every flow sample of `file`;
/// the byte sum is `None` when some flow sample has no sampled header (tshark then gives no
/// frame length to pair with its rate).
fn tshark_sflow_sums(file: &Path) -> (u64, Option<u64>) {
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(file)
        .args([
            "-Y",
            "sflow",
            "-T",
            "fields",
            "-E",
            "occurrence=a",
            "-E",
            "aggregator=/",
        ])
        .args([
            "-e",
            "sflow.flow_sample.sampling_rate",
            "-e",
            "sflow_245.header.frame_length",
        ])
        .output()
        .expect("tshark");
    let (mut frames, mut bytes, mut paired) = (0u64, 0u64, true);
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let rates: Vec<u64> = f[0]
            .split(['/', '\\'])
            .filter(|x| !x.is_empty())
            .map(|x| x.parse().unwrap())
            .collect();
        let lens: Vec<u64> = f
            .get(1)
            .unwrap_or(&"")
            .split(['/', '\\'])
            .filter(|x| !x.is_empty())
            .map(|x| x.parse().unwrap())
            .collect();
        frames += rates.iter().sum::<u64>();
        if rates.len() == lens.len() {
            bytes += rates.iter().zip(&lens).map(|(r, l)| r * l).sum::<u64>();
        } else {
            paired = false;
        }
    }
    (frames, paired.then_some(bytes))
}

#[test]
fn sflow_estimates_equal_sample_times_rate_sums() {
    let data = common::corpus_dir();
    let (mut checked, mut with_bytes) = (0, 0);
    let mut files = files_in(&data.join("sflow"), |n| n.ends_with(".pcap"));
    files.extend(files_in(&data.join("exporters"), |n| {
        n.starts_with("sflow-") && n.ends_with(".pcap")
    }));
    let mut diffs = Vec::new();
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let (frames, bytes) = tshark_sflow_sums(&file);
        if frames == 0 {
            continue;
        }
        let out = flowlens(&[
            "top",
            "--totals",
            "--json",
            "-q",
            "--flow",
            "f={value:'frames'}",
            "--flow",
            "b={value:'bytes'}",
            file.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{name}");
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let total = |n: &str| doc[n][0]["value"].as_f64().unwrap_or(0.0) as u64;
        if total("f") != frames {
            diffs.push(format!("{name}: frames {} vs tshark {frames}", total("f")));
        }
        if let Some(b) = bytes {
            if total("b") != b {
                diffs.push(format!("{name}: bytes {} vs tshark {b}", total("b")));
            }
            with_bytes += 1;
        }
        checked += 1;
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
    // From a plain clone akvorado's sFlow captures (only in ../shared/data) are not there.
    let (least, least_bytes) = if common::shared_data().is_some() {
        (8, 5)
    } else {
        (4, 4)
    };
    assert!(
        checked >= least && with_bytes >= least_bytes,
        "{checked} files, {with_bytes} with bytes"
    );
}

/// `--totals` gives each total its 95 % interval from undecayed variance sums: for frames
/// sampled 1-in-N it is `1.96 × sqrt(total × (N − 1))` (each sample adds `N(N − 1)`), so on
/// Open vSwitch's 1-in-10 capture it follows from the total alone, whatever the capture's
/// length; unsampled packets have none.
#[test]
fn totals_carry_their_95_percent_interval() {
    let cap = crate::run_support::exporter_capture("sflow-ovs-br0.pcap");
    let out = flowlens(&[
        "top",
        "--totals",
        "--json",
        "-q",
        "--flow",
        "f={keys:'ipsource',value:'frames'}",
        cap.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = doc.as_array().unwrap();
    assert!(rows.len() >= 3, "{doc}");
    for r in rows {
        let (total, ci) = (r["value"].as_f64().unwrap(), r["ci95"].as_f64().unwrap());
        let want = 1.96 * (total * 9.0).sqrt();
        assert!((ci - want).abs() < 1e-6 * want, "{r}: {ci} vs {want}");
    }
    let vxlan = common::workspace_dir().join("testdata/zeek__vxlan.pcap");
    let out = flowlens(&[
        "top",
        "--totals",
        "--json",
        "-q",
        "--value",
        "frames",
        vxlan.to_str().unwrap(),
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc[0]["ci95"], 0.0, "{doc}");
}
