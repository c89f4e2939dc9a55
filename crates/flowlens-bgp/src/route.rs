//! Unicast routes pushed to a peer (RTBH and friends): IPv4 in the UPDATE's own NLRI and
//! NEXT_HOP (RFC 4271 §4.3, §5.1.3), IPv6 in MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4760 §3, §4,
//! RFC 2545 for the next hop), with ORIGIN, AS_PATH, MULTI_EXIT_DISC, LOCAL_PREF and COMMUNITIES
//! (RFC 1997; RFC 7999's BLACKHOLE is 65535:666).
//!
//! The JSON shape is sFlow-RT's route: `{prefix, nexthop, nexthoplinklocal, aspath, origin,
//! localpref, med, communities}`; `prefix` is `a.b.c.d/len`, or a bare address for a host route.

use std::cmp::Ordering;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use serde_json::{json, Map, Value as Json};

use crate::error::{Error, Result};
use crate::msg::{self, FLAG_OPTIONAL, FLAG_TRANSITIVE};

/// An IP prefix with its host bits cleared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Prefix {
    addr: IpAddr,
    len: u8,
}

impl Prefix {
    /// `addr/len`, host bits cleared.
    ///
    /// # Errors
    /// [`Error::Invalid`] when `len` exceeds the address's width.
    pub fn new(addr: IpAddr, len: u8) -> Result<Self> {
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if len > max {
            return Err(Error::Invalid(format!("prefix length {len} exceeds {max}")));
        }
        let addr = match addr {
            IpAddr::V4(a) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
                IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask))
            }
            IpAddr::V6(a) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
                IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask))
            }
        };
        Ok(Prefix { addr, len })
    }

    /// The network address.
    pub const fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length, bits.
    pub const fn len(&self) -> u8 {
        self.len
    }

    /// True for the zero-length (default) prefix.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True for an IPv6 prefix.
    pub const fn is_ipv6(&self) -> bool {
        self.addr.is_ipv6()
    }

    /// The significant bytes of the address (`ceil(len / 8)` of them), network order.
    pub fn significant(&self) -> Vec<u8> {
        let n = usize::from(self.len).div_ceil(8);
        let bytes: Vec<u8> = match self.addr {
            IpAddr::V4(a) => a.octets().to_vec(),
            IpAddr::V6(a) => a.octets().to_vec(),
        };
        bytes.get(..n).unwrap_or(&bytes).to_vec()
    }

    /// Appends the NLRI encoding: length in bits, then the significant bytes (RFC 4271 §4.3).
    pub fn push_nlri(&self, out: &mut Vec<u8>) {
        out.push(self.len);
        out.extend_from_slice(&self.significant());
    }
}

impl FromStr for Prefix {
    type Err = Error;

    /// `a.b.c.d/len`, `x:y::/len`, or a bare address (a host route: /32 or /128).
    fn from_str(s: &str) -> Result<Self> {
        let bad = || Error::Invalid(format!("not an IP prefix: {s:?}"));
        let s = s.trim();
        let (a, l) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let addr: IpAddr = a.parse().map_err(|_| bad())?;
        let len = match l {
            Some(l) => l.parse().map_err(|_| bad())?,
            None if addr.is_ipv4() => 32,
            None => 128,
        };
        Prefix::new(addr, len)
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl Ord for Prefix {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.addr, self.len).cmp(&(other.addr, other.len))
    }
}

impl PartialOrd for Prefix {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The ORIGIN attribute (RFC 4271 §5.1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// IGP (0).
    Igp,
    /// EGP (1).
    Egp,
    /// INCOMPLETE (2).
    Incomplete,
}

impl Origin {
    const fn code(self) -> u8 {
        match self {
            Origin::Igp => 0,
            Origin::Egp => 1,
            Origin::Incomplete => 2,
        }
    }
    const fn name(self) -> &'static str {
        match self {
            Origin::Igp => "igp",
            Origin::Egp => "egp",
            Origin::Incomplete => "incomplete",
        }
    }
}

/// A route to push: prefix and path attributes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// The destination.
    pub prefix: Prefix,
    /// NEXT_HOP (IPv4 routes) or the MP_REACH next hop (IPv6 routes); same family as the prefix.
    pub nexthop: IpAddr,
    /// IPv6 link-local next hop (RFC 2545 §3), IPv6 routes only.
    pub nexthop_link_local: Option<Ipv6Addr>,
    /// AS_PATH, first AS first (the local AS is prepended towards external peers).
    pub aspath: Vec<u32>,
    /// ORIGIN.
    pub origin: Origin,
    /// LOCAL_PREF (sent to internal peers only, RFC 4271 §5.1.5).
    pub localpref: Option<u32>,
    /// MULTI_EXIT_DISC.
    pub med: Option<u32>,
    /// COMMUNITIES, each `asn << 16 | value`.
    pub communities: Vec<u32>,
}

/// Most communities in one route or flow spec.
pub const MAX_COMMUNITIES: usize = 64;

/// Parses one community: `asn:value`, a 32-bit number, or a well-known name (`blackhole`
/// 65535:666 RFC 7999, `no-export`, `no-advertise`, `no-export-subconfed`, `graceful-shutdown`).
///
/// # Errors
/// [`Error::Invalid`] for anything else.
pub fn parse_community(s: &str) -> Result<u32> {
    let bad = || Error::Invalid(format!("not a BGP community: {s:?}"));
    let s = s.trim();
    Ok(match s.to_ascii_lowercase().as_str() {
        "blackhole" => 0xFFFF_029A,
        "no-export" => 0xFFFF_FF01,
        "no-advertise" => 0xFFFF_FF02,
        "no-export-subconfed" => 0xFFFF_FF03,
        "graceful-shutdown" => 0xFFFF_0000,
        _ => match s.split_once(':') {
            Some((a, v)) => {
                let a: u16 = a.trim().parse().map_err(|_| bad())?;
                let v: u16 = v.trim().parse().map_err(|_| bad())?;
                (u32::from(a) << 16) | u32::from(v)
            }
            None => s.parse().map_err(|_| bad())?,
        },
    })
}

/// Parses a list of communities: an array, or a string separated by spaces or commas.
///
/// # Errors
/// [`Error::Invalid`] for a bad community or more than [`MAX_COMMUNITIES`].
pub fn parse_communities(v: &Json) -> Result<Vec<u32>> {
    let items: Vec<String> = match v {
        Json::Null => Vec::new(),
        Json::Array(a) => a.iter().map(json_text).collect(),
        other => json_text(other)
            .split([' ', ','])
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
    };
    if items.len() > MAX_COMMUNITIES {
        return Err(Error::Invalid(format!(
            "more than {MAX_COMMUNITIES} communities"
        )));
    }
    items.iter().map(|s| parse_community(s)).collect()
}

/// `asn:value` of a community.
pub fn community_text(c: u32) -> String {
    format!("{}:{}", c >> 16, c & 0xffff)
}

/// A JSON string or number as text (numbers as JavaScript prints them).
pub(crate) fn json_text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Number(n) => n.to_string(),
        Json::Bool(b) => b.to_string(),
        other => other.to_string(),
    }
}

/// A JSON number or numeric string as `u32`.
pub(crate) fn json_u32(v: &Json, what: &str) -> Result<Option<u32>> {
    match v {
        Json::Null => Ok(None),
        Json::Number(n) => n
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| Error::Invalid(format!("{what} must be a 32-bit unsigned number"))),
        Json::String(s) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| Error::Invalid(format!("{what} must be a 32-bit unsigned number"))),
        _ => Err(Error::Invalid(format!("{what} must be a number"))),
    }
}

impl Route {
    /// A route from sFlow-RT's JSON object. `prefix` overrides the object's `prefix` (the REST
    /// path gives it).
    ///
    /// # Errors
    /// [`Error::Invalid`]: missing or bad prefix or next hop, a next hop of the other family,
    /// bad communities, AS path, origin, local preference or MED.
    pub fn from_json(o: &Map<String, Json>, prefix: Option<Prefix>) -> Result<Self> {
        let null = Json::Null;
        let get = |k: &str| o.get(k).unwrap_or(&null);
        let prefix = match prefix {
            Some(p) => p,
            None => match get("prefix") {
                Json::Null => return Err(Error::Invalid("route needs a prefix".into())),
                v => json_text(v).parse()?,
            },
        };
        let nexthop: IpAddr = match get("nexthop") {
            Json::Null => return Err(Error::Invalid("route needs a nexthop".into())),
            v => json_text(v)
                .trim()
                .parse()
                .map_err(|_| Error::Invalid(format!("not a next hop address: {v}")))?,
        };
        if nexthop.is_ipv4() != prefix.addr().is_ipv4() {
            return Err(Error::Invalid(format!(
                "next hop {nexthop} is not of the family of {prefix}"
            )));
        }
        let nexthop_link_local = match get("nexthoplinklocal") {
            Json::Null => None,
            v => Some(
                json_text(v)
                    .trim()
                    .parse::<Ipv6Addr>()
                    .map_err(|_| Error::Invalid(format!("not an IPv6 link-local address: {v}")))?,
            ),
        };
        if nexthop_link_local.is_some() && !prefix.is_ipv6() {
            return Err(Error::Invalid(
                "nexthoplinklocal applies to IPv6 routes".into(),
            ));
        }
        let aspath = match get("aspath") {
            Json::Null => Vec::new(),
            Json::Array(a) => a
                .iter()
                .map(|v| json_u32(v, "aspath").map(Option::unwrap_or_default))
                .collect::<Result<_>>()?,
            v => json_text(v)
                .split([' ', ',', '-'])
                .filter(|s| !s.is_empty())
                .map(|s| {
                    s.parse()
                        .map_err(|_| Error::Invalid(format!("not an AS path: {v}")))
                })
                .collect::<Result<_>>()?,
        };
        if aspath.len() > 64 {
            return Err(Error::Invalid("AS path longer than 64".into()));
        }
        let origin = match get("origin") {
            Json::Null => Origin::Igp,
            v => match json_text(v).to_ascii_lowercase().as_str() {
                "igp" | "i" | "0" => Origin::Igp,
                "egp" | "e" | "1" => Origin::Egp,
                "incomplete" | "?" | "2" => Origin::Incomplete,
                _ => return Err(Error::Invalid(format!("not an origin: {v}"))),
            },
        };
        Ok(Route {
            prefix,
            nexthop,
            nexthop_link_local,
            aspath,
            origin,
            localpref: json_u32(get("localpref"), "localpref")?,
            med: json_u32(get("med"), "med")?,
            communities: parse_communities(get("communities"))?,
        })
    }

    /// sFlow-RT's JSON form of the route.
    pub fn to_json(&self) -> Json {
        let mut o = Map::new();
        o.insert("prefix".into(), json!(self.prefix.to_string()));
        o.insert("nexthop".into(), json!(self.nexthop.to_string()));
        if let Some(ll) = self.nexthop_link_local {
            o.insert("nexthoplinklocal".into(), json!(ll.to_string()));
        }
        if !self.aspath.is_empty() {
            let p: Vec<String> = self.aspath.iter().map(u32::to_string).collect();
            o.insert("aspath".into(), json!(p.join(" ")));
        }
        o.insert("origin".into(), json!(self.origin.name()));
        if let Some(lp) = self.localpref {
            o.insert("localpref".into(), json!(lp));
        }
        if let Some(med) = self.med {
            o.insert("med".into(), json!(med));
        }
        if !self.communities.is_empty() {
            let c: Vec<String> = self
                .communities
                .iter()
                .map(|c| community_text(*c))
                .collect();
            o.insert("communities".into(), json!(c.join(" ")));
        }
        Json::Object(o)
    }
}

/// How attributes are encoded for one session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Encoding {
    /// The local AS.
    pub local_as: u32,
    /// The peer is internal (same AS): LOCAL_PREF is sent, the local AS is not prepended.
    pub internal: bool,
    /// Both speakers announced the four-octet AS capability: AS_PATH carries four-octet ASes.
    pub four_octet_as: bool,
}

/// Appends ORIGIN, AS_PATH (one AS_SEQUENCE, RFC 4271 §4.3) and, for internal peers, LOCAL_PREF.
pub(crate) fn push_common_attrs(
    out: &mut Vec<u8>,
    enc: Encoding,
    origin: Origin,
    aspath: &[u32],
    localpref: Option<u32>,
) {
    msg::push_attr(out, FLAG_TRANSITIVE, 1, &[origin.code()]);
    let mut path: Vec<u32> = Vec::with_capacity(aspath.len() + 1);
    if !enc.internal {
        path.push(enc.local_as);
    }
    path.extend_from_slice(aspath);
    let mut v = Vec::new();
    if !path.is_empty() {
        // AS_SEQUENCE of at most 255 ASes (the JSON parser caps paths at 64).
        v.push(2);
        v.push(u8::try_from(path.len()).unwrap_or(u8::MAX));
        for asn in path.iter().take(255) {
            if enc.four_octet_as {
                v.extend_from_slice(&asn.to_be_bytes());
            } else {
                let a = u16::try_from(*asn).unwrap_or(msg::AS_TRANS);
                v.extend_from_slice(&a.to_be_bytes());
            }
        }
    }
    msg::push_attr(out, FLAG_TRANSITIVE, 2, &v);
    if enc.internal {
        msg::push_attr(
            out,
            FLAG_TRANSITIVE,
            5,
            &localpref.unwrap_or(100).to_be_bytes(),
        );
    }
}

/// Appends COMMUNITIES (RFC 1997) when there are any.
pub(crate) fn push_communities(out: &mut Vec<u8>, communities: &[u32]) {
    if communities.is_empty() {
        return;
    }
    let v: Vec<u8> = communities.iter().flat_map(|c| c.to_be_bytes()).collect();
    msg::push_attr(out, FLAG_OPTIONAL | FLAG_TRANSITIVE, 8, &v);
}

impl Route {
    /// Appends the UPDATE announcing this route.
    ///
    /// # Errors
    /// [`Error::Invalid`] when it does not fit one message.
    pub fn push_announce(&self, out: &mut Vec<u8>, enc: Encoding) -> Result<()> {
        let mut attrs = Vec::new();
        push_common_attrs(&mut attrs, enc, self.origin, &self.aspath, self.localpref);
        if let Some(med) = self.med {
            msg::push_attr(&mut attrs, FLAG_OPTIONAL, 4, &med.to_be_bytes());
        }
        push_communities(&mut attrs, &self.communities);
        match (self.prefix.addr(), self.nexthop) {
            (IpAddr::V4(_), IpAddr::V4(nh)) => {
                msg::push_attr(&mut attrs, FLAG_TRANSITIVE, 3, &nh.octets());
                let mut nlri = Vec::new();
                self.prefix.push_nlri(&mut nlri);
                msg::push_update(out, &[], &attrs, &nlri)
            }
            (IpAddr::V6(_), IpAddr::V6(nh)) => {
                let mut v = Vec::new();
                v.extend_from_slice(&msg::AFI_IPV6.to_be_bytes());
                v.push(msg::SAFI_UNICAST);
                match self.nexthop_link_local {
                    Some(ll) => {
                        v.push(32);
                        v.extend_from_slice(&nh.octets());
                        v.extend_from_slice(&ll.octets());
                    }
                    None => {
                        v.push(16);
                        v.extend_from_slice(&nh.octets());
                    }
                }
                v.push(0);
                self.prefix.push_nlri(&mut v);
                let mut all = Vec::new();
                // MP_REACH_NLRI first, as most implementations send it.
                msg::push_attr(&mut all, FLAG_OPTIONAL, 14, &v);
                all.extend_from_slice(&attrs);
                msg::push_update(out, &[], &all, &[])
            }
            _ => Err(Error::Invalid("next hop of the wrong family".into())),
        }
    }
}

/// Appends the UPDATE withdrawing `prefix` (IPv4: withdrawn routes; IPv6: MP_UNREACH_NLRI).
///
/// # Errors
/// Never in practice (a prefix always fits); [`Error::Invalid`] if it did not.
pub fn push_withdraw(out: &mut Vec<u8>, prefix: &Prefix) -> Result<()> {
    let mut p = Vec::new();
    prefix.push_nlri(&mut p);
    if prefix.is_ipv6() {
        let mut v = Vec::new();
        v.extend_from_slice(&msg::AFI_IPV6.to_be_bytes());
        v.push(msg::SAFI_UNICAST);
        v.extend_from_slice(&p);
        let mut attrs = Vec::new();
        msg::push_attr(&mut attrs, FLAG_OPTIONAL, 15, &v);
        msg::push_update(out, &[], &attrs, &[])
    } else {
        msg::push_update(out, &p, &[], &[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ibgp() -> Encoding {
        Encoding {
            local_as: 65000,
            internal: true,
            four_octet_as: true,
        }
    }

    #[test]
    fn prefixes_parse_and_normalise() {
        let p: Prefix = "10.1.2.3/8".parse().unwrap();
        assert_eq!(p.to_string(), "10.0.0.0/8");
        assert_eq!("192.0.2.1".parse::<Prefix>().unwrap().len(), 32);
        assert_eq!("2001:db8::1".parse::<Prefix>().unwrap().len(), 128);
        let r = "10.0.0.0/33".parse::<Prefix>();
        assert!(
            matches!(&r, Err(Error::Invalid(m)) if m == "prefix length 33 exceeds 32"),
            "{r:?}"
        );
        let r = "nonsense".parse::<Prefix>();
        assert!(
            matches!(&r, Err(Error::Invalid(m)) if m == r#"not an IP prefix: "nonsense""#),
            "{r:?}"
        );
        let mut n = Vec::new();
        "10.0.0.0/9".parse::<Prefix>().unwrap().push_nlri(&mut n);
        assert_eq!(n, [9, 10, 0]);
    }

    #[test]
    fn communities_parse() {
        assert_eq!(parse_community("65535:666").unwrap(), 0xFFFF_029A);
        assert_eq!(parse_community("blackhole").unwrap(), 0xFFFF_029A);
        assert_eq!(
            parse_communities(&json!("65535:666 65000:1")).unwrap(),
            [0xFFFF_029A, 0xFDE8_0001]
        );
        let r = parse_community("65536:1");
        assert!(
            matches!(&r, Err(Error::Invalid(m)) if m == r#"not a BGP community: "65536:1""#),
            "{r:?}"
        );
    }

    #[test]
    fn rtbh_route_encodes_as_rfc_4271() {
        let r = Route::from_json(
            json!({"prefix":"192.0.2.7","nexthop":"192.0.2.1","communities":"65535:666","localpref":"100"})
                .as_object()
                .unwrap(),
            None,
        )
        .unwrap();
        let mut out = Vec::new();
        r.push_announce(&mut out, ibgp()).unwrap();
        let body = &out[19..];
        // No withdrawn routes.
        assert_eq!(&body[..2], &[0, 0]);
        let alen = usize::from(u16::from_be_bytes([body[2], body[3]]));
        let attrs = &body[4..4 + alen];
        // ORIGIN IGP, empty AS_PATH, LOCAL_PREF 100, COMMUNITIES 65535:666, NEXT_HOP.
        assert_eq!(&attrs[..4], &[0x40, 1, 1, 0]);
        assert_eq!(&attrs[4..7], &[0x40, 2, 0]);
        assert_eq!(&attrs[7..14], &[0x40, 5, 4, 0, 0, 0, 100]);
        assert_eq!(&attrs[14..21], &[0xc0, 8, 4, 0xff, 0xff, 0x02, 0x9a]);
        assert_eq!(&attrs[21..28], &[0x40, 3, 4, 192, 0, 2, 1]);
        assert_eq!(&body[4 + alen..], &[32, 192, 0, 2, 7]);
    }

    #[test]
    fn ipv6_route_goes_in_mp_reach() {
        let r = Route::from_json(
            json!({"prefix":"2001:db8::/32","nexthop":"100::1"})
                .as_object()
                .unwrap(),
            None,
        )
        .unwrap();
        let mut out = Vec::new();
        r.push_announce(&mut out, ibgp()).unwrap();
        let body = &out[19..];
        let attrs = &body[4..];
        assert_eq!(&attrs[..2], &[0x80, 14]);
        assert_eq!(&attrs[3..7], &[0, 2, 1, 16]);
        let mut w = Vec::new();
        push_withdraw(&mut w, &r.prefix).unwrap();
        assert_eq!(&w[19 + 4..19 + 9], &[0x80, 15, 8, 0, 2]);
    }

    #[test]
    fn external_peers_get_the_local_as_prepended() {
        let r = Route::from_json(
            json!({"prefix":"10.0.0.0/8","nexthop":"192.0.2.1","aspath":"65001"})
                .as_object()
                .unwrap(),
            None,
        )
        .unwrap();
        let mut out = Vec::new();
        let enc = Encoding {
            internal: false,
            ..ibgp()
        };
        r.push_announce(&mut out, enc).unwrap();
        let attrs = &out[19 + 4..];
        assert_eq!(
            &attrs[4..17],
            &[0x40, 2, 10, 2, 2, 0, 0, 0xfd, 0xe8, 0, 0, 0xfd, 0xe9]
        );
        // No LOCAL_PREF towards an external peer: NEXT_HOP follows.
        assert_eq!(attrs[18], 3);
    }

    #[test]
    fn bad_routes_are_refused() {
        for bad in [
            json!({"prefix":"10.0.0.0/8"}),
            json!({"nexthop":"192.0.2.1"}),
            json!({"prefix":"10.0.0.0/8","nexthop":"100::1"}),
            json!({"prefix":"10.0.0.0/8","nexthop":"192.0.2.1","communities":"x"}),
            json!({"prefix":"10.0.0.0/8","nexthop":"192.0.2.1","localpref":-1}),
        ] {
            assert!(
                Route::from_json(bad.as_object().unwrap(), None).is_err(),
                "{bad}"
            );
        }
    }
}
