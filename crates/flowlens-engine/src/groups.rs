//! Named CIDR group sets for `group:<key>:<set>` and the legacy `sourcegroup` /
//! `destinationgroup` keys.
//!
//! A group set maps labels to lists of CIDR prefixes, in sFlow-RT's JSON shape
//! (`PUT /group/{name}/json`, `setGroups(name, groups)`; source: sFlow-RT reference.php and the
//! bundled API page, example `{external:['0.0.0.0/0'], internal:['10.0.0.0/8',…]}`). Looking
//! an address up returns the label of the **longest** matching prefix, so a catch-all such as
//! `external: ['0.0.0.0/0']` is overridden by more specific groups (sFlow-RT's ddos scripts
//! rely on this; the longest-match rule itself is inferred from that use, the documentation
//! says only "first match").
//!
//! Prefixes are held in two longest-prefix-match tries (`prefix-trie`, one per address
//! family). IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`) are looked up among the IPv4
//! prefixes first, then among the IPv6 ones. When the same prefix appears under two labels the
//! first label (in the object's order) keeps it.

use core::fmt;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use prefix_trie::PrefixMap;
use serde_json::Value;

use crate::error::{Error, ExprKind, Result};

/// Name under which the legacy one-argument `setGroups(groups)` and the old `sourcegroup` /
/// `destinationgroup` keys keep their set.
pub const LEGACY_SET: &str = "default";

/// A prefix as (network address, length), host bits cleared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Cidr {
    pub(crate) addr: IpAddr,
    pub(crate) len: u8,
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

/// Parses `10.0.0.0/8`, `fc00::/7` or a bare address (a /32 or /128). Host bits are cleared.
/// `Err` carries the byte offset in `text` and the reason.
pub(crate) fn parse_cidr(text: &str) -> core::result::Result<Cidr, (usize, &'static str)> {
    let (addr_text, len_text) = match text.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (text, None),
    };
    let addr: IpAddr = addr_text
        .parse()
        .map_err(|_| (0, "expected an IPv4 or IPv6 address"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len = match len_text {
        None => max,
        Some(l) => l.parse::<u8>().ok().filter(|l| *l <= max).ok_or((
            addr_text.len() + 1,
            if addr.is_ipv4() {
                "prefix length must be 0..=32"
            } else {
                "prefix length must be 0..=128"
            },
        ))?,
    };
    Ok(Cidr {
        addr: mask_addr(addr, len),
        len,
    })
}

/// `addr` with all but the first `bits` bits cleared (bits beyond the width are ignored).
pub(crate) fn mask_addr(addr: IpAddr, bits: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask32(bits))),
        IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask128(bits))),
    }
}

fn mask32(bits: u8) -> u32 {
    match bits {
        0 => 0,
        b if b >= 32 => u32::MAX,
        b => u32::MAX << (32 - u32::from(b)),
    }
}

fn mask128(bits: u8) -> u128 {
    match bits {
        0 => 0,
        b if b >= 128 => u128::MAX,
        b => u128::MAX << (128 - u32::from(b)),
    }
}

/// Longest-prefix-match tables for both families, mapping a prefix to a `u32` payload.
#[derive(Clone, Default)]
pub(crate) struct Lpm {
    v4: PrefixMap<(u32, u8), u32>,
    v6: PrefixMap<(u128, u8), u32>,
}

impl Lpm {
    /// Inserts unless the prefix is already present (the first insert wins). Returns true when
    /// inserted.
    pub(crate) fn insert_first(&mut self, c: Cidr, value: u32) -> bool {
        match c.addr {
            IpAddr::V4(a) => {
                let k = (u32::from(a), c.len);
                if self.v4.contains_key(&k) {
                    return false;
                }
                self.v4.insert(k, value);
            }
            IpAddr::V6(a) => {
                let k = (u128::from(a), c.len);
                if self.v6.contains_key(&k) {
                    return false;
                }
                self.v6.insert(k, value);
            }
        }
        true
    }

    /// Payload of the longest prefix containing `ip`.
    #[inline]
    pub(crate) fn lookup(&self, ip: IpAddr) -> Option<u32> {
        match ip {
            IpAddr::V4(a) => self.lookup4(a),
            IpAddr::V6(a) => {
                if let Some(v4) = a.to_ipv4_mapped() {
                    if let Some(v) = self.lookup4(v4) {
                        return Some(v);
                    }
                }
                self.v6.get_lpm(&(u128::from(a), 128)).map(|(_, v)| *v)
            }
        }
    }

    #[inline]
    fn lookup4(&self, a: Ipv4Addr) -> Option<u32> {
        self.v4.get_lpm(&(u32::from(a), 32)).map(|(_, v)| *v)
    }

    /// Number of prefixes.
    pub(crate) fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }
}

impl fmt::Debug for Lpm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lpm")
            .field("v4", &self.v4.len())
            .field("v6", &self.v6.len())
            .finish()
    }
}

/// One named group set: labels, each with a list of CIDR prefixes; looks addresses up by
/// longest prefix. Build with [`GroupSet::from_json`] or [`GroupSet::from_pairs`].
#[derive(Clone, Default)]
pub struct GroupSet {
    labels: Vec<Box<str>>,
    /// Per label, its prefixes as given (canonicalised), for [`GroupSet::to_json`].
    cidrs: Vec<Vec<Cidr>>,
    lpm: Lpm,
}

impl GroupSet {
    /// From sFlow-RT's JSON shape `{"label": ["10.0.0.0/8", "fc00::/7"], …}`. Label order is
    /// the object's order. A label may also map to a single string.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] (`what` = `group`) when `v` is not an object of string lists;
    /// [`Error::Syntax`] of kind [`ExprKind::Cidr`] for a bad prefix, naming the label.
    pub fn from_json(v: &Value) -> Result<GroupSet> {
        let obj = v.as_object().ok_or_else(|| {
            Error::invalid("group", "groups", "must be an object of label: [CIDR, …]")
        })?;
        let mut pairs = Vec::with_capacity(obj.len());
        for (label, list) in obj {
            let items: Vec<&str> = match list {
                Value::String(s) => vec![s.as_str()],
                Value::Array(a) => a
                    .iter()
                    .map(|x| {
                        x.as_str().ok_or_else(|| {
                            Error::invalid(
                                "group",
                                label.as_str(),
                                "must be a list of CIDR strings",
                            )
                        })
                    })
                    .collect::<Result<_>>()?,
                _ => {
                    return Err(Error::invalid(
                        "group",
                        label.as_str(),
                        "must be a list of CIDR strings",
                    ))
                }
            };
            pairs.push((label.as_str(), items));
        }
        GroupSet::from_pairs(pairs)
    }

    /// From `(label, prefixes)` pairs, in order.
    ///
    /// # Errors
    ///
    /// [`Error::Syntax`] of kind [`ExprKind::Cidr`] for a bad prefix (input = the prefix,
    /// reason names the label); [`Error::Limit`] beyond 2^32 labels.
    pub fn from_pairs<'a>(
        labels: impl IntoIterator<Item = (&'a str, Vec<&'a str>)>,
    ) -> Result<GroupSet> {
        let mut set = GroupSet::default();
        for (label, prefixes) in labels {
            let idx = u32::try_from(set.labels.len()).map_err(|_| Error::Limit {
                what: "group labels",
                limit: u32::MAX as usize,
            })?;
            let mut list = Vec::with_capacity(prefixes.len());
            for p in prefixes {
                let t = p.trim();
                let lead = p.len() - p.trim_start().len();
                let c = parse_cidr(t).map_err(|(off, why)| {
                    Error::syntax(
                        ExprKind::Cidr,
                        p,
                        lead + off,
                        format!("{why} (group label `{label}`)"),
                    )
                })?;
                set.lpm.insert_first(c, idx);
                list.push(c);
            }
            set.labels.push(label.into());
            set.cidrs.push(list);
        }
        Ok(set)
    }

    /// Label of the longest prefix containing `ip` (IPv4 and IPv6; IPv4-mapped IPv6 addresses
    /// match IPv4 prefixes).
    #[inline]
    pub fn lookup(&self, ip: IpAddr) -> Option<&str> {
        let i = self.lpm.lookup(ip)?;
        self.labels.get(i as usize).map(|l| &**l)
    }

    /// The set in the shape [`GroupSet::from_json`] reads (prefixes canonicalised:
    /// `10.0.0.1/8` becomes `10.0.0.0/8`, a bare address gets `/32` or `/128`).
    pub fn to_json(&self) -> Value {
        let mut obj = serde_json::Map::with_capacity(self.labels.len());
        for (label, cidrs) in self.labels.iter().zip(&self.cidrs) {
            let list = cidrs.iter().map(|c| Value::String(c.to_string())).collect();
            obj.insert(label.to_string(), Value::Array(list));
        }
        Value::Object(obj)
    }

    /// Number of distinct prefixes.
    pub fn len(&self) -> usize {
        self.lpm.len()
    }

    /// True when the set holds no prefix.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The labels, in order.
    pub fn labels(&self) -> impl Iterator<Item = &str> {
        self.labels.iter().map(|l| &**l)
    }
}

impl fmt::Debug for GroupSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupSet")
            .field("labels", &self.labels.len())
            .field("prefixes", &self.len())
            .finish()
    }
}

/// The registry of named group sets (`setGroups(name, groups)`, `/group/{name}/json`).
#[derive(Clone, Debug, Default)]
pub struct Groups {
    sets: BTreeMap<Box<str>, Arc<GroupSet>>,
    /// The set [`LEGACY_SET`] again, read by every `sourcegroup` / `destinationgroup` of
    /// every sample without a look-up by name.
    legacy: Option<Arc<GroupSet>>,
}

impl Groups {
    /// Adds or replaces the set `name`. Expressions resolve sets by name when they run, so a
    /// replacement takes effect for flows defined earlier.
    pub fn set(&mut self, name: &str, set: GroupSet) {
        let set = Arc::new(set);
        if name == LEGACY_SET {
            self.legacy = Some(Arc::clone(&set));
        }
        self.sets.insert(name.into(), set);
    }

    /// Removes the set `name`; false when there was none.
    pub fn remove(&mut self, name: &str) -> bool {
        if name == LEGACY_SET {
            self.legacy = None;
        }
        self.sets.remove(name).is_some()
    }

    /// The set [`LEGACY_SET`] (the `sourcegroup` / `destinationgroup` keys'), as
    /// `get(LEGACY_SET)` gives it.
    #[inline]
    pub fn legacy(&self) -> Option<&Arc<GroupSet>> {
        self.legacy.as_ref()
    }

    /// The set `name`.
    #[inline]
    pub fn get(&self, name: &str) -> Option<&Arc<GroupSet>> {
        self.sets.get(name)
    }

    /// Names of the sets, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.sets.keys().map(|k| &**k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_parsing() {
        assert_eq!(parse_cidr("10.1.2.3/8").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(parse_cidr("10.1.2.3").unwrap().to_string(), "10.1.2.3/32");
        assert_eq!(parse_cidr("FC00::1/7").unwrap().to_string(), "fc00::/7");
        assert_eq!(parse_cidr("::/0").unwrap().to_string(), "::/0");
        assert_eq!(
            parse_cidr("10.0.0.0/33"),
            Err((9, "prefix length must be 0..=32"))
        );
        assert_eq!(parse_cidr("10.0.0/8").map_err(|e| e.0), Err(0));
        assert_eq!(parse_cidr("::/129").map_err(|e| e.0), Err(3));
    }

    #[test]
    fn masks() {
        let a: IpAddr = "10.1.2.3".parse().unwrap();
        assert_eq!(mask_addr(a, 0).to_string(), "0.0.0.0");
        assert_eq!(mask_addr(a, 24).to_string(), "10.1.2.0");
        assert_eq!(mask_addr(a, 32), a);
        assert_eq!(mask_addr(a, 64), a);
        let b: IpAddr = "2001:db8:1:2::5".parse().unwrap();
        assert_eq!(mask_addr(b, 48).to_string(), "2001:db8:1::");
    }
}
