//! Virtual-time behaviour of the engine: smoothing, scaling, confidence intervals, thresholds,
//! aggregation, flow logging. Packets are built here (Ethernet/IPv4/UDP) and fed as raw
//! 1-in-1 samples; time is whatever the test says.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::IpAddr;

use flowlens_engine::{AgentSel, AggMode, Engine, FlowQuery};
use flowlens_wire::packet::LinkType;
use serde_json::json;

/// An Ethernet/IPv4/UDP frame of `len` bytes from `src` to `dst`.
fn udp_frame(src: [u8; 4], dst: [u8; 4], dport: u16, len: usize) -> Vec<u8> {
    let len = len.max(42);
    let mut f = vec![0u8; len];
    f[0..6].copy_from_slice(&[2, 0, 0, 0, 0, 2]);
    f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
    f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    let ip_len = (len - 14) as u16;
    f[14] = 0x45;
    f[16..18].copy_from_slice(&ip_len.to_be_bytes());
    f[22] = 64;
    f[23] = 17;
    f[26..30].copy_from_slice(&src);
    f[30..34].copy_from_slice(&dst);
    f[34..36].copy_from_slice(&40000u16.to_be_bytes());
    f[36..38].copy_from_slice(&dport.to_be_bytes());
    f[38..40].copy_from_slice(&(ip_len - 20).to_be_bytes());
    f
}

const AGENT: [u8; 4] = [192, 0, 2, 1];

fn agent(a: [u8; 4]) -> IpAddr {
    IpAddr::from(a)
}

fn top(e: &Engine, now: u64, name: &str) -> Vec<(String, f64)> {
    e.active_flows(
        now,
        &FlowQuery {
            max_flows: 100,
            ..FlowQuery::new(&AgentSel::All, name)
        },
    )
    .unwrap()
    .into_iter()
    .map(|a| (a.key, a.value))
    .collect()
}

/// 100 packets/s of 1000 bytes for 30 s, silence for 30 s, repeated for `secs`; returns the
/// value sampled every second over the last two periods.
fn square_wave(t: f64, secs: u64) -> Vec<f64> {
    let mut e = Engine::default();
    e.set_flow(
        "pair",
        &json!({"keys":"ipsource,ipdestination","value":"bytes","t":t}),
    )
    .unwrap();
    let frame = udp_frame([10, 0, 0, 1], [10, 0, 0, 2], 9, 1000);
    let mut out = Vec::new();
    for sec in 0..secs {
        if (sec / 30) % 2 == 0 {
            for i in 0..100u64 {
                e.add_packet(
                    sec * 1000 + i * 10,
                    agent(AGENT),
                    LinkType::Ethernet,
                    &frame,
                    1000,
                );
            }
        }
        e.tick(sec * 1000 + 999);
        if sec >= secs - 120 {
            out.push(
                e.flow_value(
                    (sec + 1) * 1000,
                    &AgentSel::All,
                    None,
                    "pair",
                    "10.0.0.1,10.0.0.2",
                )
                .unwrap()
                .unwrap_or(0.0),
            );
        }
    }
    out
}

#[test]
fn smoothing_t1_follows_a_square_wave_and_t500_flattens_it() {
    let fast = square_wave(1.0, 240);
    // On: 100 kB/s; off: 0. With t = 1 the value is within 5 % of the wave 5 s after each edge.
    for (i, v) in fast.iter().enumerate() {
        let phase = i % 60;
        if (5..30).contains(&phase) {
            assert!((v - 100_000.0).abs() < 5_000.0, "t=1 on at {i}: {v}");
        } else if (35..60).contains(&phase) {
            assert!(*v < 1_000.0, "t=1 off at {i}: {v}");
        }
    }
    // t = 500, after 6 t: the value sits at the wave's mean (50 kB/s) with a ripple of a few
    // percent of the wave's 100 kB/s swing.
    let slow = square_wave(500.0, 3000);
    let (lo, hi) = slow
        .iter()
        .fold((f64::MAX, 0.0f64), |(l, h), v| (l.min(*v), h.max(*v)));
    assert!(hi - lo < 5_000.0, "t=500 ripple {lo}..{hi}");
    assert!(
        ((lo + hi) / 2.0 - 50_000.0).abs() < 2_500.0,
        "t=500 level {lo}..{hi}"
    );
}

#[test]
fn steady_rate_converges_and_keys_expire_when_idle() {
    let mut e = Engine::default();
    e.set_flow(
        "f",
        &json!({"keys":"udpdestinationport","value":"frames","t":2}),
    )
    .unwrap();
    let frame = udp_frame([10, 0, 0, 1], [10, 0, 0, 2], 53, 100);
    for ms in (0..20_000u64).step_by(10) {
        e.add_packet(ms, agent(AGENT), LinkType::Ethernet, &frame, 100);
    }
    let v = top(&e, 20_000, "f");
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].0, "53");
    assert!((v[0].1 - 100.0).abs() < 1.0, "{v:?}");
    assert_eq!(e.active_keys(), 1);
    // Idle for 5 t = 10 s: removed.
    e.tick(31_000);
    assert_eq!(e.active_keys(), 0);
    assert!(top(&e, 31_000, "f").is_empty());
    assert_eq!(e.stats().keys_expired, 1);
}

#[test]
fn filter_and_missing_keys_skip_samples() {
    let mut e = Engine::default();
    e.set_flow("tcp", &json!({"keys":"tcpsourceport","value":"frames"}))
        .unwrap();
    e.set_flow("all", &json!({"value":"frames"})).unwrap();
    let frame = udp_frame([10, 0, 0, 1], [10, 0, 0, 2], 53, 100);
    e.add_packet(0, agent(AGENT), LinkType::Ethernet, &frame, 100);
    assert!(top(&e, 0, "tcp").is_empty());
    // A definition without keys is one total with an empty key.
    assert_eq!(top(&e, 0, "all").len(), 1);
    assert_eq!(top(&e, 0, "all")[0].0, "");
}

#[test]
fn by_flow_threshold_fires_once_per_key_and_rearms_after_timeout() {
    let mut e = Engine::default();
    e.set_flow("ddos", &json!({"keys":"ipsource","value":"frames","t":2}))
        .unwrap();
    e.set_threshold(
        "ddos",
        &json!({"metric":"ddos","value":1000,"byFlow":true,"timeout":5}),
    )
    .unwrap();
    let a = udp_frame([203, 0, 113, 1], [10, 0, 0, 2], 80, 64);
    let b = udp_frame([203, 0, 113, 2], [10, 0, 0, 2], 80, 64);
    // 2000 pps from each source for 10 s.
    for ms in 0..10_000u64 {
        for _ in 0..2 {
            e.add_packet(ms, agent(AGENT), LinkType::Ethernet, &a, 64);
            e.add_packet(ms, agent(AGENT), LinkType::Ethernet, &b, 64);
        }
        if ms % 1000 == 999 {
            e.tick(ms);
        }
    }
    let ev = e.events(0, &[], 100);
    assert_eq!(ev.len(), 2, "{ev:?}");
    let mut keys: Vec<_> = ev.iter().map(|x| x.flow_key.clone().unwrap()).collect();
    keys.sort();
    assert_eq!(keys, ["203.0.113.1", "203.0.113.2"]);
    // 1000 pps is reached with t = 2 after t·ln2 ≈ 1.39 s.
    assert!(
        ev.iter().all(|x| (1300..1500).contains(&x.timestamp_ms)),
        "{ev:?}"
    );
    assert!(e
        .threshold_triggered("ddos", agent(AGENT), 0, Some("203.0.113.1"))
        .unwrap());
    // Silence: the value falls below 1000 after ~1.4 s, then 5 s re-arm.
    let mut rearmed_at = None;
    for s in 10..30u64 {
        e.tick(s * 1000);
        if rearmed_at.is_none()
            && !e
                .threshold_triggered("ddos", agent(AGENT), 0, Some("203.0.113.1"))
                .unwrap()
        {
            rearmed_at = Some(s);
        }
    }
    let r = rearmed_at.expect("re-armed");
    assert!((16..=18).contains(&r), "re-armed at {r} s");
    // A new flood fires again.
    for ms in 30_000..33_000u64 {
        e.add_packet(ms, agent(AGENT), LinkType::Ethernet, &a, 64);
        e.add_packet(ms, agent(AGENT), LinkType::Ethernet, &a, 64);
    }
    assert_eq!(e.events(0, &[], 100).len(), 3);
}

#[test]
fn threshold_without_by_flow_fires_once_per_data_source() {
    let mut e = Engine::default();
    e.set_flow("src", &json!({"keys":"ipsource","value":"frames","t":1}))
        .unwrap();
    e.set_threshold("t", &json!({"metric":"src","value":100}))
        .unwrap();
    for i in 1..=5u8 {
        let f = udp_frame([203, 0, 113, i], [10, 0, 0, 2], 80, 64);
        for ms in 0..3000u64 {
            e.add_packet(ms, agent(AGENT), LinkType::Ethernet, &f, 64);
        }
    }
    assert_eq!(e.events(0, &[], 100).len(), 1);
}

#[test]
fn aggregation_max_and_sum_over_agents() {
    let mut e = Engine::default();
    e.set_flow("f", &json!({"keys":"ipdestination","value":"frames","t":1}))
        .unwrap();
    let f = udp_frame([10, 0, 0, 1], [10, 0, 0, 2], 80, 64);
    for ms in 0..10_000u64 {
        e.add_packet(ms, agent([192, 0, 2, 1]), LinkType::Ethernet, &f, 64); // 1000 pps
        if ms % 2 == 0 {
            e.add_packet(ms, agent([192, 0, 2, 2]), LinkType::Ethernet, &f, 64);
            // 500 pps
        }
    }
    let max = e
        .active_flows(
            10_000,
            &FlowQuery {
                max_flows: 10,
                ..FlowQuery::new(&AgentSel::All, "f")
            },
        )
        .unwrap();
    let sum = e
        .active_flows(
            10_000,
            &FlowQuery {
                max_flows: 10,
                agg: AggMode::Sum,
                ..FlowQuery::new(&AgentSel::All, "f")
            },
        )
        .unwrap();
    assert!((max[0].value - 1000.0).abs() < 5.0, "{max:?}");
    assert_eq!(max[0].agent, agent([192, 0, 2, 1]));
    assert!((sum[0].value - 1500.0).abs() < 8.0, "{sum:?}");
    let one = e
        .active_flows(
            10_000,
            &FlowQuery {
                max_flows: 10,
                ..FlowQuery::new(&AgentSel::parse("192.0.2.2").unwrap(), "f")
            },
        )
        .unwrap();
    assert!((one[0].value - 500.0).abs() < 5.0, "{one:?}");
    // minValue trims.
    assert!(e
        .active_flows(
            10_000,
            &FlowQuery {
                max_flows: 10,
                min_value: 2000.0,
                agg: AggMode::Sum,
                ..FlowQuery::new(&AgentSel::All, "f")
            }
        )
        .unwrap()
        .is_empty());
    // Unsampled packets: the confidence interval is exact.
    assert_eq!(max[0].ci95, 0.0);
    assert!(max[0].samples > 900.0, "{max:?}");
}

#[test]
fn flow_start_logging_and_active_timeout() {
    let mut e = Engine::default();
    e.set_flow(
        "start",
        &json!({"keys":"ipsource","value":"frames","log":true,"flowStart":true}),
    )
    .unwrap();
    e.set_flow(
        "end",
        &json!({"keys":"ipsource","value":"bytes","log":true,"activeTimeout":10}),
    )
    .unwrap();
    let f = udp_frame([10, 0, 0, 7], [10, 0, 0, 2], 80, 100);
    for ms in (0..25_000u64).step_by(100) {
        e.add_packet(ms, agent(AGENT), LinkType::Ethernet, &f, 100);
        if ms % 1000 == 0 {
            e.tick(ms);
        }
    }
    let starts = e.logged_flows(0, Some("start"), 100);
    assert_eq!(starts.len(), 1);
    assert_eq!(starts[0].flow_keys, "10.0.0.7");
    assert_eq!(starts[0].start_ms, 0);
    // activeTimeout 10 s: records at 10 s and 20 s, each with 100 packets × 100 bytes.
    let ends = e.logged_flows(0, Some("end"), 100);
    assert_eq!(ends.len(), 2, "{ends:?}");
    assert!(
        ends.iter().all(|f| (f.value - 10_000.0).abs() <= 100.0),
        "{ends:?}"
    );
    // Idle end: the rest of the flow is logged when it expires.
    e.tick(40_000);
    let ends = e.logged_flows(0, Some("end"), 100);
    assert_eq!(ends.len(), 3);
    let total: f64 = ends.iter().map(|f| f.value).sum();
    assert_eq!(total, 250.0 * 100.0);
    // Long-poll ids: newest first, only after the given id.
    let last = e.last_flow_id();
    assert!(e.logged_flows(last, None, 100).is_empty());
    assert_eq!(e.logged_flows(last - 1, None, 100).len(), 1);
}

#[test]
fn values_count_avg_max() {
    let mut e = Engine::default();
    e.set_flow(
        "d",
        &json!({"keys":"ipdestination","value":"frames","values":["count:ipsource","avg:ipbytes","max:ipbytes"],"t":2}),
    )
    .unwrap();
    for i in 0..50u8 {
        let f = udp_frame([203, 0, 113, i], [10, 0, 0, 2], 53, 100 + usize::from(i));
        e.add_packet(
            1000 + u64::from(i),
            agent(AGENT),
            LinkType::Ethernet,
            &f,
            100,
        );
    }
    let a = &e
        .active_flows(
            1100,
            &FlowQuery {
                max_flows: 10,
                ..FlowQuery::new(&AgentSel::All, "d")
            },
        )
        .unwrap()[0];
    assert_eq!(a.values[0], 50.0);
    // ipbytes = frame length - 14: 86..135, mean 110.5.
    assert!((a.values[1] - 110.5).abs() < 0.2, "{a:?}");
    assert_eq!(a.values[2], 135.0);
    // Sources seen more than max(t,1) s ago no longer count.
    assert_eq!(
        e.active_flows(
            3200,
            &FlowQuery {
                max_flows: 10,
                ..FlowQuery::new(&AgentSel::All, "d")
            }
        )
        .unwrap()[0]
            .values[0],
        0.0
    );
}

#[test]
fn table_cap_evicts_the_smaller_half_and_counts_it() {
    let mut e = Engine::new(flowlens_engine::Limits {
        max_keys_per_table: 100,
        ..Default::default()
    });
    e.set_flow("f", &json!({"keys":"ipsource","value":"frames"}))
        .unwrap();
    // One heavy hitter, then 1000 one-packet sources.
    let heavy = udp_frame([10, 9, 9, 9], [10, 0, 0, 2], 80, 64);
    for _ in 0..1000 {
        e.add_packet(0, agent(AGENT), LinkType::Ethernet, &heavy, 64);
    }
    for i in 0..1000u32 {
        let b = i.to_be_bytes();
        let f = udp_frame([10, b[1], b[2], b[3]], [10, 0, 0, 2], 80, 64);
        e.add_packet(1, agent(AGENT), LinkType::Ethernet, &f, 64);
    }
    assert!(e.active_keys() <= 100);
    assert!(e.stats().keys_evicted >= 900);
    assert_eq!(top(&e, 2, "f")[0].0, "10.9.9.9");
}

/// Keys spread over many data sources reach the global active-key cap before any table is
/// full: new keys must still get in (the smallest are evicted, counted), the heavy hitter
/// must stay, and a key that arrives after the flood must be answered (issue 17 item 6).
#[test]
fn the_active_key_cap_evicts_the_smallest_keys_instead_of_refusing_new_ones() {
    let mut e = Engine::new(flowlens_engine::Limits {
        max_active_keys: 1_000,
        ..Default::default()
    });
    e.set_flow("f", &json!({"keys":"ipsource","value":"frames"}))
        .unwrap();
    let heavy = udp_frame([10, 9, 9, 9], [10, 0, 0, 2], 80, 64);
    let ds0 = flowlens_engine::DataSource::new(agent(AGENT), 0, 1);
    for _ in 0..1000 {
        e.add_sampled_packet(0, ds0, 1, LinkType::Ethernet, &heavy, 64);
    }
    // 5,000 one-packet sources over 1,000 data sources: 5 keys per table, far below the
    // per-table cap of 100,000.
    for i in 0..5_000u32 {
        let b = i.to_be_bytes();
        let f = udp_frame([10, 1, b[2], b[3]], [10, 0, 0, 2], 80, 64);
        let ds = flowlens_engine::DataSource::new(agent(AGENT), 0, 100 + i % 1_000);
        e.add_sampled_packet(1, ds, 1, LinkType::Ethernet, &f, 64);
    }
    let late = udp_frame([10, 7, 7, 7], [10, 0, 0, 2], 80, 64);
    for _ in 0..10 {
        e.add_sampled_packet(2, ds0, 1, LinkType::Ethernet, &late, 64);
    }
    let st = e.stats();
    assert!(e.active_keys() <= 1_000, "{}", e.active_keys());
    assert!(st.keys_evicted >= 4_000, "{st:?}");
    // Only the new keys of the samples that hit the cap are refused.
    assert!(st.keys_refused <= st.keys_evicted / 100, "{st:?}");
    let t = top(&e, 3, "f");
    assert_eq!(t[0].0, "10.9.9.9", "{:?}", &t[..3]);
    assert_eq!(t[1].0, "10.7.7.7", "{:?}", &t[..3]);
}

/// A deterministic xorshift generator for sampling decisions.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn sampled_estimates_scale_by_rate_and_the_95_percent_interval_covers_the_truth() {
    // 10,000 packets/s for 300 s, sizes 64..1500 bytes cycling, sampled 1-in-100 at random.
    let mut e = Engine::default();
    e.set_flow("f", &json!({"keys":"ipdestination","value":"frames","t":2}))
        .unwrap();
    e.set_flow("b", &json!({"keys":"ipdestination","value":"bytes","t":2}))
        .unwrap();
    let ds = flowlens_engine::DataSource::new(agent(AGENT), 0, 7);
    let frames: Vec<Vec<u8>> = (0..16)
        .map(|i| udp_frame([10, 0, 0, 1], [10, 0, 0, 2], 80, 64 + i * 95))
        .collect();
    let mean_len: f64 = frames.iter().map(|f| f.len() as f64).sum::<f64>() / frames.len() as f64;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut checks, mut covered_f, mut covered_b) = (0, 0, 0);
    for us in (0..300_000_000u64).step_by(100) {
        let i = (us / 100) as usize % frames.len();
        if rng.next() % 100 == 0 {
            let f = &frames[i];
            e.add_sampled_packet(us / 1000, ds, 100, LinkType::Ethernet, f, f.len() as u32);
        }
        if us % 1_000_000 == 0 && us >= 20_000_000 {
            let now = us / 1000;
            let get = |name: &str| {
                e.active_flows(
                    now,
                    &FlowQuery {
                        max_flows: 1,
                        ..FlowQuery::new(&AgentSel::All, name)
                    },
                )
                .unwrap()
                .remove(0)
            };
            let (f, b) = (get("f"), get("b"));
            checks += 1;
            if (f.value - 10_000.0).abs() <= f.ci95 {
                covered_f += 1;
            }
            if (b.value - 10_000.0 * mean_len).abs() <= b.ci95 {
                covered_b += 1;
            }
            // About 200 samples in the window: the interval is about ±14 %.
            assert!(f.samples > 150.0 && f.samples < 260.0, "{f:?}");
            assert!(f.ci95 > 0.08 * 10_000.0 && f.ci95 < 0.2 * 10_000.0, "{f:?}");
        }
    }
    let (cf, cb) = (
        covered_f as f64 / checks as f64,
        covered_b as f64 / checks as f64,
    );
    println!("coverage: frames {cf:.3}, bytes {cb:.3} over {checks} readings");
    // Readings a second apart are correlated (t = 2 s), so allow a wide band around 95 %.
    assert!(
        (0.88..=0.99).contains(&cf),
        "frames coverage {cf} over {checks}"
    );
    assert!(
        (0.88..=0.99).contains(&cb),
        "bytes coverage {cb} over {checks}"
    );
}

#[test]
fn agg_mode_agent_definition_keeps_one_table_per_agent() {
    let mut e = Engine::default();
    e.set_flow(
        "ds",
        &json!({"keys":"ipdestination","value":"frames","t":1}),
    )
    .unwrap();
    e.set_flow(
        "ag",
        &json!({"keys":"ipdestination","value":"frames","t":1,"aggMode":"agent"}),
    )
    .unwrap();
    let f = udp_frame([10, 0, 0, 1], [10, 0, 0, 2], 80, 64);
    // The same agent, two interfaces, 300 and 200 packets/s.
    for ms in 0..10_000u64 {
        for (port, every) in [(1u32, 3u64), (2, 2)] {
            if ms % 10 < every {
                let ds = flowlens_engine::DataSource::new(agent(AGENT), 0, port);
                e.add_sampled_packet(ms, ds, 1, LinkType::Ethernet, &f, 64);
            }
        }
    }
    let per_ds = e
        .active_flows(
            10_000,
            &FlowQuery {
                max_flows: 10,
                ..FlowQuery::new(&AgentSel::All, "ds")
            },
        )
        .unwrap();
    let per_agent = e
        .active_flows(
            10_000,
            &FlowQuery {
                max_flows: 10,
                ..FlowQuery::new(&AgentSel::All, "ag")
            },
        )
        .unwrap();
    assert!((per_ds[0].value - 300.0).abs() < 3.0, "{per_ds:?}");
    assert_eq!(per_ds[0].data_source, "1");
    assert!((per_agent[0].value - 500.0).abs() < 5.0, "{per_agent:?}");
    assert_eq!(per_agent[0].data_source, "agent");
    assert_eq!(e.flow_data_sources("ag").unwrap().len(), 1);
    assert_eq!(e.flow_data_sources("ds").unwrap().len(), 2);
}

#[test]
fn flow_threshold_filter_selects_agents() {
    let mut e = Engine::default();
    e.set_flow("f", &json!({"keys":"ipsource","value":"frames","t":1}))
        .unwrap();
    e.set_threshold(
        "only2",
        &json!({"metric":"f","value":100,"byFlow":true,"filter":{"agent":["192.0.2.2"]}}),
    )
    .unwrap();
    let f = udp_frame([10, 0, 0, 1], [10, 0, 0, 2], 80, 64);
    for ms in 0..3000u64 {
        e.add_packet(ms, agent([192, 0, 2, 1]), LinkType::Ethernet, &f, 64);
        e.add_packet(ms, agent([192, 0, 2, 2]), LinkType::Ethernet, &f, 64);
    }
    let ev = e.events(0, &[], 10);
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(ev[0].agent, "192.0.2.2");
    assert_eq!(ev[0].data_source, "0");
    assert_eq!(ev[0].flow_key.as_deref(), Some("10.0.0.1"));
}

#[test]
fn flow_keys_are_listed_without_any_definition() {
    let mut e = Engine::default();
    let f = udp_frame([10, 0, 0, 1], [10, 0, 0, 2], 53, 64);
    for ms in 0..200u64 {
        e.add_packet(ms, agent(AGENT), LinkType::Ethernet, &f, 64);
    }
    let keys = e.flow_keys(1000);
    let names: Vec<&str> = keys.iter().map(|(k, _)| k.as_str()).collect();
    for k in [
        "agent",
        "ipsource",
        "udpdestinationport",
        "stack",
        "bytes",
        "ipdontfragment",
    ] {
        assert!(names.contains(&k), "{k} in {names:?}");
    }
    assert!(keys.iter().all(|(_, age)| *age <= 1000));
}

#[test]
fn distinct_count_saturates_at_its_cap() {
    let mut e = Engine::default();
    e.set_flow(
        "d",
        &json!({"keys":"ipdestination","value":"frames","values":["count:ipsource"]}),
    )
    .unwrap();
    for i in 0..1000u32 {
        let b = i.to_be_bytes();
        let f = udp_frame([10, 1, b[2], b[3]], [10, 0, 0, 2], 80, 64);
        e.add_packet(1000, agent(AGENT), LinkType::Ethernet, &f, 64);
    }
    let a = &e
        .active_flows(
            1000,
            &FlowQuery {
                max_flows: 1,
                ..FlowQuery::new(&AgentSel::All, "d")
            },
        )
        .unwrap()[0];
    assert_eq!(
        a.values[0],
        flowlens_engine::definition::MAX_DISTINCT as f64
    );
}

#[test]
fn flow_as_metric_with_top_keys_per_data_source() {
    let mut e = Engine::default();
    e.set_flow(
        "f",
        &json!({"keys":"ipsource","value":"frames","t":1,"n":5}),
    )
    .unwrap();
    for i in 1..=8u8 {
        let f = udp_frame([10, 0, 0, i], [10, 0, 0, 100], 80, 64);
        for ms in 0..5000u64 {
            if ms % u64::from(i) == 0 {
                e.add_packet(ms, agent(AGENT), LinkType::Ethernet, &f, 64);
            }
        }
    }
    let m = e.flow_metric(5000, &AgentSel::All, "f").unwrap();
    assert_eq!(m.len(), 1);
    let top = m[0]["topKeys"].as_array().unwrap();
    // n = 5 largest of 8 sources: 1000/s, 500/s, 333/s, 250/s, 200/s.
    assert_eq!(top.len(), 5);
    assert_eq!(top[0]["key"], "10.0.0.1");
    assert_eq!(top[4]["key"], "10.0.0.5");
    let total = m[0]["metricValue"].as_f64().unwrap();
    let expect: f64 = (1..=8).map(|i| 1000.0 / f64::from(i)).sum();
    assert!(
        (total - expect).abs() < 0.02 * expect,
        "{total} vs {expect}"
    );
    assert_eq!(m[0]["dataSource"], "0");
    let e = e
        .flow_metric(5000, &AgentSel::All, "nope")
        .expect_err("refused");
    assert_eq!(e.to_string(), "flow `nope` not found");
}

/// A key as large at two agents is reported at the first (in address order), and a flow
/// metric's equal data sources come in that order, whatever the hash maps' seeds: every
/// engine below has fresh ones.
#[test]
fn ties_between_data_sources_do_not_depend_on_hash_seeds() {
    let f = udp_frame([10, 0, 0, 1], [10, 0, 0, 2], 80, 64);
    let agents = [
        [192, 0, 2, 9],
        [192, 0, 2, 3],
        [192, 0, 2, 7],
        [192, 0, 2, 5],
    ];
    for _ in 0..20 {
        let mut e = Engine::default();
        e.set_flow("f", &json!({"keys":"ipdestination","value":"frames","t":1}))
            .unwrap();
        for ms in 0..1000u64 {
            for a in agents {
                e.add_packet(ms, agent(a), LinkType::Ethernet, &f, 64);
            }
        }
        let max = e
            .active_flows(1000, &FlowQuery::new(&AgentSel::All, "f"))
            .unwrap();
        assert_eq!(max.len(), 1);
        assert_eq!(max[0].agent, agent([192, 0, 2, 3]), "{max:?}");
        let m = e.flow_metric(1000, &AgentSel::All, "f").unwrap();
        let order: Vec<&str> = m.iter().map(|r| r["agent"].as_str().unwrap()).collect();
        assert_eq!(
            order,
            ["192.0.2.3", "192.0.2.5", "192.0.2.7", "192.0.2.9"],
            "{m:?}"
        );
    }
}

/// Keys are stored typed, but answers sort equal values by the keys' texts (`10.0.0.10`
/// before `10.0.0.2`), also for the keys that tie at the `maxFlows` cut; and a key whose
/// text cannot be split at the separator (`fs` `.` inside addresses) is still found by
/// its text, as are the numbers and names of a key given as text. `mask:` and `bits:`
/// values, stored without text, are found by their text too.
#[test]
fn typed_keys_answer_by_text() {
    let mut e = Engine::default();
    e.set_flow(
        "nets",
        &json!({"keys":"mask:ipsource:24,bits:udpdestinationport:65520","value":"frames","t":1}),
    )
    .unwrap();
    e.set_flow("src", &json!({"keys":"ipsource","value":"frames","t":1}))
        .unwrap();
    e.set_flow(
        "dotted",
        &json!({"keys":"ipsource,udpdestinationport,ipdestination","value":"frames","t":1,"fs":"."}),
    )
    .unwrap();
    for ms in 0..100u64 {
        for i in 1..=30u8 {
            let f = udp_frame([10, 0, 0, i], [10, 0, 0, 200], 53, 64);
            e.add_packet(ms, agent(AGENT), LinkType::Ethernet, &f, 64);
        }
    }
    let top5 = e
        .active_flows(
            100,
            &FlowQuery {
                max_flows: 5,
                ..FlowQuery::new(&AgentSel::All, "src")
            },
        )
        .unwrap();
    let keys: Vec<&str> = top5.iter().map(|a| a.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "10.0.0.1",
            "10.0.0.10",
            "10.0.0.11",
            "10.0.0.12",
            "10.0.0.13"
        ]
    );
    let all = top(&e, 100, "dotted");
    assert_eq!(all.len(), 30);
    assert_eq!(all[0].0, "10.0.0.1.53.10.0.0.200");
    let v = e
        .flow_value(
            100,
            &AgentSel::All,
            None,
            "dotted",
            "10.0.0.7.53.10.0.0.200",
        )
        .unwrap();
    assert!(v.is_some_and(|v| (v - all[0].1).abs() < 1e-9), "{v:?}");
    assert_eq!(
        e.flow_value(
            100,
            &AgentSel::All,
            None,
            "dotted",
            "10.0.0.7.54.10.0.0.200"
        )
        .unwrap(),
        None
    );
    let nets = top(&e, 100, "nets");
    assert_eq!(nets.len(), 1, "{nets:?}");
    assert_eq!(nets[0].0, "10.0.0.0,48");
    let v = e
        .flow_value(100, &AgentSel::All, None, "nets", "10.0.0.0,48")
        .unwrap();
    assert!(v.is_some_and(|v| (v - nets[0].1).abs() < 1e-9), "{v:?}");
    let at = e
        .flow_locations(100, &AgentSel::All, "src", "10.0.0.30")
        .unwrap();
    assert_eq!(at.len(), 1);
    assert!(e
        .flow_locations(100, &AgentSel::All, "src", "010.0.0.30")
        .unwrap()
        .is_empty());
}
