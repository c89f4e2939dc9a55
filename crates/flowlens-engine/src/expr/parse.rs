//! The key-expression parser: `name`, `name.N`, `fn:arg:…` and `[ ]` nesting.

use super::keyfn::{AsnAttr, Node};
use super::lex::{split_top, Span, Src};
use super::uri::UriPart;
use crate::error::{Error, Result};
use crate::keybuf::{KeyName, Schema};

/// The key functions this parser knows.
const NAMES: [&str; 20] = [
    "group", "map", "mask", "prefix", "suffix", "null", "or", "eq", "range", "first", "if",
    "concat", "bits", "oui", "uri", "country", "asn", "host", "link", "dns",
];

fn b(n: Node) -> Box<Node> {
    Box::new(n)
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
                format!(
                    "unknown key function `{head}` (expected one of {})",
                    NAMES.join(", ")
                ),
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
            "link" => {
                let arg = b(a.key(self)?);
                while a.has_more() {
                    a.lit(self, "an attribute")?;
                }
                Node::Link {
                    arg,
                    agent: self.schema.intern("agent")?,
                }
            }
            _ => {
                // host:, dns: take a key and optional attributes.
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
    fn masks_parse() {
        assert_eq!(parse_mask("0x1F"), Some(31));
        assert_eq!(parse_mask("12"), Some(12));
        assert_eq!(parse_mask("0xg"), None);
        assert_eq!(parse_mask("-1"), None);
    }
}
