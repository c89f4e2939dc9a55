//! The articles' syslog scripts under `flowlens run --script`, end to end with real programs
//! on both sides: real ICMP port-unreachable traffic (UDP datagrams sent to closed ports
//! between two network namespaces the test creates, captured there with tcpdump) is replayed
//! by pmacct's `pmacctd` sfprobe (sFlow, 1-in-1) into flowlens; the scripts' `syslog()` calls
//! go to a real rsyslogd on loopback, whose output file is checked against tshark's decode
//! of the same capture.
//!
//! - `syslog.js` ("Exporting events using syslog"): `server`/`port` rewritten to rsyslog's.
//! - `icmp_unreachable.js` ("ICMP unreachable"): its `syslog('10.0.0.1',null,…)` rewritten to
//!   `syslog('127.0.0.1',<rsyslog port>,…)` (the call's address and port: rsyslog runs on a
//!   free port, never on 514).
//!
//! Needs root (ip netns), tcpdump, tshark, pmacctd, rsyslogd (see .ci/run).

use crate::common;
use crate::run_support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pcap_parser::PcapCapture;
use run_support::pmacctd::replay_sfprobe;
use run_support::rsyslog::{Message, Rsyslog};
use run_support::seed::{rewrite_script, script_status};
use run_support::{temp_dir, Server};

/// The sFlow agent address pmacctd's sfprobe reports.
const AGENT: &str = "127.0.0.6";
/// The address of the namespace that sends the UDP datagrams (and receives the ICMP errors).
const CLIENT: &str = "10.77.0.1";
/// The address of the namespace whose closed ports answer with ICMP port unreachable.
const TARGET: &str = "10.77.0.2";
/// Closed UDP ports the client sends to (nothing listens in a fresh namespace).
const PORTS: [u16; 5] = [7, 53, 123, 33434, 50000];
/// How long the scripts' messages may take to reach rsyslog after pmacctd finished.
const MESSAGES_WITHIN: Duration = Duration::from_secs(20);

/// Runs `cmd args`, failing the test with its output unless it succeeds.
fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}: {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Two network namespaces joined by a veth pair (`v0` CLIENT/24 in `a`, `v1` TARGET/24 in
/// `b`); deleted (with the veth) on drop.
struct NetnsPair {
    a: String,
    b: String,
}

impl NetnsPair {
    fn create(tag: &str) -> NetnsPair {
        let pid = std::process::id();
        let p = NetnsPair {
            a: format!("fls-{tag}-{pid}-a"),
            b: format!("fls-{tag}-{pid}-b"),
        };
        for n in [&p.a, &p.b] {
            let _ = Command::new("ip").args(["netns", "del", n]).status();
            run("ip", &["netns", "add", n]);
            run("ip", &["-n", n, "link", "set", "lo", "up"]);
        }
        run(
            "ip",
            &[
                "-n", &p.a, "link", "add", "v0", "type", "veth", "peer", "name", "v1", "netns",
                &p.b,
            ],
        );
        run(
            "ip",
            &[
                "-n",
                &p.a,
                "addr",
                "add",
                &format!("{CLIENT}/24"),
                "dev",
                "v0",
            ],
        );
        run(
            "ip",
            &[
                "-n",
                &p.b,
                "addr",
                "add",
                &format!("{TARGET}/24"),
                "dev",
                "v1",
            ],
        );
        run("ip", &["-n", &p.a, "link", "set", "v0", "up"]);
        run("ip", &["-n", &p.b, "link", "set", "v1", "up"]);
        p
    }
}

impl Drop for NetnsPair {
    fn drop(&mut self) {
        for n in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", n]).status();
        }
    }
}

/// A child killed on drop if still running.
struct Guard(Option<Child>);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The frames of a (possibly still growing) classic pcap, or `None` while it does not parse.
fn frames(pcap: &Path) -> Option<Vec<Vec<u8>>> {
    let bytes = std::fs::read(pcap).ok()?;
    let cap = PcapCapture::from_file(&bytes).ok()?;
    Some(cap.blocks.iter().map(|b| b.data.to_vec()).collect())
}

/// Makes `dir/icmp-unreach.pcap`: tcpdump in the target namespace captures (IPv4 UDP and ICMP
/// only) the client's datagrams to [`PORTS`], the kernel's ICMP port-unreachable answers,
/// then one ping and its reply, so that the capture's last frame (which pmacct 1.7.7 never
/// samples) is the echo reply, not an unreachable.
fn capture_icmp_unreachables(dir: &Path, tag: &str) -> PathBuf {
    let ns = NetnsPair::create(tag);
    let pcap = dir.join("icmp-unreach.pcap");
    let err_path = dir.join("tcpdump.stderr");
    let err = std::fs::File::create(&err_path).unwrap();
    let child = Command::new("ip")
        .args([
            "netns", "exec", &ns.b, "tcpdump", "-i", "v1", "-n", "-U", "-w",
        ])
        .arg(&pcap)
        .arg("ip and (udp or icmp)")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err)
        .spawn()
        .expect("tcpdump (apt-get install -y tcpdump)");
    let mut tcpdump = Guard(Some(child));
    let start = Instant::now();
    while !std::fs::read_to_string(&err_path)
        .unwrap_or_default()
        .contains("listening on")
    {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "tcpdump not listening: {}",
            std::fs::read_to_string(&err_path).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let sends: Vec<String> = PORTS
        .iter()
        .map(|p| format!("echo flowlens-test >/dev/udp/{TARGET}/{p}"))
        .collect();
    run(
        "ip",
        &["netns", "exec", &ns.a, "bash", "-c", &sends.join("; ")],
    );
    run(
        "ip",
        &["netns", "exec", &ns.a, "ping", "-c", "1", "-W", "5", TARGET],
    );
    // Wait until the echo reply (ICMP type 0 from the target) is in the file.
    let start = Instant::now();
    loop {
        let done = frames(&pcap).is_some_and(|f| {
            f.last()
                .is_some_and(|l| l.len() > 34 && l[12..14] == [8, 0] && l[23] == 1 && l[34] == 0)
        });
        if done {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "the echo reply was not captured: {}",
            std::fs::read_to_string(&err_path).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut c = tcpdump.0.take().unwrap();
    run("kill", &["-TERM", &c.id().to_string()]);
    let status = c.wait().unwrap();
    assert!(status.success(), "tcpdump: {status}");
    pcap
}

/// One ICMP port unreachable of the capture, as tshark decodes it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Unreachable {
    /// The ICMP packet's source (the target).
    src: String,
    /// Its destination (the client).
    dst: String,
    /// The quoted UDP datagram's destination port.
    port: u16,
}

/// tshark's decode of the capture: the frame count and every ICMP 3/3 (outer addresses and
/// the quoted UDP destination port).
fn tshark_truth(pcap: &Path) -> (usize, Vec<Unreachable>) {
    let all = run(
        "tshark",
        &[
            "-r",
            pcap.to_str().unwrap(),
            "-T",
            "fields",
            "-e",
            "frame.number",
        ],
    );
    let frames = all.lines().filter(|l| !l.trim().is_empty()).count();
    let out = run(
        "tshark",
        &[
            "-r",
            pcap.to_str().unwrap(),
            "-Y",
            "icmp.type == 3 && icmp.code == 3",
            "-T",
            "fields",
            "-E",
            "separator=/t",
            "-e",
            "ip.src",
            "-e",
            "ip.dst",
            "-e",
            "udp.dstport",
        ],
    );
    let u = out
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            // ip.src/ip.dst list the outer header first, then the quoted one.
            let first = |s: &str| s.split(',').next().unwrap().to_string();
            Unreachable {
                src: first(f[0]),
                dst: first(f[1]),
                port: f[2].parse().unwrap(),
            }
        })
        .collect();
    (frames, u)
}

/// Checks the header of a message flowlens sent: `<133>1 TIMESTAMP HOST flowlens - - - MSG`
/// as received (local0 = 16, notice = 5: PRI 133), and what rsyslog parsed of it.
fn check_header(m: &Message) {
    assert_eq!(m.facility, 16, "{m:?}");
    assert_eq!(m.severity, 5, "{m:?}");
    assert_eq!(m.app_name, "flowlens", "{m:?}");
    assert_eq!(m.programname, "flowlens", "{m:?}");
    let host = run("uname", &["-n"]).trim().to_string();
    assert_eq!(m.hostname, host, "{m:?}");
    let parts: Vec<&str> = m.raw.splitn(8, ' ').collect();
    assert_eq!(parts.len(), 8, "{m:?}");
    assert_eq!(parts[0], "<133>1", "{m:?}");
    // RFC 3339 UTC with milliseconds: 2026-01-02T03:04:05.678Z.
    let ts = parts[1].as_bytes();
    assert!(
        ts.len() == 24 && ts[4] == b'-' && ts[10] == b'T' && ts[19] == b'.' && ts[23] == b'Z',
        "timestamp {:?}",
        parts[1]
    );
    assert_eq!(
        &parts[2..7],
        &[host.as_str(), "flowlens", "-", "-", "-"],
        "{m:?}"
    );
    assert_eq!(parts[7], m.msg, "{m:?}");
}

/// Runs `script` (already rewritten) with a flowlens server, waits until it defined `flow`,
/// replays the capture with pmacctd into it and waits until every sample arrived.
fn run_with_capture(dir: &Path, script: &Path, flow: &str, pcap: &Path, frames: usize) -> Server {
    let server = Server::start_with(&dir.join("state"), &["--script", script.to_str().unwrap()]);
    let name = script.file_name().unwrap().to_str().unwrap();
    let start = Instant::now();
    loop {
        let s = script_status(&server, name);
        assert!(s["alive"] == true, "{s}");
        if server.get(&format!("/flow/{flow}/json")).status == 200 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no flow {flow}: {s}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    replay_sfprobe(dir, pcap, server.ports.sflow, AGENT);
    // pmacct 1.7.7 skips the savefile's last frame when replaying synthetic-traffic.pcap
    // (run_pmacct.rs) but samples every frame of these small captures: at least all but the
    // last (an echo reply), at most all. pmacctd has exited, so they are all sent.
    let frames = frames as u64;
    let agents = server.wait_for("/agents/json", |g| {
        g[AGENT]["sFlowFlowSamples"]
            .as_u64()
            .is_some_and(|n| n >= frames - 1)
    });
    let n = agents[AGENT]["sFlowFlowSamples"].as_u64().unwrap();
    assert!(n == frames - 1 || n == frames, "{frames} frames: {agents}");
    assert_eq!(agents[AGENT]["sFlowFlowLostSamples"], 0, "{agents}");
    server
}

#[test]
fn syslog_js_sends_icmp_port_unreachables_to_rsyslog() {
    if common::shared_file_or_skip(
        "script_syslog::syslog_js_sends_icmp_port_unreachables_to_rsyslog",
        "sflow-rt-scripts",
    )
    .is_none()
    {
        return;
    }
    let dir = temp_dir("script-syslog");
    let pcap = capture_icmp_unreachables(&dir, "sys");
    let (frames, truth) = tshark_truth(&pcap);
    eprintln!("capture: {frames} frames; ICMP port unreachables: {truth:?}");
    assert!(
        truth.len() >= 3,
        "too few ICMP port unreachables captured: {truth:?}"
    );
    for u in &truth {
        assert_eq!((u.src.as_str(), u.dst.as_str()), (TARGET, CLIENT), "{u:?}");
        assert!(PORTS.contains(&u.port), "{u:?}");
    }
    let rsyslog = Rsyslog::start(&dir.join("rsyslog"));
    let port = rsyslog.port().to_string();
    let script = rewrite_script(
        "syslog.js",
        &dir,
        &[
            ("var server = '10.0.0.152';", "var server = '127.0.0.1';"),
            ("var port = 514;", &format!("var port = {port};")),
        ],
    );
    let server = run_with_capture(&dir, &script, "uport", &pcap, frames);

    // One message per new flow: per distinct (ipsource, ipdestination, icmpunreachableport).
    let expected: BTreeSet<Vec<(String, String)>> = truth
        .iter()
        .map(|u| {
            vec![
                ("ipsource".to_string(), u.src.clone()),
                ("ipdestination".to_string(), u.dst.clone()),
                ("icmpunreachableport".to_string(), format!("udp_{}", u.port)),
            ]
        })
        .collect();
    let msgs = rsyslog.wait_for("flowlens", MESSAGES_WITHIN, |m| m.len() >= expected.len());
    assert_eq!(msgs.len(), expected.len(), "{msgs:#?}");
    let got: BTreeSet<Vec<(String, String)>> = msgs.iter().map(Message::fields).collect();
    assert_eq!(got, expected);
    for m in &msgs {
        check_header(m);
    }

    let s = script_status(&server, "syslog.js");
    assert_eq!(s["alive"], true, "{s}");
    assert_eq!(s["flowsReceived"], msgs.len() as u64, "{s}");
    assert_eq!(s["actions"]["syslog"]["sent"], msgs.len() as u64, "{s}");
    assert_eq!(s["actions"]["syslog"]["errors"], 0, "{s}");
    assert_eq!(s["handlerErrors"], 0, "{s}");

    let (status, _) = server.stop();
    assert!(status.success());
    drop(rsyslog);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn icmp_unreachable_js_sends_uports_to_rsyslog() {
    if common::shared_file_or_skip(
        "script_syslog::icmp_unreachable_js_sends_uports_to_rsyslog",
        "sflow-rt-scripts",
    )
    .is_none()
    {
        return;
    }
    let dir = temp_dir("script-icmp-unreach");
    let pcap = capture_icmp_unreachables(&dir, "icmp");
    let (frames, truth) = tshark_truth(&pcap);
    assert!(
        truth.len() >= 3,
        "too few ICMP port unreachables captured: {truth:?}"
    );
    let rsyslog = Rsyslog::start(&dir.join("rsyslog"));
    let call = format!("syslog('127.0.0.1',{},null,null,msg);", rsyslog.port());
    let script = rewrite_script(
        "icmp_unreachable.js",
        &dir,
        &[("syslog('10.0.0.1',null,null,null,msg);", &call)],
    );
    let server = run_with_capture(&dir, &script, "uports", &pcap, frames);

    // uports is keyed ipdestination,icmpunreachableport: one message per distinct pair; the
    // capture holds no net/host/protocol unreachables, so no other type.
    let expected: BTreeSet<Vec<(String, String)>> = truth
        .iter()
        .map(|u| {
            vec![
                ("type".to_string(), "uports".to_string()),
                ("host".to_string(), u.dst.clone()),
                ("target".to_string(), format!("udp_{}", u.port)),
            ]
        })
        .collect();
    let msgs = rsyslog.wait_for("flowlens", MESSAGES_WITHIN, |m| m.len() >= expected.len());
    assert_eq!(msgs.len(), expected.len(), "{msgs:#?}");
    let got: BTreeSet<Vec<(String, String)>> = msgs.iter().map(Message::fields).collect();
    assert_eq!(got, expected);
    for m in &msgs {
        // null facility/severity: sFlow-RT's defaults, local0 and notice.
        check_header(m);
    }
    for f in ["unets", "uhosts", "uprotos", "uports"] {
        assert_eq!(server.get(&format!("/flow/{f}/json")).status, 200, "{f}");
    }

    let s = script_status(&server, "icmp_unreachable.js");
    assert_eq!(s["alive"], true, "{s}");
    assert_eq!(s["flowsReceived"], msgs.len() as u64, "{s}");
    assert_eq!(s["actions"]["syslog"]["sent"], msgs.len() as u64, "{s}");
    assert_eq!(s["actions"]["syslog"]["errors"], 0, "{s}");
    assert_eq!(s["handlerErrors"], 0, "{s}");

    let (status, _) = server.stop();
    assert!(status.success());
    drop(rsyslog);
    std::fs::remove_dir_all(&dir).unwrap();
}
