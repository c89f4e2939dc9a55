//! Bad input gets a clear error naming file, packet, layer and offset, a counter, a non-zero
//! exit status, and never a panic.

use crate::common;

use common::{data_dir, flowlens};

#[test]
fn tcpdump_segv_capture_is_rejected_with_layer_and_offset() {
    let file = common::data_file("sflow/tcpdump__sflow_print-segv.pcap");
    let out = flowlens(&["decode", file.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    // e.g. "flowlens: …/tcpdump__sflow_print-segv.pcap: packet 1: sflow-…: … at byte N …"
    let line = stderr
        .lines()
        .find(|l| l.contains("tcpdump__sflow_print-segv.pcap: packet 1: sflow"))
        .unwrap_or_else(|| panic!("no error line naming file, packet and layer in {stderr}"));
    assert!(line.contains("at byte "), "no byte offset in {line}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains(" 1 error"),
        "summary must count the error: {stderr}"
    );
}

#[test]
fn garbage_payload_is_an_error_not_a_panic() {
    let dir = std::env::temp_dir().join(format!("flowlens-garbage-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("garbage.bin");
    // Deterministic pseudo-random bytes, starting like an sFlow v5 header so the decoder
    // commits to it before the content goes wrong.
    let mut bytes = vec![
        0, 0, 0, 5, 0, 0, 0, 1, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 1, 0,
    ];
    bytes.extend_from_slice(&[0, 0, 0, 3]);
    let mut x = 0x2545_f491_u32;
    for _ in 0..300 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        bytes.push(x as u8);
    }
    std::fs::write(&file, &bytes).unwrap();
    let out = flowlens(&["decode", "--format", "json", file.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(stderr.contains("garbage.bin: packet 1: sflow"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["type"], "sflow");
    assert!(doc["errors"][0]["offset"].as_u64().unwrap() >= 28, "{doc}");

    // Bytes that are neither sFlow nor an Ethernet frame carrying it.
    std::fs::write(&file, b"hello, this is not a datagram").unwrap();
    let out = flowlens(&["decode", file.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(
        stderr.contains("not an sFlow v5, NetFlow or IPFIX datagram"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn truncated_capture_names_the_packet_and_missing_file_fails() {
    let dir = std::env::temp_dir().join(format!("flowlens-trunc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = std::fs::read(common::data_file("packets/tunnels/zeek__vxlan.pcap")).unwrap();
    let file = dir.join("cut.pcap");
    // Cut the file in the middle of the third packet record.
    // Records: 16-byte header + 92, 92, 148, ... bytes of frame.
    std::fs::write(&file, &src[..24 + 2 * (16 + 92) + 40]).unwrap();
    let out = flowlens(&["decode", file.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(
        stderr.contains("cut.pcap: packet 3: capture file ends inside a packet record"),
        "{stderr}"
    );
    // The two whole packets before the cut were still decoded.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("packet ")).count(),
        2,
        "{stdout}"
    );

    let out = flowlens(&["decode", "/nonexistent/flowlens.pcap"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot open /nonexistent/flowlens.pcap"));
    std::fs::remove_dir_all(&dir).ok();
}

/// pcapng input decodes exactly like the same packets in classic pcap (editcap converts).
#[test]
fn pcapng_decodes_like_pcap() {
    if common::shared_data_or_skip("bad_input::pcapng_decodes_like_pcap").is_none() {
        return;
    }
    let src = data_dir().join("sflow/akvorado__sflow-data-1140.pcap");
    let tun = data_dir().join("packets/tunnels/zeek__vxlan.pcap");
    let dir = std::env::temp_dir().join(format!("flowlens-pcapng-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for input in [src, tun] {
        let ng = dir.join("x.pcapng");
        let st = std::process::Command::new("editcap")
            .args(["-F", "pcapng"])
            .arg(&input)
            .arg(&ng)
            .status()
            .expect("editcap (Debian package wireshark-common, installed with tshark)");
        assert!(st.success());
        let a = flowlens(&["decode", "--format", "json", "-q", input.to_str().unwrap()]);
        let b = flowlens(&["decode", "--format", "json", "-q", ng.to_str().unwrap()]);
        assert_eq!(a.status.code(), Some(0));
        assert_eq!(
            b.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&b.stderr)
        );
        let strip = |o: &[u8]| -> Vec<serde_json::Value> {
            String::from_utf8_lossy(o)
                .lines()
                .map(|l| {
                    let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                    v.as_object_mut().unwrap().remove("file");
                    v
                })
                .collect()
        };
        let (pa, pb) = (strip(&a.stdout), strip(&b.stdout));
        assert!(!pa.is_empty());
        assert_eq!(pa, pb, "{}", input.display());
    }
    std::fs::remove_dir_all(&dir).ok();
}
