//! `flowlens run` fed by a real third-party exporter: pmacct's `pmacctd` replays the raw
//! capture `synthetic-traffic.pcap` (`pcap_savefile`) through its `sfprobe` (sFlow, 1-in-1) and
//! `nfprobe` (NetFlow v9, IPFIX) plugins into flowlens. `/activeflows` and `/flows` must agree
//! with the ground truth computed here from the capture itself. pmacctd must be installed
//! (`apt-get install -y pmacct`): the tests fail, never skip, without it.

use crate::run_support;

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pcap_parser::PcapCapture;
use run_support::{exporter_capture, temp_dir, Server};
use serde_json::Value as Json;

/// The smoothing time constant of the per-pair flows, seconds. `value × T` and the decayed
/// `samples` of a key are its total times `e^(-Δt/T)`, Δt the seconds since its samples
/// (0.98 after 10 s): the largest pair has 6 frames, so rounding gives the total exactly while
/// Δt < ~50 s. The whole test takes ~10 s.
const T: f64 = 600.0;

/// How long pmacctd may take to replay the capture (it takes ~5 s: 2 s start-up sleep, then
/// the replay, then the flush).
const PMACCT_WITHIN: Duration = Duration::from_secs(60);

/// The sFlow agent address pmacct's sfprobe is told to report.
const SFPROBE_AGENT: &str = "127.0.0.5";

/// (IPv6?, source, destination, protocol / next header).
type Pair = (bool, IpAddr, IpAddr, u8);

/// What the capture holds.
struct Truth {
    /// Frames.
    frames: u64,
    /// Frames per address pair and protocol.
    pairs: BTreeMap<Pair, u64>,
    /// Frames per (IPv6?, protocol).
    protocols: BTreeMap<(bool, u8), u64>,
    /// Distinct 5-tuples (what a NetFlow exporter makes one record of).
    five_tuples: usize,
    /// The pair of the capture's last frame.
    last: Option<Pair>,
}

impl Truth {
    /// Counts `synthetic-traffic.pcap` (Ethernet, optionally one 802.1Q tag, IPv4 or IPv6)
    /// with a decoder of its own, independent of flowlens's.
    fn read() -> Truth {
        let bytes = std::fs::read(exporter_capture("synthetic-traffic.pcap")).unwrap();
        let cap = PcapCapture::from_file(&bytes).unwrap();
        let mut t = Truth {
            frames: 0,
            pairs: BTreeMap::new(),
            protocols: BTreeMap::new(),
            five_tuples: 0,
            last: None,
        };
        let mut tuples = BTreeSet::new();
        for b in &cap.blocks {
            let f = b.data;
            let mut ethertype = u16::from_be_bytes([f[12], f[13]]);
            let mut off = 14;
            if ethertype == 0x8100 {
                ethertype = u16::from_be_bytes([f[16], f[17]]);
                off = 18;
            }
            let ip = &f[off..];
            let (v6, src, dst, proto, l4) = match ethertype {
                0x0800 => {
                    let ihl = usize::from(ip[0] & 0x0f) * 4;
                    let a: [u8; 4] = ip[12..16].try_into().unwrap();
                    let b: [u8; 4] = ip[16..20].try_into().unwrap();
                    (
                        false,
                        IpAddr::from(Ipv4Addr::from(a)),
                        IpAddr::from(Ipv4Addr::from(b)),
                        ip[9],
                        &ip[ihl..],
                    )
                }
                0x86dd => {
                    let a: [u8; 16] = ip[8..24].try_into().unwrap();
                    let b: [u8; 16] = ip[24..40].try_into().unwrap();
                    (
                        true,
                        IpAddr::from(Ipv6Addr::from(a)),
                        IpAddr::from(Ipv6Addr::from(b)),
                        ip[6],
                        &ip[40..],
                    )
                }
                e => panic!("synthetic-traffic.pcap: unexpected ethertype {e:#06x}"),
            };
            let ports = match proto {
                6 | 17 => (
                    u16::from_be_bytes([l4[0], l4[1]]),
                    u16::from_be_bytes([l4[2], l4[3]]),
                ),
                _ => (0, 0),
            };
            t.frames += 1;
            *t.pairs.entry((v6, src, dst, proto)).or_default() += 1;
            t.last = Some((v6, src, dst, proto));
            *t.protocols.entry((v6, proto)).or_default() += 1;
            tuples.insert((src, dst, proto, ports));
        }
        t.five_tuples = tuples.len();
        t
    }
}

/// The flowlens key of a pair: `src,dst,proto` as `/activeflows` joins it.
fn pair_key(p: &Pair) -> String {
    format!("{},{},{}", p.1, p.2, p.3)
}

/// A pmacctd started by the test, in its own process group (its plugins are children):
/// the whole group is killed when it is dropped before it exited.
struct Pmacctd {
    child: Option<Child>,
    log: std::path::PathBuf,
}

impl Pmacctd {
    /// Runs `pmacctd -f conf` in the foreground (`daemonize: false`); output to `log`.
    fn start(conf: &Path, log: &Path) -> Pmacctd {
        let out = std::fs::File::create(log).unwrap();
        let child = Command::new("pmacctd")
            .arg("-f")
            .arg(conf)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start pmacctd ({e}): install pmacct (apt-get install -y pmacct)")
            });
        Pmacctd {
            child: Some(child),
            log: log.to_path_buf(),
        }
    }

    /// Waits (polling, bounded by [`PMACCT_WITHIN`]) until pmacctd exits at the end of the
    /// savefile; fails the test when it does not or exits with an error. Returns its log.
    fn wait(mut self) -> String {
        let start = Instant::now();
        let child = self.child.as_mut().unwrap();
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            assert!(
                start.elapsed() < PMACCT_WITHIN,
                "pmacctd still running after {PMACCT_WITHIN:?}: {}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        self.child = None;
        let log = std::fs::read_to_string(&self.log).unwrap();
        // At the end of the savefile the plugin shuts down on its own ("Shutting down on user
        // request") and the core exits 0 ("OK, Exiting"), unless the plugin's exit reaches the
        // core first: then the core reports "connection lost" and exits 1 (a race in pmacct
        // 1.7.7, seen under load). Either way the plugin finished; the data checks decide.
        let clean = status.success() && log.contains("OK, Exiting");
        let plugin_first = status.code() == Some(1)
            && log.contains("Shutting down on user request")
            && log.contains("no more plugins active");
        assert!(clean || plugin_first, "pmacctd: {status}: {log}");
        assert!(!log.contains("ERROR"), "pmacctd: {log}");
        log
    }
}

impl Drop for Pmacctd {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // The group id is the leader's pid, not yet reaped, so it is still ours.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", c.id())])
                .status();
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Fails with a clear message when pmacctd is not installed.
fn require_pmacctd() {
    let out = Command::new("pmacctd")
        .arg("-V")
        .output()
        .unwrap_or_else(|e| {
            panic!("pmacctd is not installed ({e}): apt-get install -y pmacct (see .ci/run)")
        });
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("pmacctd"), "pmacctd -V: {text}");
}

/// Writes the pmacctd configuration (savefile replay, one plugin) and runs it to the end.
fn replay_with_pmacctd(dir: &Path, plugin_lines: &str) -> String {
    require_pmacctd();
    let savefile = exporter_capture("synthetic-traffic.pcap");
    let conf = dir.join("pmacctd.conf");
    std::fs::write(
        &conf,
        format!(
            "daemonize: false\npcap_savefile: {}\n{plugin_lines}",
            savefile.display()
        ),
    )
    .unwrap();
    Pmacctd::start(&conf, &dir.join("pmacctd.log")).wait()
}

/// Defines the flows: frames per pair (IPv4 and IPv6) and logged frames per protocol
/// (`ipprotocol` of IPv4 samples, `v6proto` of IPv6 ones: `ip6nexthdr` for sFlow's sampled
/// headers and NetFlow/IPFIX records alike, docs/flow-keys.md); the address filters keep
/// the families apart.
fn define_flows(server: &Server, v6proto: &str) {
    for (name, body) in [
        (
            "pair4",
            format!("{{keys:'ipsource,ipdestination,ipprotocol',value:'frames',t:{T}}}"),
        ),
        (
            "pair6",
            format!("{{keys:'ip6source,ip6destination,{v6proto}',value:'frames',t:{T}}}"),
        ),
        (
            "proto4",
            "{keys:'ipprotocol',value:'frames',filter:'ipsource!=null',log:true,activeTimeout:1}"
                .into(),
        ),
        (
            "proto6",
            format!(
                "{{keys:'{v6proto}',value:'frames',filter:'ip6source!=null',log:true,\
                 activeTimeout:1}}"
            ),
        ),
    ] {
        let r = server.put(&format!("/flow/{name}/json"), &body);
        assert_eq!(r.status, 204, "{name}: {}", r.body);
    }
}

/// `/activeflows` of both pair flows, summed over data sources: key → (value × T, samples).
fn active_pairs(server: &Server) -> BTreeMap<String, (f64, f64)> {
    let mut m = BTreeMap::new();
    for name in ["pair4", "pair6"] {
        let flows = server.get_json(&format!(
            "/activeflows/ALL/{name}/json?maxFlows=100000&aggMode=sum"
        ));
        for f in flows.as_array().unwrap() {
            let key = f["key"].as_str().unwrap().to_string();
            let v = f["value"].as_f64().unwrap() * T;
            let s = f["samples"].as_f64().unwrap();
            assert!(m.insert(key, (v, s)).is_none(), "{name}: key twice: {f}");
        }
    }
    m
}

/// Checks `/activeflows` against `expected` frames per pair key: the same keys, and per key
/// the rounded `value × T` and decayed sample count equal the frames.
fn check_active_flows(server: &Server, expected: &BTreeMap<String, u64>) {
    let got = active_pairs(server);
    let keys: BTreeSet<&String> = got.keys().collect();
    let want: BTreeSet<&String> = expected.keys().collect();
    assert_eq!(
        keys.len(),
        want.len(),
        "missing: {:?}; extra: {:?}",
        want.difference(&keys).take(5).collect::<Vec<_>>(),
        keys.difference(&want).take(5).collect::<Vec<_>>()
    );
    assert_eq!(keys, want);
    let mut wrong = Vec::new();
    for (k, (v, s)) in &got {
        let n = expected[k] as f64;
        // Decayed by at most a few seconds of t = 600 s: within 2 % below the total.
        if v.round() != n || s.round() != n || *v > n + 1e-6 || *s > n + 1e-3 {
            wrong.push((k, n, *v, *s));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} pairs differ (key, frames, value×T, samples): {:?}",
        wrong.len(),
        got.len(),
        &wrong[..wrong.len().min(10)]
    );
    // The ranking follows the totals: a pair with more frames is never below one with fewer.
    let mut order: Vec<(f64, u64)> = got.iter().map(|(k, (v, _))| (*v, expected[k])).collect();
    order.sort_by(|a, b| b.0.total_cmp(&a.0));
    assert!(
        order.windows(2).all(|w| w[0].1 >= w[1].1),
        "ranking differs from the capture's"
    );
}

/// Waits until `/flows/json` holds logged records of `proto4`/`proto6` summing to `total`
/// frames, then checks them per protocol against `expected` ((IPv6?, protocol) → frames).
fn check_logged_flows(server: &Server, agent: &str, expected: &BTreeMap<(bool, u8), u64>) {
    let total: u64 = expected.values().sum();
    let sum = |doc: &Json| -> f64 {
        doc.as_array()
            .unwrap()
            .iter()
            .map(|f| f["value"].as_f64().unwrap())
            .sum()
    };
    // Records are flushed at the server's once-a-second tick, activeTimeout (1 s) after their
    // first sample: poll until they are all there.
    let flows = server.wait_for("/flows/json?maxFlows=1000", |doc| {
        (sum(doc) - total as f64).abs() < 0.5
    });
    let mut got: BTreeMap<(bool, u8), f64> = BTreeMap::new();
    let mut ids = BTreeSet::new();
    for f in flows.as_array().unwrap() {
        assert!(ids.insert(f["flowID"].as_u64().unwrap()), "{f}");
        assert_eq!(f["agent"], agent, "{f}");
        let v6 = match f["name"].as_str().unwrap() {
            "proto4" => false,
            "proto6" => true,
            n => panic!("unexpected logged flow {n}: {f}"),
        };
        let proto: u8 = f["flowKeys"].as_str().unwrap().parse().unwrap();
        let v = f["value"].as_f64().unwrap();
        assert!(v > 0.0, "{f}");
        assert!(
            f["start"].as_u64().unwrap() <= f["end"].as_u64().unwrap(),
            "{f}"
        );
        *got.entry((v6, proto)).or_default() += v;
    }
    let got: BTreeMap<(bool, u8), u64> = got
        .into_iter()
        .map(|(k, v)| {
            assert!((v - v.round()).abs() < 1e-6, "{k:?}: {v}");
            (k, v.round() as u64)
        })
        .collect();
    assert_eq!(&got, expected, "logged frames per (IPv6?, protocol)");
}

#[test]
fn pmacctd_sfprobe_replaying_a_savefile() {
    let truth = Truth::read();
    assert_eq!(truth.frames, 9000);
    let dir = temp_dir("pmacct-sflow");
    let server = Server::start(&dir.join("state"));
    define_flows(&server, "ip6nexthdr");

    let log = replay_with_pmacctd(
        &dir,
        &format!(
            "plugins: sfprobe[sf]\nsfprobe_receiver[sf]: {}\nsfprobe_agentip[sf]: \
             {SFPROBE_AGENT}\nsampling_rate[sf]: 1\n",
            server.ports.sflow
        ),
    );
    assert!(log.contains("Sampling at: 1/1"), "{log}");

    // pmacct 1.7.7's sfprobe sends one sample fewer than the savefile's frames, every time:
    // the savefile's last frame is never sampled (its sequence numbers have no gap, so the
    // sample is pmacct's shortfall, not a loss on the way). Wait for that many, then check it
    // is exactly that many and that the missing frame is the last one.
    let samples = truth.frames - 1;
    let agents = server.wait_for("/agents/json", |g| {
        g[SFPROBE_AGENT]["sFlowFlowSamples"]
            .as_u64()
            .is_some_and(|n| n >= samples)
    });
    let a = &agents[SFPROBE_AGENT];
    assert_eq!(a["sFlowFlowSamples"], samples, "{a}");
    assert_eq!(a["sFlowDatagramsLost"], 0, "{a}");
    assert_eq!(a["sFlowFlowLostSamples"], 0, "{a}");
    assert_eq!(a["sFlowFlowDrops"], 0, "{a}");
    assert_eq!(a["sFlowDatagramsOutOfOrder"], 0, "{a}");
    assert_eq!(a["sFlowDatagramsDuplicates"], 0, "{a}");
    assert_eq!(a["sFlowDatagramSource"][0], "127.0.0.1", "{a}");
    assert_eq!(agents.as_object().unwrap().len(), 1, "{agents}");
    let an = server.get_json("/analyzer/json");
    assert_eq!(an["flowSamples"], samples, "{an}");
    assert_eq!(an["datagramsDropped"], 0, "{an}");
    assert_eq!(an["kernelDrops"], 0, "{an}");
    assert_eq!(an["sampleErrors"], 0, "{an}");

    // Every pair but the last frame's has exactly its frames; that one has one fewer.
    let got = active_pairs(&server);
    let mut expected: BTreeMap<String, u64> =
        truth.pairs.iter().map(|(p, n)| (pair_key(p), *n)).collect();
    let short: Vec<(&Pair, String)> = truth
        .pairs
        .iter()
        .filter_map(|(p, n)| {
            let k = pair_key(p);
            let v = got.get(&k).map_or(0.0, |g| g.1.round());
            (v != *n as f64).then_some((p, k))
        })
        .collect();
    let last = truth.last.unwrap();
    assert_eq!(
        short,
        vec![(&last, pair_key(&last))],
        "pairs differing from the capture (expected: only the last frame's)"
    );
    let (missing_pair, missing_key) = short[0].clone();
    let n = expected.get_mut(&missing_key).unwrap();
    *n -= 1;
    if *n == 0 {
        expected.remove(&missing_key);
    }
    check_active_flows(&server, &expected);

    let mut protocols = truth.protocols.clone();
    *protocols
        .get_mut(&(missing_pair.0, missing_pair.3))
        .unwrap() -= 1;
    check_logged_flows(&server, SFPROBE_AGENT, &protocols);

    let (status, _) = server.stop();
    assert!(status.success());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// pmacctd's nfprobe (`version` 9 or 10) into the NetFlow or IPFIX port: exact totals.
fn nfprobe(version: u8, tag: &str) {
    let truth = Truth::read();
    let dir = temp_dir(tag);
    let server = Server::start(&dir.join("state"));
    define_flows(&server, "ip6nexthdr");
    // IPv6 records name their protocol `ip6nexthdr`, as sFlow samples do, never `ipprotocol`.
    let r = server.put(
        "/flow/v6ipproto/json",
        &format!("{{keys:'ipprotocol',value:'frames',filter:'ip6source!=null',t:{T}}}"),
    );
    assert_eq!(r.status, 204, "{}", r.body);
    let port = if version == 9 {
        server.ports.netflow
    } else {
        server.ports.ipfix
    };
    replay_with_pmacctd(
        &dir,
        &format!(
            "plugins: nfprobe[nf]\nnfprobe_receiver[nf]: {port}\nnfprobe_version[nf]: \
             {version}\nnfprobe_engine[nf]: {version}\n"
        ),
    );

    // One record per 5-tuple: nfprobe's timeouts are far longer than the capture, and it
    // flushes its cache when the savefile ends.
    let records = truth.five_tuples as u64;
    let an = server.wait_for("/analyzer/json", |a| {
        a["netflowRecords"].as_u64().is_some_and(|n| n >= records)
    });
    assert_eq!(an["netflowRecords"], records, "{an}");
    assert_eq!(an["netflowRecordErrors"], 0, "{an}");
    assert_eq!(an["rejectedDatagrams"], 0, "{an}");
    assert_eq!(an["datagramsDropped"], 0, "{an}");
    assert_eq!(an["kernelDrops"], 0, "{an}");
    assert_eq!(an["sampleErrors"], 0, "{an}");

    let expected: BTreeMap<String, u64> =
        truth.pairs.iter().map(|(p, n)| (pair_key(p), *n)).collect();
    check_active_flows(&server, &expected);
    check_logged_flows(&server, "127.0.0.1", &truth.protocols);
    let nh = server.get_json("/activeflows/ALL/v6ipproto/json");
    assert_eq!(nh, serde_json::json!([]), "IPv6 records with ipprotocol");

    let (status, _) = server.stop();
    assert!(status.success());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn pmacctd_nfprobe_netflow9_replaying_a_savefile() {
    nfprobe(9, "pmacct-nf9");
}

#[test]
fn pmacctd_nfprobe_ipfix_replaying_a_savefile() {
    nfprobe(10, "pmacct-ipfix");
}
