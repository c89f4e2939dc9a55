//! `flowlens decode --format json` against tshark, field by field, on every sFlow capture and
//! payload in `../shared/data`.
//!
//! tshark picks the frames (`-Y sflow`, the corpus's sFlow ports decoded as sFlow), and the
//! frames flowlens takes for sFlow must be exactly those, file by file. Records tshark 4.0
//! does not decode (Open vSwitch, Host sFlow, application, tunnel and drop-reason records)
//! are decoded in this test from the datagram's bytes by their specifications' layouts
//! ([`SPEC_RECORDS`]) and compared with flowlens's fields.
//!
//! For each datagram both sides produce, per tshark field, the list of every occurrence in
//! document order (`-E occurrence=a`): datagram header, sample headers (sequence, source id,
//! sampling rate, sample pool, drops, input/output interfaces including the discard /
//! multiple / internal encodings), record formats, sampled-header metadata (protocol, frame
//! length, stripped, header length), extended switch/router/gateway fields, interface
//! counters (generic, Ethernet, VLAN, processor: every field tshark shows), sampled
//! Ethernet/IPv4 records, extended user and URL records, and the decoded sampled headers
//! (MACs, VLANs, addresses at every tunnel depth, ports, TCP flags, ICMP type/code, DNS
//! question, VXLAN/GRE/ERSPAN/Geneve ids). The lists must be equal.
//!
//! Where tshark 4.0 is wrong or decodes differently, the difference is listed in
//! [`KNOWN_DIFFERENCES`] with the reason, and the value is checked against the specification
//! in `flowlens-wire`'s tests instead. Every listed difference must still occur, so the list
//! cannot go stale.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value as Json;

use common::{decode_json, files_in};

/// tshark fields compared, with all occurrences per datagram.
const FIELDS: &[&str] = &[
    "sflow_245.agent",
    "sflow_245.agent.v6",
    "sflow_245.sub_agent_id",
    "sflow_245.sequence_number",
    "sflow_245.sysuptime",
    "sflow_245.numsamples",
    "sflow_245.sampletype",
    "sflow.flow_sample.sequence_number",
    "sflow.flow_sample.source_id_class",
    "sflow.flow_sample.index",
    "sflow.flow_sample.source_id_type",
    "sflow.flow_sample.source_id_index",
    "sflow.flow_sample.sampling_rate",
    "sflow.flow_sample.sample_pool",
    "sflow.flow_sample.dropped_packets",
    "sflow.flow_sample.input_interface",
    "sflow.flow_sample.output_interface",
    "sflow.flow_sample.multiple_outputs",
    "sflow.flow_sample.input_interface_format",
    "sflow.flow_sample.input_interface_value",
    "sflow.flow_sample.output_interface_format",
    "sflow.flow_sample.output_interface_value",
    "sflow.counters_sample.sequence_number",
    "sflow.counters_sample.source_id_type",
    "sflow.counters_sample.source_id_index",
    "sflow_245.flow_record_format",
    "sflow_245.counters_record_format",
    "sflow_245.header_protocol",
    "sflow_245.header.frame_length",
    "sflow_245.header.payload_stripped",
    "sflow_245.header.sampled_header_length",
    "sflow_245.vlan.in",
    "sflow_245.vlan.out",
    "sflow_245.pri.in",
    "sflow_245.pri.out",
    "sflow_245.nexthop",
    "sflow_245.nexthop.src_mask",
    "sflow_245.nexthop.dst_mask",
    "sflow_245.as",
    "sflow_245.srcAS",
    "sflow_245.peerAS",
    "sflow_245.dstAS",
    "sflow_245.localpref",
    // Counter record 1, generic interface counters.
    "sflow_245.ifindex",
    "sflow_245.iftype",
    "sflow_245.ifspeed",
    "sflow_245.ifdirection",
    "sflow_245.ifadmin_status",
    "sflow_245.ifoper_status",
    "sflow_245.ifinoct",
    "sflow_245.ifinpkt",
    "sflow_245.ifinmcast",
    "sflow_245.ifinbcast",
    "sflow_245.ifindisc",
    "sflow_245.ifinerr",
    "sflow_245.ifinunk",
    "sflow_245.ifoutoct",
    "sflow_245.ifoutpkt",
    "sflow_245.ifoutmcast",
    "sflow_245.ifoutbcast",
    "sflow_245.ifoutdisc",
    "sflow_245.ifouterr",
    "sflow_245.ifpromisc",
    // Counter record 2, Ethernet interface counters.
    "sflow_245.dot3StatsAlignmentErrors",
    "sflow_245.dot3StatsFCSErrors",
    "sflow_245.dot3StatsSingleCollisionFrames",
    "sflow_245.dot3StatsMultipleCollisionFrames",
    "sflow_245.dot3StatsSQETestErrors",
    "sflow_245.dot3StatsDeferredTransmissions",
    "sflow_245.dot3StatsLateCollisions",
    "sflow_245.dot3StatsExcessiveCollisions",
    "sflow_245.dot3StatsInternalMacTransmitErrors",
    "sflow_245.dot3StatsCarrierSenseErrors",
    "sflow_245.dot3StatsFrameTooLongs",
    "sflow_245.dot3StatsInternalMacReceiveErrors",
    "sflow_245.dot3StatsSymbolErrors",
    // Counter record 5, VLAN counters.
    "sflow_245.vlan_id",
    "sflow_245.octets",
    "sflow_245.ucastPkts",
    "sflow_245.multicastPkts",
    "sflow_245.broadcastPkts",
    "sflow_245.discards",
    // Counter record 1001, processor.
    "sflow_5.cpu_5s",
    "sflow_5.cpu_1m",
    "sflow_5.cpu_5m",
    "sflow_5.total_memory",
    "sflow_5.free_memory",
    // Flow record 2, sampled Ethernet frame.
    "sflow_245.ethernet.length",
    "sflow_245.ethernet.source_mac_address",
    "sflow_245.ethernet.destination_mac_address",
    "sflow_245.ethernet.packet_type",
    // Flow record 3, sampled IPv4.
    "sflow_245.ip.length",
    "sflow.ip_protocol",
    "sflow_245.ipv4_src",
    "sflow_245.ipv4_dst",
    "sflow_245.ip.source_port",
    "sflow.ip.destination_port",
    "sflow_245.ip.tcp_flag.cwr",
    "sflow_245.ip.tcp_flag.ece",
    "sflow_245.ip.tcp_flag.urg",
    "sflow_245.ip.tcp_flag.ack",
    "sflow_245.ip.tcp_flag.psh",
    "sflow_245.ip.tcp_flag.rst",
    "sflow_245.ip.tcp_flag.syn",
    "sflow_245.ip.tcp_flag.fin",
    "sflow_245.ipv4_precedence_type",
    "sflow_245.ipv4_delay",
    "sflow_245.ipv4_throughput",
    "sflow_245.ipv4_reliability",
    "sflow_245.ipv4_cost",
    // Flow record 1004, extended user.
    "sflow_5.extended_user.source_character_set",
    "sflow_5.extended_user.source_user_string_length",
    "sflow_5.extended_user.source_user",
    "sflow_5.extended_user.destination_character_set",
    "sflow_5.extended_user.destination_user_string_length",
    "sflow_5.extended_user.destination_user",
    // Flow record 1005, extended URL.
    "sflow_5.extended_url.direction",
    "sflow_5.extended_url.url_length",
    "sflow_5.extended_url.url",
    "sflow_5.extended_url.host_length",
    "sflow_5.extended_url.host",
    "eth.src",
    "eth.dst",
    "vlan.id",
    "ip.src",
    "ip.dst",
    "ipv6.src",
    "ipv6.dst",
    "tcp.srcport",
    "tcp.dstport",
    "tcp.flags",
    "udp.srcport",
    "udp.dstport",
    "icmp.type",
    "icmp.code",
    "icmpv6.type",
    "icmpv6.code",
    "dns.qry.name",
    "dns.qry.type",
    "vxlan.vni",
    "gre.key",
    "erspan.spanid",
    "geneve.vni",
];

/// Fields whose first occurrence belongs to the capture's own Ethernet/IPv4/UDP headers, not
/// to a sampled header. flowlens reports those as the datagram's `source`/`destination`.
const OUTER: &[&str] = &[
    "eth.src",
    "eth.dst",
    "ip.src",
    "ip.dst",
    "udp.srcport",
    "udp.dstport",
];

/// sFlow record formats tshark 4.0 decodes (`tshark -G values`, `sflow_245.*_record_format`).
/// After a record it does not know, tshark 4.0 often loses its place in the sample (it
/// mis-parses Open vSwitch's 1004, Host sFlow's 2000 series, the tunnel and VNI records
/// 1023-1030, ...), so each sample is compared up to and including its first record of a
/// format outside these lists; flowlens-wire's `sflow_decode` tests check the rest of those
/// records against the specification.
const TSHARK_FLOW_RECORDS: &[u64] = &[
    1, 2, 3, 4, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014,
    1015, 1016,
];
const TSHARK_COUNTER_RECORDS: &[u64] = &[1, 2, 3, 4, 5, 6, 7, 1001, 1002];

/// `(file, datagram number or 0 for every datagram, fields, reason)`: tshark 4.0 decodes these
/// fields differently there, for the stated reason. They are not compared in that datagram;
/// each entry must still be needed (checked at the end), so the list cannot go stale.
const KNOWN_DIFFERENCES: &[(&str, usize, &[&str], &str)] = &[
    (
        "sflow-counter-lacp.bin",
        1,
        &[
            "sflow_245.sampletype",
            "sflow.counters_sample.sequence_number",
            "sflow.counters_sample.source_id_type",
            "sflow.counters_sample.source_id_index",
            "sflow_245.counters_record_format",
        ],
        "gopacket's vector declares a 116-byte sample but carries 76 bytes: flowlens reports \
         the overrun (Invalid length) and drops the sample; tshark shows what is there and \
         marks the packet malformed",
    ),
    (
        "sflow-expanded-ext-router.bin",
        1,
        &[
            "sflow_245.flow_record_format",
            "sflow_245.nexthop",
            "sflow_245.nexthop.src_mask",
            "sflow_245.nexthop.dst_mask",
        ],
        "the flow sample declares 52 bytes but its extended_router record ends 4 bytes later: \
         flowlens reports the overrun; tshark ignores the sample length and shows the record",
    ),
    (
        "sflow-expanded-ext-router-ipv6-nexthop.bin",
        1,
        &[
            "sflow_245.flow_record_format",
            "sflow_245.nexthop.src_mask",
            "sflow_245.nexthop.dst_mask",
        ],
        "as sflow-expanded-ext-router.bin: record runs past the declared sample length",
    ),
    (
        "tcpdump__sflow_multiple_counter_30_pdus.pcap",
        17,
        &[
            "sflow_245.dot3StatsAlignmentErrors",
            "sflow_245.dot3StatsFCSErrors",
            "sflow_245.dot3StatsSingleCollisionFrames",
            "sflow_245.dot3StatsMultipleCollisionFrames",
            "sflow_245.dot3StatsSQETestErrors",
            "sflow_245.dot3StatsDeferredTransmissions",
            "sflow_245.dot3StatsLateCollisions",
            "sflow_245.dot3StatsExcessiveCollisions",
            "sflow_245.dot3StatsInternalMacTransmitErrors",
            "sflow_245.dot3StatsCarrierSenseErrors",
            "sflow_245.dot3StatsFrameTooLongs",
            "sflow_245.dot3StatsInternalMacReceiveErrors",
            "sflow_245.dot3StatsSymbolErrors",
        ],
        "a counter sample opens with host_adapters (2001), which tshark 4.0 does not know: it \
         loses its place and reads the following bytes as an ethernet_counters record (formats \
         2001, 2, 2021, 0); flowlens's record is compared with the specification's layout",
    ),
    (
        "sflow-ovs-underlay-tunnels.pcap",
        9,
        &[
            "eth.src",
            "eth.dst",
            "ip.src",
            "ip.dst",
            "gre.key",
            "tcp.srcport",
            "tcp.dstport",
            "tcp.flags",
        ],
        "an ICMP error quoting a GRE (key 42) mirror packet: flowlens walks a quoted packet to \
         its transport header only (RFC 792 promises 8 bytes of it); tshark decodes the GRE \
         payload inside the quote",
    ),
    (
        "sflow-ovs-underlay-tunnels.pcap",
        15,
        &[
            "eth.src",
            "eth.dst",
            "ip.src",
            "ip.dst",
            "erspan.spanid",
            "udp.srcport",
            "udp.dstport",
        ],
        "an ICMP error quoting an ERSPAN (session 7) mirror packet: as datagram 9",
    ),
];

struct Input {
    /// A pcap tshark can read.
    pcap: PathBuf,
    /// What flowlens decodes (the original file).
    original: PathBuf,
}

/// Every sFlow input: pcaps as they are; bare payloads wrapped in Ethernet/IPv4/UDP (to port
/// 6343) so tshark can read them; `*.eth.bin` whole frames wrapped as they are.
/// The sFlow inputs there are at least: 30 with `../shared/data`, 26 from a plain clone
/// (akvorado's captures are only in `../shared/data`).
fn least_inputs() -> usize {
    if common::shared_data().is_some() {
        30
    } else {
        26
    }
}

fn inputs(tmp: &Path) -> Vec<Input> {
    let data = common::corpus_dir();
    let mut v = Vec::new();
    for p in files_in(&data.join("sflow"), |n| {
        n.ends_with(".pcap") && !n.contains("segv")
    }) {
        v.push(Input {
            pcap: p.clone(),
            original: p,
        });
    }
    for p in files_in(&data.join("exporters"), |n| n.starts_with("sflow-")) {
        v.push(Input {
            pcap: p.clone(),
            original: p,
        });
    }
    let payload_dirs = [("gopacket", ""), ("goflow2", ""), ("telegraf", "sflow_")];
    for (dir, prefix) in payload_dirs {
        for p in files_in(&data.join("payloads").join(dir), |n| {
            n.starts_with(prefix) && n.ends_with(".bin")
        }) {
            let bytes = std::fs::read(&p).unwrap();
            let name = p.file_name().unwrap().to_str().unwrap();
            let frame = if name.ends_with(".eth.bin") {
                bytes
            } else {
                wrap_udp(&bytes)
            };
            let pcap = tmp.join(format!("{name}.pcap"));
            write_pcap(&pcap, &frame);
            v.push(Input { pcap, original: p });
        }
    }
    // 30 with ../shared/data; 26 from a plain clone (akvorado's captures are only there).
    assert!(
        v.len() >= least_inputs(),
        "expected the whole capture set, found {} inputs",
        v.len()
    );
    v
}

/// Ethernet II + IPv4 (192.0.2.1 > 192.0.2.2) + UDP (50000 > 6343) around `payload`.
fn wrap_udp(payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0x08, 0x00];
    let ip_len = u16::try_from(20 + 8 + payload.len()).unwrap();
    let mut ip = vec![0x45, 0];
    ip.extend_from_slice(&ip_len.to_be_bytes());
    ip.extend_from_slice(&[0, 0, 0x40, 0, 64, 17, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2]);
    let sum = ip
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
        .sum::<u32>();
    let sum = !(((sum & 0xffff) + (sum >> 16)) as u16);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(&50000u16.to_be_bytes());
    f.extend_from_slice(&6343u16.to_be_bytes());
    f.extend_from_slice(&u16::try_from(8 + payload.len()).unwrap().to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(payload);
    f
}

fn write_pcap(path: &Path, frame: &[u8]) {
    let mut b = Vec::new();
    b.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    b.extend_from_slice(&2u16.to_le_bytes());
    b.extend_from_slice(&4u16.to_le_bytes());
    for w in [0u32, 0, 65535, 1] {
        b.extend_from_slice(&w.to_le_bytes());
    }
    let len = u32::try_from(frame.len()).unwrap();
    for w in [1_700_000_000u32, 0, len, len] {
        b.extend_from_slice(&w.to_le_bytes());
    }
    b.extend_from_slice(frame);
    std::fs::write(path, b).unwrap();
}

type Fields = BTreeMap<&'static str, Vec<String>>;

/// The UDP ports the corpus's sFlow exporters send to: the standard 6343, and 19998 where
/// the testbed pointed pmacct's savefile replay.
const SFLOW_PORTS: &[u16] = &[6343, 19998];

/// One frame tshark dissects as sFlow: its number (from 1), its UDP payload, its fields.
struct TsharkFrame {
    number: u64,
    payload: Vec<u8>,
    fields: Fields,
}

/// tshark's dissection of the frames of `pcap` that it takes for sFlow (`-Y sflow`, the ports
/// of [`SFLOW_PORTS`] decoded as sFlow): tshark, not flowlens, picks the frames.
fn tshark(pcap: &Path) -> Vec<TsharkFrame> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(pcap).args(["-Y", "sflow"]).args([
        "-T",
        "fields",
        "-E",
        "separator=/t",
        "-E",
        "occurrence=a",
    ]);
    cmd.args([
        "-E",
        "aggregator=|",
        "-o",
        "ip.defragment:FALSE",
        "-o",
        "ipv6.defragment:FALSE",
    ]);
    cmd.args(["-o", "tcp.desegment_tcp_streams:FALSE"]);
    for port in SFLOW_PORTS {
        cmd.args(["-d", &format!("udp.port=={port},sflow")]);
    }
    cmd.args(["-e", "frame.number", "-e", "udp.payload"]);
    for f in FIELDS {
        cmd.args(["-e", f]);
    }
    let out = cmd
        .output()
        .expect("tshark must be installed (apt-get install tshark)");
    assert!(out.status.success(), "tshark failed on {}", pcap.display());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let mut cols = line.split('\t');
            let number = cols.next().unwrap().parse().unwrap();
            let hex = cols.next().unwrap().split('|').next().unwrap();
            let payload = (0..hex.len() / 2)
                .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
                .collect();
            let fields = FIELDS
                .iter()
                .zip(cols.chain(std::iter::repeat("")))
                .map(|(f, v)| {
                    let vals = if v.is_empty() {
                        Vec::new()
                    } else {
                        v.split('|').map(norm).collect()
                    };
                    (*f, vals)
                })
                .collect();
            TsharkFrame {
                number,
                payload,
                fields,
            }
        })
        .collect()
}

/// tshark's number formats brought to flowlens's (decimal; MAC without separators).
fn norm(v: &str) -> String {
    if let Some(hex) = v.strip_prefix("0x") {
        if let Ok(n) = u64::from_str_radix(hex, 16) {
            return n.to_string();
        }
    }
    let is_mac = v.len() == 17
        && v.split(':')
            .all(|g| g.len() == 2 && g.bytes().all(|b| b.is_ascii_hexdigit()));
    if is_mac {
        return v.replace(':', "");
    }
    v.to_string()
}

/// What tshark shows for an sFlow interface word, in flowlens's rendering: an ifIndex number,
/// or `discard`, `multiple`, `internal`, `unknown` (sFlow v5 section on `interface`).
fn interface_name(format: u64, value: u64) -> String {
    match (format, value) {
        (0, 0x3fff_ffff) => "internal".into(),
        (0, 0) => "unknown".into(),
        (0, v) => v.to_string(),
        (1, _) => "discard".into(),
        (2, _) => "multiple".into(),
        (f, v) => format!("reserved {f}:{v}"),
    }
}

fn compact_interface(raw: u64) -> String {
    interface_name(raw >> 30, raw & 0x3fff_ffff)
}

/// flowlens's side, built from its JSON document in the order tshark walks the datagram.
fn ours(doc: &Json) -> Fields {
    let mut m: Fields = BTreeMap::new();
    let mut put = |k: &'static str, v: String| m.entry(k).or_default().push(v);
    let s = |v: &Json| match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    };
    let d = &doc["datagram"];
    let agent = s(&d["agent_address"]);
    put(
        if agent.contains(':') {
            "sflow_245.agent.v6"
        } else {
            "sflow_245.agent"
        },
        agent,
    );
    put("sflow_245.sub_agent_id", s(&d["sub_agent_id"]));
    put("sflow_245.sequence_number", s(&d["sequence_number"]));
    put("sflow_245.sysuptime", s(&d["uptime"]));
    put("sflow_245.numsamples", s(&d["samples"]));
    for sample in doc["samples"].as_array().into_iter().flatten() {
        let (ent, fmt) = tag(sample);
        if ent == 0 {
            put("sflow_245.sampletype", fmt.to_string());
        }
        let f = &sample["fields"];
        match (ent, fmt) {
            (0, 1) | (0, 3) => {
                put(
                    "sflow.flow_sample.sequence_number",
                    s(&f["sequence_number"]),
                );
                if fmt == 1 {
                    put("sflow.flow_sample.source_id_class", s(&f["source_id_type"]));
                    put("sflow.flow_sample.index", s(&f["source_id_index"]));
                } else {
                    put("sflow.flow_sample.source_id_type", s(&f["source_id_type"]));
                    put(
                        "sflow.flow_sample.source_id_index",
                        s(&f["source_id_index"]),
                    );
                }
                put("sflow.flow_sample.sampling_rate", s(&f["sampling_rate"]));
                put("sflow.flow_sample.sample_pool", s(&f["sample_pool"]));
                put("sflow.flow_sample.dropped_packets", s(&f["drops"]));
                if fmt == 1 {
                    // tshark shows a compact output word raw and decoded.
                    put("sflow.flow_sample.input_interface", s(&f["input"]));
                    put("sflow.flow_sample.output_interface", s(&f["output"]));
                } else {
                    put("sflow.flow_sample.input_interface_value", s(&f["input"]));
                }
                put("sflow.flow_sample.output_interface_value", s(&f["output"]));
                for r in sample["records"].as_array().into_iter().flatten() {
                    record(r, &mut put, "sflow_245.flow_record_format");
                    if !TSHARK_FLOW_RECORDS.contains(&tag(r).1) {
                        break;
                    }
                }
            }
            (0, 2) | (0, 4) => {
                put(
                    "sflow.counters_sample.sequence_number",
                    s(&f["sequence_number"]),
                );
                put(
                    "sflow.counters_sample.source_id_type",
                    s(&f["source_id_type"]),
                );
                put(
                    "sflow.counters_sample.source_id_index",
                    s(&f["source_id_index"]),
                );
                for r in sample["records"].as_array().into_iter().flatten() {
                    record(r, &mut put, "sflow_245.counters_record_format");
                    if !TSHARK_COUNTER_RECORDS.contains(&tag(r).1) {
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    m
}

fn tag(v: &Json) -> (u64, u64) {
    let t = v["tag"].as_str().unwrap();
    let (e, f) = t.split_once(':').unwrap();
    (e.parse().unwrap(), f.parse().unwrap())
}

fn record(r: &Json, put: &mut impl FnMut(&'static str, String), format_field: &'static str) {
    let s = |v: &Json| match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    };
    let (ent, fmt) = tag(r);
    if ent == 0 {
        put(format_field, fmt.to_string());
    }
    let f = &r["fields"];
    match (ent, fmt, format_field) {
        (0, 1, "sflow_245.flow_record_format") => {
            put("sflow_245.header_protocol", s(&f["header_protocol"]));
            put("sflow_245.header.frame_length", s(&f["frame_length"]));
            put("sflow_245.header.payload_stripped", s(&f["stripped"]));
            put(
                "sflow_245.header.sampled_header_length",
                s(&f["header_length"]),
            );
            packet(&r["packet"], put);
        }
        (0, 1001, "sflow_245.flow_record_format") => {
            put("sflow_245.vlan.in", s(&f["src_vlan"]));
            put("sflow_245.pri.in", s(&f["src_priority"]));
            put("sflow_245.vlan.out", s(&f["dst_vlan"]));
            put("sflow_245.pri.out", s(&f["dst_priority"]));
        }
        (0, 1002, "sflow_245.flow_record_format") => {
            put("sflow_245.nexthop", s(&f["nexthop"]));
            put("sflow_245.nexthop.src_mask", s(&f["src_mask_len"]));
            put("sflow_245.nexthop.dst_mask", s(&f["dst_mask_len"]));
        }
        (0, 1003, "sflow_245.flow_record_format") => {
            put("sflow_245.nexthop", s(&f["nexthop"]));
            put("sflow_245.as", s(&f["as"]));
            put("sflow_245.srcAS", s(&f["src_as"]));
            put("sflow_245.peerAS", s(&f["src_peer_as"]));
            // tshark 4.0 files the communities under the same field as the AS path.
            for asn in as_numbers(&f["dst_as_path"])
                .into_iter()
                .chain(as_numbers(&f["communities"]))
            {
                put("sflow_245.dstAS", asn);
            }
            put("sflow_245.localpref", s(&f["localpref"]));
        }
        (0, 2, "sflow_245.flow_record_format") => {
            put("sflow_245.ethernet.length", s(&f["length"]));
            put("sflow_245.ethernet.source_mac_address", s(&f["src_mac"]));
            put(
                "sflow_245.ethernet.destination_mac_address",
                s(&f["dst_mac"]),
            );
            put("sflow_245.ethernet.packet_type", s(&f["type"]));
        }
        (0, 3, "sflow_245.flow_record_format") => {
            put("sflow_245.ip.length", s(&f["length"]));
            put("sflow.ip_protocol", s(&f["protocol"]));
            put("sflow_245.ipv4_src", s(&f["src_ip"]));
            put("sflow_245.ipv4_dst", s(&f["dst_ip"]));
            put("sflow_245.ip.source_port", s(&f["src_port"]));
            put("sflow.ip.destination_port", s(&f["dst_port"]));
            let flags = f["tcp_flags"].as_u64().unwrap();
            for (i, name) in [
                "sflow_245.ip.tcp_flag.cwr",
                "sflow_245.ip.tcp_flag.ece",
                "sflow_245.ip.tcp_flag.urg",
                "sflow_245.ip.tcp_flag.ack",
                "sflow_245.ip.tcp_flag.psh",
                "sflow_245.ip.tcp_flag.rst",
                "sflow_245.ip.tcp_flag.syn",
                "sflow_245.ip.tcp_flag.fin",
            ]
            .into_iter()
            .enumerate()
            {
                put(name, ((flags >> (7 - i)) & 1).to_string());
            }
            // The TOS octet as RFC 791 lays it out: precedence, then the delay, throughput,
            // reliability and cost bits.
            let tos = f["tos"].as_u64().unwrap();
            put("sflow_245.ipv4_precedence_type", (tos >> 5).to_string());
            put("sflow_245.ipv4_delay", ((tos >> 4) & 1).to_string());
            put("sflow_245.ipv4_throughput", ((tos >> 3) & 1).to_string());
            put("sflow_245.ipv4_reliability", ((tos >> 2) & 1).to_string());
            put("sflow_245.ipv4_cost", ((tos >> 1) & 1).to_string());
        }
        (0, 1004, "sflow_245.flow_record_format") => {
            for (side, dir) in [("src", "source"), ("dst", "destination")] {
                let user = s(&f[format!("{side}_user").as_str()]);
                let p = |x: &str| -> &'static str {
                    FIELDS
                        .iter()
                        .find(|n| **n == format!("sflow_5.extended_user.{dir}_{x}"))
                        .unwrap()
                };
                put(
                    p("character_set"),
                    s(&f[format!("{side}_charset").as_str()]),
                );
                put(p("user_string_length"), user.len().to_string());
                put(p("user"), user);
            }
        }
        (0, 1005, "sflow_245.flow_record_format") => {
            let (url, host) = (s(&f["url"]), s(&f["host"]));
            put("sflow_5.extended_url.direction", s(&f["direction"]));
            put("sflow_5.extended_url.url_length", url.len().to_string());
            put("sflow_5.extended_url.url", url);
            put("sflow_5.extended_url.host_length", host.len().to_string());
            put("sflow_5.extended_url.host", host);
        }
        (0, 1, "sflow_245.counters_record_format") => {
            for (theirs, ours) in [
                ("sflow_245.ifindex", "ifIndex"),
                ("sflow_245.iftype", "ifType"),
                ("sflow_245.ifspeed", "ifSpeed"),
                ("sflow_245.ifdirection", "ifDirection"),
            ] {
                put(theirs, s(&f[ours]));
            }
            // ifStatus: bit 0 ifAdminStatus, bit 1 ifOperStatus (sFlow v5, if_counters).
            let status = f["ifStatus"].as_u64().unwrap();
            put("sflow_245.ifadmin_status", (status & 1).to_string());
            put("sflow_245.ifoper_status", ((status >> 1) & 1).to_string());
            for (theirs, ours) in [
                ("sflow_245.ifinoct", "ifInOctets"),
                ("sflow_245.ifinpkt", "ifInUcastPkts"),
                ("sflow_245.ifinmcast", "ifInMulticastPkts"),
                ("sflow_245.ifinbcast", "ifInBroadcastPkts"),
                ("sflow_245.ifindisc", "ifInDiscards"),
                ("sflow_245.ifinerr", "ifInErrors"),
                ("sflow_245.ifinunk", "ifInUnknownProtos"),
                ("sflow_245.ifoutoct", "ifOutOctets"),
                ("sflow_245.ifoutpkt", "ifOutUcastPkts"),
                ("sflow_245.ifoutmcast", "ifOutMulticastPkts"),
                ("sflow_245.ifoutbcast", "ifOutBroadcastPkts"),
                ("sflow_245.ifoutdisc", "ifOutDiscards"),
                ("sflow_245.ifouterr", "ifOutErrors"),
                ("sflow_245.ifpromisc", "ifPromiscuousMode"),
            ] {
                put(theirs, s(&f[ours]));
            }
        }
        (0, 2, "sflow_245.counters_record_format") => {
            // tshark names these fields as the MIB (and flowlens) does.
            for name in FIELDS
                .iter()
                .filter(|n| n.starts_with("sflow_245.dot3Stats"))
            {
                put(name, s(&f[&name["sflow_245.".len()..]]));
            }
        }
        (0, 5, "sflow_245.counters_record_format") => {
            for name in [
                "sflow_245.vlan_id",
                "sflow_245.octets",
                "sflow_245.ucastPkts",
                "sflow_245.multicastPkts",
                "sflow_245.broadcastPkts",
                "sflow_245.discards",
            ] {
                put(name, s(&f[&name["sflow_245.".len()..]]));
            }
        }
        (0, 1001, "sflow_245.counters_record_format") => {
            put("sflow_5.cpu_5s", s(&f["5s_cpu"]));
            put("sflow_5.cpu_1m", s(&f["1m_cpu"]));
            put("sflow_5.cpu_5m", s(&f["5m_cpu"]));
            put("sflow_5.total_memory", s(&f["total_memory"]));
            put("sflow_5.free_memory", s(&f["free_memory"]));
        }
        _ => {}
    }
}

/// AS numbers of every segment of an extended_gateway `dst_as_path` (one segment is a list,
/// several are a list of lists).
fn as_numbers(v: &Json) -> Vec<String> {
    match v {
        Json::Array(items) => items.iter().flat_map(as_numbers).collect(),
        Json::Null => Vec::new(),
        other => vec![other.to_string()],
    }
}

/// The sampled header's decoded layers, in order (quoted ICMP payloads included: tshark
/// decodes those too).
fn packet(p: &Json, put: &mut impl FnMut(&'static str, String)) {
    let s = |v: &Json| match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    };
    for l in p["layers"].as_array().into_iter().flatten() {
        let f = &l["fields"];
        let has = |k: &str| !f[k].is_null();
        match l["layer"].as_str().unwrap() {
            "eth" => {
                put("eth.dst", s(&f["destination"]));
                put("eth.src", s(&f["source"]));
            }
            "vlan" => put("vlan.id", s(&f["vid"])),
            "ip" => {
                put("ip.src", s(&f["source"]));
                put("ip.dst", s(&f["destination"]));
            }
            "ip6" => {
                put("ipv6.src", s(&f["source"]));
                put("ipv6.dst", s(&f["destination"]));
            }
            "tcp" => {
                put("tcp.srcport", s(&f["source_port"]));
                put("tcp.dstport", s(&f["destination_port"]));
                if has("flags") {
                    let bits = s(&f["flags"]);
                    put(
                        "tcp.flags",
                        u64::from_str_radix(&bits, 2).unwrap().to_string(),
                    );
                }
            }
            "udp" => {
                put("udp.srcport", s(&f["source_port"]));
                put("udp.dstport", s(&f["destination_port"]));
            }
            "icmp" => {
                put("icmp.type", s(&f["type"]));
                put("icmp.code", s(&f["code"]));
            }
            "icmp6" => {
                put("icmpv6.type", s(&f["type"]));
                put("icmpv6.code", s(&f["code"]));
            }
            "dns" if has("qname") => {
                put("dns.qry.name", s(&f["qname"]));
                put("dns.qry.type", s(&f["qtype"]));
            }
            "vxlan" => put("vxlan.vni", s(&f["vni"])),
            "gre" if has("key") && !has("vsid") => put("gre.key", s(&f["key"])),
            "erspan" if has("session_id") => put("erspan.spanid", s(&f["session_id"])),
            "geneve" => put("geneve.vni", s(&f["vni"])),
            _ => {}
        }
    }
}

/// tshark's view, normalised: outer headers dropped; interface words rendered like ours;
/// tshark's 12-bit TCP flags masked to the 9 defined flags.
fn theirs(mut t: Fields, doc: &Json, file: &str) -> Fields {
    let src = doc["source"].as_str();
    for f in OUTER {
        let v = t.entry(f).or_default();
        if !v.is_empty() {
            let outer = v.remove(0);
            if *f == "ip.src" {
                if let Some(src) = src {
                    assert!(
                        src.starts_with(&format!("{outer}:")),
                        "{file}: source {src}"
                    );
                }
            }
        }
    }
    let raw_to_name = |v: &mut Vec<String>| {
        for x in v.iter_mut() {
            *x = compact_interface(x.parse().unwrap());
        }
    };
    if let Some(v) = t.get_mut("sflow.flow_sample.output_interface") {
        raw_to_name(v);
    }
    if let Some(v) = t.get_mut("sflow.flow_sample.input_interface") {
        raw_to_name(v);
    }
    // tshark shows the 'multiple' count separately; the output word already says so.
    t.remove("sflow.flow_sample.multiple_outputs");
    for (fmt_field, val_field) in [
        (
            "sflow.flow_sample.input_interface_format",
            "sflow.flow_sample.input_interface_value",
        ),
        (
            "sflow.flow_sample.output_interface_format",
            "sflow.flow_sample.output_interface_value",
        ),
    ] {
        let formats = t.remove(fmt_field).unwrap_or_default();
        if let Some(values) = t.get_mut(val_field) {
            for (v, f) in values.iter_mut().zip(formats) {
                *v = interface_name(f.parse().unwrap(), v.parse().unwrap());
            }
        }
    }
    if let Some(v) = t.get_mut("tcp.flags") {
        for x in v.iter_mut() {
            *x = (x.parse::<u64>().unwrap() & 0x1ff).to_string();
        }
    }
    split_record_formats(&mut t, doc);
    t.retain(|_, v| !v.is_empty());
    t
}

/// tshark lists exactly the declared number of record formats per sample, but after a record
/// it does not know it reads garbage as the next formats. Cut each sample's run after its
/// first record unknown to tshark, as [`ours`] does.
fn split_record_formats(t: &mut Fields, doc: &Json) {
    for (field, flow, known) in [
        ("sflow_245.flow_record_format", true, TSHARK_FLOW_RECORDS),
        (
            "sflow_245.counters_record_format",
            false,
            TSHARK_COUNTER_RECORDS,
        ),
    ] {
        let Some(all) = t.remove(field) else { continue };
        let mut all = all.into_iter();
        let mut kept = Vec::new();
        for sample in doc["samples"].as_array().into_iter().flatten() {
            let (ent, fmt) = tag(sample);
            let declared = match (ent, fmt, flow) {
                (0, 1 | 3, true) => &sample["fields"]["flow_records"],
                (0, 2 | 4, false) => &sample["fields"]["counters"],
                _ => continue,
            };
            let n = declared.as_u64().unwrap() as usize;
            let mut cut = false;
            for v in all.by_ref().take(n) {
                if !cut {
                    cut = !known.contains(&v.parse().unwrap_or(u64::MAX));
                    kept.push(v);
                }
            }
        }
        // Anything left (a sample flowlens rejected) stays visible to the comparison.
        kept.extend(all);
        t.insert(field, kept);
    }
}

#[test]
fn every_sflow_datagram_matches_tshark_field_by_field() {
    let tmp = std::env::temp_dir().join(format!("flowlens-tshark-sflow-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let mut used: BTreeSet<(usize, &str)> = BTreeSet::new();
    let mut failures: Vec<(String, String)> = Vec::new();
    let mut datagrams = 0;
    let mut files = 0;
    let mut compared_values = 0usize;
    let mut spec_compared: BTreeMap<String, usize> = BTreeMap::new();
    // Distinct tshark fields with at least one value compared equal (the coverage figure).
    let mut fields_compared: BTreeSet<String> = BTreeSet::new();
    for input in inputs(&tmp) {
        let name = input
            .original
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        let (out, docs) = decode_json(&input.original);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let sflow_docs: Vec<&Json> = docs.iter().filter(|d| d["type"] == "sflow").collect();
        let frames = tshark(&input.pcap);
        // The frames each side takes for sFlow must be the same, file by file.
        let ours_set: Vec<u64> = sflow_docs
            .iter()
            .map(|d| d["packet"].as_u64().unwrap())
            .collect();
        let theirs_set: Vec<u64> = frames.iter().map(|f| f.number).collect();
        assert_eq!(
            ours_set, theirs_set,
            "{name}: frames flowlens (left) and tshark (right) take for sFlow; stderr {stderr}"
        );
        files += 1;
        for (i, (frame, doc)) in frames.into_iter().zip(sflow_docs).enumerate() {
            let tf = frame.fields;
            spec_records(
                &frame.payload,
                doc,
                &name,
                &mut spec_compared,
                &mut failures,
            );
            datagrams += 1;
            let want = theirs(tf, doc, &name);
            let mut got = ours(doc);
            got.retain(|_, v| !v.is_empty());
            let keys: BTreeSet<&&str> = want.keys().chain(got.keys()).collect();
            for k in keys {
                let (w, g) = (want.get(*k), got.get(*k));
                if w == g {
                    compared_values += w.map_or(0, Vec::len);
                    if w.is_some() {
                        fields_compared.insert((**k).to_string());
                    }
                    continue;
                }
                if let Some(idx) = KNOWN_DIFFERENCES.iter().position(|(f, n, fields, _)| {
                    *f == name && (*n == 0 || *n == i + 1) && fields.contains(k)
                }) {
                    used.insert((idx, *k));
                    continue;
                }
                failures.push((
                    format!("{name}: {k}"),
                    format!("datagram {}: tshark {w:?} / flowlens {g:?}", i + 1),
                ));
            }
        }
    }
    std::fs::remove_dir_all(&tmp).ok();
    // One line per (file, field): how many datagrams differ, and the first example.
    let mut grouped: BTreeMap<&str, (usize, &str)> = BTreeMap::new();
    for (what, example) in &failures {
        grouped.entry(what).or_insert((0, example)).0 += 1;
    }
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        grouped
            .iter()
            .map(|(what, (n, ex))| format!("{what} ({n}x), e.g. {ex}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    for (idx, (f, n, fields, why)) in KNOWN_DIFFERENCES.iter().enumerate() {
        for field in *fields {
            assert!(
                used.contains(&(idx, *field)),
                "known difference no longer occurs: {f} datagram {n} {field} ({why})"
            );
        }
    }
    assert!(datagrams > 4_500, "only {datagrams} datagrams compared");
    assert!(files >= least_inputs(), "only {files} files compared");
    eprintln!(
        "{} distinct sFlow fields compared with tshark: {fields_compared:?}",
        fields_compared.len()
    );
    eprintln!("records tshark lacks, compared with the specification's layout: {spec_compared:?}");
    // Every record kind the corpus holds and tshark lacks is compared somewhere.
    for kind in SPEC_RECORDS.iter().map(|r| r.name) {
        assert!(
            spec_compared.get(kind).is_some_and(|&n| n > 0),
            "{kind}: no record compared with the specification's layout"
        );
    }
    assert!(
        compared_values > 100_000,
        "only {compared_values} values compared"
    );
}

/// How one field of an sFlow structure is laid out in XDR (sFlow v5 specification,
/// section "sFlow Datagram Format", and the structures' own documents).
#[derive(Clone, Copy)]
enum Xdr {
    /// `unsigned int`.
    U32,
    /// `unsigned hyper`.
    U64,
    /// `float`.
    F32,
    /// `ip_v4`: 4 bytes.
    Ip4,
    /// `string<>`: a length, then the bytes padded to 4.
    Str,
    /// `opaque[16]`, shown as hex.
    Opaque16,
    /// host_adapters' `adapter<>`: a count, then per adapter an ifIndex and a `mac<>` (a
    /// count, then 6-byte MACs each padded to 8). flowlens lists the ifIndexes under
    /// `ifIndex` and the MACs under `mac_address`.
    Adapters,
}

/// A record structure tshark 4.0 does not decode, as its specification lays it out.
struct SpecRecord {
    /// Flow (true) or counter (false) data.
    flow: bool,
    /// Record format number (enterprise 0).
    format: u64,
    /// flowlens's name for the record.
    name: &'static str,
    /// Fields in wire order; a record may end after any of them (older agents send fewer).
    fields: &'static [(&'static str, Xdr)],
}

use Xdr::{Adapters, Ip4, Opaque16, Str, F32, U32, U64};

/// The records of the corpus that tshark lacks, from their specifications: Open vSwitch's
/// `of_port` (1004) and `port_name` (1005) counters (sFlow OpenFlow structures), Host sFlow's
/// host_descr (2000), host_adapters (2001), host_cpu (2003), host_memory (2004), host_disk_io (2005), host_net_io
/// (2006) (sFlow Host Structures), app_resources (2203, sFlow Application Structures),
/// ovs_dp_stats (2207), the tunnel records extended_ipv4_tunnel_ingress (1024, the
/// sampled_ipv4 layout) and extended_vni_ingress (1030) (sFlow Tunnel Structures), and the
/// drop-reason records extended_egress_queue (1036), extended_acl (1037) and
/// extended_function (1038) (sFlow Dropped Packet Notification Structures).
const SPEC_RECORDS: &[SpecRecord] = &[
    SpecRecord {
        flow: false,
        format: 1004,
        name: "of_port",
        fields: &[("datapath_id", U64), ("port_no", U32)],
    },
    SpecRecord {
        flow: false,
        format: 1005,
        name: "port_name",
        fields: &[("name", Str)],
    },
    SpecRecord {
        flow: false,
        format: 2000,
        name: "host_descr",
        fields: &[
            ("hostname", Str),
            ("uuid", Opaque16),
            ("machine_type", U32),
            ("os_name", U32),
            ("os_release", Str),
        ],
    },
    SpecRecord {
        flow: false,
        format: 2001,
        name: "host_adapters",
        fields: &[("", Adapters)],
    },
    SpecRecord {
        flow: false,
        format: 2003,
        name: "host_cpu",
        fields: &[
            ("load_one", F32),
            ("load_five", F32),
            ("load_fifteen", F32),
            ("proc_run", U32),
            ("proc_total", U32),
            ("cpu_num", U32),
            ("cpu_speed", U32),
            ("uptime", U32),
            ("cpu_user", U32),
            ("cpu_nice", U32),
            ("cpu_system", U32),
            ("cpu_idle", U32),
            ("cpu_wio", U32),
            ("cpu_intr", U32),
            ("cpu_sintr", U32),
            ("interrupts", U32),
            ("contexts", U32),
            ("cpu_steal", U32),
            ("cpu_guest", U32),
            ("cpu_guest_nice", U32),
        ],
    },
    SpecRecord {
        flow: false,
        format: 2004,
        name: "host_memory",
        fields: &[
            ("mem_total", U64),
            ("mem_free", U64),
            ("mem_shared", U64),
            ("mem_buffers", U64),
            ("mem_cached", U64),
            ("swap_total", U64),
            ("swap_free", U64),
            ("page_in", U32),
            ("page_out", U32),
            ("swap_in", U32),
            ("swap_out", U32),
        ],
    },
    SpecRecord {
        flow: false,
        format: 2005,
        name: "host_disk_io",
        fields: &[
            ("disk_total", U64),
            ("disk_free", U64),
            ("part_max_used", U32),
            ("reads", U32),
            ("bytes_read", U64),
            ("read_time", U32),
            ("writes", U32),
            ("bytes_written", U64),
            ("write_time", U32),
        ],
    },
    SpecRecord {
        flow: false,
        format: 2006,
        name: "host_net_io",
        fields: &[
            ("bytes_in", U64),
            ("pkts_in", U32),
            ("errs_in", U32),
            ("drops_in", U32),
            ("bytes_out", U64),
            ("pkts_out", U32),
            ("errs_out", U32),
            ("drops_out", U32),
        ],
    },
    SpecRecord {
        flow: false,
        format: 2203,
        name: "app_resources",
        fields: &[
            ("user_time", U32),
            ("system_time", U32),
            ("mem_used", U64),
            ("mem_max", U64),
            ("fd_open", U32),
            ("fd_max", U32),
            ("conn_open", U32),
            ("conn_max", U32),
        ],
    },
    SpecRecord {
        flow: false,
        format: 2207,
        name: "ovs_dp_stats",
        fields: &[
            ("hits", U32),
            ("misses", U32),
            ("lost", U32),
            ("mask_hits", U32),
            ("flows", U32),
            ("masks", U32),
        ],
    },
    SpecRecord {
        flow: true,
        format: 1024,
        name: "extended_ipv4_tunnel_ingress",
        fields: &[
            ("length", U32),
            ("protocol", U32),
            ("src_ip", Ip4),
            ("dst_ip", Ip4),
            ("src_port", U32),
            ("dst_port", U32),
            ("tcp_flags", U32),
            ("tos", U32),
        ],
    },
    SpecRecord {
        flow: true,
        format: 1030,
        name: "extended_vni_ingress",
        fields: &[("vni", U32)],
    },
    SpecRecord {
        flow: true,
        format: 1036,
        name: "extended_egress_queue",
        fields: &[("queue", U32)],
    },
    SpecRecord {
        flow: true,
        format: 1037,
        name: "extended_acl",
        fields: &[("number", U32), ("name", Str), ("direction", U32)],
    },
    SpecRecord {
        flow: true,
        format: 1038,
        name: "extended_function",
        fields: &[("symbol", Str)],
    },
];

/// A vector that declares a record's length without its last string's XDR padding (and ends
/// the datagram there), with why it is accepted.
const UNPADDED: (&str, &str) = (
    "sflow-drop-extended-function.bin",
    "goflow2's test vector gives extended_function (1038) length 10 for a 4-byte length and \
     the 6-byte symbol, and ends the datagram there; XDR pads strings to 4 bytes (12). \
     flowlens reads the symbol; the layout is compared up to the padding",
);

/// Every record of `doc` listed in [`SPEC_RECORDS`], decoded here from the datagram's bytes
/// (`payload`, as tshark extracted it) by the specification's layout, compared field by field
/// with flowlens's document. The record's bytes are found from its header (format and length
/// just before the `offset` flowlens reports), and the format there must be the record's.
fn spec_records(
    payload: &[u8],
    doc: &Json,
    file: &str,
    compared: &mut BTreeMap<String, usize>,
    failures: &mut Vec<(String, String)>,
) {
    let word = |at: usize| u32::from_be_bytes(payload[at..at + 4].try_into().unwrap());
    for sample in doc["samples"].as_array().into_iter().flatten() {
        let flow = matches!(tag(sample), (0, 1 | 3 | 5));
        for r in sample["records"].as_array().into_iter().flatten() {
            let (ent, fmt) = tag(r);
            let Some(spec) = SPEC_RECORDS
                .iter()
                .find(|s| ent == 0 && s.format == fmt && s.flow == flow)
            else {
                continue;
            };
            let mut fail = |what: String| {
                failures.push((format!("{file}: {} (specification)", spec.name), what));
            };
            let at = usize::try_from(r["offset"].as_u64().unwrap()).unwrap();
            assert_eq!(u64::from(word(at - 8)), fmt, "{file}: record header");
            let end = at + usize::try_from(word(at - 4)).unwrap();
            let mut pos = at;
            let f = &r["fields"];
            let mut names = BTreeSet::new();
            for (name, kind) in spec.fields {
                if pos >= end {
                    break;
                }
                if let Adapters = kind {
                    let (mut ifindex, mut macs) = (Vec::new(), Vec::new());
                    let n = word(pos);
                    pos += 4;
                    for _ in 0..n {
                        ifindex.push(Json::from(word(pos)));
                        let m = word(pos + 4);
                        pos += 8;
                        for _ in 0..m {
                            let hex: String = payload[pos..pos + 6]
                                .iter()
                                .map(|b| format!("{b:02x}"))
                                .collect();
                            macs.push(Json::from(hex));
                            pos += 8;
                        }
                    }
                    for (key, theirs) in [("ifIndex", ifindex), ("mac_address", macs)] {
                        names.insert(key);
                        if f[key] == Json::Array(theirs.clone()) {
                            *compared.entry(spec.name.to_string()).or_default() += theirs.len();
                        } else {
                            fail(format!(
                                "{key}: specification {theirs:?} / flowlens {}",
                                f[key]
                            ));
                        }
                    }
                    continue;
                }
                let theirs: Json = match kind {
                    U32 => word(pos).into(),
                    U64 => (u64::from(word(pos)) << 32 | u64::from(word(pos + 4))).into(),
                    F32 => f64::from(f32::from_bits(word(pos))).into(),
                    Ip4 => std::net::Ipv4Addr::from(word(pos)).to_string().into(),
                    Str => {
                        let n = usize::try_from(word(pos)).unwrap();
                        String::from_utf8_lossy(&payload[pos + 4..pos + 4 + n])
                            .into_owned()
                            .into()
                    }
                    Adapters => unreachable!(),
                    Opaque16 => payload[pos..pos + 16]
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect::<String>()
                        .into(),
                };
                pos += match kind {
                    U32 | F32 | Ip4 => 4,
                    U64 => 8,
                    Opaque16 => 16,
                    Str => 4 + usize::try_from(word(pos)).unwrap().div_ceil(4) * 4,
                    Adapters => unreachable!(),
                };
                names.insert(*name);
                let ours = &f[*name];
                let equal = match kind {
                    // flowlens shows the f32 in its shortest form; compare as f32.
                    F32 => ours
                        .as_f64()
                        .is_some_and(|o| o as f32 == theirs.as_f64().unwrap() as f32),
                    _ => *ours == theirs,
                };
                if equal {
                    *compared.entry(spec.name.to_string()).or_default() += 1;
                } else {
                    fail(format!("{name}: specification {theirs} / flowlens {ours}"));
                }
            }
            // The one vector whose record length leaves out its last string's padding.
            let unpadded = file == UNPADDED.0 && pos == end.div_ceil(4) * 4 && end == payload.len();
            if pos != end && !unpadded {
                fail(format!("layout ends at {pos}, record at {end}"));
            }
            let extra: Vec<&String> = f
                .as_object()
                .unwrap()
                .keys()
                .filter(|k| !names.contains(k.as_str()))
                .collect();
            if !extra.is_empty() {
                fail(format!("flowlens fields the layout lacks: {extra:?}"));
            }
        }
    }
}
