//! Decodes arbitrary bytes as NetFlow v5 datagrams (several back to back, split on the count
//! field): header and every record. Must never panic and must terminate.
#![no_main]

use flowlens_wire::netflow::{sniff, v5};
use libfuzzer_sys::fuzz_target;

#[path = "sink.rs"]
mod sink;

fuzz_target!(|data: &[u8]| {
    let _ = sniff(data);
    let mut sink = sink::Sink(0);
    let mut rest = data;
    while let Ok(p) = v5::Packet::parse(rest) {
        p.visit_fields(&mut sink);
        assert_eq!(p.records().len(), usize::from(p.count()));
        for r in p.records() {
            r.visit_fields(&mut sink);
        }
        if p.len() == 0 || p.len() > rest.len() {
            break;
        }
        rest = &rest[p.len()..];
    }
});
