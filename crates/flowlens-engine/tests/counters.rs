#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Counter metrics: real captures (values cross-checked against tshark) and virtual-time
//! cases (wraps, resets, utilisation, host metrics, summary statistics, filters, caps).

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use flowlens_engine::counters::{
    CounterLimits, Counters, DsFilter, Metric, MetricValue, Statistic,
};
use flowlens_engine::select::AgentSel;
use flowlens_wire::sflow::{Datagram, Sample};
use pcap_parser::{Linktype, PcapCapture};
use serde_json::json;

// ---------------------------------------------------------------------------------------------
// capture helpers

/// One captured datagram: capture time (ms) and UDP payload.
struct Dgram {
    ts_ms: u64,
    payload: Vec<u8>,
}

/// A capture of the set by its relative path: the repository's copy (`testdata/captures`),
/// else `../shared/data`. Every capture these tests read is in the repository.
fn data_file(rel: &str) -> PathBuf {
    flowlens_testdata::file(rel)
        .unwrap_or_else(|| panic!("{rel}: neither in testdata/captures nor in ../shared/data"))
}

/// UDP payloads of an Ethernet (or Linux SLL) IPv4 pcap.
fn pcap(rel: &str) -> Vec<Dgram> {
    let bytes = std::fs::read(data_file(rel)).unwrap();
    let cap = PcapCapture::from_file(&bytes).unwrap();
    let (link, et_at) = match cap.header.network {
        Linktype::ETHERNET => (14, 12),
        Linktype::LINUX_SLL => (16, 14),
        l => panic!("{rel}: unexpected linktype {l:?}"),
    };
    cap.blocks
        .iter()
        .filter_map(|b| {
            let f = b.data;
            let mut off = link;
            let mut et = u16::from_be_bytes([f[et_at], f[et_at + 1]]);
            if et == 0x8100 {
                et = u16::from_be_bytes([f[16], f[17]]);
                off += 4;
            }
            if et != 0x0800 || f[off + 9] != 17 {
                return None;
            }
            let ihl = usize::from(f[off] & 0x0f) * 4;
            let total = usize::from(u16::from_be_bytes([f[off + 2], f[off + 3]]));
            let end = (off + total).min(f.len());
            Some(Dgram {
                ts_ms: u64::from(b.ts_sec) * 1000 + u64::from(b.ts_usec) / 1000,
                payload: f[off + ihl + 8..end].to_vec(),
            })
        })
        .collect()
}

/// Feeds every counter sample of `dgrams` at its capture time; returns how many.
fn feed(c: &mut Counters, dgrams: &[Dgram]) -> usize {
    let mut n = 0;
    for d in dgrams {
        let Ok(dg) = Datagram::parse(&d.payload) else {
            continue;
        };
        for s in dg.samples().flatten() {
            if let Sample::Counter(cs) = s {
                c.add_sample(d.ts_ms, dg.agent_address(), &cs);
                n += 1;
            }
        }
    }
    n
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn num(c: &Counters, agent: &str, ds: &str, m: &str) -> Option<f64> {
    c.value(ip(agent), ds, m).and_then(Metric::num)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

// ---------------------------------------------------------------------------------------------
// synthetic datagrams

/// Builds sFlow v5 datagrams holding one counter sample each.
struct Dg {
    agent: Ipv4Addr,
    seq: u32,
}

impl Dg {
    fn new(agent: &str) -> Self {
        Dg {
            agent: agent.parse().unwrap(),
            seq: 0,
        }
    }

    /// A datagram with one `counters_sample` (sample sequence `sample_seq`) of data source
    /// `class:index` holding `records` (`(format, data)`).
    fn sample(
        &mut self,
        sample_seq: u32,
        class: u32,
        index: u32,
        records: &[(u32, Vec<u8>)],
    ) -> Vec<u8> {
        self.seq += 1;
        let mut body = Vec::new();
        put32(&mut body, sample_seq);
        put32(&mut body, (class << 24) | index);
        put32(&mut body, records.len() as u32);
        for (format, data) in records {
            put32(&mut body, *format);
            put32(&mut body, data.len() as u32);
            body.extend_from_slice(data);
        }
        let mut d = Vec::new();
        for v in [5, 1] {
            put32(&mut d, v);
        }
        d.extend_from_slice(&self.agent.octets());
        for v in [0, self.seq, 1000 * self.seq, 1, 2, body.len() as u32] {
            put32(&mut d, v);
        }
        d.extend_from_slice(&body);
        d
    }
}

fn put32(b: &mut Vec<u8>, v: u32) {
    b.extend_from_slice(&v.to_be_bytes());
}

fn put64(b: &mut Vec<u8>, v: u64) {
    b.extend_from_slice(&v.to_be_bytes());
}

fn put_str(b: &mut Vec<u8>, s: &str) {
    put32(b, s.len() as u32);
    b.extend_from_slice(s.as_bytes());
    b.resize(b.len() + (4 - s.len() % 4) % 4, 0);
}

/// Interface counters (`if_counters`, format 1).
#[derive(Clone, Copy, Default)]
struct If {
    index: u32,
    speed: u64,
    status: u32,
    in_octets: u64,
    in_ucast: u32,
    in_mcast: u32,
    in_bcast: u32,
    in_errors: u32,
    out_octets: u64,
}

impl If {
    fn record(&self) -> (u32, Vec<u8>) {
        let mut b = Vec::new();
        put32(&mut b, self.index);
        put32(&mut b, 6);
        put64(&mut b, self.speed);
        put32(&mut b, 1);
        put32(&mut b, self.status);
        put64(&mut b, self.in_octets);
        for v in [
            self.in_ucast,
            self.in_mcast,
            self.in_bcast,
            0,
            self.in_errors,
            0,
        ] {
            put32(&mut b, v);
        }
        put64(&mut b, self.out_octets);
        for _ in 0..5 {
            put32(&mut b, 0);
        }
        put32(&mut b, 2);
        assert_eq!(b.len(), 88);
        (1, b)
    }
}

/// `host_descr` (2000).
fn host_descr(name: &str, os: u32) -> (u32, Vec<u8>) {
    let mut b = Vec::new();
    put_str(&mut b, name);
    b.extend((0u8..16).collect::<Vec<_>>());
    put32(&mut b, 3); // x86_64
    put32(&mut b, os);
    put_str(&mut b, "6.1.0");
    (2000, b)
}

/// `host_cpu` (2003): loads and the seven CPU times (ms).
fn host_cpu(load_one: f32, times: [u32; 7]) -> (u32, Vec<u8>) {
    let mut b = Vec::new();
    for f in [load_one, load_one / 2.0, load_one / 4.0] {
        b.extend_from_slice(&f.to_be_bytes());
    }
    for v in [1, 200, 4, 2400, 3600] {
        put32(&mut b, v); // proc_run, proc_total, cpu_num, cpu_speed, uptime
    }
    for t in times {
        put32(&mut b, t);
    }
    put32(&mut b, 1000); // interrupts
    put32(&mut b, 2000); // contexts
    assert_eq!(b.len(), 68);
    (2003, b)
}

/// `host_memory` (2004).
fn host_memory(total: u64, free: u64, buffers: u64, cached: u64) -> (u32, Vec<u8>) {
    let mut b = Vec::new();
    for v in [total, free, 0, buffers, cached, 0, 0] {
        put64(&mut b, v);
    }
    for _ in 0..4 {
        put32(&mut b, 0);
    }
    (2004, b)
}

/// Parses `d` and adds its counter sample at `now`.
fn add(c: &mut Counters, now: u64, d: &[u8]) {
    let dg = Datagram::parse(d).unwrap();
    let mut n = 0;
    for s in dg.samples() {
        if let Sample::Counter(cs) = s.unwrap() {
            c.add_sample(now, dg.agent_address(), &cs);
            n += 1;
        }
    }
    assert_eq!(n, 1);
}

fn all() -> AgentSel {
    AgentSel::All
}

fn none() -> DsFilter {
    DsFilter::default()
}

// ---------------------------------------------------------------------------------------------
// real captures

/// `tcpdump__sflow_multiple_counter_30_pdus.pcap`: every interface sampled twice 2 s apart.
/// Expected rates from tshark (`tshark -r FILE -Y sflow -T fields -e frame.time_epoch
/// -e sflow_245.agent -e sflow_245.ifindex -e sflow_245.ifinoct -e sflow_245.ifoutoct
/// -e sflow_245.ifinpkt -e sflow_245.ifinmcast -e sflow_245.ifinbcast`): difference of the
/// last two samples over the difference of their capture times (ms).
#[test]
fn tcpdump_capture_rates_match_tshark() {
    let mut c = Counters::default();
    let n = feed(
        &mut c,
        &pcap("sflow/tcpdump__sflow_multiple_counter_30_pdus.pcap"),
    );
    assert!(n > 100, "{n} counter samples");
    // (agent, ifIndex, ifinoctets/s, ifoutoctets/s, ifinpkts/s, ifspeed)
    let expected: [(&str, &str, f64, f64, f64, f64); 14] = [
        ("15.184.1.194", "10", 0.0, 160.0, 0.0, 1e9),
        ("15.184.1.194", "11", 1108.5, 659.5, 5.0, 1e9),
        ("15.184.1.194", "6", 0.0, 160.0, 0.0, 1e9),
        ("15.184.1.194", "7", 32.0, 128.0, 0.5, 1e9),
        ("15.184.1.194", "8", 0.0, 160.0, 0.0, 1e9),
        ("15.184.1.194", "9", 0.0, 160.0, 0.0, 1e9),
        ("15.184.1.195", "10", 0.0, 160.0, 0.0, 1e9),
        ("15.184.1.195", "4", 1562.0, 1694.0, 11.0, 1e9),
        ("15.184.1.195", "50", 102.0, 4861.0, 1.5, 1e10),
        ("15.184.1.195", "53", 1806.0, 0.0, 12.0, 1e10),
        ("15.184.1.195", "6", 0.0, 160.0, 0.0, 1e9),
        ("15.184.1.195", "7", 0.0, 160.0, 0.0, 1e9),
        ("15.184.1.195", "8", 0.0, 160.0, 0.0, 1e9),
        ("15.184.1.195", "9", 0.0, 160.0, 0.0, 1e9),
    ];
    for (agent, ds, inr, outr, pkts, speed) in expected {
        let at = format!("{agent} {ds}");
        assert!(
            close(num(&c, agent, ds, "ifinoctets").unwrap(), inr),
            "{at} in"
        );
        assert!(
            close(num(&c, agent, ds, "ifoutoctets").unwrap(), outr),
            "{at} out"
        );
        assert!(
            close(num(&c, agent, ds, "ifinpkts").unwrap(), pkts),
            "{at} pkts"
        );
        assert_eq!(num(&c, agent, ds, "ifspeed"), Some(speed), "{at} speed");
        let util = num(&c, agent, ds, "ifinutilization").unwrap();
        assert!(close(util, inr * 8.0 / speed * 100.0), "{at} util {util}");
        assert_eq!(
            c.value(ip(agent), ds, "ifindex"),
            Some(&Metric::Text(ds.to_string()))
        );
    }
    // 48 interfaces were sampled twice (tshark): exactly those have rates
    let rated = c.dump(0, &all(), &["ifinoctets"], &none());
    assert_eq!(rated.len(), 48);
    let speeds = c.dump(0, &all(), &["ifspeed"], &none());
    assert_eq!(speeds.len(), 94);
    // sum over the selected agent = sum of the table above for that agent
    let s = c
        .metric(
            0,
            &AgentSel::parse("15.184.1.195").unwrap(),
            &["sum:ifinoctets"],
            &none(),
        )
        .unwrap();
    assert!(close(
        s[0].metric_value.as_ref().unwrap().num().unwrap(),
        1562.0 + 102.0 + 1806.0
    ));
    let st = c.stats();
    assert_eq!(
        (st.counter_resets, st.restarts, st.refused_data_sources),
        (0, 0, 0)
    );
}

/// Open vSwitch 3.1 (`sflow-ovs-br0.pcap`): every engine rate equals the difference of the
/// raw `ifInOctets`/`ifOutOctets` the wire decoder reads, over the capture-time difference;
/// port names, OpenFlow ports and datapath statistics come through.
#[test]
fn ovs_capture_rates_follow_raw_counters() {
    use flowlens_wire::sflow::CounterData;
    use std::collections::HashMap;
    let dgrams = pcap("exporters/sflow-ovs-br0.pcap");
    let mut c = Counters::default();
    let mut prev: HashMap<u32, (u64, u64, u64)> = HashMap::new();
    let (mut checked, mut nonzero) = (0, 0);
    for d in &dgrams {
        let Ok(dg) = Datagram::parse(&d.payload) else {
            continue;
        };
        for s in dg.samples().flatten() {
            let Sample::Counter(cs) = s else { continue };
            c.add_sample(d.ts_ms, dg.agent_address(), &cs);
            for r in cs.records().flatten() {
                let CounterData::Generic(g) = r.data else {
                    continue;
                };
                let ds = g.if_index().to_string();
                let now = (d.ts_ms, g.if_in_octets(), g.if_out_octets());
                if let Some((t0, i0, o0)) = prev.insert(g.if_index(), now) {
                    let dt = (d.ts_ms - t0) as f64 / 1000.0;
                    let want_in = (now.1 - i0) as f64 / dt;
                    let want_out = (now.2 - o0) as f64 / dt;
                    assert!(close(
                        num(&c, "127.0.0.1", &ds, "ifinoctets").unwrap(),
                        want_in
                    ));
                    assert!(close(
                        num(&c, "127.0.0.1", &ds, "ifoutoctets").unwrap(),
                        want_out
                    ));
                    checked += 1;
                    nonzero += usize::from(want_in > 0.0);
                }
            }
        }
    }
    assert!(
        checked >= 20 && nonzero >= 5,
        "checked {checked}, nonzero {nonzero}"
    );
    let v = |ds: &str, m: &str| c.value(ip("127.0.0.1"), ds, m).cloned();
    assert_eq!(v("38", "ifname"), Some(Metric::Text("nftb-v1".into())));
    assert_eq!(v("38", "of_port"), Some(Metric::Num(1.0)));
    assert_eq!(
        v("38", "iftype"),
        Some(Metric::Text("ethernetCsmacd".into()))
    );
    assert_eq!(v("38", "ifoperstatus"), Some(Metric::Text("up".into())));
    assert_eq!(v("36", "ifoperstatus"), Some(Metric::Text("down".into())));
    // OVS sends 0xFFFFFFFF ("unknown") for most dot3 counters: they are left out
    assert!(v("38", "dot3statsfcserrors").is_some());
    assert!(v("38", "dot3statslatecollisions").is_none());
    assert_eq!(c.stats().counter_resets, 0);
}

/// The underlay bridge's datapath data source (`2.1001`: `app_resources` + `ovs_dp_stats`).
#[test]
fn ovs_datapath_data_source() {
    let mut c = Counters::default();
    feed(&mut c, &pcap("exporters/sflow-ovs-underlay-tunnels.pcap"));
    let a = ip("127.0.0.2");
    assert_eq!(
        c.value(a, "2.1001", "ovs_dp_flows"),
        Some(&Metric::Num(4.0))
    );
    assert!(
        c.value(a, "2.1001", "ovs_dp_masks").is_none(),
        "0xFFFFFFFF is unknown"
    );
    assert!(
        c.value(a, "2.1001", "app_mem_used")
            .and_then(Metric::num)
            .unwrap()
            > 1e6
    );
    assert!(c.value(a, "2.1001", "ovs_dp_missrate").is_some());
    let m = c.agent_metrics(0, a).unwrap();
    assert!(m
        .iter()
        .any(|v| v.data_source == "2.1001" && v.metric_name == "app_systemtime"));
    assert!(c.agent_metrics(0, ip("127.0.0.9")).is_none());
}

/// pmacct's sfprobe sends one interface counter sample: gauges only, no rate yet.
#[test]
fn first_sample_gives_gauges_only() {
    let mut c = Counters::default();
    assert_eq!(feed(&mut c, &pcap("exporters/sflow-pmacct-live.pcap")), 1);
    let all_values = c.dump(0, &all(), &["ALL"], &none());
    assert!(all_values.iter().any(|v| v.metric_name == "ifspeed"));
    for m in ["ifinoctets", "ifinutilization", "ifinpkts"] {
        assert!(!all_values.iter().any(|v| v.metric_name == m), "{m}");
    }
}

// ---------------------------------------------------------------------------------------------
// virtual time

#[test]
fn wrap_32_and_64_bit() {
    let mut c = Counters::default();
    let mut g = Dg::new("10.0.0.1");
    let a = "10.0.0.1";
    let mut i = If {
        index: 3,
        speed: 1_000_000_000,
        status: 3,
        in_octets: u64::MAX - 999,
        in_ucast: u32::MAX - 99,
        ..If::default()
    };
    add(&mut c, 1_000, &g.sample(1, 0, 3, &[i.record()]));
    assert!(
        num(&c, a, "3", "ifinoctets").is_none(),
        "first sample: no rate"
    );
    i.in_octets = 1_000; // 64-bit wrap: 2000 octets
    i.in_ucast = 100; // 32-bit wrap: 200 packets
    add(&mut c, 11_000, &g.sample(2, 0, 3, &[i.record()]));
    assert_eq!(num(&c, a, "3", "ifinoctets"), Some(200.0));
    assert_eq!(num(&c, a, "3", "ifinucastpkts"), Some(20.0));
    assert_eq!(num(&c, a, "3", "ifinpkts"), Some(20.0));
    assert!(close(
        num(&c, a, "3", "ifinutilization").unwrap(),
        200.0 * 8.0 / 1e9 * 100.0
    ));
    // a 32-bit register in the 64-bit ifInOctets field wraps at 2^32
    i.in_octets = u64::from(u32::MAX) - 499;
    add(&mut c, 21_000, &g.sample(3, 0, 3, &[i.record()]));
    i.in_octets = 500;
    add(&mut c, 31_000, &g.sample(4, 0, 3, &[i.record()]));
    assert_eq!(num(&c, a, "3", "ifinoctets"), Some(100.0));
    assert_eq!(c.stats().counter_resets, 0);
}

#[test]
fn counter_reset_restarts_without_spike() {
    let mut c = Counters::default();
    let mut g = Dg::new("10.0.0.1");
    let a = "10.0.0.1";
    let mut i = If {
        index: 7,
        speed: 10_000_000_000,
        in_octets: 5_000_000_000_000,
        in_errors: 1_000_000_000,
        ..If::default()
    };
    add(&mut c, 0, &g.sample(10, 0, 7, &[i.record()]));
    i.in_octets += 10_000;
    i.in_errors += 10;
    add(&mut c, 10_000, &g.sample(11, 0, 7, &[i.record()]));
    assert_eq!(num(&c, a, "7", "ifinoctets"), Some(1000.0));
    // counters cleared on the device (sequence continues): a drop, not a wrap
    i.in_octets = 300;
    i.in_errors = 3;
    add(&mut c, 20_000, &g.sample(12, 0, 7, &[i.record()]));
    assert_eq!(c.stats().counter_resets, 2);
    assert_eq!(
        num(&c, a, "7", "ifinoctets"),
        Some(1000.0),
        "no spike, old rate kept"
    );
    i.in_octets = 5_300;
    add(&mut c, 30_000, &g.sample(13, 0, 7, &[i.record()]));
    assert_eq!(
        num(&c, a, "7", "ifinoctets"),
        Some(500.0),
        "rate restarts from the new base"
    );
    // agent restart: sample sequence back to 1; rates vanish until the next sample
    i.in_octets = 100;
    add(&mut c, 40_000, &g.sample(1, 0, 7, &[i.record()]));
    assert_eq!(c.stats().restarts, 1);
    assert!(num(&c, a, "7", "ifinoctets").is_none());
    assert_eq!(num(&c, a, "7", "ifspeed"), Some(1e10));
    i.in_octets = 1_100;
    add(&mut c, 50_000, &g.sample(20, 0, 7, &[i.record()]));
    assert_eq!(num(&c, a, "7", "ifinoctets"), Some(100.0));
    // a duplicate and a reordered sample are ignored
    add(&mut c, 60_000, &g.sample(20, 0, 7, &[i.record()]));
    i.in_octets = 0;
    add(&mut c, 60_000, &g.sample(21, 0, 7, &[i.record()]));
    add(
        &mut c,
        61_000,
        &g.sample(20, 0, 7, &[If { in_octets: 1, ..i }.record()]),
    );
    assert_eq!(c.stats().ignored, 2);
    assert_eq!(c.stats().counter_resets, 3);
}

/// A Linux host (`2.1`: host_descr, host_cpu, host_memory) and its interface.
fn host(g: &mut Dg, seq: u32, name: &str, os: u32, load: f32, cpu: [u32; 7]) -> Vec<u8> {
    g.sample(
        seq,
        2,
        1,
        &[
            host_descr(name, os),
            host_cpu(load, cpu),
            host_memory(8_000, 1_000, 500, 2_500),
        ],
    )
}

#[test]
fn host_metrics() {
    let mut c = Counters::default();
    let mut g = Dg::new("10.1.0.1");
    let a = "10.1.0.1";
    add(&mut c, 0, &host(&mut g, 1, "web1", 2, 1.5, [0; 7]));
    let t = |m: &str| c.value(ip(a), "2.1", m).cloned();
    assert_eq!(t("host_name"), Some(Metric::Text("web1".into())));
    assert_eq!(t("os_name"), Some(Metric::Text("linux".into())));
    assert_eq!(t("machine_type"), Some(Metric::Text("x86_64".into())));
    assert_eq!(t("os_release"), Some(Metric::Text("6.1.0".into())));
    assert_eq!(
        t("uuid"),
        Some(Metric::Text("00010203-0405-0607-0809-0a0b0c0d0e0f".into()))
    );
    assert_eq!(t("load_one"), Some(Metric::Num(1.5)));
    assert_eq!(t("cpu_num"), Some(Metric::Num(4.0)));
    assert_eq!(t("mem_total"), Some(Metric::Num(8_000.0)));
    assert_eq!(t("mem_utilization"), Some(Metric::Num(50.0)));
    assert_eq!(t("cpu_utilization"), None, "CPU times need two samples");
    // 10 s later: user 4000 ms, system 1000 ms, idle 5000 ms of 10000 ms
    add(
        &mut c,
        10_000,
        &host(&mut g, 2, "web1", 2, 1.5, [4000, 0, 1000, 5000, 0, 0, 0]),
    );
    let t = |m: &str| c.value(ip(a), "2.1", m).and_then(Metric::num);
    assert_eq!(t("cpu_user"), Some(40.0));
    assert_eq!(t("cpu_system"), Some(10.0));
    assert_eq!(t("cpu_idle"), Some(50.0));
    assert_eq!(t("cpu_utilization"), Some(50.0));
    assert_eq!(t("interrupts"), Some(0.0));
    assert!(c
        .names(10_000)
        .iter()
        .any(|(n, age)| n == "cpu_utilization" && *age == 0));
}

/// Three Linux hosts and a Windows host, each with an interface.
fn fleet() -> Counters {
    let mut c = Counters::default();
    let hosts = [
        ("10.2.0.1", "web1", 2, 1.0f32),
        ("10.2.0.2", "web2", 2, 3.0),
        ("10.2.0.3", "db1", 2, 2.0),
        ("10.2.0.4", "win1", 3, 8.0),
    ];
    for (k, (agent, name, os, load)) in hosts.into_iter().enumerate() {
        let mut g = Dg::new(agent);
        let t = 1_000 * k as u64;
        add(&mut c, t, &host(&mut g, 1, name, os, load, [0; 7]));
        let i = If {
            index: 2,
            speed: if k == 0 {
                10_000_000_000
            } else {
                1_000_000_000
            },
            ..If::default()
        };
        add(&mut c, t, &g.sample(1, 0, 2, &[i.record()]));
    }
    c
}

#[test]
fn summary_statistics() {
    let c = fleet();
    let now = 10_000;
    let stats = c
        .metric(
            now,
            &all(),
            &[
                "load_one",
                "sum:load_one",
                "min:load_one",
                "avg:load_one",
                "med:load_one",
                "var:load_one",
                "sdev:load_one",
                "q1:load_one",
                "q3:load_one",
                "iqr:load_one",
                "any:load_one",
                "max:nosuchmetric",
            ],
            &none(),
        )
        .unwrap();
    let v = |s: &Statistic| s.metric_value.as_ref().and_then(Metric::num);
    assert_eq!(stats.len(), 12);
    assert_eq!(stats[0].metric_name, "load_one");
    assert_eq!(v(&stats[0]), Some(8.0));
    assert_eq!(stats[0].agent, Some(ip("10.2.0.4")));
    assert_eq!(stats[0].data_source.as_deref(), Some("2.1"));
    assert_eq!(stats[0].metric_n, 4);
    assert_eq!(stats[0].last_update, Some(7_000));
    assert_eq!(stats[0].last_update_min, Some(7_000));
    assert_eq!(stats[0].last_update_max, Some(10_000));
    assert_eq!(stats[1].metric_name, "sum:load_one");
    assert_eq!(v(&stats[1]), Some(14.0));
    assert_eq!(stats[1].agent, None);
    assert_eq!(v(&stats[2]), Some(1.0));
    assert_eq!(stats[2].agent, Some(ip("10.2.0.1")));
    assert_eq!(v(&stats[3]), Some(3.5));
    assert_eq!(v(&stats[4]), Some(2.5));
    assert!(close(v(&stats[5]).unwrap(), 9.666_666_666_666_666));
    assert!(close(
        v(&stats[6]).unwrap(),
        9.666_666_666_666_666f64.sqrt()
    ));
    assert_eq!(v(&stats[7]), Some(1.75));
    assert_eq!(v(&stats[8]), Some(4.25));
    assert_eq!(v(&stats[9]), Some(2.5));
    assert_eq!(v(&stats[10]), Some(8.0), "any: the newest value");
    assert_eq!(stats[11].metric_n, 0);
    assert_eq!(stats[11].metric_value, None);
    assert_eq!(
        stats[11].to_json(),
        json!({"metricName":"max:nosuchmetric","metricN":0})
    );
    assert_eq!(
        stats[0].to_json(),
        json!({"agent":"10.2.0.4","dataSource":"2.1","metricName":"load_one","metricValue":8,
               "metricN":4,"lastUpdate":7000,"lastUpdateMin":7000,"lastUpdateMax":10000})
    );
    // text: max/min lexicographic, any newest, sum none
    let t = c
        .metric(
            now,
            &all(),
            &["host_name", "min:host_name", "sum:host_name"],
            &none(),
        )
        .unwrap();
    assert_eq!(t[0].metric_value, Some(Metric::Text("win1".into())));
    assert_eq!(t[1].metric_value, Some(Metric::Text("db1".into())));
    assert_eq!((t[2].metric_value.clone(), t[2].metric_n), (None, 4));
    // scoped and agent-selected
    let s = c
        .metric(
            now,
            &AgentSel::parse("10.2.0.1;10.2.0.2").unwrap(),
            &["sum:2.1.load_one"],
            &none(),
        )
        .unwrap();
    assert_eq!(v(&s[0]), Some(4.0));
    let e = c
        .metric(now, &all(), &["bogus:load_one"], &none())
        .expect_err("refused");
    assert_eq!(
        e.to_string(),
        "metric: invalid `bogus:load_one`: unknown statistic prefix"
    );
}

#[test]
fn filter_by_os_name_and_ifspeed() {
    let c = fleet();
    let linux = DsFilter::from_json(&json!({"os_name": ["linux"]})).unwrap();
    // graphite.js: metric('ALL',['sum:load_one'],{os_name:['linux']})[0].metricValue
    let s = c.metric(0, &all(), &["sum:load_one"], &linux).unwrap();
    assert_eq!(s[0].metric_value, Some(Metric::Num(6.0)));
    assert_eq!(s[0].metric_n, 3);
    // os_name lives on 2.1: the interfaces of Linux hosts are selected through their agent
    let d = c.dump(0, &all(), &["ifspeed"], &linux);
    assert_eq!(d.len(), 3);
    let fast = DsFilter::from_json(&json!({"ifspeed": ["10000000000"]})).unwrap();
    let d = c.dump(0, &all(), &["ifspeed", "host_name"], &fast);
    assert_eq!(d.len(), 2);
    assert_eq!(d[0].agent, ip("10.2.0.1"));
    assert_eq!(d[1].metric_value, Metric::Text("web1".into()));
    let web = DsFilter::from_json(&json!({"host_name": ["web*"], "os_name": ["linux", "windows"]}))
        .unwrap();
    assert_eq!(
        c.metric(0, &all(), &["sum:load_one"], &web).unwrap()[0].metric_n,
        2
    );
    let nobody = DsFilter::from_json(&json!({"os_name": "solaris"})).unwrap();
    assert!(c.dump(0, &all(), &["ALL"], &nobody).is_empty());
    let e = DsFilter::from_json(&json!("linux")).expect_err("refused");
    assert_eq!(e.to_string(), "filter: invalid ``: must be an object");
}

#[test]
fn table_sort_and_null_columns() {
    let c = fleet();
    let rows = c
        .table(0, &all(), &["host_name", "sort:load_one:-2"], &none())
        .unwrap();
    assert_eq!(rows.len(), 2);
    let cell = |r: &Vec<Option<MetricValue>>, i: usize| r[i].as_ref().unwrap().metric_value.clone();
    assert_eq!(cell(&rows[0], 0), Metric::Text("win1".into()));
    assert_eq!(cell(&rows[1], 1), Metric::Num(3.0));
    let asc = c
        .table(0, &all(), &["sort:load_one:3", "host_name"], &none())
        .unwrap();
    assert_eq!(
        asc.iter().map(|r| cell(r, 1)).collect::<Vec<_>>(),
        ["web1", "db1", "web2"].map(|s| Metric::Text(s.into()))
    );
    // rows need every plain column; null: columns may be missing
    let t = c
        .table(0, &all(), &["ifspeed", "null:load_one"], &none())
        .unwrap();
    assert_eq!(t.len(), 4);
    assert!(t.iter().all(|r| r[1].is_none()));
    assert!(c
        .table(0, &all(), &["ifspeed", "load_one"], &none())
        .unwrap()
        .is_empty());
    let e = c
        .table(0, &all(), &["sort:a:1", "sort:b:1"], &none())
        .expect_err("refused");
    assert_eq!(
        e.to_string(),
        "table: invalid `sort:b:1`: only one sort: column"
    );
    let e = c
        .table(0, &all(), &["sort:a:x"], &none())
        .expect_err("refused");
    assert_eq!(
        e.to_string(),
        "table: invalid `sort:a:x`: sort count must be an integer"
    );
    let j = rows[0][1].as_ref().unwrap().to_json();
    assert_eq!(
        j,
        json!({"agent":"10.2.0.4","dataSource":"2.1","metricName":"load_one","metricValue":8,
               "lastUpdate":0})
    );
}

#[test]
fn each_and_value() {
    let c = fleet();
    let mut seen = Vec::new();
    c.each("load_one", |a, ds, m, t| {
        seen.push((a, ds.to_string(), m.num(), t))
    });
    seen.sort_by_key(|s| s.0);
    assert_eq!(seen.len(), 4);
    assert_eq!(
        seen[3],
        (ip("10.2.0.4"), "2.1".to_string(), Some(8.0), 3_000)
    );
    assert_eq!(
        c.value(ip("10.2.0.2"), "2", "ifspeed"),
        Some(&Metric::Num(1e9))
    );
    assert_eq!(c.value(ip("10.2.0.2"), "2.x", "ifspeed"), None);
}

#[test]
fn caps_and_expiry() {
    let mut c = Counters::new(CounterLimits {
        max_agents: 2,
        max_data_sources_per_agent: 2,
        max_data_sources: 3,
        timeout_ms: 60_000,
    });
    let rec = If {
        index: 1,
        ..If::default()
    }
    .record();
    for (agent, idx, t) in [
        ("10.9.0.1", 1, 0),
        ("10.9.0.1", 2, 0),
        ("10.9.0.1", 3, 0),
        ("10.9.0.2", 1, 50_000),
        ("10.9.0.2", 2, 50_000),
        ("10.9.0.3", 1, 0),
    ] {
        add(
            &mut c,
            t,
            &Dg::new(agent).sample(1, 0, idx, std::slice::from_ref(&rec)),
        );
    }
    let s = c.stats();
    assert_eq!((s.agents, s.data_sources), (2, 3));
    assert_eq!((s.refused_agents, s.refused_data_sources), (1, 2));
    c.expire(100_000);
    let s = c.stats();
    assert_eq!((s.agents, s.data_sources, s.expired), (1, 1, 2));
    assert!(c.names(100_000).iter().all(|(_, age)| *age <= 60_000));
    c.expire(200_000);
    assert_eq!(c.stats().data_sources, 0);
    assert!(c.names(200_000).is_empty());
}

/// Truncated and byte-flipped versions of real samples never panic.
#[test]
fn damaged_input_never_panics() {
    let mut c = Counters::default();
    let mut dgrams = pcap("exporters/sflow-ovs-underlay-tunnels.pcap");
    dgrams.extend(pcap("sflow/tcpdump__sflow_multiple_counter_30_pdus.pcap"));
    let mut g = Dg::new("10.3.0.1");
    dgrams.push(Dgram {
        ts_ms: 0,
        payload: host(&mut g, 1, "h", 2, 1.0, [1; 7]),
    });
    for d in &dgrams {
        for cut in (0..d.payload.len()).step_by(7) {
            feed(
                &mut c,
                &[Dgram {
                    ts_ms: cut as u64,
                    payload: d.payload[..cut].to_vec(),
                }],
            );
        }
        for i in (0..d.payload.len()).step_by(3) {
            let mut p = d.payload.clone();
            p[i] ^= 0xff;
            feed(
                &mut c,
                &[Dgram {
                    ts_ms: i as u64,
                    payload: p,
                }],
            );
        }
    }
    let _ = c
        .metric(0, &all(), &["load_one", "sum:ifinoctets"], &none())
        .unwrap();
    let _ = c
        .table(0, &all(), &["sort:ifinoctets:-5"], &none())
        .unwrap();
    assert!(c.stats().samples > 1000);
}

// ---------------------------------------------------------------------------------------------
// thresholds on counter metrics, through the engine

#[test]
fn counter_metric_threshold_fires_per_data_source_and_rearms() {
    use flowlens_engine::Engine;
    let dgrams = pcap("exporters/sflow-ovs-br0.pcap");
    let mut e = Engine::default();
    // Every OVS port reports its speed: one event per interface data source, once.
    e.set_threshold("speed", &json!({"metric":"ifspeed","value":1,"timeout":5}))
        .unwrap();
    // No port is faster than 1 Pb/s: never fires.
    e.set_threshold("never", &json!({"metric":"ifspeed","value":1e15}))
        .unwrap();
    for d in &dgrams {
        if let Ok(dg) = Datagram::parse(&d.payload) {
            e.add_sflow(d.ts_ms, &dg);
        }
        e.tick(d.ts_ms);
    }
    let mut with_speed = std::collections::BTreeSet::new();
    e.counters().each("ifspeed", |agent, ds, m, _| {
        if matches!(m, flowlens_engine::counters::Metric::Num(v) if *v >= 1.0) {
            with_speed.insert((agent, ds.to_string()));
        }
    });
    assert!(with_speed.len() >= 2, "{with_speed:?}");
    let events = e.events(0, &["speed"], 1000);
    let fired: std::collections::BTreeSet<_> = events
        .iter()
        .map(|ev| (ev.agent.parse::<IpAddr>().unwrap(), ev.data_source.clone()))
        .collect();
    assert_eq!(fired, with_speed);
    assert_eq!(
        events.len(),
        with_speed.len(),
        "one event per data source while triggered"
    );
    assert!(e.events(0, &["never"], 1000).is_empty());
    // Still at its speed: stays triggered.
    let (agent, ds) = with_speed.iter().next().unwrap().clone();
    let id = ds.parse::<flowlens_engine::DataSourceId>().unwrap().0;
    assert!(e.threshold_triggered("speed", agent, id, None).unwrap());
}

// ---------------------------------------------------------------------------------------------
// agent statistics, through the engine

#[test]
fn agent_statistics_on_the_open_vswitch_capture() {
    use flowlens_engine::Engine;
    let dgrams = pcap("exporters/sflow-ovs-br0.pcap");
    let mut e = Engine::default();
    let (mut flow, mut counter) = (0u64, 0u64);
    for d in &dgrams {
        let dg = Datagram::parse(&d.payload).unwrap();
        for s in dg.samples().flatten() {
            match s {
                Sample::Flow(_) => flow += 1,
                Sample::Counter(_) => counter += 1,
                _ => {}
            }
        }
        e.add_sflow_from(d.ts_ms, Some(ip("10.0.0.99")), &dg);
    }
    let agents = e.agents().list();
    assert_eq!(agents.len(), 1);
    let s = e.agents().get(agents[0]).unwrap();
    assert_eq!(s.datagrams, dgrams.len() as u64);
    assert_eq!((s.flow_samples, s.counter_samples), (flow, counter));
    assert_eq!(flow, 9_834);
    // A capture taken on loopback: nothing lost, duplicated or reordered.
    assert_eq!(
        (s.datagrams_lost, s.duplicates, s.out_of_order, s.restarts),
        (0, 0, 0, 0)
    );
    assert_eq!(s.flow_samples_lost, 0);
    assert_eq!(s.sources, [ip("10.0.0.99")]);
    // The testbed samples 1-in-10: the effective rate of a busy port is close to it.
    let busiest = e
        .agents()
        .flow_data_sources(agents[0])
        .into_iter()
        .filter_map(|id| e.agents().data_source(agents[0], id))
        .max_by_key(|i| i.flow_samples)
        .unwrap();
    assert_eq!(busiest.sampling_rate, 10);
    assert!(
        (busiest.effective_sampling_rate - 10.0).abs() < 1.0,
        "{busiest:?}"
    );
    let j = e
        .agents()
        .to_json(dgrams.last().unwrap().ts_ms, agents[0])
        .unwrap();
    assert_eq!(j["sFlowFlowSamples"], 9_834);
    assert_eq!(j["lastSeen"], 0);
}
