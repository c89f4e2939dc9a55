//! Records per second per core through `NetflowSession` with templates already cached, on real
//! exporter captures (softflowd NetFlow v9 and IPFIX describing synthetic-traffic.pcap),
//! including flow-key extraction for every record. Throughput is reported in records.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use flowlens_netflow::{Limits, NetflowRecord, NetflowSession, RecordSink};
use flowlens_wire::{KeyVisitor, Value};
use pcap_parser::PcapCapture;

/// Counts keys (touching each value) and records.
#[derive(Default)]
struct Keys {
    keys: u64,
    records: u64,
}

impl KeyVisitor for Keys {
    fn key(&mut self, name: &'static str, depth: u8, value: Value<'_>) {
        black_box((name, depth, &value));
        self.keys += 1;
    }
}

impl RecordSink for Keys {
    fn record(&mut self, r: &NetflowRecord<'_, '_>) {
        self.records += 1;
        r.visit_keys(self);
    }
}

fn payloads(rel: &str) -> Vec<Vec<u8>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/").to_owned() + rel;
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let cap = PcapCapture::from_file(&bytes).expect("pcap");
    cap.blocks
        .iter()
        .filter_map(|b| {
            let f = b.data;
            let ihl = usize::from(f.get(14)? & 0x0f) * 4;
            (f.get(23) == Some(&17)).then(|| f.get(14 + ihl + 8..).map(<[u8]>::to_vec))?
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let exporter = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let mut g = c.benchmark_group("netflow_session");
    for (name, file) in [
        ("softflowd_v9", "exporters/netflow9-softflowd.pcap"),
        ("softflowd_ipfix", "exporters/ipfix-softflowd.pcap"),
    ] {
        let dgrams = payloads(file);
        let mut s = NetflowSession::new(Limits::default()).unwrap();
        let mut warm = Keys::default();
        for d in &dgrams {
            s.handle(0, exporter, d, &mut warm).unwrap();
        }
        g.throughput(Throughput::Elements(warm.records));
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut k = Keys::default();
                for d in &dgrams {
                    s.handle(0, exporter, d, &mut k).unwrap();
                }
                black_box(k.keys)
            });
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
