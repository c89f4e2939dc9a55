//! The REST and script shapes of forwarding targets and tenants (sFlow-RT's `Forwarding` and
//! tenant bodies), parsed and checked once when they are set.

use std::net::{IpAddr, SocketAddr};

use serde_json::{json, Value as Json};

/// The sFlow collector port, the default `port` / `collectorPort`.
pub(crate) const SFLOW_PORT: u16 = 6343;
/// Most forwarding targets at once.
pub(crate) const MAX_TARGETS: usize = 64;
/// Most tenants at once.
pub(crate) const MAX_TENANTS: usize = 256;
/// Most entries in one tenant filter list (or `agents` list).
const MAX_LIST: usize = 4096;

/// A forwarding target: every sFlow datagram (or those of `agents`) copied unchanged to
/// `address:port` (`PUT /forwarding/{name}/json` `{address, port, agents}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TargetSpec {
    /// Where the copies go.
    pub(crate) to: SocketAddr,
    /// Only the datagrams whose `agent_address` is one of these; empty: every agent's.
    pub(crate) agents: Vec<IpAddr>,
}

/// One `ifindex` filter entry: `"AGENT_IFINDEX"` (sFlow-RT's form, e.g. `"10.0.0.1_3"`), or
/// a bare `"IFINDEX"` for that interface on every agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct IfIndex {
    pub(crate) agent: Option<IpAddr>,
    pub(crate) index: u32,
}

/// One `ifname` filter entry: `"AGENT_IFNAME"` or a bare `"IFNAME"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct IfName {
    pub(crate) agent: Option<IpAddr>,
    pub(crate) name: String,
}

/// A CIDR block: `addr/bits` with the host bits cleared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Cidr {
    pub(crate) net: IpAddr,
    pub(crate) bits: u8,
}

impl Cidr {
    /// True when `ip` lies in the block (never across address families).
    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.bits)).unwrap_or(0);
                u32::from(a) & mask == u32::from(n)
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.bits))
                    .unwrap_or(0);
                u128::from(a) & mask == u128::from(n)
            }
            _ => false,
        }
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.net, self.bits)
    }
}

/// A tenant: the samples matching any of its filters, re-encoded into datagrams of its own
/// and sent to its collector (`PUT /tenant/{name}/json`
/// `{collectorAddress, collectorPort, filters:{ifindex, ifname, cidr, mac}}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TenantSpec {
    /// The tenant's collector.
    pub(crate) to: SocketAddr,
    /// Flow samples in or out of, and counter samples of, these interfaces.
    pub(crate) ifindex: Vec<IfIndex>,
    /// The same by interface name (learned from the agents' `port_name` counter records).
    pub(crate) ifname: Vec<IfName>,
    /// Flow samples with an IP source or destination (any IP header, tunnelled or not) in
    /// these blocks.
    pub(crate) cidr: Vec<Cidr>,
    /// Flow samples with an Ethernet source or destination among these.
    pub(crate) mac: Vec<[u8; 6]>,
}

/// Why a body was refused (answered 400 with this text).
pub(crate) type Refusal = String;

fn address(doc: &Json, key: &str) -> Result<IpAddr, Refusal> {
    let s = doc
        .get(key)
        .and_then(Json::as_str)
        .ok_or_else(|| format!("{key} (an IP address) is required"))?;
    s.trim()
        .parse()
        .map_err(|_| format!("{key}: {s:?} is not an IP address"))
}

fn port(doc: &Json, key: &str) -> Result<u16, Refusal> {
    match doc.get(key) {
        None | Some(Json::Null) => Ok(SFLOW_PORT),
        Some(v) => v
            .as_u64()
            .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            .and_then(|p| u16::try_from(p).ok())
            .filter(|p| *p != 0)
            .ok_or_else(|| format!("{key} must be 1 to 65535")),
    }
}

/// The strings of list `key` (a single string counts as a list of one).
fn strings<'a>(doc: &'a Json, key: &str) -> Result<Vec<&'a str>, Refusal> {
    let out: Vec<&str> = match doc.get(key) {
        None | Some(Json::Null) => Vec::new(),
        Some(Json::String(s)) => vec![s.as_str()],
        Some(Json::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .ok_or_else(|| format!("{key} must be a list of strings"))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(format!("{key} must be a list of strings")),
    };
    if out.len() > MAX_LIST {
        return Err(format!("{key}: at most {MAX_LIST} entries"));
    }
    Ok(out)
}

/// Splits `"AGENT_REST"` at its last `_` when the part before it is an IP address.
fn agent_prefixed(s: &str) -> (Option<IpAddr>, &str) {
    match s.rsplit_once('_') {
        Some((a, rest)) => match a.parse() {
            Ok(ip) => (Some(ip), rest),
            Err(_) => (None, s),
        },
        None => (None, s),
    }
}

fn parse_cidr(s: &str) -> Result<Cidr, Refusal> {
    let bad = || format!("cidr: {s:?} is not ADDRESS/BITS");
    let (a, b) = s.trim().split_once('/').unwrap_or((s.trim(), ""));
    let ip: IpAddr = a.parse().map_err(|_| bad())?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let bits: u8 = if b.is_empty() {
        max
    } else {
        b.parse().map_err(|_| bad())?
    };
    if bits > max {
        return Err(bad());
    }
    let net = match ip {
        IpAddr::V4(v) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            IpAddr::V4((u32::from(v) & mask).into())
        }
        IpAddr::V6(v) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            IpAddr::V6((u128::from(v) & mask).into())
        }
    };
    Ok(Cidr { net, bits })
}

/// A MAC address as sFlow-RT writes it (12 hex digits, `:`/`-`/`.` separators allowed).
fn parse_mac(s: &str) -> Result<[u8; 6], Refusal> {
    let hex: String = s
        .chars()
        .filter(|c| !matches!(c, ':' | '-' | '.'))
        .collect();
    let bad = || format!("mac: {s:?} is not a MAC address");
    if hex.len() != 12 || !hex.is_ascii() {
        return Err(bad());
    }
    let mut out = [0u8; 6];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2).ok_or_else(bad)?, 16)
            .map_err(|_| bad())?;
    }
    Ok(out)
}

fn mac_text(m: &[u8; 6]) -> String {
    m.iter().map(|b| format!("{b:02X}")).collect()
}

impl TargetSpec {
    /// Parses a `Forwarding` body: `address` (required), `port` (default 6343), `agents`
    /// (optional list of agent addresses).
    ///
    /// # Errors
    /// A missing or malformed field, named in the message.
    pub(crate) fn parse(doc: &Json) -> Result<TargetSpec, Refusal> {
        if !doc.is_object() {
            return Err("the body must be an object {address, port, agents}".into());
        }
        let to = SocketAddr::new(address(doc, "address")?, port(doc, "port")?);
        let agents = strings(doc, "agents")?
            .into_iter()
            .map(|a| {
                a.trim()
                    .parse()
                    .map_err(|_| format!("agents: {a:?} is not an IP address"))
            })
            .collect::<Result<_, _>>()?;
        Ok(TargetSpec { to, agents })
    }

    /// The body form (`GET /forwarding/{name}/json`).
    pub(crate) fn to_json(&self) -> Json {
        let agents: Vec<String> = self.agents.iter().map(IpAddr::to_string).collect();
        json!({"address": self.to.ip().to_string(), "port": self.to.port(), "agents": agents})
    }
}

impl TenantSpec {
    /// Parses a tenant body: `collectorAddress` (required), `collectorPort` (default 6343),
    /// `filters` with any of `ifindex`, `ifname`, `cidr`, `mac` (at least one entry in all).
    ///
    /// # Errors
    /// A missing or malformed field, named in the message.
    pub(crate) fn parse(doc: &Json) -> Result<TenantSpec, Refusal> {
        if !doc.is_object() {
            return Err(
                "the body must be an object {collectorAddress, collectorPort, filters}".into(),
            );
        }
        let to = SocketAddr::new(
            address(doc, "collectorAddress")?,
            port(doc, "collectorPort")?,
        );
        let f = doc.get("filters").unwrap_or(&Json::Null);
        if !f.is_object() {
            return Err("filters must be an object {ifindex, ifname, cidr, mac}".into());
        }
        if let Some(k) = f.as_object().and_then(|o| {
            o.keys()
                .find(|k| !matches!(k.as_str(), "ifindex" | "ifname" | "cidr" | "mac"))
        }) {
            return Err(format!(
                "filters: unknown filter {k:?} (ifindex, ifname, cidr, mac)"
            ));
        }
        let ifindex = strings(f, "ifindex")?
            .into_iter()
            .map(|s| {
                let (agent, rest) = agent_prefixed(s.trim());
                rest.parse()
                    .map(|index| IfIndex { agent, index })
                    .map_err(|_| format!("ifindex: {s:?} is not AGENT_IFINDEX or IFINDEX"))
            })
            .collect::<Result<_, _>>()?;
        let ifname = strings(f, "ifname")?
            .into_iter()
            .map(|s| {
                let (agent, rest) = agent_prefixed(s.trim());
                if rest.is_empty() {
                    Err(format!("ifname: {s:?} names no interface"))
                } else {
                    Ok(IfName {
                        agent,
                        name: rest.to_string(),
                    })
                }
            })
            .collect::<Result<_, _>>()?;
        let cidr = strings(f, "cidr")?
            .into_iter()
            .map(parse_cidr)
            .collect::<Result<_, _>>()?;
        let mac = strings(f, "mac")?
            .into_iter()
            .map(parse_mac)
            .collect::<Result<_, _>>()?;
        let t = TenantSpec {
            to,
            ifindex,
            ifname,
            cidr,
            mac,
        };
        if t.ifindex.is_empty() && t.ifname.is_empty() && t.cidr.is_empty() && t.mac.is_empty() {
            return Err("filters: give at least one ifindex, ifname, cidr or mac".into());
        }
        Ok(t)
    }

    /// The body form (`GET /tenant/{name}/json`).
    pub(crate) fn to_json(&self) -> Json {
        let prefixed = |agent: &Option<IpAddr>, rest: String| match agent {
            Some(a) => format!("{a}_{rest}"),
            None => rest,
        };
        let ifindex: Vec<String> = self
            .ifindex
            .iter()
            .map(|i| prefixed(&i.agent, i.index.to_string()))
            .collect();
        let ifname: Vec<String> = self
            .ifname
            .iter()
            .map(|i| prefixed(&i.agent, i.name.clone()))
            .collect();
        let cidr: Vec<String> = self.cidr.iter().map(Cidr::to_string).collect();
        let mac: Vec<String> = self.mac.iter().map(mac_text).collect();
        json!({
            "collectorAddress": self.to.ip().to_string(),
            "collectorPort": self.to.port(),
            "filters": {"ifindex": ifindex, "ifname": ifname, "cidr": cidr, "mac": mac},
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_defaults_and_errors() {
        let t = TargetSpec::parse(&json!({"address": "127.0.0.1"})).unwrap();
        assert_eq!(t.to, "127.0.0.1:6343".parse().unwrap());
        assert!(t.agents.is_empty());
        let t = TargetSpec::parse(&json!({"address": "::1", "port": 7000, "agents": ["10.0.0.1"]}))
            .unwrap();
        assert_eq!(t.to, "[::1]:7000".parse().unwrap());
        assert_eq!(t.agents, vec!["10.0.0.1".parse::<IpAddr>().unwrap()]);
        assert_eq!(TargetSpec::parse(&t.to_json()).unwrap(), t);
        for (body, why) in [
            (json!({}), "address (an IP address) is required"),
            (json!({"address": "collector"}), "not an IP address"),
            (
                json!({"address": "127.0.0.1", "port": 0}),
                "port must be 1 to 65535",
            ),
            (
                json!({"address": "127.0.0.1", "port": 70000}),
                "port must be 1 to 65535",
            ),
            (
                json!({"address": "127.0.0.1", "agents": [1]}),
                "list of strings",
            ),
            (
                json!({"address": "127.0.0.1", "agents": ["x"]}),
                "agents: \"x\"",
            ),
        ] {
            let e = TargetSpec::parse(&body).unwrap_err();
            assert!(e.contains(why), "{body}: {e}");
        }
    }

    #[test]
    fn tenant_filters_parse_and_print_back() {
        let t = TenantSpec::parse(&json!({
            "collectorAddress": "127.0.0.1", "collectorPort": 7343,
            "filters": {
                "ifindex": ["10.0.0.1_3", "7"], "ifname": ["10.0.0.1_eth0", "vnet1"],
                "cidr": ["10.1.2.3/24", "2001:db8::/32"], "mac": ["00:11:22:aa:bb:cc"],
            }
        }))
        .unwrap();
        assert_eq!(
            t.ifindex,
            vec![
                IfIndex {
                    agent: Some("10.0.0.1".parse().unwrap()),
                    index: 3
                },
                IfIndex {
                    agent: None,
                    index: 7
                },
            ]
        );
        assert_eq!(t.ifname[0].name, "eth0");
        assert_eq!(t.cidr[0].to_string(), "10.1.2.0/24");
        assert!(t.cidr[0].contains("10.1.2.200".parse().unwrap()));
        assert!(!t.cidr[0].contains("10.1.3.1".parse().unwrap()));
        assert!(t.cidr[1].contains("2001:db8:1::5".parse().unwrap()));
        assert!(!t.cidr[1].contains("10.1.2.3".parse().unwrap()));
        assert_eq!(t.mac, vec![[0x00, 0x11, 0x22, 0xaa, 0xbb, 0xcc]]);
        assert_eq!(TenantSpec::parse(&t.to_json()).unwrap(), t);
        let all = Cidr {
            net: "0.0.0.0".parse().unwrap(),
            bits: 0,
        };
        assert!(all.contains("192.0.2.1".parse().unwrap()));
    }

    #[test]
    fn tenant_errors_name_the_field() {
        for (body, why) in [
            (
                json!({"filters": {"cidr": ["10.0.0.0/8"]}}),
                "collectorAddress",
            ),
            (
                json!({"collectorAddress": "127.0.0.1"}),
                "filters must be an object",
            ),
            (
                json!({"collectorAddress": "127.0.0.1", "filters": {}}),
                "at least one",
            ),
            (
                json!({"collectorAddress": "127.0.0.1", "filters": {"vlan": ["1"]}}),
                "unknown filter \"vlan\"",
            ),
            (
                json!({"collectorAddress": "127.0.0.1", "filters": {"cidr": ["10.0.0.0/33"]}}),
                "cidr",
            ),
            (
                json!({"collectorAddress": "127.0.0.1", "filters": {"mac": ["0011"]}}),
                "mac",
            ),
            (
                json!({"collectorAddress": "127.0.0.1", "filters": {"ifindex": ["10.0.0.1_x"]}}),
                "ifindex",
            ),
        ] {
            let e = TenantSpec::parse(&body).unwrap_err();
            assert!(e.contains(why), "{body}: {e}");
        }
    }
}
