//! Robustness over real data: every sFlow datagram in the shared data set is truncated at every
//! length and has every byte corrupted, and the full decode (datagram, samples, records, all
//! visitors) must neither panic nor fail to terminate. Iterators are additionally checked to
//! yield a bounded number of items (at most one per 8 bytes of input, plus a final error).

use crate::common::sflow as util;

use flowlens_wire::sflow::{is_sflow_v5, CounterData, Datagram, FlowData, Sample};
use flowlens_wire::{FieldVisitor, Value};
use util::*;

/// Visitor that formats every value (exercising every `Display` path) into a counting sink.
struct Sink(usize);
impl std::fmt::Write for Sink {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0 += s.len();
        Ok(())
    }
}
impl FieldVisitor for Sink {
    fn field(&mut self, name: &'static str, value: Value<'_>) {
        use std::fmt::Write;
        let _ = write!(self, "{name}={value}");
    }
}

/// Decodes everything reachable in `buf`; returns the number of items the iterators yielded.
fn walk(buf: &[u8]) -> usize {
    let _ = is_sflow_v5(buf);
    let Ok(d) = Datagram::parse(buf) else {
        return 0;
    };
    let bound = buf.len() / 8 + 1;
    let mut sink = Sink(0);
    d.visit_fields(&mut sink);
    let mut items = 0;
    let mut samples = 0;
    for s in d.samples() {
        samples += 1;
        assert!(samples <= bound, "samples iterator not bounded");
        let Ok(s) = s else { continue };
        s.visit_fields(&mut sink);
        let _ = (s.name(), s.offset(), s.enterprise(), s.format());
        let flows = match &s {
            Sample::Flow(f) => Some(f.records()),
            Sample::Discard(x) => {
                let _ = x.reason_name();
                Some(x.records())
            }
            _ => None,
        };
        let mut n = 0;
        for r in flows.into_iter().flatten() {
            n += 1;
            assert!(n <= bound, "flow records iterator not bounded");
            if let Ok(r) = r {
                r.visit_fields(&mut sink);
                match r.data {
                    FlowData::SampledHeader(h) => {
                        let at = h.header_offset();
                        assert_eq!(buf.get(at..at + h.header().len()), Some(h.header()));
                    }
                    FlowData::ExtendedGateway(g) => n += g.dst_as_path().count().min(1),
                    _ => {}
                }
            }
        }
        if let Sample::Counter(c) = &s {
            for r in c.records() {
                n += 1;
                assert!(n <= bound, "counter records iterator not bounded");
                if let Ok(r) = r {
                    r.visit_fields(&mut sink);
                    if let CounterData::HostAdapters(a) = r.data {
                        n += a.adapters().count().min(1);
                    }
                }
            }
        }
        items += n;
    }
    items + samples
}

/// Every real sFlow datagram (NetFlow datagrams on the sFlow port included: they must simply be
/// rejected). For the three large exporter captures (4665 datagrams of the same few layouts)
/// every 25th datagram is used, which keeps the debug-build test fast; the OVS underlay capture
/// and every other file are used whole.
fn corpus() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for f in all_sflow_files() {
        let big = f.starts_with("exporters/") && !f.contains("underlay");
        for (i, p) in payloads(&f).into_iter().enumerate() {
            if !big || i % 25 == 0 {
                out.push((format!("{f}#{i}"), p));
            }
        }
    }
    assert!(out.len() > 250, "corpus too small: {}", out.len());
    out
}

#[test]
fn truncation_at_every_length() {
    for (name, p) in corpus() {
        let full = walk(&p);
        for n in 0..p.len() {
            let got = std::panic::catch_unwind(|| walk(&p[..n]));
            assert!(got.is_ok(), "{name}: panic when truncated to {n} bytes");
        }
        assert_eq!(walk(&p), full, "{name}: decoding is deterministic");
    }
}

#[test]
fn corrupting_every_byte() {
    for (name, p) in corpus() {
        let mut q = p.clone();
        for i in 0..q.len() {
            for x in [0xFF, 0x80, 0x01] {
                let orig = q[i];
                q[i] = orig ^ x;
                let got = std::panic::catch_unwind(|| walk(&q));
                assert!(got.is_ok(), "{name}: panic with byte {i} ^ {x:#04x}");
                q[i] = orig;
            }
        }
    }
}

#[test]
fn extreme_values_in_every_word() {
    // every aligned 32-bit word set to 0, 0xFFFFFFFF and 0x7FFFFFFF (count and length fields
    // included), on the small files where every word is reachable quickly
    for (name, p) in corpus()
        .into_iter()
        .filter(|(n, _)| !n.starts_with("exporters/"))
    {
        let mut q = p.clone();
        for i in (0..q.len().saturating_sub(3)).step_by(4) {
            let orig = [q[i], q[i + 1], q[i + 2], q[i + 3]];
            for v in [0u32, u32::MAX, 0x7FFF_FFFF, 0x0000_1000] {
                q[i..i + 4].copy_from_slice(&v.to_be_bytes());
                let got = std::panic::catch_unwind(|| walk(&q));
                assert!(got.is_ok(), "{name}: panic with word at {i} = {v:#x}");
            }
            q[i..i + 4].copy_from_slice(&orig);
        }
    }
}
