//! Decoded field values and the visitor traits that expose them.
//!
//! Decoders in this crate are zero-copy views; they do not build maps of fields. Instead each
//! decoded structure offers `visit_fields(&self, &mut impl FieldVisitor)` (and the packet walk
//! offers `visit_keys`), calling the visitor once per field with a borrowed [`Value`]. Printers,
//! the flow engine and tests implement the visitors; nothing here allocates.

use core::fmt;
use core::net::IpAddr;

use crate::key_id::{KeyId, KeyMask};

/// One decoded value, borrowed from the input where it is bytes.
#[derive(Clone, Copy)]
#[non_exhaustive]
pub enum Value<'a> {
    /// A flag.
    Bool(bool),
    /// An unsigned integer of up to 64 bits (counters, ids, ports, lengths).
    U64(u64),
    /// A signed integer (e.g. sFlow `ifDirection`-style enums never need it, but Host sFlow
    /// memory and some MIB-II counters are signed in their MIBs).
    I64(i64),
    /// An IEEE 754 single-precision number (Host sFlow load averages).
    F32(f32),
    /// An IPv4 or IPv6 address.
    Ip(IpAddr),
    /// A 48-bit MAC address, in transmission order.
    Mac([u8; 6]),
    /// Text taken from the wire (XDR `string`, URLs, user names). May be invalid UTF-8; printers
    /// render it lossily with control characters escaped.
    Str(&'a [u8]),
    /// Opaque bytes, rendered as lowercase hex.
    Hex(&'a [u8]),
    /// An XDR array of big-endian `u32` (AS path segments, communities, MPLS label stacks).
    /// The slice length is a multiple of 4.
    U32List(&'a [u8]),
    /// A symbolic value from a fixed vocabulary (e.g. `"discard"`, `"multiple"`).
    Name(&'static str),
    /// A computed textual value (a DNS name, a TCP flag bit string) formatted on demand.
    Display(&'a dyn fmt::Display),
}

impl fmt::Debug for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bool(b) => write!(f, "Bool({b})"),
            Value::U64(v) => write!(f, "U64({v})"),
            Value::I64(v) => write!(f, "I64({v})"),
            Value::F32(v) => write!(f, "F32({v})"),
            Value::Ip(a) => write!(f, "Ip({a})"),
            Value::Mac(_) => write!(f, "Mac({self})"),
            Value::Str(_) => write!(f, "Str({self})"),
            Value::Hex(_) => write!(f, "Hex({self})"),
            Value::U32List(_) => write!(f, "U32List({self})"),
            Value::Name(n) => write!(f, "Name({n})"),
            Value::Display(d) => write!(f, "Display({d})"),
        }
    }
}

/// Text form used by `flowlens decode`: integers in decimal, MACs as 12 lowercase hex digits
/// without separators (sFlow-RT's `macsource` form), lists space-separated, hex lowercase.
impl fmt::Display for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Value::Bool(b) => write!(f, "{b}"),
            Value::U64(v) => write!(f, "{v}"),
            Value::I64(v) => write!(f, "{v}"),
            Value::F32(v) => write!(f, "{v}"),
            Value::Ip(a) => write!(f, "{a}"),
            Value::Mac(m) => {
                for b in m {
                    write!(f, "{b:02x}")?;
                }
                Ok(())
            }
            Value::Str(s) => write_escaped(f, s),
            Value::Hex(s) => {
                for b in s {
                    write!(f, "{b:02x}")?;
                }
                Ok(())
            }
            Value::U32List(s) => {
                for (i, c) in s.chunks_exact(4).enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    let word: [u8; 4] = c.try_into().map_err(|_| fmt::Error)?;
                    write!(f, "{}", u32::from_be_bytes(word))?;
                }
                Ok(())
            }
            Value::Name(n) => f.write_str(n),
            Value::Display(d) => d.fmt(f),
        }
    }
}

/// Writes wire text: printable ASCII as is, everything else as `\xNN`.
fn write_escaped(f: &mut fmt::Formatter<'_>, s: &[u8]) -> fmt::Result {
    for &b in s {
        if (0x20..0x7f).contains(&b) && b != b'\\' {
            write!(f, "{}", char::from(b))?;
        } else {
            write!(f, "\\x{b:02x}")?;
        }
    }
    Ok(())
}

/// Receives the fields of one decoded structure, in wire order.
///
/// `name` is the field's name as its specification spells it (sFlow structure member names such
/// as `ifInOctets` or `sampling_rate`; RFC field names for packet headers).
pub trait FieldVisitor {
    /// Called once per field.
    fn field(&mut self, name: &'static str, value: Value<'_>);
}

/// Receives the flow keys of one packet, in sFlow-RT naming (`ipsource`, `tcpflags`, ...).
///
/// `depth` is the tunnel nesting level: 0 for the outermost headers, 1 for the headers inside
/// the first tunnel, and so on. Printers render a key at depth `d > 0` as `name.d`, which is
/// sFlow-RT's convention (`ipsource.1`).
///
/// Producers ask [`KeyVisitor::mask`] once per packet or record and deliver only the keys in
/// it, by id through [`KeyVisitor::key_id`] (keys of the fixed vocabulary) or by name through
/// [`KeyVisitor::key`] (`ipfix:<name>` keys, when the mask has [`KeyId::IPFIX`]). A visitor
/// that overrides neither sees every key by name, as before masks existed.
pub trait KeyVisitor {
    /// Called once per key present in the packet (by name).
    fn key(&mut self, name: &'static str, depth: u8, value: Value<'_>);

    /// The keys this visitor reads; producers skip the others. Default: all.
    fn mask(&self) -> KeyMask {
        KeyMask::ALL
    }

    /// Called once per key of the fixed vocabulary present in the packet. Default: forwards
    /// to [`KeyVisitor::key`] with the id's name.
    #[inline]
    fn key_id(&mut self, id: KeyId, depth: u8, value: Value<'_>) {
        self.key(id.name(), depth, value);
    }
}

/// A producer's view of a [`KeyVisitor`]: the visitor's mask read once, keys outside it
/// dropped before they reach the visitor. Wrap the visitor at a producer's entry point and
/// call [`Masked::emit`]; a `Masked` is itself a visitor, so producers nest.
pub struct Masked<'v, V: ?Sized> {
    v: &'v mut V,
    mask: KeyMask,
}

impl<'v, V: KeyVisitor + ?Sized> Masked<'v, V> {
    /// Wraps `v`, reading its mask.
    #[inline]
    pub fn new(v: &'v mut V) -> Self {
        let mask = v.mask();
        Masked { v, mask }
    }

    /// True when the visitor reads `id`.
    #[inline]
    pub fn wants(&self, id: KeyId) -> bool {
        self.mask.has(id)
    }

    /// True when the visitor reads any key of `m`.
    #[inline]
    pub fn wants_any(&self, m: KeyMask) -> bool {
        self.mask.intersects(m)
    }

    /// Delivers `id` at `depth` when the visitor reads it.
    #[inline]
    pub fn emit(&mut self, id: KeyId, depth: u8, value: Value<'_>) {
        if self.mask.has(id) {
            self.v.key_id(id, depth, value);
        }
    }

    /// Delivers an `ipfix:<name>` key when the visitor reads [`KeyId::IPFIX`].
    #[inline]
    pub fn emit_ipfix(&mut self, name: &'static str, depth: u8, value: Value<'_>) {
        if self.mask.has(KeyId::IPFIX) {
            self.v.key(name, depth, value);
        }
    }
}

impl<V: KeyVisitor + ?Sized> KeyVisitor for Masked<'_, V> {
    fn key(&mut self, name: &'static str, depth: u8, value: Value<'_>) {
        match KeyId::lookup(name) {
            Some(id) if !self.mask.has(id) => {}
            _ => self.v.key(name, depth, value),
        }
    }

    #[inline]
    fn mask(&self) -> KeyMask {
        self.mask
    }

    #[inline]
    fn key_id(&mut self, id: KeyId, depth: u8, value: Value<'_>) {
        self.emit(id, depth, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Buf {
        out: [u8; 64],
        len: usize,
    }
    impl fmt::Write for Buf {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            let end = self.len + s.len();
            self.out
                .get_mut(self.len..end)
                .ok_or(fmt::Error)?
                .copy_from_slice(s.as_bytes());
            self.len = end;
            Ok(())
        }
    }
    fn render(v: Value<'_>) -> Buf {
        let mut b = Buf {
            out: [0; 64],
            len: 0,
        };
        fmt::write(&mut b, format_args!("{v}")).ok();
        b
    }

    #[test]
    fn renders_values() {
        let b = render(Value::Mac([0, 0x1b, 0x21, 0xaa, 0xbb, 0x0c]));
        assert_eq!(&b.out[..b.len], b"001b21aabb0c");
        let b = render(Value::U32List(&[0, 0, 0xfd, 0xe8, 0, 0, 0, 7]));
        assert_eq!(&b.out[..b.len], b"65000 7");
        let b = render(Value::Str(b"a\nb"));
        assert_eq!(&b.out[..b.len], b"a\\x0ab");
    }
}
