//! Key expressions (flow keys and key functions) and filters, with sFlow-RT's grammar.
//!
//! Sources: sFlow-RT "Defining Flows" (define_flow.php), the RESTflow API page bundled with
//! 2013-14 releases (`resources/filters/html/api.ftl`), and InMon's own applications
//! (ddos-protect, fabric-metrics, ixp-metrics, world-map), which show how functions are used.
//! Where those sources are silent the behaviour chosen here is marked *inferred*.
//!
//! # Key expressions
//!
//! A key expression is a flow key name (`ipsource`, `ipsource.1` one tunnel deeper,
//! `ipfix:flowEndReason`) or a function `name:arg:arg…`. An argument that is itself a key may
//! be a nested expression in `[ ]`: `prefix:[uri:httpurl:path]:/:2`,
//! `group:[or:ipsource:ip6source]:sites`. Unknown plain key names are accepted (the sample
//! simply never has them); unknown function names are a syntax error. Every function yields
//! *null* (no value: the sample does not contribute to a flow keyed by it) when a key it reads
//! is missing.
//!
//! | Function | Value |
//! |---|---|
//! | `group:<key>:<set>[:<set2>…]` | label of the longest prefix containing the address in the first set that has a match (sets are resolved by name at evaluation, see [`crate::groups`]) |
//! | `map:<key>:<map>` | label whose value list holds the key's value ([`crate::maps`]) |
//! | `mask:<ipkey>:<bits>` | the address with all but the first `bits` bits cleared, as an address (`10.1.2.0`; *inferred*: no `/bits` suffix); `bits` 0..=128, clamped to 32 for IPv4 |
//! | `prefix:<key>:<delim>:<n>` / `suffix:…` | first / last `n` tokens of the value split at the literal `delim`, joined with `delim`; empty tokens kept except trailing ones (Java `String.split`, which reproduces the documented `/metrics` example) |
//! | `null:<key>:<default>` | the key's value, or `default` when missing |
//! | `or:<k1>:<k2>[:…]` | the first key present |
//! | `eq:<k1>:<k2>` | `true` / `false` (text equality); null if either is missing (*inferred*) |
//! | `range:<key>:<lo>[:<hi>]` | `true` when `lo <= value <= hi` (both inclusive, as the apps' `range:bytes:1518:1518` histogram bins need); no `hi` = unbounded |
//! | `first:<key>:<delim>:<t1>:<t2>…` | the first token of the value (in the value's order, so the outermost protocol of `stack`) that is one of `t1, t2, …` |
//! | `if:<cond>:<val>:<then>:<else>` | `then` when `cond`'s value is `val`, else `else`; `cond`, `then` and `else` are keys or `[ ]` expressions (world-map: `if:[first:stack:.:ip:ip6]:ip:[country:ipsource]:[country:ip6source]`) |
//! | `concat:<sep>:<k1>:<k2>…` | the values joined with `sep`; null if any is missing (*inferred*) |
//! | `bits:<key>:<mask>` | the integer value AND `mask` (decimal or `0x` hex), in decimal |
//! | `oui:<mackey>[:number\|name]` | `number` (default): the first three bytes as 6 lowercase hex digits (the case flow keys print MACs in); `name`: the organisation from [`Env::oui`] |
//! | `uri:<key>:<part>` | a URL component (see `uri.rs`): `scheme`, `authority`, `userinfo`, `host`, `port`, `path`, `query`, `fragment` |
//! | `country:<key>[:<attr>]` | country code from [`Env::geo`] (null without one) |
//! | `asn:<key>[:number\|descr\|both]` | AS number, description, or `"<number> <descr>"` (*inferred*) from [`Env::geo`] |
//! | `link:<ifkey>` | the name of the topology link (`/topology/json`) at interface `<ifkey>` (`inputifindex`, `outputifindex`) of the sample's agent; null at an edge port or without a topology |
//! | `host:`, `dns:` | parsed for compatibility; always null (need Host sFlow inventory, reverse DNS) |
//!
//! The legacy keys `sourcegroup` and `destinationgroup` (pre-`group:` sFlow-RT, used by the
//! 2013 blog scripts) are the group of `ipsource` (else `ip6source`) / `ipdestination` (else
//! `ip6destination`) in the set [`crate::groups::LEGACY_SET`].
//!
//! # Filters
//!
//! ```text
//! filter  := or | ""                       (empty: matches every sample)
//! or      := and ( "|" and )*
//! and     := primary ( "&" primary )*
//! primary := "(" or ")" | cmp
//! cmp     := keyexpr ( "=" | "!=" | "~" | "!~" ) values
//! values  := value ( "," value )*          (up to an unbracketed "&", "|" or ")")
//! ```
//!
//! `&` binds tighter than `|`. There is no unary `!` (sFlow-RT documents none).
//!
//! * `key=v1,v2` matches when the value equals any of the values. `null` in the list matches a
//!   missing key (`vxlanvni=null`). A value that is a CIDR prefix (`10.0.0.0/8`) or an address
//!   also matches any address in the prefix / the same address written differently
//!   (`2001:DB8::1`). Lists are compiled once into a hash set: a 16,000-name `dnsqname="…"` list
//!   costs one hash lookup per sample.
//! * `key!=v1,v2` is exactly the negation of `=`. So a sample *without* the key matches
//!   `key!=v` (unless the list holds `null`). sFlow-RT does not document this case; negation is
//!   chosen because it keeps `=null`/`!=null` and De Morgan consistent (*inferred*).
//! * `key~re1,re2` matches when any regular expression (Rust `regex` syntax, close to Java's
//!   `Pattern` for the patterns sFlow-RT users write) is found anywhere in the value (not
//!   anchored: `tcpflags~.......1.`, `destinationgroup~^phish.*`). A missing key never matches;
//!   `!~` is its negation.
//! * Values may be quoted with `"…"` or `'…'`; quotes protect `&`, `|`, `(`, `)` and
//!   whitespace and are removed, but commas still separate values inside them (phish.js builds
//!   `dnsqname="a.com.,b.org.,…"`). Commas inside `( )`, `[ ]` or `{ }` do not separate (so
//!   `a{1,3}` is one pattern); a literal comma elsewhere can be written `\x2C` in a pattern.
//! * The left-hand side is any key expression.
//!
//! Errors are [`crate::Error::Syntax`] with the byte offset of the problem in the whole
//! expression and what was expected there.

mod filter;
mod keyfn;
mod lex;
mod parse;
mod uri;

use crate::env::Env;
use crate::error::{ExprKind, Result};
use crate::keybuf::{KeyBuf, Schema};

use filter::{Cond, FilterParser};
use keyfn::Node;
use lex::{Span, Src};
use parse::Parser;

/// Deepest nesting of `( )`, `[ ]` and `{ }` an expression may have. The parsers recurse
/// per level, and expressions arrive over HTTP: without a bound, `((((…` would overflow the
/// stack. Real expressions nest a few levels.
pub const MAX_NESTING: usize = 64;

/// Refuses an expression nested deeper than [`MAX_NESTING`] (brackets inside quotes count
/// too: no real expression comes near the bound either way).
fn check_nesting(src: &str, kind: ExprKind) -> Result<()> {
    let mut depth = 0usize;
    for (i, b) in src.bytes().enumerate() {
        match b {
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(crate::error::Error::syntax(
                        kind,
                        src,
                        i,
                        format!("nested deeper than {MAX_NESTING} levels"),
                    ));
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// A compiled key or key function (`ipsource`, `group:ipsource:dc`, `mask:ip6source:48`).
#[derive(Clone, Debug)]
pub struct KeyExpr {
    src: Box<str>,
    node: Node,
}

impl KeyExpr {
    /// Parses one key expression, interning every key it reads. Surrounding whitespace is
    /// ignored.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Syntax`] of kind [`ExprKind::Key`] (unknown function, missing or extra
    /// argument, bad number, unbalanced `[ ]`, bad key name, nesting deeper than
    /// [`MAX_NESTING`]), with the byte offset in `src`;
    /// [`crate::Error::Limit`] when the schema is full.
    pub fn parse(src: &str, schema: &mut Schema) -> Result<KeyExpr> {
        check_nesting(src, ExprKind::Key)?;
        let mut p = Parser {
            src: Src {
                text: src,
                kind: ExprKind::Key,
            },
            schema,
        };
        let span = Span::new(0, src.len()).trim(src);
        let node = p.expr(span)?;
        Ok(KeyExpr {
            src: src.into(),
            node,
        })
    }

    /// Appends the expression's value for this sample to `out`; returns false (and leaves `out`
    /// as it was) when the value is null/missing.
    pub fn eval(&self, keys: &KeyBuf, env: &Env, out: &mut String) -> bool {
        self.node.write(keys, env, out)
    }

    /// Appends the expression's value for this sample to `key` as a stored flow-key
    /// component ([`crate::flow_key`]); a plain key, `mask:` and `bits:` go from their typed
    /// value, other functions' values through `text` (a reused buffer). False (`key` as it
    /// was) when null/missing.
    #[inline]
    pub(crate) fn eval_key(
        &self,
        keys: &KeyBuf,
        env: &Env,
        key: &mut Vec<u8>,
        text: &mut String,
    ) -> bool {
        // A plain key, the common case, inline; the rest out of line.
        if let Node::Key(s) = self.node {
            return keys.write_key(s, key);
        }
        self.eval_key_fn(keys, env, key, text)
    }

    /// [`KeyExpr::eval_key`] for a key function.
    #[inline(never)]
    fn eval_key_fn(&self, keys: &KeyBuf, env: &Env, key: &mut Vec<u8>, text: &mut String) -> bool {
        if let Some(done) = self.node.write_typed(keys, env, key) {
            return done;
        }
        text.clear();
        if !self.node.write(keys, env, text) {
            return false;
        }
        crate::flow_key::push_text(key, text);
        true
    }

    /// The expression's text as given (for display).
    pub fn source(&self) -> &str {
        &self.src
    }
}

/// Splits a comma-separated key list at top level (commas inside `[ ]` do not split); trims
/// each item and drops empty ones (`""` gives no keys).
pub fn split_keys(src: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut start = 0usize;
    for (i, b) in src.bytes().enumerate() {
        match b {
            b'[' => depth += 1,
            b']' => depth = depth.saturating_sub(1),
            b',' if depth == 0 => {
                out.push(src.get(start..i).unwrap_or(""));
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(src.get(start..).unwrap_or(""));
    out.into_iter()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

/// A compiled filter (`outputifindex!=discard&direction=ingress&sourcegroup=external`).
#[derive(Clone, Debug)]
pub struct Filter {
    src: Box<str>,
    cond: Cond,
}

impl Filter {
    /// Parses a filter (grammar in the [module docs](self)), interning every key it reads.
    /// An empty or all-whitespace filter matches every sample.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Syntax`] of kind [`ExprKind::Filter`] with the byte offset in `src`
    /// (missing operator or value, unbalanced parentheses or quotes, invalid regular
    /// expression, nesting deeper than [`MAX_NESTING`], and any key-expression error on a
    /// left-hand side);
    /// [`crate::Error::Limit`] when the schema is full.
    pub fn parse(src: &str, schema: &mut Schema) -> Result<Filter> {
        check_nesting(src, ExprKind::Filter)?;
        let cond = FilterParser::new(src, schema).parse()?;
        Ok(Filter {
            src: src.into(),
            cond,
        })
    }

    /// True when this sample passes the filter.
    #[inline]
    pub fn matches(&self, keys: &KeyBuf, env: &Env) -> bool {
        self.cond.eval(keys, env)
    }

    /// The filter's text as given.
    pub fn source(&self) -> &str {
        &self.src
    }
}
