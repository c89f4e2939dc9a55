//! Field-level comparison of the NetFlow v5 / v9 / IPFIX decoders with tshark 4.0 over every
//! NetFlow/IPFIX datagram of `/work/shared/data` (see its PROVENANCE.md).
//!
//! All datagrams are re-wrapped, in feed order, into one temporary Ethernet/IPv4/UDP pcap to
//! port 2055 (so tshark needs no decode-as and learns templates from earlier frames exactly as
//! our test-local store does; each template group gets its own source addresses). For every
//! frame, the sequence of values of each compared tshark field (in record order) must equal the
//! sequence our decoder produces, except for the differences listed in [`KNOWN`], each with its
//! reason, each of which must still occur.

use crate::common::netflow as util;

use flowlens_wire::netflow::ie::be_uint;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::process::Command;

/// Compared tshark fields and the IANA elements each one shows (tshark shows tcp/udp
/// source/destination ports 180-183 as `cflow.srcport` / `cflow.dstport` too). RFC 5103 reverse
/// elements (PEN 29305) of the same ids land in the same tshark fields.
const FIELDS: &[(&str, &[u16])] = &[
    ("cflow.srcaddr", &[8]),
    ("cflow.dstaddr", &[12]),
    ("cflow.srcaddrv6", &[27]),
    ("cflow.dstaddrv6", &[28]),
    ("cflow.srcport", &[7, 180, 182]),
    ("cflow.dstport", &[11, 181, 183]),
    ("cflow.protocol", &[4]),
    ("cflow.packets", &[2]),
    ("cflow.octets", &[1]),
    ("cflow.tcpflags", &[6]),
    ("cflow.inputint", &[10]),
    ("cflow.outputint", &[14]),
];

/// Header and framing fields compared as well.
const FRAMING: &[&str] = &["cflow.flowset_id", "cflow.template_id", "cflow.count"];

/// Justified differences: (file name fragment, tshark field or `*` for all, reason). Every
/// mismatch must be covered by one entry, and every entry must still cover at least one
/// mismatch.
const KNOWN: &[(&str, &str, &str)] = &[
    (
        "netflow5_test_invalid0",
        "*",
        "NetFlow v5 count (55582 / 163) claims more 48-byte records than the 1464-byte datagram \
         holds: we reject the datagram (Invalid count), tshark dissects the 30 records that fit",
    ),
    (
        "netflow9_test_invalid01.dat",
        "*",
        "header count is 2 but the packet holds 9 records (2 templates, 1 options template, \
         6 data records): tshark stops after `count` records, we frame flowsets by their \
         lengths (RFC 3954 section 5.1: count is informational) and decode them all",
    ),
    (
        "netflow9_test_h3c_data3281.dat",
        "*",
        "H3C template 3281 declares ipv4RouterSc (IE 43, an IPv4 address) with length 2: tshark \
         throws 'IPv4 address with length 2' in the first record and abandons the packet; the \
         framing is sound (16 flowsets of 84 bytes), so we decode all 16 records and render \
         that one field as hex",
    ),
];

fn render(id: u16, b: &[u8]) -> String {
    match (id, b.len()) {
        (8 | 12, 4) => Ipv4Addr::new(b[0], b[1], b[2], b[3]).to_string(),
        (27 | 28, 16) => Ipv6Addr::from(<[u8; 16]>::try_from(b).unwrap()).to_string(),
        _ => be_uint(b).map_or_else(|| format!("{b:02x?}"), |v| v.to_string()),
    }
}

#[test]
fn every_datagram_matches_tshark_field_by_field() {
    let groups = util::corpus();
    let dir = std::env::temp_dir().join(format!("flowlens-nf-tshark-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pcap = dir.join("all.pcap");
    let index = util::write_pcap(&groups, &pcap);

    let mut cmd = Command::new("tshark");
    cmd.arg("-r")
        .arg(&pcap)
        .args(["-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,"]);
    for f in FRAMING.iter().copied().chain(FIELDS.iter().map(|f| f.0)) {
        cmd.args(["-e", f]);
    }
    let out = cmd
        .output()
        .expect("tshark (Wireshark 4.0) must be installed for this test");
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_dir_all(&dir).ok();
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), index.len(), "tshark frame count");

    // Our decode, group by group, in feed order.
    let mut decoded: Vec<Vec<util::Decoded>> = Vec::new();
    for g in &groups {
        let mut store = util::Store::default();
        decoded.push(
            g.datagrams
                .iter()
                .map(|d| store.decode(d.exporter, &d.payload))
                .collect(),
        );
    }

    let names: Vec<&str> = FRAMING
        .iter()
        .copied()
        .chain(FIELDS.iter().map(|f| f.0))
        .collect();
    let mut mismatches: BTreeMap<(String, &str), Vec<String>> = BTreeMap::new();
    let mut compared = 0usize;
    for (line, &(gi, di)) in lines.iter().zip(&index) {
        let dg = &groups[gi].datagrams[di];
        let d = &decoded[gi][di];
        let cols: Vec<&str> = line.split('\t').collect();
        for (i, name) in names.iter().enumerate() {
            // tshark prints TCP flags in hex; everything else compared is decimal or an address.
            let theirs: Vec<String> = cols
                .get(i)
                .filter(|c| !c.is_empty())
                .map(|c| {
                    c.split(',')
                        .map(|v| match v.strip_prefix("0x") {
                            Some(h) => u64::from_str_radix(h, 16).unwrap().to_string(),
                            None => v.to_string(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let ours: Vec<String> = match *name {
                "cflow.flowset_id" => d.sets.iter().map(u16::to_string).collect(),
                // Template records, and templateId (IE 145) values in options data.
                "cflow.template_id" => d
                    .templates
                    .iter()
                    .map(|t| t.1.to_string())
                    .chain(d.records.iter().flat_map(|r| {
                        r.fields
                            .iter()
                            .filter(|(s, _)| s.id == 145 && s.enterprise == 0)
                            .map(|(_, b)| render(145, b))
                    }))
                    .collect(),
                "cflow.count" => match d.version {
                    5 | 9 => vec![be_uint(&dg.payload[2..4]).unwrap().to_string()],
                    _ => vec![],
                },
                _ => {
                    let ids = FIELDS.iter().find(|f| f.0 == *name).unwrap().1;
                    d.records
                        .iter()
                        .flat_map(|r| {
                            r.fields
                                .iter()
                                .filter(move |(s, _)| {
                                    ids.contains(&s.id)
                                        && (s.enterprise == 0 || s.enterprise == 29305)
                                        && !(s.scope && d.version == 9)
                                })
                                .map(move |(s, b)| render(s.id, b))
                        })
                        .collect()
                }
            };
            compared += ours.len();
            if ours != theirs {
                mismatches
                    .entry((dg.file.clone(), *name))
                    .or_default()
                    .push(format!("#{} ours {ours:?} tshark {theirs:?}", dg.frame));
            }
        }
    }
    assert!(compared > 10_000, "compared only {compared} values");

    let mut unexplained = Vec::new();
    let mut used = vec![false; KNOWN.len()];
    for ((file, field), list) in &mismatches {
        match KNOWN
            .iter()
            .position(|(f, fld, _)| file.contains(f) && (*fld == "*" || fld == field))
        {
            Some(k) => used[k] = true,
            None => unexplained.push(format!(
                "{file} {field}: {} frame(s), first {}",
                list.len(),
                list[0]
            )),
        }
    }
    assert!(
        unexplained.is_empty(),
        "{} unexplained difference(s) with tshark:\n{}",
        unexplained.len(),
        unexplained.join("\n")
    );
    for (k, (f, fld, why)) in KNOWN.iter().enumerate() {
        assert!(
            used[k],
            "listed tshark difference no longer occurs: {f} {fld} ({why})"
        );
    }
}
