//! Packet walker tests against real third-party captures (`/work/shared/data/packets`, see
//! its PROVENANCE.md): field-by-field comparison with tshark, per-capture assertions, lax
//! truncation behaviour and deterministic byte-flip robustness.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use flowlens_wire::packet::{walk, walk_strict, Header, LinkType, Walk, WalkConfig};
use flowlens_wire::{Error, FieldVisitor, KeyId, KeyMask, KeyVisitor, Layer, Value};

/// `packets/` of the data directory: `../shared/data` (the full set) when it is beside the
/// checkout, else the repository's `testdata/captures` (see `flowlens_testdata::corpus_dir`).
fn data_dir() -> PathBuf {
    let p = flowlens_testdata::corpus_dir().join("packets");
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

/// Whether capture `name` is there; prints `SKIPPED <test> (<name> part): <reason>` when it is
/// not (it is only in `../shared/data`, absent beside a plain clone), and the caller leaves
/// that part of the test out.
fn have(test: &str, name: &str) -> bool {
    let found = all_captures()
        .iter()
        .any(|p| p.file_name().is_some_and(|n| n == name));
    if !found {
        flowlens_testdata::skip(
            &format!("{test} ({name} part)"),
            "the capture is only in ../shared/data (its licence keeps it out of the \
             repository), which is not beside this checkout",
        );
    }
    found
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
        "dns" | "mdns" | "llmnr" => "dns",
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
    //    configured ports (53, 5353, 5355).
    if t_p.last().is_some_and(|p| p == "dns") && !ours_p.iter().any(|p| p == "dns") {
        let dns_ports = |sp: u16, dp: u16| [53, 5353, 5355].iter().any(|&x| x == sp || x == dp);
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
            exercise(&w, f.len());
            assert!(w.payload_offset() <= f.len());
            assert_eq!(walk_strict(link, f, &cfg()).err(), w.stop());
        }
    }
}

/// Keys of one id only, asked for through the visitor's mask.
struct OneKey(KeyId, Vec<(String, u8, String)>);

impl KeyVisitor for OneKey {
    fn key(&mut self, name: &'static str, depth: u8, value: Value<'_>) {
        self.1.push((name.to_string(), depth, value.to_string()));
    }
    fn mask(&self) -> KeyMask {
        KeyMask::of(self.0)
    }
}

/// The walker's mask checks (per key, and per layer for the layers with many keys) drop
/// nothing asked for: asked for one key alone, every packet of every capture gives exactly
/// that key's values of the full visit (and nothing else).
#[test]
fn each_key_asked_alone_gives_what_the_full_visit_gives() {
    let mut compared = 0usize;
    for path in all_captures() {
        let (link, frames) = read_pcap(&path);
        for f in &frames {
            let w = walk(link, f, &cfg());
            let full = Keys::of(&w);
            for id in KeyMask::PACKET.iter() {
                let mut one = OneKey(id, Vec::new());
                w.visit_keys(&mut one);
                let want: Vec<_> = full.0.iter().filter(|(n, ..)| n == id.name()).collect();
                let got: Vec<_> = one.1.iter().collect();
                assert_eq!(
                    got,
                    want,
                    "{} ({}): key {}",
                    path.display(),
                    f.len(),
                    id.name()
                );
                compared += want.len();
            }
        }
    }
    assert!(compared > 10_000, "only {compared} values compared");
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

/// Renders everything a printer would: stack, keys, every layer's fields, the outer UDP; and
/// checks that every layer the walker reports lies within the `len` bytes it was given.
fn exercise(w: &Walk<'_>, len: usize) {
    let mut s = Sink(0);
    let _ = write!(s, "{}", w.stack());
    w.visit_keys(&mut s);
    for l in w.layers() {
        l.visit_fields(&mut s);
        assert!(
            l.offset + l.header_len() <= len,
            "layer at {} of {} bytes past the {len} given",
            l.offset,
            l.header_len()
        );
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
                    exercise(&walk(link, &buf, &cfg()), buf.len());
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
                exercise(&cut, n);
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

// ---------------------------------------------------------------------------------------------
// per-capture assertions (values cross-checked with tshark 4.0 and the PROVENANCE notes)

/// Walks every frame of a capture and returns (walk keys, stack string, stop) per frame.
fn keys_of(name: &str) -> Vec<(Keys, String, Option<Error>)> {
    let (link, frames) = read_pcap(&capture(name));
    frames
        .iter()
        .map(|f| {
            let w = walk(link, f, &cfg());
            (Keys::of(&w), w.stack().to_string(), w.stop())
        })
        .collect()
}

#[test]
fn vxlan_vni_and_inner_headers() {
    for (file, vni) in [
        ("zeek__vxlan.pcap", "123"),
        ("tcpdump__vxlan.pcap", "100"),
        ("zeek__vxlan-encapsulated-http.pcap", "1"),
        ("suricata-verify__vxlan-non-zero-reserved-fields.pcap", "11"),
        ("ndpi__vxlan-in-vlan.pcap", "1111"),
    ] {
        if !have("vxlan_vni_and_inner_headers", file) {
            continue;
        }
        for (k, stack, stop) in keys_of(file) {
            assert_eq!(stop, None, "{file}");
            assert_eq!(k.get("vxlanvni", 0), Some(vni), "{file}");
            assert!(stack.contains(".udp.vxlan.eth."), "{file}: {stack}");
            assert!(
                k.get("macsource", 1).is_some(),
                "{file}: inner MAC at depth 1"
            );
            // Outer IP 20/40 + UDP 8 + VXLAN 8 + inner Ethernet 14 (+4 per inner VLAN tag).
            if k.get("ipsource", 1).is_some() && k.get("ip6source", 0).is_none() {
                let tags = stack
                    .split(".vxlan.")
                    .nth(1)
                    .unwrap_or("")
                    .matches("vlan")
                    .count();
                assert_eq!(
                    k.get("tunneloverhead_bytes", 0),
                    Some((50 + 4 * tags).to_string().as_str()),
                    "{file}: {stack}"
                );
            }
        }
    }
    let k = &keys_of("zeek__vxlan.pcap")[2].0;
    assert_eq!(k.get("ipsource", 1), Some("10.0.0.1"));
    assert_eq!(k.get("ipdestination", 1), Some("10.0.0.2"));
    assert_eq!(k.get("ipsource", 0), Some("192.168.56.11"));
    assert_eq!(k.get("icmptype", 1), Some("8"));
    // The outer ipsource is not overwritten by the inner one.
    assert_eq!(k.all("ipsource", 0), vec!["192.168.56.11"]);
    if have("vxlan_vni_and_inner_headers", "ndpi__vxlan-in-vlan.pcap") {
        let k = &keys_of("ndpi__vxlan-in-vlan.pcap")[0].0;
        assert!(k.get("vlan", 0).is_some());
    }
}

#[test]
fn nvgre_vsid_from_gre_teb_with_key() {
    // zeek's "erspan.pcap": GRE K bit + 0x6558 = NVGRE wire format; keys 0 and 0x02000000.
    let all = keys_of("zeek__erspan-gre-teb-key-fragmented.pcap");
    let vsids: std::collections::BTreeSet<_> = all
        .iter()
        .filter_map(|(k, _, _)| k.get("grevsid", 0).map(str::to_string))
        .collect();
    assert_eq!(vsids.into_iter().collect::<Vec<_>>(), ["0", "131072"]);
    let (k, stack, _) = &all[1];
    assert_eq!(stack, "eth.ip.gre.eth.ip.icmp");
    assert_eq!(k.get("grekey", 0), Some("33554432"));
    assert_eq!(k.get("nvgreflowid", 0), Some("0"));
    assert_eq!(k.get("greprotocol", 0), Some("25944"));
    assert_eq!(k.get("ipsource", 1), Some("192.168.69.2"));
    // The 39 outer IPv4 non-first fragments carry no GRE header to decode.
    let frags = all.iter().filter(|(_, s, _)| s == "eth.ip").count();
    assert_eq!(frags, 39);
    assert!(all.iter().all(|(_, _, stop)| stop.is_none()));
    // GRE TEB without key is not NVGRE.
    for (k, stack, _) in keys_of("suricata-verify__gre-teb-http.pcap") {
        assert!(stack.starts_with("eth.ip.gre.eth.ip.tcp"), "{stack}");
        assert_eq!(k.get("grevsid", 0), None);
    }
}

#[test]
fn erspan_types_and_session_ids() {
    for (k, stack, stop) in keys_of("zeek__erspanI.pcap") {
        assert_eq!(
            (stack.as_str(), stop),
            ("eth.ip.gre.erspan.eth.ip.icmp", None)
        );
        assert_eq!(k.get("erspanversion", 0), Some("1"));
        assert_eq!(
            k.get("erspansessionid", 0),
            None,
            "type I has no ERSPAN header"
        );
    }
    for file in [
        "zeek__erspanII.pcap",
        "suricata-verify__erspan-typeII-cdp.pcap",
    ] {
        for (k, _, stop) in keys_of(file) {
            assert_eq!(stop, None);
            assert_eq!(k.get("erspanversion", 0), Some("2"));
            assert_eq!(k.get("erspansessionid", 0), Some("100"), "{file}");
        }
    }
    assert_eq!(
        keys_of("zeek__erspanII.pcap")[0].0.get("erspanvlan", 0),
        Some("23")
    );
    for (k, _, _) in keys_of("tcpdump__erspan-type-ii-2.pcap") {
        assert_eq!(k.get("erspansessionid", 0), Some("1"));
    }
    for (k, stack, _) in keys_of("tcpdump__erspan-type-iii-ft-0.pcap") {
        assert_eq!(stack, "eth.ip.gre.erspan.eth.vlan.ip.icmp");
        assert_eq!(k.get("erspanversion", 0), Some("3"));
        assert_eq!(k.get("erspanvlan", 0), Some("20"));
        assert_eq!(k.get("vlan", 1), Some("20"));
    }
    for (k, stack, _) in keys_of("zeek__gre-erspan3-dot1q.pcap") {
        assert_eq!(stack, "eth.ip.gre.erspan.eth.vlan.ip.icmp");
        assert_eq!(k.get("erspanversion", 0), Some("3"));
        assert_eq!(k.get("vlan", 1), Some("10"));
    }
    // ERSPAN III with the platform-specific subheader (O bit), over IPv6 with destination
    // options, raw IP link type; the capture ends inside the subheader.
    let (link, frames) = read_pcap(&capture("tcpdump__erspan-type-iii-pb-1.pcap"));
    assert_eq!(link, LinkType::RawIp);
    let w = walk(link, &frames[0], &cfg());
    assert_eq!(w.stack().to_string(), "ip6.ip6ext.gre");
    assert_eq!(
        w.stop(),
        Some(Error::Truncated {
            layer: Layer::Erspan,
            offset: 64,
            needed: 20,
            available: 15
        })
    );
    // The 12-byte ERSPAN III header itself is intact: decoded alone, its O bit is set.
    let e = flowlens_wire::packet::ErspanHeader::new_checked(&frames[0][64..76], 3);
    assert!(matches!(e, Err(Error::Truncated { needed: 20, .. })));
}

#[test]
fn geneve_vni_protocol_and_options() {
    for (k, stack, stop) in keys_of("suricata-verify__geneve-decoder.pcap") {
        assert_eq!(stop, None);
        assert_eq!(k.get("genevevni", 0), Some("123"));
        assert!(stack.starts_with("eth.ip.udp.geneve.eth."));
    }
    for (k, stack, _) in keys_of("zeek__geneve-ipv6.pcap") {
        assert_eq!(stack, "eth.ip.udp.geneve.ip6.udp");
        assert_eq!(k.get("genevevni", 0), Some(&*0x123456.to_string()));
        assert_eq!(k.get("geneveprotocol", 0), Some("34525"));
        assert!(k.get("ip6source", 1).is_some());
    }
    let (link, frames) = read_pcap(&capture("zeek__geneve-many-options.pcap"));
    for f in &frames {
        let w = walk(link, f, &cfg());
        let g = w
            .layers()
            .iter()
            .find_map(|l| match l.header {
                Header::Geneve(g) => Some(g),
                _ => None,
            })
            .unwrap();
        assert_eq!(g.vni(), 0x0c012e);
        assert!(g.opt_len() > 0);
        let opts: Vec<_> = g.options().collect();
        assert!(opts.len() > 1, "many options");
        assert!(opts.iter().all(|o| o.class == 0x0100));
        let total: usize = opts.iter().map(|o| 4 + o.data.len()).sum();
        assert_eq!(
            total,
            usize::from(g.opt_len()) * 4,
            "options skipped exactly by length"
        );
    }
    let vnis: std::collections::BTreeSet<_> = keys_of("tcpdump__geneve.pcap")
        .iter()
        .map(|(k, _, _)| k.get("genevevni", 0).unwrap().to_string())
        .collect();
    assert_eq!(vnis.into_iter().collect::<Vec<_>>(), ["10", "11"]);
}

#[test]
fn gtp_teid_teredo_and_ip_in_ip() {
    let (k, stack, _) = &keys_of("zeek__gtp4_udp_2152_inside.pcap")[0];
    assert_eq!(stack, "eth.ip.udp.gtp.ip.udp");
    assert_eq!(k.get("gtpteid", 0), Some("13080"));
    // The inner UDP 2152 -> 2152 payload is not GTPv1: the walker does not recurse into it.
    assert_eq!(k.get("udpdestinationport", 1), Some("2152"));
    assert_eq!(k.get("gtpteid", 1), None);

    let test = "gtp_teid_teredo_and_ip_in_ip";
    if have(test, "ndpi__teredo.pcap") {
        let t = keys_of("ndpi__teredo.pcap");
        assert!(t
            .iter()
            .all(|(_, s, _)| s.starts_with("eth.ip.udp.teredo.ip6")));
        assert_eq!(t[0].0.get("ip6source", 1), Some("fe80::ffff:ffff:fffe"));
        assert_eq!(t[0].0.get("icmp6type", 1), Some("133"));
    }

    let (k, stack, _) = &keys_of("zeek__4in4.pcap")[0];
    assert_eq!(stack, "eth.ip.ip.udp");
    assert!(k.get("ipsource", 1).is_some() && k.get("udpsourceport", 1).is_some());
    let (k, stack, _) = &keys_of("zeek__4in6.pcap")[0];
    assert_eq!(stack, "eth.ip6.ip.tcp");
    assert_eq!(k.get("ip6nexthdr", 0), Some("4"));
    assert_eq!(k.get("ipsource", 1), Some("70.55.213.211"));
    assert_eq!(k.get("tcpflags", 1), Some("000000010"));
    let (k, stack, _) = &keys_of("zeek__6in6.pcap")[0];
    assert_eq!(stack, "eth.ip6.ip6.udp");
    assert_eq!(k.get("ip6source", 1), Some("dead::beef"));
    assert_eq!(k.get("udpdestinationport", 1), Some("13000"));
    for (k, stack, _) in keys_of("zeek__ping6-in-ipv4.pcap") {
        assert_eq!(stack, "eth.ip.ip6.icmp6");
        assert_eq!(k.get("ipprotocol", 0), Some("41"));
        assert!(k.get("icmpid", 1).is_some());
    }
    if have(test, "ndpi__4in4tunnel-qinq.pcap") {
        for (k, stack, _) in keys_of("ndpi__4in4tunnel-qinq.pcap") {
            assert_eq!(stack, "eth.vlan.vlan.ip.ip.udp");
            assert_eq!(k.get("vlanstack", 0), Some("1624.505"));
        }
    }
    // PPTP: enhanced GRE v1 carrying PPP, inside 4in6 -> two tunnel levels.
    let (k, stack, _) = &keys_of("zeek__gre-pptp.pcap")[0];
    assert_eq!(stack, "eth.vlan.ip6.ip.gre.ppp.ip.udp.dns");
    assert_eq!(k.get("greversion", 1), Some("1"));
    assert_eq!(k.get("ipdestination", 2), Some("8.8.8.8"));
    assert_eq!(k.get("dnsqr", 2), Some("false"));
    // GRE-in-UDP (RFC 8086).
    let (k, stack, _) = &keys_of("zeek__gre-over-udp-4754.pcap")[0];
    assert_eq!(stack, "eth.ip.udp.gre.ip.udp.dns");
    assert_eq!(k.get("dnsqname", 1), Some("zeek.org."));
}

#[test]
fn vlan_stacks() {
    let (k, stack, _) = &keys_of("suricata-verify__triple-vlan-icmp.pcap")[0];
    assert_eq!(stack, "eth.vlan.vlan.vlan.ip.icmp");
    assert_eq!(k.get("vlan", 0), Some("200"));
    assert_eq!(k.get("vlanstack", 0), Some("200.300.400"));
    assert_eq!(k.all("vlan", 0).len(), 1, "vlan is the outermost tag only");
    for (k, stack, _) in keys_of("tcpdump__802.1ad_QinQ.pcap") {
        assert_eq!(stack, "eth.vlan.vlan.arp");
        assert_eq!(k.get("vlanstack", 0), Some("200.2001"));
        assert_eq!(k.get("ethernetprotocol", 0), Some("2054"));
        assert!(k.get("arpipsender", 0).is_some());
    }
    let (k, _, _) = &keys_of("packetnet__802.1ad_vlan_ipv4.pcap")[0];
    assert_eq!(k.get("vlanstack", 0), Some("30.100"));
    for (k, _, _) in keys_of("zeek__q-in-q.pcap") {
        assert_eq!(k.get("vlanstack", 0), Some("13.10"));
    }
    for (k, _, _) in keys_of("zeek__http-qinq-0.pcap") {
        assert_eq!(k.get("vlanstack", 0), Some("0.0"));
    }
    let (k, _, _) = &keys_of("packetnet__802.1q_vlan_ipv4_tcp.pcap")[0];
    assert_eq!(
        (k.get("vlan", 0), k.get("vlanstack", 0)),
        (Some("102"), None)
    );
}

#[test]
fn mpls_explicit_null_eompls_and_mpls_over_udp() {
    // akvorado's captures (AGPL-3.0) are only in ../shared/data.
    if have(
        "mpls_explicit_null_eompls_and_mpls_over_udp",
        "akvorado__mpls-explicit-null-ipv4.pcap",
    ) {
        let (k, stack, _) = &keys_of("akvorado__mpls-explicit-null-ipv4.pcap")[0];
        assert_eq!(stack, "eth.mpls.ip.tcp");
        assert_eq!(k.get("mplslabels", 0), Some("0"));
        assert_eq!(k.get("ipsource", 0), Some("10.31.0.1"));
        let (k, stack, _) = &keys_of("akvorado__mpls-ipv4.pcap")[0];
        assert_eq!(stack, "eth.mpls.mpls.ip.tcp");
        assert_eq!(k.get("mplslabels", 0), Some("18.16"));
        assert_eq!(keys_of("akvorado__mpls-ipv6.pcap")[0].1, "eth.mpls.ip6.tcp");
        // EoMPLS with control word: tshark's heuristic picks "no control word" and cannot decode
        // the inner frame; akvorado (and this walker) read the CW then Ethernet.
        let (k, stack, stop) = &keys_of("akvorado__mpls-eompls-cw.pcap")[0];
        assert_eq!(
            (stack.as_str(), *stop),
            ("eth.mpls.mpls.pwcw.eth.ip.tcp", None)
        );
        assert_eq!(k.get("mplslabels", 0), Some("300012.17"));
        assert_eq!(k.get("macsource", 1), Some("020000000004"));
        assert_eq!(k.get("ipsource", 1), Some("10.31.0.1"));
        assert_eq!(k.get("tcpdestinationport", 1), Some("23"));
    }
    let labels: Vec<_> = keys_of("tcpdump__mpls-over-udp.pcap")
        .iter()
        .map(|(k, _, _)| k.get("mplslabels", 1).unwrap().to_string())
        .collect();
    assert_eq!(labels, ["21", "46"]);
    // PPP link type with MPLS (label 100704).
    let (k, stack, _) = &keys_of("tcpdump__mpls-traceroute.pcap")[0];
    assert_eq!(stack, "ppp.mpls.ip.udp");
    assert_eq!(k.get("mplslabels", 0), Some("100704"));
}

#[test]
fn icmp_errors_quote_the_invoking_packet() {
    // Fragmentation needed (type 3 code 4) with the RFC 1191 next-hop MTU.
    let all = keys_of("suricata-verify__smtp-with-icmp-frag-needed.pcap");
    let pmtu: Vec<_> = all
        .iter()
        .filter(|(k, _, _)| k.get("icmptype", 0) == Some("3"))
        .collect();
    assert_eq!(pmtu.len(), 4);
    let out = std::process::Command::new("tshark")
        .arg("-r")
        .arg(capture("suricata-verify__smtp-with-icmp-frag-needed.pcap"))
        .args(["-Y", "icmp.type == 3", "-T", "fields", "-e", "ip.dst"])
        .output()
        .expect("tshark");
    let text = String::from_utf8_lossy(&out.stdout);
    let quoted_dsts: Vec<&str> = text
        .lines()
        .map(|l| l.split(',').nth(1).expect("outer and quoted ip.dst"))
        .collect();
    assert_eq!(quoted_dsts.len(), 4, "{text}");
    let quoted_dst = quoted_dsts[0].to_string();
    assert!(quoted_dsts.iter().all(|d| *d == quoted_dst), "{text}");
    for (k, stack, stop) in pmtu {
        assert_eq!((stack.as_str(), *stop), ("eth.ip.icmp", None));
        assert_eq!(k.get("icmpcode", 0), Some("4"));
        assert_eq!(k.get("icmpnexthopmtu", 0), Some("1492"));
        // The destination of the packet that was too big: the quoted IPv4 header's, as
        // tshark reads it (the second `ip.dst` of the frame), not the ICMP message's own.
        assert_eq!(k.get("icmptoobighost", 0), Some(quoted_dst.as_str()));
        // Outer keys are the ICMP message's own, not the quoted TCP segment's.
        assert_eq!(k.get("ipprotocol", 0), Some("1"));
        assert_eq!(k.get("tcpdestinationport", 0), None);
    }
    let (link, frames) = read_pcap(&capture("suricata-verify__smtp-with-icmp-frag-needed.pcap"));
    let w = walk(link, &frames[25], &cfg());
    let quoted: Vec<_> = w
        .layers()
        .iter()
        .filter(|l| l.quoted)
        .map(|l| l.layer)
        .collect();
    assert_eq!(quoted, [Layer::Ipv4, Layer::Tcp]);
    let Some(Header::Tcp(t)) = w.layers().last().map(|l| l.header) else {
        panic!()
    };
    assert_eq!(t.dst_port(), 25);

    let (k, _, _) = &keys_of("zeek__icmp-destunreach-udp.pcap")[0];
    assert_eq!(k.get("icmpunreachableport", 0), Some("udp_59207"));
    assert_eq!(
        k.get("udpsourceport", 0),
        None,
        "quoted UDP does not leak into outer keys"
    );
    let (k, _, _) = &keys_of("zeek__icmp-destunreach-ip.pcap")[0];
    assert_eq!(k.get("icmpunreachablenet", 0), Some("10.0.0.1"));
    let (k, stack, stop) = &keys_of("zeek__icmp-destunreach-no-context.pcap")[0];
    assert_eq!((stack.as_str(), *stop), ("eth.ip.icmp", None));
    assert_eq!(k.get("icmpunreachablenet", 0), None);
    let (k, _, _) = &keys_of("zeek__icmp6-destunreach-ip6ext-udp.pcap")[0];
    assert_eq!(k.get("icmp6type", 0), Some("1"));
    assert_eq!(k.get("icmpunreachablenet", 0), Some("fe80::dead"));
    let (link, frames) = read_pcap(&capture("zeek__icmp6-destunreach-ip6ext-udp.pcap"));
    let w = walk(link, &frames[0], &cfg());
    let quoted: Vec<_> = w
        .layers()
        .iter()
        .filter(|l| l.quoted)
        .map(|l| l.layer)
        .collect();
    assert_eq!(quoted, [Layer::Ipv6, Layer::Ipv6Ext, Layer::Udp]);
    let (k, _, _) = &keys_of("zeek__icmp-ping.pcap")[1];
    assert_eq!(
        (k.get("icmpid", 0), k.get("icmpseqno", 0)),
        (Some("34844"), Some("0"))
    );
    // ICMP over PPP with an RFC 5837 extension: the quoted packet is still found.
    let (link, frames) = read_pcap(&capture("tcpdump__icmp-rfc5837.pcap"));
    assert_eq!(link, LinkType::Ppp);
    let w = walk(link, &frames[0], &cfg());
    assert!(w.layers().iter().any(|l| l.quoted && l.layer == Layer::Udp));
}

#[test]
fn dns_over_udp_and_tcp() {
    let names: Vec<_> = keys_of("suricata-verify__dns-udp-google-a-aaaa-mx.pcap")
        .iter()
        .map(|(k, _, _)| {
            (
                k.get("dnsqname", 0).unwrap().to_string(),
                k.get("dnsqtypename", 0).unwrap().to_string(),
            )
        })
        .collect();
    let types: Vec<_> = names.iter().map(|(_, t)| t.as_str()).collect();
    assert!(names.iter().all(|(n, _)| n == "google.com."));
    assert_eq!(types, ["A", "A", "AAAA", "AAAA", "MX", "MX"]);
    let all = keys_of("suricata-verify__dns-tcp-www-google-com.pcap");
    let tcp_dns: Vec<_> = all
        .iter()
        .filter(|(_, s, _)| s == "eth.ip.tcp.dns")
        .collect();
    assert_eq!(tcp_dns.len(), 2);
    assert_eq!(tcp_dns[0].0.get("dnsqname", 0), Some("www.google.com."));
    assert_eq!(tcp_dns[0].0.get("dnsqr", 0), Some("false"));
    assert_eq!(tcp_dns[1].0.get("dnsqr", 0), Some("true"));
    assert_eq!(tcp_dns[1].0.get("dnsqtype", 0), Some("1"));
    let (k, _, _) = &keys_of("zeek__dns53.pcap")[0];
    assert_eq!(k.get("dnsqname", 0), Some("us.v27.distributed.net."));
    assert_eq!(k.get("dnsancount", 0), Some("8"));
    let ssh: Vec<_> = keys_of("tcpdump__dnssec.pcap")
        .iter()
        .filter_map(|(k, _, _)| k.get("dnsqtypename", 0).map(str::to_string))
        .collect();
    assert!(ssh.iter().any(|t| t == "SSHFP"), "{ssh:?}");
}

#[test]
fn tcp_flag_sequences() {
    let seq = |f: &str| -> Vec<String> {
        keys_of(f)
            .iter()
            .map(|(k, _, _)| k.get("tcpflags", 0).unwrap_or("-").to_string())
            .collect()
    };
    // S, F, SA, FA, R
    assert_eq!(
        seq("zeek__tcp-fin_retransmission.pcap"),
        [
            "000000010",
            "000000001",
            "000010010",
            "000010001",
            "000000100"
        ]
    );
    assert_eq!(seq("zeek__tcp-syn-synack.pcap"), ["000000010", "000010010"]);
    assert_eq!(seq("zeek__tcp-syn-then-rst.pcap")[0], "000000010");
    assert_eq!(seq("zeek__tcp-single-rst.pcap").len(), 1);
    // ECN-setup SYN: CWR + ECE + SYN.
    assert_eq!(seq("zeek__tcp-truncated-header-ecn.pcap")[0], "011000010");
    let (link, frames) = read_pcap(&capture("zeek__tcp-options.pcap"));
    let w = walk(link, &frames[0], &cfg());
    let Some(Header::Tcp(t)) = w.layers().last().map(|l| l.header) else {
        panic!()
    };
    assert_eq!(
        (t.mss(), t.window_scale(), t.sack_permitted()),
        (Some(1460), Some(6), true)
    );
    assert_eq!(t.timestamps().map(|t| t.0), Some(4294923497));
    assert_eq!(Keys::of(&w).get("tcpmss", 0), Some("1460"));
}

#[test]
fn fragments_stop_before_l4_unless_first() {
    // IPv4: only the first fragment has an L4 header.
    for (k, stack, stop) in keys_of("zeek__ipv4-fragmented-1.pcap") {
        assert_eq!(stop, None);
        let off: u32 = k.get("ipfragoffset", 0).unwrap().parse().unwrap();
        assert_eq!(stack == "eth.ip", off != 0, "{stack} at offset {off}");
    }
    // A first fragment that ends inside the TCP header (options cut): ports and flags are
    // kept and this is not an error, since the fragment itself is complete.
    let (k, stack, stop) = &keys_of("zeek__ipv4-fragmented-syn.pcap")
        .into_iter()
        .find(|(k, _, _)| k.get("ipfragoffset", 0) == Some("0"))
        .unwrap();
    assert_eq!((stack.as_str(), *stop), ("eth.ip.tcp", None));
    assert_eq!(k.get("ipflags", 0), Some("001"));
    assert_eq!(k.get("tcpflags", 0), Some("000000010"));
    // IPv6 fragment header.
    let all = keys_of("zeek__ipv6-fragmented-dns.pcap");
    let frags: Vec<_> = all
        .iter()
        .filter(|(k, _, _)| k.get("ip6fragm", 0) == Some("yes"))
        .collect();
    assert_eq!(frags.len(), 4);
    for (k, stack, _) in frags {
        let first = k.get("ip6fragoffset", 0) == Some("0");
        assert_eq!(stack.ends_with(".ip6ext"), !first, "{stack}");
        assert_eq!(k.get("ip6nexthdr", 0), Some("17"));
    }
    let (link, frames) = read_pcap(&capture("suricata-verify__frag-rawipv6-tcp.pcap"));
    assert_eq!(link, LinkType::Ipv6, "LINKTYPE_IPV6 (229)");
    let stacks: Vec<_> = frames
        .iter()
        .map(|f| walk(link, f, &cfg()).stack().to_string())
        .collect();
    assert!(stacks.iter().any(|s| s == "ip6.ip6ext.tcp"), "{stacks:?}");
}

#[test]
fn outer_udp_and_payload_offset() {
    let (link, frames) = read_pcap(&capture("zeek__vxlan.pcap"));
    let w = walk(link, &frames[0], &cfg());
    let u = w.outer_udp().unwrap();
    assert_eq!((u.dst_port, u.payload_offset), (4789, 42));
    assert_eq!(u.src_addr.to_string(), "192.168.56.11");
    assert_eq!(u.payload.len(), 78 - 28);
    assert_eq!(w.payload_offset(), frames[0].len().min(42 + 8 + 14 + 28));
    // Lax vs strict: the same cut frame.
    let cut = &frames[2][..90];
    let lax = walk(link, cut, &cfg());
    assert_eq!(lax.stack().to_string(), "eth.ip.udp.vxlan.eth.ip");
    assert!(matches!(
        lax.stop(),
        Some(Error::Truncated {
            layer: Layer::Icmp,
            offset: 84,
            ..
        })
    ));
    assert_eq!(walk_strict(link, cut, &cfg()).err(), lax.stop());
    // Tunnel depth limit.
    let shallow = WalkConfig {
        max_tunnel_depth: 0,
        ..cfg()
    };
    let w = walk(link, &frames[2], &shallow);
    assert_eq!(w.stack().to_string(), "eth.ip.udp.vxlan");
    assert!(matches!(
        w.stop(),
        Some(Error::TooDeep {
            layer: Layer::Vxlan,
            ..
        })
    ));
}

#[test]
fn dns_compression_pointer_loop_is_rejected_not_followed() {
    // A real query (tcpdump dns_udp.pcap) whose QNAME is overwritten with a pointer to itself.
    let (link, frames) = read_pcap(&capture("tcpdump__dns_udp.pcap"));
    let w = walk(link, &frames[0], &cfg());
    let dns = w
        .layers()
        .iter()
        .find(|l| l.layer == Layer::Dns)
        .unwrap()
        .offset;
    let mut f = frames[0].clone();
    f[dns + 12] = 0xc0;
    f[dns + 13] = 12;
    let w = walk(link, &f, &cfg());
    assert_eq!(w.stack().to_string(), "eth.ip.udp");
    assert!(
        matches!(
            w.stop(),
            Some(Error::Invalid {
                layer: Layer::Dns,
                field: "pointer_hops",
                ..
            })
        ),
        "{:?}",
        w.stop()
    );
    drop(w);
    // A pointer past the end of the message.
    f[dns + 13] = 0xff;
    let w = walk(link, &f, &cfg());
    assert!(matches!(
        w.stop(),
        Some(Error::Invalid {
            layer: Layer::Dns,
            field: "pointer",
            ..
        })
    ));
}

#[test]
fn dont_fragment_flag_and_no_overhead_without_tunnel() {
    for (k, stack, _) in keys_of("zeek__4in4.pcap") {
        // IP-in-IP: the inner IPv4 header follows the outer one directly.
        assert_eq!(k.get("tunneloverhead_bytes", 0), Some("20"), "{stack}");
    }
    for (k, _, _) in keys_of("suricata-verify__smtp-with-icmp-frag-needed.pcap") {
        assert_eq!(k.get("tunneloverhead_bytes", 0), None);
        let flags = k.get("ipflags", 0).unwrap();
        let df = k.get("ipdontfragment", 0).unwrap();
        assert_eq!(df == "true", flags == "010", "{flags} {df}");
    }
}

#[test]
fn address_class_dscp_name_and_ip_offset() {
    use flowlens_wire::packet::keys::dscp_name_of;
    assert_eq!(dscp_name_of(46), Some("ef"));
    assert_eq!(dscp_name_of(34), Some("af41"));
    assert_eq!(dscp_name_of(0), Some("cs0"));
    assert_eq!(dscp_name_of(3), None);
    for file in [
        "zeek__vxlan.pcap",
        "zeek__icmp-ping.pcap",
        "tcpdump__dns_udp.pcap",
    ] {
        for (k, stack, _) in keys_of(file) {
            let dst = k.get("macdestination", 0).unwrap();
            let bcast = dst == "ffffffffffff";
            assert_eq!(
                k.get("isbroadcast", 0),
                Some(if bcast { "true" } else { "false" })
            );
            let group = u8::from_str_radix(&dst[..2], 16).unwrap() & 1 == 1;
            assert_eq!(
                k.get("isunicast", 0),
                Some(if group { "false" } else { "true" })
            );
            if stack.starts_with("eth.ip.") {
                assert_eq!(k.get("ip_offset", 0), Some("14"), "{file}: {stack}");
                let dscp: u8 = k.get("ipdscp", 0).unwrap().parse().unwrap();
                assert_eq!(
                    k.get("ipdscpname", 0),
                    Some(dscp_name_of(dscp).unwrap_or("?")),
                    "{file}"
                );
            }
        }
    }
    let (k, stack, _) = &keys_of("zeek__vxlan.pcap")[0];
    assert!(stack.starts_with("eth.ip.udp.vxlan.eth"), "{stack}");
    assert!(
        k.get("isunicast", 1).is_some(),
        "inner Ethernet has its own address class"
    );
}
