//! Named keys of one sample: the [`Schema`] of key slots and the per-sample [`KeyBuf`].
//!
//! Flow definitions, filters and key functions name keys as sFlow-RT does: `ipsource`,
//! `ipsource.1` (the same key one tunnel deeper), `tcpflags`. Compiling an expression interns
//! every key it reads into the engine's [`Schema`], which gives it a [`Slot`]. For each sample
//! the engine fills a [`KeyBuf`] with the values of the interned keys only (a [`Collector`]
//! is the [`KeyVisitor`] that does it), so a sample costs work in proportion to what the
//! definitions read, not to what the packet carries.
//!
//! Values stay typed where the wire gives them typed (integers, IPv4/IPv6 addresses, MACs,
//! fixed names). Flow keys store numbers and addresses typed (`KeyBuf::write_key`); the
//! text, the form sFlow-RT shows, is made only when a filter or key function reads the key
//! as text, once per sample. `group:`, `mask:`, `range:` and numeric flow values read the
//! typed value. Values borrowed from the datagram (wire strings, hex, lists) are copied as
//! text.

use core::cell::{Cell, RefCell};
use core::fmt::{self, Write};
use std::net::IpAddr;

use arrayvec::ArrayString;
use flowlens_wire::{KeyId, KeyMask, KeyVisitor, Value};

use crate::error::{Error, ExprKind, Result};
use flowlens_netflow::hash::{map, Map};

/// Index of an interned key in a [`Schema`] and a [`KeyBuf`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Slot(pub(crate) u16);

impl Slot {
    /// The slot's index.
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

/// A key name with its tunnel depth: `ipsource.1` is `{name: "ipsource", depth: 1}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KeyName {
    /// The sFlow-RT key name (`ipsource`, `ipfix:flowEndReason`).
    pub name: Box<str>,
    /// Tunnel depth, 0 = outermost.
    pub depth: u8,
}

impl KeyName {
    /// Parses `name` or `name.N` (N = 1..=15). Names are lower-case ASCII letters, digits, `_`,
    /// `-` and `:` (for `ipfix:` keys, whose IANA names are mixed case and kept as given).
    pub fn parse(text: &str) -> Result<KeyName> {
        let (name, depth) = match text.rsplit_once('.') {
            Some((n, d)) if !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()) => {
                let depth: u8 =
                    d.parse()
                        .ok()
                        .filter(|d| (1..=15).contains(d))
                        .ok_or_else(|| {
                            Error::syntax(
                                ExprKind::Key,
                                text,
                                n.len() + 1,
                                "tunnel depth must be 1..15",
                            )
                        })?;
                (n, depth)
            }
            _ => (text, 0),
        };
        if name.is_empty() {
            return Err(Error::syntax(ExprKind::Key, text, 0, "empty key name"));
        }
        if let Some(bad) = name
            .bytes()
            .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b':')))
        {
            return Err(Error::syntax(
                ExprKind::Key,
                text,
                bad,
                "key names are letters, digits, '_', '-' and ':'",
            ));
        }
        Ok(KeyName {
            name: name.into(),
            depth,
        })
    }
}

impl fmt::Display for KeyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.depth == 0 {
            f.write_str(&self.name)
        } else {
            write!(f, "{}.{}", self.name, self.depth)
        }
    }
}

/// The interned keys of an engine. Grows as definitions are added; never shrinks (a slot is
/// 16 bytes of [`KeyBuf`] per sample-in-flight, and key names are a small vocabulary).
#[derive(Debug)]
pub struct Schema {
    names: Vec<KeyName>,
    /// Name → slot per depth (`u16::MAX`: not interned); looked up by `&str`, no allocation.
    index: Map<Box<str>, [u16; 16]>,
    /// Key id and depth → slot (`u16::MAX`: not interned), the per-sample lookup.
    by_id: Vec<[u16; 16]>,
    version: u32,
    /// The ids of the keys interned or looked up since [`Schema::start_reads`].
    reads: KeyMask,
}

impl Default for Schema {
    fn default() -> Self {
        Schema {
            names: Vec::new(),
            index: map(),
            by_id: vec![[u16::MAX; 16]; KeyId::COUNT],
            version: 0,
            reads: KeyMask::NONE,
        }
    }
}

/// Most distinct keys a schema interns.
pub const MAX_SLOTS: usize = 4096;

impl Schema {
    /// Interns a key given as text (`ipsource.1`).
    pub fn intern(&mut self, text: &str) -> Result<Slot> {
        let k = KeyName::parse(text)?;
        self.intern_name(&k.name, k.depth)
    }

    /// Starts recording which keys are interned: [`Schema::take_reads`] then gives the ids of
    /// the keys interned since (already interned or new), so a definition knows its
    /// [`KeyMask`].
    pub fn start_reads(&mut self) {
        self.reads = KeyMask::NONE;
    }

    /// The ids of the keys interned since [`Schema::start_reads`] (names no producer emits
    /// have no id and add nothing).
    pub fn take_reads(&mut self) -> KeyMask {
        core::mem::take(&mut self.reads)
    }

    /// Interns `name` at `depth`.
    pub fn intern_name(&mut self, name: &str, depth: u8) -> Result<Slot> {
        let id = KeyId::lookup(name);
        if let Some(id) = id {
            self.reads = self.reads.with(id);
        }
        if depth > 15 {
            return Err(Error::syntax(
                ExprKind::Key,
                name,
                0,
                "tunnel depth must be 0..15",
            ));
        }
        if let Some(s) = self.slot(name, depth) {
            return Ok(s);
        }
        if self.names.len() >= MAX_SLOTS {
            return Err(Error::Limit {
                what: "distinct flow keys",
                limit: MAX_SLOTS,
            });
        }
        let slot = Slot(u16::try_from(self.names.len()).map_err(|_| Error::Limit {
            what: "distinct flow keys",
            limit: MAX_SLOTS,
        })?);
        self.names.push(KeyName {
            name: name.into(),
            depth,
        });
        let depths = self.index.entry(name.into()).or_insert([u16::MAX; 16]);
        if let Some(d) = depths.get_mut(usize::from(depth)) {
            *d = slot.0;
        }
        // `ipfix:` names share one id; they are found by name.
        if let Some(id) = id.filter(|&id| id != KeyId::IPFIX) {
            if let Some(d) = self
                .by_id
                .get_mut(id.index())
                .and_then(|d| d.get_mut(usize::from(depth)))
            {
                *d = slot.0;
            }
        }
        self.version = self.version.wrapping_add(1);
        Ok(slot)
    }

    /// The slot of `name` at `depth`, if interned.
    pub fn slot(&self, name: &str, depth: u8) -> Option<Slot> {
        let s = *self.index.get(name)?.get(usize::from(depth))?;
        (s != u16::MAX).then_some(Slot(s))
    }

    /// The slot of key `id` at `depth`, if interned (`None` for [`KeyId::IPFIX`]: those keys
    /// are found by name).
    #[inline]
    pub fn slot_of(&self, id: KeyId, depth: u8) -> Option<Slot> {
        let s = *self.by_id.get(id.index())?.get(usize::from(depth))?;
        (s != u16::MAX).then_some(Slot(s))
    }

    /// The key a slot stands for.
    pub fn name(&self, slot: Slot) -> Option<&KeyName> {
        self.names.get(slot.index())
    }

    /// Number of interned keys.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True when nothing is interned.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Changes whenever a key is interned (invalidates [`KeyBuf`] lookup caches).
    pub fn version(&self) -> u32 {
        self.version
    }
}

/// A slot's value as the sample gave it: typed where the wire value is a number, an
/// address, a MAC or a fixed name (no text is made for those until a definition reads it as
/// text), else text in the buffer's arena.
#[derive(Clone, Copy, Debug)]
enum Val {
    /// Text in the arena (`start..end`).
    Text,
    /// An unsigned integer: text in decimal.
    U64(u64),
    /// A signed integer: text in decimal.
    I64(i64),
    /// A single-precision number: text as Rust's `Display`.
    F32(f32),
    /// An address: dotted quad or RFC 5952 text.
    Ip(IpAddr),
    /// A MAC, in transmission order: text as 12 lowercase hex digits.
    Mac([u8; 6]),
    /// A fixed name (`discard`, `ingress`, `true`).
    Name(&'static str),
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    generation: u32,
    start: u32,
    end: u32,
    val: Val,
}

const EMPTY: Entry = Entry {
    generation: 0,
    start: 0,
    end: 0,
    val: Val::Text,
};

/// Where a typed value's text was made (see `KeyBuf::made`).
#[derive(Clone, Copy, Debug)]
struct Made {
    generation: u32,
    start: u32,
    end: u32,
}

impl Made {
    const NONE: Made = Made {
        generation: 0,
        start: 0,
        end: 0,
    };
}

/// Room for the text of any typed value: at most 48 bytes (a negative `f32` subnormal, in
/// full decimal; an IPv6 address takes at most 45). Tested below.
const INLINE_TEXT: usize = 64;

/// A slot's text: borrowed from the buffer (values that came as text, fixed names) or made
/// on the stack from the typed value (numbers, addresses, MACs), so that reading a key as
/// text never allocates.
#[derive(Clone, Debug)]
pub enum KeyText<'a> {
    /// Text kept by the buffer, or a fixed name.
    Borrowed(&'a str),
    /// Text made from a typed value.
    Inline(ArrayString<INLINE_TEXT>),
}

impl core::ops::Deref for KeyText<'_> {
    type Target = str;

    fn deref(&self) -> &str {
        match self {
            KeyText::Borrowed(s) => s,
            KeyText::Inline(s) => s.as_str(),
        }
    }
}

/// The values of one sample's interned keys. Reused across samples: [`KeyBuf::reset`] is O(1).
///
/// Numbers, addresses, MACs and fixed names are stored typed: their text is made only when a
/// filter or key function reads the key as text ([`KeyBuf::text`], [`KeyBuf::write_text`]),
/// once per sample, so keys that go into flow keys, are filtered by number or address, or
/// are summed as numbers never become text.
#[derive(Debug)]
pub struct KeyBuf {
    generation: u32,
    entries: Vec<Entry>,
    text: String,
    /// Where each typed value's text was made this sample (its generation, `start..end` in
    /// `made_text`), so that several definitions reading one key make its text once.
    made: Vec<Cell<Made>>,
    made_text: RefCell<String>,
    /// Direct-mapped cache from a visitor's `&'static str` name (address, length) and depth to
    /// a slot (`u16::MAX`: not interned), for the schema version `cache_version`.
    cache: Vec<CacheLine>,
    cache_version: u32,
}

impl Default for KeyBuf {
    fn default() -> Self {
        KeyBuf {
            generation: 1,
            entries: Vec::new(),
            text: String::new(),
            made: Vec::new(),
            made_text: RefCell::new(String::new()),
            cache: vec![CacheLine::EMPTY; CACHE_LINES],
            cache_version: u32::MAX,
        }
    }
}

impl KeyBuf {
    /// Forgets all values (O(1)) and sizes the buffer for `schema`.
    pub fn reset(&mut self, schema: &Schema) {
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.entries.iter_mut().for_each(|e| *e = EMPTY);
            self.made.iter_mut().for_each(|m| *m.get_mut() = Made::NONE);
            self.generation = 1;
        }
        if self.entries.len() < schema.len() {
            self.entries.resize(schema.len(), EMPTY);
            self.made.resize(schema.len(), Cell::new(Made::NONE));
        }
        self.made_text.get_mut().clear();
        if self.cache_version != schema.version() {
            self.cache.iter_mut().for_each(|l| *l = CacheLine::EMPTY);
            self.cache_version = schema.version();
        }
        self.text.clear();
    }

    /// Sets a slot's value unless it already has one (the first occurrence of a key in a
    /// sample wins, as with repeated headers at one depth). Borrowed values (wire text, hex,
    /// lists, computed text) are copied into the buffer as text; the others stay typed.
    #[inline]
    pub fn set(&mut self, slot: Slot, value: Value<'_>) {
        if self.has(slot) {
            return;
        }
        let val = match value {
            Value::U64(v) => Val::U64(v),
            Value::I64(v) => Val::I64(v),
            Value::F32(v) => Val::F32(v),
            Value::Ip(a) => Val::Ip(a),
            Value::Mac(m) => Val::Mac(m),
            Value::Name(n) => Val::Name(n),
            Value::Bool(b) => Val::Name(if b { "true" } else { "false" }),
            _ => return self.set_as_text(slot, value),
        };
        self.store(slot, self.text.len(), val);
    }

    /// [`KeyBuf::set`] for a borrowed value, copied as text (out of line: the typed values
    /// are the common case).
    #[inline(never)]
    fn set_as_text(&mut self, slot: Slot, value: Value<'_>) {
        let start = self.text.len();
        // Writing to a String cannot fail.
        let _ = write!(self.text, "{value}");
        self.store(slot, start, Val::Text);
    }

    /// Sets a slot to text (overwrites).
    pub fn set_text(&mut self, slot: Slot, text: &str) {
        let start = self.text.len();
        self.text.push_str(text);
        self.store(slot, start, Val::Text);
    }

    fn store(&mut self, slot: Slot, start: usize, val: Val) {
        let end = self.text.len();
        if let Some(e) = self.entries.get_mut(slot.index()) {
            *e = Entry {
                generation: self.generation,
                start: start as u32,
                end: end as u32,
                val,
            };
        }
    }

    fn entry(&self, slot: Slot) -> Option<&Entry> {
        self.entries
            .get(slot.index())
            .filter(|e| e.generation == self.generation)
    }

    /// True when the slot has a value in this sample.
    pub fn has(&self, slot: Slot) -> bool {
        self.entry(slot).is_some()
    }

    /// The slot's value as text (`None`: the sample does not have the key). Typed values are
    /// written on the stack; nothing is allocated.
    pub fn text(&self, slot: Slot) -> Option<KeyText<'_>> {
        let e = self.entry(slot)?;
        Some(match e.val {
            Val::Text => KeyText::Borrowed(self.arena(e)),
            Val::Name(n) => KeyText::Borrowed(n),
            val => KeyText::Inline(self.with_made(slot, val, |t| {
                // Every typed value's text fits `INLINE_TEXT` bytes.
                ArrayString::from(t).unwrap_or_default()
            })),
        })
    }

    /// Calls `f` with the text of slot `slot`'s typed value `val`, made on the first call
    /// of the sample and kept for the next.
    fn with_made<R>(&self, slot: Slot, val: Val, f: impl FnOnce(&str) -> R) -> R {
        let (Some(cell), Ok(mut arena)) =
            (self.made.get(slot.index()), self.made_text.try_borrow_mut())
        else {
            // Not reached (the buffer is sized for the schema and no borrow outlives a call);
            // make the text on the stack.
            let mut t = ArrayString::<INLINE_TEXT>::new();
            let _ = write_val(&mut t, val);
            return f(&t);
        };
        let m = cell.get();
        if m.generation != self.generation {
            let start = arena.len();
            // Writing to a String cannot fail.
            let _ = write_val(&mut *arena, val);
            cell.set(Made {
                generation: self.generation,
                start: start as u32,
                end: arena.len() as u32,
            });
        }
        let m = cell.get();
        f(arena
            .get(m.start as usize..m.end as usize)
            .unwrap_or_default())
    }

    /// Appends the slot's text to `out` (what [`KeyBuf::text`] gives, without a copy on
    /// the way); false, with `out` unchanged, when the sample does not have the key.
    pub fn write_text(&self, slot: Slot, out: &mut String) -> bool {
        let Some(e) = self.entry(slot) else {
            return false;
        };
        match e.val {
            Val::Text => out.push_str(self.arena(e)),
            Val::Name(n) => out.push_str(n),
            val => self.with_made(slot, val, |t| out.push_str(t)),
        }
        true
    }

    /// Appends the slot's value to `out` as a stored flow-key component
    /// ([`crate::flow_key`]): numbers and addresses straight from their typed value, other
    /// values from their text. False, with `out` unchanged, when the sample lacks the key.
    #[inline]
    pub(crate) fn write_key(&self, slot: Slot, out: &mut Vec<u8>) -> bool {
        let Some(e) = self.entry(slot) else {
            return false;
        };
        match e.val {
            Val::U64(v) => crate::flow_key::push_typed_u64(out, v),
            Val::Ip(a) => crate::flow_key::push_ip(out, a),
            Val::Text => crate::flow_key::push_text(out, self.arena(e)),
            Val::Name(n) => crate::flow_key::push_text(out, n),
            val => self.with_made(slot, val, |t| crate::flow_key::push_text(out, t)),
        }
        true
    }

    fn arena(&self, e: &Entry) -> &str {
        self.text
            .get(e.start as usize..e.end as usize)
            .unwrap_or_default()
    }

    /// The slot's value when the sample gave it as an unsigned integer (its text is then its
    /// decimal); `None` for other values and missing keys.
    #[inline]
    pub(crate) fn u64(&self, slot: Slot) -> Option<u64> {
        match self.entry(slot)?.val {
            Val::U64(v) => Some(v),
            _ => None,
        }
    }

    /// The slot's value when the sample gave it as an address; `None` for other values
    /// (even text that reads as an address) and missing keys.
    #[inline]
    pub(crate) fn typed_ip(&self, slot: Slot) -> Option<IpAddr> {
        match self.entry(slot)?.val {
            Val::Ip(a) => Some(a),
            _ => None,
        }
    }

    /// The slot's value when the sample gave it as a fixed name (`discard`, `ingress`,
    /// `true`; its text is the name); `None` for other values and missing keys.
    #[inline]
    pub(crate) fn typed_name(&self, slot: Slot) -> Option<&'static str> {
        match self.entry(slot)?.val {
            Val::Name(n) => Some(n),
            _ => None,
        }
    }

    /// The slot's value as a number: the typed number, or the text parsed as one.
    pub fn num(&self, slot: Slot) -> Option<f64> {
        let e = self.entry(slot)?;
        match e.val {
            Val::U64(v) => Some(v as f64),
            Val::I64(v) => Some(v as f64),
            Val::F32(v) => Some(f64::from(v)),
            Val::Text => self.arena(e).parse().ok(),
            _ => self.text(slot)?.parse().ok(),
        }
    }

    /// The slot's value as an address: the typed address, or the text parsed as one.
    pub fn ip(&self, slot: Slot) -> Option<IpAddr> {
        let e = self.entry(slot)?;
        match e.val {
            Val::Ip(a) => Some(a),
            // Decimal numbers and 12 hex digits are never addresses.
            Val::U64(_) | Val::I64(_) | Val::Mac(_) => None,
            Val::Text => self.arena(e).parse().ok(),
            _ => self.text(slot)?.parse().ok(),
        }
    }

    /// A [`KeyVisitor`] that stores the keys `schema` interns into this buffer (producers are
    /// asked for every key: see [`KeyBuf::collector_masked`]).
    pub fn collector<'b>(&'b mut self, schema: &'b Schema) -> Collector<'b> {
        self.collector_masked(schema, KeyMask::ALL)
    }

    /// A [`KeyVisitor`] that stores the keys `schema` interns into this buffer, asking
    /// producers for the keys of `mask` only.
    pub fn collector_masked<'b>(&'b mut self, schema: &'b Schema, mask: KeyMask) -> Collector<'b> {
        Collector {
            schema,
            buf: self,
            mask,
        }
    }

    #[inline]
    fn lookup(&mut self, schema: &Schema, name: &'static str, depth: u8) -> Option<Slot> {
        let ptr = name.as_ptr() as usize;
        let tag = (name.len() as u32) << 8 | u32::from(depth);
        // Fibonacci hashing of the address (string literals sit close together), depth mixed in.
        let h = ((ptr as u64) ^ (u64::from(depth) << 40)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let i = (h >> 54) as usize % CACHE_LINES;
        if let Some(l) = self.cache.get(i) {
            if l.ptr == ptr && l.tag == tag {
                return (l.slot != u16::MAX).then_some(Slot(l.slot));
            }
        }
        let s = schema.slot(name, depth);
        if let Some(l) = self.cache.get_mut(i) {
            *l = CacheLine {
                ptr,
                tag,
                slot: s.map_or(u16::MAX, |s| s.0),
            };
        }
        s
    }
}

/// Lines of the [`KeyBuf`] name cache (a power of two well above the ~100 key names).
const CACHE_LINES: usize = 1024;

/// 16 bytes: the name's address, its length and depth (`len << 8 | depth`), the slot.
#[derive(Clone, Copy, Debug)]
struct CacheLine {
    ptr: usize,
    tag: u32,
    slot: u16,
}

impl CacheLine {
    const EMPTY: CacheLine = CacheLine {
        ptr: 0,
        tag: u32::MAX,
        slot: u16::MAX,
    };
}

/// Writes a typed value's text (as [`Value`]'s `Display`: decimal integers, dotted-quad or
/// RFC 5952 addresses, MACs as 12 lowercase hex digits).
fn write_val(out: &mut impl Write, val: Val) -> fmt::Result {
    match val {
        Val::U64(v) => push_u64(out, v),
        Val::I64(v) => write!(out, "{v}"),
        Val::F32(v) => write!(out, "{v}"),
        Val::Ip(IpAddr::V4(a)) => push_ipv4(out, a.octets()),
        Val::Ip(a) => write!(out, "{a}"),
        Val::Mac(m) => {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            let mut b = [0u8; 12];
            for (pair, byte) in b.chunks_exact_mut(2).zip(m) {
                if let [hi, lo] = pair {
                    *hi = HEX.get(usize::from(byte >> 4)).copied().unwrap_or(b'0');
                    *lo = HEX.get(usize::from(byte & 0xf)).copied().unwrap_or(b'0');
                }
            }
            out.write_str(ascii(&b))
        }
        Val::Name(n) => out.write_str(n),
        // Text lives in the arena; callers handle it.
        Val::Text => Ok(()),
    }
}

/// Appends `v` in decimal (what `Display` gives, without the formatting machinery): the
/// digits are made on the stack and appended in one copy.
pub(crate) fn push_u64(s: &mut impl Write, v: u64) -> fmt::Result {
    let mut buf = [0u8; 20];
    let i = digits(&mut buf, v);
    s.write_str(ascii(buf.get(i..).unwrap_or(&[])))
}

/// Writes `v`'s decimal digits at the end of `buf`; returns where they start.
fn digits(buf: &mut [u8; 20], mut v: u64) -> usize {
    let mut i = buf.len();
    loop {
        i -= 1;
        if let Some(b) = buf.get_mut(i) {
            *b = b'0' + (v % 10) as u8;
        }
        v /= 10;
        if v == 0 || i == 0 {
            return i;
        }
    }
}

/// ASCII bytes as text (they always are here; anything else would be dropped).
fn ascii(b: &[u8]) -> &str {
    core::str::from_utf8(b).unwrap_or_default()
}

/// Appends a dotted-quad IPv4 address (as `Ipv4Addr`'s `Display`), in one copy.
pub(crate) fn push_ipv4(s: &mut impl Write, o: [u8; 4]) -> fmt::Result {
    let mut out = [0u8; 15];
    let mut n = 0;
    for (i, b) in o.into_iter().enumerate() {
        if i > 0 {
            if let Some(c) = out.get_mut(n) {
                *c = b'.';
            }
            n += 1;
        }
        let (h, t, u) = (b / 100, b / 10 % 10, b % 10);
        for (d, show) in [(h, h > 0), (t, b >= 10), (u, true)] {
            if show {
                if let Some(c) = out.get_mut(n) {
                    *c = b'0' + d;
                }
                n += 1;
            }
        }
    }
    s.write_str(ascii(out.get(..n).unwrap_or(&[])))
}

/// Stores visited keys that the schema interns (see [`KeyBuf::collector`]).
pub struct Collector<'b> {
    schema: &'b Schema,
    buf: &'b mut KeyBuf,
    mask: KeyMask,
}

impl KeyVisitor for Collector<'_> {
    #[inline]
    fn key(&mut self, name: &'static str, depth: u8, value: Value<'_>) {
        if let Some(slot) = self.buf.lookup(self.schema, name, depth) {
            self.buf.set(slot, value);
        }
    }

    #[inline]
    fn mask(&self) -> KeyMask {
        self.mask
    }

    #[inline]
    fn key_id(&mut self, id: KeyId, depth: u8, value: Value<'_>) {
        if let Some(slot) = self.schema.slot_of(id, depth) {
            self.buf.set(slot, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_formatting_matches_display() {
        for v in [0u64, 7, 10, 99, 100, 65535, u64::MAX] {
            let mut s = String::new();
            push_u64(&mut s, v).unwrap();
            assert_eq!(s, v.to_string());
        }
        for o in [
            [0, 0, 0, 0],
            [10, 0, 0, 1],
            [255, 255, 255, 255],
            [192, 168, 100, 9],
        ] {
            let mut s = String::new();
            push_ipv4(&mut s, o).unwrap();
            assert_eq!(s, std::net::Ipv4Addr::from(o).to_string());
        }
        for b in 0..=255u8 {
            let o = [b, 0, 255, b.wrapping_mul(7)];
            let mut s = String::from("x");
            push_ipv4(&mut s, o).unwrap();
            assert_eq!(s, format!("x{}", std::net::Ipv4Addr::from(o)));
        }
    }

    #[test]
    fn key_names_parse_with_depth() {
        let k = KeyName::parse("ipsource.1").unwrap();
        assert_eq!((&*k.name, k.depth), ("ipsource", 1));
        assert_eq!(k.to_string(), "ipsource.1");
        assert_eq!(KeyName::parse("ipfix:flowEndReason").unwrap().depth, 0);
        let r = KeyName::parse("ipsource.0");
        assert!(
            matches!(&r, Err(Error::Syntax { kind: ExprKind::Key, input, offset: 9, reason }) if input == "ipsource.0" && reason.contains("tunnel depth must be 1..15")),
            "{r:?}"
        );
        let r = KeyName::parse("ip source");
        assert!(
            matches!(&r, Err(Error::Syntax { kind: ExprKind::Key, input, offset: 2, reason }) if input == "ip source" && reason.contains("key names are letters")),
            "{r:?}"
        );
        let r = KeyName::parse("");
        assert!(
            matches!(&r, Err(Error::Syntax { kind: ExprKind::Key, input, offset: 0, reason }) if input.is_empty() && reason.contains("empty key name")),
            "{r:?}"
        );
    }

    /// The longest texts of typed values fit [`INLINE_TEXT`] and read as `Display` writes
    /// them, whether read as text once or twice in a sample.
    #[test]
    fn typed_values_read_as_their_display_text() {
        let mut s = Schema::default();
        let slot = s.intern("x").unwrap();
        let mut buf = KeyBuf::default();
        let v6: IpAddr = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"
            .parse()
            .unwrap();
        let cases: Vec<(Value<'_>, String)> = vec![
            (Value::F32(-1e-45), format!("{}", -1e-45f32)),
            (Value::F32(f32::MIN), format!("{}", f32::MIN)),
            (
                Value::F32(-f32::MIN_POSITIVE),
                format!("{}", -f32::MIN_POSITIVE),
            ),
            (Value::I64(i64::MIN), i64::MIN.to_string()),
            (Value::U64(u64::MAX), u64::MAX.to_string()),
            (Value::Ip(v6), v6.to_string()),
            (
                Value::Mac([0x0a, 0xb0, 0, 0xff, 1, 2]),
                "0ab000ff0102".to_string(),
            ),
            (Value::Bool(false), "false".to_string()),
        ];
        for (v, want) in cases {
            buf.reset(&s);
            buf.set(slot, v);
            for _ in 0..2 {
                assert_eq!(buf.text(slot).as_deref(), Some(want.as_str()), "{v:?}");
                let mut out = String::from("k=");
                assert!(buf.write_text(slot, &mut out));
                assert_eq!(out, format!("k={want}"));
            }
        }
    }

    #[test]
    fn buffer_keeps_first_value_and_resets() {
        let mut s = Schema::default();
        let a = s.intern("ipsource").unwrap();
        let b = s.intern("ipsource.1").unwrap();
        assert_eq!(s.intern("ipsource").unwrap(), a);
        let mut buf = KeyBuf::default();
        buf.reset(&s);
        {
            let mut c = buf.collector(&s);
            c.key("ipsource", 0, Value::Ip("10.0.0.1".parse().unwrap()));
            c.key("ipsource", 0, Value::Ip("10.0.0.9".parse().unwrap()));
            c.key("ipdestination", 0, Value::Ip("10.0.0.2".parse().unwrap()));
        }
        assert_eq!(buf.text(a).as_deref(), Some("10.0.0.1"));
        assert_eq!(buf.ip(a), Some("10.0.0.1".parse().unwrap()));
        assert!(buf.text(b).is_none());
        buf.reset(&s);
        assert!(buf.text(a).is_none());
    }
}
