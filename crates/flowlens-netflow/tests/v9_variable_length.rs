//! NetFlow v9 templates with a field of length 65,535 (issue 17 item 11): some exporters
//! (H3C NetStream among them) use IPFIX's variable-length marker in v9 too. tshark decodes such
//! fields as IPFIX variable-length ones; so must the session. The datagram is built here
//! (short and long length prefixes), written to a pcap, and compared field by field with
//! tshark's decode.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;

use flowlens_netflow::{Error, Limits, NetflowRecord, NetflowSession, RecordSink};

/// A flowset: id, length (header included, padded to 4 bytes), content, padding.
fn flowset(id: u16, content: &[u8]) -> Vec<u8> {
    let pad = (4 - (4 + content.len()) % 4) % 4;
    let mut v = Vec::new();
    v.extend_from_slice(&id.to_be_bytes());
    v.extend_from_slice(
        &u16::try_from(4 + content.len() + pad)
            .unwrap()
            .to_be_bytes(),
    );
    v.extend_from_slice(content);
    v.resize(v.len() + pad, 0);
    v
}

/// Template 256: srcaddr, dstaddr, interfaceName (IE 82, length 65,535), protocol, octets;
/// two records, the name with a 1-byte and with a 3-byte length prefix.
fn datagram(long_name: &str) -> Vec<u8> {
    let mut tpl = vec![1, 0, 0, 5];
    for (id, len) in [(8u16, 4u16), (12, 4), (82, 0xFFFF), (4, 1), (1, 4)] {
        tpl.extend_from_slice(&id.to_be_bytes());
        tpl.extend_from_slice(&len.to_be_bytes());
    }
    let mut data = vec![10, 0, 0, 1, 10, 0, 0, 2, 4];
    data.extend_from_slice(b"eth0");
    data.push(6);
    data.extend_from_slice(&1000u32.to_be_bytes());
    data.extend_from_slice(&[192, 0, 2, 1, 192, 0, 2, 2, 255]);
    data.extend_from_slice(&u16::try_from(long_name.len()).unwrap().to_be_bytes());
    data.extend_from_slice(long_name.as_bytes());
    data.push(17);
    data.extend_from_slice(&5000u32.to_be_bytes());
    let mut d = Vec::new();
    for x in [9u16, 3] {
        d.extend_from_slice(&x.to_be_bytes());
    }
    for x in [123_456u32, 1_700_000_000, 1, 42] {
        d.extend_from_slice(&x.to_be_bytes());
    }
    d.extend(flowset(0, &tpl));
    d.extend(flowset(256, &data));
    d
}

/// A classic pcap of one Ethernet/IPv4/UDP frame to port 2055 carrying `payload`.
fn pcap(payload: &[u8]) -> Vec<u8> {
    let udp_len = u16::try_from(8 + payload.len()).unwrap();
    let mut f = vec![0u8; 12];
    f.extend_from_slice(&[0x08, 0x00, 0x45, 0]);
    f.extend_from_slice(&(20 + udp_len).to_be_bytes());
    f.extend_from_slice(&[0, 0, 0, 0, 64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1]);
    f.extend_from_slice(&5000u16.to_be_bytes());
    f.extend_from_slice(&2055u16.to_be_bytes());
    f.extend_from_slice(&udp_len.to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(payload);
    let mut p = 0xa1b2_c3d4u32.to_le_bytes().to_vec();
    p.extend_from_slice(&2u16.to_le_bytes());
    p.extend_from_slice(&4u16.to_le_bytes());
    for x in [0u32, 0, 65_535, 1, 1_700_000_000, 0] {
        p.extend_from_slice(&x.to_le_bytes());
    }
    let n = u32::try_from(f.len()).unwrap();
    p.extend_from_slice(&n.to_le_bytes());
    p.extend_from_slice(&n.to_le_bytes());
    p.extend_from_slice(&f);
    p
}

/// Every record's fields, rendered as tshark renders them, in template order.
#[derive(Default)]
struct Fields(Vec<Vec<(u16, String)>>, Vec<Error>);

impl RecordSink for Fields {
    fn record(&mut self, r: &NetflowRecord<'_, '_>) {
        let rendered = r
            .fields()
            .map(|(f, b)| {
                let v = match (f.id, b.len()) {
                    (8 | 12, 4) => Ipv4Addr::new(b[0], b[1], b[2], b[3]).to_string(),
                    (82, _) => String::from_utf8_lossy(b).into_owned(),
                    _ => b
                        .iter()
                        .fold(0u64, |a, x| (a << 8) | u64::from(*x))
                        .to_string(),
                };
                (f.id, v)
            })
            .collect();
        self.0.push(rendered);
    }
    fn error(&mut self, e: &Error) {
        self.1.push(e.clone());
    }
}

/// tshark's values of `field` in frame order (all occurrences).
fn tshark(pcap: &std::path::Path, fields: &[&str]) -> Vec<Vec<String>> {
    let mut cmd = Command::new("tshark");
    cmd.args(["-r", pcap.to_str().unwrap(), "-T", "fields"])
        .args([
            "-E",
            "occurrence=a",
            "-E",
            "aggregator=|",
            "-E",
            "separator=\t",
        ]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd
        .output()
        .expect("tshark (Debian package tshark) must be installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let line = text.lines().next().expect("one frame");
    line.split('\t')
        .map(|c| c.split('|').map(str::to_string).collect())
        .collect()
}

#[test]
fn v9_field_length_65535_is_variable_length_as_tshark_decodes_it() {
    let long_name = format!("Ten-GigabitEthernet1/0/{}", "x".repeat(277));
    let payload = datagram(&long_name);
    let dir = std::env::temp_dir().join(format!("flowlens-v9var-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("v9var.pcap");
    std::fs::write(&file, pcap(&payload)).unwrap();

    let mut s = NetflowSession::new(Limits::default()).unwrap();
    let mut got = Fields::default();
    s.handle(0, IpAddr::from([127, 0, 0, 1]), &payload, &mut got)
        .unwrap();
    assert!(got.1.is_empty(), "{:?}", got.1);
    assert_eq!(got.0.len(), 2, "records");

    let names = [
        ("cflow.srcaddr", 8),
        ("cflow.dstaddr", 12),
        ("cflow.if_name", 82),
        ("cflow.protocol", 4),
        ("cflow.octets", 1),
    ];
    let t = tshark(&file, &names.map(|(n, _)| n));
    for (col, (name, id)) in names.iter().enumerate() {
        let ours: Vec<String> = got
            .0
            .iter()
            .map(|r| r.iter().find(|(i, _)| i == id).unwrap().1.clone())
            .collect();
        assert_eq!(ours, t[col], "{name}");
    }
    assert_eq!(t[2], ["eth0", long_name.as_str()]);
    // And the length prefixes tshark read: 4, then 255 followed by the 16-bit length.
    let lens = tshark(&file, &["cflow.string_len_short", "cflow.string_len_long"]);
    assert_eq!(lens, [vec!["4", "255"], vec!["300"]]);
    std::fs::remove_dir_all(&dir).unwrap();
}
