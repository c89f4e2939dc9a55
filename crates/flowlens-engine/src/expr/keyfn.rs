//! Key functions: the parsed tree ([`Node`]), its parser and its evaluation.

use std::borrow::Cow;
use std::net::IpAddr;

use super::lex::{split_top, Span, Src};
use super::uri::{uri_part, UriPart};
use crate::env::Env;
use crate::error::{Error, Result};
use crate::groups::{mask_addr, LEGACY_SET};
use crate::keybuf::{KeyBuf, KeyName, Schema, Slot};
use crate::oui::parse_mac;

/// Names of the key functions, for error messages.
pub(crate) const FUNCTIONS: &str = "group, map, mask, prefix, suffix, null, or, eq, range, first, \
     if, concat, bits, oui, uri, country, asn, host, link, dns";

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
    /// [`LEGACY_SET`].
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
    /// `host:`, `link:`, `dns:`: sFlow-RT functions that need state this engine does not keep
    /// (Host sFlow inventory, topology, reverse DNS). They parse and always yield null.
    Unsupported,
}

fn b(n: Node) -> Box<Node> {
    Box::new(n)
}

impl Node {
    /// The node's value for this sample; `None` = null.
    pub(crate) fn value<'a>(&'a self, keys: &'a KeyBuf, env: &'a Env) -> Option<Cow<'a, str>> {
        match self {
            Node::Key(s) => keys.text(*s).map(Cow::Borrowed),
            Node::Legacy { v4, v6 } => {
                let ip = keys.ip(*v4).or_else(|| keys.ip(*v6))?;
                env.groups.get(LEGACY_SET)?.lookup(ip).map(Cow::Borrowed)
            }
            Node::Group { arg, sets } => {
                let ip = arg.ip(keys, env)?;
                sets.iter()
                    .find_map(|s| env.groups.get(s).and_then(|g| g.lookup(ip)))
                    .map(Cow::Borrowed)
            }
            Node::Map { arg, map } => {
                let v = arg.value(keys, env)?;
                env.maps.get(map)?.lookup(&v).map(Cow::Borrowed)
            }
            Node::Mask { arg, bits } => {
                Some(Cow::Owned(mask_addr(arg.ip(keys, env)?, *bits).to_string()))
            }
            Node::Affix {
                arg,
                delim,
                n,
                suffix,
            } => Some(Cow::Owned(affix(
                &arg.value(keys, env)?,
                delim,
                *n,
                *suffix,
            ))),
            Node::Null { arg, default } => {
                Some(arg.value(keys, env).unwrap_or(Cow::Borrowed(&**default)))
            }
            Node::Or(args) => args.iter().find_map(|a| a.value(keys, env)),
            Node::Eq(l, r) => {
                let (l, r) = (l.value(keys, env)?, r.value(keys, env)?);
                Some(Cow::Borrowed(bool_text(l == r)))
            }
            Node::Range { arg, lo, hi } => {
                let v = arg.num(keys, env)?;
                Some(Cow::Borrowed(bool_text(*lo <= v && v <= *hi)))
            }
            Node::First { arg, delim, tokens } => {
                let v = arg.value(keys, env)?;
                let found = v
                    .split(&**delim)
                    .find_map(|t| tokens.iter().find(|k| ***k == *t))?;
                Some(Cow::Borrowed(&**found))
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
                Some(Cow::Owned(out))
            }
            Node::Bits { arg, mask } => {
                let v = arg.num(keys, env)?;
                if !(v >= 0.0 && v <= u64::MAX as f64 && v.fract() == 0.0) {
                    return None;
                }
                Some(Cow::Owned(((v as u64) & mask).to_string()))
            }
            Node::Oui { arg, name } => {
                let mac = parse_mac(&arg.value(keys, env)?)?;
                if *name {
                    env.oui.as_ref()?.lookup(mac).map(Cow::Borrowed)
                } else {
                    let [a, b, c, ..] = mac;
                    Some(Cow::Owned(format!("{a:02x}{b:02x}{c:02x}")))
                }
            }
            Node::Uri { arg, part } => match arg.value(keys, env)? {
                Cow::Borrowed(s) => uri_part(s, *part).map(Cow::Borrowed),
                Cow::Owned(s) => uri_part(&s, *part).map(|p| Cow::Owned(p.to_string())),
            },
            Node::Country(arg) => {
                let ip = arg.ip(keys, env)?;
                env.geo.as_ref()?.country(ip).map(Cow::Owned)
            }
            Node::Asn { arg, attr } => {
                let ip = arg.ip(keys, env)?;
                let (n, d) = env.geo.as_ref()?.asn(ip)?;
                Some(Cow::Owned(match attr {
                    AsnAttr::Number => n.to_string(),
                    AsnAttr::Descr => d,
                    AsnAttr::Both => format!("{n} {d}"),
                }))
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

/// Parses key expressions of `src`, interning keys into `schema`.
pub(crate) struct Parser<'a, 's> {
    pub(crate) src: Src<'a>,
    pub(crate) schema: &'s mut Schema,
}

/// The arguments of one function call.
struct Args {
    name: &'static str,
    segs: Vec<Span>,
    next: usize,
    end: usize,
}

impl Args {
    fn take(&mut self, p: &Parser<'_, '_>, what: &str) -> Result<Span> {
        let s = self.segs.get(self.next).copied().ok_or_else(|| {
            p.src.err(
                self.end,
                format!("{}: expected {what} after ':'", self.name),
            )
        })?;
        self.next += 1;
        Ok(s)
    }

    fn has_more(&self) -> bool {
        self.next < self.segs.len()
    }

    fn key(&mut self, p: &mut Parser<'_, '_>) -> Result<Node> {
        let s = self.take(p, "a key")?;
        if p.src.get(s) == "ipfix" {
            if let Some(n) = self.segs.get(self.next).copied() {
                self.next += 1;
                return p.expr(Span::new(s.start, n.end));
            }
        }
        p.expr(s)
    }

    fn lit<'a>(&mut self, p: &Parser<'a, '_>, what: &str) -> Result<(&'a str, usize)> {
        let s = self.take(p, what)?;
        Ok((p.src.get(s), s.start))
    }

    fn lit_nonempty<'a>(&mut self, p: &Parser<'a, '_>, what: &str) -> Result<&'a str> {
        let (t, at) = self.lit(p, what)?;
        if t.is_empty() {
            return Err(p.src.err(at, format!("{}: expected {what}", self.name)));
        }
        Ok(t)
    }

    fn number<T: core::str::FromStr>(&mut self, p: &Parser<'_, '_>, what: &str) -> Result<T> {
        let (t, at) = self.lit(p, what)?;
        t.parse().map_err(|_| {
            p.src
                .err(at, format!("{}: expected {what}, found `{t}`", self.name))
        })
    }

    fn done(&self, p: &Parser<'_, '_>) -> Result<()> {
        match self.segs.get(self.next) {
            Some(s) => Err(p.src.err(
                s.start.saturating_sub(1),
                format!("{}: unexpected extra argument", self.name),
            )),
            None => Ok(()),
        }
    }
}

impl Parser<'_, '_> {
    /// Parses the expression at `span` (a key, `fn:arg:…`, or either in `[ ]`).
    pub(crate) fn expr(&mut self, span: Span) -> Result<Node> {
        if span.is_empty() {
            return Err(self.src.err(span.start, "expected a key or key function"));
        }
        let segs = split_top(&self.src, span, b':')?;
        let first = segs.first().copied().unwrap_or(span);
        let head = self.src.get(first);
        if head.starts_with('[') {
            let close = matching_bracket(head).map_or(first.end, |i| first.start + i);
            if close + 1 != first.end {
                return Err(self.src.err(close + 1, "unexpected text after ']'"));
            }
            if segs.len() > 1 {
                return Err(self
                    .src
                    .err(first.end, "expected a function name, found '['"));
            }
            if Span::new(first.start + 1, close)
                .trim(self.src.text)
                .is_empty()
            {
                return Err(self
                    .src
                    .err(first.start + 1, "expected a key or key function in '[ ]'"));
            }
            return self.expr(Span::new(first.start + 1, close));
        }
        if segs.len() == 1 || (head == "ipfix" && segs.len() == 2) {
            return self.key(span);
        }
        let Some(name) = function_name(head) else {
            return Err(self.src.err(
                first.start,
                format!("unknown key function `{head}` (expected one of {FUNCTIONS})"),
            ));
        };
        let mut a = Args {
            name,
            segs: segs.get(1..).unwrap_or(&[]).to_vec(),
            next: 0,
            end: span.end,
        };
        let node = self.call(name, &mut a)?;
        a.done(self)?;
        Ok(node)
    }

    fn call(&mut self, name: &'static str, a: &mut Args) -> Result<Node> {
        Ok(match name {
            "group" => {
                let arg = b(a.key(self)?);
                let mut sets = vec![a.lit_nonempty(self, "a group set name")?.into()];
                while a.has_more() {
                    sets.push(a.lit_nonempty(self, "a group set name")?.into());
                }
                Node::Group {
                    arg,
                    sets: sets.into(),
                }
            }
            "map" => Node::Map {
                arg: b(a.key(self)?),
                map: a.lit_nonempty(self, "a map name")?.into(),
            },
            "mask" => {
                let arg = b(a.key(self)?);
                let bits: u8 = a.number(self, "a prefix length 0..=128")?;
                if bits > 128 {
                    return Err(self.src.err(a.end, "mask: prefix length must be 0..=128"));
                }
                Node::Mask { arg, bits }
            }
            "prefix" | "suffix" => {
                let arg = b(a.key(self)?);
                let delim = a.lit_nonempty(self, "a delimiter")?.into();
                let n: usize = a.number(self, "a token count")?;
                if n == 0 {
                    return Err(self
                        .src
                        .err(a.end, format!("{name}: token count must be at least 1")));
                }
                Node::Affix {
                    arg,
                    delim,
                    n,
                    suffix: name == "suffix",
                }
            }
            "null" => Node::Null {
                arg: b(a.key(self)?),
                default: a.lit(self, "a default value")?.0.into(),
            },
            "or" => {
                let mut args = vec![a.key(self)?];
                while a.has_more() {
                    args.push(a.key(self)?);
                }
                Node::Or(args.into())
            }
            "eq" => Node::Eq(b(a.key(self)?), b(a.key(self)?)),
            "range" => {
                let arg = b(a.key(self)?);
                let lo: f64 = a.number(self, "a lower bound")?;
                let hi: f64 = if a.has_more() {
                    a.number(self, "an upper bound")?
                } else {
                    f64::INFINITY
                };
                Node::Range { arg, lo, hi }
            }
            "first" => {
                let arg = b(a.key(self)?);
                let delim = a.lit_nonempty(self, "a delimiter")?.into();
                let mut tokens = vec![a.lit(self, "a token")?.0.into()];
                while a.has_more() {
                    tokens.push(a.lit(self, "a token")?.0.into());
                }
                Node::First {
                    arg,
                    delim,
                    tokens: tokens.into(),
                }
            }
            "if" => Node::If {
                cond: b(a.key(self)?),
                val: a.lit(self, "a value to compare with")?.0.into(),
                then: b(a.key(self)?),
                other: b(a.key(self)?),
            },
            "concat" => {
                let sep = a.lit(self, "a separator")?.0.into();
                let mut args = vec![a.key(self)?];
                while a.has_more() {
                    args.push(a.key(self)?);
                }
                Node::Concat {
                    sep,
                    args: args.into(),
                }
            }
            "bits" => {
                let arg = b(a.key(self)?);
                let (t, at) = a.lit(self, "a mask")?;
                let mask = parse_mask(t).ok_or_else(|| {
                    self.src.err(
                        at,
                        format!("bits: expected a decimal or 0x hex mask, found `{t}`"),
                    )
                })?;
                Node::Bits { arg, mask }
            }
            "oui" => {
                let arg = b(a.key(self)?);
                let name = if a.has_more() {
                    match a.lit(self, "number or name")? {
                        ("number", _) => false,
                        ("name", _) => true,
                        (t, at) => {
                            return Err(self
                                .src
                                .err(at, format!("oui: expected `number` or `name`, found `{t}`")))
                        }
                    }
                } else {
                    false
                };
                Node::Oui { arg, name }
            }
            "uri" => {
                let arg = b(a.key(self)?);
                let (t, at) = a.lit(self, "a URI part")?;
                let part = UriPart::parse(t).ok_or_else(|| {
                    self.src.err(
                        at,
                        format!(
                            "uri: unknown part `{t}` (expected one of {})",
                            UriPart::NAMES
                        ),
                    )
                })?;
                Node::Uri { arg, part }
            }
            "country" => {
                let arg = b(a.key(self)?);
                if a.has_more() {
                    // sFlow-RT documents an optional attribute; only the code is available.
                    a.lit(self, "an attribute")?;
                }
                Node::Country(arg)
            }
            "asn" => {
                let arg = b(a.key(self)?);
                let attr = if a.has_more() {
                    match a.lit(self, "number, descr or both")? {
                        ("number", _) => AsnAttr::Number,
                        ("descr", _) => AsnAttr::Descr,
                        ("both", _) => AsnAttr::Both,
                        (t, at) => {
                            return Err(self.src.err(
                                at,
                                format!("asn: expected `number`, `descr` or `both`, found `{t}`"),
                            ))
                        }
                    }
                } else {
                    AsnAttr::Number
                };
                Node::Asn { arg, attr }
            }
            _ => {
                // host:, link:, dns: take a key and optional attributes.
                a.key(self)?;
                while a.has_more() {
                    a.lit(self, "an attribute")?;
                }
                Node::Unsupported
            }
        })
    }

    /// A plain key name, possibly `.N` deep; `sourcegroup` / `destinationgroup` are the legacy
    /// group keys.
    fn key(&mut self, span: Span) -> Result<Node> {
        let text = self.src.get(span);
        let k = KeyName::parse(text).map_err(|e| match e {
            Error::Syntax { offset, reason, .. } => self.src.err(span.start + offset, reason),
            other => other,
        })?;
        let legacy = match &*k.name {
            "sourcegroup" => Some(("ipsource", "ip6source")),
            "destinationgroup" => Some(("ipdestination", "ip6destination")),
            _ => None,
        };
        Ok(match legacy {
            Some((v4, v6)) => Node::Legacy {
                v4: self.schema.intern_name(v4, k.depth)?,
                v6: self.schema.intern_name(v6, k.depth)?,
            },
            None => Node::Key(self.schema.intern_name(&k.name, k.depth)?),
        })
    }
}

fn function_name(head: &str) -> Option<&'static str> {
    const NAMES: [&str; 20] = [
        "group", "map", "mask", "prefix", "suffix", "null", "or", "eq", "range", "first", "if",
        "concat", "bits", "oui", "uri", "country", "asn", "host", "link", "dns",
    ];
    NAMES.iter().copied().find(|n| *n == head)
}

/// Byte index of the `]` closing the `[` at index 0 of `text`.
fn matching_bracket(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, b) in text.bytes().enumerate() {
        match b {
            b'[' => depth += 1,
            b']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

fn parse_mask(t: &str) -> Option<u64> {
    match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => t.parse().ok(),
    }
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

    #[test]
    fn masks_parse() {
        assert_eq!(parse_mask("0x1F"), Some(31));
        assert_eq!(parse_mask("12"), Some(12));
        assert_eq!(parse_mask("0xg"), None);
        assert_eq!(parse_mask("-1"), None);
    }
}
