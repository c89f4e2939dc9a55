//! IPv4 header (RFC 791; DSCP/ECN per RFC 2474 / RFC 3168).

use core::net::Ipv4Addr;

use super::bytes::{array_at, invalid, take, u16_at, u8_at};
use crate::error::{Layer, Result};
use crate::value::{FieldVisitor, Value};

/// Minimum header length (IHL 5).
pub const MIN_HEADER_LEN: usize = 20;

/// Zero-copy view of an IPv4 header including its options.
#[derive(Clone, Copy, Debug)]
pub struct Ipv4Header<'a> {
    bytes: &'a [u8],
}

impl<'a> Ipv4Header<'a> {
    /// Validates version and IHL and views `IHL * 4` bytes.
    ///
    /// # Errors
    /// [`crate::Error::Truncated`] if the header (with options) does not fit;
    /// [`crate::Error::Invalid`] for a version other than 4 or an IHL below 5.
    pub fn new_checked(buf: &'a [u8]) -> Result<Self> {
        let fixed = take(buf, MIN_HEADER_LEN, Layer::Ipv4)?;
        let b0 = u8_at(fixed, 0);
        if b0 >> 4 != 4 {
            return Err(invalid(Layer::Ipv4, 0, "version", (b0 >> 4).into()));
        }
        let ihl = usize::from(b0 & 0x0f);
        if ihl < 5 {
            return Err(invalid(Layer::Ipv4, 0, "ihl", ihl as u64));
        }
        Ok(Ipv4Header {
            bytes: take(buf, ihl * 4, Layer::Ipv4)?,
        })
    }

    /// Internet header length in 32-bit words.
    pub fn ihl(&self) -> u8 {
        u8_at(self.bytes, 0) & 0x0f
    }

    /// Type of service byte (DSCP << 2 | ECN).
    pub fn tos(&self) -> u8 {
        u8_at(self.bytes, 1)
    }

    /// Differentiated services code point (6 bits).
    pub fn dscp(&self) -> u8 {
        self.tos() >> 2
    }

    /// Explicit congestion notification (2 bits).
    pub fn ecn(&self) -> u8 {
        self.tos() & 3
    }

    /// Total length of the datagram (header + data) as sent.
    pub fn total_len(&self) -> u16 {
        u16_at(self.bytes, 2)
    }

    /// Identification.
    pub fn identification(&self) -> u16 {
        u16_at(self.bytes, 4)
    }

    /// The three flag bits: reserved, DF, MF (as bits 2, 1, 0).
    pub fn flags(&self) -> u8 {
        u8_at(self.bytes, 6) >> 5
    }

    /// Don't fragment.
    pub fn dont_fragment(&self) -> bool {
        self.flags() & 2 != 0
    }

    /// More fragments.
    pub fn more_fragments(&self) -> bool {
        self.flags() & 1 != 0
    }

    /// Fragment offset in 8-byte units.
    pub fn fragment_offset(&self) -> u16 {
        u16_at(self.bytes, 6) & 0x1fff
    }

    /// Time to live.
    pub fn ttl(&self) -> u8 {
        u8_at(self.bytes, 8)
    }

    /// Upper-layer protocol number.
    pub fn protocol(&self) -> u8 {
        u8_at(self.bytes, 9)
    }

    /// Header checksum (not verified).
    pub fn checksum(&self) -> u16 {
        u16_at(self.bytes, 10)
    }

    /// Source address.
    pub fn src_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(array_at::<4>(self.bytes, 12))
    }

    /// Destination address.
    pub fn dst_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(array_at::<4>(self.bytes, 16))
    }

    /// Option bytes (possibly empty).
    pub fn options(&self) -> &'a [u8] {
        self.bytes.get(MIN_HEADER_LEN..).unwrap_or(&[])
    }

    /// Header length in bytes.
    pub fn header_len(&self) -> usize {
        self.bytes.len()
    }

    /// Visits the header fields.
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        v.field("ihl", Value::U64(self.ihl().into()));
        v.field("dscp", Value::U64(self.dscp().into()));
        v.field("ecn", Value::U64(self.ecn().into()));
        v.field("total_length", Value::U64(self.total_len().into()));
        v.field("identification", Value::U64(self.identification().into()));
        v.field("df", Value::Bool(self.dont_fragment()));
        v.field("mf", Value::Bool(self.more_fragments()));
        v.field("fragment_offset", Value::U64(self.fragment_offset().into()));
        v.field("ttl", Value::U64(self.ttl().into()));
        v.field("protocol", Value::U64(self.protocol().into()));
        v.field("source", Value::Ip(self.src_addr().into()));
        v.field("destination", Value::Ip(self.dst_addr().into()));
        if !self.options().is_empty() {
            v.field("options", Value::Hex(self.options()));
        }
    }
}
