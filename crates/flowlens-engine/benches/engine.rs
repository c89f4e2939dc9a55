//! Flow-engine throughput, memory per active key and query latency.
//!
//! Input: every sFlow v5 datagram of `../shared/data/sflow/*.pcap` and
//! `../shared/data/exporters/sflow-*.pcap` (Open vSwitch, pmacct, akvorado and tcpdump
//! captures), loaded once as UDP payloads.
//!
//! - `engine/defs-N` (N = 0, 1, 3, 10): per iteration, parse every datagram and feed it to one
//!   [`Engine`] with `add_sflow`, with a virtual clock advancing 1 ms per datagram and a
//!   `tick` once per virtual second, as a collector would. Throughput is in flow samples
//!   (`Throughput::Elements`). With 0 definitions the engine only counts flow samples (it
//!   does not decode their records) and still decodes counter samples: that is the baseline
//!   of datagram decoding. The definitions are listed in [`DEFS`].
//! - `engine/walk-only`: the same datagrams decoded the way the engine does before
//!   aggregation (every record, every sampled header walked, every flow key visited) without
//!   an engine: the decode share of the `defs-N` figures.
//! - `shards/shards-N` (N = 1, 2, 4): the `defs-3` engine split into N shards
//!   ([`Engine::set_shards`]), fed batches of 64 datagrams ([`Engine::add_sflow_batch`],
//!   1 ms apart per datagram as above) through a [`Fork`] that runs shard 0 on the calling
//!   thread and the others on a rayon pool of N − 1 threads: the binary's own
//!   (`crates/flowlens/src/shards.rs`). The datagrams are already received, and are those
//!   of 8 agents sending at once ([`fabric`]); throughput in flow samples.
//! - `netflow/defs-N` (N = 0, 3): every NetFlow v9 and IPFIX datagram of
//!   `exporters/netflow9-softflowd.pcap` and `exporters/ipfix-softflowd.pcap` through
//!   [`Collector::handle_datagram`] (templates cached by a first pass), with the first N
//!   definitions; throughput in flow records.
//! - `query/active_flows-100k`: `active_flows(…, maxFlows = 100, agg = sum)` on one definition
//!   (`ipsource,ipdestination` / `bytes`) holding 100,000 active keys, per query.
//! - Memory (printed, not a criterion figure): live heap bytes per active key of that same
//!   engine, from a counting global allocator ([`cap::Cap`] around [`System`]; it counts
//!   requested bytes, not the allocator's own overhead) and, as a cross-check that includes
//!   that overhead, the growth of the process's resident set (`/proc/self/statm`). The keys
//!   are inserted with `add_packet` from synthetic Ethernet/IPv4/UDP frames with distinct
//!   source addresses; the figure is printed just after the key table doubled (57,345 keys,
//!   the worst case per key) and at 100,000 keys (`memory/bytes-per-key …` lines).
//!
//! The counting allocator comes from a dev-dependency because the workspace *forbids*
//! `unsafe_code`, which an `#![allow]` here cannot lower (E0453), and a `GlobalAlloc` impl
//! needs `unsafe`. It wraps every allocation of the binary, so it adds two atomic operations
//! to each allocation in the throughput figures too; the engine's per-sample path is meant
//! not to allocate.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs // criterion_group! generates undocumented items
)]

use std::alloc::System;
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use cap::Cap;
use criterion::{criterion_group, Criterion, Throughput};
use flowlens_engine::{AgentSel, AggMode, Collector, Engine, FlowQuery, Fork, Limits, Shard};
use flowlens_netflow::NetflowSession;
use flowlens_wire::packet::{walk, LinkType, WalkConfig};
use flowlens_wire::sflow::{Datagram, FlowData, Sample};
use flowlens_wire::{KeyVisitor, Value};
use pcap_parser::PcapCapture;
use serde_json::json;

/// Counts live heap bytes of the whole bench binary (no limit).
#[global_allocator]
static ALLOC: Cap<System> = Cap::new(System, usize::MAX);

/// Flow definitions as `(name, spec)`, in the order they are added: `defs-N` uses the first N.
///
/// 1. the pair of addresses, in bytes;
/// 2. sources of external ingress traffic (the filter of the issue, with legacy groups);
/// 3. the 5-tuple, in frames;
/// 4. to 10. a mix: distinct sources and mean IP size per destination (`values`), a group
///    key function, MAC pairs, protocols, filtered TCP ports, /24 masks, the interface
///    matrix.
const DEFS: &[(&str, &str)] = &[
    (
        "pair",
        r#"{"keys":"ipsource,ipdestination","value":"bytes"}"#,
    ),
    (
        "external",
        r#"{"keys":"ipsource","value":"frames",
            "filter":"outputifindex!=discard&direction=ingress&sourcegroup=external"}"#,
    ),
    (
        "tuple",
        r#"{"keys":"ipsource,ipdestination,ipprotocol,tcpsourceport,tcpdestinationport",
            "value":"frames"}"#,
    ),
    (
        "fanin",
        r#"{"keys":"ipdestination","value":"frames","values":["count:ipsource","avg:ipbytes"]}"#,
    ),
    (
        "sites",
        r#"{"keys":"group:ipsource:site,group:ipdestination:site","value":"bytes"}"#,
    ),
    (
        "macs",
        r#"{"keys":"macsource,macdestination","value":"bytes"}"#,
    ),
    ("proto", r#"{"keys":"ipprotocol","value":"frames"}"#),
    (
        "tcpports",
        r#"{"keys":"tcpdestinationport","value":"frames","filter":"ipprotocol=6"}"#,
    ),
    (
        "nets",
        r#"{"keys":"mask:ipsource:24,mask:ipdestination:24","value":"bytes"}"#,
    ),
    (
        "ifmatrix",
        r#"{"keys":"agent,inputifindex,outputifindex","value":"bytes"}"#,
    ),
];

/// Number of distinct keys in the memory and query benchmarks.
const KEYS: u32 = 100_000;

/// `../shared/data`, beside the repository.
fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
}

/// UDP payloads of the sFlow v5 datagrams in one capture.
fn sflow_payloads(path: &std::path::Path) -> Vec<Vec<u8>> {
    let bytes = std::fs::read(path)
        .unwrap_or_else(|e| panic!("{}: {e} (benchmarks need ../shared/data)", path.display()));
    let cap =
        PcapCapture::from_file(&bytes).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
    let link = LinkType::from_pcap(cap.header.network.0 as u32).expect("known link type");
    let cfg = WalkConfig::default();
    cap.blocks
        .iter()
        .filter_map(|b| {
            let w = walk(link, b.data, &cfg);
            let udp = w.outer_udp()?;
            flowlens_wire::sflow::is_sflow_v5(udp.payload).then(|| udp.payload.to_vec())
        })
        .collect()
}

/// All sFlow datagrams of the benchmark input, in file-name order.
fn all_sflow() -> Vec<Vec<u8>> {
    let mut files = Vec::new();
    for (dir, prefix) in [("sflow", ""), ("exporters", "sflow-")] {
        for e in std::fs::read_dir(data_dir().join(dir)).expect("data dir") {
            let p = e.expect("dir entry").path();
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if name.starts_with(prefix) && name.ends_with(".pcap") {
                files.push(p);
            }
        }
    }
    files.sort();
    files.iter().flat_map(|p| sflow_payloads(p)).collect()
}

/// Flow samples in the datagrams (what the throughput is counted in).
fn count_flow_samples(dgrams: &[Vec<u8>]) -> u64 {
    dgrams
        .iter()
        .filter_map(|d| Datagram::parse(d).ok())
        .map(|d| {
            d.samples()
                .map_while(Result::ok)
                .filter(|s| matches!(s, Sample::Flow(_)))
                .count() as u64
        })
        .sum()
}

/// An engine with the first `n` definitions of [`DEFS`] and the groups they use.
fn engine_with(n: usize) -> Engine {
    let mut e = Engine::new(Limits::default());
    e.set_legacy_groups(&json!({"external":["0.0.0.0/0"],"internal":["10.0.0.2/32"]}))
        .expect("legacy groups");
    e.set_groups(
        "site",
        &json!({"lab":["10.0.0.0/8","192.168.0.0/16"],"dc":["172.16.0.0/12"],
                "v6":["fe80::/10","2001:db8::/32"],"world":["0.0.0.0/0","::/0"]}),
    )
    .expect("site groups");
    for (name, spec) in &DEFS[..n] {
        let spec: serde_json::Value = serde_json::from_str(spec).expect("definition JSON");
        e.set_flow(name, &spec)
            .unwrap_or_else(|err| panic!("{name}: {err}"));
    }
    e
}

/// Feeds every datagram once, 1 ms apart from `*now_ms` on, ticking at each virtual second.
fn feed(engine: &mut Engine, dgrams: &[Vec<u8>], now_ms: &mut u64) {
    for d in dgrams {
        if let Ok(d) = Datagram::parse(black_box(d)) {
            engine.add_sflow(*now_ms, &d);
        }
        *now_ms += 1;
        if *now_ms % 1000 == 0 {
            engine.tick(*now_ms);
        }
    }
}

/// Touches every key value so decoding cannot be optimised away.
struct CountKeys(u64);

impl KeyVisitor for CountKeys {
    fn key(&mut self, name: &'static str, depth: u8, value: Value<'_>) {
        black_box((name, &value));
        self.0 += 1 + u64::from(depth);
    }
}

/// Decodes every flow sample's records and walks every sampled header, visiting its keys.
fn walk_only(dgrams: &[Vec<u8>], cfg: &WalkConfig) -> u64 {
    let mut keys = CountKeys(0);
    for d in dgrams {
        let Ok(d) = Datagram::parse(black_box(d)) else {
            continue;
        };
        for s in d.samples().map_while(Result::ok) {
            let Sample::Flow(fs) = s else { continue };
            for r in fs.records().map_while(Result::ok) {
                if let FlowData::SampledHeader(h) = &r.data {
                    if let Some(link) = LinkType::from_sflow_header_protocol(h.header_protocol()) {
                        walk(link, h.header(), cfg).visit_keys(&mut keys);
                    }
                }
            }
        }
    }
    keys.0
}

/// `engine/walk-only` and `engine/defs-{0,1,3,10}`, each over all datagrams per iteration.
fn bench_throughput(c: &mut Criterion) {
    let dgrams = all_sflow();
    let samples = count_flow_samples(&dgrams);
    eprintln!(
        "engine input: {} sFlow datagrams, {samples} flow samples",
        dgrams.len()
    );
    let mut g = c.benchmark_group("engine");
    g.throughput(Throughput::Elements(samples));
    let cfg = WalkConfig::default();
    g.bench_function("walk-only", |b| b.iter(|| walk_only(&dgrams, &cfg)));
    for n in [0, 1, 3, 10] {
        let mut engine = engine_with(n);
        let mut now_ms = 1_700_000_000_000u64;
        // One pass first so the bench measures a warm engine (keys exist, tables sized).
        feed(&mut engine, &dgrams, &mut now_ms);
        g.bench_function(format!("defs-{n}"), |b| {
            b.iter(|| feed(&mut engine, &dgrams, &mut now_ms))
        });
        let st = engine.stats();
        eprintln!(
            "defs-{n}: {} active keys, {} added, {} expired, {} evicted",
            engine.active_keys(),
            st.keys_added,
            st.keys_expired,
            st.keys_evicted
        );
    }
    g.finish();
}

/// Shard 0 on the calling thread, the others on a pool kept warm between batches:
/// `flowlens run`'s `Threads` (`crates/flowlens/src/shards.rs`).
struct Pool(
    Option<rayon::ThreadPool>,
    std::sync::Arc<std::sync::atomic::AtomicU64>,
);

impl Pool {
    /// For `shards` shards: a pool of `shards - 1` threads (none for 1).
    fn new(shards: usize) -> Pool {
        Pool(
            (shards > 1).then(|| {
                rayon::ThreadPoolBuilder::new()
                    .num_threads(shards - 1)
                    .build()
                    .expect("pool")
            }),
            std::sync::Arc::default(),
        )
    }
}

impl Fork for Pool {
    fn at_once(&self, shards: usize) -> bool {
        // One shard on the caller's thread, one on each pool thread; nothing else runs on
        // the pool but the keep-warm spins, which end as a batch starts.
        self.0
            .as_ref()
            .is_some_and(|p| p.current_num_threads() + 1 >= shards)
    }

    fn each(&self, shards: &mut [Shard], f: &(dyn Fn(&mut Shard) + Sync)) {
        let (Some(pool), Some((first, rest))) = (&self.0, shards.split_first_mut()) else {
            shards.iter_mut().for_each(f);
            return;
        };
        use std::sync::atomic::Ordering;
        let batch = self.1.fetch_add(1, Ordering::AcqRel) + 1;
        let done = std::sync::atomic::AtomicUsize::new(0);
        let others = rest.len();
        pool.in_place_scope(|scope| {
            for s in rest {
                let done = &done;
                scope.spawn(move |_| {
                    f(s);
                    done.fetch_add(1, Ordering::Release);
                });
            }
            f(first);
            let until = std::time::Instant::now() + std::time::Duration::from_micros(200);
            while done.load(Ordering::Acquire) < others && std::time::Instant::now() < until {
                std::hint::spin_loop();
            }
        });
        for _ in 0..pool.current_num_threads() {
            let batches = std::sync::Arc::clone(&self.1);
            pool.spawn(move || {
                let until = std::time::Instant::now() + std::time::Duration::from_micros(200);
                while batches.load(Ordering::Acquire) == batch && std::time::Instant::now() < until
                {
                    std::hint::spin_loop();
                }
            });
        }
    }
}

/// Datagrams per batch ([`feed_batches`]): `BENCH_BATCH`, default 64 (a `recvmmsg` batch of
/// `flowlens run`).
static BATCH: std::sync::LazyLock<usize> = std::sync::LazyLock::new(|| {
    std::env::var("BENCH_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
});

/// Feeds every datagram once in batches of [`BATCH`], as [`feed`] does one by one.
fn feed_batches(engine: &mut Engine, dgrams: &[Vec<u8>], now_ms: &mut u64, fork: &Pool) {
    let mut batch: Vec<(Option<IpAddr>, Datagram<'_>)> = Vec::with_capacity(*BATCH);
    for chunk in dgrams.chunks(*BATCH) {
        batch.clear();
        batch.extend(
            chunk
                .iter()
                .filter_map(|d| Datagram::parse(black_box(d)).ok())
                .map(|d| (None, d)),
        );
        engine.add_sflow_batch(*now_ms, &batch, fork);
        let before = *now_ms;
        *now_ms += chunk.len() as u64;
        if *now_ms / 1000 != before / 1000 {
            engine.tick_with(*now_ms, fork);
        }
    }
}

/// The datagrams as a fabric of `agents` switches would send them together: each datagram
/// `agents` times, from agents `10.255.k.1` (an IPv4 agent address rewritten; other
/// datagrams keep theirs), interleaved datagram by datagram. The captures each come from
/// one or two agents, one after the other; live, many agents' datagrams arrive mixed, and
/// that is what lets shards work at once.
fn fabric(dgrams: &[Vec<u8>], agents: u8) -> Vec<Vec<u8>> {
    let tagged = dgrams.iter().map(|d| ((), d.clone()));
    flowlens_testdata::fabric(tagged, agents, false)
        .into_iter()
        .map(|(_, d)| d)
        .collect()
}

/// `shards/shards-{1,2,4}`: the `defs-3` engine in N shards on N threads, over [`fabric`]
/// input of 8 agents.
fn bench_shards(c: &mut Criterion) {
    let dgrams = fabric(&all_sflow(), 8);
    let samples = count_flow_samples(&dgrams);
    let mut g = c.benchmark_group("shards");
    g.throughput(Throughput::Elements(samples));
    for n in [1, 2, 4] {
        let mut engine = engine_with(3);
        engine.set_shards(n);
        let pool = Pool::new(n);
        let mut now_ms = 1_700_000_000_000u64;
        feed_batches(&mut engine, &dgrams, &mut now_ms, &pool);
        g.bench_function(format!("shards-{n}"), |b| {
            b.iter(|| feed_batches(&mut engine, &dgrams, &mut now_ms, &pool))
        });
    }
    g.finish();
}

/// NetFlow/IPFIX datagrams of the softflowd exports, with their senders.
fn netflow_datagrams() -> Vec<(IpAddr, Vec<u8>)> {
    let cfg = WalkConfig::default();
    let mut out = Vec::new();
    for f in [
        "exporters/netflow9-softflowd.pcap",
        "exporters/ipfix-softflowd.pcap",
    ] {
        let bytes = std::fs::read(data_dir().join(f)).expect("capture");
        let cap = PcapCapture::from_file(&bytes).expect("pcap");
        let link = LinkType::from_pcap(cap.header.network.0 as u32).expect("known link type");
        for b in &cap.blocks {
            let w = walk(link, b.data, &cfg);
            if let Some(udp) = w.outer_udp() {
                out.push((udp.src_addr, udp.payload.to_vec()));
            }
        }
    }
    out
}

/// `netflow/defs-{0,3}`: NetFlow v9 and IPFIX records through the collector.
fn bench_netflow(c: &mut Criterion) {
    let dgrams = netflow_datagrams();
    let mut g = c.benchmark_group("netflow");
    for n in [0, 3] {
        let mut col = Collector::new(
            engine_with(n),
            NetflowSession::new(flowlens_netflow::Limits::default()).expect("session"),
        );
        let mut now_ms = 1_700_000_000_000u64;
        let pass = |col: &mut Collector, now_ms: &mut u64| {
            for (from, d) in &dgrams {
                col.handle_datagram(*now_ms, *from, black_box(d));
                *now_ms += 1;
                if *now_ms % 1000 == 0 {
                    col.tick(*now_ms);
                }
            }
        };
        pass(&mut col, &mut now_ms);
        let records = col.engine().stats().records;
        g.throughput(Throughput::Elements(records));
        g.bench_function(format!("defs-{n}"), |b| {
            b.iter(|| pass(&mut col, &mut now_ms))
        });
        eprintln!(
            "netflow/defs-{n}: {records} records per pass, {} active keys",
            col.engine().active_keys()
        );
    }
    g.finish();
}

/// An Ethernet/IPv4/UDP frame from 10.x.y.z (the 24 low bits of `i`) to 192.168.0.1.
fn frame(i: u32) -> [u8; 42] {
    let mut f = [0u8; 42];
    f[0..6].copy_from_slice(&[0x02, 0, 0, 0, 0, 1]);
    f[6..12].copy_from_slice(&[0x02, 0, 0, 0, 0, 2]);
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    let ip = &mut f[14..34];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&28u16.to_be_bytes());
    ip[8] = 64;
    ip[9] = 17;
    ip[12..16].copy_from_slice(&(0x0a00_0000 | (i & 0x00ff_ffff)).to_be_bytes());
    ip[16..20].copy_from_slice(&[192, 168, 0, 1]);
    f[34..36].copy_from_slice(&12345u16.to_be_bytes());
    f[36..38].copy_from_slice(&53u16.to_be_bytes());
    f[38..40].copy_from_slice(&8u16.to_be_bytes());
    f
}

/// Resident set size of this process, from `/proc/self/statm` (Linux; 0 elsewhere).
fn rss_bytes() -> usize {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<usize>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// `frame_len` of key `i`: spread over 64..=1,048,639 so values rarely tie (ties make the
/// top-N sort compare key strings, which real traffic seldom does).
fn frame_len(i: u32) -> u32 {
    64 + (i.wrapping_mul(2_654_435_761) >> 12)
}

/// Prints live heap and RSS growth per key since the baseline `(heap, rss, keys)`.
fn print_memory(e: &Engine, base: (usize, usize, usize)) {
    let keys = e.active_keys() - base.2;
    let heap = ALLOC.allocated() - base.0;
    let rss = rss_bytes().saturating_sub(base.1);
    println!(
        "memory/bytes-per-key at {} keys: {:.1} B live heap per active key ({heap} B for \
         {keys} keys); RSS growth {:.1} B per key",
        e.active_keys(),
        heap as f64 / keys as f64,
        rss as f64 / keys as f64,
    );
}

/// The query engine: `pair` with [`KEYS`] active keys at one data source, all at `now_ms`.
/// Prints the memory figures of building it: at 57,345 keys (just after the key table
/// doubled to 131,072 buckets, the worst case per key) and at [`KEYS`].
fn engine_with_keys(now_ms: u64) -> Engine {
    let limits = Limits {
        max_keys_per_table: 2 * KEYS as usize,
        ..Limits::default()
    };
    let agent = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    let mut e = Engine::new(limits);
    e.set_flow(
        "pair",
        &json!({"keys":"ipsource,ipdestination","value":"bytes"}),
    )
    .expect("definition");
    let frames: Vec<[u8; 42]> = (0..KEYS).map(frame).collect();
    // Baseline after the first key, so one-off state (the table of the data source, the
    // key buffer, seen-key names) is not charged to the keys.
    e.add_packet(now_ms, agent, LinkType::Ethernet, &frames[0], frame_len(0));
    let base = (ALLOC.allocated(), rss_bytes(), e.active_keys());
    for (i, f) in (1..).zip(&frames[1..]) {
        e.add_packet(now_ms, agent, LinkType::Ethernet, f, frame_len(i));
        if e.active_keys() == 57_345 {
            print_memory(&e, base);
        }
    }
    assert_eq!(e.active_keys(), KEYS as usize, "every frame a new key");
    print_memory(&e, base);
    e
}

/// `query/active_flows-100k`: top 100 of 100,000 keys, summed over data sources.
fn bench_query(c: &mut Criterion) {
    let now_ms = 1_700_000_000_000u64;
    let engine = engine_with_keys(now_ms);
    let all = AgentSel::All;
    let mut g = c.benchmark_group("query");
    g.bench_function("active_flows-100k", |b| {
        b.iter(|| {
            let top = engine
                .active_flows(
                    now_ms + 500,
                    &FlowQuery {
                        max_flows: 100,
                        agg: AggMode::Sum,
                        ..FlowQuery::new(&all, "pair")
                    },
                )
                .expect("query");
            assert_eq!(top.len(), 100);
            top
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    bench_throughput,
    bench_shards,
    bench_netflow,
    bench_query
);

/// `ENGINE_BENCH_PASSES=<what>:<n>` (`what`: `defs-0`, `defs-3`, `netflow-0`, `netflow-3`):
/// instead of criterion, feed the input `n` times after one warm-up pass and exit, for
/// counting instructions with `perf stat -e instructions:u` (run with n and with 0 and take
/// the difference): a measure a loaded machine does not disturb.
fn passes(spec: &str) {
    let (what, n) = spec.split_once(':').expect("<what>:<n>");
    let n: u32 = n.parse().expect("pass count");
    let mut now_ms = 1_700_000_000_000u64;
    if let Some(d) = what.strip_prefix("defs-") {
        let dgrams = all_sflow();
        let mut engine = engine_with(d.parse().expect("definition count"));
        for _ in 0..=n {
            feed(&mut engine, &dgrams, &mut now_ms);
        }
        eprintln!(
            "{what}: {} flow samples per pass",
            count_flow_samples(&dgrams)
        );
    } else if let Some(k) = what.strip_prefix("shards-") {
        let k: usize = k.parse().expect("shard count");
        let dgrams = fabric(&all_sflow(), 8);
        let mut engine = engine_with(3);
        engine.set_shards(k);
        let pool = Pool::new(k);
        for _ in 0..=n {
            feed_batches(&mut engine, &dgrams, &mut now_ms, &pool);
        }
    } else if let Some(d) = what.strip_prefix("netflow-") {
        let dgrams = netflow_datagrams();
        let mut col = Collector::new(
            engine_with(d.parse().expect("definition count")),
            NetflowSession::new(flowlens_netflow::Limits::default()).expect("session"),
        );
        for _ in 0..=n {
            for (from, d) in &dgrams {
                col.handle_datagram(now_ms, *from, black_box(d));
                now_ms += 1;
                if now_ms % 1000 == 0 {
                    col.tick(now_ms);
                }
            }
        }
        eprintln!("{what}: {} records", col.engine().stats().records);
    }
}

fn main() {
    if let Ok(spec) = std::env::var("ENGINE_BENCH_PASSES") {
        passes(&spec);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
