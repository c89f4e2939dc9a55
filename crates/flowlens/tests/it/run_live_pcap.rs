//! `flowlens run --pcap IFACE` on real traffic: the test makes a network namespace joined to
//! this one by a veth pair, quiets the link (IPv6 off, static neighbours, so the only frames
//! are the test's), and captures the host end with both flowlens and `tshark -i` while a
//! ping and two UDP streams cross it. Once both have seen every frame (synchronised on their
//! counters, not on time), flowlens's packet count, its per-pair and per-5-tuple frame counts
//! (`/activeflows`, value × t at t = 600 s) and the data source (the interface's ifIndex,
//! agent 0.0.0.0) equal what tshark saw.
//!
//! Needs root (namespaces, capture) and tshark; otherwise it reports SKIPPED.

use crate::run_support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use run_support::{temp_dir, Server};

const NS: &str = "fl16-pcap";
const HOST_IF: &str = "fl16p0";
const HOST_IP: &str = "10.216.0.1";
const NS_IP: &str = "10.216.0.2";
/// Pings (each an echo request and a reply).
const PINGS: u64 = 20;
/// Datagrams of the two UDP streams.
const UDP_A: u64 = 150;
const UDP_B: u64 = 40;
/// Source port of the probes that show tshark capturing.
const PROBE_PORT: u16 = 40000;
/// Smoothing time of the flow definitions, s (decay negligible over the test).
const T: f64 = 600.0;

pub(crate) fn sh(args: &[&str]) -> std::process::Output {
    Command::new(args[0]).args(&args[1..]).output().unwrap()
}

pub(crate) fn ok(args: &[&str]) {
    let out = sh(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Root and tshark, or the reason to skip.
pub(crate) fn missing() -> Option<String> {
    let uid = sh(&["id", "-u"]);
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Some("needs root (network namespaces, packet capture)".into());
    }
    if Command::new("tshark").arg("--version").output().is_err() {
        return Some("tshark is not installed".into());
    }
    None
}

/// The namespace and veth pair; removed on drop.
pub(crate) struct Link {
    ns: &'static str,
    host_if: &'static str,
}

impl Link {
    /// Namespace `ns` with `eth0` at `NET.2/30`, joined to `host_if` at `NET.1/30` here.
    pub(crate) fn up(ns: &'static str, host_if: &'static str, net: &str) -> Link {
        let (host_ip, ns_ip) = (format!("{net}.1"), format!("{net}.2"));
        let _ = sh(&["ip", "netns", "del", ns]);
        let _ = sh(&["ip", "link", "del", host_if]);
        ok(&["ip", "netns", "add", ns]);
        let link = Link { ns, host_if };
        ok(&[
            "ip", "link", "add", host_if, "type", "veth", "peer", "name", "eth0", "netns", ns,
        ]);
        // No IPv6 (router/neighbour solicitations, MLD) and static neighbours (no ARP): the
        // test's packets are the only ones on the link.
        ok(&[
            "sysctl",
            "-qw",
            &format!("net.ipv6.conf.{host_if}.disable_ipv6=1"),
        ]);
        ok(&[
            "ip",
            "netns",
            "exec",
            ns,
            "sysctl",
            "-qw",
            "net.ipv6.conf.eth0.disable_ipv6=1",
        ]);
        ok(&[
            "ip",
            "addr",
            "add",
            &format!("{host_ip}/30"),
            "dev",
            host_if,
        ]);
        ok(&[
            "ip",
            "-n",
            ns,
            "addr",
            "add",
            &format!("{ns_ip}/30"),
            "dev",
            "eth0",
        ]);
        ok(&["ip", "link", "set", host_if, "arp", "off", "up"]);
        ok(&["ip", "-n", ns, "link", "set", "eth0", "arp", "off", "up"]);
        let mac = |ns: Option<&str>, dev: &str| {
            let path = format!("/sys/class/net/{dev}/address");
            let out = match ns {
                Some(n) => sh(&["ip", "netns", "exec", n, "cat", &path]),
                None => sh(&["cat", &path]),
            };
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        };
        let host_mac = mac(None, host_if);
        let ns_mac = mac(Some(ns), "eth0");
        ok(&[
            "ip",
            "neigh",
            "replace",
            &ns_ip,
            "lladdr",
            &ns_mac,
            "dev",
            host_if,
            "nud",
            "permanent",
        ]);
        ok(&[
            "ip",
            "-n",
            ns,
            "neigh",
            "replace",
            &host_ip,
            "lladdr",
            &host_mac,
            "dev",
            "eth0",
            "nud",
            "permanent",
        ]);
        link
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        let _ = sh(&["ip", "netns", "del", self.ns]);
        let _ = sh(&["ip", "link", "del", self.host_if]);
    }
}

/// `tshark -i IFACE`, one line of fields per frame as it arrives.
pub(crate) struct Tshark {
    child: Child,
    /// The fields asked for, per frame; a field that occurs more than once (the outer and
    /// inner headers of a tunnelled frame) has its values joined with `;`, outermost first.
    pub(crate) frames: Arc<Mutex<Vec<Vec<String>>>>,
}

/// The fields [`Tshark::start`] asks for: ip.src, ip.dst, ip.proto, udp.srcport,
/// udp.dstport.
const FIELDS: [&str; 5] = ["ip.src", "ip.dst", "ip.proto", "udp.srcport", "udp.dstport"];

impl Tshark {
    /// Starts tshark on `iface` with [`FIELDS`] and waits until it captures (its "Capturing
    /// on" line).
    pub(crate) fn start(iface: &str) -> Tshark {
        Tshark::start_in(&[], iface, "", &FIELDS)
    }

    /// Starts `tshark -i iface -f filter` with `fields`, run under `wrapper` (such as `ip netns
    /// exec NS`, or nothing), and waits until it captures.
    pub(crate) fn start_in(wrapper: &[&str], iface: &str, filter: &str, fields: &[&str]) -> Tshark {
        let (program, wrapper_args) = match wrapper.split_first() {
            Some((p, rest)) => (*p, rest.iter().copied().chain(["tshark"]).collect()),
            None => ("tshark", Vec::new()),
        };
        let mut cmd = Command::new(program);
        cmd.args(wrapper_args)
            .args(["-i", iface, "-n", "-l", "-p", "-T", "fields"])
            .args([
                "-E",
                "separator=,",
                "-E",
                "aggregator=;",
                "-E",
                "occurrence=a",
            ]);
        if !filter.is_empty() {
            cmd.args(["-f", filter]);
        }
        for f in fields {
            cmd.args(["-e", f]);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let frames = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&frames);
        let out = child.stdout.take().unwrap();
        let n = fields.len();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let mut f: Vec<String> = line.split(',').map(str::to_string).collect();
                f.resize(n, String::new());
                sink.lock().unwrap().push(f);
            }
        });
        let (tx, rx) = std::sync::mpsc::channel();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if line.contains("Capturing on") {
                    let _ = tx.send(());
                }
            }
        });
        rx.recv_timeout(Duration::from_secs(30))
            .expect("tshark did not start capturing");
        Tshark { child, frames }
    }

    /// Frames seen, probes included.
    pub(crate) fn count(&self) -> u64 {
        self.frames.lock().unwrap().len() as u64
    }

    /// Frames seen, probes left out.
    fn test_frames(&self) -> Vec<Vec<String>> {
        let probe = PROBE_PORT.to_string();
        let frames = self.frames.lock().unwrap();
        frames.iter().filter(|f| f[3] != probe).cloned().collect()
    }
}

impl Drop for Tshark {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `/activeflows` of `name`: key → value × T (frames).
fn active(s: &Server, name: &str) -> BTreeMap<String, u64> {
    let flows = s.get_json(&format!("/activeflows/ALL/{name}/json?maxFlows=1000"));
    flows
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            assert_eq!(f["agent"], "0.0.0.0", "{f}");
            (
                f["key"].as_str().unwrap().to_string(),
                (f["value"].as_f64().unwrap() * T).round() as u64,
            )
        })
        .collect()
}

#[test]
fn pcap_counts_equal_tshark() {
    if let Some(why) = missing() {
        eprintln!("SKIPPED run_live_pcap::pcap_counts_equal_tshark: {why}");
        return;
    }
    let _link = Link::up(NS, HOST_IF, "10.216.0");
    let ifindex = std::fs::read_to_string(format!("/sys/class/net/{HOST_IF}/ifindex")).unwrap();
    let ifindex = ifindex.trim();
    // A receiver, so the UDP streams draw no ICMP port unreachables.
    let sink = UdpSocket::bind((HOST_IP, 0)).unwrap();
    let port = sink.local_addr().unwrap().port();

    // tshark first, known to capture once it shows a probe (a UDP datagram from port
    // PROBE_PORT, left out of the comparison); then flowlens, whose capture is open once it
    // answers.
    let tshark = Tshark::start(HOST_IF);
    let probe = format!(
        "import socket\n\
         s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
         s.bind(('{NS_IP}', {PROBE_PORT}))\n\
         s.sendto(b'probe', ('{HOST_IP}', {port}))\n"
    );
    let start = Instant::now();
    while tshark.count() == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "tshark sees no probe"
        );
        ok(&["ip", "netns", "exec", NS, "python3", "-c", &probe]);
    }
    let state = temp_dir("live-pcap");
    let s = Server::start_with(&state, &["--pcap", HOST_IF]);
    for (name, body) in [
        (
            "pair",
            format!("{{keys:'ipsource,ipdestination,ipprotocol',value:'frames',t:{T}}}"),
        ),
        (
            "udp",
            format!(
                "{{keys:'ipsource,ipdestination,ipprotocol,udpsourceport,udpdestinationport',\
                 value:'frames',t:{T}}}"
            ),
        ),
    ] {
        let r = s.put(&format!("/flow/{name}/json"), &body);
        assert_eq!(r.status, 204, "{name}: {}", r.body);
    }
    assert_eq!(s.get_json("/analyzer/json")["packetsReceived"], 0);

    ok(&[
        "ip",
        "netns",
        "exec",
        NS,
        "ping",
        "-q",
        "-c",
        &PINGS.to_string(),
        "-i",
        "0.01",
        HOST_IP,
    ]);
    let script = format!(
        "import socket\n\
         for sport, n in ((40001, {UDP_A}), (40002, {UDP_B})):\n\
         \x20   s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
         \x20   s.bind(('{NS_IP}', sport))\n\
         \x20   for i in range(n):\n\
         \x20       s.sendto(bytes(100 + i % 200), ('{HOST_IP}', {port}))\n"
    );
    ok(&["ip", "netns", "exec", NS, "python3", "-c", &script]);
    let expected = 2 * PINGS + UDP_A + UDP_B;

    // Both have seen every frame: tshark's lines and flowlens's samples in the engine.
    let start = Instant::now();
    while (tshark.test_frames().len() as u64) < expected {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "tshark saw {} of {expected}; flowlens {}",
            tshark.test_frames().len(),
            s.get_json("/analyzer/json")["packetsReceived"]
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let doc = s.wait_for("/analyzer/json", |d| {
        d["packetSamples"].as_u64() >= Some(expected)
    });
    let src = &doc["packetSources"][0];
    assert_eq!(src["type"], "pcap");
    assert_eq!(src["name"], HOST_IF);
    assert_eq!(src["dataSource"], ifindex);
    assert_eq!(
        src["packetsReceived"].as_u64(),
        Some(tshark.test_frames().len() as u64),
        "{doc}"
    );
    assert_eq!(doc["packetsReceived"].as_u64(), Some(expected), "{doc}");
    assert_eq!(doc["packetsSampled"].as_u64(), Some(expected));
    assert_eq!(doc["packetSamples"].as_u64(), Some(expected));
    assert_eq!(doc["packetsDropped"].as_u64(), Some(0));
    assert_eq!(doc["packetDecodeErrors"].as_u64(), Some(0));

    // Per pair and per 5-tuple, what tshark saw.
    let frames = tshark.test_frames();
    let mut pairs: BTreeMap<String, u64> = BTreeMap::new();
    let mut tuples: BTreeMap<String, u64> = BTreeMap::new();
    for f in &frames {
        let [src, dst, proto, sport, dport] = f.as_slice() else {
            panic!("{f:?}")
        };
        *pairs.entry(format!("{src},{dst},{proto}")).or_default() += 1;
        if proto == "17" {
            *tuples
                .entry(format!("{src},{dst},{proto},{sport},{dport}"))
                .or_default() += 1;
        }
    }
    assert_eq!(pairs.len(), 3, "{pairs:?}");
    assert_eq!(pairs[&format!("{NS_IP},{HOST_IP},1")], PINGS);
    assert_eq!(tuples[&format!("{NS_IP},{HOST_IP},17,40001,{port}")], UDP_A);
    assert_eq!(active(&s, "pair"), pairs);
    assert_eq!(active(&s, "udp"), tuples);
    // The data source is the interface.
    let flows = s.get_json("/activeflows/ALL/pair/json?maxFlows=10");
    assert!(
        flows
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["dataSource"] == ifindex),
        "{flows}"
    );
    // And Prometheus says the same.
    let text = s.get("/prometheus/analyzer/txt").body;
    assert!(
        text.contains(&format!("sflow_analyzer_packets_received {expected}")),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "sflow_analyzer_source_packets_received{{type=\"pcap\",source=\"{HOST_IF}\"}} {expected}"
        )),
        "{text}"
    );
    drop(sink);
}

/// A missing interface is a one-line startup error.
#[test]
fn pcap_missing_interface_is_a_startup_error() {
    let state = temp_dir("live-pcap-missing");
    let ports = run_support::Ports::free();
    let mut args = ports.args(&state);
    args.extend(["--pcap".into(), "fl16-no-such-if".into()]);
    let err = Server::try_start(ports, &args)
        .err()
        .expect("must not start");
    assert!(
        err.contains("--pcap fl16-no-such-if: no such interface"),
        "{err}"
    );
}

/// `pcap = ["IFACE:N"]` in the config file: every packet is received (counted against the datagrams the test sent on
/// a quiet link), about 1 in N is sampled, and the engine scales each sample by N: the
/// flow's frames (value × t) are the samples times N.
#[test]
fn pcap_one_in_n() {
    const N: u64 = 4;
    const SENT: u64 = 2000;
    if let Some(why) = missing() {
        eprintln!("SKIPPED run_live_pcap::pcap_one_in_n: {why}");
        return;
    }
    let _link = Link::up("fl16-pcapn", "fl16p1", "10.216.1");
    let sink = UdpSocket::bind(("10.216.1.1", 0)).unwrap();
    let port = sink.local_addr().unwrap().port();
    let state = temp_dir("live-pcap-n");
    // Given by the config file's `pcap` key (the other tests use the flag).
    let config = state.join("flowlens.toml");
    std::fs::write(&config, format!("pcap = [\"fl16p1:{N}\"]\n")).unwrap();
    let s = Server::start_with(
        &state.join("state"),
        &["--config", config.to_str().unwrap()],
    );
    let r = s.put(
        "/flow/udp/json",
        &format!("{{keys:'ipsource,udpdestinationport',value:'frames',t:{T}}}"),
    );
    assert_eq!(r.status, 204, "{}", r.body);
    let script = format!(
        "import socket\n\
         s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
         for i in range({SENT}):\n\
         \x20   s.sendto(b'x' * 64, ('10.216.1.1', {port}))\n"
    );
    ok(&[
        "ip",
        "netns",
        "exec",
        "fl16-pcapn",
        "python3",
        "-c",
        &script,
    ]);
    let doc = s.wait_for("/analyzer/json", |d| {
        d["packetsReceived"].as_u64() >= Some(SENT)
            && d["packetSamples"].as_u64() == d["packetsSampled"].as_u64()
    });
    assert_eq!(doc["packetsReceived"].as_u64(), Some(SENT), "{doc}");
    assert_eq!(doc["packetSources"][0]["samplingRate"], N);
    let sampled = doc["packetsSampled"].as_u64().unwrap();
    // Gaps uniform in 1..=2N−1 (variance (4N²−1)/12 = 5.25): the count's standard deviation
    // is about 11, so ±100 around SENT/N cannot fail by chance.
    assert!(
        (SENT / N - 100..=SENT / N + 100).contains(&sampled),
        "{sampled}"
    );
    let flows = s.get_json("/activeflows/ALL/udp/json?maxFlows=10");
    let f = &flows[0];
    assert_eq!(f["key"], format!("10.216.1.2,{port}"), "{flows}");
    assert_eq!(
        (f["value"].as_f64().unwrap() * T).round() as u64,
        sampled * N,
        "{flows}"
    );
    drop(sink);
}
