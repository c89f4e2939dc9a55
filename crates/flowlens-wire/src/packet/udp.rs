//! UDP header (RFC 768).

use super::bytes::{take, u16_at};
use crate::error::{Layer, Result};
use crate::value::{FieldVisitor, Value};

/// Header length.
pub const HEADER_LEN: usize = 8;

/// Zero-copy view of a UDP header.
#[derive(Clone, Copy, Debug)]
pub struct UdpHeader<'a> {
    bytes: &'a [u8],
}

impl<'a> UdpHeader<'a> {
    /// Views the 8-byte header at the start of `buf`.
    ///
    /// # Errors
    /// [`crate::Error::Truncated`] if `buf` is shorter than 8 bytes.
    pub fn new_checked(buf: &'a [u8]) -> Result<Self> {
        Ok(UdpHeader {
            bytes: take(buf, HEADER_LEN, Layer::Udp)?,
        })
    }

    /// Source port.
    pub fn src_port(&self) -> u16 {
        u16_at(self.bytes, 0)
    }

    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        u16_at(self.bytes, 2)
    }

    /// Length of header plus data.
    pub fn length(&self) -> u16 {
        u16_at(self.bytes, 4)
    }

    /// Checksum (not verified).
    pub fn checksum(&self) -> u16 {
        u16_at(self.bytes, 6)
    }

    /// Visits the header fields.
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        v.field("source_port", Value::U64(self.src_port().into()));
        v.field("destination_port", Value::U64(self.dst_port().into()));
        v.field("length", Value::U64(self.length().into()));
        v.field("checksum", Value::U64(self.checksum().into()));
    }
}
