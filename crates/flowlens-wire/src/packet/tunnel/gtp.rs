//! GTP-U version 1 (3GPP TS 29.281 section 5).

use crate::error::{Layer, Result};
use crate::packet::bytes::{invalid, take, u16_at, u32_at, u8_at, unsupported};
use crate::value::{FieldVisitor, Value};

/// Message type of a G-PDU (user data).
pub const G_PDU: u8 = 255;
/// Maximum extension headers followed.
const MAX_EXT: usize = 8;

/// Zero-copy view of a GTP-U header with optional fields and extension headers.
#[derive(Clone, Copy, Debug)]
pub struct GtpHeader<'a> {
    bytes: &'a [u8],
}

impl<'a> GtpHeader<'a> {
    /// Views a GTPv1-U header.
    ///
    /// # Errors
    /// [`crate::Error::Unsupported`] unless version 1 with PT 1; [`crate::Error::Truncated`]
    /// if the header or an extension header does not fit; [`crate::Error::Invalid`] for a
    /// zero-length extension header or too long a chain.
    pub fn new_checked(buf: &'a [u8]) -> Result<Self> {
        let fixed = take(buf, 8, Layer::Gtp)?;
        let b0 = u8_at(fixed, 0);
        if b0 >> 5 != 1 || b0 & 0x10 == 0 {
            return Err(unsupported(Layer::Gtp, 0, "version", (b0 >> 5).into()));
        }
        if b0 & 0x07 == 0 {
            return Ok(GtpHeader { bytes: fixed });
        }
        let opt = take(buf, 12, Layer::Gtp)?;
        let mut n = 12;
        let mut next = if b0 & 0x04 != 0 { u8_at(opt, 11) } else { 0 };
        let mut count = 0;
        while next != 0 {
            count += 1;
            if count > MAX_EXT {
                return Err(invalid(Layer::Gtp, n, "extension_headers", count as u64));
            }
            let l = take(buf.get(n..).unwrap_or(&[]), 1, Layer::Gtp).map_err(|e| e.shifted(n))?;
            let len = usize::from(u8_at(l, 0)) * 4;
            if len == 0 {
                return Err(invalid(Layer::Gtp, n, "extension_length", 0));
            }
            let ext =
                take(buf.get(n..).unwrap_or(&[]), len, Layer::Gtp).map_err(|e| e.shifted(n))?;
            next = u8_at(ext, len - 1);
            n += len;
        }
        Ok(GtpHeader {
            bytes: take(buf, n, Layer::Gtp)?,
        })
    }
    /// Flags byte (version, PT, E, S, PN).
    pub fn flags(&self) -> u8 {
        u8_at(self.bytes, 0)
    }
    /// Message type (255 = G-PDU).
    pub fn message_type(&self) -> u8 {
        u8_at(self.bytes, 1)
    }
    /// Length of everything after the first 8 bytes.
    pub fn length(&self) -> u16 {
        u16_at(self.bytes, 2)
    }
    /// Tunnel endpoint identifier.
    pub fn teid(&self) -> u32 {
        u32_at(self.bytes, 4)
    }
    /// Sequence number (when S is set).
    pub fn sequence(&self) -> Option<u16> {
        (self.flags() & 0x02 != 0).then(|| u16_at(self.bytes, 8))
    }
    /// Header length in bytes (including extension headers).
    pub fn header_len(&self) -> usize {
        self.bytes.len()
    }
    /// Visits the header fields.
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        v.field("flags", Value::U64(self.flags().into()));
        v.field("message_type", Value::U64(self.message_type().into()));
        v.field("length", Value::U64(self.length().into()));
        v.field("teid", Value::U64(self.teid().into()));
        if let Some(s) = self.sequence() {
            v.field("sequence_number", Value::U64(s.into()));
        }
    }
}
