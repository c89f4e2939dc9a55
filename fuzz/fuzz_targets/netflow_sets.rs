//! Shared by the NetFlow v9 and IPFIX fuzz targets: walks every set, learns the templates found
//! earlier in the same input (stateless across inputs), decodes data sets with them, visits every
//! field, decodes list headers and walks frame sections.

use flowlens_wire::netflow::{
    data_records, frame_section, ie, visit_data_record, FieldSpec, Set, Sets,
};
use flowlens_wire::packet::{walk, LinkType, WalkConfig};

use crate::sink::Sink;

/// Templates learned so far (bounded).
pub struct Learned(Vec<(u16, Vec<FieldSpec>)>);

impl Learned {
    pub fn new() -> Self {
        Learned(Vec::new())
    }
}

pub fn exercise(sets: Sets<'_>, learned: &mut Learned, sink: &mut Sink) {
    let cfg = WalkConfig::default();
    for set in sets {
        let Ok(set) = set else { continue };
        match set {
            Set::Templates(ts) | Set::OptionsTemplates(ts) => {
                for t in ts.templates() {
                    let Ok(t) = t else { continue };
                    let _ = (t.field_count(), t.scope_field_count(), t.is_withdrawal());
                    let fields: Vec<FieldSpec> = t.fields().collect();
                    assert!(fields.len() <= usize::from(t.field_count()));
                    learned.0.retain(|(id, _)| *id != t.template_id());
                    if learned.0.len() < 64 {
                        learned.0.push((t.template_id(), fields));
                    }
                }
            }
            Set::Data(ds) => {
                let Some((_, fields)) = learned.0.iter().find(|(id, _)| *id == ds.template_id())
                else {
                    continue;
                };
                for rec in data_records(fields, ds.data(), ds.offset()) {
                    let Ok(rec) = rec else { continue };
                    visit_data_record(&rec, sink);
                    for (spec, bytes) in rec.fields() {
                        if let Some(e) = ie::lookup(spec.enterprise, spec.id) {
                            let _ = ie::datetime_unix_nanos(e.data_type, bytes);
                            if let Some(ie::ListHeader::SubTemplateMulti { content, .. }) =
                                ie::list_header(e.data_type, bytes)
                            {
                                sink.0 = sink.0.wrapping_add(ie::multi_list_entries(content).count());
                            }
                        }
                    }
                    if let Some(frame) = frame_section(&rec) {
                        walk(LinkType::Ethernet, frame, &cfg).visit_keys(sink);
                    }
                }
            }
            Set::Reserved { .. } => {}
        }
    }
}
