//! VXLAN (RFC 7348).

use crate::error::{Layer, Result};
use crate::packet::bytes::{take, u24_at, u8_at};
use crate::value::{FieldVisitor, Value};

/// Header length.
pub const HEADER_LEN: usize = 8;

/// Zero-copy view of a VXLAN header.
#[derive(Clone, Copy, Debug)]
pub struct VxlanHeader<'a> {
    bytes: &'a [u8],
}

impl<'a> VxlanHeader<'a> {
    /// Views the 8-byte header. Reserved bits are not checked (RFC 7348: ignored on receipt).
    ///
    /// # Errors
    /// [`crate::Error::Truncated`] if fewer than 8 bytes.
    pub fn new_checked(buf: &'a [u8]) -> Result<Self> {
        Ok(VxlanHeader {
            bytes: take(buf, HEADER_LEN, Layer::Vxlan)?,
        })
    }
    /// Flags byte (I = 0x08).
    pub fn flags(&self) -> u8 {
        u8_at(self.bytes, 0)
    }
    /// I flag: the VNI is valid.
    pub fn vni_valid(&self) -> bool {
        self.flags() & 0x08 != 0
    }
    /// VXLAN network identifier (24 bits).
    pub fn vni(&self) -> u32 {
        u24_at(self.bytes, 4)
    }
    /// Visits the header fields.
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        v.field("flags", Value::U64(self.flags().into()));
        v.field("vni", Value::U64(self.vni().into()));
    }
}
