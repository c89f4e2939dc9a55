//! Walks arbitrary bytes as every supported link type, strict and lax, and visits every
//! layer's fields and every flow key. Must never panic.
#![no_main]

use flowlens_wire::packet::{walk, walk_strict, LinkType, WalkConfig};
use libfuzzer_sys::fuzz_target;

#[path = "sink.rs"]
mod sink;

use sink::Sink;

const LINKS: [LinkType; 10] = [
    LinkType::Ethernet,
    LinkType::Ipv4,
    LinkType::Ipv6,
    LinkType::RawIp,
    LinkType::LinuxSll,
    LinkType::LinuxSll2,
    LinkType::Null,
    LinkType::Ppp,
    LinkType::Mpls,
    LinkType::Loop,
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, frame)) = data.split_first() else {
        return;
    };
    let link = LINKS[usize::from(selector) % LINKS.len()];
    let cfg = WalkConfig::default();
    let mut sink = Sink(0);
    let w = walk(link, frame, &cfg);
    w.visit_keys(&mut sink);
    for layer in w.layers() {
        layer.visit_fields(&mut sink);
    }
    let _ = format!("{}", w.stack());
    assert!(w.payload_offset() <= frame.len());
    if let Ok(s) = walk_strict(link, frame, &cfg) {
        assert!(s.stop().is_none());
    }
});
