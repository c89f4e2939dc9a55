//! Infallible big-endian field reads for header views.
//!
//! Views are built by checked constructors that guarantee their slice is long enough, so these
//! reads never hit the fallback; returning 0 instead of panicking keeps accessors panic-free by
//! construction rather than by argument.

use crate::error::{Error, Layer};

/// Byte `i`, or 0 if out of range.
#[inline]
pub(crate) fn u8_at(b: &[u8], i: usize) -> u8 {
    b.get(i).copied().unwrap_or(0)
}

/// Big-endian `u16` at `i`, or 0 if out of range.
#[inline]
pub(crate) fn u16_at(b: &[u8], i: usize) -> u16 {
    match b.get(i..i.wrapping_add(2)) {
        Some(&[x, y]) => u16::from_be_bytes([x, y]),
        _ => 0,
    }
}

/// Big-endian 24-bit value at `i`, or 0 if out of range.
#[inline]
pub(crate) fn u24_at(b: &[u8], i: usize) -> u32 {
    match b.get(i..i.wrapping_add(3)) {
        Some(&[x, y, z]) => u32::from_be_bytes([0, x, y, z]),
        _ => 0,
    }
}

/// Big-endian `u32` at `i`, or 0 if out of range.
#[inline]
pub(crate) fn u32_at(b: &[u8], i: usize) -> u32 {
    match b.get(i..i.wrapping_add(4)) {
        Some(&[w, x, y, z]) => u32::from_be_bytes([w, x, y, z]),
        _ => 0,
    }
}

/// `N` bytes at `i` as an array, or zeros if out of range.
#[inline]
pub(crate) fn array_at<const N: usize>(b: &[u8], i: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(s) = b.get(i..i.wrapping_add(N)) {
        out.copy_from_slice(s);
    }
    out
}

/// The first `n` bytes of `buf`, or a truncation error (offset 0, relative to `buf`).
#[inline]
pub(crate) fn take(buf: &[u8], n: usize, layer: Layer) -> Result<&[u8], Error> {
    buf.get(..n).ok_or(Error::Truncated {
        layer,
        offset: 0,
        needed: n,
        available: buf.len(),
    })
}

/// An invalid-field error at relative offset `offset`.
#[inline]
pub(crate) const fn invalid(layer: Layer, offset: usize, field: &'static str, value: u64) -> Error {
    Error::Invalid {
        layer,
        offset,
        field,
        value,
    }
}

/// An unsupported-value error at relative offset `offset`.
#[inline]
pub(crate) const fn unsupported(
    layer: Layer,
    offset: usize,
    field: &'static str,
    value: u64,
) -> Error {
    Error::Unsupported {
        layer,
        offset,
        field,
        value,
    }
}

/// Helpers for the views' unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use std::format;
    use std::string::String;
    use std::vec::Vec;

    use crate::value::{FieldVisitor, Value};

    /// Collects `name=value` pairs in visit order.
    pub(crate) struct Fields(Vec<String>);

    impl FieldVisitor for Fields {
        fn field(&mut self, name: &'static str, value: Value<'_>) {
            self.0.push(format!("{name}={value}"));
        }
    }

    /// Every field `visit` reports, rendered as `name=value` (the `flowlens decode` text form),
    /// e.g. `visited(|v| h.visit_fields(v))`.
    pub(crate) fn visited(visit: impl FnOnce(&mut Fields)) -> Vec<String> {
        let mut f = Fields(Vec::new());
        visit(&mut f);
        f.0
    }
}
