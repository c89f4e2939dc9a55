#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing, missing_docs)]
#[path = "netflow_util.rs"]
mod util;
#[test]
fn explore() {
    for (g, ds) in util::decode_all() {
        println!("GROUP {:?}", g.files);
        for (dg, d) in g.datagrams.iter().zip(&ds) {
            if dg.file.contains("nbar_data") || dg.file.contains("juniper-cpid-data") {
                for r in &d.records { println!("{:?}", r.fields.iter().map(|(s,b)| (s.enterprise, s.id, b.len())).collect::<Vec<_>>()); }
            }
        }
    }
}
