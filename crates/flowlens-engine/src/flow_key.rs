//! A flow key as a table stores it: its components typed and tagged, hashed and compared as
//! bytes. The text form sFlow-RT shows (the components' texts joined by the definition's
//! separator, `fs`) is made only when a query answers or an event or flow record is raised.
//!
//! Each component is one of:
//!
//! | tag | bytes after it | text |
//! |---|---|---|
//! | `0x01` | 4, network byte order | IPv4 dotted quad |
//! | `0x02` | 16, network byte order | IPv6 address (RFC 5952, Rust's `Ipv6Addr` form) |
//! | `0x10 + n` (n = 0..=8) | n, big-endian, no leading zero byte | unsigned decimal |
//! | `0x03` | length (LEB128), then UTF-8 | the text |
//!
//! The encoding is a function of the component's text alone: a text that is a canonical
//! decimal (no leading zero, below 2^64), dotted quad or IPv6 address is stored as the
//! number or address, whether the sample gave it typed ([`push_typed_u64`], [`push_ip`]) or
//! as text ([`push_text`]). So a key given as text (`/flowvalue`, `flowValue()`) finds its
//! entry by [`from_text`], and two keys are equal exactly when their texts are.

use core::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use arrayvec::ArrayString;

use crate::keybuf::{push_ipv4, push_u64};

const TAG_V4: u8 = 0x01;
const TAG_V6: u8 = 0x02;
const TAG_TEXT: u8 = 0x03;
const TAG_U64: u8 = 0x10;

/// Appends an unsigned integer component.
#[inline]
pub(crate) fn push_typed_u64(out: &mut Vec<u8>, v: u64) {
    let n = 8 - (v.leading_zeros() / 8) as usize;
    // Tag and bytes in one append: `b[1..]` is the big-endian value, `b[8 - n]` one of its
    // leading zero bytes (or the spare first byte when n = 8), where the tag goes.
    let mut b = [0u8; 9];
    if let Some(be) = b.get_mut(1..) {
        be.copy_from_slice(&v.to_be_bytes());
    }
    if let Some(t) = b.get_mut(8 - n) {
        *t = TAG_U64 + n as u8;
    }
    out.extend_from_slice(b.get(8 - n..).unwrap_or_default());
}

/// Appends an address component.
#[inline]
pub(crate) fn push_ip(out: &mut Vec<u8>, a: IpAddr) {
    match a {
        IpAddr::V4(a) => {
            let [a0, a1, a2, a3] = a.octets();
            out.extend_from_slice(&[TAG_V4, a0, a1, a2, a3]);
        }
        IpAddr::V6(a) => {
            let mut b = [TAG_V6; 17];
            if let Some(o) = b.get_mut(1..) {
                o.copy_from_slice(&a.octets());
            }
            out.extend_from_slice(&b);
        }
    }
}

/// Appends a component given as text, stored as a number or an address when the text is the
/// canonical form of one (see the module docs).
pub(crate) fn push_text(out: &mut Vec<u8>, t: &str) {
    if let Some(v) = canonical_u64(t) {
        return push_typed_u64(out, v);
    }
    if let Some(a) = canonical_ip(t) {
        return push_ip(out, a);
    }
    out.push(TAG_TEXT);
    let mut n = t.len();
    loop {
        let low = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(low);
            break;
        }
        out.push(low | 0x80);
    }
    out.extend_from_slice(t.as_bytes());
}

/// `t` as a number when it is a canonical decimal: digits only, no leading zero, < 2^64.
pub(crate) fn canonical_u64(t: &str) -> Option<u64> {
    let b = t.as_bytes();
    match b {
        [] => None,
        [b'0'] => Some(0),
        [b'0', ..] => None,
        _ if b.len() <= 20 && b.iter().all(u8::is_ascii_digit) => t.parse().ok(),
        _ => None,
    }
}

/// `t` as an address when it is one written as this module writes it back.
fn canonical_ip(t: &str) -> Option<IpAddr> {
    let b = t.as_bytes();
    let a: IpAddr =
        if (7..=15).contains(&b.len()) && b.iter().all(|c| c.is_ascii_digit() || *c == b'.') {
            IpAddr::V4(t.parse::<Ipv4Addr>().ok()?)
        } else if (2..=45).contains(&b.len()) && b.contains(&b':') {
            IpAddr::V6(t.parse::<Ipv6Addr>().ok()?)
        } else {
            return None;
        };
    let mut back = ArrayString::<48>::new();
    write!(back, "{a}").ok()?;
    (back.as_str() == t).then_some(a)
}

/// One decoded component.
enum Part<'k> {
    V4([u8; 4]),
    V6([u8; 16]),
    U64(u64),
    Text(&'k [u8]),
}

/// The components of a stored key, in order; stops at the first malformed one (never made
/// by this module).
struct Parts<'k>(&'k [u8]);

impl<'k> Iterator for Parts<'k> {
    type Item = Part<'k>;

    fn next(&mut self) -> Option<Part<'k>> {
        let (&tag, rest) = self.0.split_first()?;
        let (part, rest) = match tag {
            TAG_V4 => {
                let (a, rest) = rest.split_first_chunk::<4>()?;
                (Part::V4(*a), rest)
            }
            TAG_V6 => {
                let (a, rest) = rest.split_first_chunk::<16>()?;
                (Part::V6(*a), rest)
            }
            TAG_TEXT => {
                let (mut n, mut shift, mut rest) = (0usize, 0u32, rest);
                loop {
                    let (&b, r) = rest.split_first()?;
                    rest = r;
                    n |= usize::from(b & 0x7f).checked_shl(shift)?;
                    shift += 7;
                    if b & 0x80 == 0 {
                        break;
                    }
                }
                let text = rest.get(..n)?;
                (Part::Text(text), rest.get(n..)?)
            }
            t if (TAG_U64..=TAG_U64 + 8).contains(&t) => {
                let n = usize::from(t - TAG_U64);
                let bytes = rest.get(..n)?;
                let v = bytes.iter().fold(0u64, |v, b| v << 8 | u64::from(*b));
                (Part::U64(v), rest.get(n..)?)
            }
            _ => return None,
        };
        self.0 = rest;
        Some(part)
    }
}

/// Appends the text of stored key `key` (its components' texts joined by `fs`) to `out`.
pub(crate) fn write_text(key: &[u8], fs: &str, out: &mut String) {
    for (i, p) in Parts(key).enumerate() {
        if i > 0 {
            out.push_str(fs);
        }
        // Writing to a String cannot fail.
        let _ = match p {
            Part::V4(a) => push_ipv4(out, a),
            Part::V6(a) => write!(out, "{}", Ipv6Addr::from(a)),
            Part::U64(v) => push_u64(out, v),
            Part::Text(t) => {
                out.push_str(core::str::from_utf8(t).unwrap_or_default());
                Ok(())
            }
        };
    }
}

/// The text of stored key `key` (see [`write_text`]).
pub(crate) fn text(key: &[u8], fs: &str) -> String {
    let mut s = String::new();
    write_text(key, fs, &mut s);
    s
}

/// The stored form of a key given as text, for a definition of `n_keys` keys joined by `fs`;
/// `None` when the text cannot be split unambiguously (a component contains `fs`, or `fs` is
/// empty): the caller then compares texts.
pub(crate) fn from_text(t: &str, fs: &str, n_keys: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(t.len() + n_keys);
    if fs.is_empty() || n_keys <= 1 {
        if n_keys != 1 {
            return None;
        }
        push_text(&mut out, t);
        return Some(out);
    }
    let mut n = 0;
    for part in t.split(fs) {
        n += 1;
        push_text(&mut out, part);
    }
    (n == n_keys).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(parts: &[&str]) -> Vec<u8> {
        let mut v = Vec::new();
        for p in parts {
            push_text(&mut v, p);
        }
        v
    }

    #[test]
    fn text_round_trips_and_typed_equals_text() {
        let parts = [
            "10.0.0.1",
            "0",
            "443",
            "18446744073709551615",
            "18446744073709551616",
            "007",
            "fe80::1",
            "::ffff:1.2.3.4",
            "FE80::1",
            "01.2.3.4",
            "discard",
            "",
            "0a0b0c0d0e0f",
            "a,b",
            &"x".repeat(300),
        ];
        let key = enc(&parts);
        assert_eq!(text(&key, ","), parts.join(","));
        let mut typed = Vec::new();
        push_ip(&mut typed, "10.0.0.1".parse().unwrap());
        push_typed_u64(&mut typed, 443);
        push_ip(&mut typed, "fe80::1".parse().unwrap());
        assert_eq!(typed, enc(&["10.0.0.1", "443", "fe80::1"]));
        // Forms that are not canonical stay text.
        for t in ["007", "FE80::1", "01.2.3.4", "18446744073709551616"] {
            assert_eq!(enc(&[t]).first(), Some(&TAG_TEXT), "{t}");
        }
    }

    #[test]
    fn from_text_finds_the_stored_key_or_says_it_cannot() {
        let key = enc(&["10.0.0.1", "6", "x"]);
        assert_eq!(from_text("10.0.0.1,6,x", ",", 3), Some(key));
        assert_eq!(from_text("10.0.0.1,6,x,y", ",", 3), None);
        assert_eq!(from_text("a", "", 1), Some(enc(&["a"])));
        assert_eq!(from_text("a", "", 2), None);
    }

    /// Texts made of digits, dots, colons, hex letters and the separator, from a fixed
    /// pseudo-random sequence: each key's text comes back as given and is found from its text
    /// whenever no component holds the separator. Typed numbers and addresses are stored as
    /// their texts are.
    #[test]
    fn generated_texts_round_trip() {
        const ALPHABET: &[u8] = b"0123456789.:abcdefABz,";
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for _ in 0..20_000 {
            let n = 1 + next(3) as usize;
            let parts: Vec<String> = (0..n)
                .map(|_| {
                    (0..next(18))
                        .map(|_| char::from(ALPHABET[next(ALPHABET.len() as u64) as usize]))
                        .collect()
                })
                .collect();
            let joined = parts.join(",");
            let key = enc(&parts.iter().map(String::as_str).collect::<Vec<_>>());
            assert_eq!(text(&key, ","), joined);
            if parts.iter().all(|p| !p.contains(',')) {
                assert_eq!(from_text(&joined, ",", n).as_ref(), Some(&key), "{joined}");
            }
            let v = next(u64::MAX) >> next(64);
            let mut typed = Vec::new();
            push_typed_u64(&mut typed, v);
            assert_eq!(typed, enc(&[&v.to_string()]), "{v}");
            let v4 = IpAddr::V4(Ipv4Addr::from(v as u32));
            let v6 = IpAddr::V6(Ipv6Addr::from(u128::from(v) << next(100)));
            for a in [v4, v6] {
                typed.clear();
                push_ip(&mut typed, a);
                assert_eq!(typed, enc(&[&a.to_string()]), "{a}");
            }
        }
    }
}
