//! The envelope shared by samples and records (`sample_record`, `flow_record`,
//! `counter_record`: `data_format` u32 = enterprise << 12 | format, then XDR `opaque<>` length
//! u32 and data).

use crate::error::{Layer, Result};
use crate::reader::Reader;

/// One envelope: enterprise, format, absolute offsets of the envelope and of its data, and the
/// data.
pub(crate) struct Envelope<'a> {
    pub(crate) start: usize,
    pub(crate) enterprise: u32,
    pub(crate) format: u32,
    pub(crate) offset: usize,
    pub(crate) data: &'a [u8],
}

/// Walks the envelopes of a datagram's samples or of one sample's records, bounded by both the
/// declared count and the bytes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Envelopes<'a> {
    r: Reader<'a>,
    left: u32,
    done: bool,
}

impl<'a> Envelopes<'a> {
    /// Envelopes in `r` (the datagram after its header, or a sample after its header), `count`
    /// as declared; errors are attributed to `layer`.
    pub(crate) fn new(r: Reader<'a>, count: u32, layer: Layer) -> Self {
        Envelopes {
            r: r.with_layer(layer),
            left: count,
            done: false,
        }
    }

    /// The next envelope; `Some(Err)` for a broken envelope or data that ends before the
    /// declared count, after which it returns `None`.
    pub(crate) fn next_envelope(&mut self) -> Option<Result<Envelope<'a>>> {
        if self.done {
            return None;
        }
        if self.left == 0 {
            // bytes after the declared records are ignored, as for samples
            self.done = true;
            return None;
        }
        self.left -= 1;
        let res = self.read();
        if res.is_err() {
            self.done = true;
        }
        Some(res)
    }

    fn read(&mut self) -> Result<Envelope<'a>> {
        let start = self.r.offset();
        let [tag, len] = self.r.words::<2>()?;
        let len_at = start.saturating_add(4);
        let n = usize::try_from(len)
            .ok()
            .filter(|&n| n <= self.r.remaining())
            .ok_or_else(|| self.r.invalid_at(len_at, "length", u64::from(len)))?;
        let offset = self.r.offset();
        let data = self.r.bytes(n)?;
        Ok(Envelope {
            start,
            enterprise: tag >> 12,
            format: tag & 0xFFF,
            offset,
            data,
        })
    }
}
