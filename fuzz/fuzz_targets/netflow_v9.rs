//! Decodes arbitrary bytes as a NetFlow v9 packet: header, flowsets, templates, and data
//! flowsets with the templates found earlier in the same input. Must never panic and must
//! terminate.
#![no_main]

use flowlens_wire::netflow::{sniff, v9};
use libfuzzer_sys::fuzz_target;

#[path = "sink.rs"]
mod sink;
#[path = "netflow_sets.rs"]
mod netflow_sets;

fuzz_target!(|data: &[u8]| {
    let _ = sniff(data);
    let Ok(p) = v9::Packet::parse(data) else { return };
    let mut sink = sink::Sink(0);
    p.visit_fields(&mut sink);
    netflow_sets::exercise(p.sets(), &mut netflow_sets::Learned::new(), &mut sink);
});
