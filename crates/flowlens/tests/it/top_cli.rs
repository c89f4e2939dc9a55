//! `flowlens top` as a user meets it: definitions in sFlow-RT's JavaScript-object syntax,
//! precise errors for bad ones, periodic reports in capture time, the JSON shapes.

use crate::common;

use common::{flowlens, workspace_dir};

/// A classic pcap (Ethernet) of one 64-byte IPv4/UDP frame per `(source, destination)`.
fn udp_pcap(pairs: &[([u8; 4], [u8; 4])]) -> Vec<u8> {
    // Global header: magic, version 2.4, zone, sigfigs, snaplen, LINKTYPE_ETHERNET.
    let mut p = Vec::new();
    p.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    p.extend_from_slice(&2u16.to_le_bytes());
    p.extend_from_slice(&4u16.to_le_bytes());
    for w in [0u32, 0, 65535, 1] {
        p.extend_from_slice(&w.to_le_bytes());
    }
    for (i, (src, dst)) in pairs.iter().enumerate() {
        let mut f = vec![0u8; 64];
        f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
        f[14] = 0x45; // IPv4, header 20 bytes
        f[16..18].copy_from_slice(&50u16.to_be_bytes()); // total length
        f[22] = 64; // TTL
        f[23] = 17; // UDP
        f[26..30].copy_from_slice(src);
        f[30..34].copy_from_slice(dst);
        f[34..36].copy_from_slice(&1234u16.to_be_bytes());
        f[36..38].copy_from_slice(&53u16.to_be_bytes());
        f[38..40].copy_from_slice(&30u16.to_be_bytes());
        // Record header: seconds, microseconds, captured and original lengths.
        for w in [1_700_000_000 + i as u32, 0, 64, 64] {
            p.extend_from_slice(&w.to_le_bytes());
        }
        p.extend_from_slice(&f);
    }
    p
}

fn vxlan() -> String {
    workspace_dir()
        .join("testdata/zeek__vxlan.pcap")
        .to_string_lossy()
        .to_string()
}

#[test]
fn bad_definitions_exit_2_with_the_offending_part() {
    let f = vxlan();
    for (args, want) in [
        (
            vec!["top", "--value", "avg:", f.as_str()],
            "value `avg:`: expected a key after the prefix at offset 4",
        ),
        (
            vec![
                "top",
                "--flow",
                "{keys:'ipsource',value:'bytes',filter:'ipprotocol=&'}",
                f.as_str(),
            ],
            "filter `ipprotocol=&`: expected a value after '=' at offset 11",
        ),
        (
            vec!["top", "--flow", "{keys:'ipsource'", f.as_str()],
            "not a JavaScript/JSON object",
        ),
        (
            vec![
                "top",
                "--flow",
                "{keys:'nosuchfn:ipsource',value:'bytes'}",
                f.as_str(),
            ],
            "nosuchfn",
        ),
        (
            vec!["top", "--flow", "{value:'bytes',t:'soon'}", f.as_str()],
            "invalid `t`: `soon` is not a number",
        ),
        (
            vec![
                "top",
                "--keys",
                "ipsource",
                "--agg-mode",
                "edge",
                f.as_str(),
            ],
            "aggMode",
        ),
    ] {
        let out = flowlens(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn every_reports_in_capture_time() {
    let out = flowlens(&[
        "top",
        "-q",
        "--every",
        "1",
        "--keys",
        "ipsource.1",
        "--value",
        "frames",
        &vxlan(),
    ]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let times: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("-- ")).collect();
    // The capture spans about 3 s: three periodic reports and the final one.
    assert_eq!(times.len(), 4, "{text}");
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    assert!(times[0].starts_with("20"), "{times:?}");
    assert_eq!(text.matches("ipsource.1  frames/s").count(), 4);
}

#[test]
fn json_is_activeflows_for_one_flow_and_an_object_for_several() {
    let f = vxlan();
    let out = flowlens(&[
        "top",
        "-q",
        "--json",
        "--keys",
        "ipsource.1,ipdestination.1",
        "--value",
        "frames",
        &f,
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for r in rows {
        for field in ["key", "value", "agent", "dataSource", "samples", "ci95"] {
            assert!(r.get(field).is_some(), "{field} in {r}");
        }
        assert_eq!(r["agent"], "0.0.0.0");
    }
    let out = flowlens(&[
        "top",
        "-q",
        "--json",
        "--totals",
        "--flow",
        "in={keys:'ipsource.1',value:'frames'}",
        "--flow",
        "{keys:'vxlanvni',value:'bytes',values:['count:ipsource.1']}",
        &f,
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(names, ["in", "flow2"]);
    assert_eq!(v["flow2"][0]["key"], "123");
    let frames: f64 = v["in"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["value"].as_f64().unwrap())
        .sum();
    assert_eq!(frames, 8.0);
}

#[test]
fn lookup_tables_for_oui_country_and_asn() {
    let root = workspace_dir();
    let db = |n: &str| root.join("testdata").join(n).to_string_lossy().to_string();
    // Debian's ieee-data (installed by .ci/run) is the default OUI table.
    let out = flowlens(&[
        "top",
        "-q",
        "--totals",
        "--keys",
        "oui:macsource:name",
        "--value",
        "frames",
        &vxlan(),
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("PCS Systemtechnik GmbH"), "{text}");
    // The MaxMind databases are ours (scripts/make-geo-fixtures.py: 192.0.2.0/24 is NL and
    // AS 64496, 198.51.100.0/24 JP and AS 64500, 203.0.113.0/25 BR without an AS); bad files
    // are refused. Packets between those ranges, written here as a capture:
    let pcap = std::env::temp_dir().join(format!("flowlens-geo-{}.pcap", std::process::id()));
    std::fs::write(
        &pcap,
        udp_pcap(&[
            ([192, 0, 2, 10], [198, 51, 100, 20]),
            ([192, 0, 2, 10], [198, 51, 100, 20]),
            ([198, 51, 100, 7], [192, 0, 2, 1]),
            ([203, 0, 113, 5], [192, 0, 2, 1]),
            ([10, 0, 0, 1], [192, 0, 2, 1]),
        ]),
    )
    .unwrap();
    let out = flowlens(&[
        "top",
        "-q",
        "--totals",
        "--json",
        "--geo-country",
        &db("geo-country-test.mmdb"),
        "--geo-asn",
        &db("geo-asn-test.mmdb"),
        "--keys",
        "country:ipsource,asn:ipdestination",
        "--value",
        "frames",
        pcap.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut rows: Vec<(String, f64)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["key"].as_str().unwrap().to_string(),
                r["value"].as_f64().unwrap(),
            )
        })
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    // 10.0.0.1 has no country: a null key drops that packet.
    assert_eq!(
        rows,
        [
            ("BR,64496".to_string(), 1.0),
            ("JP,64496".to_string(), 1.0),
            ("NL,64500".to_string(), 2.0),
        ]
    );
    let _ = std::fs::remove_file(&pcap);
    let out = flowlens(&[
        "top",
        "-q",
        "--geo-asn",
        &vxlan(),
        "--keys",
        "asn:ipsource",
        &vxlan(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a MaxMind DB"));
}

#[test]
fn seed_ddos_filter_on_the_open_vswitch_capture() {
    // ddos.js / ddos-ovs.js: the legacy groups and the filter exactly as the scripts set them.
    // Open vSwitch samples on its bridge (data source 2.1000): direction is ingress.
    let cap = common::data_file("exporters/sflow-ovs-br0.pcap");
    let cap = cap.to_str().unwrap();
    let flow = "ddos={keys:'ipsource',value:'frames',filter:'outputifindex!=discard&direction=ingress&sourcegroup=external'}";
    let run = |groups: &str| {
        let out = flowlens(&[
            "top", "-q", "--totals", "--json", "--group", groups, "--flow", flow, cap,
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let v = run("default={'external':['0.0.0.0/0'],'internal':['10.0.0.2/32']}");
    let keys: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["10.99.0.1", "10.99.0.3", "10.99.0.2"]);
    // The testbed's hosts made internal: nothing external left.
    let v = run("default={'external':['0.0.0.0/0'],'internal':['10.99.0.0/24']}");
    assert!(v.as_array().unwrap().is_empty(), "{v}");
}
