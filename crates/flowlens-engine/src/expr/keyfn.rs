//! Key functions: the parsed tree ([`Node`]) and its evaluation (parser: `parse.rs`).

use std::net::IpAddr;

use super::uri::{uri_part, UriPart};
use crate::env::Env;
use crate::groups::mask_addr;
use crate::keybuf::{KeyBuf, KeyText, Slot};
use crate::oui::parse_mac;

/// What `asn:` returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AsnAttr {
    Number,
    Descr,
    Both,
}

/// A parsed key or key function.
#[derive(Clone, Debug)]
pub(crate) enum Node {
    Key(Slot),
    /// `sourcegroup` / `destinationgroup`: group of the IPv4 key, else the IPv6 key, in
    /// [`LEGACY_SET`](crate::groups::LEGACY_SET).
    Legacy {
        v4: Slot,
        v6: Slot,
    },
    Group {
        arg: Box<Node>,
        sets: Box<[Box<str>]>,
    },
    Map {
        arg: Box<Node>,
        map: Box<str>,
    },
    Mask {
        arg: Box<Node>,
        bits: u8,
    },
    Affix {
        arg: Box<Node>,
        delim: Box<str>,
        n: usize,
        suffix: bool,
    },
    Null {
        arg: Box<Node>,
        default: Box<str>,
    },
    Or(Box<[Node]>),
    Eq(Box<Node>, Box<Node>),
    Range {
        arg: Box<Node>,
        lo: f64,
        hi: f64,
    },
    First {
        arg: Box<Node>,
        delim: Box<str>,
        tokens: Box<[Box<str>]>,
    },
    If {
        cond: Box<Node>,
        val: Box<str>,
        then: Box<Node>,
        other: Box<Node>,
    },
    Concat {
        sep: Box<str>,
        args: Box<[Node]>,
    },
    Bits {
        arg: Box<Node>,
        mask: u64,
    },
    Oui {
        arg: Box<Node>,
        name: bool,
    },
    Uri {
        arg: Box<Node>,
        part: UriPart,
    },
    Country(Box<Node>),
    Asn {
        arg: Box<Node>,
        attr: AsnAttr,
    },
    /// `link:<ifkey>`: the topology link at interface `arg` of the sample's `agent`.
    Link {
        arg: Box<Node>,
        agent: Slot,
    },
    /// `host:`, `dns:`: sFlow-RT functions that need state this engine does not keep
    /// (Host sFlow inventory, reverse DNS). They parse and always yield null.
    Unsupported,
}

/// A key function's value for one sample: borrowed (from the definition, a group, a map),
/// a key's text ([`KeyText`]: borrowed or made on the stack), or text a function computed.
#[derive(Clone, Debug)]
pub(crate) enum Text<'a> {
    Borrowed(&'a str),
    Key(KeyText<'a>),
    Owned(String),
}

impl core::ops::Deref for Text<'_> {
    type Target = str;

    fn deref(&self) -> &str {
        match self {
            Text::Borrowed(s) => s,
            Text::Key(k) => k,
            Text::Owned(s) => s,
        }
    }
}

impl Node {
    /// Appends the node's value for this sample to `out`; false (and `out` as it was) for
    /// null. The functions that compute text (`mask:`, `bits:`, `concat:`, `oui:`) write it
    /// in place, so a flow key costs no allocation; the others borrow it from the sample.
    pub(crate) fn write(&self, keys: &KeyBuf, env: &Env, out: &mut String) -> bool {
        use core::fmt::Write as _;
        let start = out.len();
        let ok = match self {
            Node::Mask { arg, bits } => arg
                .ip(keys, env)
                .is_some_and(|ip| write!(out, "{}", mask_addr(ip, *bits)).is_ok()),
            Node::Bits { arg, mask } => arg
                .num(keys, env)
                .and_then(|v| masked_bits(v, *mask))
                .is_some_and(|b| write!(out, "{b}").is_ok()),
            Node::Concat { sep, args } => args.iter().enumerate().all(|(i, a)| {
                if i > 0 {
                    out.push_str(sep);
                }
                a.write(keys, env, out)
            }),
            Node::Oui { arg, name: false } => {
                match arg.value(keys, env).and_then(|v| parse_mac(&v)) {
                    Some([a, b, c, ..]) => write!(out, "{a:02x}{b:02x}{c:02x}").is_ok(),
                    None => false,
                }
            }
            Node::Key(s) => keys.write_text(*s, out),
            _ => match self.value(keys, env) {
                Some(v) => {
                    out.push_str(&v);
                    true
                }
                None => false,
            },
        };
        if !ok {
            out.truncate(start);
        }
        ok
    }

    /// Appends the value of a node whose value is typed (a plain key, `mask:`, `bits:`) to
    /// `key` as a stored flow-key component ([`crate::flow_key`]), without making its text:
    /// `Some(false)` for null; `None` for the other nodes (their text is stored instead).
    #[inline]
    pub(crate) fn write_typed(&self, keys: &KeyBuf, env: &Env, key: &mut Vec<u8>) -> Option<bool> {
        Some(match self {
            Node::Key(s) => keys.write_key(*s, key),
            Node::Mask { arg, bits } => arg
                .ip(keys, env)
                .map(|ip| crate::flow_key::push_ip(key, mask_addr(ip, *bits)))
                .is_some(),
            Node::Bits { arg, mask } => arg
                .num(keys, env)
                .and_then(|v| masked_bits(v, *mask))
                .map(|b| crate::flow_key::push_typed_u64(key, b))
                .is_some(),
            _ => return None,
        })
    }

    /// The node's value for this sample; `None` = null.
    pub(crate) fn value<'a>(&'a self, keys: &'a KeyBuf, env: &'a Env) -> Option<Text<'a>> {
        match self {
            Node::Key(s) => keys.text(*s).map(Text::Key),
            Node::Legacy { v4, v6 } => {
                let ip = keys.ip(*v4).or_else(|| keys.ip(*v6))?;
                env.groups.legacy()?.lookup(ip).map(Text::Borrowed)
            }
            Node::Group { arg, sets } => {
                let ip = arg.ip(keys, env)?;
                sets.iter()
                    .find_map(|s| env.groups.get(s).and_then(|g| g.lookup(ip)))
                    .map(Text::Borrowed)
            }
            Node::Map { arg, map } => {
                let v = arg.value(keys, env)?;
                env.maps.get(map)?.lookup(&v).map(Text::Borrowed)
            }
            Node::Mask { arg, bits } => Some(Text::Owned(
                mask_addr(arg.ip(keys, env)?, *bits).to_string(),
            )),
            Node::Affix {
                arg,
                delim,
                n,
                suffix,
            } => Some(Text::Owned(affix(
                &arg.value(keys, env)?,
                delim,
                *n,
                *suffix,
            ))),
            Node::Null { arg, default } => {
                Some(arg.value(keys, env).unwrap_or(Text::Borrowed(default)))
            }
            Node::Or(args) => args.iter().find_map(|a| a.value(keys, env)),
            Node::Eq(l, r) => {
                let (l, r) = (l.value(keys, env)?, r.value(keys, env)?);
                Some(Text::Borrowed(bool_text(*l == *r)))
            }
            Node::Range { arg, lo, hi } => {
                let v = arg.num(keys, env)?;
                Some(Text::Borrowed(bool_text(*lo <= v && v <= *hi)))
            }
            Node::First { arg, delim, tokens } => {
                let v = arg.value(keys, env)?;
                let found = v
                    .split(&**delim)
                    .find_map(|t| tokens.iter().find(|k| ***k == *t))?;
                Some(Text::Borrowed(found))
            }
            Node::If {
                cond,
                val,
                then,
                other,
            } => {
                if cond.value(keys, env).as_deref() == Some(&**val) {
                    then.value(keys, env)
                } else {
                    other.value(keys, env)
                }
            }
            Node::Concat { sep, args } => {
                let mut out = String::new();
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        out.push_str(sep);
                    }
                    out.push_str(&a.value(keys, env)?);
                }
                Some(Text::Owned(out))
            }
            Node::Bits { arg, mask } => Some(Text::Owned(
                masked_bits(arg.num(keys, env)?, *mask)?.to_string(),
            )),
            Node::Oui { arg, name } => {
                let mac = parse_mac(&arg.value(keys, env)?)?;
                if *name {
                    env.oui.as_ref()?.lookup(mac).map(Text::Borrowed)
                } else {
                    let [a, b, c, ..] = mac;
                    Some(Text::Owned(format!("{a:02x}{b:02x}{c:02x}")))
                }
            }
            Node::Uri { arg, part } => match arg.value(keys, env)? {
                Text::Borrowed(s) | Text::Key(KeyText::Borrowed(s)) => {
                    uri_part(s, *part).map(Text::Borrowed)
                }
                other => uri_part(&other, *part).map(|p| Text::Owned(p.to_string())),
            },
            Node::Country(arg) => {
                let ip = arg.ip(keys, env)?;
                env.geo.as_ref()?.country(ip).map(Text::Owned)
            }
            Node::Asn { arg, attr } => {
                let ip = arg.ip(keys, env)?;
                let (n, d) = env.geo.as_ref()?.asn(ip)?;
                Some(Text::Owned(match attr {
                    AsnAttr::Number => n.to_string(),
                    AsnAttr::Descr => d,
                    AsnAttr::Both => format!("{n} {d}"),
                }))
            }
            Node::Link { arg, agent } => {
                let agent = keys.ip(*agent)?;
                let ifindex: u32 = arg.value(keys, env)?.trim().parse().ok()?;
                env.topology.link_name(agent, ifindex).map(Text::Borrowed)
            }
            Node::Unsupported => None,
        }
    }

    /// The value as an address (typed when the node is a plain key).
    pub(crate) fn ip(&self, keys: &KeyBuf, env: &Env) -> Option<IpAddr> {
        match self {
            Node::Key(s) => keys.ip(*s),
            _ => self.value(keys, env)?.parse().ok(),
        }
    }

    /// The value as a number (typed when the node is a plain key).
    pub(crate) fn num(&self, keys: &KeyBuf, env: &Env) -> Option<f64> {
        match self {
            Node::Key(s) => keys.num(*s),
            _ => self.value(keys, env)?.parse().ok(),
        }
    }
}

/// `bits:`'s value: `v` masked with `mask`, when `v` is a whole number within `u64`.
fn masked_bits(v: f64, mask: u64) -> Option<u64> {
    (v >= 0.0 && v <= u64::MAX as f64 && v.fract() == 0.0).then_some((v as u64) & mask)
}

fn bool_text(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

/// `prefix:` / `suffix:`: the first / last `n` tokens of `v` split at `delim`, joined with
/// `delim`. Tokens follow Java's `String.split`: empty tokens are kept except trailing ones, so
/// `/metrics/json` gives `["", "metrics", "json"]` (prefix 2 = `/metrics`, as sFlow-RT's own
/// example) and `www.example.com.` gives `["www", "example", "com"]` (suffix 2 =
/// `example.com`). Fewer than `n` tokens: all of them.
fn affix(v: &str, delim: &str, n: usize, suffix: bool) -> String {
    let mut tokens: Vec<&str> = v.split(delim).collect();
    while tokens.last().is_some_and(|t| t.is_empty()) {
        tokens.pop();
    }
    let picked = if suffix {
        tokens.get(tokens.len().saturating_sub(n)..)
    } else {
        tokens.get(..n.min(tokens.len()))
    };
    picked.unwrap_or(&[]).join(delim)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn affix_follows_java_split() {
        assert_eq!(affix("/metrics/json", "/", 2, false), "/metrics");
        assert_eq!(affix("www.example.com.", ".", 2, true), "example.com");
        assert_eq!(affix("eth.ip.tcp", ".", 1, false), "eth");
        assert_eq!(affix("eth.ip.tcp", ".", 9, false), "eth.ip.tcp");
        assert_eq!(affix("eth.ip.tcp", ".", 9, true), "eth.ip.tcp");
        assert_eq!(affix("a::b", "::", 1, true), "b");
        assert_eq!(affix("", ".", 1, true), "");
    }
}
