//! Throughput check for the hot path (Ethernet/IPv4/TCP), on a real frame. Ignored by default;
//! run with `cargo test --release -p flowlens-wire --test packet_perf -- --ignored --nocapture`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;
use std::time::Instant;

use flowlens_wire::packet::{walk, LinkType, WalkConfig};

const FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/packets/tcp/zeek__tcp-handshake-reorder.pcap"
);

#[test]
#[ignore = "timing; run in release"]
fn eth_ipv4_tcp_walks_per_second() {
    let bytes = std::fs::read(FILE).expect("test data (see PROVENANCE.md)");
    let cap = pcap_parser::PcapCapture::from_file(&bytes).unwrap();
    let frames: Vec<&[u8]> = cap.blocks.iter().map(|b| b.data).collect();
    let cfg = WalkConfig::default();
    assert_eq!(
        walk(LinkType::Ethernet, frames[0], &cfg)
            .stack()
            .to_string(),
        "eth.ip.tcp"
    );
    let rounds = 20_000_000 / frames.len();
    let n = rounds * frames.len();
    let start = Instant::now();
    let mut acc = 0usize;
    for _ in 0..rounds {
        for f in &frames {
            let w = walk(LinkType::Ethernet, black_box(f), black_box(&cfg));
            acc += w.layers().len() + w.payload_offset();
        }
    }
    let secs = start.elapsed().as_secs_f64();
    black_box(acc);
    let rate = n as f64 / secs;
    println!("{rate:.0} walks/s ({:.1} ns/walk)", secs * 1e9 / n as f64);
    if !cfg!(debug_assertions) {
        assert!(rate > 10e6, "below the 10M walks/s target: {rate:.0}");
    }
}

#[test]
fn sizes() {
    println!(
        "LayerView {} Header {} Walk {}",
        std::mem::size_of::<flowlens_wire::packet::LayerView<'_>>(),
        std::mem::size_of::<flowlens_wire::packet::Header<'_>>(),
        std::mem::size_of::<flowlens_wire::packet::Walk<'_>>()
    );
}
