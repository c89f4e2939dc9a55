#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing, missing_docs)]
#[path = "netflow_util.rs"]
mod util;
#[test]
fn explore() {
    let mut unknown = std::collections::BTreeMap::new();
    for (g, ds) in util::decode_all() {
        for (dg, d) in g.datagrams.iter().zip(&ds) {
            for r in &d.records {
                for (s, b) in &r.fields {
                    if s.scope && s.enterprise == 0 && s.id <= 5 && d.version == 9 { continue; }
                    if flowlens_wire::netflow::ie::lookup(s.enterprise, s.id).is_none() {
                        let e = unknown.entry((s.enterprise, s.id, d.version)).or_insert((0, dg.file.clone(), b.len()));
                        e.0 += 1;
                    }
                }
            }
        }
    }
    for (k, v) in unknown { println!("UNKNOWN {k:?} {v:?}"); }
}
