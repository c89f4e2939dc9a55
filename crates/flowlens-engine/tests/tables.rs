//! Group sets (longest-prefix match edge cases, JSON shape, errors), the registries, and the
//! OUI table against Debian's real `ieee-data` file.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::IpAddr;

use flowlens_engine::groups::{GroupSet, Groups};
use flowlens_engine::oui::{parse_mac, OuiTable};
use flowlens_engine::{Error, ExprKind, FlowQuery};
use serde_json::json;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn default_routes_are_overridden_by_more_specific_prefixes() {
    // ddos.js: {'external':['0.0.0.0/0'],'internal':['10.0.0.2/32']}
    let g = GroupSet::from_json(&json!({"external": ["0.0.0.0/0"], "internal": ["10.0.0.2/32"]}))
        .unwrap();
    assert_eq!(g.lookup(ip("10.0.0.2")), Some("internal"));
    assert_eq!(g.lookup(ip("10.0.0.3")), Some("external"));
    assert_eq!(g.lookup(ip("0.0.0.0")), Some("external"));
    assert_eq!(g.lookup(ip("255.255.255.255")), Some("external"));
    assert_eq!(
        g.lookup(ip("::1")),
        None,
        "an IPv4 default does not cover IPv6"
    );
    assert_eq!(
        g.lookup(ip("::ffff:10.0.0.2")),
        Some("internal"),
        "IPv4-mapped"
    );
    assert_eq!(g.len(), 2);

    // Order of labels does not matter for longest match.
    let g = GroupSet::from_json(&json!({"internal": ["10.0.0.2/32"], "external": ["0.0.0.0/0"]}))
        .unwrap();
    assert_eq!(g.lookup(ip("10.0.0.2")), Some("internal"));
    assert_eq!(g.lookup(ip("10.0.0.1")), Some("external"));
}

#[test]
fn prefix_lengths_at_the_edges() {
    let g = GroupSet::from_pairs([
        ("v4all", vec!["0.0.0.0/0"]),
        ("v6all", vec!["::/0"]),
        ("h32", vec!["192.0.2.1/32"]),
        ("h128", vec!["2001:db8::1/128"]),
        ("n31", vec!["192.0.2.0/31"]),
        ("n127", vec!["2001:db8::/127"]),
        ("ula", vec!["FC00::/7"]),
        ("mapped", vec!["::ffff:0:0/96"]),
    ])
    .unwrap();
    assert_eq!(g.lookup(ip("192.0.2.1")), Some("h32"));
    assert_eq!(g.lookup(ip("192.0.2.0")), Some("n31"));
    assert_eq!(g.lookup(ip("192.0.2.2")), Some("v4all"));
    assert_eq!(g.lookup(ip("2001:db8::1")), Some("h128"));
    assert_eq!(g.lookup(ip("2001:db8::")), Some("n127"));
    assert_eq!(g.lookup(ip("2001:db8::2")), Some("v6all"));
    assert_eq!(g.lookup(ip("fdff:ffff::1")), Some("ula"));
    assert_eq!(g.lookup(ip("fe00::1")), Some("v6all"));
    // A mapped address matches IPv4 prefixes first, IPv6 prefixes otherwise.
    assert_eq!(g.lookup(ip("::ffff:192.0.2.1")), Some("h32"));
    let only6 = GroupSet::from_pairs([("mapped", vec!["::ffff:0:0/96"])]).unwrap();
    assert_eq!(only6.lookup(ip("::ffff:192.0.2.1")), Some("mapped"));
    assert_eq!(only6.lookup(ip("192.0.2.1")), None);
}

#[test]
fn overlapping_prefixes_and_duplicates() {
    let g = GroupSet::from_pairs([
        ("a", vec!["10.0.0.0/8", "10.1.0.0/16"]),
        ("b", vec!["10.1.2.0/24", "10.0.0.0/8"]),
        ("c", vec!["10.1.2.128/25"]),
    ])
    .unwrap();
    assert_eq!(
        g.lookup(ip("10.9.9.9")),
        Some("a"),
        "duplicate /8: first label keeps it"
    );
    assert_eq!(g.lookup(ip("10.1.9.9")), Some("a"));
    assert_eq!(g.lookup(ip("10.1.2.1")), Some("b"));
    assert_eq!(g.lookup(ip("10.1.2.200")), Some("c"));
    assert_eq!(g.lookup(ip("11.0.0.0")), None);
    assert_eq!(g.len(), 4, "distinct prefixes");
    // Host bits are ignored; bare addresses are host routes.
    let g = GroupSet::from_pairs([("x", vec!["10.1.2.3/8", "192.0.2.7"])]).unwrap();
    assert_eq!(g.lookup(ip("10.200.0.0")), Some("x"));
    assert_eq!(g.lookup(ip("192.0.2.7")), Some("x"));
    assert_eq!(g.lookup(ip("192.0.2.8")), None);
}

#[test]
fn json_round_trip_keeps_label_order() {
    let v = json!({"z": ["10.1.2.3/8", "fc00::1/7"], "a": "192.0.2.1", "m": []});
    let g = GroupSet::from_json(&v).unwrap();
    assert_eq!(g.labels().collect::<Vec<_>>(), ["z", "a", "m"]);
    let out = g.to_json();
    assert_eq!(
        out,
        json!({"z": ["10.0.0.0/8", "fc00::/7"], "a": ["192.0.2.1/32"], "m": []})
    );
    assert_eq!(
        serde_json::to_string(&out).unwrap(),
        r#"{"z":["10.0.0.0/8","fc00::/7"],"a":["192.0.2.1/32"],"m":[]}"#
    );
    let again = GroupSet::from_json(&out).unwrap();
    assert_eq!(again.to_json(), out);
}

#[test]
fn bad_groups_are_precise_errors() {
    let e =
        GroupSet::from_json(&json!({"ok": ["10.0.0.0/8"], "bad": ["10.0.0.0/33"]})).unwrap_err();
    match e {
        Error::Syntax {
            kind: ExprKind::Cidr,
            ref input,
            offset,
            ref reason,
        } => {
            assert_eq!(input, "10.0.0.0/33");
            assert_eq!(offset, 9);
            assert!(
                reason.contains("0..=32") && reason.contains("`bad`"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        e.to_string(),
        "cidr `10.0.0.0/33`: prefix length must be 0..=32 (group label `bad`) at offset 9"
    );
    let e = GroupSet::from_pairs([("x", vec!["10.0.0/8"])]).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Syntax {
                kind: ExprKind::Cidr,
                offset: 0,
                ..
            }
        ),
        "{e:?}"
    );
    let e = GroupSet::from_pairs([("x", vec!["::/129"])]).expect_err("refused");
    assert_eq!(
        e.to_string(),
        "cidr `::/129`: prefix length must be 0..=128 (group label `x`) at offset 3"
    );
    let e = GroupSet::from_pairs([("x", vec!["10.0.0.0/-1"])]).expect_err("refused");
    assert_eq!(
        e.to_string(),
        "cidr `10.0.0.0/-1`: prefix length must be 0..=32 (group label `x`) at offset 9"
    );
    let e = GroupSet::from_pairs([("x", vec!["host.example"])]).expect_err("refused");
    assert_eq!(
        e.to_string(),
        "cidr `host.example`: expected an IPv4 or IPv6 address (group label `x`) at offset 0"
    );
    assert!(matches!(
        GroupSet::from_json(&json!(["10.0.0.0/8"])),
        Err(Error::Invalid { what: "group", .. })
    ));
    assert!(matches!(
        GroupSet::from_json(&json!({"x": [8]})),
        Err(Error::Invalid { what: "group", .. })
    ));
}

#[test]
fn registry() {
    let mut g = Groups::default();
    assert!(g.get("a").is_none());
    g.set("b", GroupSet::default());
    g.set(
        "a",
        GroupSet::from_pairs([("x", vec!["10.0.0.0/8"])]).unwrap(),
    );
    assert_eq!(g.names().collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(g.get("a").unwrap().lookup(ip("10.0.0.1")), Some("x"));
    g.set("a", GroupSet::default());
    assert_eq!(g.get("a").unwrap().lookup(ip("10.0.0.1")), None);
    assert!(g.remove("a"));
    assert!(!g.remove("a"));
    assert_eq!(g.names().collect::<Vec<_>>(), ["b"]);
}

#[test]
fn large_sets_load() {
    // 300,000 distinct prefixes (speed is measured in benches/groups.rs, not asserted here).
    let texts: Vec<String> = (0..300_000u32)
        .map(|i| format!("{}/32", std::net::Ipv4Addr::from(0x0a00_0000 + i * 7)))
        .collect();
    let labels: Vec<String> = (0..100_000).map(|i| format!("phish.{i}")).collect();
    let mut pairs: Vec<(&str, Vec<&str>)> = labels
        .iter()
        .zip(texts.chunks(3))
        .map(|(l, c)| (l.as_str(), c.iter().map(String::as_str).collect()))
        .collect();
    pairs.push(("other", vec!["0.0.0.0/0"]));
    let g = GroupSet::from_pairs(pairs).unwrap();
    assert_eq!(g.len(), 300_001);
    assert_eq!(g.lookup(ip("10.0.0.0")), Some("phish.0"));
    assert_eq!(g.lookup(ip("10.0.0.21")), Some("phish.1"));
    assert_eq!(g.lookup(ip("10.0.0.1")), Some("other"));
    let last = std::net::Ipv4Addr::from(0x0a00_0000 + 299_999 * 7);
    assert_eq!(g.lookup(IpAddr::V4(last)), Some("phish.99999"));
}

#[test]
fn oui_against_debian_ieee_data() {
    let path = "/usr/share/ieee-data/oui.csv";
    // .ci/run installs Debian's ieee-data; a missing table is a failed test, not a pass.
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{path}: {e} (apt-get install ieee-data)"));
    let t = OuiTable::parse_csv(&text).unwrap();
    let rows = text.lines().filter(|l| l.starts_with("MA-L,")).count();
    assert!(t.len() > 30_000, "{} assignments", t.len());
    // Each MA-L row starts a line; rows whose quoted address spans lines are counted once.
    assert!(t.len() <= rows, "{} > {rows}", t.len());
    // Well-known, long-stable assignments.
    let look = |m: &str| t.lookup(parse_mac(m).unwrap());
    assert_eq!(look("00000c123456"), Some("Cisco Systems, Inc"));
    assert_eq!(look("080027aabbcc"), Some("PCS Systemtechnik GmbH"));
    assert_eq!(
        look("525400000000"),
        None,
        "locally administered (QEMU) is unregistered"
    );
    // Every MA-L line whose fields are unquoted round-trips.
    let mut checked = 0;
    for line in text
        .lines()
        .filter(|l| l.starts_with("MA-L,") && !l.contains('"'))
        .take(2000)
    {
        let mut f = line.splitn(4, ',');
        let (_, hex, org) = (f.next(), f.next().unwrap(), f.next().unwrap());
        let v = u32::from_str_radix(hex, 16).unwrap();
        let mac = [(v >> 16) as u8, (v >> 8) as u8, v as u8, 0, 0, 0];
        let got = t.lookup(mac).unwrap();
        // The same assignment may be listed twice; the last row wins.
        if got == org.trim() {
            checked += 1;
        }
    }
    assert!(checked > 1900, "{checked}");

    // The 28- and 36-bit registries parse too and refine the 24-bit blocks.
    for (file, bits) in [
        ("/usr/share/ieee-data/mam.csv", 28),
        ("/usr/share/ieee-data/oui36.csv", 36),
    ] {
        if let Ok(more) = std::fs::read_to_string(file) {
            let all = OuiTable::parse_csv(&format!("{text}\n{more}")).unwrap();
            assert!(all.len() > t.len(), "{file} ({bits}-bit) adds assignments");
        }
    }
}

#[test]
fn country_and_asn_key_functions_from_maxmind_databases() {
    use flowlens_engine::geo::MaxMindGeo;
    use flowlens_engine::{AgentSel, Engine};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata");
    let geo = MaxMindGeo::new(
        Some(std::fs::read(dir.join("geo-country-test.mmdb")).unwrap()),
        Some(std::fs::read(dir.join("geo-asn-test.mmdb")).unwrap()),
    )
    .unwrap();
    let e = MaxMindGeo::new(Some(b"not a database".to_vec()), None).expect_err("refused");
    assert!(
        e.to_string()
            .starts_with("geo: invalid `country`: not a MaxMind DB"),
        "{e}"
    );
    {
        use flowlens_engine::env::GeoLookup;
        assert_eq!(
            geo.country("192.0.2.7".parse().unwrap()).as_deref(),
            Some("NL")
        );
        assert_eq!(
            geo.country("2001:db8::1".parse().unwrap()).as_deref(),
            Some("JP")
        );
        assert_eq!(
            geo.asn("198.51.100.1".parse().unwrap()),
            Some((64500, "Example Hosting".to_string()))
        );
        assert_eq!(geo.country("10.0.0.1".parse().unwrap()), None);
    }
    let mut e = Engine::default();
    e.env_mut().geo = Some(std::sync::Arc::new(geo));
    e.set_flow(
        "g",
        &serde_json::json!({"keys":"ipsource,country:ipsource,asn:ipsource:number,asn:ipsource:descr","value":"frames"}),
    )
    .unwrap();
    for src in [
        [192, 0, 2, 7],
        [198, 51, 100, 1],
        [203, 0, 113, 9],
        [10, 0, 0, 1],
    ] {
        let mut f = vec![0u8; 42];
        f[12] = 8;
        f[14] = 0x45;
        f[16..18].copy_from_slice(&28u16.to_be_bytes());
        f[23] = 17;
        f[26..30].copy_from_slice(&src);
        f[30..34].copy_from_slice(&[10, 9, 9, 9]);
        e.add_packet(
            1000,
            "192.0.2.254".parse().unwrap(),
            flowlens_wire::packet::LinkType::Ethernet,
            &f,
            60,
        );
    }
    let mut keys: Vec<String> = e
        .active_flows(
            1000,
            &FlowQuery {
                max_flows: 10,
                ..FlowQuery::new(&AgentSel::All, "g")
            },
        )
        .unwrap()
        .into_iter()
        .map(|a| a.key)
        .collect();
    keys.sort();
    // 203.0.113.9 has a country but no AS; 10.0.0.1 has neither: a null key drops the sample.
    assert_eq!(
        keys,
        [
            "192.0.2.7,NL,64496,Example Transit",
            "198.51.100.1,JP,64500,Example Hosting"
        ]
    );
}
