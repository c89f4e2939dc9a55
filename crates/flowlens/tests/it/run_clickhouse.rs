//! `flowlens run --clickhouse`: history in a real `clickhouse-server` (Debian 12's 18.16)
//! started by each test on loopback (`run_support::clickhouse`). softflowd's NetFlow v9 export
//! of `synthetic-traffic.pcap` is replayed over UDP; the rows in `flowlens.flows` must add up
//! to the capture's own counts (decoded here, independently of flowlens).

use crate::run_support;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::path::Path;
use std::time::{Duration, Instant};

use pcap_parser::PcapCapture;
use run_support::clickhouse::ClickHouse;
use run_support::{exporter_capture, temp_dir, udp_payloads, Server};
use serde_json::Value as Json;

/// Frames per 5-tuple (source, destination, protocol, source port, destination port) of
/// `synthetic-traffic.pcap` (Ethernet, optionally one 802.1Q tag, IPv4 or IPv6).
fn capture_five_tuples() -> BTreeMap<String, u64> {
    let bytes = std::fs::read(exporter_capture("synthetic-traffic.pcap")).unwrap();
    let cap = PcapCapture::from_file(&bytes).unwrap();
    let mut out = BTreeMap::new();
    for b in &cap.blocks {
        let f = b.data;
        let mut ethertype = u16::from_be_bytes([f[12], f[13]]);
        let mut off = 14;
        if ethertype == 0x8100 {
            ethertype = u16::from_be_bytes([f[16], f[17]]);
            off = 18;
        }
        let ip = &f[off..];
        let (src, dst, proto, l4): (IpAddr, IpAddr, u8, &[u8]) = match ethertype {
            0x0800 => {
                let ihl = usize::from(ip[0] & 0x0f) * 4;
                let a: [u8; 4] = ip[12..16].try_into().unwrap();
                let b: [u8; 4] = ip[16..20].try_into().unwrap();
                (a.into(), b.into(), ip[9], &ip[ihl..])
            }
            0x86dd => {
                let a: [u8; 16] = ip[8..24].try_into().unwrap();
                let b: [u8; 16] = ip[24..40].try_into().unwrap();
                (a.into(), b.into(), ip[6], &ip[40..])
            }
            e => panic!("unexpected ethertype {e:#06x}"),
        };
        let (sp, dp) = match proto {
            6 | 17 => (
                u16::from_be_bytes([l4[0], l4[1]]),
                u16::from_be_bytes([l4[2], l4[3]]),
            ),
            _ => (0, 0),
        };
        *out.entry(format!("{src}\t{dst}\t{proto}\t{sp}\t{dp}"))
            .or_default() += 1;
    }
    out
}

/// The softflowd NetFlow v9 datagrams.
fn softflowd_v9() -> Vec<Vec<u8>> {
    let p = udp_payloads(&exporter_capture("netflow9-softflowd.pcap"));
    assert!(!p.is_empty());
    p
}

/// `[clickhouse]` config for `ch` (small batches so rows arrive quickly).
fn config(dir: &Path, ch: &ClickHouse, extra: &str) -> String {
    let cfg = dir.join("flowlens.toml");
    std::fs::write(
        &cfg,
        format!(
            "[clickhouse]\nurl = \"{}\"\nbatch-interval-ms = 200\nbatch-rows = 500\n{extra}",
            ch.url()
        ),
    )
    .unwrap();
    cfg.display().to_string()
}

/// Sends `payloads` from `from` to `to`, `chunk` at a time, waiting after each chunk until
/// the server has received them all (`netflowDatagramsReceived` of `server` reaches
/// `base` + sent).
fn replay(server: &Server, from: Ipv4Addr, payloads: &[Vec<u8>], base: u64) {
    let sock = UdpSocket::bind(SocketAddr::from((from, 0))).unwrap();
    let mut sent = 0u64;
    for c in payloads.chunks(20) {
        for p in c {
            sock.send_to(p, server.ports.netflow).unwrap();
        }
        sent += c.len() as u64;
        let want = base + sent;
        server.wait_for("/analyzer/json", |d| {
            d["netflowDatagramsReceived"].as_u64() >= Some(want)
        });
    }
}

/// Polls the analyzer until `done` holds, at most `within`.
fn wait_analyzer(server: &Server, within: Duration, done: impl Fn(&Json) -> bool) -> Json {
    let start = Instant::now();
    loop {
        let d = server.get_json("/analyzer/json");
        if done(&d) {
            return d;
        }
        assert!(
            start.elapsed() < within,
            "analyzer condition not met within {within:?}: {d}\n{}",
            server.stderr()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Polls the server's standard error (read by a thread of the test) until it holds `needle`.
fn wait_stderr(server: &Server, needle: &str) {
    let start = Instant::now();
    while !server.stderr().contains(needle) {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{needle:?} not on stderr: {}",
            server.stderr()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn records_sent(d: &Json) -> u64 {
    d["clickhouseRowsSent"].as_u64().unwrap_or(0)
}

/// Polls ClickHouse until `flowlens.flows` holds `rows` rows (30 s at most), then checks it
/// holds no more.
fn wait_flow_rows(ch: &ClickHouse, server: &Server, rows: u64) {
    let start = Instant::now();
    loop {
        let n: u64 = ch
            .query("SELECT count() FROM flowlens.flows")
            .trim()
            .parse()
            .unwrap();
        if n >= rows {
            assert_eq!(
                n,
                rows,
                "rows in flowlens.flows; {}\n{}",
                server.get_json("/analyzer/json"),
                server.stderr()
            );
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "flowlens.flows holds {n} of {rows} rows after 30 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Per 5-tuple frame sums in the database, keyed as [`capture_five_tuples`].
fn db_five_tuples(ch: &ClickHouse) -> BTreeMap<String, u64> {
    let out = ch.query(
        "SELECT if(ipsource != '', ipsource, ip6source) AS s, \
         if(ipdestination != '', ipdestination, ip6destination) AS d, \
         if(ipsource != '', ipprotocol, ip6nexthdr) AS p, \
         tcpsourceport + udpsourceport AS sp, tcpdestinationport + udpdestinationport AS dp, \
         sum(frames) FROM flowlens.flows GROUP BY s, d, p, sp, dp",
    );
    out.lines()
        .map(|l| {
            let (k, n) = l.rsplit_once('\t').unwrap();
            (k.to_string(), n.parse().unwrap())
        })
        .collect()
}

/// README.md's SQL: the blocks of its "### Queries" section, and the statements of the
/// cluster layout (`CREATE … ON CLUSTER`).
fn readme_sql() -> (Vec<String>, Vec<String>) {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .unwrap();
    let mut queries = Vec::new();
    let mut cluster = Vec::new();
    let mut section = "";
    let mut block: Option<String> = None;
    for line in readme.lines() {
        if let Some(h) = line.strip_prefix("### ") {
            section = h;
        }
        match (&mut block, line) {
            (None, "```sql") => block = Some(String::new()),
            (Some(b), "```") => {
                let b = std::mem::take(b);
                if section == "Queries" {
                    queries.push(b);
                } else if section.starts_with("Scale-out") {
                    cluster.extend(
                        b.split(';')
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .map(str::to_string),
                    );
                }
                block = None;
            }
            (Some(b), l) => {
                b.push_str(l);
                b.push('\n');
            }
            (None, _) => {}
        }
    }
    (queries, cluster)
}

#[test]
fn clickhouse_softflowd_netflow9_rows_add_up_to_the_capture() {
    let dir = temp_dir("ch-softflowd");
    let ch = ClickHouse::start(&dir.join("clickhouse"));
    let cfg = config(&dir, &ch, "");
    let server = Server::start_with(&dir.join("state"), &["--config", &cfg]);
    let payloads = softflowd_v9();
    replay(&server, Ipv4Addr::LOCALHOST, &payloads, 0);
    let records = server.get_json("/analyzer/json")["netflowRecords"]
        .as_u64()
        .unwrap();
    assert!(records > 0);
    let d = wait_analyzer(&server, Duration::from_secs(30), |d| {
        records_sent(d) >= records
    });
    assert_eq!(records_sent(&d), records, "{d}");
    assert_eq!(d["clickhouseDroppedRows"], 0, "{d}");
    assert_eq!(d["clickhouseConnected"], true, "{d}");

    assert_eq!(
        ch.query("SELECT sum(frames) FROM flowlens.flows").trim(),
        "9000"
    );
    assert_eq!(
        ch.query("SELECT count() FROM flowlens.flows").trim(),
        records.to_string()
    );
    assert_eq!(
        ch.query("SELECT max(version) FROM flowlens.schema_version")
            .trim(),
        "2"
    );
    let truth = capture_five_tuples();
    let got = db_five_tuples(&ch);
    assert_eq!(got.len(), truth.len());
    assert_eq!(got, truth);
    // Every row is one record of the one exporter, 1-in-1, with its byte count.
    assert_eq!(
        ch.query(
            "SELECT uniqExact(agent), min(sampling_rate), max(sampling_rate), sum(samples), \
             min(bytes) > 0 FROM flowlens.flows"
        )
        .trim(),
        format!("1\t1\t1\t{records}\t1")
    );

    // Prometheus carries the same counters.
    let prom = server.get("/prometheus/analyzer/txt").body;
    assert!(
        prom.contains(&format!("sflow_analyzer_clickhouse_rows_sent {records}.0")),
        "{prom}"
    );

    // The README's queries run on this server, and its Distributed layout (without
    // `ON CLUSTER`, which needs ZooKeeper) reads the same rows.
    let (queries, cluster) = readme_sql();
    assert_eq!(queries.len(), 4);
    for q in &queries {
        ch.query(q);
    }
    let vni = ch.query(&queries[1]);
    assert!(vni.is_empty(), "softflowd exports no VNI: {vni}");
    let top = ch.query(&queries[0].replace("now() - INTERVAL 1 HOUR", "toDateTime(0)"));
    assert_eq!(top.lines().count(), 10, "{top}");
    for stmt in cluster {
        ch.query(&stmt.replace(" ON CLUSTER fabric", ""));
    }
    assert_eq!(
        ch.query("SELECT sum(frames) FROM flowlens_all.flows")
            .trim(),
        "9000"
    );

    // A restart migrates nothing and adds nothing.
    let (status, _) = server.stop();
    assert!(status.success());
    let server = Server::start_with(&dir.join("state"), &["--config", &cfg]);
    assert_eq!(
        ch.query("SELECT count() FROM flowlens.schema_version")
            .trim(),
        "1"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn clickhouse_stopped_mid_replay_loses_no_row() {
    let dir = temp_dir("ch-outage");
    let mut ch = ClickHouse::start(&dir.join("clickhouse"));
    let cfg = config(&dir, &ch, "");
    let server = Server::start_with(&dir.join("state"), &["--config", &cfg]);
    let payloads = softflowd_v9();
    let third = payloads.len() / 3;
    let (first, rest) = payloads.split_at(third);
    let (second, last) = rest.split_at(third);
    let (tell, told) = std::sync::mpsc::channel::<()>();
    let records = std::thread::scope(|s| {
        // The replay runs on its own thread: its first third while rows flow into ClickHouse,
        // its second third as soon as ClickHouse's stop begins (rows in flight while it
        // shuts down), its last third once ClickHouse is down.
        let server = &server;
        let replaying = s.spawn(move || {
            replay(server, Ipv4Addr::LOCALHOST, first, 0);
            told.recv().unwrap();
            replay(server, Ipv4Addr::LOCALHOST, second, first.len() as u64);
            told.recv().unwrap();
            let base = (first.len() + second.len()) as u64;
            replay(server, Ipv4Addr::LOCALHOST, last, base);
        });
        // Rows are reaching ClickHouse: stop it while the replay goes on.
        wait_analyzer(server, Duration::from_secs(30), |d| records_sent(d) > 0);
        tell.send(()).unwrap();
        ch.stop();
        tell.send(()).unwrap();
        replaying.join().unwrap();
        server.get_json("/analyzer/json")["netflowRecords"]
            .as_u64()
            .unwrap()
    });
    // What the collector could not send is spooled, nothing dropped.
    let d = wait_analyzer(&server, Duration::from_secs(30), |d| {
        d["clickhouseSpooledBytes"].as_u64() > Some(0)
    });
    assert!(records_sent(&d) < records, "{d}");
    assert_eq!(d["clickhouseConnected"], false, "{d}");
    assert!(
        d["clickhouseLastError"]
            .as_str()
            .is_some_and(|e| e.contains("cannot reach ClickHouse")),
        "{d}"
    );

    ch.restart();
    let d = wait_analyzer(&server, Duration::from_secs(120), |d| {
        records_sent(d) >= records && d["clickhouseSpooledBytes"] == 0
    });
    assert_eq!(records_sent(&d), records, "{d}");
    assert!(d["clickhouseBatchesRetried"].as_u64() > Some(0), "{d}");
    assert_eq!(d["clickhouseDroppedRows"], 0, "{d}");
    assert_eq!(
        ch.query("SELECT count() FROM flowlens.flows").trim(),
        records.to_string()
    );
    assert_eq!(
        ch.query("SELECT sum(frames) FROM flowlens.flows").trim(),
        "9000"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn clickhouse_two_collectors_add_up_in_one_database() {
    let dir = temp_dir("ch-two");
    let ch = ClickHouse::start(&dir.join("clickhouse"));
    // The second logs in as user `flowlens` with a password file.
    std::fs::write(dir.join("password"), "s3cret\n").unwrap();
    let cfg_a = config(&dir, &ch, "");
    let cfg_b = dir.join("b.toml");
    std::fs::write(
        &cfg_b,
        format!(
            "[clickhouse]\nurl = \"{}\"\nbatch-interval-ms = 200\nuser = \"flowlens\"\n\
             password-file = \"password\"\nspool-dir = \"spool-b\"\n",
            ch.url()
        ),
    )
    .unwrap();
    let a = Server::start_with(&dir.join("state-a"), &["--config", &cfg_a]);
    let b = Server::start_with(&dir.join("state-b"), &["--config", cfg_b.to_str().unwrap()]);
    // Each collector owns one exporter: the same export from two addresses.
    let payloads = softflowd_v9();
    replay(&a, Ipv4Addr::new(127, 0, 0, 1), &payloads, 0);
    replay(&b, Ipv4Addr::new(127, 0, 0, 2), &payloads, 0);
    for s in [&a, &b] {
        let records = s.get_json("/analyzer/json")["netflowRecords"]
            .as_u64()
            .unwrap();
        wait_analyzer(s, Duration::from_secs(30), |d| records_sent(d) >= records);
    }
    assert_eq!(
        ch.query("SELECT agent, sum(frames) FROM flowlens.flows GROUP BY agent ORDER BY agent"),
        "127.0.0.1\t9000\n127.0.0.2\t9000\n"
    );
    assert_eq!(
        ch.query("SELECT sum(frames) FROM flowlens.flows").trim(),
        "18000"
    );
    drop((a, b));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn clickhouse_bad_credentials_are_a_clear_error_and_counted() {
    let dir = temp_dir("ch-badauth");
    let ch = ClickHouse::start(&dir.join("clickhouse"));
    std::fs::write(dir.join("password"), "wrong\n").unwrap();
    let cfg = config(
        &dir,
        &ch,
        "user = \"flowlens\"\npassword-file = \"password\"\n",
    );
    let server = Server::start_with(&dir.join("state"), &["--config", &cfg]);
    wait_stderr(&server, "refused the credentials");
    replay(&server, Ipv4Addr::LOCALHOST, &softflowd_v9()[..10], 0);
    let d = wait_analyzer(&server, Duration::from_secs(30), |d| {
        d["clickhouseSpooledBytes"].as_u64() > Some(0)
    });
    assert_eq!(d["clickhouseConnected"], false);
    assert!(d["clickhouseErrors"].as_u64() > Some(0));
    assert!(d["clickhouseLastError"]
        .as_str()
        .is_some_and(|e| e.contains("Wrong password")));
    assert_eq!(records_sent(&d), 0);
    let (status, _) = server.stop();
    assert!(status.success());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Sends every payload of `capture` to `server`'s sFlow port and waits until all arrived.
fn replay_sflow(server: &Server, capture: &str) -> u64 {
    let payloads = udp_payloads(&exporter_capture(capture));
    let n = payloads.len() as u64;
    // The counter is cumulative: wait for this capture's datagrams on top of earlier ones.
    let before = server.get_json("/analyzer/json")["sFlowDatagramsReceived"]
        .as_u64()
        .unwrap();
    run_support::send_all(server.ports.sflow, &payloads, 50, |sent| {
        server.wait_for("/analyzer/json", |d| {
            d["sFlowDatagramsReceived"].as_u64() >= Some(before + sent as u64)
        });
    });
    n
}

/// What `flowlens top --totals` says of `capture` (the table's data lines, without the
/// 95 % interval column).
fn top_totals(capture: &str, keys: &str) -> Vec<String> {
    top_totals_ci(capture, keys, "frames")
        .into_iter()
        .map(|l| l.rsplit_once('\t').unwrap().0.to_string())
        .collect()
}

/// The data lines of `flowlens top --totals --value value`, tab-separated, with the 95 %
/// interval.
fn top_totals_ci(capture: &str, keys: &str, value: &str) -> Vec<String> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_flowlens"))
        .args([
            "top", "--totals", "--quiet", "--value", value, "--keys", keys,
        ])
        .arg(exporter_capture(capture))
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join("\t"))
        .collect()
}

#[test]
fn clickhouse_sflow_samples_tunnels_counters_and_events() {
    let dir = temp_dir("ch-sflow");
    let ch = ClickHouse::start(&dir.join("clickhouse"));
    let cfg = config(&dir, &ch, "counter-interval-ms = 1000\n");
    let server = Server::start_with(&dir.join("state"), &["--config", &cfg]);
    // A threshold every frame crosses: its events go to `events`.
    assert_eq!(
        server
            .put_json(
                "/flow/src/json",
                "{\"keys\":\"ipsource\",\"value\":\"frames\"}"
            )
            .status,
        204
    );
    assert_eq!(
        server
            .put_json(
                "/threshold/any/json",
                "{\"metric\":\"src\",\"value\":0.001,\"byFlow\":true}"
            )
            .status,
        204
    );

    // Open vSwitch's underlay bridge: VXLAN (VNI 100), GRE and ERSPAN copies.
    replay_sflow(&server, "sflow-ovs-underlay-tunnels.pcap");
    let samples = server.get_json("/analyzer/json")["flowSamples"]
        .as_u64()
        .unwrap();
    // `clickhouseRowsSent` also counts the `events` and `counters` rows: wait on `flows`.
    wait_flow_rows(&ch, &server, samples);
    assert_eq!(
        ch.query("SELECT count(), sum(samples) FROM flowlens.flows")
            .trim(),
        format!("{samples}\t{samples}")
    );
    // The rows add up as flowlens top adds up the capture, inner keys included.
    let mut want = top_totals("sflow-ovs-underlay-tunnels.pcap", "vxlanvni,ipsource.1");
    want.sort();
    let got: Vec<String> = ch
        .query(
            "SELECT vxlanvni, ipsource_1, sum(frames) FROM flowlens.flows \
             WHERE vxlanvni != 0 GROUP BY vxlanvni, ipsource_1 ORDER BY vxlanvni, ipsource_1",
        )
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(got, want);
    assert_eq!(
        ch.query("SELECT sum(frames) FROM flowlens.flows").trim(),
        top_totals("sflow-ovs-underlay-tunnels.pcap", "agent")[0]
            .split('\t')
            .nth(1)
            .unwrap()
    );

    // Open vSwitch's bridge, 1-in-10 with interface counters: rows scaled by the rate, and
    // counter rates in `counters`.
    replay_sflow(&server, "sflow-ovs-br0.pcap");
    let samples = server.get_json("/analyzer/json")["flowSamples"]
        .as_u64()
        .unwrap();
    wait_flow_rows(&ch, &server, samples);
    assert_eq!(
        ch.query(
            "SELECT min(sampling_rate), max(sampling_rate), sum(frames) = 10 * count() \
             FROM flowlens.flows WHERE agent = '127.0.0.1'"
        )
        .trim(),
        "10\t10\t1"
    );
    // The README's error bars in SQL equal flowlens top's 95 % intervals of the same totals.
    for value in ["frames", "bytes"] {
        let want = top_totals_ci("sflow-ovs-br0.pcap", "agent", value);
        let var = if value == "frames" {
            "frames * (sampling_rate - 1)"
        } else {
            "if(frames > 0, bytes * bytes * (sampling_rate - 1) / frames, 0)"
        };
        let got = ch.query(&format!(
            "SELECT agent, sum({value}), round(1.96 * sqrt(sum({var})), 1) \
             FROM flowlens.flows WHERE agent = '127.0.0.1' GROUP BY agent"
        ));
        let got: Vec<&str> = got.trim().split('\t').collect();
        let want: Vec<&str> = want[0].split('\t').collect();
        assert_eq!(got[..2], want[..2], "{value}");
        let (g, w): (f64, f64) = (got[2].parse().unwrap(), want[2].parse().unwrap());
        assert!(w > 0.0 && (g - w).abs() <= 0.1, "{value}: {g} vs {w}");
    }
    let start = Instant::now();
    loop {
        let n: u64 = ch
            .query(
                "SELECT count() FROM flowlens.counters WHERE agent = '127.0.0.1' \
                 AND metric = 'ifinoctets'",
            )
            .trim()
            .parse()
            .unwrap();
        if n > 0 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "no counter rows");
        std::thread::sleep(Duration::from_millis(100));
    }

    // The threshold's events, as /events/json lists them (more may follow: every listed
    // event must be in the table, with its threshold and value).
    let events = server.get_json("/events/json?maxEvents=10000");
    let listed = events.as_array().unwrap();
    assert!(!listed.is_empty(), "{events}");
    let ids: Vec<String> = listed.iter().map(|e| e["eventID"].to_string()).collect();
    let sql = format!(
        "SELECT count() FROM flowlens.events WHERE threshold_id = 'any' AND metric = 'src' \
         AND value > 0 AND event_id IN ({})",
        ids.join(",")
    );
    let start = Instant::now();
    loop {
        let got: usize = ch.query(&sql).trim().parse().unwrap();
        if got == ids.len() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{got} of {} events",
            ids.len()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn clickhouse_retention_drops_old_days_and_a_newer_schema_is_refused() {
    let dir = temp_dir("ch-retention");
    let ch = ClickHouse::start(&dir.join("clickhouse"));
    let cfg = config(&dir, &ch, "retention-days = 30\n");
    // First start: the tables.
    let server = Server::start_with(&dir.join("state"), &["--config", &cfg]);
    let (status, _) = server.stop();
    assert!(status.success());
    ch.query(
        "INSERT INTO flowlens.flows (time, agent, frames) VALUES \
         (now() - 86400 * 60, 'old', 1), (now() - 86400 * 40, 'old', 1), (now(), 'new', 1)",
    );
    // Retention runs at start: the two old days go, today stays.
    let server = Server::start_with(&dir.join("state"), &["--config", &cfg]);
    let d = wait_analyzer(&server, Duration::from_secs(30), |d| {
        d["clickhousePartitionsDropped"].as_u64() >= Some(2)
    });
    assert_eq!(d["clickhousePartitionsDropped"], 2, "{d}");
    assert_eq!(
        ch.query("SELECT agent, count() FROM flowlens.flows GROUP BY agent"),
        "new\t1\n"
    );
    drop(server);

    // A database written by a newer flowlens: a clear error, nothing written, no crash.
    ch.query("CREATE DATABASE future");
    ch.query(
        "CREATE TABLE future.schema_version (version UInt32, applied DateTime) ENGINE = TinyLog",
    );
    ch.query("INSERT INTO future.schema_version VALUES (99, now())");
    let cfg = config(&dir, &ch, "database = \"future\"\n");
    let server = Server::start_with(&dir.join("state"), &["--config", &cfg]);
    wait_stderr(&server, "schema version 99, newer than this flowlens");
    assert_eq!(ch.query("EXISTS TABLE future.flows").trim(), "0");
    let (status, _) = server.stop();
    assert!(status.success());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn clickhouse_a_refused_batch_is_set_aside_and_a_dropped_table_recreated() {
    let dir = temp_dir("ch-refused");
    let ch = ClickHouse::start(&dir.join("clickhouse"));
    let cfg = config(&dir, &ch, "");
    let server = Server::start_with(&dir.join("state"), &["--config", &cfg]);
    let payloads = softflowd_v9();
    let (first, rest) = payloads.split_at(20);
    let (second, _) = rest.split_at(20);

    // A column the rows cannot fill (the table is still empty): the server refuses the batch;
    // after 5 refusals in a row it is set aside and its rows counted as dropped.
    ch.query("ALTER TABLE flowlens.flows MODIFY COLUMN ipsource Array(String)");
    replay(&server, Ipv4Addr::LOCALHOST, first, 0);
    let n1 = server.get_json("/analyzer/json")["netflowRecords"]
        .as_u64()
        .unwrap();
    let d = wait_analyzer(&server, Duration::from_secs(150), |d| {
        d["clickhouseDroppedRows"].as_u64() == Some(n1)
    });
    assert!(d["clickhouseErrors"].as_u64() >= Some(6), "{d}");
    assert_eq!(records_sent(&d), 0, "{d}");
    wait_stderr(&server, "refused 5 times");
    // The last batch set aside (all rows, unless a tick split the replay in two batches).
    let kept =
        std::fs::read_to_string(dir.join("state/clickhouse-spool/rejected-last.jsonl")).unwrap();
    let kept = kept.lines().count() as u64;
    assert!(kept > 0 && kept <= n1, "{kept}");

    // The table dropped by hand: created again at the next insert, no row lost.
    ch.query("DROP TABLE flowlens.flows");
    replay(&server, Ipv4Addr::LOCALHOST, second, first.len() as u64);
    let n2 = server.get_json("/analyzer/json")["netflowRecords"]
        .as_u64()
        .unwrap();
    let d = wait_analyzer(&server, Duration::from_secs(60), |d| {
        records_sent(d) >= n2 - n1
    });
    assert_eq!(records_sent(&d), n2 - n1, "{d}");
    assert_eq!(
        ch.query("SELECT count() FROM flowlens.flows").trim(),
        (n2 - n1).to_string()
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn clickhouse_spool_survives_a_collector_restart_and_respects_its_cap() {
    let dir = temp_dir("ch-spool-restart");
    let mut ch = ClickHouse::start(&dir.join("clickhouse"));
    let cfg = config(&dir, &ch, "");
    let server = Server::start_with(&dir.join("state"), &["--config", &cfg]);
    ch.stop();
    let payloads = softflowd_v9();
    replay(&server, Ipv4Addr::LOCALHOST, &payloads, 0);
    let records = server.get_json("/analyzer/json")["netflowRecords"]
        .as_u64()
        .unwrap();
    wait_analyzer(&server, Duration::from_secs(30), |d| {
        d["clickhouseSpooledBytes"].as_u64() > Some(0)
    });
    // Stopped while ClickHouse is down: quickly, the queued rows spooled too.
    let t = Instant::now();
    let (status, _) = server.stop();
    assert!(status.success());
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    let spooled: u64 = std::fs::read_dir(dir.join("state/clickhouse-spool"))
        .unwrap()
        .map(|e| {
            std::fs::read_to_string(e.unwrap().path())
                .unwrap()
                .lines()
                .count() as u64
        })
        .sum();
    assert_eq!(spooled, records);

    // Back: the next collector sends what the last one spooled.
    ch.restart();
    let server = Server::start_with(&dir.join("state"), &["--config", &cfg]);
    let d = wait_analyzer(&server, Duration::from_secs(60), |d| {
        records_sent(d) >= records && d["clickhouseSpooledBytes"] == 0
    });
    assert_eq!(records_sent(&d), records, "{d}");
    assert_eq!(
        ch.query("SELECT sum(frames) FROM flowlens.flows").trim(),
        "9000"
    );
    drop(server);

    // A 1 MiB spool cap: what does not fit is dropped and counted, never more than the cap.
    ch.stop();
    let cfg = config(&dir, &ch, "spool-max-mb = 1\n");
    let _ = std::fs::remove_dir_all(dir.join("state/clickhouse-spool"));
    let server = Server::start_with(&dir.join("state"), &["--config", &cfg]);
    let mut base = 0;
    for _ in 0..4 {
        replay(&server, Ipv4Addr::LOCALHOST, &payloads, base);
        base += payloads.len() as u64;
    }
    let records = server.get_json("/analyzer/json")["netflowRecords"]
        .as_u64()
        .unwrap();
    let d = wait_analyzer(&server, Duration::from_secs(30), |d| {
        d["clickhouseDroppedRows"].as_u64() > Some(0)
    });
    let bytes = d["clickhouseSpooledBytes"].as_u64().unwrap();
    assert!(bytes > 0 && bytes <= 1 << 20, "{d}");
    assert!(d["clickhouseDroppedRows"].as_u64() < Some(records), "{d}");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn clickhouse_netflow5_netflow9_and_ipfix_of_one_trace_each_add_up() {
    let dir = temp_dir("ch-protocols");
    let ch = ClickHouse::start(&dir.join("clickhouse"));
    let cfg = config(&dir, &ch, "");
    let server = Server::start_with(&dir.join("state"), &["--config", &cfg]);
    // softflowd's three exports of synthetic-traffic.pcap, each from its own exporter address.
    let mut base = 0;
    for (i, capture) in [
        "netflow5-softflowd.pcap",
        "netflow9-softflowd.pcap",
        "ipfix-softflowd.pcap",
    ]
    .into_iter()
    .enumerate()
    {
        let payloads = udp_payloads(&exporter_capture(capture));
        replay(
            &server,
            Ipv4Addr::new(127, 0, 0, 1 + i as u8),
            &payloads,
            base,
        );
        base += payloads.len() as u64;
    }
    let records = server.get_json("/analyzer/json")["netflowRecords"]
        .as_u64()
        .unwrap();
    wait_analyzer(&server, Duration::from_secs(30), |d| {
        records_sent(d) >= records
    });
    // NetFlow v5 cannot carry IPv6: its export holds the capture's IPv4 frames only.
    let v4: u64 = capture_five_tuples()
        .iter()
        .filter(|(k, _)| !k.contains(':'))
        .map(|(_, n)| n)
        .sum();
    assert!(v4 > 0 && v4 < 9000);
    assert_eq!(
        ch.query("SELECT agent, sum(frames) FROM flowlens.flows GROUP BY agent ORDER BY agent"),
        format!("127.0.0.1\t{v4}\n127.0.0.2\t9000\n127.0.0.3\t9000\n")
    );
    assert_eq!(
        ch.query(
            "SELECT count() FROM flowlens.flows WHERE agent = '127.0.0.1' AND ip6source != ''"
        )
        .trim(),
        "0"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The statements the release writing schema version 1 ran on a new database `flowlens`,
/// verbatim (`git show 98e5fe9:crates/flowlens/src/run/clickhouse/schema.rs`, `migrate` and
/// `create`): the database, the version table, the three tables, and version 1 recorded.
const V1_DDL: [&str; 6] = [
    "CREATE DATABASE IF NOT EXISTS flowlens",
    "CREATE TABLE IF NOT EXISTS flowlens.schema_version (version UInt32, applied DateTime) \
     ENGINE = TinyLog",
    "CREATE TABLE IF NOT EXISTS flowlens.flows (time DateTime, \
     agent String, datasource String, sampling_rate UInt32, samples UInt8, \
     frames UInt64, bytes UInt64, \
     inputifindex UInt32, outputifindex UInt32, direction String, \
     macsource String, macdestination String, vlan UInt16, ethernetprotocol UInt16, \
     ipsource String, ipdestination String, ip6source String, ip6destination String, \
     ipprotocol UInt8, ip6nexthdr UInt8, ipdscp UInt8, ip6dscp UInt8, \
     tcpsourceport UInt16, tcpdestinationport UInt16, \
     udpsourceport UInt16, udpdestinationport UInt16, tcpflags String, \
     icmptype UInt8, icmpcode UInt8, bgpsourceas UInt32, bgpdestinationas UInt32, \
     vxlanvni UInt32, \
     ipsource_1 String, ipdestination_1 String, ip6source_1 String, ip6destination_1 String, \
     ipprotocol_1 UInt8, tcpsourceport_1 UInt16, tcpdestinationport_1 UInt16, \
     udpsourceport_1 UInt16, udpdestinationport_1 UInt16) \
     ENGINE = MergeTree PARTITION BY toYYYYMMDD(time) \
     ORDER BY (time, agent, datasource)",
    "CREATE TABLE IF NOT EXISTS flowlens.counters (time DateTime, agent String, \
     datasource String, metric String, value Float64) \
     ENGINE = MergeTree PARTITION BY toYYYYMMDD(time) \
     ORDER BY (agent, datasource, metric, time)",
    "CREATE TABLE IF NOT EXISTS flowlens.events (time DateTime, event_id UInt64, \
     threshold_id String, metric String, agent String, datasource String, \
     flow_key String, value Float64, threshold Float64) \
     ENGINE = MergeTree PARTITION BY toYYYYMMDD(time) ORDER BY (time, threshold_id)",
    "INSERT INTO flowlens.schema_version VALUES (1, now())",
];

/// Every table's columns in `db`, in order, as `DESCRIBE TABLE` lists them (name, type,
/// default kind and expression).
fn describe(ch: &ClickHouse, db: &str) -> String {
    ["schema_version", "flows", "counters", "events"]
        .iter()
        .map(|t| format!("{t}:\n{}", ch.query(&format!("DESCRIBE TABLE {db}.{t}"))))
        .collect()
}

/// A classic pcap (Ethernet link type) holding `frames`, written to `path`.
fn write_pcap(path: &Path, frames: &[Vec<u8>]) {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&[0; 8]); // thiszone, sigfigs
    out.extend_from_slice(&65_535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes()); // LINKTYPE_ETHERNET
    for f in frames {
        out.extend_from_slice(&[0; 8]); // timestamp
        let len = u32::try_from(f.len()).unwrap().to_le_bytes();
        out.extend_from_slice(&len);
        out.extend_from_slice(&len);
        out.extend_from_slice(f);
    }
    std::fs::write(path, out).unwrap();
}

/// tshark's fields, one line per argument of `args`, split on tabs.
fn tshark_lines(args: &[&str]) -> Vec<Vec<String>> {
    let out = std::process::Command::new("tshark")
        .args(args)
        .output()
        .expect("tshark must be installed (apt-get install tshark)");
    assert!(
        out.status.success(),
        "tshark {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

/// tshark's view of every flow sample's sampled header in an sFlow `capture`: per sample (in
/// capture order), the outermost IPv4 header's total length, TTL, DF bit and fragment offset
/// (8-byte units), all 0 without an IPv4 header, and the first VXLAN VNI (0: none). tshark
/// takes the sampled headers out of the datagrams (`sflow_245.header`, every one an Ethernet
/// header, protocol 1), and dissects them again as frames of their own, so the first
/// occurrence of each field is the sample's outermost header.
fn tshark_sampled_headers(capture: &str, scratch: &Path) -> Vec<[u64; 5]> {
    let path = exporter_capture(capture);
    let cap = path.to_str().unwrap();
    let mut headers = Vec::new();
    for cols in tshark_lines(&[
        "-r",
        cap,
        "-T",
        "fields",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=|",
        "-e",
        "sflow_245.header_protocol",
        "-e",
        "sflow_245.header",
    ]) {
        let (protos, bytes) = (&cols[0], &cols[1]);
        if protos.is_empty() {
            continue;
        }
        let bytes: Vec<&str> = bytes.split('|').collect();
        let protos: Vec<&str> = protos.split('|').collect();
        assert_eq!(protos.len(), bytes.len());
        for (p, hex) in protos.iter().zip(bytes) {
            assert_eq!(*p, "1", "{capture}: only Ethernet sampled headers");
            let frame = (0..hex.len() / 2)
                .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
                .collect();
            headers.push(frame);
        }
    }
    let pcap = scratch.join(format!("{capture}.sampled-headers.pcap"));
    write_pcap(&pcap, &headers);
    let lines = tshark_lines(&[
        "-r",
        pcap.to_str().unwrap(),
        "-o",
        "ip.defragment:FALSE",
        "-T",
        "fields",
        "-E",
        "occurrence=f",
        "-e",
        "ip.len",
        "-e",
        "ip.ttl",
        "-e",
        "ip.flags.df",
        "-e",
        "ip.frag_offset",
        "-e",
        "vxlan.vni",
    ]);
    assert_eq!(lines.len(), headers.len(), "{capture}: one line per header");
    lines
        .iter()
        .map(|cols| {
            let mut v = [0u64; 5];
            for (slot, c) in v.iter_mut().zip(cols) {
                *slot = match c.as_str() {
                    "" | "False" => 0,
                    "True" => 1,
                    n => n.parse().unwrap(),
                };
            }
            v
        })
        .collect()
}

#[test]
fn clickhouse_version_1_database_is_migrated_to_2() {
    let dir = temp_dir("ch-migrate");
    let ch = ClickHouse::start(&dir.join("clickhouse"));
    // The database as the previous release left it, with rows of its own.
    for sql in V1_DDL {
        ch.query(sql);
    }
    ch.query(
        "INSERT INTO flowlens.flows (time, agent, sampling_rate, samples, frames, bytes, \
         ipsource, ipdestination, ipprotocol) VALUES \
         (now() - 60, '192.0.2.1', 10, 1, 10, 15000, '10.0.0.1', '10.0.0.2', 6), \
         (now() - 50, '192.0.2.1', 10, 1, 10, 640, '10.0.0.2', '10.0.0.1', 6), \
         (now() - 40, '192.0.2.1', 10, 1, 10, 900, '10.0.0.3', '10.0.0.4', 17)",
    );
    ch.query(
        "INSERT INTO flowlens.counters VALUES (now() - 30, '192.0.2.1', '3', 'ifinoctets', 1e6)",
    );
    let old = "3\t30\t16540\n";
    let old_rows = "SELECT count(), sum(frames), sum(bytes) FROM flowlens.flows \
                    WHERE agent = '192.0.2.1'";
    assert_eq!(ch.query(old_rows), old);
    // An upgrade interrupted after its first column: the version is still 1.
    ch.query("ALTER TABLE flowlens.flows ADD COLUMN ipbytes UInt16");

    // Two collectors of the new release start at once on it: both upgrade, neither fails.
    let cfg = config(&dir, &ch, "");
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| Server::start_with(&dir.join("state-a"), &["--config", &cfg]));
        let b = s.spawn(|| Server::start_with(&dir.join("state-b"), &["--config", &cfg]));
        (a.join().unwrap(), b.join().unwrap())
    });
    for s in [&a, &b] {
        let d = s.get_json("/analyzer/json");
        assert_eq!(d["clickhouseConnected"], true, "{d}\n{}", s.stderr());
        assert_eq!(d["clickhouseErrors"], 0, "{d}\n{}", s.stderr());
    }
    // The one that found version 1 says so (the other may have found 2 already).
    assert!(
        [&a, &b]
            .iter()
            .any(|s| s.stderr().contains("at schema version 2 (was 1)")),
        "{}\n{}",
        a.stderr(),
        b.stderr()
    );
    assert_eq!(
        ch.query("SELECT max(version), countIf(version = 1) FROM flowlens.schema_version"),
        "2\t1\n"
    );
    assert_eq!(ch.query(old_rows), old, "the old rows are kept");
    assert_eq!(
        ch.query("SELECT count() FROM flowlens.counters").trim(),
        "1"
    );
    // The old rows read the new columns' defaults.
    assert_eq!(
        ch.query(
            "SELECT max(ipbytes), max(ipttl), max(ipdontfragment), max(tunneloverhead_bytes) \
             FROM flowlens.flows"
        ),
        "0\t0\t0\t0\n"
    );
    drop(b);

    // A new database gets the same tables, column for column.
    let fresh_cfg = dir.join("fresh.toml");
    std::fs::write(
        &fresh_cfg,
        format!(
            "[clickhouse]\nurl = \"{}\"\ndatabase = \"fresh\"\n",
            ch.url()
        ),
    )
    .unwrap();
    let fresh = Server::start_with(
        &dir.join("state-fresh"),
        &["--config", fresh_cfg.to_str().unwrap()],
    );
    assert_eq!(
        fresh.get_json("/analyzer/json")["clickhouseConnected"],
        true
    );
    drop(fresh);
    assert_eq!(
        ch.query("SELECT version FROM fresh.schema_version"),
        "2\n",
        "a new database records version 2 alone"
    );
    let upgraded = describe(&ch, "flowlens");
    assert_eq!(upgraded, describe(&ch, "fresh"));
    for (name, ty) in [
        ("ipbytes", "UInt16"),
        ("ipttl", "UInt8"),
        ("ipdontfragment", "UInt8"),
        ("ipfragoffset", "UInt16"),
        ("tunneloverhead_bytes", "UInt16"),
        ("icmpnexthopmtu", "UInt16"),
        ("tcpmss", "UInt16"),
    ] {
        assert!(
            upgraded.contains(&format!("\n{name}\t{ty}\t")),
            "{upgraded}"
        );
    }

    // New rows fill the new columns as tshark reads the sampled headers.
    let scratch = dir.join("scratch");
    std::fs::create_dir_all(&scratch).unwrap();
    let mut rows = 3;
    for (capture, agent) in [
        ("sflow-ovs-br0.pcap", "127.0.0.1"),
        ("sflow-ovs-underlay-tunnels.pcap", "127.0.0.2"),
    ] {
        let truth = tshark_sampled_headers(capture, &scratch);
        let before = a.get_json("/analyzer/json")["flowSamples"]
            .as_u64()
            .unwrap();
        replay_sflow(&a, capture);
        let samples = a.get_json("/analyzer/json")["flowSamples"]
            .as_u64()
            .unwrap()
            - before;
        assert_eq!(samples, truth.len() as u64, "{capture}: samples");
        rows += samples;
        wait_flow_rows(&ch, &a, rows);

        let mut want: BTreeMap<String, u64> = BTreeMap::new();
        for [len, ttl, df, frag, _] in &truth {
            *want
                .entry(format!("{len}\t{ttl}\t{df}\t{frag}"))
                .or_default() += 1;
        }
        let got: BTreeMap<String, u64> = ch
            .query(&format!(
                "SELECT ipbytes, ipttl, ipdontfragment, ipfragoffset, count() \
                 FROM flowlens.flows WHERE agent = '{agent}' \
                 GROUP BY ipbytes, ipttl, ipdontfragment, ipfragoffset"
            ))
            .lines()
            .map(|l| {
                let (k, n) = l.rsplit_once('\t').unwrap();
                (k.to_string(), n.parse().unwrap())
            })
            .collect();
        assert_eq!(got, want, "{capture}");
        let df = truth.iter().filter(|t| t[2] == 1).count();
        assert_eq!(
            ch.query(&format!(
                "SELECT count() FROM flowlens.flows WHERE agent = '{agent}' \
                 AND ipdontfragment = 1"
            ))
            .trim(),
            df.to_string(),
            "{capture}: samples with DF set"
        );
        // VXLAN over IPv4 (RFC 7348): outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14
        // bytes in front of the inner IP header.
        let vxlan = truth.iter().filter(|t| t[4] != 0).count();
        assert_eq!(
            ch.query(&format!(
                "SELECT count() FROM flowlens.flows WHERE agent = '{agent}' \
                 AND vxlanvni != 0 AND tunneloverhead_bytes = 50"
            ))
            .trim(),
            vxlan.to_string(),
            "{capture}: VXLAN samples"
        );
    }
    // Both captures carry DF-set and DF-clear IPv4 samples and VXLAN: the checks above bite.
    assert_eq!(
        ch.query(
            "SELECT countIf(ipdontfragment = 1) > 0, countIf(ipbytes > 0 AND \
             ipdontfragment = 0) > 0, countIf(tunneloverhead_bytes = 50) > 0 FROM flowlens.flows"
        ),
        "1\t1\t1\n"
    );
    // The README's MTU query adds up to the same: frames of 1,400 bytes or more with DF set
    // (both captures sample 1-in-10).
    assert_eq!(
        ch.query(
            "SELECT min(sampling_rate), max(sampling_rate) FROM flowlens.flows \
             WHERE agent != '192.0.2.1'"
        ),
        "10\t10\n"
    );
    let mut large_df = 0;
    for capture in ["sflow-ovs-br0.pcap", "sflow-ovs-underlay-tunnels.pcap"] {
        large_df += 10
            * tshark_sampled_headers(capture, &scratch)
                .iter()
                .filter(|t| t[2] == 1 && t[0] >= 1400)
                .count() as u64;
    }
    assert!(large_df > 0);
    let (queries, _) = readme_sql();
    let mtu = ch.query(&queries[3]);
    let got: u64 = mtu
        .lines()
        .map(|l| l.split('\t').nth(1).unwrap().parse::<u64>().unwrap())
        .sum();
    assert!(mtu.lines().count() < 10, "{mtu}");
    assert_eq!(got, large_df, "{mtu}");
    drop(a);
    let _ = std::fs::remove_dir_all(&dir);
}
