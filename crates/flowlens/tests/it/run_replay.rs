//! `flowlens run --replay FILE [--loop]`: a capture's datagrams reach the live engine at
//! capture speed, from the senders the capture shows; a file that is not a capture is a
//! one-line startup error.

use crate::run_support;

use std::path::Path;
use std::time::{Duration, Instant};

use run_support::{exporter_capture, temp_dir, udp_payloads, Ports, Server};

/// Each frame's capture time relative to the first, read from the classic pcap record headers.
fn offsets(pcap: &Path) -> Vec<Duration> {
    let data = std::fs::read(pcap).unwrap();
    let (le, nanos) = match &data[..4] {
        [0xd4, 0xc3, 0xb2, 0xa1] => (true, false),
        [0x4d, 0x3c, 0xb2, 0xa1] => (true, true),
        [0xa1, 0xb2, 0xc3, 0xd4] => (false, false),
        [0xa1, 0xb2, 0x3c, 0x4d] => (false, true),
        m => panic!("not a classic pcap: {m:02x?}"),
    };
    let u32_at = |off: usize| {
        let b: [u8; 4] = data[off..off + 4].try_into().unwrap();
        if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }
    };
    let mut times = Vec::new();
    let mut off = 24;
    while off + 16 <= data.len() {
        let frac = u64::from(u32_at(off + 4));
        let t = Duration::from_secs(u64::from(u32_at(off)))
            + if nanos {
                Duration::from_nanos(frac)
            } else {
                Duration::from_micros(frac)
            };
        times.push(t);
        off += 16 + u32_at(off + 8) as usize;
    }
    let first = times[0];
    times.into_iter().map(|t| t - first).collect()
}

#[test]
fn replays_at_capture_speed_from_the_captured_agent() {
    let pcap = exporter_capture("sflow-ovs-br0.pcap");
    let offsets = offsets(&pcap);
    assert_eq!(
        offsets.len(),
        udp_payloads(&pcap).len(),
        "every frame is a datagram"
    );
    let total = offsets.len() as u64;
    let span = *offsets.last().unwrap();
    assert!(span > Duration::from_secs(30), "{span:?}");
    let dir = temp_dir("replay");
    let started = Instant::now();
    let s = Server::start_with(&dir, &["--replay", pcap.to_str().unwrap()]);
    // The agent the capture shows (Open vSwitch on loopback), not the sender of a socket.
    s.wait_for("/agents/json", |a| a["127.0.0.1"].is_object());
    // Poll for a few seconds: what arrived is never ahead of the capture's clock (counted from
    // before the server started), and never far behind it (startup and polling slack: 3 s).
    let mut checks = 0;
    let mut last = 0;
    while started.elapsed() < Duration::from_secs(6) {
        let before = started.elapsed();
        let got = s.get_json("/analyzer/json")["sFlowDatagramsReceived"]
            .as_u64()
            .unwrap();
        let after = started.elapsed();
        let due_by = |t: Duration| offsets.iter().filter(|o| **o <= t).count() as u64;
        assert!(
            got <= due_by(after),
            "{got} datagrams after {after:?}: faster than the capture"
        );
        let late = before.saturating_sub(Duration::from_secs(3));
        assert!(
            got >= due_by(late),
            "{got} datagrams after {before:?}: slower than the capture"
        );
        assert!(got >= last);
        last = got;
        checks += 1;
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(checks >= 10);
    assert!(last > 0 && last < total, "{last} of {total} within 6 s");
    let (status, stderr) = s.stop();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("replaying"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_file_that_is_not_a_capture_is_a_startup_error() {
    let dir = temp_dir("replay-bad");
    let not_capture = dir.join("x.txt");
    std::fs::write(&not_capture, "not a capture\n").unwrap();
    let ports = Ports::free();
    let mut args = ports.args(&dir.join("state"));
    args.extend(["--replay".into(), not_capture.display().to_string()]);
    let err = match Server::try_start(ports, &args) {
        Ok(_) => panic!("started with a text file as --replay"),
        Err(e) => e,
    };
    assert!(err.contains("exit status: 2"), "{err}");
    assert!(err.contains("is not a pcap or pcapng capture"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
