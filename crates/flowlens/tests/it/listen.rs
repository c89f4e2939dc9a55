//! `flowlens decode --listen`: real datagrams sent over loopback are decoded like the same
//! datagrams read from a capture.

use crate::common;

use std::io::{BufRead, BufReader, Read};
use std::net::UdpSocket;
use std::process::{Command, Stdio};

use common::decode_json;

#[test]
fn live_datagrams_decode_like_the_capture() {
    // The OVS sFlow capture: take its first 20 datagrams as the reference.
    let pcap = common::data_file("exporters/sflow-ovs-br0.pcap");
    let (_, reference) = decode_json(&pcap);
    let reference = &reference[..20];
    let bytes = std::fs::read(&pcap).unwrap();
    let payloads: Vec<Vec<u8>> = pcap_udp_payloads(&bytes).into_iter().take(20).collect();

    let mut child = Command::new(env!("CARGO_BIN_EXE_flowlens"))
        .args([
            "decode",
            "--format",
            "json",
            "--listen",
            "127.0.0.1:0",
            "--count",
            "20",
        ])
        .args(["--duration", "60"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("flowlens: listening on UDP ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    for p in &payloads {
        sender.send_to(p, &addr).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    assert!(out.status.success(), "{rest}");
    assert!(rest.contains("decoded: 20 sFlow datagrams"), "{rest}");
    let live: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(live.len(), 20);
    for (l, r) in live.iter().zip(reference) {
        // Same decode; only where the datagram came from differs.
        assert_eq!(l["datagram"], r["datagram"]);
        assert_eq!(l["samples"], r["samples"]);
        assert_eq!(l["source"], sender.local_addr().unwrap().to_string());
    }
}

/// UDP payloads of a classic little-endian Ethernet/IPv4 pcap.
fn pcap_udp_payloads(b: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut off = 24;
    while off + 16 <= b.len() {
        let caplen = u32::from_le_bytes(b[off + 8..off + 12].try_into().unwrap()) as usize;
        let f = &b[off + 16..off + 16 + caplen];
        let ihl = usize::from(f[14] & 0x0f) * 4;
        out.push(f[14 + ihl + 8..].to_vec());
        off += 16 + caplen;
    }
    out
}
