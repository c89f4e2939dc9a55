//! Packet walker tests against real third-party captures (`/work/shared/data/packets`, see
//! its PROVENANCE.md): field-by-field comparison with tshark, per-capture assertions, lax
//! truncation behaviour and deterministic byte-flip robustness.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use flowlens_wire::packet::{walk, walk_strict, Header, LinkType, Walk, WalkConfig};
use flowlens_wire::{Error, FieldVisitor, KeyVisitor, Layer, Value};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data");

fn data_dir() -> PathBuf {
    let p = PathBuf::from(DATA).join("packets");
    assert!(
        p.is_dir(),
        "test data missing: {} (see PROVENANCE.md)",
        p.display()
    );
    p
}

/// Every capture under packets/, sorted.
fn all_captures() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in std::fs::read_dir(data_dir()).unwrap() {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&dir).unwrap() {
            let f = f.unwrap().path();
            if f.extension().is_some_and(|e| e == "pcap") {
                out.push(f);
            }
        }
    }
    out.sort();
    assert!(
        out.len() >= 60,
        "expected the packet corpus, found {} files",
        out.len()
    );
    out
}

fn capture(name: &str) -> PathBuf {
    all_captures()
        .into_iter()
        .find(|p| p.file_name().is_some_and(|n| n == name))
        .unwrap_or_else(|| panic!("capture {name} not found"))
}

/// (link type, frames) of a classic pcap file.
fn read_pcap(path: &Path) -> (LinkType, Vec<Vec<u8>>) {
    let bytes = std::fs::read(path).unwrap();
    let cap = pcap_parser::PcapCapture::from_file(&bytes)
        .unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
    let lt = u32::try_from(cap.header.network.0).unwrap();
    let link = LinkType::from_pcap(lt).unwrap_or_else(|| panic!("{}: link {lt}", path.display()));
    (link, cap.blocks.iter().map(|b| b.data.to_vec()).collect())
}

#[derive(Default)]
struct Keys(Vec<(String, u8, String)>);

impl KeyVisitor for Keys {
    fn key(&mut self, name: &'static str, depth: u8, value: Value<'_>) {
        self.0.push((name.to_string(), depth, value.to_string()));
    }
}

impl Keys {
    fn of(w: &Walk<'_>) -> Keys {
        let mut k = Keys::default();
        w.visit_keys(&mut k);
        k
    }
    fn get(&self, name: &str, depth: u8) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, d, _)| n == name && *d == depth)
            .map(|(_, _, v)| v.as_str())
    }
    fn all(&self, name: &str, depth: u8) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(n, d, _)| n == name && *d == depth)
            .map(|(_, _, v)| v.as_str())
            .collect()
    }
}

fn cfg() -> WalkConfig {
    WalkConfig::default()
}

// ---------------------------------------------------------------------------------------------
// tshark comparison

const TSHARK_FIELDS: &[&str] = &[
    "frame.protocols",
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
    "vlan.id",
    "ieee8021ad.id",
    "mpls.label",
    "gre.key",
    "erspan.spanid",
    "vxlan.vni",
    "geneve.vni",
    "gtp.teid",
    "dns.qry.name",
    "dns.qry.type",
];

/// tshark's per-packet field lists. Reassembly is turned off (`ip.defragment`,
/// `ipv6.defragment`, `tcp.desegment_tcp_streams`): the walker decodes single packets.
fn tshark(path: &Path) -> Vec<BTreeMap<&'static str, Vec<String>>> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r")
        .arg(path)
        .args(["-T", "fields", "-E", "separator=/t", "-E", "occurrence=a"]);
    cmd.args([
        "-E",
        "aggregator=,",
        "-o",
        "ip.defragment:FALSE",
        "-o",
        "ipv6.defragment:FALSE",
    ]);
    cmd.args(["-o", "tcp.desegment_tcp_streams:FALSE"]);
    for f in TSHARK_FIELDS {
        cmd.args(["-e", f]);
    }
    let out = cmd
        .output()
        .expect("tshark (Wireshark 4.0) must be installed for this test");
    assert!(out.status.success(), "tshark failed on {}", path.display());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            TSHARK_FIELDS
                .iter()
                .zip(line.split('\t').chain(std::iter::repeat("")))
                .map(|(f, v)| {
                    let sep = if *f == "frame.protocols" { ':' } else { ',' };
                    let vals = if v.is_empty() {
                        Vec::new()
                    } else {
                        v.split(sep).map(str::to_string).collect()
                    };
                    (*f, vals)
                })
                .collect()
        })
        .collect()
}

/// tshark protocol names mapped to ours; `None` = a protocol the walker does not decode
/// (payload), after which tshark's list is cut. `Some("")` = a tshark pseudo-protocol with no
/// header of its own (ignored).
fn map_proto(p: &str) -> Option<&'static str> {
    Some(match p {
        "frame" | "ethertype" | "raw" | "pwethheuristic" => "",
        "sll" => "sll",
        "ppp" => "ppp",
        "eth" => "eth",
        "vlan" | "ieee8021ad" => "vlan",
        "mpls" => "mpls",
        "pwethcw" => "pwcw",
        "arp" => "arp",
        "ip" => "ip",
        "ipv6" => "ip6",
        "ipv6.hopopts" | "ipv6.routing" | "ipv6.fraghdr" | "ipv6.dstopts" | "ah" => "ip6ext",
        "tcp" => "tcp",
        "udp" => "udp",
        "icmp" => "icmp",
        "icmpv6" => "icmp6",
        "dns" | "mdns" => "dns",
        "gre" => "gre",
        "erspan" => "erspan",
        "vxlan" => "vxlan",
        "geneve" => "geneve",
        "gtp" => "gtp",
        "teredo" => "teredo",
        _ => return None,
    })
}

/// Our view of the same fields, in layer order, quoted layers included (tshark decodes the
/// packet inside ICMP errors too).
fn ours(w: &Walk<'_>) -> BTreeMap<&'static str, Vec<String>> {
    let mut m: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    let mut put = |k: &'static str, v: String| m.entry(k).or_default().push(v);
    for l in w.layers() {
        put("frame.protocols", l.layer.name().to_string());
        match l.header {
            Header::Ipv4(h) => {
                put("ip.src", h.src_addr().to_string());
                put("ip.dst", h.dst_addr().to_string());
            }
            Header::Ipv6(h) => {
                put("ipv6.src", h.src_addr().to_string());
                put("ipv6.dst", h.dst_addr().to_string());
            }
            Header::Tcp(h) => {
                put("tcp.srcport", h.src_port().to_string());
                put("tcp.dstport", h.dst_port().to_string());
                if h.header_len() >= 20 {
                    put("tcp.flags", format!("{:#06x}", h.flags()));
                }
            }
            Header::Udp(h) => {
                put("udp.srcport", h.src_port().to_string());
                put("udp.dstport", h.dst_port().to_string());
            }
            Header::Icmp(h) if h.is_v6() => {
                put("icmpv6.type", h.icmp_type().to_string());
                put("icmpv6.code", h.code().to_string());
            }
            Header::Icmp(h) => {
                put("icmp.type", h.icmp_type().to_string());
                put("icmp.code", h.code().to_string());
            }
            Header::Vlan(t) if t.tpid() == 0x88a8 => put("ieee8021ad.id", t.vid().to_string()),
            Header::Vlan(t) => put("vlan.id", t.vid().to_string()),
            Header::Mpls(e) => put("mpls.label", e.label().to_string()),
            Header::Gre(g) if g.version() == 0 => {
                if let Some(k) = g.key() {
                    put("gre.key", format!("{k:#010x}"));
                }
            }
            Header::Erspan(e) => {
                if let Some(s) = e.session_id() {
                    put("erspan.spanid", s.to_string());
                }
            }
            Header::Vxlan(x) => put("vxlan.vni", x.vni().to_string()),
            Header::Geneve(g) => put("geneve.vni", format!("{:#08x}", g.vni())),
            Header::Gtp(g) => put("gtp.teid", format!("{:#010x}", g.teid())),
            Header::Dns(d) => {
                if let (Some(n), Some(t)) = (d.qname(), d.qtype()) {
                    put("dns.qry.name", n.to_string());
                    put("dns.qry.type", t.to_string());
                }
            }
            _ => {}
        }
    }
    m
}

/// Normalises tshark's values to our formatting where the two merely print differently.
fn norm_tshark(field: &str, v: &str) -> String {
    match field {
        // tshark prints the 12-bit flags field incl. the 3 reserved bits; we expose 9 flags.
        "tcp.flags" => {
            let n = u16::from_str_radix(v.trim_start_matches("0x"), 16).unwrap_or(u16::MAX);
            format!("{:#06x}", n & 0x1ff)
        }
        "gre.key" | "gtp.teid" => {
            let n = u32::from_str_radix(v.trim_start_matches("0x"), 16).unwrap_or(u32::MAX);
            format!("{n:#010x}")
        }
        "geneve.vni" => {
            let n = u32::from_str_radix(v.trim_start_matches("0x"), 16).unwrap_or(u32::MAX);
            format!("{n:#08x}")
        }
        _ => v.to_string(),
    }
}

/// Per-capture, explicitly justified differences: `(file, field, reason)`. A listed field is
/// not compared for that file; every entry must still be needed (checked at the end).
const KNOWN_DIFFERENCES: &[(&str, &str, &str)] = &[
    (
        "tcpdump__erspan-type-iii-pb-1.pcap",
        "frame.protocols",
        "the capture ends inside the ERSPAN III platform-specific subheader (O bit set, 15 of \
         20 bytes): tshark shows the partial header, the walker stops with Truncated{Erspan}",
    ),
    (
        "tcpdump__erspan-type-iii-pb-1.pcap",
        "erspan.spanid",
        "same packet: no ERSPAN layer, so no session id (asserted separately)",
    ),
];

/// The walker protocol a tshark field belongs to.
fn field_proto(field: &str) -> &'static str {
    match field.split('.').next().unwrap_or("") {
        "ip" => "ip",
        "ipv6" => "ip6",
        "tcp" => "tcp",
        "udp" => "udp",
        "icmp" => "icmp",
        "icmpv6" => "icmp6",
        "vlan" | "ieee8021ad" => "vlan",
        "mpls" => "mpls",
        "gre" => "gre",
        "erspan" => "erspan",
        "vxlan" => "vxlan",
        "geneve" => "geneve",
        "gtp" => "gtp",
        "dns" => "dns",
        _ => "",
    }
}

#[test]
fn every_capture_matches_tshark_field_by_field() {
    let mut failures = Vec::new();
    let mut used = vec![false; KNOWN_DIFFERENCES.len()];
    let mut packets = 0usize;
    let mut compared = 0usize;
    for path in all_captures() {
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        let (link, frames) = read_pcap(&path);
        let expected = tshark(&path);
        assert_eq!(expected.len(), frames.len(), "{file}: tshark packet count");
        for (i, (frame, exp)) in frames.iter().zip(&expected).enumerate() {
            packets += 1;
            let w = walk(link, frame, &cfg());
            let mut got = ours(&w);
            let mut want: BTreeMap<&'static str, Vec<String>> = TSHARK_FIELDS
                .iter()
                .map(|f| (*f, exp[f].iter().map(|v| norm_tshark(f, v)).collect()))
                .collect();
            adjust(&w, &mut want, &mut got);
            for field in TSHARK_FIELDS {
                let want = want.get(field).cloned().unwrap_or_default();
                let have = got.get(field).cloned().unwrap_or_default();
                compared += want.len();
                if want != have {
                    if let Some(k) = KNOWN_DIFFERENCES
                        .iter()
                        .position(|(f, fl, _)| *f == file && fl == field)
                    {
                        used[k] = true;
                        continue;
                    }
                    failures.push(format!(
                        "{file} #{}: {field}: tshark {want:?} ours {have:?} (stack {}, stop {:?})",
                        i + 1,
                        w.stack(),
                        w.stop()
                    ));
                }
            }
        }
    }
    for (k, u) in used.iter().enumerate() {
        if !u {
            failures.push(format!(
                "unused KNOWN_DIFFERENCES entry {:?}",
                KNOWN_DIFFERENCES[k]
            ));
        }
    }
    assert!(packets > 1000, "only {packets} packets compared");
    assert!(compared > 5000, "only {compared} values compared");
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Generic, documented reasons why tshark and the walker legitimately differ. Everything
/// else must match exactly.
fn adjust(
    w: &Walk<'_>,
    want: &mut BTreeMap<&'static str, Vec<String>>,
    have: &mut BTreeMap<&'static str, Vec<String>>,
) {
    // 1. tshark lists one "mpls" protocol for a whole label stack; we have one layer per entry.
    let mut ours_p = have.remove("frame.protocols").unwrap_or_default();
    ours_p.dedup_by(|a, b| a == "mpls" && b == "mpls");
    // 2. tshark's list is mapped to our names; it is cut at the first protocol the walker does
    //    not decode (application protocols, LLC/STP/CDP, LLMNR, Cisco MetaData, ...). Fields
    //    of layers after that point are not compared.
    let raw = want.remove("frame.protocols").unwrap_or_default();
    let mut t_p = Vec::new();
    let mut cut_by = None;
    for p in &raw {
        match map_proto(p) {
            Some("") => {}
            Some(m) => t_p.push(m.to_string()),
            None => {
                cut_by = Some(p.clone());
                break;
            }
        }
    }
    // 3. tshark also decodes the application payload of a packet quoted in an ICMP error (e.g.
    //    DNS); the walker stops the quoted packet after its L4 header by design.
    if w.layers().iter().any(|l| l.quoted) && t_p.last().is_some_and(|p| p == "dns") {
        t_p.pop();
        want.remove("dns.qry.name");
        want.remove("dns.qry.type");
    }
    // 4. tshark finds DNS heuristically on any UDP port; the walker decodes DNS only on the
    //    configured ports (53, 5353).
    if t_p.last().is_some_and(|p| p == "dns") && !ours_p.iter().any(|p| p == "dns") {
        let dns_ports = |sp: u16, dp: u16| [53, 5353].iter().any(|&x| x == sp || x == dp);
        let on_dns_port = w.layers().iter().any(|l| match l.header {
            Header::Udp(u) => dns_ports(u.src_port(), u.dst_port()),
            Header::Tcp(t) => dns_ports(t.src_port(), t.dst_port()),
            _ => false,
        });
        if !on_dns_port {
            t_p.pop();
            want.remove("dns.qry.name");
            want.remove("dns.qry.type");
        }
    }
    // 5. When tshark stopped at a protocol it knows and we do not map (anything but plain
    //    "data"), it says nothing about what lies beyond; compare only the common prefix.
    let limit = match cut_by.as_deref() {
        Some(p) if p != "data" => t_p.len().min(ours_p.len()),
        _ => ours_p.len(),
    };
    ours_p.truncate(limit);
    for (field, vals) in want.iter_mut() {
        let p = field_proto(field);
        if p == "mpls" || p.is_empty() {
            continue;
        }
        vals.truncate(t_p.iter().filter(|x| *x == p).count());
        if let Some(h) = have.get_mut(field) {
            h.truncate(ours_p.iter().filter(|x| *x == p).count());
        }
    }
    want.insert("frame.protocols", t_p);
    have.insert("frame.protocols", ours_p);
}

// ---------------------------------------------------------------------------------------------
// robustness

#[test]
fn every_packet_walks_without_panic_and_keys_render() {
    for path in all_captures() {
        let (link, frames) = read_pcap(&path);
        for f in &frames {
            let w = walk(link, f, &cfg());
            exercise(&w);
            assert!(w.payload_offset() <= f.len());
            assert_eq!(walk_strict(link, f, &cfg()).err(), w.stop());
        }
    }
}

struct Sink(usize);
impl std::fmt::Write for Sink {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0 += s.len();
        Ok(())
    }
}
impl KeyVisitor for Sink {
    fn key(&mut self, name: &'static str, _: u8, value: Value<'_>) {
        let _ = write!(self, "{name}={value}");
    }
}
impl FieldVisitor for Sink {
    fn field(&mut self, name: &'static str, value: Value<'_>) {
        let _ = write!(self, "{name}={value}");
    }
}

/// Renders everything a printer would: stack, keys, every layer's fields, the outer UDP.
fn exercise(w: &Walk<'_>) {
    let mut s = Sink(0);
    let _ = write!(s, "{}", w.stack());
    w.visit_keys(&mut s);
    for l in w.layers() {
        l.visit_fields(&mut s);
        assert!(l.offset + l.header_len() <= w.layers().last().map_or(usize::MAX, |_| usize::MAX));
    }
    let _ = w.outer_udp();
    if let Some(e) = w.stop() {
        let _ = write!(s, "{e}");
    }
}

#[test]
fn byte_flips_never_panic() {
    // Deterministic: flip each of the first 160 bytes of every packet with three masks.
    let mut walks = 0usize;
    for path in all_captures() {
        let (link, frames) = read_pcap(&path);
        for f in &frames {
            let mut buf = f.clone();
            for i in 0..buf.len().min(160) {
                for mask in [0xffu8, 0x80, 0x0f] {
                    buf[i] ^= mask;
                    let w = walk(link, &buf, &cfg());
                    exercise(&w);
                    buf[i] ^= mask;
                    walks += 1;
                }
            }
        }
    }
    assert!(walks > 100_000);
}

/// Lax mode on cut frames: every prefix length, and the sFlow-typical 128 bytes.
#[test]
fn truncated_frames_keep_prefix_layers_and_report_the_cut_layer() {
    for path in all_captures() {
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        let (link, frames) = read_pcap(&path);
        for (i, f) in frames.iter().enumerate() {
            let full = walk(link, f, &cfg());
            for n in 0..=f.len().min(256) {
                let cut = walk(link, &f[..n], &cfg());
                exercise(&cut);
                let (fl, cl) = (full.layers(), cut.layers());
                assert!(
                    cl.len() <= fl.len() || full.stop().is_some(),
                    "{file} #{i} cut {n}"
                );
                for (a, b) in fl.iter().zip(cl) {
                    assert_eq!(
                        (a.layer, a.offset, a.depth, a.quoted),
                        (b.layer, b.offset, b.depth, b.quoted),
                        "{file} #{} cut at {n}: layers before the cut must be preserved",
                        i + 1
                    );
                }
                if let Some(Error::Truncated { layer, offset, .. }) = cut.stop() {
                    // An empty raw-IP buffer has no version nibble: reported as IPv4.
                    if n == 0 && link == LinkType::RawIp {
                        assert_eq!(layer, Layer::Ipv4);
                        continue;
                    }
                    let nq = cl.iter().filter(|l| !l.quoted).count();
                    // The cut layer is the last one kept when a TCP header was kept partially,
                    // else the next one of the full walk; DNS errors may point inside it.
                    let partial = cl
                        .last()
                        .filter(|l| !l.quoted && l.layer == Layer::Tcp && layer == Layer::Tcp);
                    match partial.or_else(|| fl.iter().filter(|l| !l.quoted).nth(nq)) {
                        Some(at) => {
                            assert_eq!(at.layer, layer, "{file} #{} cut at {n}: stop layer", i + 1);
                            assert!(
                                offset >= at.offset && offset <= n,
                                "{file} #{} cut at {n}: stop offset {offset} vs layer at {}",
                                i + 1,
                                at.offset
                            );
                        }
                        None => assert_eq!(full.stop().map(|e| e.layer()), Some(layer)),
                    }
                    assert!(offset <= n);
                }
            }
            // The 128-byte sFlow header cut: if the full walk had a header crossing byte 128,
            // the cut walk stops Truncated exactly at it.
            if f.len() > 128 && full.stop().is_none() {
                let cut = walk(link, &f[..128], &cfg());
                if let Some(x) = full
                    .layers()
                    .iter()
                    .find(|l| !l.quoted && l.offset + l.header_len() > 128)
                {
                    if x.offset < 128 || x.header_len() > 0 {
                        match cut.stop() {
                            Some(Error::Truncated { layer, offset, .. }) => {
                                assert_eq!(layer, x.layer, "{file} #{}", i + 1);
                                assert!((x.offset..=128).contains(&offset), "{file} #{}", i + 1);
                            }
                            other => panic!("{file} #{}: 128-byte cut: {other:?}", i + 1),
                        }
                    }
                }
            }
        }
    }
}
