//! Decodes arbitrary bytes as IPFIX messages (several back to back, split on the length field):
//! header, sets, templates, and data sets with the templates found earlier in the same input.
//! Must never panic and must terminate.
#![no_main]

use flowlens_wire::netflow::{ipfix, sniff};
use libfuzzer_sys::fuzz_target;

#[path = "sink.rs"]
mod sink;
#[path = "netflow_sets.rs"]
mod netflow_sets;

fuzz_target!(|data: &[u8]| {
    let _ = sniff(data);
    let mut learned = netflow_sets::Learned::new();
    let mut sink = sink::Sink(0);
    let mut rest = data;
    while let Ok(m) = ipfix::Message::parse(rest) {
        m.visit_fields(&mut sink);
        netflow_sets::exercise(m.sets(), &mut learned, &mut sink);
        assert!(m.len() >= 16);
        rest = &rest[m.len()..];
    }
});
