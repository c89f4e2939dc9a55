//! STT frame header (draft-davie-stt-08 section 3.1), found at the start of the TCP-like
//! segment payload sent to port 7471.

use crate::error::{Layer, Result};
use crate::packet::bytes::{array_at, take, u16_at, u8_at};
use crate::value::{FieldVisitor, Value};

/// Frame header length (including the 2 bytes of padding).
pub const HEADER_LEN: usize = 18;

/// Zero-copy view of an STT frame header.
#[derive(Clone, Copy, Debug)]
pub struct SttHeader<'a> {
    bytes: &'a [u8],
}

impl<'a> SttHeader<'a> {
    /// Views the 18-byte frame header.
    ///
    /// # Errors
    /// [`crate::Error::Truncated`] if fewer than 18 bytes.
    pub fn new_checked(buf: &'a [u8]) -> Result<Self> {
        Ok(SttHeader {
            bytes: take(buf, HEADER_LEN, Layer::Stt)?,
        })
    }
    /// Version (0).
    pub fn version(&self) -> u8 {
        u8_at(self.bytes, 0)
    }
    /// Flags.
    pub fn flags(&self) -> u8 {
        u8_at(self.bytes, 1)
    }
    /// L4 offset.
    pub fn l4_offset(&self) -> u8 {
        u8_at(self.bytes, 2)
    }
    /// Maximum segment size.
    pub fn mss(&self) -> u16 {
        u16_at(self.bytes, 4)
    }
    /// VLAN TCI (PCP, V, VID).
    pub fn vlan_tci(&self) -> u16 {
        u16_at(self.bytes, 6)
    }
    /// 64-bit context id.
    pub fn context_id(&self) -> u64 {
        u64::from_be_bytes(array_at(self.bytes, 8))
    }
    /// Visits the header fields.
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        v.field("version", Value::U64(self.version().into()));
        v.field("flags", Value::U64(self.flags().into()));
        v.field("l4_offset", Value::U64(self.l4_offset().into()));
        v.field("mss", Value::U64(self.mss().into()));
        v.field("vlan_tci", Value::U64(self.vlan_tci().into()));
        v.field("context_id", Value::U64(self.context_id()));
    }
}
