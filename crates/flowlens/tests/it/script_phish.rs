//! The article's `phish.js` ("Blacklists") under `flowlens run --script`, end to end: the
//! script downloads a PhishTank-format feed (from a loopback HTTP server the test starts, in
//! place of data.phishtank.com) of 16,000 distinct host names and 299,983 CIDRs, loads them
//! into groups and a `dnsqname` filter; a real DNS capture (`suricata-verify__dns-udp-google-
//! a-aaaa-mx.pcap`: google.com A/AAAA/MX queries to 8.8.8.8 and their answers) is replayed by
//! pmacct's `pmacctd` sfprobe (sFlow, 1-in-1) into flowlens; the script's `syslog()` messages
//! go to a real rsyslogd on loopback and are checked against tshark's decode of the capture.
//!
//! Only addresses/ports of the seed are rewritten: the feed URL, `server` and `port`.
//! The script as written registers its handler for `phishydst` but defines `phishydest` (an
//! upstream typo): destination matches are counted in that flow and never reach syslog, and
//! the test asserts exactly that.
//!
//! Prints (and BENCHMARKS.md records) the load time, the script's `memoryBytes` and
//! the server's VmRSS.

use crate::common;
use crate::run_support;

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use run_support::pmacctd::replay_sfprobe;
use run_support::recorder::Recorder;
use run_support::rsyslog::{Message, Rsyslog};
use run_support::seed::{rewrite_script, script_status};
use run_support::{temp_dir, Server};

/// Where the loopback server serves the feed (phish.js's URL path).
const FEED_PATH: &str = "/data/online-valid.json";
/// The sFlow agent address pmacctd's sfprobe reports.
const AGENT: &str = "127.0.0.7";
/// Generated feed entries (each one distinct host name).
const GENERATED: u32 = 15_999;
/// The phish_id of the first feed entry for the capture's name (the one phish.js keeps).
const PHISH_ID: u64 = 9_000_001;
/// A later entry for the same name: phish.js keeps the first id per name, so never this one.
const LATER_ID: u64 = 9_000_002;
/// The CIDR of the first entry: holds the capture's DNS server 8.8.8.8.
const PHISH_CIDR: &str = "8.8.8.0/24";
/// How long the script's messages may take to reach rsyslog after pmacctd finished.
const MESSAGES_WITHIN: Duration = Duration::from_secs(30);
/// How long the script may take to load the feed.
const LOAD_WITHIN: Duration = Duration::from_secs(120);

/// `packets/dns/<name>`: the repository's copy, else `../shared/data`'s.
fn dns_capture(name: &str) -> PathBuf {
    common::data_file(&format!("packets/dns/{name}"))
}

/// The i-th generated IPv4 /24: distinct for every i below 116 × 65536, all inside
/// 11.0.0.0–126.255.255.0 (so never 8.8.8.0/24 nor a private range).
fn v4_cidr(i: u64) -> String {
    const N: u64 = 116 * 65_536;
    let k = (i * 7_919) % N; // 7919 is prime and does not divide N: a permutation.
    let net = (11u64 << 24) + k * 256;
    let a = Ipv4Addr::from(u32::try_from(net).unwrap());
    format!("{a}/24")
}

/// The feed: `(JSON text, distinct host names, CIDR count)`. Entry i < [`GENERATED`] has
/// the host `login-<i>.<word>-<i % 97>.example` and 18 or 19 CIDRs (one in ten IPv6
/// 2001:db8::/32 /64s, the rest IPv4 /24s of [`v4_cidr`]); then the two entries for
/// `google.com` ([`PHISH_ID`] with [`PHISH_CIDR`], [`LATER_ID`] with 8.8.4.0/24).
fn feed() -> (String, BTreeSet<String>, usize) {
    let words = ["secure", "verify", "account", "update", "signin", "banking"];
    let mut out = String::from("[");
    let mut hosts = BTreeSet::new();
    let mut cidrs = 0usize;
    let mut next = 0u64;
    for i in 0..u64::from(GENERATED) {
        let host = format!("login-{i}.{}-{}.example", words[(i % 6) as usize], i % 97);
        let n = if i % 4 == 0 { 18 } else { 19 };
        let mut details = Vec::new();
        for j in 0..n {
            let (ip, cidr) = if j % 10 == 9 {
                (
                    format!("2001:db8:{:x}:{:x}::1", next >> 16, next & 0xffff),
                    format!("2001:db8:{:x}:{:x}::/64", next >> 16, next & 0xffff),
                )
            } else {
                let c = v4_cidr(next);
                (c.replace(".0/24", ".1"), c)
            };
            next += 1;
            details.push(format!(
                "{{\"ip_address\":\"{ip}\",\"cidr_block\":\"{cidr}\",\"announcing_network\":\"64500\"}}"
            ));
        }
        cidrs += n;
        if i > 0 {
            out.push(',');
        }
        out.push_str(&format!(
            "{{\"phish_id\":{},\"url\":\"http://{host}/wp/login.php?id={i}\",\"target\":\"Other\",\"details\":[{}]}}",
            1_000_000 + i,
            details.join(",")
        ));
        assert!(hosts.insert(host));
    }
    for (id, cidr) in [(PHISH_ID, PHISH_CIDR), (LATER_ID, "8.8.4.0/24")] {
        let ip = cidr.replace(".0/24", ".8");
        out.push_str(&format!(
            ",{{\"phish_id\":{id},\"url\":\"https://google.com/accounts/{id}\",\"target\":\"Google\",\"details\":[{{\"ip_address\":\"{ip}\",\"cidr_block\":\"{cidr}\"}}]}}"
        ));
        cidrs += 1;
    }
    hosts.insert("google.com".to_string());
    out.push(']');
    (out, hosts, cidrs)
}

/// One DNS frame of the capture as tshark decodes it.
#[derive(Debug)]
struct DnsFrame {
    src: String,
    dst: String,
    response: bool,
    name: String,
}

fn tshark_dns(pcap: &Path) -> Vec<DnsFrame> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(pcap)
        .args(["-Y", "dns", "-T", "fields", "-E", "separator=/t"])
        .args(["-e", "ip.src", "-e", "ip.dst", "-e", "dns.flags.response"])
        .args(["-e", "dns.qry.name"])
        .output()
        .expect("tshark");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            DnsFrame {
                src: f[0].to_string(),
                dst: f[1].to_string(),
                response: f[2] == "1" || f[2] == "True",
                name: f[3].to_string(),
            }
        })
        .collect()
}

/// VmRSS of a process, KiB.
fn vm_rss_kib(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = s.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn unix_ms() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

/// A message's fields as `(key, value)` pairs.
fn fields(m: &Message) -> Vec<(String, String)> {
    m.fields()
}

fn want(victim: &str, kind: &str, id: u64) -> Vec<(String, String)> {
    [
        ("type", "phishing".to_string()),
        ("victim", victim.to_string()),
        ("match", kind.to_string()),
        ("phish_id", id.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

#[test]
fn phish_js_matches_a_real_dns_capture_against_a_300k_cidr_feed() {
    if common::shared_file_or_skip(
        "script_phish::phish_js_matches_a_real_dns_capture_against_a_300k_cidr_feed",
        "sflow-rt-scripts",
    )
    .is_none()
    {
        return;
    }
    let dir = temp_dir("script-phish");
    let (body, hosts, cidrs) = feed();
    assert_eq!(hosts.len(), 16_000);
    assert_eq!(cidrs, 299_983);
    let feed_bytes = body.len();
    let feed_server = Recorder::start("", vec![(FEED_PATH.to_string(), body)]);
    let http_addr = feed_server.addr();
    let rsyslog = Rsyslog::start(&dir.join("rsyslog"));
    let script = rewrite_script(
        "phish.js",
        &dir,
        &[
            (
                "http://data.phishtank.com/data/online-valid.json",
                &format!("http://{http_addr}{FEED_PATH}"),
            ),
            ("var server = '10.0.0.1';", "var server = '127.0.0.1';"),
            (
                "var port = 514;",
                &format!("var port = {};", rsyslog.port()),
            ),
        ],
    );

    // Load: from the server's start (and from the script's own `started`) until the last
    // flow the script defines exists.
    let t0 = Instant::now();
    let server = Server::start_with(&dir.join("state"), &["--script", script.to_str().unwrap()]);
    let ready = loop {
        let s = script_status(&server, "phish.js");
        assert!(s["alive"] == true, "{s}");
        if server.get("/flow/phishydest/json").status == 200 {
            break unix_ms();
        }
        assert!(
            t0.elapsed() < LOAD_WITHIN,
            "not loaded in {LOAD_WITHIN:?}: {s}"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    let load_from_server_start = t0.elapsed();
    let status = script_status(&server, "phish.js");
    let started = status["started"].as_u64().unwrap();
    let load_from_script_start = ready.saturating_sub(started);
    let fetched = feed_server.requests();
    assert_eq!(fetched.len(), 1, "the feed was fetched once: {fetched:?}");
    assert_eq!(
        (fetched[0].method.as_str(), fetched[0].path.as_str()),
        ("GET", FEED_PATH)
    );
    assert_eq!(status["alive"], true, "{status}");
    assert_eq!(status["error"], serde_json::Value::Null, "{status}");
    let memory_bytes = status["memoryBytes"].as_u64().unwrap();
    let rss_loaded = vm_rss_kib(server.pid());

    // The dnsqname filter lists exactly the feed's names, each with a trailing dot.
    let dns_flow = server.get_json("/flow/phishydns/json");
    let filter = dns_flow["filter"].as_str().unwrap();
    let list = filter
        .strip_prefix("dnsqname=\"")
        .and_then(|f| f.strip_suffix('"'))
        .unwrap_or_else(|| panic!("filter {:?}", &filter[..filter.len().min(200)]));
    let names: BTreeSet<String> = list.split(',').map(str::to_string).collect();
    let expected_names: BTreeSet<String> = hosts.iter().map(|h| format!("{h}.")).collect();
    assert_eq!(names.len(), 16_000);
    assert_eq!(names, expected_names);
    assert_eq!(
        dns_flow["keys"], "ipsource,ipdestination,dnsqname,dnsqr",
        "{dns_flow}"
    );
    assert_eq!(dns_flow["log"], true, "{dns_flow}");

    // Replay the real capture.
    let pcap = dns_capture("suricata-verify__dns-udp-google-a-aaaa-mx.pcap");
    let frames = tshark_dns(&pcap);
    assert_eq!(frames.len(), 6, "{frames:?}");
    replay_sfprobe(&dir, &pcap, server.ports.sflow, AGENT);
    // pmacct samples at least every frame but the last (an answer; see script_syslog.rs).
    let n = frames.len() as u64;
    let agents = server.wait_for("/agents/json", |g| {
        g[AGENT]["sFlowFlowSamples"]
            .as_u64()
            .is_some_and(|s| s >= n - 1)
    });
    let sampled = agents[AGENT]["sFlowFlowSamples"].as_u64().unwrap();
    assert!(sampled == n - 1 || sampled == n, "{agents}");

    // What phish.js does with these frames, from tshark's decode:
    // - phishydns (ipsource,ipdestination,dnsqname,dnsqr; one message per new key): victim
    //   is the querier, keys[0] of a query and keys[1] of an answer; phish_id the first id
    //   of the name.
    // - phishysrc (ipsource,destinationgroup ~ ^phish): frames to 8.8.8.8, in PHISH_CIDR,
    //   whose group is phish.PHISH_ID (the longest match; 0.0.0.0/0 is `other`).
    // - phishydest (ipdestination,sourcegroup): the answers from 8.8.8.8; counted, but the
    //   handler listens to `phishydst`, so no message.
    let client = frames.iter().find(|f| !f.response).unwrap().src.clone();
    let mut dns_keys = BTreeSet::new();
    let mut src_keys = BTreeSet::new();
    let mut dest_keys = BTreeSet::new();
    for f in &frames {
        assert!(hosts.contains(&f.name), "{f:?}");
        dns_keys.insert((f.src.clone(), f.dst.clone(), f.name.clone(), f.response));
        if f.dst == "8.8.8.8" {
            src_keys.insert(f.src.clone());
        }
        if f.src == "8.8.8.8" {
            dest_keys.insert(f.dst.clone());
        }
    }
    let mut expected: Vec<Vec<(String, String)>> = dns_keys
        .iter()
        .map(|(s, d, _, r)| want(if *r { d } else { s }, "dns", PHISH_ID))
        .collect();
    expected.extend(src_keys.iter().map(|s| want(s, "cidr", PHISH_ID)));
    expected.sort();
    assert_eq!(expected.len(), 3, "{expected:?}");
    assert!(expected.iter().all(|m| m[1].1 == client), "{expected:?}");

    let msgs = rsyslog.wait_for("flowlens", MESSAGES_WITHIN, |m| m.len() >= expected.len());
    let mut got: Vec<Vec<(String, String)>> = msgs.iter().map(fields).collect();
    got.sort();
    assert_eq!(got, expected, "{msgs:#?}");
    for m in &msgs {
        assert_eq!((m.facility, m.severity), (16, 5), "{m:?}");
        assert_eq!(m.app_name, "flowlens", "{m:?}");
        assert!(m.raw.starts_with("<133>1 "), "{m:?}");
    }

    // The destination matches happened, in phishydest, without a message.
    let dest = server.get_json("/activeflows/ALL/phishydest/json");
    let dest_got: BTreeSet<String> = dest
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap().to_string())
        .collect();
    let dest_want: BTreeSet<String> = dest_keys
        .iter()
        .map(|d| format!("{d},phish.{PHISH_ID}"))
        .collect();
    assert_eq!(dest_got, dest_want, "{dest}");
    let src = server.get_json("/activeflows/ALL/phishysrc/json");
    assert_eq!(src[0]["key"], format!("{client},phish.{PHISH_ID}"), "{src}");

    let s = script_status(&server, "phish.js");
    assert_eq!(s["alive"], true, "{s}");
    assert_eq!(s["flowsReceived"], expected.len() as u64, "{s}");
    assert_eq!(s["actions"]["syslog"]["sent"], expected.len() as u64, "{s}");
    assert_eq!(s["actions"]["syslog"]["errors"], 0, "{s}");
    assert_eq!(s["actions"]["http"]["sent"], 1, "{s}");
    assert_eq!(s["actions"]["http"]["errors"], 0, "{s}");
    assert_eq!(s["handlerErrors"], 0, "{s}");
    let rss_end = vm_rss_kib(server.pid());

    eprintln!(
        "phish.js: feed {feed_bytes} bytes, {} names, {cidrs} CIDRs; load {:.0} ms from server \
         start, {load_from_script_start} ms from the script's start; script memoryBytes {} \
         ({:.1} MiB); flowlens VmRSS {} KiB ({:.1} MiB) loaded, {} KiB after the replay; \
         cpuMs {}",
        hosts.len(),
        load_from_server_start.as_secs_f64() * 1000.0,
        memory_bytes,
        memory_bytes as f64 / 1_048_576.0,
        rss_loaded,
        rss_loaded as f64 / 1024.0,
        rss_end,
        s["cpuMs"],
    );

    let (status, _) = server.stop();
    assert!(status.success());
    drop(rsyslog);
    std::fs::remove_dir_all(&dir).unwrap();
}
