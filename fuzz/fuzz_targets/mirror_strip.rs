//! Strips arbitrary bytes as a port-mirror copy's IPv4/GRE/ERSPAN encapsulation
//! (`flowlens run --mirror`), then walks the mirrored frame as the engine would. Must never
//! panic; the frame is always a slice of the input.
#![no_main]

use flowlens_wire::packet::tunnel::mirror::strip;
use flowlens_wire::packet::{walk, WalkConfig};
use libfuzzer_sys::fuzz_target;

#[path = "sink.rs"]
mod sink;

use sink::Sink;

fuzz_target!(|data: &[u8]| {
    let Ok(m) = strip(data) else {
        return;
    };
    let start = m.frame.as_ptr() as usize - data.as_ptr() as usize;
    assert!(start + m.frame.len() <= data.len());
    let mut sink = Sink(0);
    let w = walk(m.link, m.frame, &WalkConfig::default());
    w.visit_keys(&mut sink);
});
