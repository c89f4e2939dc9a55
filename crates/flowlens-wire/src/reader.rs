//! A bounds-checked big-endian cursor over a byte slice.
//!
//! Every multi-byte read is network byte order (big-endian), as in XDR (RFC 4506, used by sFlow)
//! and in every IETF packet header. Reads never panic: running past the end yields
//! [`Error::Truncated`] naming the reader's layer and the absolute offset of the failed read.

use crate::error::{Error, Layer, Result};

/// Bounds-checked cursor. `base` is the absolute offset of `buf[0]` in the outermost input, so
/// errors raised by a reader over a sub-slice still point into the original buffer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
    layer: Layer,
}

impl<'a> Reader<'a> {
    /// A reader over `buf`, whose first byte sits at absolute offset `base`.
    pub(crate) const fn new(buf: &'a [u8], base: usize, layer: Layer) -> Self {
        Reader {
            buf,
            pos: 0,
            base,
            layer,
        }
    }

    /// Bytes not yet read.
    pub(crate) const fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// Absolute offset of the next byte to read.
    pub(crate) const fn offset(&self) -> usize {
        self.base.saturating_add(self.pos)
    }

    /// The unread rest of the buffer.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }

    /// The same position, errors attributed to `layer` from now on.
    pub(crate) const fn with_layer(mut self, layer: Layer) -> Self {
        self.layer = layer;
        self
    }

    /// A truncation error for a read of `needed` bytes at the current position.
    pub(crate) const fn truncated(&self, needed: usize) -> Error {
        Error::Truncated {
            layer: self.layer,
            offset: self.offset(),
            needed,
            available: self.remaining(),
        }
    }

    /// An invalid-field error at absolute offset `offset`.
    pub(crate) const fn invalid_at(&self, offset: usize, field: &'static str, value: u64) -> Error {
        Error::Invalid {
            layer: self.layer,
            offset,
            field,
            value,
        }
    }

    /// An unsupported-value error at absolute offset `offset`.
    pub(crate) const fn unsupported_at(
        &self,
        offset: usize,
        field: &'static str,
        value: u64,
    ) -> Error {
        Error::Unsupported {
            layer: self.layer,
            offset,
            field,
            value,
        }
    }

    /// Takes the next `n` bytes.
    ///
    /// # Errors
    /// [`Error::Truncated`] if fewer than `n` bytes remain.
    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).ok_or_else(|| self.truncated(n))?;
        let out = self
            .buf
            .get(self.pos..end)
            .ok_or_else(|| self.truncated(n))?;
        self.pos = end;
        Ok(out)
    }

    /// Takes the next `N` bytes as an array.
    ///
    /// # Errors
    /// [`Error::Truncated`] if fewer than `N` bytes remain.
    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let b = self.bytes(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(b);
        Ok(out)
    }

    /// Skips `n` bytes.
    ///
    /// # Errors
    /// [`Error::Truncated`] if fewer than `n` bytes remain.
    pub(crate) fn skip(&mut self, n: usize) -> Result<()> {
        self.bytes(n).map(|_| ())
    }

    /// Reads a big-endian `u32`.
    ///
    /// # Errors
    /// [`Error::Truncated`] if fewer than 4 bytes remain.
    pub(crate) fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    /// Reads `N` consecutive big-endian `u32`s (a fixed XDR header) with one bounds check.
    ///
    /// # Errors
    /// If fewer than `4 × N` bytes remain, the [`Error::Truncated`] that `N` calls of
    /// [`Reader::u32`] would have raised: at the first word that does not fit, needing 4
    /// bytes. The reader does not move.
    #[inline]
    pub(crate) fn words<const N: usize>(&mut self) -> Result<[u32; N]> {
        let Some(b) = self.buf.get(self.pos..).and_then(|b| b.get(..N * 4)) else {
            // The error of the first word that does not fit: at the last whole word.
            let mut at = *self;
            at.pos += self.remaining() / 4 * 4;
            return Err(at.truncated(4));
        };
        let mut out = [0u32; N];
        for (w, c) in out.iter_mut().zip(b.chunks_exact(4)) {
            *w = c.try_into().map_or(0, u32::from_be_bytes);
        }
        self.pos += N * 4;
        Ok(out)
    }

    /// Reads a big-endian `u64`.
    ///
    /// # Errors
    /// [`Error::Truncated`] if fewer than 8 bytes remain.
    pub(crate) fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// Reads a big-endian IEEE 754 `f32` (XDR `float`).
    ///
    /// # Errors
    /// [`Error::Truncated`] if fewer than 4 bytes remain.
    pub(crate) fn f32(&mut self) -> Result<f32> {
        Ok(f32::from_bits(self.u32()?))
    }

    /// Reads an XDR variable-length opaque (RFC 4506 section 4.10): a `u32` length, the bytes,
    /// then zero to three bytes of padding to a multiple of four. `max` caps the length.
    ///
    /// # Errors
    /// [`Error::Invalid`] if the length exceeds `max`; [`Error::Truncated`] if the data or its
    /// padding runs past the end.
    pub(crate) fn xdr_opaque(&mut self, field: &'static str, max: usize) -> Result<&'a [u8]> {
        let at = self.offset();
        let len = self.u32()?;
        let n = usize::try_from(len).map_err(|_| self.invalid_at(at, field, u64::from(len)))?;
        if n > max {
            return Err(self.invalid_at(at, field, u64::from(len)));
        }
        let data = self.bytes(n)?;
        self.skip(xdr_pad(n))?;
        Ok(data)
    }
}

/// Padding that follows `n` bytes of XDR opaque data (0..=3).
pub(crate) const fn xdr_pad(n: usize) -> usize {
    (4 - (n % 4)) % 4
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `words` reads what `u32` reads, and fails where the first `u32` that does not fit
    /// would, for every length of input, without moving.
    #[test]
    fn words_read_and_fail_as_u32s_do() {
        let buf: [u8; 14] = core::array::from_fn(|i| i as u8 + 1);
        for len in 0..=buf.len() {
            for skip in 0..3 {
                let mut one_by_one = Reader::new(&buf[..len], 40, Layer::SflowSample);
                let mut at_once = one_by_one;
                let (Ok(()), Ok(())) = (one_by_one.skip(skip), at_once.skip(skip)) else {
                    continue;
                };
                let mut words = [0u32; 3];
                let mut expected = Ok(words);
                for w in &mut words {
                    match one_by_one.u32() {
                        Ok(v) => *w = v,
                        Err(e) => {
                            expected = Err(e);
                            break;
                        }
                    }
                }
                let expected = expected.map(|_| words);
                let before = at_once.offset();
                let got = at_once.words::<3>();
                assert_eq!(got, expected, "len {len}, skip {skip}");
                if got.is_err() {
                    assert_eq!(at_once.offset(), before, "len {len}, skip {skip}");
                } else {
                    assert_eq!(
                        at_once.offset(),
                        one_by_one.offset(),
                        "len {len}, skip {skip}"
                    );
                }
            }
        }
    }

    #[test]
    fn reads_big_endian_and_reports_absolute_offsets() {
        let buf = [0, 0, 0, 5, 0xAB, 0xCD, 1];
        let mut r = Reader::new(&buf, 100, Layer::SflowDatagram);
        assert_eq!(r.u32(), Ok(5));
        assert_eq!(r.bytes(2), Ok(&[0xAB, 0xCD][..]));
        let err = r.u32().err();
        assert_eq!(
            err,
            Some(Error::Truncated {
                layer: Layer::SflowDatagram,
                offset: 106,
                needed: 4,
                available: 1
            })
        );
        // a failed read does not advance
        assert_eq!(r.bytes(1), Ok(&[1][..]));
        assert_eq!(r.remaining(), 0);
    }

    #[test]
    fn xdr_opaque_pads_and_caps() {
        let buf = [0, 0, 0, 3, b'a', b'b', b'c', 0, 9];
        let mut r = Reader::new(&buf, 0, Layer::SflowFlowRecord);
        assert_eq!(r.xdr_opaque("name", 16), Ok(&b"abc"[..]));
        assert_eq!(r.rest(), &[9][..]);
        let mut r = Reader::new(&buf, 0, Layer::SflowFlowRecord);
        assert!(matches!(
            r.xdr_opaque("name", 2),
            Err(Error::Invalid { value: 3, .. })
        ));
        let huge = [0xFF, 0xFF, 0xFF, 0xFF];
        let mut r = Reader::new(&huge, 0, Layer::SflowFlowRecord);
        // A length of 2^32 - 1 with nothing after it: the bytes are missing, not the length
        // refused.
        assert_eq!(
            r.xdr_opaque("name", usize::MAX),
            Err(Error::Truncated {
                layer: Layer::SflowFlowRecord,
                offset: 4,
                needed: 0xFFFF_FFFF,
                available: 0,
            })
        );
    }
}
