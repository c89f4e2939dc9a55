//! The session over the real NetFlow/IPFIX captures in `shared/data`: template/data ordering,
//! pending data, sampling, and end-to-end ground truth against the packets the exporters saw.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use flowlens_netflow::{Limits, NetflowSession, Protocol, SamplingSource, TemplateChange};

fn session() -> NetflowSession {
    NetflowSession::new(Limits::default()).unwrap()
}

fn run(files: &[&str]) -> (NetflowSession, Collect) {
    let mut s = session();
    let mut c = Collect::default();
    for f in files {
        feed(&mut s, &pcap(f), &mut c);
    }
    (s, c)
}

/// Every NetFlow/IPFIX capture decodes without a single error.
#[test]
fn every_capture_decodes_without_errors() {
    let dir = data_dir();
    let mut n = 0;
    let mut with_ingress = 0;
    let full = flowlens_testdata::has_full_set();
    if !full {
        flowlens_testdata::skip(
            "every_capture_decodes_without_errors (netflow-ipfix/ part)",
            "the 36 NetFlow/IPFIX pcaps of akvorado, nDPI, pmacct and pktvisor are only in \
             ../shared/data, which is not beside this checkout",
        );
    }
    for sub in ["netflow-ipfix", "exporters"] {
        if !full && sub == "netflow-ipfix" {
            continue;
        }
        let mut names: Vec<String> = std::fs::read_dir(dir.join(sub))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".pcap") && !n.contains("sflow") && !n.contains("synthetic"))
            .collect();
        names.sort();
        for name in names {
            let (_, c) = run(&[&format!("{sub}/{name}")]);
            assert!(c.errors.is_empty(), "{name}: {:?}", c.errors);
            // ICMP keys only on ICMP flows, although templates shared between protocols carry
            // icmpTypeCode (0) in TCP and UDP records too.
            with_ingress += c.records.iter().filter(|r| r.ingress.is_some()).count();
            for r in &c.records {
                let proto = r
                    .keys
                    .get("ipprotocol")
                    .or_else(|| r.keys.get("ip6nexthdr"))
                    .map(String::as_str);
                if r.keys.contains_key("icmptype") {
                    assert!(matches!(proto, None | Some("1")), "{name}: {:?}", r.keys);
                }
                if r.keys.contains_key("icmp6type") {
                    assert!(matches!(proto, None | Some("58")), "{name}: {:?}", r.keys);
                }
            }
            n += 1;
        }
    }
    assert_eq!(n, if full { 44 } else { 44 - 36 });
    assert!(
        with_ingress > 0,
        "no record had an ingressInterface: the by-offset reading went untested"
    );
}

#[test]
fn akvorado_data_before_templates_is_held_then_released() {
    if !full_set_or_skip("akvorado_data_before_templates_is_held_then_released") {
        return;
    }
    let (s, c) = run(&["netflow-ipfix/akvorado__nfv9-data+templates.pcap"]);
    let st = s.stats();
    assert_eq!(st.pending.held, 1);
    assert_eq!(st.pending.released, 1);
    assert_eq!(st.pending.sets, 0);
    let pending: Vec<_> = c.records.iter().filter(|r| r.was_pending).collect();
    assert_eq!(c.records.len(), 21);
    assert!(!pending.is_empty());
    // The held records are reported right after their template's event.
    assert!(c
        .templates
        .iter()
        .any(|t| t.change == TemplateChange::Learned && !t.options));
}

/// pmacct test 112: data sets 313, 341, 342 and 348 never get a template in this capture (only
/// 256, 257, 334, 338 and 347 are defined). They are held, never released, and expire counted.
#[test]
fn pmacct_112_data_without_template_is_held_then_expires_counted() {
    if !full_set_or_skip("pmacct_112_data_without_template_is_held_then_expires_counted") {
        return;
    }
    let d = pcap("netflow-ipfix/pmacct__112-ipfix-cisco-options-reassignment.pcap");
    let mut s = session();
    let mut c = Collect::default();
    feed(&mut s, &d, &mut c);
    let st = s.stats();
    assert_eq!(st.pending.held, 4);
    assert_eq!(st.pending.released, 0);
    assert_eq!(st.pending.sets, 4);
    assert_eq!(c.records.len(), 9);
    assert_eq!(c.options.len(), 76);
    // Templates 256/257/334/338 are re-sent identically: refreshes, not replacements.
    assert!(st.cache.refreshed >= 4, "{:?}", st.cache);
    let last = d.last().unwrap().ts_ms;
    let e = s.expire(last + Limits::default().pending_ttl_ms + 1);
    assert_eq!(e.sets, 4);
    assert_eq!(s.stats().pending.expired, 4);
    assert_eq!(s.stats().pending.sets, 0);
    assert_eq!(s.stats().pending.bytes, 0);
}

/// akvorado's separate template and data captures: data alone is held; data after its template
/// decodes; data first then template releases it.
#[test]
fn akvorado_template_and_data_pairs() {
    if !full_set_or_skip("akvorado_template_and_data_pairs") {
        return;
    }
    let pairs = [
        ("ipfix-datalink-template", "ipfix-datalink-data", 1),
        ("ipfix-eompls-cw-template", "ipfix-eompls-cw-data", 0),
        ("ipfix-ipfixprobe-templates", "ipfix-ipfixprobe-data", 0),
        ("ipfix-juniper-cpid-template", "ipfix-juniper-cpid-data", 0),
        ("ipfix-srv6-template", "ipfix-srv6-data", 0),
        ("nfv9-template", "nfv9-data", 0),
        ("nfv9-icmp-template", "nfv9-icmp-data", 0),
        ("nfv9-options-template", "nfv9-options-data", 0),
        ("nfv9-samplingrate-template", "nfv9-samplingrate-data", 0),
        (
            "nfv9-multiplesamplingrates-template",
            "nfv9-multiplesamplingrates-data",
            0,
        ),
    ];
    for (t, d, _) in pairs {
        let t = format!("netflow-ipfix/akvorado__{t}.pcap");
        let d = format!("netflow-ipfix/akvorado__{d}.pcap");
        let (s, c) = run(&[&t, &d]);
        assert!(c.errors.is_empty(), "{d}: {:?}", c.errors);
        assert_eq!(s.stats().pending.held, 0, "{d}");
        assert!(!c.records.is_empty() || !c.options.is_empty(), "{d}");
        // Reversed (at one instant, so the pending TTL cannot interfere: the captures were
        // taken at different times): the data waits for its template, then is released.
        let mut s2 = session();
        let mut c2 = Collect::default();
        for f in [&d, &t] {
            let mut dg = pcap(f);
            dg.iter_mut().for_each(|x| x.ts_ms = 0);
            feed(&mut s2, &dg, &mut c2);
        }
        assert_eq!(s2.stats().pending.released, s2.stats().pending.held, "{d}");
        assert_eq!(c2.records.len(), c.records.len(), "{d}");
        let from_template_file = run(&[&t]).1.records.len();
        let pending = c2.records.iter().filter(|r| r.was_pending).count();
        assert_eq!(pending, c.records.len() - from_template_file, "{d}");
        assert!(pending > 0 || d.contains("options"), "{d}");
    }
}

/// The sampling interval is in the data records themselves (IE 34).
#[test]
fn akvorado_sampling_rate_in_records() {
    if !full_set_or_skip("akvorado_sampling_rate_in_records") {
        return;
    }
    let (_, c) = run(&[
        "netflow-ipfix/akvorado__nfv9-samplingrate-template.pcap",
        "netflow-ipfix/akvorado__nfv9-samplingrate-data.pcap",
    ]);
    assert!(!c.records.is_empty());
    let rates: BTreeSet<_> = c.records.iter().map(|r| (r.source, r.rate)).collect();
    println!("samplingrate: {rates:?}");
    assert!(c
        .records
        .iter()
        .all(|r| r.source == SamplingSource::Record && r.rate == 2048));
}

#[test]
fn akvorado_multiple_sampling_rates_by_sampler_id() {
    if !full_set_or_skip("akvorado_multiple_sampling_rates_by_sampler_id") {
        return;
    }
    let (_, c) = run(&[
        "netflow-ipfix/akvorado__nfv9-multiplesamplingrates-options-template.pcap",
        "netflow-ipfix/akvorado__nfv9-multiplesamplingrates-options-data.pcap",
        "netflow-ipfix/akvorado__nfv9-multiplesamplingrates-template.pcap",
        "netflow-ipfix/akvorado__nfv9-multiplesamplingrates-data.pcap",
    ]);
    let rates: BTreeMap<_, usize> = c.records.iter().fold(BTreeMap::new(), |mut m, r| {
        *m.entry((r.source, r.rate)).or_default() += 1;
        m
    });
    println!("multiple: {rates:?}");
    assert_eq!(
        rates.keys().map(|k| k.1).collect::<BTreeSet<_>>(),
        BTreeSet::from([4000, 2000])
    );
    assert!(rates.keys().all(|k| k.0 == SamplingSource::OptionsData));
    // Scaled counters: bytes and frames are multiplied by the record's rate.
    let r = &c.records[0];
    let raw_frames = r.frames.unwrap() / u64::from(r.rate);
    assert_eq!(r.frames.unwrap(), raw_frames * u64::from(r.rate));
}

/// pmacct test 104: Cisco IPFIX sampling option (selectorId 1, random 1-out-of-256 as
/// samplingSize 1 / samplingPopulation 256) from an IPv6 exporter.
#[test]
fn pmacct_104_cisco_selector_sampling() {
    if !full_set_or_skip("pmacct_104_cisco_selector_sampling") {
        return;
    }
    let (_, c) = run(&["netflow-ipfix/pmacct__104-ipfix-ipv6-cisco-sampling-option.pcap"]);
    assert_eq!(c.options.len(), 1);
    assert_eq!(c.records.len(), 3);
    for r in &c.records {
        assert_eq!((r.source, r.rate), (SamplingSource::OptionsData, 256));
        assert!(r.keys.contains_key("ip6source"), "{:?}", r.keys);
    }
}

#[test]
fn sampling_override_wins() {
    let d = pcap("exporters/netflow5-ovs.pcap");
    let mut s = session();
    s.set_sampling_override(d[0].src, Some(10));
    let mut c = Collect::default();
    feed(&mut s, &d, &mut c);
    assert!(c
        .records
        .iter()
        .all(|r| r.source == SamplingSource::Override && r.rate == 10));
}

/// Open vSwitch IPFIX: PEN 6876 templates, delta and total counters, delta times.
#[test]
fn ovs_ipfix() {
    let (s, c) = run(&["exporters/ipfix-ovs.pcap"]);
    assert_eq!(s.stats().pending.held, 0);
    assert_eq!(c.records.len(), 127);
    // This capture carries no options template (set 3): only templates and data.
    assert!(c.templates.iter().all(|t| !t.options));
    for r in &c.records {
        // OVS sends packetDeltaCount (2) and packetTotalCount (86): frames is the delta.
        assert!(r.frames.is_some());
        assert!(r.start_ms.is_some() && r.end_ms.is_some(), "{:?}", r.keys);
        assert!(r.start_ms <= r.end_ms);
        assert!(r.keys.contains_key("inputifindex"));
        assert!(r.keys.contains_key("ipfix:flowEndReason"));
        assert!(!r.keys.contains_key("ipfix:packetTotalCount"));
    }
    let total: u64 = c.records.iter().filter_map(|r| r.frames).sum();
    let v5: u64 = {
        let (_, c5) = run(&["exporters/netflow5-ovs.pcap"]);
        c5.records.iter().filter_map(|r| r.frames).sum()
    };
    println!("ovs ipfix frames {total}, v5 frames {v5}");
    assert!(total > 0 && v5 > 0);
}

/// One flow of the ground truth: addresses, ports (0 when none), protocol.
type Tuple = (String, String, u64, u64, u64);

/// The flows and packet count of `exporters/synthetic-traffic.pcap`.
fn ground_truth() -> (BTreeSet<Tuple>, usize) {
    let bytes = read("exporters/synthetic-traffic.pcap");
    let cap = pcap_parser::PcapCapture::from_file(&bytes).unwrap();
    let mut set = BTreeSet::new();
    for b in &cap.blocks {
        let (src, dst, proto, l4) = ip_payload(b.data).unwrap();
        let (sp, dp) = match proto {
            6 | 17 => (
                u64::from(u16::from_be_bytes([l4[0], l4[1]])),
                u64::from(u16::from_be_bytes([l4[2], l4[3]])),
            ),
            _ => (0, 0),
        };
        set.insert((src.to_string(), dst.to_string(), sp, dp, u64::from(proto)));
    }
    (set, cap.blocks.len())
}

fn tuple(r: &Rec) -> Tuple {
    let k = |a: &str, b: &str| {
        r.keys
            .get(a)
            .or_else(|| r.keys.get(b))
            .cloned()
            .unwrap_or_default()
    };
    let n = |a: &str, b: &str| {
        r.keys
            .get(a)
            .or_else(|| r.keys.get(b))
            .map_or(0, |v| v.parse().unwrap())
    };
    (
        k("ipsource", "ip6source"),
        k("ipdestination", "ip6destination"),
        n("tcpsourceport", "udpsourceport"),
        n("tcpdestinationport", "udpdestinationport"),
        n("ipprotocol", "ip6nexthdr"),
    )
}

/// softflowd and pmacct savefile exports describe exactly the packets of
/// synthetic-traffic.pcap (3000 flows × 3 packets): frames sum to 9000 and the flows match.
#[test]
fn exporters_match_ground_truth() {
    let (truth, packets) = ground_truth();
    assert_eq!(packets, 9000);
    for f in [
        "exporters/netflow9-softflowd.pcap",
        "exporters/ipfix-softflowd.pcap",
        "exporters/netflow9-pmacct-savefile.pcap",
    ] {
        let (_, c) = run(&[f]);
        assert!(c.errors.is_empty(), "{f}");
        let frames: u64 = c.records.iter().filter_map(|r| r.frames).sum();
        assert_eq!(frames, 9000, "{f}");
        let got: BTreeSet<Tuple> = c.records.iter().map(tuple).collect();
        let missing: Vec<_> = truth.difference(&got).take(3).collect();
        let extra: Vec<_> = got.difference(&truth).take(3).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{f}: missing {missing:?} extra {extra:?}"
        );
        assert!(
            c.records
                .iter()
                .all(|r| r.start_ms.is_some() && r.end_ms.is_some()),
            "{f}"
        );
    }
    // NetFlow v5 cannot carry IPv6: softflowd's v5 export covers the IPv4 flows only.
    let (_, c) = run(&["exporters/netflow5-softflowd.pcap"]);
    let got: BTreeSet<Tuple> = c.records.iter().map(tuple).collect();
    let v4: BTreeSet<Tuple> = truth
        .iter()
        .filter(|t| !t.0.contains(':'))
        .cloned()
        .collect();
    assert_eq!(got, v4);
    assert!(c.records.iter().all(|r| r.protocol == Protocol::NetflowV5));
}

/// Logstash codec payload sequences (PROVENANCE.md "sequence:" lines), fed in order from one
/// exporter: templates learned, every data set decoded, nothing left pending except the
/// NetScaler set 280 that upstream deliberately left without a template.
#[test]
fn logstash_sequences() {
    let prov = String::from_utf8(read("PROVENANCE.md")).unwrap();
    let mut seqs: BTreeSet<Vec<String>> = BTreeSet::new();
    for line in prov.lines() {
        if let Some(i) = line.find("sequence: ") {
            let rest = &line[i + 10..];
            let rest = rest.split(['|', '<']).next().unwrap();
            seqs.insert(rest.split('→').map(|s| s.trim().to_owned()).collect());
        }
    }
    assert!(seqs.len() >= 20, "{}", seqs.len());
    let dir = data_dir().join("payloads/logstash-codec-netflow");
    for seq in &seqs {
        let mut s = session();
        let mut c = Collect::default();
        for f in seq {
            if !dir.join(f).exists() {
                // Documented in PROVENANCE.md as a byte-identical copy that was not kept.
                continue;
            }
            let d = raw(&format!("payloads/logstash-codec-netflow/{f}"));
            feed(&mut s, &[d], &mut c);
        }
        let st = s.stats();
        let name = seq.last().unwrap();
        println!(
            "{name}: records {} options {} pending {} errors {:?}",
            c.records.len(),
            c.options.len(),
            st.pending.sets,
            c.errors.first()
        );
        assert!(c.records.len() + c.options.len() > 0, "{name}");
        if !name.contains("netscaler") {
            assert_eq!(st.pending.sets, 0, "{name}");
        }
    }
}

/// akvorado's datalink export carries each sampled frame (IE 315) and no flow fields: the
/// frame is walked like an sFlow sampled header (values checked against tshark's decode of the
/// same bytes: 802.1Q VLAN 231, 51.51.51.51 -> 52.52.52.52, UDP 55501 -> 11777).
#[test]
fn data_link_frame_section_is_walked_for_keys() {
    if !full_set_or_skip("data_link_frame_section_is_walked_for_keys") {
        return;
    }
    let (_, c) = run(&[
        "netflow-ipfix/akvorado__ipfix-datalink-template.pcap",
        "netflow-ipfix/akvorado__ipfix-datalink-data.pcap",
    ]);
    assert_eq!(c.records.len(), 1);
    let k = &c.records[0].keys;
    let get = |n: &str| k.get(n).map(String::as_str);
    assert_eq!(get("stack"), Some("eth.vlan.ip.udp"));
    assert_eq!(get("vlan"), Some("231"));
    assert_eq!(get("ipsource"), Some("51.51.51.51"));
    assert_eq!(get("ipdestination"), Some("52.52.52.52"));
    assert_eq!(get("udpsourceport"), Some("55501"));
    assert_eq!(get("udpdestinationport"), Some("11777"));
    assert_eq!(get("inputifindex"), Some("582"));
    assert_eq!(get("frames"), Some("1"));
    assert_eq!(get("bytes"), Some("114"));
}
