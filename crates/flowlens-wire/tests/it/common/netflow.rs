//! Shared helpers for the NetFlow/IPFIX integration tests: the corpus of real datagrams in
//! `/work/shared/data` (see its PROVENANCE.md) grouped into template "sessions" fed in order,
//! and a stateless decode of each datagram against a test-local template store.
//! Used by the `netflow_*` test modules.

use flowlens_wire::netflow::{data_records, ipfix, sniff, v5, v9, FieldSpec, Protocol, Set, Sets};
use flowlens_wire::packet::{walk, LinkType, WalkConfig};
use flowlens_wire::Error;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

/// The data directory: `../shared/data` (the full set) when it is beside the checkout, else
/// the repository's `testdata/captures` (its permissively licensed part, same layout); see
/// `flowlens_testdata::corpus_dir`. Tests whose expectations name files outside the
/// repository check [`full_set`] and print a `SKIPPED` line for that part without it.
pub fn data_dir() -> PathBuf {
    flowlens_testdata::corpus_dir()
}

/// Whether [`data_dir`] is the full set (`../shared/data`).
pub fn full_set() -> bool {
    flowlens_testdata::has_full_set()
}

/// One UDP payload of the corpus (one NetFlow/IPFIX datagram after splitting back-to-back
/// recordings).
#[derive(Clone, Debug)]
pub struct Datagram {
    /// File it came from (relative to the data dir).
    pub file: String,
    /// Index of the frame (pcap) or 0 (payload file).
    pub frame: usize,
    /// Exporter address (pcap source address; a synthetic one for payload files).
    pub exporter: IpAddr,
    /// Bytes.
    pub payload: Vec<u8>,
}

/// A group of files sharing one template store, in feed order.
#[derive(Clone, Debug)]
pub struct Group {
    /// Name (first file).
    pub name: String,
    /// Files in feed order.
    pub files: Vec<String>,
    /// Datagrams in feed order.
    pub datagrams: Vec<Datagram>,
    /// Bytes that follow the last datagram of a payload file and are not a datagram, per file.
    pub trailing: Vec<(String, usize)>,
}

fn list(dir: &str) -> Vec<String> {
    let path = data_dir().join(dir);
    // From a plain clone `netflow-ipfix/` (akvorado, nDPI, pmacct, pktvisor) is absent.
    if !full_set() && !path.exists() {
        return Vec::new();
    }
    let mut v: Vec<String> = std::fs::read_dir(path)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// The UDP ports the corpus's NetFlow/IPFIX exporters send to (tshark's own defaults are
/// 2055, 9995, 9996 and 4739; the others, as the captures' exporters chose them, are decoded
/// as NetFlow/IPFIX explicitly).
pub const NETFLOW_PORTS: &[u16] = &[
    2055, 2057, 2100, 4739, 8096, 9990, 9991, 9992, 19995, 19996, 19997, 19999,
];

/// UDP payloads of a pcap with their source addresses, as tshark selects them: every frame
/// tshark dissects as NetFlow/IPFIX (`-Y cflow`, the ports of [`NETFLOW_PORTS`] decoded as
/// cflow). The frames flowlens's own walker and sniffer recognise must be exactly these:
/// a capture flowlens stops recognising fails here instead of dropping out of the oracle.
fn pcap_datagrams(rel: &str) -> Vec<Datagram> {
    let path = data_dir().join(rel);
    let mut cmd = std::process::Command::new("tshark");
    cmd.arg("-r").arg(&path);
    for port in NETFLOW_PORTS {
        cmd.args(["-d", &format!("udp.port=={port},cflow")]);
    }
    cmd.args(["-o", "ip.defragment:TRUE", "-Y", "cflow", "-T", "fields"])
        .args(["-e", "frame.number", "-e", "ip.src", "-e", "ipv6.src"])
        .args(["-e", "udp.payload"]);
    let out = cmd
        .output()
        .expect("tshark (Wireshark 4.0) must be installed for this test");
    assert!(
        out.status.success(),
        "tshark {rel}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut out_dgs = Vec::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 4, "{rel}: tshark line {line:?}");
        let frame: usize = cols[0].parse().unwrap();
        let src = if cols[1].is_empty() { cols[2] } else { cols[1] };
        // A tunnelled or ICMP-quoted frame can carry several addresses: the outer one is first.
        let src = src.split(',').next().unwrap();
        out_dgs.push(Datagram {
            file: rel.to_string(),
            frame: frame - 1,
            exporter: src.parse().unwrap_or_else(|e| panic!("{rel}: {src}: {e}")),
            payload: unhex(cols[3].split(',').next().unwrap()),
        });
    }
    // What flowlens recognises: every frame whose outer UDP payload it sniffs as
    // NetFlow/IPFIX (BGP over TCP in pmacct 500, sFlow in the exporter captures are neither).
    let bytes = std::fs::read(&path).unwrap();
    let cap = pcap_parser::PcapCapture::from_file(&bytes)
        .unwrap_or_else(|e| panic!("{rel}: bad pcap: {e:?}"));
    let lt = u32::try_from(cap.header.network.0).unwrap();
    let link = LinkType::from_pcap(lt).unwrap_or_else(|| panic!("{rel}: link type {lt}"));
    let ours: Vec<usize> = cap
        .blocks
        .iter()
        .enumerate()
        .filter(|(_, b)| {
            let w = walk(link, b.data, &WalkConfig::default());
            w.outer_udp().is_some_and(|u| sniff(u.payload).is_some())
        })
        .map(|(i, _)| i)
        .collect();
    let theirs: Vec<usize> = out_dgs.iter().map(|d| d.frame).collect();
    assert_eq!(
        ours, theirs,
        "{rel}: frames flowlens (left) and tshark (right) take for NetFlow/IPFIX"
    );
    for d in &out_dgs {
        let w = walk(link, cap.blocks[d.frame].data, &WalkConfig::default());
        let u = w.outer_udp().unwrap();
        assert_eq!(
            u.payload,
            d.payload.as_slice(),
            "{rel} frame {}: UDP payload",
            d.frame
        );
        assert_eq!(
            u.src_addr, d.exporter,
            "{rel} frame {}: source address",
            d.frame
        );
    }
    out_dgs
}

/// Bytes of a hex string as tshark prints them.
pub fn unhex(h: &str) -> Vec<u8> {
    (0..h.len() / 2)
        .map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// Splits a payload file into datagrams (Logstash `netflow5.dat` and `ipfix.dat` hold several
/// back to back) by the headers' own lengths, read here from the specifications' layouts and
/// not by the decoder under test: NetFlow v5 is a 24-byte header and `count` (bytes 2-3)
/// 48-byte records (Cisco's NetFlow v5 export format); an IPFIX message's length is its bytes
/// 2-3 (RFC 7011 section 3.1); NetFlow v9 has no length (RFC 3954 section 5.1), so a v9
/// file is one datagram. Returns the datagrams and the count of trailing bytes that are no
/// datagram.
pub fn split(buf: &[u8]) -> (Vec<&[u8]>, usize) {
    let mut out = Vec::new();
    let mut rest = buf;
    loop {
        let word = |i: usize| {
            rest.get(i..i + 2)
                .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
        };
        let len = match word(0) {
            Some(5) => word(2).map(|count| 24 + 48 * count),
            Some(10) => word(2).filter(|&n| n >= 16),
            Some(9) => Some(rest.len()),
            _ => None,
        };
        match len {
            Some(n) if n > 0 && n <= rest.len() => {
                out.push(&rest[..n]);
                rest = &rest[n..];
                if rest.is_empty() {
                    return (out, 0);
                }
            }
            _ if out.is_empty() => return (vec![buf], 0),
            _ => return (out, rest.len()),
        }
    }
}

/// Logstash feed sequences, parsed from PROVENANCE.md ("sequence: a → b → c").
fn logstash_sequences() -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(data_dir().join("PROVENANCE.md")).unwrap();
    let mut seqs: Vec<Vec<String>> = Vec::new();
    for part in text.split("sequence: ").skip(1) {
        let line = part.split(['<', '|', '\n']).next().unwrap_or("");
        let files: Vec<String> = line
            .split('→')
            .map(|s| s.trim().to_string())
            // Not kept upstream-identical copy: PROVENANCE says it equals valid01.
            .map(|s| {
                if s == "netflow9_test_softflowd_tpl_data.dat" {
                    "netflow9_test_valid01.dat".to_string()
                } else {
                    s
                }
            })
            .filter(|s| !s.is_empty())
            .collect();
        if files.len() > 1 && !seqs.contains(&files) {
            seqs.push(files);
        }
    }
    assert!(seqs.len() >= 20, "PROVENANCE.md sequences: {}", seqs.len());
    seqs
}

fn payload_group(dir: &str, files: &[String], index: usize) -> Group {
    let mut datagrams = Vec::new();
    let mut trailing = Vec::new();
    for f in files {
        let rel = format!("{dir}/{f}");
        let bytes = std::fs::read(data_dir().join(&rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
        let (parts, rest) = split(&bytes);
        if rest > 0 {
            trailing.push((rel.clone(), rest));
        }
        for (i, p) in parts.into_iter().enumerate() {
            datagrams.push(Datagram {
                file: rel.clone(),
                frame: i,
                exporter: IpAddr::V4(Ipv4Addr::new(
                    10,
                    200,
                    (index / 250) as u8,
                    (index % 250) as u8 + 1,
                )),
                payload: p.to_vec(),
            });
        }
    }
    Group {
        name: files[0].clone(),
        files: files.to_vec(),
        datagrams,
        trailing,
    }
}

/// Every NetFlow/IPFIX datagram of the corpus, grouped by template session, in feed order:
/// the `netflow-ipfix/` pcaps (one group; files whose name mentions "template" first, so that
/// akvorado's `*-template(s).pcap` precede their `*-data.pcap`), each exporter capture, each
/// Logstash sequence (others alone), and each Telegraf test case (files in name order).
pub fn corpus() -> Vec<Group> {
    let mut groups = Vec::new();
    // netflow-ipfix pcaps: akvorado's template/data pairs (same stem once the -template(s),
    // -options-template, -options-data and -data suffixes are removed) share a store, templates
    // first; every other capture is its own group.
    let files = list("netflow-ipfix");
    if full_set() {
        assert_eq!(files.len(), 36, "netflow-ipfix pcaps");
    }
    let mut stems: Vec<(String, Vec<String>)> = Vec::new();
    for f in &files {
        let mut stem = f.trim_end_matches(".pcap");
        for suffix in [
            "-options-template",
            "-options-data",
            "-templates",
            "-template",
            "-data",
        ] {
            if let Some(s) = stem.strip_suffix(suffix) {
                stem = s;
                break;
            }
        }
        match stems.iter_mut().find(|(s, _)| s == stem) {
            Some((_, v)) => v.push(f.clone()),
            None => stems.push((stem.to_string(), vec![f.clone()])),
        }
    }
    for (_, mut fs) in stems {
        fs.sort_by_key(|f| (!f.contains("template"), f.clone()));
        let files: Vec<String> = fs.iter().map(|f| format!("netflow-ipfix/{f}")).collect();
        let mut datagrams = Vec::new();
        for f in &files {
            datagrams.extend(pcap_datagrams(f));
        }
        groups.push(Group {
            name: files[0].clone(),
            files,
            datagrams,
            trailing: Vec::new(),
        });
    }
    for f in list("exporters") {
        if f.starts_with("netflow") || f.starts_with("ipfix") {
            let rel = format!("exporters/{f}");
            groups.push(Group {
                name: rel.clone(),
                files: vec![rel.clone()],
                datagrams: pcap_datagrams(&rel),
                trailing: Vec::new(),
            });
        }
    }
    // Logstash payloads.
    let dir = "payloads/logstash-codec-netflow";
    let all = list(dir);
    let seqs = logstash_sequences();
    let mut used = std::collections::HashSet::new();
    let mut index = 0;
    for s in &seqs {
        for f in s {
            assert!(all.contains(f), "sequence file {f} missing");
            used.insert(f.clone());
        }
        groups.push(payload_group(dir, s, index));
        index += 1;
    }
    for f in &all {
        if !used.contains(f) {
            groups.push(payload_group(dir, std::slice::from_ref(f), index));
            index += 1;
        }
    }
    // Telegraf payloads: group by test case.
    let dir = "payloads/telegraf";
    let mut cases: Vec<(String, Vec<String>)> = Vec::new();
    for f in list(dir) {
        if f.starts_with("sflow") {
            continue;
        }
        let case = f.split("__").next().unwrap().to_string();
        match cases.iter_mut().find(|(c, _)| *c == case) {
            Some((_, v)) => v.push(f),
            None => cases.push((case, vec![f])),
        }
    }
    for (_, files) in &cases {
        groups.push(payload_group(dir, files, index));
        index += 1;
    }
    groups
}

/// Template store key: (exporter, protocol version, source id / observation domain, template id).
pub type Key = (IpAddr, u16, u32, u16);

/// A decoded data record: its set's template id and its fields.
#[derive(Clone, Debug)]
pub struct Rec {
    /// Template (set) id; 0 for NetFlow v5.
    pub template_id: u16,
    /// True when the template was an options template.
    pub options: bool,
    /// Fields with their bytes.
    pub fields: Vec<(FieldSpec, Vec<u8>)>,
    /// Byte offset of each field in the datagram.
    pub offsets: Vec<usize>,
    /// Each field's value as flowlens renders it, for integers, addresses and MAC addresses
    /// (what tshark shows comparably); `None` for the others.
    pub values: Vec<Option<String>>,
}

impl Rec {
    /// First value of IANA element `id`.
    pub fn get(&self, id: u16) -> Option<&[u8]> {
        self.fields
            .iter()
            .find(|(s, _)| s.id == id && s.enterprise == 0 && !s.scope)
            .map(|(_, b)| b.as_slice())
    }
    /// Unsigned value of IANA element `id`.
    pub fn uint(&self, id: u16) -> Option<u64> {
        self.get(id).and_then(flowlens_wire::netflow::ie::be_uint)
    }
}

/// What one datagram decoded to.
#[derive(Clone, Debug, Default)]
pub struct Decoded {
    /// Protocol version (5, 9, 10), 0 if not sniffed.
    pub version: u16,
    /// (set id, template id, field count, options) per template record, in order.
    pub templates: Vec<(u16, u16, u16, bool)>,
    /// Each template record's id and field specifiers, in order.
    pub template_fields: Vec<(u16, Vec<FieldSpec>)>,
    /// Set ids of data sets, in order.
    pub data_sets: Vec<u16>,
    /// Every set id (template, options template, data, reserved), in order.
    pub sets: Vec<u16>,
    /// Data sets whose template was unknown.
    pub undecodable: Vec<u16>,
    /// Decoded records.
    pub records: Vec<Rec>,
    /// Errors.
    pub errors: Vec<Error>,
}

/// A test-local template store, as a collector keeps one.
#[derive(Default, Clone)]
pub struct Store {
    map: HashMap<Key, (Vec<FieldSpec>, bool)>,
}

impl Store {
    /// Decodes one datagram, learning its templates first-come.
    pub fn decode(&mut self, exporter: IpAddr, payload: &[u8]) -> Decoded {
        let mut d = Decoded::default();
        match sniff(payload) {
            Some(Protocol::NetflowV5) => {
                d.version = 5;
                match v5::Packet::parse(payload) {
                    Ok(p) => {
                        for (i, r) in p.records().enumerate() {
                            d.records.push(v5_rec(&r, 24 + 48 * i));
                        }
                    }
                    Err(e) => d.errors.push(e),
                }
            }
            Some(Protocol::NetflowV9) => {
                d.version = 9;
                match v9::Packet::parse(payload) {
                    Ok(p) => self.sets(exporter, 9, p.source_id(), p.sets(), payload, &mut d),
                    Err(e) => d.errors.push(e),
                }
            }
            Some(Protocol::Ipfix) => {
                d.version = 10;
                match ipfix::Message::parse(payload) {
                    Ok(m) => {
                        let domain = m.observation_domain_id();
                        self.sets(exporter, 10, domain, m.sets(), payload, &mut d)
                    }
                    Err(e) => d.errors.push(e),
                }
            }
            None => {
                // Try each parser for a precise error.
                let e = match payload.get(..2) {
                    Some([0, 5]) => v5::Packet::parse(payload).err(),
                    Some([0, 9]) => v9::Packet::parse(payload).err(),
                    Some([0, 10]) => ipfix::Message::parse(payload).err(),
                    _ => None,
                };
                if let Some(e) = e {
                    d.errors.push(e);
                }
            }
        }
        d
    }

    fn sets(
        &mut self,
        exporter: IpAddr,
        ver: u16,
        domain: u32,
        sets: Sets<'_>,
        payload: &[u8],
        d: &mut Decoded,
    ) {
        for s in sets {
            match &s {
                Ok(Set::Templates(ts) | Set::OptionsTemplates(ts)) => d.sets.push(ts.set_id()),
                Ok(Set::Data(ds)) => d.sets.push(ds.template_id()),
                Ok(Set::Reserved { id, .. }) => d.sets.push(*id),
                Err(_) => {}
            }
            match s {
                Err(e) => d.errors.push(e),
                Ok(Set::Templates(ts) | Set::OptionsTemplates(ts)) => {
                    for t in ts.templates() {
                        match t {
                            Err(e) => d.errors.push(e),
                            Ok(t) => {
                                d.templates.push((
                                    ts.set_id(),
                                    t.template_id(),
                                    t.field_count(),
                                    t.is_options(),
                                ));
                                d.template_fields
                                    .push((t.template_id(), t.fields().collect()));
                                if t.is_withdrawal() {
                                    let id = t.template_id();
                                    if id < 256 {
                                        self.map.retain(|k, (_, o)| {
                                            !(k.0 == exporter
                                                && k.2 == domain
                                                && *o == ts.is_options())
                                        });
                                    } else {
                                        self.map.remove(&(exporter, ver, domain, id));
                                    }
                                } else {
                                    self.map.insert(
                                        (exporter, ver, domain, t.template_id()),
                                        (t.fields().collect(), t.is_options()),
                                    );
                                }
                            }
                        }
                    }
                }
                Ok(Set::Data(ds)) => {
                    d.data_sets.push(ds.template_id());
                    let Some((fields, options)) =
                        self.map.get(&(exporter, ver, domain, ds.template_id()))
                    else {
                        d.undecodable.push(ds.template_id());
                        continue;
                    };
                    for r in data_records(fields, ds.data(), ds.offset()) {
                        match r {
                            Ok(r) => {
                                // Exercise naming and value rendering of every field.
                                let mut sink = Sink::default();
                                flowlens_wire::netflow::visit_data_record(&r, &mut sink);
                                assert_eq!(sink.0, r.fields().count());
                                // Where each field lies in the datagram: its bytes are a
                                // slice of it.
                                let base = payload.as_ptr() as usize;
                                d.records.push(Rec {
                                    template_id: ds.template_id(),
                                    options: *options,
                                    fields: r.fields().map(|(s, b)| (s, b.to_vec())).collect(),
                                    offsets: r
                                        .fields()
                                        .map(|(_, b)| b.as_ptr() as usize - base)
                                        .collect(),
                                    values: sink.2,
                                })
                            }
                            Err(e) => d.errors.push(e),
                        }
                    }
                }
                Ok(Set::Reserved { .. }) => {}
            }
        }
    }
}

const fn spec(id: u16, length: u16) -> FieldSpec {
    FieldSpec {
        id,
        length,
        enterprise: 0,
        scope: false,
    }
}

/// A NetFlow v5 record expressed as IANA fields (for uniform comparisons), each at its
/// offset in Cisco's NetFlow v5 record layout, the record starting at `at`.
fn v5_rec(r: &v5::Record<'_>, at: usize) -> Rec {
    let b = |v: &[u8]| v.to_vec();
    let fields = vec![
        (spec(8, 4), b(&r.src_addr().octets())),
        (spec(12, 4), b(&r.dst_addr().octets())),
        (spec(15, 4), b(&r.next_hop().octets())),
        (spec(10, 2), b(&r.input().to_be_bytes())),
        (spec(14, 2), b(&r.output().to_be_bytes())),
        (spec(2, 4), b(&r.packets().to_be_bytes())),
        (spec(1, 4), b(&r.octets().to_be_bytes())),
        (spec(22, 4), b(&r.first_ms().to_be_bytes())),
        (spec(21, 4), b(&r.last_ms().to_be_bytes())),
        (spec(7, 2), b(&r.src_port().to_be_bytes())),
        (spec(11, 2), b(&r.dst_port().to_be_bytes())),
        (spec(6, 1), b(&[r.tcp_flags()])),
        (spec(4, 1), b(&[r.protocol()])),
        (spec(5, 1), b(&[r.tos()])),
        (spec(16, 2), b(&r.src_as().to_be_bytes())),
        (spec(17, 2), b(&r.dst_as().to_be_bytes())),
        (spec(9, 1), b(&[r.src_mask()])),
        (spec(13, 1), b(&[r.dst_mask()])),
    ];
    // Offsets in the 48-byte record: srcaddr 0, dstaddr 4, nexthop 8, input 12, output 14,
    // dPkts 16, dOctets 20, First 24, Last 28, srcport 32, dstport 34, pad1 36, tcp_flags 37,
    // prot 38, tos 39, src_as 40, dst_as 42, src_mask 44, dst_mask 45, pad2 46.
    let offsets = [
        0, 4, 8, 12, 14, 16, 20, 24, 28, 32, 34, 37, 38, 39, 40, 42, 44, 45,
    ]
    .iter()
    .map(|o| at + o)
    .collect();
    Rec {
        template_id: 0,
        options: false,
        values: vec![None; fields.len()],
        fields,
        offsets,
    }
}

/// Decodes every group; returns (group, datagram, decoded) triples in feed order.
pub fn decode_all() -> Vec<(Group, Vec<Decoded>)> {
    corpus()
        .into_iter()
        .map(|g| {
            let mut store = Store::default();
            let d = g
                .datagrams
                .iter()
                .map(|dg| store.decode(dg.exporter, &dg.payload))
                .collect();
            (g, d)
        })
        .collect()
}

/// Writes every datagram of `groups` into one classic Ethernet pcap, each wrapped in
/// Ethernet/IPv4/UDP to port 2055 (tshark's default NetFlow/IPFIX port), in feed order. Each
/// group gets its own source addresses (10.g.e.1 for exporter e of group g), so tshark's
/// template state never crosses groups. Returns the (group, datagram) index per frame.
pub fn write_pcap(groups: &[Group], path: &std::path::Path) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&262_144u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    let mut index = Vec::new();
    for (gi, g) in groups.iter().enumerate() {
        let mut exporters: Vec<IpAddr> = Vec::new();
        for (di, d) in g.datagrams.iter().enumerate() {
            let e = match exporters.iter().position(|x| *x == d.exporter) {
                Some(e) => e,
                None => {
                    exporters.push(d.exporter);
                    exporters.len() - 1
                }
            };
            let src = [10, (gi / 200) as u8 + 1, (gi % 200) as u8, e as u8 + 1];
            let udp_len = 8 + d.payload.len();
            let ip_len = 20 + udp_len;
            let mut f = Vec::with_capacity(14 + ip_len);
            f.extend_from_slice(&[2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]);
            f.extend_from_slice(&[0x45, 0]);
            f.extend_from_slice(&(ip_len as u16).to_be_bytes());
            f.extend_from_slice(&[0, 0, 0x40, 0, 64, 17, 0, 0]);
            f.extend_from_slice(&src);
            f.extend_from_slice(&[10, 255, 0, 1]);
            f.extend_from_slice(&(20000 + e as u16).to_be_bytes());
            f.extend_from_slice(&2055u16.to_be_bytes());
            f.extend_from_slice(&(udp_len as u16).to_be_bytes());
            f.extend_from_slice(&[0, 0]);
            f.extend_from_slice(&d.payload);
            let n = index.len() as u32;
            out.extend_from_slice(&(1_700_000_000 + n).to_le_bytes());
            out.extend_from_slice(&0u32.to_le_bytes());
            out.extend_from_slice(&(f.len() as u32).to_le_bytes());
            out.extend_from_slice(&(f.len() as u32).to_le_bytes());
            out.extend_from_slice(&f);
            index.push((gi, di));
        }
    }
    std::fs::write(path, out).unwrap();
    index
}

/// Counts visited fields, renders every value, and keeps the renderings of integers,
/// addresses and MAC addresses.
#[derive(Default)]
pub struct Sink(pub usize, pub String, pub Vec<Option<String>>);

impl flowlens_wire::FieldVisitor for Sink {
    fn field(&mut self, name: &'static str, value: flowlens_wire::Value<'_>) {
        use flowlens_wire::Value;
        use std::fmt::Write as _;
        self.0 += 1;
        self.1.clear();
        write!(self.1, "{name}={value}").unwrap();
        self.2.push(match value {
            Value::U64(_) | Value::Ip(_) | Value::Mac(_) => Some(value.to_string()),
            _ => None,
        });
    }
}
