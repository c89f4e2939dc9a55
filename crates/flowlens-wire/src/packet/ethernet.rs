//! Ethernet II / IEEE 802.3 MAC header (IEEE 802.3 clause 3.2.6).

use super::bytes::{array_at, take, u16_at};
use crate::error::{Layer, Result};
use crate::value::{FieldVisitor, Value};

/// Length of the MAC header without tags.
pub const HEADER_LEN: usize = 14;

/// EtherType values at or below this are an IEEE 802.3 length field (LLC follows).
pub const MAX_8023_LENGTH: u16 = 1500;

/// Zero-copy view of an Ethernet II / 802.3 header.
#[derive(Clone, Copy, Debug)]
pub struct EthernetHeader<'a> {
    bytes: &'a [u8],
}

impl<'a> EthernetHeader<'a> {
    /// Checks that `buf` holds a full header and views its first 14 bytes.
    ///
    /// # Errors
    /// [`crate::Error::Truncated`] (offset relative to `buf`) if `buf` is shorter than 14 bytes.
    pub fn new_checked(buf: &'a [u8]) -> Result<Self> {
        Ok(EthernetHeader {
            bytes: take(buf, HEADER_LEN, Layer::Ethernet)?,
        })
    }

    /// Destination MAC address.
    pub fn dst_addr(&self) -> [u8; 6] {
        array_at(self.bytes, 0)
    }

    /// Source MAC address.
    pub fn src_addr(&self) -> [u8; 6] {
        array_at(self.bytes, 6)
    }

    /// EtherType (or 802.3 length when `<= 1500`).
    pub fn ethertype(&self) -> u16 {
        u16_at(self.bytes, 12)
    }

    /// True when the type field is an IEEE 802.3 length (an LLC header follows).
    pub fn is_8023_length(&self) -> bool {
        self.ethertype() <= MAX_8023_LENGTH
    }

    /// Header bytes.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Visits the header fields.
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        v.field("destination", Value::Mac(self.dst_addr()));
        v.field("source", Value::Mac(self.src_addr()));
        if self.is_8023_length() {
            v.field("length", Value::U64(self.ethertype().into()));
        } else {
            v.field("ethertype", Value::U64(self.ethertype().into()));
        }
    }
}
