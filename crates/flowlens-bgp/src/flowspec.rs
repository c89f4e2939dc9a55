//! Flow specification rules (RFC 8955 for IPv4, RFC 8956 for IPv6): sFlow-RT's JSON
//! `{match:{…}, then:{…}}` into an NLRI (AFI 1/2, SAFI 133, carried in MP_REACH_NLRI /
//! MP_UNREACH_NLRI with a zero-length next hop, RFC 8955 §4) and traffic filtering action
//! extended communities (RFC 8955 §7).
//!
//! # Match (RFC 8955 §4.2.2, RFC 8956 §3)
//!
//! | key | component | value |
//! |-----|-----------|-------|
//! | `destination`, `source` | 1, 2 | prefix, or an address (host) |
//! | `protocol` | 3 (IPv6: next header) | numeric; also `tcp`, `udp`, `icmp`, `icmp6`, `gre` |
//! | `port`, `destination-port`, `source-port` | 4, 5, 6 | numeric |
//! | `icmp-type`, `icmp-code` | 7, 8 | numeric |
//! | `tcp-flags` | 9 | bitmask of `FSRPAUECN` (FIN 0x01 … CWR 0x80, NS 0x100) |
//! | `length` | 10 | numeric (packet length) |
//! | `dscp` | 11 | numeric (0–63) |
//! | `fragment` | 12 | bitmask of `DIFL` (don't fragment 0x01, is fragment 0x02, first 0x04, last 0x08) |
//! | `version` | — | `4` or `6`: the family (else from the addresses; default IPv4) |
//!
//! A numeric value is one or more alternatives separated by `,` (or spaces), each one or more
//! terms joined by `&` (AND); a term is an operator (`=`, `==`, `!=`, `>`, `>=`, `<`, `<=`,
//! none meaning `=`) and a number, or a range `a-b`: `"=53"`, `"17"`, `">=1024&<=2048"`,
//! `"80,443"`. A bitmask term is optional `!` (not), optional `=` (all of these bits, else any
//! of them) and letters or a number: `"=S"` (SYN set), `"!A"`, `"I"`.
//!
//! # Actions (RFC 8955 §7)
//!
//! `traffic-rate` (bytes per second as a float, 0 discards), `traffic-action`
//! (`sample`, `terminal`), `redirect-as` (`asn:value`, two-octet AS), `redirect-as4`
//! (`asn:value`, four-octet AS), `redirect-ip` (`a.b.c.d:value`), `traffic-marking` (a DSCP
//! value or name: `ef`, `af11`, `cs1`, `le`, …), `communities` (standard communities).

use std::net::Ipv4Addr;

use serde_json::{Map, Value as Json};

use crate::error::{Error, Result};
use crate::msg::{self, FLAG_OPTIONAL, FLAG_TRANSITIVE};
use crate::route::{self, json_text, Encoding, Origin, Prefix};

/// Largest NLRI (RFC 8955 §4.1: the length field holds at most 0xfff).
pub const MAX_NLRI: usize = 0xfff;

/// A flow specification rule: its NLRI (the rule's identity) and actions.
#[derive(Clone, Debug, PartialEq)]
pub struct FlowSpec {
    ipv6: bool,
    nlri: Vec<u8>,
    matches: Map<String, Json>,
    then: Map<String, Json>,
    ext_communities: Vec<[u8; 8]>,
    communities: Vec<u32>,
}

/// Numeric operator bits (RFC 8955 §4.2.1.1).
const OP_END: u8 = 0x80;
const OP_AND: u8 = 0x40;
const OP_LT: u8 = 0x04;
const OP_GT: u8 = 0x02;
const OP_EQ: u8 = 0x01;
/// Bitmask operator bits (RFC 8955 §4.2.1.2).
const OP_NOT: u8 = 0x02;
const OP_MATCH: u8 = 0x01;

fn bad(what: &str, v: &str) -> Error {
    Error::Invalid(format!("flowspec {what}: cannot use {v:?}"))
}

/// The operator's length bits and the value's bytes: the shortest of 1, 2, 4 or 8 bytes.
fn value_bytes(v: u64) -> (u8, Vec<u8>) {
    if let Ok(b) = u8::try_from(v) {
        (0x00, vec![b])
    } else if let Ok(w) = u16::try_from(v) {
        (0x10, w.to_be_bytes().to_vec())
    } else if let Ok(d) = u32::try_from(v) {
        (0x20, d.to_be_bytes().to_vec())
    } else {
        (0x30, v.to_be_bytes().to_vec())
    }
}

fn alternatives(text: &str) -> impl Iterator<Item = &str> {
    text.split([',', ' ', '|'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn parse_number(s: &str, what: &str, max: u64) -> Result<u64> {
    let s = s.trim();
    let n = if let Some(h) = s.strip_prefix("0x") {
        u64::from_str_radix(h, 16)
    } else {
        s.parse()
    }
    .map_err(|_| bad(what, s))?;
    if n > max {
        return Err(bad(what, s));
    }
    Ok(n)
}

/// Encodes a numeric component's `[op, value]` list (RFC 8955 §4.2.1.1).
fn numeric(text: &str, what: &str, max: u64, names: &[(&str, u64)]) -> Result<Vec<u8>> {
    let mut terms: Vec<(u8, u64)> = Vec::new();
    for alt in alternatives(text) {
        let mut first = true;
        for term in alt.split('&').map(str::trim) {
            let and = if first { 0 } else { OP_AND };
            first = false;
            let (ops, rest) = match term {
                t if t.starts_with(">=") => (OP_GT | OP_EQ, &t[2..]),
                t if t.starts_with("<=") => (OP_LT | OP_EQ, &t[2..]),
                t if t.starts_with("!=") => (OP_LT | OP_GT, &t[2..]),
                t if t.starts_with("==") => (OP_EQ, &t[2..]),
                t if t.starts_with('=') => (OP_EQ, &t[1..]),
                t if t.starts_with('>') => (OP_GT, &t[1..]),
                t if t.starts_with('<') => (OP_LT, &t[1..]),
                t => (0, t),
            };
            let value = |s: &str| -> Result<u64> {
                let l = s.trim().to_ascii_lowercase();
                match names.iter().find(|(n, _)| *n == l) {
                    Some((_, v)) => Ok(*v),
                    None => parse_number(s, what, max),
                }
            };
            if ops == 0 {
                if let Some((a, b)) = rest.split_once('-').filter(|(a, _)| !a.is_empty()) {
                    terms.push((and | OP_GT | OP_EQ, value(a)?));
                    terms.push((OP_AND | OP_LT | OP_EQ, value(b)?));
                    continue;
                }
                terms.push((and | OP_EQ, value(rest)?));
            } else {
                terms.push((and | ops, value(rest)?));
            }
        }
    }
    encode_ops(terms, what, text)
}

fn encode_ops(terms: Vec<(u8, u64)>, what: &str, text: &str) -> Result<Vec<u8>> {
    if terms.is_empty() || terms.len() > 32 {
        return Err(bad(what, text));
    }
    let n = terms.len();
    let mut out = Vec::new();
    for (i, (op, v)) in terms.into_iter().enumerate() {
        let (len, bytes) = value_bytes(v);
        let end = if i + 1 == n { OP_END } else { 0 };
        out.push(op | len | end);
        out.extend_from_slice(&bytes);
    }
    Ok(out)
}

/// Encodes a bitmask component's `[op, value]` list (RFC 8955 §4.2.1.2).
fn bitmask(text: &str, what: &str, letters: &[(char, u64)], max: u64) -> Result<Vec<u8>> {
    let mut terms: Vec<(u8, u64)> = Vec::new();
    for alt in alternatives(text) {
        let mut first = true;
        for term in alt.split('&').map(str::trim) {
            let mut ops = if first { 0 } else { OP_AND };
            first = false;
            let mut t = term;
            if let Some(r) = t.strip_prefix('!') {
                ops |= OP_NOT;
                t = r;
            }
            if let Some(r) = t.strip_prefix('=') {
                ops |= OP_MATCH;
                t = r;
            }
            let v = if t.chars().next().is_some_and(|c| c.is_ascii_digit()) {
                parse_number(t, what, max)?
            } else {
                let mut v = 0;
                for c in t.chars() {
                    let (_, bit) = letters
                        .iter()
                        .find(|(l, _)| *l == c.to_ascii_uppercase())
                        .ok_or_else(|| bad(what, term))?;
                    v |= bit;
                }
                v
            };
            if v == 0 {
                return Err(bad(what, term));
            }
            terms.push((ops, v));
        }
    }
    encode_ops(terms, what, text)
}

/// Value names of a numeric component.
type Names = &'static [(&'static str, u64)];

const PROTOCOLS: &[(&str, u64)] = &[
    ("icmp", 1),
    ("igmp", 2),
    ("tcp", 6),
    ("udp", 17),
    ("gre", 47),
    ("esp", 50),
    ("icmp6", 58),
    ("icmpv6", 58),
    ("sctp", 132),
];
const TCP_FLAGS: &[(char, u64)] = &[
    ('F', 0x01),
    ('S', 0x02),
    ('R', 0x04),
    ('P', 0x08),
    ('A', 0x10),
    ('U', 0x20),
    ('E', 0x40),
    ('C', 0x80),
    ('N', 0x100),
];
const FRAGMENT: &[(char, u64)] = &[('D', 0x01), ('I', 0x02), ('F', 0x04), ('L', 0x08)];
const FRAGMENT6: &[(char, u64)] = &[('I', 0x02), ('F', 0x04), ('L', 0x08)];

/// DSCP names (RFC 2474, 2597, 3246, 5865, 8622).
const DSCP: &[(&str, u64)] = &[
    ("be", 0),
    ("df", 0),
    ("cs0", 0),
    ("le", 1),
    ("cs1", 8),
    ("af11", 10),
    ("af12", 12),
    ("af13", 14),
    ("cs2", 16),
    ("af21", 18),
    ("af22", 20),
    ("af23", 22),
    ("cs3", 24),
    ("af31", 26),
    ("af32", 28),
    ("af33", 30),
    ("cs4", 32),
    ("af41", 34),
    ("af42", 36),
    ("af43", 38),
    ("cs5", 40),
    ("va", 44),
    ("ef", 46),
    ("cs6", 48),
    ("cs7", 56),
];

fn prefix_component(out: &mut Vec<u8>, typ: u8, p: &Prefix) {
    out.push(typ);
    out.push(p.len());
    if p.is_ipv6() {
        // RFC 8956 §3.1: offset 0, then the pattern's significant bytes.
        out.push(0);
    }
    out.extend_from_slice(&p.significant());
}

/// Extended community: two-octet AS specific, flow spec redirect or rate (RFC 8955 §7).
fn ext(t: u8, st: u8, v: &[u8; 6]) -> [u8; 8] {
    let mut e = [t, st, 0, 0, 0, 0, 0, 0];
    if let Some(d) = e.get_mut(2..) {
        d.copy_from_slice(v);
    }
    e
}

fn split_pair<'a>(s: &'a str, what: &str) -> Result<(&'a str, &'a str)> {
    s.rsplit_once(':').ok_or_else(|| bad(what, s))
}

impl FlowSpec {
    /// A rule from sFlow-RT's JSON `{match:{…}, then:{…}}`.
    ///
    /// # Errors
    /// [`Error::Invalid`]: no `match`, an unknown key, a bad value, mixed families, an
    /// unsupported action.
    pub fn from_json(v: &Json) -> Result<Self> {
        let o = v
            .as_object()
            .ok_or_else(|| Error::Invalid("flowspec must be an object {match, then}".into()))?;
        let matches = o
            .get("match")
            .and_then(Json::as_object)
            .cloned()
            .ok_or_else(|| Error::Invalid("flowspec needs a match object".into()))?;
        let then = match o.get("then") {
            None | Some(Json::Null) => Map::new(),
            Some(Json::Object(t)) => t.clone(),
            Some(_) => return Err(Error::Invalid("flowspec then must be an object".into())),
        };
        let text = |k: &str| matches.get(k).filter(|v| !v.is_null()).map(match_text);
        let dst = text("destination")
            .map(|s| s.parse::<Prefix>())
            .transpose()?;
        let src = text("source").map(|s| s.parse::<Prefix>()).transpose()?;
        let mut ipv6 = match text("version").as_deref() {
            None => None,
            Some("4") => Some(false),
            Some("6") => Some(true),
            Some(v) => return Err(bad("version", v)),
        };
        for p in [dst, src].into_iter().flatten() {
            match ipv6 {
                None => ipv6 = Some(p.is_ipv6()),
                Some(v6) if v6 != p.is_ipv6() => {
                    return Err(Error::Invalid(format!(
                        "flowspec prefix {p} is not of the rule's IP version"
                    )))
                }
                Some(_) => {}
            }
        }
        let ipv6 = ipv6.unwrap_or(false);
        for k in matches.keys() {
            if !matches!(
                k.as_str(),
                "destination"
                    | "source"
                    | "protocol"
                    | "port"
                    | "destination-port"
                    | "source-port"
                    | "icmp-type"
                    | "icmp-code"
                    | "tcp-flags"
                    | "length"
                    | "dscp"
                    | "fragment"
                    | "version"
            ) {
                return Err(Error::Invalid(format!(
                    "flowspec match {k:?} is not supported"
                )));
            }
        }
        let mut body = Vec::new();
        if let Some(p) = &dst {
            prefix_component(&mut body, 1, p);
        }
        if let Some(p) = &src {
            prefix_component(&mut body, 2, p);
        }
        let numerics: [(u8, &str, u64, Names); 8] = [
            (3, "protocol", 255, PROTOCOLS),
            (4, "port", 65535, &[]),
            (5, "destination-port", 65535, &[]),
            (6, "source-port", 65535, &[]),
            (7, "icmp-type", 255, &[]),
            (8, "icmp-code", 255, &[]),
            (10, "length", 65535, &[]),
            (11, "dscp", 63, DSCP),
        ];
        for (typ, key, max, names) in numerics {
            if typ == 10 {
                if let Some(t) = text("tcp-flags") {
                    body.push(9);
                    body.extend(bitmask(&t, "tcp-flags", TCP_FLAGS, 0xffff)?);
                }
            }
            if let Some(t) = text(key) {
                body.push(typ);
                body.extend(numeric(&t, key, max, names)?);
            }
        }
        if let Some(t) = text("fragment") {
            body.push(12);
            let letters = if ipv6 { FRAGMENT6 } else { FRAGMENT };
            body.extend(bitmask(&t, "fragment", letters, 0xff)?);
        }
        if body.is_empty() {
            return Err(Error::Invalid("flowspec match is empty".into()));
        }
        if body.len() > MAX_NLRI {
            return Err(Error::Invalid("flowspec match too long".into()));
        }
        let mut nlri = Vec::with_capacity(body.len() + 2);
        match u8::try_from(body.len()).ok().filter(|l| *l < 240) {
            Some(l) => nlri.push(l),
            None => {
                let l = u16::try_from(body.len()).unwrap_or(0xfff) | 0xf000;
                nlri.extend_from_slice(&l.to_be_bytes());
            }
        }
        nlri.extend_from_slice(&body);

        let mut ext_communities = Vec::new();
        let mut communities = Vec::new();
        for (k, v) in &then {
            let t = json_text(v);
            match k.as_str() {
                "traffic-rate" => {
                    let r: f32 = t.trim().parse().map_err(|_| bad(k, &t))?;
                    if !r.is_finite() || r < 0.0 {
                        return Err(bad(k, &t));
                    }
                    let mut val = [0u8; 6];
                    val[2..].copy_from_slice(&r.to_be_bytes());
                    ext_communities.push(ext(0x80, 0x06, &val));
                }
                "traffic-action" => {
                    let mut flags = 0u8;
                    for w in alternatives(&t) {
                        flags |= match w.to_ascii_lowercase().as_str() {
                            "sample" => 0x02,
                            "terminal" => 0x01,
                            _ => return Err(bad(k, &t)),
                        };
                    }
                    ext_communities.push(ext(0x80, 0x07, &[0, 0, 0, 0, 0, flags]));
                }
                "traffic-marking" => {
                    let d = numeric(&t, k, 63, DSCP)?;
                    // One "=value" term: op byte then the value.
                    let dscp = match d.as_slice() {
                        [op, v] if op & 0x7f == OP_EQ => *v,
                        _ => return Err(bad(k, &t)),
                    };
                    ext_communities.push(ext(0x80, 0x09, &[0, 0, 0, 0, 0, dscp]));
                }
                "redirect-as" => {
                    let (a, n) = split_pair(&t, k)?;
                    let a = u16::try_from(parse_number(a, k, 0xffff)?).unwrap_or(0);
                    let n = u32::try_from(parse_number(n, k, u64::from(u32::MAX))?).unwrap_or(0);
                    let mut val = [0u8; 6];
                    val[..2].copy_from_slice(&a.to_be_bytes());
                    val[2..].copy_from_slice(&n.to_be_bytes());
                    ext_communities.push(ext(0x80, 0x08, &val));
                }
                "redirect-as4" => {
                    let (a, n) = split_pair(&t, k)?;
                    let a = u32::try_from(parse_number(a, k, u64::from(u32::MAX))?).unwrap_or(0);
                    let n = u16::try_from(parse_number(n, k, 0xffff)?).unwrap_or(0);
                    let mut val = [0u8; 6];
                    val[..4].copy_from_slice(&a.to_be_bytes());
                    val[4..].copy_from_slice(&n.to_be_bytes());
                    ext_communities.push(ext(0x82, 0x08, &val));
                }
                "redirect-ip" => {
                    let (a, n) = split_pair(&t, k)?;
                    let a: Ipv4Addr = a.trim().parse().map_err(|_| bad(k, &t))?;
                    let n = u16::try_from(parse_number(n, k, 0xffff)?).unwrap_or(0);
                    let mut val = [0u8; 6];
                    val[..4].copy_from_slice(&a.octets());
                    val[4..].copy_from_slice(&n.to_be_bytes());
                    ext_communities.push(ext(0x81, 0x08, &val));
                }
                "communities" => communities = route::parse_communities(v)?,
                _ => {
                    return Err(Error::Invalid(format!(
                        "flowspec action {k:?} is not supported"
                    )))
                }
            }
        }
        Ok(FlowSpec {
            ipv6,
            nlri,
            matches,
            then,
            ext_communities,
            communities,
        })
    }

    /// The NLRI (length and components): the rule's identity.
    pub fn nlri(&self) -> &[u8] {
        &self.nlri
    }

    /// True for an IPv6 rule (RFC 8956).
    pub const fn is_ipv6(&self) -> bool {
        self.ipv6
    }

    /// The rule as given: `{match, then}`.
    pub fn to_json(&self) -> Json {
        let mut o = Map::new();
        o.insert("match".into(), Json::Object(self.matches.clone()));
        o.insert("then".into(), Json::Object(self.then.clone()));
        Json::Object(o)
    }

    fn mp_prefix(&self, out: &mut Vec<u8>) {
        let afi = if self.ipv6 {
            msg::AFI_IPV6
        } else {
            msg::AFI_IPV4
        };
        out.extend_from_slice(&afi.to_be_bytes());
        out.push(msg::SAFI_FLOWSPEC);
    }

    /// Appends the UPDATE announcing this rule: MP_REACH_NLRI with no next hop, ORIGIN,
    /// AS_PATH, LOCAL_PREF (internal peers), COMMUNITIES, EXTENDED_COMMUNITIES (RFC 4360).
    ///
    /// # Errors
    /// [`Error::Invalid`] when it does not fit one message.
    pub fn push_announce(&self, out: &mut Vec<u8>, enc: Encoding) -> Result<()> {
        let mut reach = Vec::new();
        self.mp_prefix(&mut reach);
        reach.extend_from_slice(&[0, 0]);
        reach.extend_from_slice(&self.nlri);
        let mut attrs = Vec::new();
        msg::push_attr(&mut attrs, FLAG_OPTIONAL, 14, &reach);
        route::push_common_attrs(&mut attrs, enc, Origin::Igp, &[], None);
        route::push_communities(&mut attrs, &self.communities);
        if !self.ext_communities.is_empty() {
            let v: Vec<u8> = self.ext_communities.iter().flatten().copied().collect();
            msg::push_attr(&mut attrs, FLAG_OPTIONAL | FLAG_TRANSITIVE, 16, &v);
        }
        msg::push_update(out, &[], &attrs, &[])
    }

    /// Appends the UPDATE withdrawing this rule (MP_UNREACH_NLRI).
    ///
    /// # Errors
    /// [`Error::Invalid`] when it does not fit one message.
    pub fn push_withdraw(&self, out: &mut Vec<u8>) -> Result<()> {
        let mut v = Vec::new();
        self.mp_prefix(&mut v);
        v.extend_from_slice(&self.nlri);
        let mut attrs = Vec::new();
        msg::push_attr(&mut attrs, FLAG_OPTIONAL, 15, &v);
        msg::push_update(out, &[], &attrs, &[])
    }
}

/// A match value as text: strings as they are, numbers printed, arrays joined with `,`.
fn match_text(v: &Json) -> String {
    match v {
        Json::Array(a) => a.iter().map(json_text).collect::<Vec<_>>().join(","),
        other => json_text(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn nlri(v: Json) -> Vec<u8> {
        FlowSpec::from_json(&v).unwrap().nlri().to_vec()
    }

    #[test]
    fn rfc_8955_example_encodes() {
        // Components in type order (RFC 8955 §4.2): destination (type 1, /24, 3 bytes), source
        // (type 2), port (type 4: one "=25" operator with the end-of-list bit).
        let n = nlri(json!({"match":{
            "destination":"192.0.2.0/24","source":"203.0.113.0/24","port":"=25"}}));
        assert_eq!(
            n,
            [0x0d, 0x01, 0x18, 0xc0, 0x00, 0x02, 0x02, 0x18, 0xcb, 0x00, 0x71, 0x04, 0x81, 0x19]
        );
    }

    #[test]
    fn numeric_operators() {
        assert_eq!(
            numeric(">=1024&<=2048", "p", 65535, &[]).unwrap(),
            [0x13, 0x04, 0x00, 0xd5, 0x08, 0x00]
        );
        assert_eq!(
            numeric("80,443", "p", 65535, &[]).unwrap(),
            [0x01, 80, 0x91, 0x01, 0xbb]
        );
        assert_eq!(numeric("udp", "p", 255, PROTOCOLS).unwrap(), [0x81, 17]);
        assert_eq!(numeric("!=0", "p", 255, &[]).unwrap(), [0x86, 0]);
        let r = numeric("=70000", "p", 65535, &[]);
        assert!(
            matches!(&r, Err(Error::Invalid(m)) if m == r#"flowspec p: cannot use "70000""#),
            "{r:?}"
        );
        let r = numeric("", "p", 65535, &[]);
        assert!(
            matches!(&r, Err(Error::Invalid(m)) if m == r#"flowspec p: cannot use """#),
            "{r:?}"
        );
    }

    #[test]
    fn bitmasks() {
        assert_eq!(bitmask("=S", "t", TCP_FLAGS, 0xffff).unwrap(), [0x81, 0x02]);
        assert_eq!(
            bitmask("S&!A", "t", TCP_FLAGS, 0xffff).unwrap(),
            [0x00, 0x02, 0xc2, 0x10]
        );
        assert_eq!(
            bitmask("N", "t", TCP_FLAGS, 0xffff).unwrap(),
            [0x90, 0x01, 0x00]
        );
        let r = bitmask("X", "t", TCP_FLAGS, 0xffff);
        assert!(
            matches!(&r, Err(Error::Invalid(m)) if m == r#"flowspec t: cannot use "X""#),
            "{r:?}"
        );
    }

    #[test]
    fn ipv6_prefix_has_an_offset() {
        let f = FlowSpec::from_json(&json!({"match":{"destination":"2001:db8::/32"}})).unwrap();
        assert!(f.is_ipv6());
        assert_eq!(f.nlri(), [7, 1, 32, 0, 0x20, 0x01, 0x0d, 0xb8]);
        assert!(FlowSpec::from_json(
            &json!({"match":{"destination":"2001:db8::/32","source":"10.0.0.1"}})
        )
        .is_err());
        let r = FlowSpec::from_json(&json!({"match":{"fragment":"D","version":"6"}}));
        assert!(
            matches!(&r, Err(Error::Invalid(m)) if m == r#"flowspec fragment: cannot use "D""#),
            "{r:?}"
        );
    }

    #[test]
    fn drop_action_and_mp_reach() {
        let f = FlowSpec::from_json(&json!({
            "match":{"destination":"192.0.2.7","protocol":"=17","source-port":"=53"},
            "then":{"traffic-rate":0}}))
        .unwrap();
        let mut out = Vec::new();
        f.push_announce(
            &mut out,
            Encoding {
                local_as: 65000,
                internal: true,
                four_octet_as: true,
            },
        )
        .unwrap();
        let attrs = &out[19 + 4..];
        // MP_REACH_NLRI: AFI 1, SAFI 133, next hop length 0, reserved.
        assert_eq!(
            &attrs[..8],
            &[0x80, 14, 5 + f.nlri().len() as u8, 0, 1, 133, 0, 0]
        );
        let tail = &attrs[attrs.len() - 11..];
        assert_eq!(tail, &[0xc0, 16, 8, 0x80, 0x06, 0, 0, 0, 0, 0, 0]);
        let mut w = Vec::new();
        f.push_withdraw(&mut w).unwrap();
        assert_eq!(
            &w[19 + 4..19 + 10],
            &[0x80, 15, 3 + f.nlri().len() as u8, 0, 1, 133]
        );
    }

    #[test]
    fn actions() {
        let f = FlowSpec::from_json(&json!({"match":{"protocol":"6"},"then":{
            "traffic-rate":12500,"traffic-marking":"ef","redirect-as":"65000:100",
            "redirect-ip":"192.0.2.1:5","traffic-action":"sample","communities":"65535:666"}}))
        .unwrap();
        assert_eq!(f.ext_communities.len(), 5);
        assert!(f.ext_communities.contains(&[0x80, 0x09, 0, 0, 0, 0, 0, 46]));
        assert!(f
            .ext_communities
            .contains(&[0x80, 0x08, 0xfd, 0xe8, 0, 0, 0, 100]));
        assert!(f
            .ext_communities
            .contains(&[0x81, 0x08, 192, 0, 2, 1, 0, 5]));
        let rate = 12500f32.to_be_bytes();
        assert!(f
            .ext_communities
            .contains(&[0x80, 0x06, 0, 0, rate[0], rate[1], rate[2], rate[3]]));
        assert_eq!(f.communities, [0xFFFF_029A]);
        for (bad, cause) in [
            (
                json!({"match":{"protocol":"6"},"then":{"traffic-rate":-1}}),
                r#"flowspec traffic-rate: cannot use "-1""#,
            ),
            (
                json!({"match":{"protocol":"6"},"then":{"teleport":1}}),
                r#"flowspec action "teleport" is not supported"#,
            ),
            (
                json!({"match":{"colour":"red"}}),
                r#"flowspec match "colour" is not supported"#,
            ),
            (json!({"match":{}}), "flowspec match is empty"),
            (json!({"then":{}}), "flowspec needs a match object"),
        ] {
            let r = FlowSpec::from_json(&bad);
            assert!(
                matches!(&r, Err(Error::Invalid(m)) if m == cause),
                "{bad}: {r:?}"
            );
        }
    }
}
