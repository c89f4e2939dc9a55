//! Filter expressions: parser and evaluation (grammar in the [`super`] module docs).

use regex::Regex;

use super::keyfn::Node;
use super::lex::{Span, Src};
use super::parse::Parser;
use crate::env::Env;
use crate::error::{ExprKind, Result};
use crate::groups::{parse_cidr, Lpm};
use crate::keybuf::{KeyBuf, Schema};
use flowlens_netflow::hash::{map, Map};

/// A compiled filter condition.
#[derive(Clone, Debug)]
pub(crate) enum Cond {
    /// The empty filter.
    True,
    All(Box<[Cond]>),
    Any(Box<[Cond]>),
    Cmp(Box<Cmp>),
}

/// `lhs op values`.
#[derive(Clone, Debug)]
pub(crate) struct Cmp {
    lhs: Node,
    /// `!=` / `!~`.
    negate: bool,
    test: Test,
}

#[derive(Clone, Debug)]
enum Test {
    Equals(ValueSet),
    Matches(Box<[Regex]>),
}

/// The right-hand side of `=` / `!=`, compiled for O(1) membership.
#[derive(Clone, Debug)]
struct ValueSet {
    /// The list holds `null` (matches a missing key).
    null: bool,
    /// Up to [`FEW`] texts compared one by one, beyond that a hash set.
    texts: Texts,
    /// CIDR and address values, matched against the key's value as an address.
    cidrs: Option<Box<Lpm>>,
    /// The texts that are canonical decimals (no leading zero, below 2^64), as numbers,
    /// sorted: the only ones a key holding a number can equal (its text is its decimal).
    decimals: Vec<u64>,
}

const FEW: usize = 4;

#[derive(Clone, Debug)]
enum Texts {
    Few(Vec<Box<str>>),
    Many(Map<Box<str>, ()>),
}

impl Texts {
    fn contains(&self, t: &str) -> bool {
        match self {
            Texts::Few(v) => v.iter().any(|x| **x == *t),
            Texts::Many(m) => m.contains_key(t),
        }
    }
}

impl Cond {
    /// Evaluates the condition for this sample. Inlined into the per-definition loop: the
    /// top level and its comparisons run without a call; nested `&`/`|` groups recurse
    /// through [`Cond::eval_nested`].
    #[inline(always)]
    pub(crate) fn eval(&self, keys: &KeyBuf, env: &Env) -> bool {
        let one = |c: &Cond| match c {
            Cond::Cmp(c) => c.eval(keys, env),
            c => c.eval_nested(keys, env),
        };
        match self {
            Cond::True => true,
            Cond::All(c) => c.iter().all(one),
            Cond::Any(c) => c.iter().any(one),
            Cond::Cmp(c) => c.eval(keys, env),
        }
    }

    /// [`Cond::eval`] below the top level.
    #[inline(never)]
    fn eval_nested(&self, keys: &KeyBuf, env: &Env) -> bool {
        match self {
            Cond::True => true,
            Cond::All(c) => c.iter().all(|c| c.eval_nested(keys, env)),
            Cond::Any(c) => c.iter().any(|c| c.eval_nested(keys, env)),
            Cond::Cmp(c) => c.eval(keys, env),
        }
    }
}

impl Cmp {
    #[inline(always)]
    fn eval(&self, keys: &KeyBuf, env: &Env) -> bool {
        if let (Node::Key(s), Test::Equals(set)) = (&self.lhs, &self.test) {
            if let Some(n) = keys.u64(*s) {
                // A number's text is its decimal, which no CIDR matches: compare numbers.
                return set.decimals.binary_search(&n).is_ok() != self.negate;
            }
            if let Some(ip) = keys.typed_ip(*s) {
                // A text equal to the address's text parses as that address, and every text
                // that parses as an address is in `cidrs` (as a /32 or /128): the look-up
                // alone answers.
                let hit = set.cidrs.as_ref().is_some_and(|l| l.lookup(ip).is_some());
                return hit != self.negate;
            }
            if let Some(name) = keys.typed_name(*s) {
                // A fixed name (`ingress`, `discard`) is its own text and never an address.
                return set.texts.contains(name) != self.negate;
            }
        }
        self.eval_text(keys, env)
    }

    /// [`Cmp::eval`] through the left-hand side's text (key functions, text values).
    #[inline(never)]
    fn eval_text(&self, keys: &KeyBuf, env: &Env) -> bool {
        let v = self.lhs.value(keys, env);
        let hit = match (&self.test, v) {
            (Test::Equals(set), None) => set.null,
            (Test::Equals(set), Some(t)) => {
                set.texts.contains(&t)
                    || set.cidrs.as_ref().is_some_and(|l| {
                        let ip = match &self.lhs {
                            Node::Key(s) => keys.ip(*s),
                            _ => t.parse().ok(),
                        };
                        ip.is_some_and(|ip| l.lookup(ip).is_some())
                    })
            }
            (Test::Matches(_), None) => false,
            (Test::Matches(res), Some(t)) => res.iter().any(|r| r.is_match(&t)),
        };
        hit != self.negate
    }
}

/// One value of a right-hand side: its text (quotes removed) and byte offset.
struct Value {
    text: String,
    at: usize,
    quoted: bool,
}

pub(crate) struct FilterParser<'a, 's> {
    keys: Parser<'a, 's>,
    pos: usize,
    /// Offsets of the open '(' (for "unclosed" errors).
    open: Vec<usize>,
}

impl<'a, 's> FilterParser<'a, 's> {
    pub(crate) fn new(text: &'a str, schema: &'s mut Schema) -> Self {
        FilterParser {
            keys: Parser {
                src: Src {
                    text,
                    kind: ExprKind::Filter,
                },
                schema,
            },
            pos: 0,
            open: Vec::new(),
        }
    }

    fn src(&self) -> Src<'a> {
        self.keys.src
    }

    fn peek(&self) -> Option<u8> {
        self.src().byte(self.pos)
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    pub(crate) fn parse(mut self) -> Result<Cond> {
        self.skip_ws();
        if self.peek().is_none() {
            return Ok(Cond::True);
        }
        let c = self.or()?;
        self.skip_ws();
        match self.peek() {
            None => Ok(c),
            Some(b')') => Err(self
                .src()
                .err(self.pos, "unexpected ')' without a matching '('")),
            Some(_) => Err(self
                .src()
                .err(self.pos, "expected '&', '|' or the end of the filter")),
        }
    }

    fn or(&mut self) -> Result<Cond> {
        let mut terms = vec![self.and()?];
        loop {
            self.skip_ws();
            if self.peek() != Some(b'|') {
                break;
            }
            self.pos += 1;
            terms.push(self.and()?);
        }
        Ok(if terms.len() == 1 {
            terms.pop().unwrap_or(Cond::True)
        } else {
            Cond::Any(terms.into())
        })
    }

    fn and(&mut self) -> Result<Cond> {
        let mut terms = vec![self.primary()?];
        loop {
            self.skip_ws();
            if self.peek() != Some(b'&') {
                break;
            }
            self.pos += 1;
            terms.push(self.primary()?);
        }
        Ok(if terms.len() == 1 {
            terms.pop().unwrap_or(Cond::True)
        } else {
            Cond::All(terms.into())
        })
    }

    fn primary(&mut self) -> Result<Cond> {
        self.skip_ws();
        match self.peek() {
            Some(b'(') => {
                self.open.push(self.pos);
                self.pos += 1;
                let c = self.or()?;
                self.skip_ws();
                if self.peek() != Some(b')') {
                    let at = self.open.last().copied().unwrap_or(0);
                    return Err(self.src().err(
                        self.pos,
                        format!("expected ')' to close the '(' at offset {at}"),
                    ));
                }
                self.open.pop();
                self.pos += 1;
                Ok(c)
            }
            None => Err(self
                .src()
                .err(self.pos, "expected a comparison such as `key=value`")),
            Some(b'&' | b'|' | b')') => Err(self
                .src()
                .err(self.pos, "expected a comparison such as `key=value`")),
            Some(_) => self.comparison().map(|c| Cond::Cmp(Box::new(c))),
        }
    }

    fn comparison(&mut self) -> Result<Cmp> {
        let start = self.pos;
        let mut open: Vec<usize> = Vec::new();
        let (op_at, negate, regex) = loop {
            let Some(b) = self.peek() else {
                if let Some(at) = open.first() {
                    return Err(self
                        .src()
                        .err(*at, "unclosed '[' (expected a matching ']')"));
                }
                return Err(self
                    .src()
                    .err(self.pos, "expected '=', '!=', '~' or '!~' after the key"));
            };
            match b {
                b'[' => open.push(self.pos),
                b']' if open.is_empty() => {
                    return Err(self
                        .src()
                        .err(self.pos, "unexpected ']' without a matching '['"))
                }
                b']' => {
                    open.pop();
                }
                _ if !open.is_empty() => {}
                b'=' => break (self.pos, false, false),
                b'~' => break (self.pos, false, true),
                b'!' => match self.src().byte(self.pos + 1) {
                    Some(b'=') => break (self.pos, true, false),
                    Some(b'~') => break (self.pos, true, true),
                    _ => {
                        return Err(self.src().err(self.pos, "expected '!=' or '!~'"));
                    }
                },
                b'&' | b'|' | b'(' | b')' => {
                    return Err(self
                        .src()
                        .err(self.pos, "expected '=', '!=', '~' or '!~' after the key"));
                }
                _ => {}
            }
            self.pos += 1;
        };
        let lhs_span = Span::new(start, op_at).trim(self.src().text);
        if lhs_span.is_empty() {
            return Err(self.src().err(op_at, "expected a key before the operator"));
        }
        let lhs = self.keys.expr(lhs_span)?;
        self.pos = op_at + if negate { 2 } else { 1 };
        let op_end = self.pos;
        let values = self.values()?;
        let op = match (negate, regex) {
            (false, false) => "=",
            (true, false) => "!=",
            (false, true) => "~",
            (true, true) => "!~",
        };
        if values.len() == 1
            && values
                .first()
                .is_some_and(|v| v.text.is_empty() && !v.quoted)
        {
            return Err(self
                .src()
                .err(op_end, format!("expected a value after '{op}'")));
        }
        let test = if regex {
            let mut res = Vec::with_capacity(values.len());
            for v in &values {
                let r = Regex::new(&v.text).map_err(|e| {
                    let msg = e.to_string();
                    let short = msg.lines().last().unwrap_or(&msg).trim().to_string();
                    self.src()
                        .err(v.at, format!("invalid regular expression: {short}"))
                })?;
                res.push(r);
            }
            Test::Matches(res.into())
        } else {
            Test::Equals(value_set(values))
        };
        Ok(Cmp { lhs, negate, test })
    }

    /// The comma-separated values after an operator, up to an unbracketed `&`, `|` or `)`.
    ///
    /// Quotes (`"…"`, `'…'`) protect `&`, `|`, `(`, `)` and whitespace and are removed; commas
    /// separate values inside quotes too (phish.js passes `dnsqname="a.com.,b.org."`). Commas
    /// inside `( )`, `[ ]` or `{ }` do not separate, so regular expressions such as `a{1,3}` and
    /// `(a|b)` survive unquoted. Whitespace around unquoted values is dropped.
    fn values(&mut self) -> Result<Vec<Value>> {
        let src = self.src();
        let mut out = Vec::new();
        let mut cur = String::new();
        let mut pending_ws = String::new();
        let mut cur_at = self.pos;
        let mut quoted = false;
        let mut depth = 0usize;
        let rest = src.text.get(self.pos..).unwrap_or("");
        let mut chars = rest.char_indices().peekable();
        let base = self.pos;
        let mut end = src.text.len();
        let push = |cur: &mut String, quoted: &mut bool, at: usize, out: &mut Vec<Value>| {
            out.push(Value {
                text: core::mem::take(cur),
                at,
                quoted: core::mem::take(quoted),
            });
        };
        while let Some((i, c)) = chars.next() {
            let at = base + i;
            match c {
                '"' | '\'' => {
                    let Some(close) = rest.get(i + 1..).and_then(|r| r.find(c)) else {
                        return Err(
                            src.err(at, format!("unterminated quote (expected a closing {c})"))
                        );
                    };
                    if cur.is_empty() && !quoted {
                        cur_at = at + 1;
                    }
                    cur.push_str(&pending_ws);
                    pending_ws.clear();
                    quoted = true;
                    let inner = rest.get(i + 1..i + 1 + close).unwrap_or("");
                    let mut qdepth = depth;
                    for (j, q) in inner.char_indices() {
                        match q {
                            ',' if qdepth == 0 => {
                                push(&mut cur, &mut quoted, cur_at, &mut out);
                                quoted = true;
                                cur_at = at + 1 + j + 1;
                            }
                            '(' | '[' | '{' => {
                                qdepth += 1;
                                cur.push(q);
                            }
                            ')' | ']' | '}' => {
                                qdepth = qdepth.saturating_sub(1);
                                cur.push(q);
                            }
                            q => cur.push(q),
                        }
                    }
                    // Skip the quoted text and the closing quote.
                    while chars.peek().is_some_and(|(j, _)| *j <= i + close + 1) {
                        chars.next();
                    }
                }
                ',' if depth == 0 => {
                    push(&mut cur, &mut quoted, cur_at, &mut out);
                    pending_ws.clear();
                    cur_at = at + 1;
                }
                '&' | '|' if depth == 0 => {
                    end = at;
                    break;
                }
                ')' if depth == 0 => {
                    end = at;
                    break;
                }
                c if c.is_whitespace() => {
                    if !cur.is_empty() || quoted {
                        pending_ws.push(c);
                    } else {
                        cur_at = at + c.len_utf8();
                    }
                }
                c => {
                    match c {
                        '(' | '[' | '{' => depth += 1,
                        ')' | ']' | '}' => depth = depth.saturating_sub(1),
                        _ => {}
                    }
                    cur.push_str(&pending_ws);
                    pending_ws.clear();
                    cur.push(c);
                }
            }
        }
        push(&mut cur, &mut quoted, cur_at, &mut out);
        self.pos = end;
        Ok(out)
    }
}

fn value_set(values: Vec<Value>) -> ValueSet {
    let mut null = false;
    let mut texts: Vec<Box<str>> = Vec::with_capacity(values.len());
    let mut cidrs: Option<Box<Lpm>> = None;
    let mut decimals = Vec::new();
    for v in values {
        if v.text == "null" {
            null = true;
            continue;
        }
        if let Some(n) = crate::flow_key::canonical_u64(&v.text) {
            decimals.push(n);
        }
        if v.text.contains('/') || v.text.parse::<std::net::IpAddr>().is_ok() {
            if let Ok(c) = parse_cidr(&v.text) {
                cidrs.get_or_insert_with(Box::default).insert_first(c, 0);
            }
        }
        texts.push(v.text.into_boxed_str());
    }
    let texts = if texts.len() <= FEW {
        Texts::Few(texts)
    } else {
        let mut m = map();
        m.reserve(texts.len());
        for t in texts {
            m.insert(t, ());
        }
        Texts::Many(m)
    };
    decimals.sort_unstable();
    ValueSet {
        null,
        texts,
        cidrs,
        decimals,
    }
}
