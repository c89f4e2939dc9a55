//! Unit tests over hand-built datagrams (byte layouts per the sFlow v5 specification).
#![allow(clippy::panic, clippy::expect_used, clippy::indexing_slicing)]

use super::*;
use crate::error::{Error, Layer};
use crate::value::{FieldVisitor, Value};
use std::string::{String, ToString};
use std::vec;
use std::vec::Vec;

/// Little XDR writer for building test datagrams.
#[derive(Default)]
struct W(Vec<u8>);

impl W {
    fn u32(mut self, v: u32) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn bytes(mut self, b: &[u8]) -> Self {
        self.0.extend_from_slice(b);
        self
    }
    /// An envelope (`data_format`, length, data) around `data`.
    fn rec(self, enterprise: u32, format: u32, data: &[u8]) -> Self {
        self.u32(enterprise << 12 | format)
            .u32(data.len() as u32)
            .bytes(data)
    }
}

/// Datagram header: v5, IPv4 agent 192.0.2.1, sub-agent 7, seq 42, uptime 1000, `n` samples.
fn header(n: u32) -> W {
    W::default()
        .u32(5)
        .u32(1)
        .bytes(&[192, 0, 2, 1])
        .u32(7)
        .u32(42)
        .u32(1000)
        .u32(n)
}

/// Compact flow sample data with the given records (already enveloped) and record count.
fn flow_sample(records: &[u8], count: u32) -> Vec<u8> {
    W::default()
        .u32(9) // sequence_number
        .u32(0x0000_0003) // source_id 0:3
        .u32(512) // sampling_rate
        .u32(5120) // sample_pool
        .u32(1) // drops
        .u32(3) // input
        .u32(0x8000_0002) // output: multiple (2)
        .u32(count)
        .bytes(records)
        .0
}

fn switch(src_vlan: u32) -> Vec<u8> {
    W::default().u32(src_vlan).u32(1).u32(20).u32(2).0
}

#[derive(Default)]
struct Collect(Vec<(&'static str, String)>);
impl FieldVisitor for Collect {
    fn field(&mut self, name: &'static str, value: Value<'_>) {
        self.0.push((name, value.to_string()));
    }
}

#[test]
fn datagram_header_fields() {
    let buf = header(0).0;
    let d = Datagram::parse(&buf).expect("valid");
    assert_eq!(d.version(), 5);
    assert_eq!(d.agent_address().to_string(), "192.0.2.1");
    assert_eq!(
        (
            d.sub_agent_id(),
            d.sequence_number(),
            d.uptime_ms(),
            d.samples_count()
        ),
        (7, 42, 1000, 0)
    );
    assert!(d.samples().next().is_none());
    let mut c = Collect::default();
    d.visit_fields(&mut c);
    let names: Vec<_> = c.0.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        [
            "version",
            "agent_address",
            "sub_agent_id",
            "sequence_number",
            "uptime",
            "samples"
        ]
    );
    assert!(is_sflow_v5(&buf));

    let v6 = W::default()
        .u32(5)
        .u32(2)
        .bytes(&[0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    let v6 = v6.u32(0).u32(1).u32(2).u32(0).0;
    assert_eq!(
        Datagram::parse(&v6)
            .expect("v6")
            .agent_address()
            .to_string(),
        "2001:db8::1"
    );
}

#[test]
fn datagram_header_errors() {
    let v4 = W::default().u32(4).u32(1).0;
    assert_eq!(
        Datagram::parse(&v4).err(),
        Some(Error::Unsupported {
            layer: Layer::SflowDatagram,
            offset: 0,
            field: "version",
            value: 4
        })
    );
    let at = W::default().u32(5).u32(3).bytes(&[0; 20]).0;
    assert_eq!(
        Datagram::parse(&at).err(),
        Some(Error::Unsupported {
            layer: Layer::SflowDatagram,
            offset: 4,
            field: "address_type",
            value: 3
        })
    );
    let full = header(0).0;
    for n in 0..full.len() {
        assert!(matches!(
            Datagram::parse(&full[..n]),
            Err(Error::Truncated { .. }) | Err(Error::Unsupported { .. })
        ));
        // The sniff commits once version and address type are present; the cut header is
        // then the decoder's error to report.
        assert_eq!(is_sflow_v5(&full[..n]), n >= 8, "{n}");
    }
    // NetFlow v5 header: version 5 in the first 16 bits
    assert!(!is_sflow_v5(&[
        0, 5, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
    ]));
    // implausible sample count: 1000 samples in 16 bytes. Still sFlow by content; the
    // sample iterator reports the shortfall.
    let mut many = header(1000).0;
    many.extend_from_slice(&[0; 16]);
    assert!(is_sflow_v5(&many));
    let d = Datagram::parse(&many).unwrap();
    // The 16 bytes hold two empty samples (tag 0, length 0); the third is cut at byte 44
    // (28 header bytes + 16), where the iterator stops.
    let errors: Vec<Error> = d.samples().filter_map(Result::err).collect();
    assert!(
        matches!(
            errors.as_slice(),
            [Error::Truncated {
                offset: 44,
                available: 0,
                ..
            }]
        ),
        "{errors:?}"
    );
}

#[test]
fn flow_sample_and_records() {
    let recs = W::default().rec(0, 1001, &switch(10)).0;
    let buf = header(1).rec(0, 1, &flow_sample(&recs, 1)).0;
    let d = Datagram::parse(&buf).expect("valid");
    let mut it = d.samples();
    let s = it.next().expect("one").expect("ok");
    assert!(it.next().is_none());
    assert_eq!(
        (s.name(), s.enterprise(), s.format(), s.offset()),
        ("flow_sample", 0, 1, 28)
    );
    let Sample::Flow(f) = s else { panic!("flow") };
    assert!(!f.is_expanded());
    assert_eq!(
        (f.sequence_number(), f.source_id_type(), f.source_id_index()),
        (9, 0, 3)
    );
    assert_eq!(
        (f.sampling_rate(), f.sample_pool(), f.drops()),
        (512, 5120, 1)
    );
    assert_eq!(
        (f.input(), f.output()),
        (Interface::Index(3), Interface::Multiple { count: 2 })
    );
    let r: Vec<_> = f.records().collect();
    assert_eq!(r.len(), 1);
    let r = r[0].expect("record");
    assert_eq!(
        (r.enterprise, r.format, r.name(), r.offset),
        (0, 1001, "extended_switch", 76)
    );
    let FlowData::ExtendedSwitch(sw) = r.data else {
        panic!("switch")
    };
    assert_eq!(
        (
            sw.src_vlan(),
            sw.src_priority(),
            sw.dst_vlan(),
            sw.dst_priority()
        ),
        (10, 1, 20, 2)
    );
    let mut c = Collect::default();
    s.visit_fields(&mut c);
    assert!(c.0.contains(&("output", "multiple".into())));
    assert!(c.0.contains(&("sampling_rate", "512".into())));
}

#[test]
fn short_record_is_an_error_but_iteration_continues() {
    let recs = W::default()
        .rec(0, 1001, &[0, 0, 0, 1, 0, 0, 0, 2]) // 8 bytes: extended_switch needs 16
        .rec(0, 1001, &switch(7))
        .0;
    let buf = header(1).rec(0, 1, &flow_sample(&recs, 2)).0;
    let d = Datagram::parse(&buf).expect("valid");
    let Some(Ok(Sample::Flow(f))) = d.samples().next() else {
        panic!("flow")
    };
    let r: Vec<_> = f.records().collect();
    assert_eq!(r.len(), 2);
    assert_eq!(
        r[0].err(),
        Some(Error::Truncated {
            layer: Layer::SflowFlowRecord,
            offset: 76,
            needed: 16,
            available: 8
        })
    );
    let FlowData::ExtendedSwitch(sw) = r[1].expect("second record").data else {
        panic!()
    };
    assert_eq!(sw.src_vlan(), 7);
}

#[test]
fn longer_record_decodes_known_prefix_and_unknown_is_not_an_error() {
    let mut long = switch(5);
    long.extend_from_slice(&[0xAA; 8]); // vendor extension
    let recs = W::default()
        .rec(0, 1001, &long)
        .rec(4413, 7, &[1, 2, 3, 4])
        .rec(0, 999, &[])
        .0;
    let buf = header(1).rec(0, 1, &flow_sample(&recs, 3)).0;
    let d = Datagram::parse(&buf).expect("valid");
    let Some(Ok(Sample::Flow(f))) = d.samples().next() else {
        panic!("flow")
    };
    let r: Vec<_> = f.records().map(|r| r.expect("ok")).collect();
    assert_eq!(r.len(), 3);
    let FlowData::ExtendedSwitch(sw) = r[0].data else {
        panic!()
    };
    assert_eq!((sw.src_vlan(), sw.data().len()), (5, 24));
    assert!(matches!(r[1].data, FlowData::Unknown([1, 2, 3, 4])));
    assert_eq!(
        (r[1].enterprise, r[1].format, r[1].name()),
        (4413, 7, "unknown")
    );
    assert!(matches!(r[2].data, FlowData::Unknown([])));
}

#[test]
fn record_overrun_and_count_mismatch_end_iteration() {
    // record length 100 overruns the sample
    let recs = W::default().u32(1001).u32(100).bytes(&switch(1)).0;
    let buf = header(1).rec(0, 1, &flow_sample(&recs, 2)).0;
    let d = Datagram::parse(&buf).expect("valid");
    let Some(Ok(Sample::Flow(f))) = d.samples().next() else {
        panic!("flow")
    };
    let mut it = f.records();
    assert_eq!(
        it.next().and_then(|r| r.err()),
        Some(Error::Invalid {
            layer: Layer::SflowFlowRecord,
            offset: 72,
            field: "length",
            value: 100
        })
    );
    assert!(it.next().is_none());

    // 3 records declared, 1 present
    let recs = W::default().rec(0, 1001, &switch(1)).0;
    let buf = header(1).rec(0, 1, &flow_sample(&recs, 3)).0;
    let d = Datagram::parse(&buf).expect("valid");
    let Some(Ok(Sample::Flow(f))) = d.samples().next() else {
        panic!("flow")
    };
    let r: Vec<_> = f.records().collect();
    assert_eq!(r.len(), 2);
    assert!(r[0].is_ok());
    assert!(matches!(
        r[1],
        Err(Error::Truncated {
            layer: Layer::SflowFlowRecord,
            ..
        })
    ));

    // a huge declared count with no data: one error, no loop
    let buf = header(1).rec(0, 1, &flow_sample(&[], u32::MAX)).0;
    let d = Datagram::parse(&buf).expect("valid");
    let Some(Ok(Sample::Flow(f))) = d.samples().next() else {
        panic!("flow")
    };
    assert_eq!(f.records().count(), 1);
}

#[test]
fn samples_iterator_is_fused_after_errors() {
    // sample length overruns the datagram
    let buf = header(2).u32(1).u32(500).bytes(&[0; 40]).0;
    let d = Datagram::parse(&buf).expect("valid");
    let mut it = d.samples();
    assert_eq!(
        it.next().and_then(|r| r.err()),
        Some(Error::Invalid {
            layer: Layer::SflowSample,
            offset: 32,
            field: "length",
            value: 500
        })
    );
    assert!(it.next().is_none());
    assert!(it.next().is_none());

    // sample shorter than its header
    let buf = header(2)
        .rec(0, 1, &[0; 8])
        .rec(0, 1, &flow_sample(&[], 0))
        .0;
    let d = Datagram::parse(&buf).expect("valid");
    let v: Vec<_> = d.samples().collect();
    assert_eq!(v.len(), 1);
    assert!(matches!(
        v[0],
        Err(Error::Truncated {
            layer: Layer::SflowSample,
            ..
        })
    ));

    // more samples declared than present; trailing bytes after the declared count are ignored
    let buf = header(u32::MAX).rec(0, 1, &flow_sample(&[], 0)).0;
    let d = Datagram::parse(&buf).expect("valid");
    let v: Vec<_> = d.samples().collect();
    assert_eq!(v.len(), 2);
    assert!(matches!(
        v[1],
        Err(Error::Truncated {
            layer: Layer::SflowSample,
            ..
        })
    ));
    let buf = header(1)
        .rec(0, 1, &flow_sample(&[], 0))
        .bytes(&[0xEE; 12])
        .0;
    assert_eq!(
        Datagram::parse(&buf)
            .expect("valid")
            .samples()
            .filter(Result::is_ok)
            .count(),
        1
    );
}

#[test]
fn expanded_counter_discard_and_unknown_samples() {
    let ctr = W::default()
        .u32(77)
        .u32(2)
        .u32(0x0100_0000) // expanded source index wider than 24 bits
        .u32(2)
        .rec(0, 2101, &W::default().u32(1).u32(2500).u32(4).0)
        .rec(0, 1005, &W::default().u32(5).bytes(b"eth10\0\0\0").0)
        .0;
    let disc = W::default()
        .u32(3)
        .u32(0)
        .u32(9)
        .u32(0)
        .u32(4)
        .u32(5)
        .u32(258) // acl
        .u32(1)
        .rec(0, 1039, &W::default().u32(1500).0)
        .0;
    let buf = header(3)
        .rec(0, 4, &ctr)
        .rec(0, 5, &disc)
        .rec(0, 42, &[9, 9, 9, 9])
        .0;
    let d = Datagram::parse(&buf).expect("valid");
    let s: Vec<_> = d.samples().map(|s| s.expect("ok")).collect();
    assert_eq!(
        s.iter().map(Sample::name).collect::<Vec<_>>(),
        [
            "expanded_counter_sample",
            "discarded_packet",
            "unknown_sample"
        ]
    );
    let Sample::Counter(c) = s[0] else { panic!() };
    assert!(c.is_expanded());
    assert_eq!(
        (c.sequence_number(), c.source_id_type(), c.source_id_index()),
        (77, 2, 0x0100_0000)
    );
    let r: Vec<_> = c.records().map(|r| r.expect("ok")).collect();
    let CounterData::VirtCpu(v) = r[0].data else {
        panic!("virt_cpu")
    };
    assert_eq!((v.state(), v.cpu_time(), v.nr_virt_cpu()), (1, 2500, 4));
    assert_eq!(r[0].name(), "virt_cpu");
    let CounterData::PortName(p) = r[1].data else {
        panic!("port_name")
    };
    assert_eq!(p.name(), b"eth10");
    let Sample::Discard(x) = s[1] else { panic!() };
    assert_eq!(
        (x.reason(), x.reason_name(), x.input(), x.output()),
        (258, Some("acl"), 4, 5)
    );
    let FlowData::ExtendedTransit(t) = x.records().next().expect("one").expect("ok").data else {
        panic!()
    };
    assert_eq!(t.delay(), 1500);
    let Sample::Unknown(u) = s[2] else { panic!() };
    assert_eq!(
        (u.enterprise(), u.format(), u.data()),
        (0, 42, &[9, 9, 9, 9][..])
    );
}

#[test]
fn gateway_path_bounds() {
    let gw = W::default()
        .u32(1)
        .bytes(&[10, 0, 0, 1])
        .u32(65000)
        .u32(65001)
        .u32(65002)
        .u32(2) // two segments
        .u32(1)
        .u32(2)
        .u32(100)
        .u32(200) // AS_SET {100 200}
        .u32(2)
        .u32(1)
        .u32(300) // AS_SEQUENCE 300
        .u32(1)
        .u32(0xFDE8_0007) // community 65000:7
        .u32(50)
        .0;
    let bad = W::default().u32(0).u32(1).u32(2).u32(3).u32(0x4000_0000).0;
    let recs = W::default().rec(0, 1003, &gw).rec(0, 1003, &bad).0;
    let buf = header(1).rec(0, 1, &flow_sample(&recs, 2)).0;
    let d = Datagram::parse(&buf).expect("valid");
    let Some(Ok(Sample::Flow(f))) = d.samples().next() else {
        panic!("flow")
    };
    let r: Vec<_> = f.records().collect();
    let FlowData::ExtendedGateway(g) = r[0].expect("ok").data else {
        panic!()
    };
    let segs: Vec<_> = g.dst_as_path().collect();
    assert_eq!(segs.len(), 2);
    assert_eq!(
        (segs[0].type_name(), segs[0].asns().collect::<Vec<_>>()),
        (Some("as_set"), vec![100, 200])
    );
    assert_eq!(
        (segs[1].type_name(), segs[1].asns().collect::<Vec<_>>()),
        (Some("as_sequence"), vec![300])
    );
    assert_eq!(g.localpref(), 50);
    let mut c = Collect::default();
    g.visit_fields(&mut c);
    assert!(c.0.contains(&("communities", "4259840007".into())));
    assert!(c.0.contains(&("dst_as_path", "100 200".into())));
    // second gateway: nexthop type 0 then a segment count of 2^30 with 0 bytes left
    assert!(matches!(
        r[1],
        Err(Error::Invalid {
            field: "dst_as_path",
            ..
        })
    ));
}

#[test]
fn names() {
    assert_eq!(drop_reason_name(0), Some("net_unreachable"));
    assert_eq!(drop_reason_name(15), Some("precedence_cutoff"));
    assert_eq!(drop_reason_name(16), None);
    assert_eq!(drop_reason_name(255), None);
    assert_eq!(drop_reason_name(256), Some("unknown"));
    assert_eq!(drop_reason_name(259), Some("no_buffer_space"));
    assert_eq!(drop_reason_name(372), Some("bgp_flowspec"));
    assert_eq!(drop_reason_name(373), None);
    assert_eq!(drop_reason_name(u32::MAX), None);
    assert_eq!(flow_record_name(0, 1), "sampled_header");
    assert_eq!(flow_record_name(0, 1030), "extended_vni_ingress");
    assert_eq!(flow_record_name(1, 1), "unknown");
    assert_eq!(counter_record_name(0, 2207), "ovs_dp_stats");
    assert_eq!(counter_record_name(0, 2203), "app_resources");
    assert_eq!(counter_record_name(0, 3000), "unknown");
}

#[test]
fn fixed_struct_sizes_match_the_specs() {
    assert_eq!(IfCounters::SIZE, 88);
    assert_eq!(EthernetCounters::SIZE, 52);
    assert_eq!(TokenRingCounters::SIZE, 72);
    assert_eq!(VgCounters::SIZE, 80);
    assert_eq!(VlanCounters::SIZE, 28);
    assert_eq!(Ieee80211Counters::SIZE, 80);
    assert_eq!(LagPortStats::SIZE, 56);
    assert_eq!(ProcessorCounters::SIZE, 28);
    assert_eq!(OfPort::SIZE, 12);
    assert_eq!(HostCpu::SIZE, 68);
    assert_eq!(HostMemory::SIZE, 72);
    assert_eq!(HostDiskIo::SIZE, 52);
    assert_eq!(HostNetIo::SIZE, 40);
    assert_eq!(Mib2Ip::SIZE, 76);
    assert_eq!(Mib2Icmp::SIZE, 100);
    assert_eq!(Mib2Tcp::SIZE, 60);
    assert_eq!(Mib2Udp::SIZE, 28);
    assert_eq!(VirtNode::SIZE, 28);
    assert_eq!(VirtDiskIo::SIZE, 52);
    assert_eq!(VirtNetIo::SIZE, 40);
    assert_eq!(AppResources::SIZE, 40);
    assert_eq!(OvsDpStats::SIZE, 24);
    assert_eq!(SampledEthernet::SIZE, 24);
    assert_eq!(SampledIpv4::SIZE, 32);
    assert_eq!(SampledIpv6::SIZE, 56);
    assert_eq!(ExtendedSwitch::SIZE, 16);
}
