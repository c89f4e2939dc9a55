//! Shared helpers: locating the real captures (`testdata/captures`, or the full set in the
//! workspace's sibling `shared/data`), reading
//! UDP payloads (with their source address) from Ethernet pcaps and raw payload files, and a
//! collecting sink.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::panic,
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use flowlens_netflow::{
    Error, KeyText, NetflowRecord, NetflowSession, Protocol, RecordSink, SamplingSource,
    TemplateEvent,
};
use pcap_parser::{Linktype, PcapCapture};

/// The data directory: `../shared/data` (the full set) when it is beside the checkout, else
/// the repository's `testdata/captures` (its permissively licensed part and the testbed's
/// recordings, same layout); see `flowlens_testdata::corpus_dir`.
pub fn data_dir() -> PathBuf {
    flowlens_testdata::corpus_dir()
}

/// `false` after printing `SKIPPED <test>: <reason>` when `../shared/data` is absent: for the
/// tests whose captures (akvorado, AGPL-3.0; pmacct, GPL-2.0) are only there.
pub fn full_set_or_skip(test: &str) -> bool {
    flowlens_testdata::shared_or_skip(test).is_some()
}

/// Reads a file under the data directory.
pub fn read(rel: &str) -> Vec<u8> {
    let p = data_dir().join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
}

/// One captured datagram.
#[derive(Clone, Debug)]
pub struct Dgram {
    /// Source address of the datagram.
    pub src: IpAddr,
    /// Capture time, ms since the epoch.
    pub ts_ms: u64,
    /// UDP payload.
    pub payload: Vec<u8>,
}

/// Source address, protocol and L4 payload of an Ethernet/IPv4|IPv6 frame (one optional VLAN
/// tag); IPv6 extension headers are not followed.
pub fn ip_payload(frame: &[u8]) -> Option<(IpAddr, IpAddr, u8, &[u8])> {
    ip_payload_at(frame, 14, 12)
}

/// As [`ip_payload`], with the link header `off` bytes long and its EtherType at `et_at`.
pub fn ip_payload_at(
    frame: &[u8],
    off: usize,
    et_at: usize,
) -> Option<(IpAddr, IpAddr, u8, &[u8])> {
    let mut off = off;
    let mut et = u16::from_be_bytes([*frame.get(et_at)?, *frame.get(et_at + 1)?]);
    if et == 0x8100 {
        et = u16::from_be_bytes([*frame.get(16)?, *frame.get(17)?]);
        off += 4;
    }
    match et {
        0x0800 => {
            let ihl = usize::from(frame.get(off)? & 0x0f) * 4;
            let src: [u8; 4] = frame.get(off + 12..off + 16)?.try_into().ok()?;
            let dst: [u8; 4] = frame.get(off + 16..off + 20)?.try_into().ok()?;
            let total = usize::from(u16::from_be_bytes([frame[off + 2], frame[off + 3]]));
            let end = (off + total).min(frame.len());
            Some((
                Ipv4Addr::from(src).into(),
                Ipv4Addr::from(dst).into(),
                *frame.get(off + 9)?,
                frame.get(off + ihl..end)?,
            ))
        }
        0x86dd => {
            let src: [u8; 16] = frame.get(off + 8..off + 24)?.try_into().ok()?;
            let dst: [u8; 16] = frame.get(off + 24..off + 40)?.try_into().ok()?;
            Some((
                Ipv6Addr::from(src).into(),
                Ipv6Addr::from(dst).into(),
                *frame.get(off + 6)?,
                frame.get(off + 40..)?,
            ))
        }
        _ => None,
    }
}

/// The UDP datagrams of an Ethernet pcap under the data directory.
pub fn pcap(rel: &str) -> Vec<Dgram> {
    let bytes = read(rel);
    let cap = PcapCapture::from_file(&bytes).unwrap_or_else(|e| panic!("{rel}: bad pcap: {e:?}"));
    let (off, et_at) = match cap.header.network {
        Linktype::ETHERNET => (14, 12),
        Linktype::LINUX_SLL => (16, 14),
        l => panic!("{rel}: unexpected linktype {l:?}"),
    };
    cap.blocks
        .iter()
        .filter_map(|b| {
            let (src, _, proto, l4) =
                ip_payload_at(b.data, off, et_at).unwrap_or_else(|| panic!("{rel}: not IP"));
            // Some captures also hold the exporter's BGP/BMP (TCP) session: not ours.
            (proto == 17).then(|| Dgram {
                src,
                ts_ms: u64::from(b.ts_sec) * 1000 + u64::from(b.ts_usec) / 1000,
                payload: l4[8..].to_vec(),
            })
        })
        .collect()
}

/// A raw payload file as one datagram from 192.0.2.1 at time 0.
pub fn raw(rel: &str) -> Dgram {
    Dgram {
        src: "192.0.2.1".parse().unwrap(),
        ts_ms: 0,
        payload: read(rel),
    }
}

/// One record as the tests see it.
#[derive(Clone, Debug)]
pub struct Rec {
    pub protocol: Protocol,
    pub template_id: u16,
    pub options: bool,
    pub was_pending: bool,
    pub rate: u32,
    pub source: SamplingSource,
    pub frames: Option<u64>,
    pub bytes: Option<u64>,
    pub start_ms: Option<u64>,
    pub end_ms: Option<u64>,
    pub keys: BTreeMap<String, String>,
    /// `ingressInterface` (IE 10), the engine's data source of the record.
    pub ingress: Option<u64>,
}

/// Collects everything a session reports.
#[derive(Debug, Default)]
pub struct Collect {
    pub records: Vec<Rec>,
    pub options: Vec<Rec>,
    pub templates: Vec<TemplateEvent>,
    pub errors: Vec<Error>,
}

fn rec(r: &NetflowRecord<'_, '_>) -> Rec {
    let mut t = KeyText::default();
    let counts = r.visit_keys(&mut t);
    assert_eq!(counts, r.counts(), "one summary, two ways");
    let ingress = r.ingress_interface();
    assert_eq!(
        ingress,
        r.field(10).and_then(flowlens_wire::netflow::ie::be_uint),
        "ingressInterface by the template's plan and field by field"
    );
    let keys =
        t.0.lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
    Rec {
        protocol: r.protocol,
        template_id: r.template_id,
        options: r.options,
        was_pending: r.was_pending,
        rate: r.sampling_rate,
        source: r.sampling_source,
        frames: counts.frames(),
        bytes: counts.bytes(),
        start_ms: counts.start_ms,
        end_ms: counts.end_ms,
        keys,
        ingress,
    }
}

impl RecordSink for Collect {
    fn record(&mut self, r: &NetflowRecord<'_, '_>) {
        self.records.push(rec(r));
    }
    fn options(&mut self, r: &NetflowRecord<'_, '_>) {
        self.options.push(rec(r));
    }
    fn template(&mut self, e: &TemplateEvent) {
        self.templates.push(*e);
    }
    fn error(&mut self, e: &Error) {
        self.errors.push(e.clone());
    }
}

/// Feeds datagrams through a session (at their capture times), collecting.
pub fn feed(s: &mut NetflowSession, dgrams: &[Dgram], c: &mut Collect) {
    for d in dgrams {
        if let Err(e) = s.handle(d.ts_ms, d.src, &d.payload, c) {
            c.errors.push(e);
        }
    }
}
