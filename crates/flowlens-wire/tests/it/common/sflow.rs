//! Shared helpers for the sFlow integration tests: locating the real capture files in
//! `/work/shared/data` (the workspace's sibling `shared/data`) and extracting UDP payloads.
//! Used by the `sflow_*` test modules.

use flowlens_wire::sflow::{CounterRecord, Datagram, FlowRecord, Sample};
use flowlens_wire::{Error, FieldVisitor, Value};
use pcap_parser::{Linktype, PcapCapture};
use std::path::PathBuf;
use std::string::{String, ToString};
use std::vec::Vec;

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

/// Reads a file under the data directory.
pub fn read(rel: &str) -> Vec<u8> {
    let p = data_dir().join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
}

/// UDP payload of an Ethernet/IPv4/UDP frame (optionally one 802.1Q tag).
pub fn udp_payload(frame: &[u8]) -> Option<&[u8]> {
    let mut off = 14;
    if frame.get(12..14)? == [0x81, 0x00] {
        off += 4;
    }
    let ihl = usize::from(frame.get(off)? & 0x0f) * 4;
    if frame.get(off)? >> 4 != 4 || frame.get(off + 9)? != &17 {
        return None;
    }
    frame.get(off + ihl + 8..)
}

/// The UDP payloads of every frame of a legacy Ethernet pcap under the data directory.
pub fn pcap_payloads(rel: &str) -> Vec<Vec<u8>> {
    let bytes = read(rel);
    let cap = PcapCapture::from_file(&bytes).unwrap_or_else(|e| panic!("{rel}: bad pcap: {e:?}"));
    assert_eq!(
        cap.header.network,
        Linktype::ETHERNET,
        "{rel}: unexpected linktype"
    );
    cap.blocks
        .iter()
        .map(|b| {
            udp_payload(b.data)
                .unwrap_or_else(|| panic!("{rel}: frame is not IPv4/UDP"))
                .to_vec()
        })
        .collect()
}

/// The sFlow payload of a `.bin` file (`*.eth.bin` are whole Ethernet frames).
pub fn bin_payload(rel: &str) -> Vec<u8> {
    let bytes = read(rel);
    if rel.ends_with(".eth.bin") {
        udp_payload(&bytes)
            .unwrap_or_else(|| panic!("{rel}: not Ethernet/IPv4/UDP"))
            .to_vec()
    } else {
        bytes
    }
}

/// Payloads of any sFlow data file (pcap or bin).
pub fn payloads(rel: &str) -> Vec<Vec<u8>> {
    if rel.ends_with(".pcap") {
        pcap_payloads(rel)
    } else {
        std::vec![bin_payload(rel)]
    }
}

/// Every sFlow data file, relative to the data directory, found by listing the folders (so a new
/// file is picked up and an emptied folder fails).
pub fn all_sflow_files() -> Vec<String> {
    let mut out = Vec::new();
    let mut list = |dir: &str, pred: &dyn Fn(&str) -> bool| {
        let mut names: Vec<String> = std::fs::read_dir(data_dir().join(dir))
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .map(|e| {
                e.expect("dir entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .filter(|n| pred(n))
            .collect();
        names.sort();
        assert!(!names.is_empty(), "no sFlow files in {dir}");
        out.extend(names.into_iter().map(|n| format!("{dir}/{n}")));
    };
    list("sflow", &|n| n.ends_with(".pcap"));
    list("payloads/gopacket", &|n| n.starts_with("sflow"));
    list("payloads/goflow2", &|n| n.starts_with("sflow"));
    list("payloads/telegraf", &|n| n.starts_with("sflow"));
    list("exporters", &|n| {
        n.starts_with("sflow") && n.ends_with(".pcap")
    });
    out
}

/// Collects visited fields as `name=value` strings.
#[derive(Default, Debug)]
pub struct Fields(pub Vec<(&'static str, String)>);

impl FieldVisitor for Fields {
    fn field(&mut self, name: &'static str, value: Value<'_>) {
        self.0.push((name, value.to_string()));
    }
}

impl Fields {
    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
    /// All values of `name`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// Fields of anything with `visit_fields`.
pub fn fields_of(f: impl FnOnce(&mut Fields)) -> Fields {
    let mut v = Fields::default();
    f(&mut v);
    v
}

/// A fully decoded datagram: every sample with its records, and every error met on the way.
#[derive(Debug)]
pub struct Decoded<'a> {
    /// The parsed header.
    pub datagram: Datagram<'a>,
    /// Each sample with its flow records and counter records.
    pub samples: Vec<(Sample<'a>, Vec<FlowRecord<'a>>, Vec<CounterRecord<'a>>)>,
    /// Every error yielded by the iterators, in order.
    pub errors: Vec<Error>,
}

/// Walks a datagram completely, visiting every field (to exercise the visitors).
pub fn decode(buf: &[u8]) -> Result<Decoded<'_>, Error> {
    let datagram = Datagram::parse(buf)?;
    let mut sink = Fields::default();
    datagram.visit_fields(&mut sink);
    let mut samples = Vec::new();
    let mut errors = Vec::new();
    for s in datagram.samples() {
        let s = match s {
            Ok(s) => s,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        s.visit_fields(&mut sink);
        let (mut flows, mut ctrs) = (Vec::new(), Vec::new());
        let flow_iter = match &s {
            Sample::Flow(f) => Some(f.records()),
            Sample::Discard(d) => Some(d.records()),
            _ => None,
        };
        for r in flow_iter.into_iter().flatten() {
            match r {
                Ok(r) => {
                    r.visit_fields(&mut sink);
                    flows.push(r);
                }
                Err(e) => errors.push(e),
            }
        }
        if let Sample::Counter(c) = &s {
            for r in c.records() {
                match r {
                    Ok(r) => {
                        r.visit_fields(&mut sink);
                        ctrs.push(r);
                    }
                    Err(e) => errors.push(e),
                }
            }
        }
        samples.push((s, flows, ctrs));
    }
    Ok(Decoded {
        datagram,
        samples,
        errors,
    })
}

/// Formats of the flow records of a sample.
pub fn flow_formats(recs: &[FlowRecord<'_>]) -> Vec<u32> {
    recs.iter().map(|r| r.format).collect()
}

/// Formats of the counter records of a sample.
pub fn counter_formats(recs: &[CounterRecord<'_>]) -> Vec<u32> {
    recs.iter().map(|r| r.format).collect()
}

/// `to_string` shorthand for assertions.
pub fn s(v: impl ToString) -> String {
    v.to_string()
}

/// Human-readable dump of a whole datagram (every field of every sample and record), used to
/// cross-check against tshark and in failure messages.
pub fn dump(buf: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let line = |out: &mut String, indent: &str, f: &Fields| {
        for (n, v) in &f.0 {
            let _ = write!(out, "{indent}{n}={v} ");
        }
        out.push('\n');
    };
    let d = match decode(buf) {
        Ok(d) => d,
        Err(e) => return format!("datagram error: {e}\n"),
    };
    line(&mut out, "", &fields_of(|v| d.datagram.visit_fields(v)));
    for (s, flows, ctrs) in &d.samples {
        let _ = write!(out, "  [{} @{}] ", s.name(), s.offset());
        line(&mut out, "", &fields_of(|v| s.visit_fields(v)));
        for r in flows {
            let _ = write!(
                out,
                "    {}:{} {} @{}: ",
                r.enterprise,
                r.format,
                r.name(),
                r.offset
            );
            line(&mut out, "", &fields_of(|v| r.visit_fields(v)));
        }
        for r in ctrs {
            let _ = write!(
                out,
                "    {}:{} {} @{}: ",
                r.enterprise,
                r.format,
                r.name(),
                r.offset
            );
            line(&mut out, "", &fields_of(|v| r.visit_fields(v)));
        }
    }
    for e in &d.errors {
        let _ = writeln!(out, "  ERROR {e}");
    }
    out
}
