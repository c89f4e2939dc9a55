//! Key functions and filters against hand-built samples: each function's output, nesting,
//! errors with offsets, and the filters of the sFlow-RT seed scripts.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::IpAddr;
use std::sync::Arc;

use flowlens_engine::env::GeoLookup;
use flowlens_engine::expr::{split_keys, Filter, KeyExpr};
use flowlens_engine::groups::{GroupSet, LEGACY_SET};
use flowlens_engine::maps::ValueMap;
use flowlens_engine::oui::OuiTable;
use flowlens_engine::{Env, Error, ExprKind, KeyBuf, Schema};
use flowlens_wire::Value;
use serde_json::json;

/// Fills a buffer: addresses as typed addresses, MAC-like and other text as text, integers as
/// numbers (as the wire layer delivers them).
fn sample(schema: &mut Schema, kv: &[(&str, &str)]) -> KeyBuf {
    let slots: Vec<_> = kv.iter().map(|(k, _)| schema.intern(k).unwrap()).collect();
    let mut buf = KeyBuf::default();
    buf.reset(schema);
    for (slot, (_, v)) in slots.into_iter().zip(kv) {
        if let Ok(ip) = v.parse::<IpAddr>() {
            buf.set(slot, Value::Ip(ip));
        } else if let Some(n) = v.parse::<u64>().ok().filter(|n| n.to_string() == *v) {
            buf.set(slot, Value::U64(n));
        } else {
            buf.set_text(slot, v);
        }
    }
    buf
}

fn env() -> Env {
    let mut env = Env::default();
    env.groups.set(
        "sites",
        GroupSet::from_json(&json!({
            "world": ["0.0.0.0/0", "::/0"],
            "lab": ["10.0.0.0/8", "fc00::/7"],
            "rack": ["10.1.2.0/24"],
            "host": ["10.1.2.3"],
        }))
        .unwrap(),
    );
    env.groups.set(
        "dc",
        GroupSet::from_json(&json!({"dc1": ["192.0.2.0/24"]})).unwrap(),
    );
    env.groups.set(
        LEGACY_SET,
        GroupSet::from_json(&json!({"external": ["0.0.0.0/0", "::/0"], "internal": ["10.0.0.2/32", "2001:db8::/32"]}))
            .unwrap(),
    );
    env.maps.set(
        "svc",
        ValueMap::from_json(&json!({"web": ["80", "443"], "dns": ["53"]})).unwrap(),
    );
    env
}

/// Evaluates `expr` on the sample `kv` with `env`.
fn eval_in(env: &Env, expr: &str, kv: &[(&str, &str)]) -> Option<String> {
    let mut schema = Schema::default();
    let e = KeyExpr::parse(expr, &mut schema).unwrap_or_else(|e| panic!("{expr}: {e}"));
    let keys = sample(&mut schema, kv);
    let mut out = String::from("<");
    let ok = e.eval(&keys, env, &mut out);
    if !ok {
        assert_eq!(out, "<", "{expr}: a null value must leave `out` alone");
        return None;
    }
    Some(out.split_off(1))
}

fn eval(expr: &str, kv: &[(&str, &str)]) -> Option<String> {
    eval_in(&env(), expr, kv)
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

fn syntax(err: Error) -> (ExprKind, usize, String) {
    match err {
        Error::Syntax {
            kind,
            offset,
            reason,
            ..
        } => (kind, offset, reason),
        other => panic!("not a syntax error: {other:?}"),
    }
}

fn key_err(expr: &str) -> (usize, String) {
    let e = KeyExpr::parse(expr, &mut Schema::default()).expect_err(expr);
    let (kind, off, why) = syntax(e);
    assert_eq!(kind, ExprKind::Key, "{expr}");
    (off, why)
}

fn filter_err(f: &str) -> (usize, String) {
    let e = Filter::parse(f, &mut Schema::default()).expect_err(f);
    let (kind, off, why) = syntax(e);
    assert_eq!(kind, ExprKind::Filter, "{f}");
    (off, why)
}

fn matches_in(env: &Env, f: &str, kv: &[(&str, &str)]) -> bool {
    let mut schema = Schema::default();
    let f = Filter::parse(f, &mut schema).unwrap_or_else(|e| panic!("{f}: {e}"));
    let keys = sample(&mut schema, kv);
    f.matches(&keys, env)
}

fn matches(f: &str, kv: &[(&str, &str)]) -> bool {
    matches_in(&env(), f, kv)
}

// ---------------------------------------------------------------- key expressions

#[test]
fn plain_keys_and_missing_keys() {
    assert_eq!(eval("ipsource", &[("ipsource", "10.0.0.1")]), s("10.0.0.1"));
    assert_eq!(
        eval(" ipsource ", &[("ipsource", "10.0.0.1")]),
        s("10.0.0.1")
    );
    assert_eq!(eval("ipsource.1", &[("ipsource", "10.0.0.1")]), None);
    assert_eq!(
        eval("ipsource.1", &[("ipsource.1", "10.9.9.9")]),
        s("10.9.9.9")
    );
    assert_eq!(eval("nosuchkey", &[("ipsource", "10.0.0.1")]), None);
    assert_eq!(
        eval("ipfix:flowEndReason", &[("ipfix:flowEndReason", "3")]),
        s("3")
    );
    let mut schema = Schema::default();
    let e = KeyExpr::parse("  group:ipsource:sites ", &mut schema).unwrap();
    assert_eq!(e.source(), "  group:ipsource:sites ");
}

#[test]
fn group_longest_prefix_and_set_order() {
    let g = |ip: &str| eval("group:ipsource:sites", &[("ipsource", ip)]);
    assert_eq!(g("192.0.2.1"), s("world"));
    assert_eq!(g("10.200.0.1"), s("lab"));
    assert_eq!(g("10.1.2.200"), s("rack"));
    assert_eq!(g("10.1.2.3"), s("host"));
    let g6 = |ip: &str| eval("group:ip6source:sites", &[("ip6source", ip)]);
    assert_eq!(g6("fd00::1"), s("lab"));
    assert_eq!(g6("2001:db8::1"), s("world"));
    // IPv4-mapped IPv6 addresses match the IPv4 prefixes.
    assert_eq!(g6("::ffff:10.1.2.3"), s("host"));
    // First set with a match wins; unknown sets are skipped / yield null.
    assert_eq!(
        eval("group:ipsource:dc:sites", &[("ipsource", "192.0.2.9")]),
        s("dc1")
    );
    assert_eq!(
        eval("group:ipsource:dc:sites", &[("ipsource", "10.1.2.3")]),
        s("host")
    );
    assert_eq!(
        eval("group:ipsource:nosuch:dc", &[("ipsource", "192.0.2.9")]),
        s("dc1")
    );
    assert_eq!(
        eval("group:ipsource:nosuch", &[("ipsource", "192.0.2.9")]),
        None
    );
    assert_eq!(eval("group:ipsource:dc", &[("ipsource", "10.0.0.1")]), None);
    // Text that is no address.
    assert_eq!(eval("group:agent:sites", &[("agent", "switch1")]), None);
}

#[test]
fn groups_resolve_by_name_at_eval_time() {
    let mut env = env();
    let mut schema = Schema::default();
    let e = KeyExpr::parse("group:ipsource:late", &mut schema).unwrap();
    let keys = sample(&mut schema, &[("ipsource", "10.0.0.1")]);
    let mut out = String::new();
    assert!(!e.eval(&keys, &env, &mut out));
    env.groups.set(
        "late",
        GroupSet::from_json(&json!({"a": ["10.0.0.0/8"]})).unwrap(),
    );
    assert!(e.eval(&keys, &env, &mut out));
    assert_eq!(out, "a");
    env.groups.set(
        "late",
        GroupSet::from_json(&json!({"b": ["10.0.0.0/16"]})).unwrap(),
    );
    out.clear();
    assert!(e.eval(&keys, &env, &mut out));
    assert_eq!(out, "b");
    assert!(env.groups.remove("late"));
    assert!(!e.eval(&keys, &env, &mut out));
}

#[test]
fn legacy_group_keys() {
    let kv = [("ipsource", "10.0.0.2"), ("ipdestination", "198.51.100.7")];
    assert_eq!(eval("sourcegroup", &kv), s("internal"));
    assert_eq!(eval("destinationgroup", &kv), s("external"));
    let v6 = [("ip6source", "2001:db8::5"), ("ip6destination", "2a00::1")];
    assert_eq!(eval("sourcegroup", &v6), s("internal"));
    assert_eq!(eval("destinationgroup", &v6), s("external"));
    assert_eq!(eval("sourcegroup", &[("macsource", "000000000001")]), None);
    assert_eq!(
        eval("sourcegroup.1", &[("ipsource.1", "10.0.0.2")]),
        s("internal")
    );
    assert_eq!(eval_in(&Env::default(), "sourcegroup", &kv), None);
}

#[test]
fn map_mask_affix() {
    assert_eq!(
        eval(
            "map:tcpdestinationport:svc",
            &[("tcpdestinationport", "443")]
        ),
        s("web")
    );
    assert_eq!(
        eval(
            "map:tcpdestinationport:svc",
            &[("tcpdestinationport", "22")]
        ),
        None
    );
    assert_eq!(
        eval(
            "map:tcpdestinationport:nosuch",
            &[("tcpdestinationport", "80")]
        ),
        None
    );

    assert_eq!(
        eval("mask:ipsource:24", &[("ipsource", "10.1.2.3")]),
        s("10.1.2.0")
    );
    assert_eq!(
        eval("mask:ipsource:0", &[("ipsource", "10.1.2.3")]),
        s("0.0.0.0")
    );
    assert_eq!(
        eval("mask:ipsource:32", &[("ipsource", "10.1.2.3")]),
        s("10.1.2.3")
    );
    assert_eq!(
        eval("mask:ipsource:64", &[("ipsource", "10.1.2.3")]),
        s("10.1.2.3")
    );
    assert_eq!(
        eval("mask:ip6source:48", &[("ip6source", "2001:db8:1:2::5")]),
        s("2001:db8:1::")
    );
    assert_eq!(
        eval("mask:ip6source:128", &[("ip6source", "2001:db8::5")]),
        s("2001:db8::5")
    );
    assert_eq!(eval("mask:agent:24", &[("agent", "sw1")]), None);

    assert_eq!(
        eval("prefix:stack:.:1", &[("stack", "eth.ip.tcp")]),
        s("eth")
    );
    assert_eq!(
        eval("prefix:stack:.:2", &[("stack", "eth.ip.tcp")]),
        s("eth.ip")
    );
    assert_eq!(
        eval("suffix:stack:.:2", &[("stack", "eth.ip.tcp")]),
        s("ip.tcp")
    );
    assert_eq!(
        eval("suffix:dnsqname:.:2", &[("dnsqname", "www.example.com.")]),
        s("example.com")
    );
    assert_eq!(
        eval("prefix:stack:.:9", &[("stack", "eth.ip.tcp")]),
        s("eth.ip.tcp")
    );
    // The example of define_flow.php.
    assert_eq!(
        eval(
            "prefix:[uri:httpurl:path]:/:2",
            &[("httpurl", "http://localhost:8008/metrics/json")]
        ),
        s("/metrics")
    );
}

#[test]
fn null_or_eq_range() {
    assert_eq!(
        eval("null:vlan:undefined", &[("ipsource", "10.0.0.1")]),
        s("undefined")
    );
    assert_eq!(eval("null:vlan:undefined", &[("vlan", "7")]), s("7"));
    assert_eq!(eval("null:vlan:", &[]), s(""));

    let or = "or:tcpsourceport:udpsourceport:icmptype";
    assert_eq!(eval(or, &[("udpsourceport", "53")]), s("53"));
    assert_eq!(
        eval(or, &[("tcpsourceport", "80"), ("udpsourceport", "53")]),
        s("80")
    );
    assert_eq!(eval(or, &[("icmptype", "8")]), s("8"));
    assert_eq!(eval(or, &[]), None);
    assert_eq!(
        eval("or:ipsource:ip6source", &[("ip6source", "::1")]),
        s("::1")
    );

    assert_eq!(
        eval(
            "eq:bgpsourceas:bgpas",
            &[("bgpsourceas", "65000"), ("bgpas", "65000")]
        ),
        s("true")
    );
    assert_eq!(
        eval(
            "eq:bgpsourceas:bgpas",
            &[("bgpsourceas", "65000"), ("bgpas", "65001")]
        ),
        s("false")
    );
    assert_eq!(eval("eq:bgpsourceas:bgpas", &[("bgpas", "65001")]), None);

    let r = |v: &str| eval("range:bytes:65:127", &[("bytes", v)]);
    assert_eq!(r("64"), s("false"));
    assert_eq!(r("65"), s("true"));
    assert_eq!(r("127"), s("true"));
    assert_eq!(r("128"), s("false"));
    assert_eq!(
        eval("range:bytes:1518:1518", &[("bytes", "1518")]),
        s("true")
    );
    assert_eq!(eval("range:bytes:1519", &[("bytes", "9000")]), s("true"));
    assert_eq!(eval("range:bytes:1519", &[("bytes", "1518")]), s("false"));
    assert_eq!(eval("range:bytes:1519", &[]), None);
    assert_eq!(
        eval("range:tcpsourceport:0:1023", &[("tcpsourceport", "22")]),
        s("true")
    );
}

#[test]
fn first_if_concat_bits() {
    let f = |stack: &str| eval("first:stack:.:ip:ip6", &[("stack", stack)]);
    assert_eq!(f("eth.ip.tcp"), s("ip"));
    assert_eq!(f("eth.ip6.udp"), s("ip6"));
    assert_eq!(f("eth.ip.ip6.tcp"), s("ip"), "outermost wins");
    assert_eq!(f("eth.arp"), None);

    // world-map's key.
    let wm = "if:[first:stack:.:ip:ip6]:ip:[ipsource]:[ip6source]";
    assert_eq!(
        eval(wm, &[("stack", "eth.ip.tcp"), ("ipsource", "10.0.0.1")]),
        s("10.0.0.1")
    );
    assert_eq!(
        eval(wm, &[("stack", "eth.ip6.tcp"), ("ip6source", "::1")]),
        s("::1")
    );
    assert_eq!(
        eval(wm, &[("ipsource", "10.0.0.1")]),
        None,
        "no stack: else branch, missing"
    );
    assert_eq!(
        eval(
            "if:ipprotocol:6:tcpsourceport:udpsourceport",
            &[("ipprotocol", "6"), ("tcpsourceport", "80")]
        ),
        s("80")
    );

    let c = "concat:-:ipsource:tcpsourceport";
    assert_eq!(
        eval(c, &[("ipsource", "10.0.0.1"), ("tcpsourceport", "80")]),
        s("10.0.0.1-80")
    );
    assert_eq!(eval(c, &[("ipsource", "10.0.0.1")]), None);
    assert_eq!(
        eval("concat::a:b:c", &[("a", "x"), ("b", "y"), ("c", "z")]),
        s("xyz")
    );

    assert_eq!(
        eval("bits:ip6flowlabel:0xff", &[("ip6flowlabel", "4660")]),
        s("52")
    );
    assert_eq!(
        eval("bits:ip6flowlabel:0xFF00", &[("ip6flowlabel", "4660")]),
        s("4608")
    );
    assert_eq!(eval("bits:ipdscp:12", &[("ipdscp", "46")]), s("12"));
    assert_eq!(eval("bits:ipdscp:12", &[("ipdscp", "x")]), None);
}

#[derive(Debug)]
struct FakeGeo;

impl GeoLookup for FakeGeo {
    fn country(&self, ip: IpAddr) -> Option<String> {
        ip.is_ipv4().then(|| "US".to_string())
    }
    fn asn(&self, ip: IpAddr) -> Option<(u32, String)> {
        ip.is_ipv4().then(|| (15169, "GOOGLE".to_string()))
    }
}

#[test]
fn oui_uri_geo_and_unsupported() {
    let mut env = env();
    let kv = [("macsource", "f4bd9e0a0b0c")];
    assert_eq!(eval_in(&env, "oui:macsource", &kv), s("f4bd9e"));
    assert_eq!(eval_in(&env, "oui:macsource:number", &kv), s("f4bd9e"));
    assert_eq!(eval_in(&env, "oui:macsource:name", &kv), None, "no table");
    env.oui = Some(Arc::new(
        OuiTable::parse_csv("Registry,Assignment,Organization Name,Organization Address\nMA-L,F4BD9E,\"Cisco Systems, Inc\",x\n").unwrap(),
    ));
    assert_eq!(
        eval_in(&env, "oui:macsource:name", &kv),
        s("Cisco Systems, Inc")
    );
    assert_eq!(
        eval_in(&env, "oui:macsource:name", &[("macsource", "000000000000")]),
        None
    );
    assert_eq!(
        eval_in(&env, "oui:macsource", &[("macsource", "nomac")]),
        None
    );

    let url = [("httpurl", "https://www.example.com:8443/a/b?x=1#f")];
    assert_eq!(eval("uri:httpurl:host", &url), s("www.example.com"));
    assert_eq!(eval("uri:httpurl:port", &url), s("8443"));
    assert_eq!(eval("uri:httpurl:query", &url), s("x=1"));
    assert_eq!(eval("uri:httpurl:scheme", &url), s("https"));
    assert_eq!(eval("uri:httpurl:fragment", &url), s("f"));
    assert_eq!(eval("uri:httpurl:query", &[("httpurl", "/a")]), None);
    assert_eq!(
        eval("suffix:[uri:httpurl:host]:.:2", &url),
        s("example.com")
    );

    let ip = [("ipsource", "8.8.8.8")];
    assert_eq!(eval_in(&env, "country:ipsource", &ip), None, "no geo");
    assert_eq!(eval_in(&env, "asn:ipsource", &ip), None);
    env.geo = Some(Arc::new(FakeGeo));
    assert_eq!(eval_in(&env, "country:ipsource", &ip), s("US"));
    assert_eq!(eval_in(&env, "asn:ipsource", &ip), s("15169"));
    assert_eq!(eval_in(&env, "asn:ipsource:descr", &ip), s("GOOGLE"));
    assert_eq!(eval_in(&env, "asn:ipsource:both", &ip), s("15169 GOOGLE"));
    assert_eq!(
        eval_in(&env, "country:ip6source", &[("ip6source", "::1")]),
        None
    );

    assert_eq!(eval("host:macsource:os_name", &kv), None);
    // link: names the topology link at the sample agent's interface.
    let with_agent = [
        ("agent", "10.0.0.1"),
        ("inputifindex", "3"),
        ("outputifindex", "1"),
    ];
    assert_eq!(eval("link:inputifindex", &with_agent), None, "no topology");
    let mut topo_env = Env::default();
    topo_env
        .topology
        .set(&json!({
            "nodes": {"s1": {"agent": "10.0.0.1", "ports": {"p1": {"ifindex": "1"}, "p3": {"ifindex": "3"}}},
                      "s2": {"agent": "10.0.0.2", "ports": {"p9": {"ifindex": "9"}}}},
            "links": {"s1-s2": {"node1": "s1", "port1": "p3", "node2": "s2", "port2": "p9"}}
        }))
        .unwrap();
    assert_eq!(
        eval_in(&topo_env, "link:inputifindex", &with_agent),
        s("s1-s2")
    );
    assert_eq!(
        eval_in(&topo_env, "link:outputifindex", &with_agent),
        None,
        "edge port"
    );
    assert_eq!(
        eval_in(&topo_env, "link:inputifindex", &[("inputifindex", "3")]),
        None,
        "no agent"
    );
    assert_eq!(eval("dns:ipsource", &ip), None);
}

#[test]
fn nesting() {
    assert_eq!(
        eval(
            "group:[or:ipsource:ip6source]:sites",
            &[("ip6source", "fc00::1")]
        ),
        s("lab")
    );
    assert_eq!(
        eval(
            "group:[or:ipsource:ip6source]:sites",
            &[("ipsource", "10.1.2.3")]
        ),
        s("host")
    );
    assert_eq!(
        eval(
            "null:[group:ipsource:dc]:other",
            &[("ipsource", "10.1.2.3")]
        ),
        s("other")
    );
    assert_eq!(
        eval(
            "[concat:/:[mask:ipsource:16]:[null:[map:tcpdestinationport:svc]:misc]]",
            &[("ipsource", "10.1.2.3"), ("tcpdestinationport", "9")]
        ),
        s("10.1.0.0/misc")
    );
    assert_eq!(
        eval(
            "eq:[mask:ipsource:8]:[mask:ipdestination:8]",
            &[("ipsource", "10.1.2.3"), ("ipdestination", "10.9.9.9")]
        ),
        s("true")
    );
    assert_eq!(
        eval(
            "map:[bits:tcpdestinationport:0xffff]:svc",
            &[("tcpdestinationport", "53")]
        ),
        s("dns")
    );
}

#[test]
fn key_errors_have_offsets() {
    let (off, why) = key_err("foo:ipsource");
    assert_eq!(off, 0);
    assert!(why.contains("unknown key function `foo`"), "{why}");
    assert!(why.contains("group"), "lists the functions: {why}");

    let (off, why) = key_err("group:ipsource");
    assert_eq!(off, 14);
    assert!(why.contains("group: expected a group set name"), "{why}");

    let (off, why) = key_err("mask:ipsource:x");
    assert_eq!(
        (off, why.as_str()),
        (14, "mask: expected a prefix length 0..=128, found `x`")
    );
    assert_eq!(key_err("mask:ipsource:129").0, 17);

    let (off, why) = key_err("prefix:[uri:httpurl:path:/:2");
    assert_eq!(off, 7);
    assert!(why.contains("unclosed '['"), "{why}");
    assert_eq!(key_err("prefix:uri:httpurl:path]:/:2").0, 23);

    let (off, why) = key_err("eq:a:b:c");
    assert_eq!(off, 6);
    assert!(why.contains("unexpected extra argument"), "{why}");

    let (off, why) = key_err("group:ipsource.0:x");
    assert_eq!(off, 15);
    assert!(why.contains("tunnel depth"), "{why}");
    assert_eq!(key_err("group:ip source:x").0, 8);
    assert_eq!(key_err("group::x").0, 6);
    assert_eq!(key_err("").0, 0);
    assert_eq!(key_err("[]").0, 1);
    assert_eq!(key_err("[ipsource]x").0, 10);
    assert!(key_err("uri:httpurl:file")
        .1
        .contains("unknown part `file`"));
    assert!(key_err("oui:macsource:vendor")
        .1
        .contains("`number` or `name`"));
    assert!(key_err("asn:ipsource:x").1.contains("`both`"));
    assert_eq!(key_err("bits:tcpflags:0xzz").0, 14);
    assert!(key_err("prefix:stack:.:0").1.contains("at least 1"));
    assert_eq!(key_err("range:bytes:low").0, 12);

    let e = KeyExpr::parse("foo:x", &mut Schema::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "key `foo:x`: unknown key function `foo` (expected one of {}) at offset 0",
            FUNCTIONS_FOR_TEST
        )
    );
}

const FUNCTIONS_FOR_TEST: &str = "group, map, mask, prefix, suffix, null, or, eq, range, first, if, concat, bits, oui, uri, country, asn, host, link, dns";

#[test]
fn key_lists_split_at_top_level() {
    assert_eq!(
        split_keys("ipsource, ipdestination"),
        ["ipsource", "ipdestination"]
    );
    assert_eq!(
        split_keys("ipsource,group:[or:ipsource:ip6source]:a,concat:,:a:b"),
        [
            "ipsource",
            "group:[or:ipsource:ip6source]:a",
            "concat:",
            ":a:b"
        ]
    );
    assert_eq!(split_keys("concat:[x]:[a],b"), ["concat:[x]:[a]", "b"]);
    assert_eq!(split_keys("[a,b],c"), ["[a,b]", "c"]);
    assert!(split_keys("").is_empty());
    assert!(split_keys(" , ").is_empty());
}

// ---------------------------------------------------------------- filters

#[test]
fn seed_ddos_filter() {
    // ddos.js / normal.js / ddos-ovs.js
    let f = "outputifindex!=discard&direction=ingress&sourcegroup=external";
    let base = |src: &'static str, out: &'static str| {
        vec![
            ("outputifindex", out),
            ("direction", "ingress"),
            ("ipsource", src),
        ]
    };
    assert!(matches(f, &base("198.51.100.1", "3")));
    assert!(
        !matches(f, &base("10.0.0.2", "3")),
        "internal overrides 0.0.0.0/0"
    );
    assert!(!matches(f, &base("198.51.100.1", "discard")));
    assert!(!matches(
        f,
        &[
            ("outputifindex", "3"),
            ("direction", "egress"),
            ("ipsource", "198.51.100.1")
        ]
    ));
    assert!(matches(
        f,
        &[
            ("outputifindex", "3"),
            ("direction", "ingress"),
            ("ip6source", "2a00::1")
        ]
    ));
    assert!(
        !matches(f, &[("outputifindex", "3"), ("direction", "ingress")]),
        "no address, no group"
    );
}

#[test]
fn seed_dns_filters() {
    let f = "dnsqr=false&dnsqtype=255";
    assert!(matches(f, &[("dnsqr", "false"), ("dnsqtype", "255")]));
    assert!(!matches(f, &[("dnsqr", "true"), ("dnsqtype", "255")]));
    assert!(!matches(f, &[("dnsqr", "false"), ("dnsqtype", "1")]));
    assert!(!matches(f, &[("dnsqr", "false")]));
    assert!(matches("dnsqr=false", &[("dnsqr", "false")]));
}

#[test]
fn seed_phish_filters() {
    let mut env = env();
    env.groups.set(
        LEGACY_SET,
        GroupSet::from_json(&json!({
            "phish.123": ["203.0.113.0/24"],
            "phish.456": ["198.51.100.7/32"],
            "other": ["0.0.0.0/0", "::/0"],
            "private": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "FC00::/7"],
            "multicast": ["224.0.0.0/4"],
        }))
        .unwrap(),
    );
    let d = "destinationgroup~^phish.*";
    assert!(matches_in(&env, d, &[("ipdestination", "203.0.113.9")]));
    assert!(matches_in(&env, d, &[("ipdestination", "198.51.100.7")]));
    assert!(!matches_in(&env, d, &[("ipdestination", "198.51.100.8")]));
    assert!(!matches_in(&env, d, &[("ipdestination", "10.0.0.1")]));
    assert!(!matches_in(&env, d, &[]));
    assert!(matches_in(
        &env,
        "sourcegroup~^phish.*",
        &[("ipsource", "203.0.113.1")]
    ));

    // The dnsqname list: JavaScript's Array.toString inside double quotes.
    let names: Vec<String> = (0..16_000)
        .map(|i| format!("site{i}.example{}.org.", i % 13))
        .collect();
    let filter = format!("dnsqname=\"{}\"", names.join(","));
    let mut schema = Schema::default();
    let f = Filter::parse(&filter, &mut schema).unwrap();
    for name in [&names[0], &names[7_777], &names[15_999]] {
        let keys = sample(&mut schema, &[("dnsqname", name)]);
        assert!(f.matches(&keys, &env), "{name}");
    }
    for name in [
        "site16000.example0.org.",
        "site1.example1.org",
        "",
        "\"site1.example1.org.\"",
    ] {
        let keys = sample(&mut schema, &[("dnsqname", name)]);
        assert!(!f.matches(&keys, &env), "{name}");
    }
    assert!(!f.matches(&sample(&mut schema, &[]), &env));
}

#[test]
fn equals_lists_null_and_negation() {
    assert!(matches("ipprotocol=6,17", &[("ipprotocol", "17")]));
    assert!(!matches("ipprotocol=6,17", &[("ipprotocol", "1")]));
    assert!(matches("ipprotocol!=6,17", &[("ipprotocol", "1")]));
    assert!(!matches("ipprotocol!=6,17", &[("ipprotocol", "6")]));
    // `!=` is the negation of `=`: a missing key matches.
    assert!(matches("ipprotocol!=6", &[]));
    assert!(!matches("ipprotocol=6", &[]));
    // A number is compared as its decimal text: `06` is another text.
    assert!(!matches("ipprotocol=06", &[("ipprotocol", "6")]));
    assert!(matches(
        "ipprotocol!=06,x,null,10.0.0.0/8",
        &[("ipprotocol", "6")]
    ));

    assert!(matches("vxlanvni=null", &[]));
    assert!(!matches("vxlanvni=null", &[("vxlanvni", "5000")]));
    assert!(matches("vxlanvni!=null", &[("vxlanvni", "5000")]));
    assert!(!matches("vxlanvni!=null", &[]));
    assert!(matches("vxlanvni=5000,null", &[("vxlanvni", "5000")]));
    assert!(matches(
        "map:macsource:m=null",
        &[("macsource", "000000000001")]
    ));

    // Booleans from key functions.
    let ddos =
        "first:stack:.:ip:ip6=ip&eq:bgpsourceas:bgpas=false&group:ipdestination:sites!=rack,host";
    let kv = |dst: &'static str| {
        vec![
            ("stack", "eth.ip.udp"),
            ("bgpsourceas", "1"),
            ("bgpas", "2"),
            ("ipdestination", dst),
        ]
    };
    assert!(matches(ddos, &kv("10.9.9.9")));
    assert!(!matches(ddos, &kv("10.1.2.3")));
    assert!(!matches(ddos, &kv("10.1.2.4")));
}

#[test]
fn cidr_and_address_values() {
    assert!(matches("ipsource=10.0.0.0/8", &[("ipsource", "10.2.3.4")]));
    assert!(!matches("ipsource=10.0.0.0/8", &[("ipsource", "11.2.3.4")]));
    assert!(matches(
        "ipsource=192.0.2.1,10.0.0.0/8",
        &[("ipsource", "192.0.2.1")]
    ));
    assert!(matches("ipsource!=10.0.0.0/8", &[("ipsource", "11.2.3.4")]));
    // An address is compared as an address: its text, or any form of it in the list.
    assert!(matches(
        "ipsource=10.0.0.9,10.0.0.1",
        &[("ipsource", "10.0.0.1")]
    ));
    assert!(!matches(
        "ipsource=10.0.0.9,10.0.0.10",
        &[("ipsource", "10.0.0.1")]
    ));
    assert!(matches("ip6source=FE80::1", &[("ip6source", "fe80::1")]));
    assert!(matches("ipsource!=x,null,6", &[("ipsource", "10.0.0.1")]));
    assert!(matches(
        "ip6source=2001:DB8::/32",
        &[("ip6source", "2001:db8::1")]
    ));
    assert!(matches(
        "ip6source=2001:DB8::1",
        &[("ip6source", "2001:db8::1")]
    ));
    assert!(matches("ipsource=0.0.0.0/0", &[("ipsource", "1.2.3.4")]));
    assert!(!matches("ipsource=0.0.0.0/0", &[("ipsource", "::1")]));
    assert!(matches(
        "ipsource=10.0.0.0/8",
        &[("ipsource", "::ffff:10.0.0.1")]
    ));
    assert!(matches("agent=10.0.0.0/8", &[("agent", "10.1.1.1")]));
    assert!(!matches("agent=10.0.0.0/8", &[("agent", "switch")]));
    assert!(matches(
        "[or:ipsource:ip6source]=fc00::/7",
        &[("ip6source", "fd00::1")]
    ));
    assert!(matches("httpurl=/a/b", &[("httpurl", "/a/b")]));
}

#[test]
fn regex_matches() {
    let syn = "tcpflags~.......1.";
    assert!(matches(syn, &[("tcpflags", "000000010")]));
    assert!(!matches(syn, &[("tcpflags", "000010000")]));
    assert!(matches("tcpflags~....1..1.", &[("tcpflags", "000010010")]));
    assert!(matches("tcpflags!~.......1.", &[("tcpflags", "000010000")]));
    assert!(!matches("tcpflags~.......1.", &[]));
    assert!(matches("tcpflags!~.......1.", &[]));
    assert!(matches(
        "httphost~example\\.com$",
        &[("httphost", "www.example.com")]
    ));
    assert!(matches("httphost~^a,^b", &[("httphost", "bcd")]));
    assert!(matches("httphost~(a|b)c", &[("httphost", "xbc")]));
    assert!(matches("httphost~a{1,3}b", &[("httphost", "aab")]));
    assert!(matches(
        "httphost~'x|y'&ipprotocol=6",
        &[("httphost", "y"), ("ipprotocol", "6")]
    ));
    assert!(matches("httphost~^\\x2C$", &[("httphost", ",")]));
    assert!(matches("prefix:stack:.:1~^eth$", &[("stack", "eth.ip")]));
}

#[test]
fn boolean_structure_and_quoting() {
    let kv = [("a", "1"), ("b", "2"), ("c", "3")];
    assert!(matches("a=1&b=2", &kv));
    assert!(!matches("a=1&b=3", &kv));
    assert!(matches("a=9|b=2", &kv));
    assert!(matches("a=9&b=9|c=3", &kv), "& binds tighter than |");
    assert!(!matches("a=9&(b=9|c=3)", &kv));
    assert!(matches("(a=9|b=2)&(c=3)", &kv));
    assert!(matches("((a=1))", &kv));
    assert!(matches(" a = 1 & ( b=2 | c=9 ) ", &kv));
    assert!(matches("", &kv), "empty filter matches everything");
    assert!(matches("   ", &[]));
    assert!(matches("a='1'", &kv));
    assert!(matches("x='p&q|(r)'", &[("x", "p&q|(r)")]));
    assert!(matches("x=\"a b\"", &[("x", "a b")]));
    assert!(
        matches("x=\"p,q\"", &[("x", "q")]),
        "commas split inside quotes"
    );
    assert!(matches("x=''", &[("x", "")]));
    assert!(matches("x=a,,b", &[("x", "")]));
}

#[test]
fn filter_errors_have_offsets() {
    let (off, why) = filter_err("ipsource");
    assert_eq!(off, 8);
    assert!(why.contains("expected '=', '!=', '~' or '!~'"), "{why}");
    let (off, why) = filter_err("a=1&");
    assert_eq!(off, 4);
    assert!(why.contains("expected a comparison"), "{why}");
    let (off, why) = filter_err("(a=1");
    assert_eq!(off, 4);
    assert!(
        why.contains("expected ')' to close the '(' at offset 0"),
        "{why}"
    );
    let (off, why) = filter_err("a=1)");
    assert_eq!(off, 3);
    assert!(why.contains("unexpected ')'"), "{why}");
    let (off, why) = filter_err("a=1&b~(x");
    assert_eq!(off, 6);
    assert!(why.starts_with("invalid regular expression"), "{why}");
    let (off, why) = filter_err("a=1&b~x,y[");
    assert_eq!(off, 8);
    assert!(why.starts_with("invalid regular expression"), "{why}");
    let (off, why) = filter_err("a=");
    assert_eq!((off, why.as_str()), (2, "expected a value after '='"));
    let (off, why) = filter_err("a!=&b=1");
    assert_eq!((off, why.as_str()), (3, "expected a value after '!='"));
    let (off, why) = filter_err("a=\"x");
    assert_eq!(off, 2);
    assert!(why.contains("unterminated quote"), "{why}");
    let (off, why) = filter_err("=1");
    assert_eq!(
        (off, why.as_str()),
        (0, "expected a key before the operator")
    );
    let (off, why) = filter_err("a!1");
    assert_eq!(off, 1);
    assert!(why.contains("'!='"), "{why}");
    // Key-function errors on a left-hand side are reported in the whole filter.
    let (off, why) = filter_err("x=1&foo:ipsource=2");
    assert_eq!(off, 4);
    assert!(why.contains("unknown key function `foo`"), "{why}");
    assert_eq!(filter_err("x=1|group:[ipsource:a=2").0, 10);
    assert!(filter_err("x=it's").1.contains("unterminated quote"));
}

#[test]
fn deep_nesting_is_refused_not_a_stack_overflow() {
    let mut schema = Schema::default();
    let deep = 100_000;
    let filter = format!("{}ipsource=1{}", "(".repeat(deep), ")".repeat(deep));
    let e = Filter::parse(&filter, &mut schema).unwrap_err();
    assert!(
        matches!(
            &e,
            Error::Syntax {
                kind: ExprKind::Filter,
                offset: 64,
                ..
            }
        ),
        "{e}"
    );
    let key = format!(
        "{}ipsource{}",
        "prefix:[".repeat(deep),
        ":.:1]".repeat(deep)
    );
    let e = KeyExpr::parse(&key, &mut schema).unwrap_err();
    assert!(
        matches!(
            &e,
            Error::Syntax {
                kind: ExprKind::Key,
                ..
            }
        ),
        "{e}"
    );
    assert!(
        e.to_string().contains("nested deeper than 64 levels"),
        "{e}"
    );
    // 64 levels are fine.
    let ok = format!("{}ipsource=1{}", "(".repeat(64), ")".repeat(64));
    Filter::parse(&ok, &mut schema).unwrap();
}
