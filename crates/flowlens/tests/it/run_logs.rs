//! The logs of `flowlens run`: JSON lines with level, message and fields; losses summed and
//! said at most once per interval per class, with the counts `/analyzer/json` reports;
//! `--log-level` hiding what is below it.

use std::time::Instant;

use serde_json::Value as Json;

use crate::run_support::logs::{json_lines, loss_lines, wait_log, with_message};
use crate::run_support::{exporter_capture, send_all, temp_dir, udp_payloads, Server};

/// The sum of the `count`s of `lines`, checking each line's fields on the way: a warning, a
/// positive count, and a running `total` equal to the sum so far.
fn summed(lines: &[&Json]) -> u64 {
    let mut sum = 0;
    for l in lines {
        assert_eq!(l["level"], "WARN", "{l}");
        let count = l["count"].as_u64().unwrap_or(0);
        assert!(count > 0, "{l}");
        sum += count;
        assert_eq!(l["total"].as_u64(), Some(sum), "{l}");
        let message = l["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("{count} in the last interval")),
            "{l}"
        );
    }
    sum
}

#[test]
fn json_logs_sum_malformed_datagrams_once_per_interval_with_the_api_counts() {
    let dir = temp_dir("logs-json");
    let started = Instant::now();
    let s = Server::start_with(&dir, &["--log-format", "json", "--loss-log-interval", "1"]);

    // Start-up: every line is JSON; the listening line names the addresses.
    let lines = wait_log(&s, |l| !with_message(l, "listening on HTTP").is_empty());
    let listening = with_message(&lines, "listening on HTTP")[0];
    assert_eq!(listening["level"], "INFO", "{listening}");
    assert_eq!(listening["http"], s.ports.http.to_string(), "{listening}");
    assert!(listening["timestamp"].is_string(), "{listening}");
    let config = with_message(&lines, "configuration");
    assert_eq!(config.len(), 1, "{lines:?}");
    assert_eq!(config[0]["loss_log_interval"], 1, "{}", config[0]);

    // Valid sFlow, datagrams that are no flow export at all, and sFlow cut after its header's
    // first bytes (recognised, then refused), interleaved.
    let valid = udp_payloads(&exporter_capture("sflow-ovs-br0.pcap"));
    assert!(valid.len() >= 100, "{}", valid.len());
    const GARBAGE: usize = 4000;
    const CUT: usize = 500;
    let mut payloads: Vec<Vec<u8>> = Vec::new();
    for i in 0..GARBAGE {
        payloads.push(format!("not a flow export #{i}").into_bytes());
        if i % 8 == 0 {
            let v = &valid[(i / 8) % valid.len()];
            payloads.push(v[..12].to_vec());
        }
        if i % 40 == 0 {
            payloads.push(valid[(i / 40) % valid.len()].clone());
        }
    }
    let cut = payloads.iter().filter(|p| p.len() == 12).count();
    assert_eq!(cut, CUT);
    let sflow = payloads.len() - GARBAGE - CUT;
    send_all(s.ports.sflow, &payloads, 256, |sent| {
        s.wait_for("/analyzer/json", |d| {
            d["datagramsReceived"].as_u64() >= Some(sent as u64)
        });
    });
    let doc = s.wait_for("/analyzer/json", |d| {
        d["unknownDatagrams"].as_u64() == Some(GARBAGE as u64)
            && d["rejectedDatagrams"].as_u64() == Some(CUT as u64)
    });
    assert_eq!(
        doc["sFlowDatagramsReceived"].as_u64(),
        Some((sflow + CUT) as u64),
        "{doc}"
    );

    // The summaries catch up with the counters: their counts add up to what the API says.
    let lines = wait_log(&s, |l| {
        let sum = |c| {
            loss_lines(l, c)
                .iter()
                .map(|x| x["count"].as_u64().unwrap_or(0))
                .sum::<u64>()
        };
        sum("unknownDatagrams") == GARBAGE as u64 && sum("rejectedDatagrams") == CUT as u64
    });
    let elapsed = started.elapsed().as_secs();
    let unknown = loss_lines(&lines, "unknownDatagrams");
    let rejected = loss_lines(&lines, "rejectedDatagrams");
    assert_eq!(summed(&unknown), GARBAGE as u64);
    assert_eq!(summed(&rejected), CUT as u64);
    assert!(unknown[0]["message"]
        .as_str()
        .unwrap()
        .contains("neither sFlow, NetFlow nor IPFIX"));
    assert!(rejected[0]["message"]
        .as_str()
        .unwrap()
        .contains("unusable header"));
    // The rate limit: at most one line per class per 1 s interval, whatever the rate.
    for class in [&unknown, &rejected] {
        assert!(
            class.len() as u64 <= elapsed + 1,
            "{} lines in {elapsed} s: {class:?}",
            class.len()
        );
    }
    // Nothing per datagram: thousands of datagrams, a few dozen lines at most.
    assert!(lines.len() < 60, "{} lines: {lines:?}", lines.len());
    // Valid input is no loss: no other class was reported.
    let other: Vec<&Json> = lines
        .iter()
        .filter(|l| {
            l["counter"].is_string()
                && l["counter"] != "unknownDatagrams"
                && l["counter"] != "rejectedDatagrams"
        })
        .collect();
    assert!(other.is_empty(), "{other:?}");

    let (status, stderr) = s.stop();
    assert!(status.success(), "{stderr}");
    let lines = json_lines(&stderr);
    let stopped = with_message(&lines, "stopped; state saved in");
    assert_eq!(stopped.len(), 1, "{stderr}");
    assert_eq!(stopped[0]["level"], "INFO");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn log_level_warn_hides_info_lines() {
    let dir = temp_dir("logs-warn");
    let s = Server::start_with(
        &dir,
        &[
            "--log-level",
            "warn",
            "--log-format",
            "json",
            "--loss-log-interval",
            "1",
        ],
    );
    let garbage: Vec<Vec<u8>> = (0..50).map(|i| format!("junk {i}").into_bytes()).collect();
    send_all(s.ports.sflow, &garbage, 50, |_| {});
    // A warning still comes through ...
    let lines = wait_log(&s, |l| !loss_lines(l, "unknownDatagrams").is_empty());
    // ... and nothing below it: no start-up lines.
    assert!(lines.iter().all(|l| l["level"] == "WARN"), "{lines:?}");
    assert!(with_message(&lines, "listening on HTTP").is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn text_logs_are_one_readable_line_each() {
    let dir = temp_dir("logs-text");
    let s = Server::start_with(&dir, &["--loss-log-interval", "1"]);
    let garbage: Vec<Vec<u8>> = (0..20).map(|i| format!("junk {i}").into_bytes()).collect();
    send_all(s.ports.sflow, &garbage, 20, |_| {});
    let text = s.stderr_with(&["listening on HTTP", "neither sFlow"]);
    let line = text
        .lines()
        .find(|l| l.contains("listening on HTTP"))
        .unwrap();
    assert!(line.contains(" INFO "), "{line}");
    assert!(!line.starts_with('{'), "{line}");
    let loss = text.lines().find(|l| l.contains("neither sFlow")).unwrap();
    assert!(
        loss.contains(" WARN ") && loss.contains("counter=\"unknownDatagrams\""),
        "{loss}"
    );
    assert!(
        loss.contains("count=20") && loss.contains("total=20"),
        "{loss}"
    );
    // No escape codes when standard error is not a terminal.
    assert!(!text.contains('\u{1b}'), "{text}");
    let (status, stderr) = s.stop();
    assert!(status.success(), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_failing_action_is_logged_once_per_outage_with_its_context() {
    let dir = temp_dir("logs-action");
    // A port with nothing listening: graphite() fails at once, on every call.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let script = dir.join("feeder.js");
    std::fs::write(
        &script,
        format!(
            "setIntervalHandler(function() {{\n\
             try {{ graphite('127.0.0.1', {port}, {{'flowlens.test': 1}}); }} catch (e) {{}}\n\
             }}, 0.02);\n"
        ),
    )
    .unwrap();
    let s = Server::start_with(
        &dir.join("state"),
        &["--log-format", "json", "--script", script.to_str().unwrap()],
    );
    let graphite = |s: &Server| {
        let all = s.get_json("/scripts/json");
        all[0]["actions"]["graphite"].clone()
    };
    let errors = |s: &Server| graphite(s)["errors"].as_u64().unwrap_or(0);
    let start = Instant::now();
    while errors(&s) < 20 {
        assert!(start.elapsed().as_secs() < 20, "{}", graphite(&s));
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // Twenty failures and more: one line, with the script, the action and the error.
    let lines = json_lines(&s.stderr());
    let failed = with_message(&lines, "graphite failed");
    assert_eq!(failed.len(), 1, "{lines:?}");
    assert_eq!(failed[0]["level"], "WARN");
    assert_eq!(failed[0]["action"], "graphite");
    assert!(
        failed[0]["script"].as_str().unwrap().contains("feeder"),
        "{}",
        failed[0]
    );
    assert!(
        failed[0]["message"]
            .as_str()
            .unwrap()
            .contains(&format!("127.0.0.1:{port}")),
        "{}",
        failed[0]
    );

    // Carbon comes up: the recovery is said once, with the failures counted meanwhile.
    let carbon = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let lines = wait_log(&s, |l| !with_message(l, "graphite works again").is_empty());
    let again = with_message(&lines, "graphite works again");
    assert_eq!(again[0]["level"], "INFO");
    assert!(
        again[0]["failed_total"].as_u64() >= Some(20),
        "{}",
        again[0]
    );
    // Gone again: a second outage, a second line.
    drop(carbon);
    let lines = wait_log(&s, |l| with_message(l, "graphite failed").len() == 2);
    assert_eq!(with_message(&lines, "graphite works again").len(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}
