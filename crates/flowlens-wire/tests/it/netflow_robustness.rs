//! Robustness of the NetFlow v5 / v9 / IPFIX decoders on real datagrams: every prefix of every
//! datagram (truncation at every length) and every single-byte flip decode without panicking,
//! report errors inside the input, and never loop; data sets are decoded with the templates
//! their group had learned before the datagram. Deterministic: no randomness, no timing.

use crate::common::netflow as util;

use flowlens_wire::Error;

/// Checks that an error points inside the buffer.
fn check(errors: &[Error], len: usize, what: &str) {
    for e in errors {
        assert!(
            e.offset() <= len,
            "{what}: error offset past the input: {e}"
        );
        let _ = e.to_string();
    }
}

/// Up to two datagrams per file, with the template store their group had before them.
fn samples() -> Vec<(String, util::Store, util::Datagram)> {
    let mut out = Vec::new();
    for g in util::corpus() {
        let mut store = util::Store::default();
        let mut per_file: std::collections::HashMap<String, usize> = Default::default();
        for d in &g.datagrams {
            let n = per_file.entry(d.file.clone()).or_default();
            if *n < 2 {
                *n += 1;
                out.push((format!("{} #{}", d.file, d.frame), store.clone(), d.clone()));
            }
            store.decode(d.exporter, &d.payload);
        }
    }
    // 122 from a plain clone: netflow-ipfix/ (akvorado, nDPI, pmacct, pktvisor) is only in
    // ../shared/data.
    let least = if util::full_set() { 160 } else { 120 };
    assert!(out.len() >= least, "samples: {}", out.len());
    out
}

#[test]
fn truncation_at_every_length_never_panics_and_errors_stay_in_bounds() {
    let mut truncated_errors = 0usize;
    for (name, store, d) in samples() {
        let full = store.clone().decode(d.exporter, &d.payload);
        for len in 0..d.payload.len() {
            let cut = &d.payload[..len];
            let got = store.clone().decode(d.exporter, cut);
            check(&got.errors, len, &name);
            // A prefix never yields more records than the whole datagram.
            assert!(
                got.records.len() <= full.records.len(),
                "{name} cut at {len}"
            );
            truncated_errors += got.errors.len();
        }
    }
    assert!(
        truncated_errors > 1000,
        "truncation is detected: {truncated_errors}"
    );
}

#[test]
fn byte_flips_never_panic() {
    let mut decoded = 0usize;
    for (name, store, d) in samples() {
        let mut buf = d.payload.clone();
        for i in 0..buf.len() {
            buf[i] ^= 0xFF;
            let got = store.clone().decode(d.exporter, &buf);
            check(&got.errors, buf.len(), &name);
            decoded += got.records.len();
            buf[i] ^= 0xFF;
        }
    }
    assert!(
        decoded > 50_000,
        "flipped datagrams still decode records: {decoded}"
    );
}
