//! The "Metric export to Graphite" article's app (`../shared/sflow-rt-scripts/graphite.js`)
//! under `flowlens run --script`, end to end against a real Graphite carbon-cache:
//!
//! * `scripts/host-sflow.py` plays three Host sFlow agents (hsflowd is not packaged for
//!   Debian): sFlow v5 counter samples with `host_descr` (2000, os_name linux) and
//!   `host_cpu` (2003) carrying this machine's /proc values, load averages scaled by the
//!   host number. Its output (the values sent, float32-rounded) is the expectation.
//! * A carbon-cache (Debian `graphite-carbon`, installed by `.ci/run`) runs in the
//!   foreground with its own configuration, line receiver on a free loopback port and
//!   storage in the test's temporary directory.
//! * Every 15 s the script sends `linux.sum:load_one` with `graphite()`; carbon must store
//!   exactly the sum of the agents' `load_one` (read back from the whisper file with
//!   `whisper-fetch`), and the script's handler at `/script/graphite.js/json` must say
//!   `{"errors":0,"sent":N}`. A second server whose script points at a closed port must
//!   count errors with `lastError` naming the refused connection.
//!
//! The generator's datagrams are also checked against tshark, which frames them (agent,
//! counter sample, source, record count, the first record's format and length). tshark 4.0
//! has no Host sFlow decoder: it shows `host_descr` as "Unknown sample format" and, not
//! skipping the unknown record's body, misreads what follows, so the `host_cpu` floats are
//! checked in the raw UDP payload tshark extracts, walked here per the sFlow spec.

use crate::common;
use crate::run_support;

use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use run_support::{temp_dir, Server};
use serde_json::Value as Json;

/// graphite.js sends every 15 s; allow two periods plus start-up on a loaded machine.
const SEND_WITHIN: Duration = Duration::from_secs(60);

fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

/// The seed script as written, with only the Graphite address and port rewritten, written
/// into `dir`.
fn graphite_js(dir: &Path, port: u16) -> PathBuf {
    let seed_path = repo_file("../shared/sflow-rt-scripts/graphite.js");
    let seed = std::fs::read_to_string(&seed_path)
        .unwrap_or_else(|e| panic!("{}: {e}", seed_path.display()));
    let server = "var graphiteServer = \"10.0.0.151\";";
    let port_line = "var graphitePort = null;";
    assert!(
        seed.contains(server) && seed.contains(port_line),
        "seed changed"
    );
    let js = seed
        .replacen(server, "var graphiteServer = \"127.0.0.1\";", 1)
        .replacen(port_line, &format!("var graphitePort = {port};"), 1);
    let path = dir.join("graphite.js");
    std::fs::write(&path, js).unwrap();
    path
}

/// A carbon-cache in the foreground, its line receiver on a free loopback port, all its
/// files under one directory; killed on drop.
struct Carbon {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Carbon {
    fn start(dir: &Path) -> Carbon {
        let found = Command::new("sh")
            .args(["-c", "command -v carbon-cache && command -v whisper-fetch"])
            .output()
            .unwrap();
        assert!(
            found.status.success(),
            "carbon-cache and whisper-fetch are needed: apt-get install graphite-carbon \
             python3-whisper (.ci/run does)"
        );
        for attempt in 0..3 {
            let port = free_tcp_port();
            let conf = dir.join(format!("carbon-{attempt}"));
            std::fs::create_dir_all(&conf).unwrap();
            let storage = conf.join("storage");
            std::fs::write(
                conf.join("carbon.conf"),
                format!(
                    "[cache]\n\
                     STORAGE_DIR = {s}\n\
                     LOCAL_DATA_DIR = {s}/whisper\n\
                     CONF_DIR = {c}\n\
                     LOG_DIR = {c}/log\n\
                     PID_DIR = {c}\n\
                     USER =\n\
                     ENABLE_TAGS = False\n\
                     LINE_RECEIVER_INTERFACE = 127.0.0.1\n\
                     LINE_RECEIVER_PORT = {port}\n\
                     ENABLE_UDP_LISTENER = False\n\
                     PICKLE_RECEIVER_PORT = 0\n\
                     CACHE_QUERY_INTERFACE = 127.0.0.1\n\
                     CACHE_QUERY_PORT = 0\n\
                     MAX_CACHE_SIZE = inf\n\
                     MAX_UPDATES_PER_SECOND = inf\n\
                     MAX_CREATES_PER_MINUTE = inf\n\
                     WHISPER_AUTOFLUSH = True\n\
                     LOG_CREATES = True\n\
                     LOG_UPDATES = True\n",
                    s = storage.display(),
                    c = conf.display(),
                ),
            )
            .unwrap();
            std::fs::write(
                conf.join("storage-schemas.conf"),
                "[default]\npattern = .*\nretentions = 1s:1h\n",
            )
            .unwrap();
            let log = File::create(conf.join("console.log")).unwrap();
            let child = Command::new("carbon-cache")
                .arg(format!("--config={}", conf.join("carbon.conf").display()))
                .args(["--nodaemon", "start"])
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("spawn carbon-cache");
            let mut carbon = Carbon {
                child,
                port,
                dir: conf,
            };
            let start = Instant::now();
            loop {
                if carbon.child.try_wait().unwrap().is_some() {
                    // Most likely the port was taken in between: try another.
                    eprintln!("carbon-cache exited: {}", carbon.console());
                    break;
                }
                let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
                if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                    return carbon;
                }
                assert!(
                    start.elapsed() < Duration::from_secs(30),
                    "carbon-cache not listening on {addr} after 30 s: {}",
                    carbon.console()
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        panic!("carbon-cache did not start in 3 tries");
    }

    /// What carbon-cache printed (its log in the foreground).
    fn console(&self) -> String {
        std::fs::read_to_string(self.dir.join("console.log")).unwrap_or_default()
    }

    /// Carbon's whisper file for a dotted metric name: dots become directories, other
    /// characters (the `:` of `sum:load_one`) are kept.
    fn whisper_file(&self, name: &str) -> PathBuf {
        let mut p = self.dir.join("storage/whisper");
        for part in name.split('.') {
            p.push(part);
        }
        p.set_extension("wsp");
        p
    }
}

impl Drop for Carbon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_tcp_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// `a == b` but for the last bit or two: the values are exact (float32 loads and their
/// sums), but serde_json without its `float_roundtrip` feature may parse a decimal to the
/// neighbouring f64 (seen: 9.659999966621399 read as 9.6599999666214). Far tighter than
/// float32 precision (2^-23).
fn assert_same(a: f64, b: f64, what: &str) {
    assert!(
        (a - b).abs() <= 4.0 * f64::EPSILON * a.abs().max(b.abs()),
        "{a} != {b}: {what}"
    );
}

/// Runs `scripts/host-sflow.py --once` with `args`; returns its JSON report.
fn host_sflow(args: &[&str]) -> Json {
    let out = Command::new("python3")
        .arg(repo_file("scripts/host-sflow.py"))
        .arg("--once")
        .args(args)
        .output()
        .expect("run python3 scripts/host-sflow.py");
    assert!(
        out.status.success(),
        "host-sflow.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "host-sflow.py output not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// `(agent, hostname, load_one)` of each simulated host.
fn hosts(report: &Json) -> Vec<(String, String, f64)> {
    report["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["agent"].as_str().unwrap().to_owned(),
                h["hostname"].as_str().unwrap().to_owned(),
                h["load_one"].as_f64().unwrap(),
            )
        })
        .collect()
}

/// The script's handler document.
fn handler(server: &Server) -> Json {
    server.get_json("/script/graphite.js/json")
}

/// Polls the handler until `done` holds (within [`SEND_WITHIN`]).
fn wait_handler(server: &Server, done: impl Fn(&Json) -> bool) -> Json {
    let start = Instant::now();
    loop {
        let doc = handler(server);
        if done(&doc) {
            return doc;
        }
        assert!(
            start.elapsed() < SEND_WITHIN,
            "handler condition not met within {SEND_WITHIN:?}; last: {doc}; \
             scripts: {}; server said: {}",
            server.get_json("/scripts/json"),
            server.stderr()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `(timestamp, value)` of every stored point of `wsp` since `from`, via `whisper-fetch`.
fn whisper_points(wsp: &Path, from: u64) -> Vec<(u64, f64)> {
    let out = Command::new("whisper-fetch")
        .args(["--json", &format!("--from={from}")])
        .arg(wsp)
        .output()
        .expect("run whisper-fetch");
    assert!(
        out.status.success(),
        "whisper-fetch {}: {}",
        wsp.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "whisper-fetch output not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    let start = doc["start"].as_u64().unwrap();
    let step = doc["step"].as_u64().unwrap();
    doc["values"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.as_f64().map(|v| (start + i as u64 * step, v)))
        .collect()
}

#[test]
fn graphite_js_exports_sum_load_one_to_carbon() {
    if common::shared_file_or_skip(
        "script_graphite::graphite_js_exports_sum_load_one_to_carbon",
        "sflow-rt-scripts",
    )
    .is_none()
    {
        return;
    }
    let dir = temp_dir("graphite");
    let t0 = unix_now();
    let carbon = Carbon::start(&dir);

    // Server A sends to carbon; server B to a port nobody listens on.
    let ok_dir = dir.join("ok");
    let bad_dir = dir.join("bad");
    std::fs::create_dir_all(&ok_dir).unwrap();
    std::fs::create_dir_all(&bad_dir).unwrap();
    let closed = free_tcp_port();
    let ok_js = graphite_js(&ok_dir, carbon.port);
    let bad_js = graphite_js(&bad_dir, closed);
    let ok = Server::start_with(
        &ok_dir.join("state"),
        &["--script", ok_js.to_str().unwrap()],
    );
    let bad = Server::start_with(
        &bad_dir.join("state"),
        &["--script", bad_js.to_str().unwrap()],
    );
    for s in [&ok, &bad] {
        let doc = handler(s);
        assert_eq!(doc, serde_json::json!({"errors": 0, "sent": 0}), "at start");
    }

    // One round of Host sFlow counters from three agents to each server.
    let report = host_sflow(&["-p", &ok.ports.sflow.port().to_string(), "--hosts", "3"]);
    host_sflow(&["-p", &bad.ports.sflow.port().to_string(), "--hosts", "3"]);
    let sent_hosts = hosts(&report);
    assert_eq!(sent_hosts.len(), 3);
    // Each load_one is a float32 and they are within a factor of 3 of each other, so their
    // sum is exact in f64 whatever the order.
    let expected: f64 = sent_hosts.iter().map(|h| h.2).sum();
    assert_same(
        expected,
        report["sum_load_one"].as_f64().unwrap(),
        "generator's sum",
    );

    // The engine decoded them: per agent and summed over the linux hosts.
    let doc = ok.wait_for("/metric/ALL/sum:load_one/json?os_name=linux", |d| {
        d[0]["metricN"] == 3
    });
    assert_eq!(doc[0]["metricName"], "sum:load_one");
    assert_same(
        doc[0]["metricValue"].as_f64().unwrap(),
        expected,
        &doc.to_string(),
    );
    for (agent, hostname, load_one) in &sent_hosts {
        let m = ok.get_json(&format!("/metric/{agent}/json"));
        assert_same(
            m["2.1.load_one"].as_f64().unwrap(),
            *load_one,
            &m.to_string(),
        );
        assert_eq!(m["2.1.host_name"], hostname.as_str(), "{agent}: {m}");
        assert_eq!(m["2.1.os_name"], "linux", "{agent}: {m}");
    }
    // Not linux: nothing matches.
    let none = ok.get_json("/metric/ALL/sum:load_one/json?os_name=windows");
    assert!(none[0]["metricValue"].is_null(), "{none}");

    // The script sends within two periods; carbon stores exactly the sum.
    let wsp = carbon.whisper_file("linux.sum:load_one");
    assert!(wsp.ends_with("linux/sum:load_one.wsp"));
    let start = Instant::now();
    let points = loop {
        let p = if wsp.is_file() {
            whisper_points(&wsp, t0.saturating_sub(5))
        } else {
            Vec::new()
        };
        if !p.is_empty() {
            break p;
        }
        assert!(
            start.elapsed() < SEND_WITHIN,
            "carbon stored nothing for linux.sum:load_one within {SEND_WITHIN:?}; handler: {}; \
             carbon: {}; server: {}",
            handler(&ok),
            carbon.console(),
            ok.stderr()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let now = unix_now();
    eprintln!("expected sum:load_one {expected}; carbon stored {points:?}");
    for (t, v) in &points {
        assert_same(*v, expected, &format!("point at {t}: {points:?}"));
        assert!((t0..=now).contains(t), "point time {t} not in {t0}..={now}");
    }
    let doc = handler(&ok);
    let sent = doc["sent"].as_u64().unwrap();
    assert!(sent >= 1, "{doc}");
    assert!(points.len() as u64 <= sent, "{points:?} vs {doc}");
    assert_eq!(doc["errors"], 0, "{doc}");
    assert!(doc.get("lastError").is_none(), "{doc}");
    assert_eq!(
        doc.as_object().unwrap().len(),
        2,
        "only errors and sent: {doc}"
    );

    // The other server's sends fail: errors grow, lastError says why.
    let doc = wait_handler(&bad, |d| d["errors"].as_u64() >= Some(1));
    assert_eq!(doc["sent"], 0, "{doc}");
    eprintln!("closed port {closed}: {doc}");
    let last = doc["lastError"].as_str().expect("lastError");
    assert!(last.contains("refused"), "{last}");
    assert!(last.contains(&format!("127.0.0.1:{closed}")), "{last}");
    let scripts = bad.get_json("/scripts/json");
    assert_eq!(scripts[0]["alive"], true, "{scripts}");
    assert!(
        scripts[0]["actions"]["graphite"]["errors"].as_u64() >= Some(1),
        "{scripts}"
    );

    drop(carbon);
    ok.stop();
    bad.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

/// tshark reads the generator's datagrams as sFlow v5 counter samples from the right
/// agents; the host_cpu floats and the host_memory and host_net_io members (which tshark 4.0
/// cannot decode) are where the spec puts them.
#[test]
fn host_sflow_datagrams_match_the_spec() {
    let dir = temp_dir("graphite-tshark");
    let pcap = dir.join("host.pcap");
    let report = host_sflow(&["--pcap", pcap.to_str().unwrap(), "--hosts", "3"]);
    let sent = hosts(&report);
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(&pcap)
        .args([
            "-d",
            "udp.port==6343,sflow",
            "-T",
            "fields",
            "-E",
            "separator=|",
        ])
        .args([
            "-e",
            "sflow_245.version",
            "-e",
            "sflow_245.agent",
            "-e",
            "sflow_245.numsamples",
            "-e",
            "sflow_245.sampletype",
            "-e",
            "sflow.counters_sample.source_id_type",
            "-e",
            "sflow.counters_sample.source_id_index",
            "-e",
            "sflow.counters_sample.counters_records",
            "-e",
            "sflow_245.counters_record_format",
            "-e",
            "udp.payload",
        ])
        .output()
        .expect("run tshark");
    assert!(
        out.status.success(),
        "tshark: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), sent.len(), "{text}");
    let values = report["hosts"].as_array().unwrap();
    for ((line, (agent, hostname, load_one)), v) in lines.iter().zip(&sent).zip(values) {
        let f: Vec<&str> = line.split('|').collect();
        assert_eq!(f[0], "5", "{line}");
        assert_eq!(f[1], agent, "{line}");
        assert_eq!(f[2], "1", "{line}");
        assert_eq!(f[3], "2", "counter sample: {line}");
        assert_eq!((f[4], f[5]), ("2", "1"), "data source 2:1: {line}");
        assert_eq!(f[6], "4", "four records: {line}");
        assert_eq!(
            f[7].split(',').next(),
            Some("2000"),
            "host_descr first: {line}"
        );

        // The payload per sFlow v5: 28-byte IPv4 header, sample tag and length, counter
        // sample header (sequence, source, record count), then tagged records.
        let hex = f[8].replace(':', "");
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        let word = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
        let sample_len = word(32) as usize;
        assert_eq!(36 + sample_len, bytes.len(), "sample length");
        assert_eq!(word(44), 4, "record count");
        let mut at = 48;
        let mut seen = Vec::new();
        while at < bytes.len() {
            let (format, len) = (word(at), word(at + 4) as usize);
            let body = &bytes[at + 8..at + 8 + len];
            match format {
                2000 => {
                    let n = u32::from_be_bytes(body[..4].try_into().unwrap()) as usize;
                    assert_eq!(&body[4..4 + n], hostname.as_bytes());
                    let os = 4 + n.div_ceil(4) * 4 + 16 + 4;
                    let os_name = u32::from_be_bytes(body[os..os + 4].try_into().unwrap());
                    assert_eq!(os_name, 2, "os_name linux");
                }
                2003 => {
                    assert_eq!(len, 68, "host_cpu length");
                    let l1 = f32::from_be_bytes(body[..4].try_into().unwrap());
                    assert_same(f64::from(l1), *load_one, agent);
                }
                2004 => {
                    assert_eq!(len, 72, "host_memory length");
                    let hyper = |i: usize| u64::from_be_bytes(body[i..i + 8].try_into().unwrap());
                    assert_eq!(Some(hyper(0)), v["mem_total"].as_u64(), "mem_total");
                    assert_eq!(Some(hyper(8)), v["mem_free"].as_u64(), "mem_free");
                    assert_eq!(Some(hyper(32)), v["mem_cached"].as_u64(), "mem_cached");
                }
                2006 => {
                    assert_eq!(len, 40, "host_net_io length");
                    let hyper = |i: usize| u64::from_be_bytes(body[i..i + 8].try_into().unwrap());
                    assert_eq!(Some(hyper(0)), v["bytes_in"].as_u64(), "bytes_in");
                    assert_eq!(Some(hyper(20)), v["bytes_out"].as_u64(), "bytes_out");
                }
                other => panic!("unexpected record {other}"),
            }
            seen.push(format);
            at += 8 + len;
        }
        assert_eq!(at, bytes.len());
        assert_eq!(seen, [2000, 2003, 2004, 2006]);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
