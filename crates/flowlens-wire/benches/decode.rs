//! Decoder throughput on real datagrams and frames from `../shared/data`.
//!
//! - `sflow/samples`: decode every sample and every record of the Open vSwitch testbed's sFlow
//!   (`exporters/sflow-ovs-br0.pcap`) and of pmacct's sfprobe; throughput in flow samples.
//! - `sflow/samples+walk+keys`: the same plus walking each sampled header and visiting its flow
//!   keys, i.e. everything the engine will do per sample before aggregation.
//! - `packet/walk`: walk Ethernet/IPv4/TCP|UDP frames (`exporters/synthetic-traffic.pcap`);
//!   throughput in headers; `packet/etherparse-slice` runs the etherparse crate's slicer over
//!   the same frames as a reference point; `packet/walk+keys` adds visiting every flow key.
//!
//! Method and figures: BENCHMARKS.md.

#![allow(clippy::expect_used, clippy::panic, missing_docs)] // benchmark setup may abort

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use flowlens_wire::packet::{walk, LinkType, WalkConfig};
use flowlens_wire::sflow::{Datagram, FlowData, Sample};
use flowlens_wire::{KeyVisitor, Value};
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{LegacyPcapReader, PcapBlockOwned, PcapError};

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
}

/// Every frame of a classic pcap file.
fn frames(rel: &str) -> Vec<Vec<u8>> {
    let path = data_dir().join(rel);
    let file = std::fs::File::open(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (benchmarks need ../shared/data)", path.display()));
    let mut reader = LegacyPcapReader::new(1 << 20, file).expect("pcap header");
    let mut out = Vec::new();
    loop {
        match reader.next() {
            Ok((n, block)) => {
                if let PcapBlockOwned::Legacy(b) = block {
                    out.push(b.data.to_vec());
                }
                reader.consume(n);
            }
            Err(PcapError::Eof) => break,
            Err(PcapError::Incomplete(_)) => reader.refill().expect("refill"),
            Err(e) => panic!("{}: {e:?}", path.display()),
        }
    }
    out
}

/// UDP payloads of the sFlow datagrams in a capture.
fn sflow_payloads(rel: &str) -> Vec<Vec<u8>> {
    let cfg = WalkConfig::default();
    frames(rel)
        .iter()
        .filter_map(|f| {
            let w = walk(LinkType::Ethernet, f, &cfg);
            let udp = w.outer_udp()?;
            flowlens_wire::sflow::is_sflow_v5(udp.payload).then(|| udp.payload.to_vec())
        })
        .collect()
}

fn count_flow_samples(dgrams: &[Vec<u8>]) -> u64 {
    let mut n = 0;
    for d in dgrams {
        let d = Datagram::parse(d).expect("valid datagram");
        n += d
            .samples()
            .flatten()
            .filter(|s| matches!(s, Sample::Flow(_)))
            .count() as u64;
    }
    n
}

struct CountKeys(u64);

impl KeyVisitor for CountKeys {
    fn key(&mut self, _name: &'static str, depth: u8, _value: Value<'_>) {
        self.0 += 1 + u64::from(depth);
    }
}

fn decode_all(dgrams: &[Vec<u8>], walk_headers: bool) -> u64 {
    let cfg = WalkConfig::default();
    let mut acc = 0u64;
    for d in dgrams {
        let Ok(d) = Datagram::parse(d) else { continue };
        for s in d.samples().flatten() {
            if let Sample::Flow(fs) = s {
                acc = acc.wrapping_add(u64::from(fs.sampling_rate()));
                for r in fs.records().flatten() {
                    if let FlowData::SampledHeader(h) = &r.data {
                        acc = acc.wrapping_add(u64::from(h.frame_length()));
                        if walk_headers {
                            if let Some(link) =
                                LinkType::from_sflow_header_protocol(h.header_protocol())
                            {
                                let w = walk(link, h.header(), &cfg);
                                let mut keys = CountKeys(0);
                                w.visit_keys(&mut keys);
                                acc = acc.wrapping_add(keys.0);
                            }
                        }
                    }
                }
            }
        }
    }
    acc
}

fn bench_sflow(c: &mut Criterion) {
    for (label, rel) in [
        ("ovs", "exporters/sflow-ovs-br0.pcap"),
        ("pmacct", "exporters/sflow-pmacct-savefile.pcap"),
    ] {
        let dgrams = sflow_payloads(rel);
        let samples = count_flow_samples(&dgrams);
        let mut g = c.benchmark_group(format!("sflow/{label}"));
        g.throughput(Throughput::Elements(samples));
        g.bench_function("samples", |b| {
            b.iter(|| decode_all(black_box(&dgrams), false))
        });
        g.bench_function("samples+walk+keys", |b| {
            b.iter(|| decode_all(black_box(&dgrams), true))
        });
        g.finish();
    }
}

fn bench_walk(c: &mut Criterion) {
    let frames = frames("exporters/synthetic-traffic.pcap");
    let cfg = WalkConfig::default();
    let mut g = c.benchmark_group("packet");
    g.throughput(Throughput::Elements(frames.len() as u64));
    g.bench_function("walk", |b| {
        b.iter(|| {
            let mut acc = 0usize;
            for f in &frames {
                acc += walk(LinkType::Ethernet, black_box(f), &cfg).payload_offset();
            }
            acc
        })
    });
    // Peer: etherparse's zero-copy slicer over the same frames (Ethernet, VLAN, IP, TCP/UDP;
    // no tunnels, no DNS), for a ratio measured in the same run.
    g.bench_function("etherparse-slice", |b| {
        b.iter(|| {
            let mut acc = 0usize;
            for f in &frames {
                if let Ok(p) = etherparse::SlicedPacket::from_ethernet(black_box(f)) {
                    acc += usize::from(p.transport.is_some());
                }
            }
            acc
        })
    });
    g.bench_function("walk+keys", |b| {
        b.iter(|| {
            let mut keys = CountKeys(0);
            for f in &frames {
                walk(LinkType::Ethernet, black_box(f), &cfg).visit_keys(&mut keys);
            }
            keys.0
        })
    });
    g.finish();
}

criterion_group!(benches, bench_sflow, bench_walk);
criterion_main!(benches);
