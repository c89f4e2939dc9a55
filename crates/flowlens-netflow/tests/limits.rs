//! Bounded memory under a spoofed-exporter template flood, and template persistence.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use std::net::{IpAddr, Ipv4Addr};

use common::*;
use flowlens_netflow::{Error, Limits, NetflowSession, TemplateCache};

/// An IPFIX message (domain 1) with `n` templates of `fields` four-byte fields, ids from `first`.
fn template_message(first: u16, n: u16, fields: u16) -> Vec<u8> {
    let mut set = Vec::new();
    for t in 0..n {
        set.extend_from_slice(&(first + t).to_be_bytes());
        set.extend_from_slice(&fields.to_be_bytes());
        for f in 0..fields {
            set.extend_from_slice(&(f % 400 + 1).to_be_bytes());
            set.extend_from_slice(&4u16.to_be_bytes());
        }
    }
    let mut m = vec![0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    m.extend_from_slice(&2u16.to_be_bytes());
    m.extend_from_slice(&u16::try_from(set.len() + 4).unwrap().to_be_bytes());
    m.extend_from_slice(&set);
    let len = u16::try_from(m.len()).unwrap().to_be_bytes();
    m[2..4].copy_from_slice(&len);
    m
}

/// 10,000 spoofed exporters × 50 template ids each: the cache never exceeds its caps, every
/// eviction is counted, and pending data from the same flood stays within its byte caps.
#[test]
fn template_flood_stays_within_caps() {
    let limits = Limits {
        max_templates: 20_000,
        max_templates_per_exporter: 16,
        pending_max_bytes: 1 << 20,
        pending_max_bytes_per_exporter: 4 << 10,
        ..Limits::default()
    };
    let mut s = NetflowSession::new(limits).unwrap();
    let mut c = Collect::default();
    let msg = template_message(256, 50, 8);
    // A data set for a template id nobody defined (held pending).
    let mut data = vec![0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    data.extend_from_slice(&[0x7f, 0xff, 0, 104]);
    data.extend_from_slice(&[0xab; 100]);
    let len = u16::try_from(data.len()).unwrap().to_be_bytes();
    data[2..4].copy_from_slice(&len);
    let mut max_bytes = 0;
    for e in 0..10_000u32 {
        let ip = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + e));
        s.handle(u64::from(e), ip, &msg, &mut c).unwrap();
        s.handle(u64::from(e), ip, &data, &mut c).unwrap();
        let st = s.stats();
        assert!(st.cache.templates <= limits.max_templates);
        assert!(st.pending.bytes <= limits.pending_max_bytes);
        max_bytes = max_bytes.max(st.cache.bytes);
        // Drop the collected events as we go (the test's own memory).
        c.templates.clear();
    }
    let st = s.stats();
    assert_eq!(st.cache.templates, limits.max_templates);
    assert!(s.templates().exporters() <= limits.max_templates);
    assert_eq!(st.cache.learned, 10_000 * 50);
    // Both caps evicted (how the evictions split between them depends on the fair-share
    // choice at the global cap: a newcomer that becomes the largest holder pays itself).
    assert!(st.cache.evicted_exporter_cap > 0 && st.cache.evicted_global_cap > 0);
    assert_eq!(
        st.cache.learned - st.cache.evicted_exporter_cap - st.cache.evicted_global_cap,
        limits.max_templates as u64
    );
    // Bytes are bounded by entries × (fixed overhead + 8 fields).
    assert!(
        max_bytes <= limits.max_templates * (160 + 8 * 12),
        "{max_bytes}"
    );
    assert_eq!(st.pending.held + st.pending.refused, 10_000);
    assert!(st.pending.refused > 0);
    assert!(c.errors.is_empty());
}

#[test]
fn absurd_templates_are_refused_and_counted() {
    let mut s = NetflowSession::new(Limits::default()).unwrap();
    let mut c = Collect::default();
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    s.handle(0, ip, &template_message(256, 1, 600), &mut c)
        .unwrap();
    assert_eq!(s.stats().cache.rejected_too_many_fields, 1);
    assert!(matches!(
        c.errors[0],
        Error::TemplateRejected {
            template_id: 256,
            ..
        }
    ));
    assert_eq!(s.templates().len(), 0);
}

/// Snapshot after the template captures, restore into a new session, decode the data-only
/// captures: same records as an uninterrupted session. A corrupt snapshot is an error.
#[test]
fn persistence_round_trip() {
    // Its templates are akvorado's (AGPL-3.0), only in ../shared/data.
    if !full_set_or_skip("persistence_round_trip") {
        return;
    }
    let templates = [
        "netflow-ipfix/akvorado__nfv9-template.pcap",
        "netflow-ipfix/akvorado__ipfix-srv6-template.pcap",
        "netflow-ipfix/akvorado__nfv9-multiplesamplingrates-template.pcap",
    ];
    let data = [
        "netflow-ipfix/akvorado__nfv9-data.pcap",
        "netflow-ipfix/akvorado__ipfix-srv6-data.pcap",
        "netflow-ipfix/akvorado__nfv9-multiplesamplingrates-data.pcap",
    ];
    let mut s = NetflowSession::new(Limits::default()).unwrap();
    let mut c = Collect::default();
    for f in templates {
        feed(&mut s, &pcap(f), &mut c);
    }
    let snap = s.snapshot();
    let restored = TemplateCache::restore(&snap, Limits::default()).unwrap();
    assert_eq!(restored.len(), s.templates().len());
    let mut s2 = NetflowSession::with_templates(restored);
    let mut c2 = Collect::default();
    for f in data {
        feed(&mut s2, &pcap(f), &mut c2);
    }
    assert!(c2.errors.is_empty());
    assert_eq!(s2.stats().pending.held, 0);
    let mut whole = NetflowSession::new(Limits::default()).unwrap();
    let mut cw = Collect::default();
    for f in templates.iter().chain(&data) {
        feed(&mut whole, &pcap(f), &mut cw);
    }
    assert!(!c2.records.is_empty());
    assert_eq!(c2.records.len(), cw.records.len());
    for (a, b) in c2.records.iter().zip(&cw.records) {
        assert_eq!(a.keys, b.keys);
    }
    // The same snapshot written again is byte-identical (deterministic format).
    assert_eq!(s2.snapshot(), snap);

    // Corruptions: every one is an error, none panics.
    let mut flipped = snap.clone();
    let i = flipped.len() / 3;
    flipped[i] = flipped[i].wrapping_add(1);
    for bad in [
        &flipped[..],
        &snap[..snap.len() / 2],
        b"",
        b"null",
        br#"{"format":"something-else","version":1}"#,
        br#"{"format":"flowlens-template-cache","version":99,"templates":[]}"#,
    ] {
        let r = TemplateCache::restore(bad, Limits::default());
        assert!(matches!(r, Err(Error::Snapshot { .. })), "{r:?}");
    }
    // A checksum-valid snapshot whose entries are nonsense is refused too.
    let forged = String::from_utf8(snap)
        .unwrap()
        .replace("\"domain\":0", "\"domain\":-1");
    let e = TemplateCache::restore(forged.as_bytes(), Limits::default()).expect_err("refused");
    assert!(
        e.to_string()
            .starts_with("template snapshot: not a valid snapshot: invalid value: integer `-1`"),
        "{e}"
    );
}

/// An IPFIX data set (domain 1) for template `id` with `len` bytes of body.
fn data_message(id: u16, len: usize) -> Vec<u8> {
    let mut m = vec![0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&u16::try_from(len + 4).unwrap().to_be_bytes());
    m.extend(std::iter::repeat_n(0xab, len));
    let total = u16::try_from(m.len()).unwrap().to_be_bytes();
    m[2..4].copy_from_slice(&total);
    m
}

/// Fair shares under a flood (issue 17 item 7): spoofed exporters filling the template cache
/// and the held-data buffer to their global caps must not evict a real exporter's templates
/// nor stop its early data (sent before its template) from being held; what the flood loses
/// is counted.
#[test]
fn a_spoofed_flood_cannot_crowd_out_a_real_exporter() {
    let limits = Limits {
        max_templates: 1_000,
        max_templates_per_exporter: 64,
        pending_max_bytes: 64 << 10,
        pending_max_bytes_per_exporter: 8 << 10,
        ..Limits::default()
    };
    let mut s = NetflowSession::new(limits).unwrap();
    let mut c = Collect::default();
    let real = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7));
    // The real exporter: 4 templates, learned first (the least recently used of all).
    s.handle(0, real, &template_message(256, 4, 4), &mut c)
        .unwrap();
    // 20 spoofed exporters × 64 templates (1,280 offered for 996 places), each also sending
    // 8 kB of data for a template nobody defines (160 kB for a 64 kB buffer), held until its
    // TTL. Fair shares: 50 templates and 3.2 kB of held data per exporter, more than the real
    // exporter asks for.
    for e in 0..20u32 {
        let ip = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + e));
        s.handle(1, ip, &template_message(256, 64, 4), &mut c)
            .unwrap();
        for _ in 0..8 {
            s.handle(1, ip, &data_message(999, 1_000), &mut c).unwrap();
        }
    }
    let st = s.stats();
    assert_eq!(st.cache.templates, limits.max_templates, "{st:?}");
    assert_eq!(
        st.cache.evicted_global_cap + st.cache.evicted_exporter_cap,
        st.cache.learned - limits.max_templates as u64,
        "{st:?}"
    );
    for id in 256..260 {
        let key = flowlens_netflow::TemplateKey {
            exporter: real,
            protocol: flowlens_netflow::Protocol::Ipfix,
            domain: 1,
            template_id: id,
        };
        assert!(
            s.templates().get(&key).is_some(),
            "the real exporter's template {id} was evicted by the flood"
        );
    }
    assert!(st.pending.refused > 0, "{st:?}");
    // The real exporter's data for a template it has not sent yet is held, then released
    // when the template comes.
    // (1,000 bytes: more than the room the flood left.)
    assert!(
        st.pending.bytes + 1_000 > limits.pending_max_bytes,
        "{st:?}"
    );
    s.handle(2, real, &data_message(300, 1_000), &mut c)
        .unwrap();
    let held = s.stats().pending.held;
    assert_eq!(
        held,
        st.pending.held + 1,
        "the real exporter's early data was refused"
    );
    let before = c.records.len();
    s.handle(3, real, &template_message(300, 1, 4), &mut c)
        .unwrap();
    assert_eq!(
        c.records.len(),
        before + 1_000 / 16,
        "the held data was not released"
    );
    // Room was made by dropping the largest holder's oldest set, counted.
    assert_eq!(s.stats().pending.evicted, st.pending.evicted + 1);
}
