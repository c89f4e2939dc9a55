//! Decodes arbitrary bytes as an sFlow v5 datagram: every sample, every record, every field,
//! and walks every sampled header. Must never panic and must terminate.
#![no_main]

use flowlens_wire::packet::{walk, LinkType, WalkConfig};
use flowlens_wire::sflow::{Datagram, FlowData, FlowRecord, Sample};
use libfuzzer_sys::fuzz_target;

#[path = "sink.rs"]
mod sink;

use sink::Sink;

fn flow_record(r: &FlowRecord<'_>, sink: &mut Sink, cfg: &WalkConfig) {
    r.visit_fields(sink);
    if let FlowData::SampledHeader(h) = &r.data {
        if let Some(link) = LinkType::from_sflow_header_protocol(h.header_protocol()) {
            walk(link, h.header(), cfg).visit_keys(sink);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = flowlens_wire::sflow::is_sflow_v5(data);
    let Ok(d) = Datagram::parse(data) else { return };
    let cfg = WalkConfig::default();
    let mut sink = Sink(0);
    d.visit_fields(&mut sink);
    for sample in d.samples() {
        let Ok(sample) = sample else { continue };
        sample.visit_fields(&mut sink);
        match &sample {
            Sample::Flow(s) => s
                .records()
                .flatten()
                .for_each(|r| flow_record(&r, &mut sink, &cfg)),
            Sample::Discard(s) => s
                .records()
                .flatten()
                .for_each(|r| flow_record(&r, &mut sink, &cfg)),
            Sample::Counter(s) => s
                .records()
                .flatten()
                .for_each(|r| r.visit_fields(&mut sink)),
            Sample::Unknown(_) => {}
        }
    }
});
