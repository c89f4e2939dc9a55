//! Feeds an arbitrary sequence of datagrams through one `NetflowSession`: the input is split on
//! the separator `FLOWLENS` (so seeds can chain template and data datagrams), each piece sent
//! from one of four exporters, at increasing times. Every record's keys and times are
//! extracted, and its `ingressInterface` read both ways must agree. Must never panic, and the
//! caps must hold after every datagram.
#![no_main]

use std::net::{IpAddr, Ipv4Addr};

use flowlens_netflow::{
    Error, KeyText, Limits, NetflowRecord, NetflowSession, RecordSink, TemplateEvent,
};
use libfuzzer_sys::fuzz_target;

struct Sink(usize);

impl RecordSink for Sink {
    fn record(&mut self, r: &NetflowRecord<'_, '_>) {
        let mut k = KeyText::default();
        let counts = r.visit_keys(&mut k);
        self.0 += k.0.len();
        assert_eq!(counts, r.counts(), "one summary, two ways");
        assert_eq!(
            r.ingress_interface(),
            r.field(10).and_then(flowlens_wire::netflow::ie::be_uint),
            "ingressInterface by the template's plan and field by field"
        );
        let _ = (counts.bytes(), counts.frames());
    }
    fn options(&mut self, r: &NetflowRecord<'_, '_>) {
        self.record(r);
    }
    fn template(&mut self, e: &TemplateEvent) {
        self.0 += e.field_count;
    }
    fn error(&mut self, e: &Error) {
        self.0 += e.to_string().len();
    }
}

const SEP: &[u8] = b"FLOWLENS";

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_templates: 64,
        max_templates_per_exporter: 16,
        pending_max_bytes: 16 << 10,
        pending_max_bytes_per_exporter: 8 << 10,
        pending_ttl_ms: 50,
        max_samplers: 16,
        ..Limits::default()
    };
    let Ok(mut s) = NetflowSession::new(limits) else {
        return;
    };
    let mut sink = Sink(0);
    let mut rest = data;
    let mut i = 0u64;
    loop {
        // memmem: a byte-window search would spend most of the run in coverage callbacks.
        let (piece, next) = match memchr::memmem::find(rest, SEP) {
            Some(p) => (&rest[..p], Some(&rest[p + SEP.len()..])),
            None => (rest, None),
        };
        let exporter = IpAddr::V4(Ipv4Addr::new(10, 0, 0, (i % 4) as u8));
        let _ = s.handle(i * 10, exporter, piece, &mut sink);
        let st = s.stats();
        assert!(st.cache.templates <= limits.max_templates);
        assert!(st.pending.bytes <= limits.pending_max_bytes);
        assert!(st.samplers <= limits.max_samplers);
        i += 1;
        match next {
            Some(n) => rest = n,
            None => break,
        }
    }
    // Snapshots of whatever was learned restore.
    let snap = s.snapshot();
    assert!(flowlens_netflow::TemplateCache::restore(&snap, limits).is_ok());
});
