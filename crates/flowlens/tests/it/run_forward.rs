//! sFlow forwarding (`/forwarding`, `setForward`) and per-tenant forwarding (`/tenant`) of
//! `flowlens run`, with real receivers: a socket of the test (the bytes), `flowlens decode
//! --listen` and pmacct's `sfacctd` (an independent decoder); tshark and sfacctd count what
//! the capture holds, tshark decodes what the tenants receive.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, UdpSocket};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value as Json;

use crate::common::decode_json;
use crate::run_support::{self, exporter_capture, temp_dir, udp_payloads, Server};

/// The Open vSwitch bridge capture: 1,625 sFlow datagrams of one agent, flow samples
/// (1-in-10) and interface counters with port names.
const CAPTURE: &str = "sflow-ovs-br0.pcap";
const WITHIN: Duration = Duration::from_secs(30);

/// A UDP socket of the test keeping every datagram it receives, on a thread.
struct Sink {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Vec<Vec<u8>>>,
}

impl Sink {
    fn start() -> Sink {
        let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None).unwrap();
        // Room for what a busy machine lets pile up before this thread reads it.
        sock.set_recv_buffer_size(4 << 20).unwrap();
        sock.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
            .unwrap();
        let sock: UdpSocket = sock.into();
        sock.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let addr = sock.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let s = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut got = Vec::new();
            let mut buf = vec![0u8; 65_536];
            // Reads until told to stop and the socket is drained.
            loop {
                match sock.recv(&mut buf) {
                    Ok(n) => got.push(buf[..n].to_vec()),
                    Err(_) if s.load(Ordering::Relaxed) => break,
                    Err(_) => {}
                }
            }
            got
        });
        Sink { addr, stop, thread }
    }

    fn finish(self) -> Vec<Vec<u8>> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap()
    }
}

/// sfacctd on a loopback port, its print plugin appending (src_host, dst_host, packets)
/// every second, sampling rates not applied: each flow sample counts one packet.
struct Sfacctd {
    child: Child,
    addr: SocketAddr,
    out: PathBuf,
    log: PathBuf,
}

impl Sfacctd {
    fn start(dir: &Path) -> Sfacctd {
        let port = UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let out = dir.join("sfacctd.csv");
        let log = dir.join("sfacctd.log");
        let conf = dir.join("sfacctd.conf");
        std::fs::write(
            &conf,
            format!(
                "daemonize: false\nsfacctd_ip: 127.0.0.1\nsfacctd_port: {port}\n\
                 sfacctd_renormalize: false\nplugins: print[p]\n\
                 aggregate[p]: src_host, dst_host\nprint_output[p]: csv\n\
                 print_refresh_time[p]: 1\nprint_output_file[p]: {}\n\
                 print_output_file_append[p]: true\n",
                out.display()
            ),
        )
        .unwrap();
        let f = std::fs::File::create(&log).unwrap();
        let child = Command::new("sfacctd")
            .arg("-f")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(f.try_clone().unwrap())
            .stderr(f)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start sfacctd ({e}): install pmacct (apt-get install -y pmacct)")
            });
        let s = Sfacctd {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            out,
            log,
        };
        // Ready once its socket is bound (it says so in its log).
        let start = Instant::now();
        while !std::fs::read_to_string(&s.log)
            .unwrap_or_default()
            .contains("waiting for sFlow data")
        {
            assert!(
                start.elapsed() < WITHIN,
                "sfacctd did not start: {}",
                std::fs::read_to_string(&s.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        s
    }

    /// Packets per (source, destination) written so far.
    fn totals(&self) -> BTreeMap<(String, String), u64> {
        let mut t = BTreeMap::new();
        for l in std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
        {
            let f: Vec<&str> = l.split(',').collect();
            if f.len() < 3 || f[0] == "SRC_IP" {
                continue;
            }
            *t.entry((f[0].to_string(), f[1].to_string())).or_default() +=
                f[2].parse::<u64>().unwrap();
        }
        t
    }
}

impl Drop for Sfacctd {
    fn drop(&mut self) {
        // pmacct 1.7.7 daemons may keep SIGTERM blocked: kill the process group.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.wait();
    }
}

/// Per frame of `pcap` (as tshark decodes it), the listed `fields`, each split on `,`.
fn tshark_fields(pcap: &Path, fields: &[&str]) -> Vec<Vec<Vec<String>>> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(pcap).args(["-T", "fields"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().expect("tshark");
    assert!(
        out.status.success(),
        "tshark: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            l.split('\t')
                .map(|c| {
                    c.split(',')
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .collect()
        })
        .collect()
}

/// Writes `payloads` as a classic pcap of Ethernet/IPv4/UDP frames to 127.0.0.1:6343 (so
/// tshark decodes them as sFlow).
fn write_pcap(path: &Path, payloads: &[Vec<u8>]) {
    let mut b = Vec::new();
    b.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    b.extend_from_slice(&2u16.to_le_bytes());
    b.extend_from_slice(&4u16.to_le_bytes());
    for w in [0u32, 0, 65_535, 1] {
        b.extend_from_slice(&w.to_le_bytes());
    }
    for p in payloads {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00]);
        let ip_len = u16::try_from(20 + 8 + p.len()).unwrap();
        f.extend_from_slice(&[0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0]);
        f[16..18].copy_from_slice(&ip_len.to_be_bytes());
        f.extend_from_slice(&[127, 0, 0, 1, 127, 0, 0, 1]);
        f.extend_from_slice(&40_000u16.to_be_bytes());
        f.extend_from_slice(&6343u16.to_be_bytes());
        f.extend_from_slice(&u16::try_from(8 + p.len()).unwrap().to_be_bytes());
        f.extend_from_slice(&[0, 0]);
        f.extend_from_slice(p);
        let len = u32::try_from(f.len()).unwrap();
        for w in [1_700_000_000u32, 0, len, len] {
            b.extend_from_slice(&w.to_le_bytes());
        }
        b.extend_from_slice(&f);
    }
    std::fs::write(path, b).unwrap();
}

/// Sends the capture's datagrams to the server, 20 at a time, each time waiting until target
/// `pace` has forwarded them all (so no receive buffer overflows).
fn replay(server: &Server, payloads: &[Vec<u8>], pace: &str) {
    let path = format!("/forwarding/{pace}/json");
    let before = server.get_json(&path)["datagrams"].as_u64().unwrap();
    run_support::send_all(server.ports.sflow, payloads, 20, |sent| {
        server.wait_for(&path, |d| {
            d["datagrams"].as_u64() >= Some(before + sent as u64)
        });
    });
}

/// Polls `done` on `path` until it holds (within [`WITHIN`]).
fn wait_json(server: &Server, path: &str, done: impl Fn(&Json) -> bool) -> Json {
    let start = Instant::now();
    loop {
        let d = server.get_json(path);
        if done(&d) {
            return d;
        }
        assert!(start.elapsed() < WITHIN, "{path}: {d}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn forwarded_datagrams_reach_a_socket_flowlens_decode_and_sfacctd_unchanged() {
    let dir = temp_dir("forward");
    let pcap = exporter_capture(CAPTURE);
    let payloads = udp_payloads(&pcap);
    let n = payloads.len();
    // The oracle: flow samples in the capture, as tshark counts them.
    let flow_samples: usize = tshark_fields(&pcap, &["sflow.flow_sample.sequence_number"])
        .iter()
        .map(|f| f[0].len())
        .sum();
    assert!(flow_samples > 9_000, "{flow_samples}");

    let server = Server::start(&dir.join("state"));
    let raw = Sink::start();
    let other_agent = Sink::start();
    let sfacctd = Sfacctd::start(&dir);
    let mut decode = Command::new(env!("CARGO_BIN_EXE_flowlens"))
        .args(["decode", "--format", "json", "--listen", "127.0.0.1:0"])
        .args(["--count", &n.to_string(), "--duration", "120"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut decode_err = BufReader::new(decode.stderr.take().unwrap());
    let mut line = String::new();
    decode_err.read_line(&mut line).unwrap();
    let decode_addr = line
        .trim()
        .strip_prefix("flowlens: listening on UDP ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    // The decoder's stdout is read line by line as it comes; the replay waits for it.
    let stdout = decode.stdout.take().unwrap();
    let lines = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let l2 = Arc::clone(&lines);
    let decoded = std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines() {
            l2.lock().unwrap().push(l.unwrap());
        }
    });

    let agent = "127.0.0.1";
    let put = |name: &str, body: String| {
        let r = server.put_json(&format!("/forwarding/{name}/json"), &body);
        assert_eq!(r.status, 204, "{name}: {}", r.body);
    };
    put(
        "raw",
        format!("{{\"address\":\"127.0.0.1\",\"port\":{}}}", raw.addr.port()),
    );
    put(
        "decode",
        format!(
            "{{address:'127.0.0.1', port:{}}}",
            decode_addr.rsplit(':').next().unwrap()
        ),
    );
    put(
        "sfacctd",
        format!(
            "{{\"address\":\"127.0.0.1\",\"port\":{},\"agents\":[\"{agent}\"]}}",
            sfacctd.addr.port()
        ),
    );
    put(
        "nobody",
        format!(
            "{{\"address\":\"127.0.0.1\",\"port\":{},\"agents\":[\"192.0.2.1\"]}}",
            other_agent.addr.port()
        ),
    );
    // The capture's agent, as the server saw it, is the one named in `agents` above.
    let listed = server.get_json("/forwarding/json");
    assert_eq!(listed["sfacctd"]["agents"], serde_json::json!([agent]));
    assert_eq!(listed["raw"]["port"], raw.addr.port());

    // Paced by the slowest receiver, flowlens decode printing JSON.
    run_support::send_all(server.ports.sflow, &payloads, 20, |sent| {
        let start = Instant::now();
        while lines.lock().unwrap().len() < sent {
            assert!(start.elapsed() < WITHIN, "flowlens decode is stuck");
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    let agents = server.get_json("/agents/json");
    assert!(agents.get(agent).is_some(), "{agents}");

    // The socket: every datagram, byte for byte, in order.
    let d = wait_json(&server, "/forwarding/json", |d| {
        d["sfacctd"]["datagrams"].as_u64() == Some(n as u64)
    });
    let got = raw.finish();
    assert_eq!(got.len(), n);
    assert!(
        got == payloads,
        "forwarded bytes differ from the received ones"
    );
    assert_eq!(d["raw"]["datagrams"], n);
    assert_eq!(
        d["raw"]["bytes"],
        payloads.iter().map(Vec::len).sum::<usize>()
    );
    assert_eq!(d["raw"]["errors"], 0);
    // An agents filter naming another agent lets nothing through.
    assert!(other_agent.finish().is_empty());
    assert_eq!(d["nobody"]["datagrams"], 0);

    // flowlens decode: the same documents as decoding the capture.
    let status = decode.wait().unwrap();
    let mut rest = String::new();
    decode_err.read_to_string(&mut rest).unwrap();
    assert!(status.success(), "{rest}");
    decoded.join().unwrap();
    let live: Vec<Json> = lines
        .lock()
        .unwrap()
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let (_, reference) = decode_json(&pcap);
    assert_eq!(live.len(), n);
    for (l, r) in live.iter().zip(&reference) {
        assert_eq!(l["datagram"], r["datagram"]);
        assert_eq!(l["samples"], r["samples"]);
    }

    // sfacctd: as many flow samples as tshark counts in the capture.
    let start = Instant::now();
    loop {
        let total: u64 = sfacctd.totals().values().sum();
        if total >= flow_samples as u64 {
            assert_eq!(total, flow_samples as u64, "{:?}", sfacctd.totals());
            break;
        }
        assert!(
            start.elapsed() < WITHIN,
            "sfacctd counted {total} of {flow_samples} flow samples: {}",
            std::fs::read_to_string(&sfacctd.log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let a = server.get_json("/analyzer/json");
    assert_eq!(a["forwardingDatagramsDropped"], 0, "{a}");

    // DELETE stops a target; 404 for one not set.
    assert_eq!(server.delete("/forwarding/raw/json").status, 204);
    assert_eq!(server.delete("/forwarding/raw/json").status, 404);
    assert_eq!(server.get("/forwarding/raw/json").status, 404);
    server.stop();
}

#[test]
fn tenants_get_exactly_their_samples_in_valid_sflow() {
    let dir = temp_dir("tenant");
    let pcap = exporter_capture(CAPTURE);
    let payloads = udp_payloads(&pcap);
    // Oracle, from tshark: per frame the IPv4 source and destination of every header (the
    // frame's own first), the flow samples' input interfaces and the counter samples'
    // data sources.
    let frames = tshark_fields(
        &pcap,
        &[
            "ip.src",
            "ip.dst",
            "sflow.flow_sample.input_interface",
            "sflow.counters_sample.source_id_index",
            "_ws.malformed",
        ],
    );
    for f in &frames {
        assert_eq!(!f[4].is_empty(), !f[3].is_empty(), "{f:?}");
    }
    let host = "10.99.0.3";
    let by_host: usize = frames
        .iter()
        .map(|f| {
            f[0].iter()
                .zip(&f[1])
                .skip(1)
                .filter(|(s, d)| *s == host || *d == host)
                .count()
        })
        .sum();
    let ifindex = "40";
    let by_port_flows: usize = frames
        .iter()
        .map(|f| f[2].iter().filter(|i| *i == ifindex).count())
        .sum();
    let by_port_counters: usize = frames
        .iter()
        .map(|f| f[3].iter().filter(|i| *i == ifindex).count())
        .sum();
    assert!(by_host > 1_000 && by_port_flows > 1_000 && by_port_counters > 0);

    let server = Server::start(&dir.join("state"));
    let pace = Sink::start();
    let t_host = Sink::start();
    let t_port = Sink::start();
    let r = server.put_json(
        "/forwarding/pace/json",
        &format!(
            "{{\"address\":\"127.0.0.1\",\"port\":{}}}",
            pace.addr.port()
        ),
    );
    assert_eq!(r.status, 204, "{}", r.body);
    let r = server.put_json(
        "/tenant/host/json",
        &format!(
            "{{\"collectorAddress\":\"127.0.0.1\",\"collectorPort\":{},\
             \"filters\":{{\"cidr\":[\"{host}/32\"]}}}}",
            t_host.addr.port()
        ),
    );
    assert_eq!(r.status, 204, "{}", r.body);
    let r = server.put_json(
        "/tenant/port/json",
        &format!(
            "{{collectorAddress:'127.0.0.1', collectorPort:{}, \
             filters:{{ifindex:['127.0.0.1_{ifindex}']}}}}",
            t_port.addr.port()
        ),
    );
    assert_eq!(r.status, 204, "{}", r.body);
    let bad = server.put_json(
        "/tenant/bad/json",
        "{\"collectorAddress\":\"127.0.0.1\",\"filters\":{\"cidr\":[\"10.0.0.0/40\"]}}",
    );
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("cidr"), "{}", bad.body);

    replay(&server, &payloads, "pace");
    let want_port = (by_port_flows + by_port_counters) as u64;
    let t = wait_json(&server, "/tenant/json", |d| {
        d["host"]["samples"].as_u64() >= Some(by_host as u64)
            && d["port"]["samples"].as_u64() >= Some(want_port)
    });
    assert_eq!(t["host"]["samples"], by_host, "{t}");
    assert_eq!(t["port"]["samples"], want_port, "{t}");
    assert_eq!(t["host"]["errors"], 0);
    assert_eq!(
        t["host"]["filters"]["cidr"],
        serde_json::json!([format!("{host}/32")])
    );
    pace.finish();
    let host_dgrams = t_host.finish();
    let port_dgrams = t_port.finish();
    assert_eq!(t["host"]["datagrams"], host_dgrams.len());
    assert_eq!(t["port"]["datagrams"], port_dgrams.len());

    // tshark decodes what the tenants got, without error: exactly their samples, with the
    // datagrams numbered 1, 2, … for the agent.
    for (name, dgrams) in [("host", &host_dgrams), ("port", &port_dgrams)] {
        let p = dir.join(format!("{name}.pcap"));
        write_pcap(&p, dgrams);
        let got = tshark_fields(
            &p,
            &[
                "ip.src",
                "ip.dst",
                "sflow.flow_sample.input_interface",
                "sflow.counters_sample.source_id_index",
                "sflow_245.sequence_number",
                "_ws.malformed",
            ],
        );
        assert_eq!(got.len(), dgrams.len());
        for (i, f) in got.iter().enumerate() {
            // tshark 4.0 misreads Open vSwitch's of_port counter record (0:1004) and calls
            // every frame with counters malformed, in the original capture too (checked
            // above): only those may be.
            assert_eq!(
                !f[5].is_empty(),
                !f[3].is_empty(),
                "{name} frame {}: {f:?}",
                i + 1
            );
            assert_eq!(f[4], vec![(i + 1).to_string()], "{name} frame {}", i + 1);
            match name {
                "host" => {
                    assert!(f[3].is_empty(), "counters sent to a cidr tenant");
                    for (s, d) in f[0].iter().zip(&f[1]).skip(1) {
                        assert!(s == host || d == host, "{name}: {s} -> {d}");
                    }
                }
                _ => {
                    assert!(f[2].iter().all(|i| i == ifindex), "{f:?}");
                    assert!(f[3].iter().all(|i| i == ifindex), "{f:?}");
                }
            }
        }
    }
    // A DELETE ends a tenant.
    assert_eq!(server.delete("/tenant/host/json").status, 204);
    assert_eq!(server.get("/tenant/host/json").status, 404);
    server.stop();
}

#[test]
fn forwarding_survives_a_restart_refuses_loops_and_scripts_set_it() {
    let dir = temp_dir("forward-state");
    let sink = Sink::start();
    let script = dir.join("fwd.js");
    std::fs::write(
        &script,
        format!(
            "setForward('fromscript', '127.0.0.1', {});\n\
             try {{ setForward('bad', 'nowhere'); }} catch (e) {{ logWarning('refused: ' + e.message); }}\n\
             setForward('gone', '127.0.0.1');\nclearForward('gone');\nlogInfo('fwd.js loaded');\n",
            sink.addr.port()
        ),
    )
    .unwrap();
    let state = dir.join("state");
    let server = Server::start_with(&state, &["--script", script.to_str().unwrap()]);
    // The script's last line has run: every setForward/clearForward before it took effect.
    server.stderr_with(&["fwd.js loaded"]);
    let d = server.get_json("/forwarding/json");
    assert_eq!(d["fromscript"]["port"], sink.addr.port());
    assert!(d.get("gone").is_none(), "{d}");
    assert!(d.get("bad").is_none(), "{d}");
    server.stderr_with(&["refused: setForward(): address \"nowhere\" is not an IP address"]);
    // Forwarding to the server's own sFlow socket would loop: refused.
    let own = server.ports.sflow;
    let r = server.put_json(
        "/forwarding/loop/json",
        &format!("{{\"address\":\"{}\",\"port\":{}}}", own.ip(), own.port()),
    );
    assert_eq!(r.status, 400);
    assert!(r.body.contains("would loop"), "{}", r.body);
    let r = server.put_json(
        "/tenant/t/json",
        "{\"collectorAddress\":\"::1\",\"collectorPort\":7000,\"filters\":{\"mac\":[\"02:00:00:00:00:01\"]}}",
    );
    assert_eq!(r.status, 204, "{}", r.body);
    let (status, _) = server.stop();
    assert!(status.success());
    let saved: Json =
        serde_json::from_slice(&std::fs::read(state.join("forwarding.json")).unwrap()).unwrap();
    assert_eq!(saved["tenants"]["t"]["collectorPort"], 7000);

    // Restarted without the script: both are back.
    let server = Server::start(&state);
    let d = server.get_json("/forwarding/json");
    assert_eq!(d["fromscript"]["port"], sink.addr.port(), "{d}");
    assert_eq!(d["fromscript"]["datagrams"], 0);
    let t = server.get_json("/tenant/t/json");
    assert_eq!(t["filters"]["mac"], serde_json::json!(["020000000001"]));
    server.stop();
    sink.finish();
}
