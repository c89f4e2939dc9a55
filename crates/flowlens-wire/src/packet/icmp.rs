//! ICMP (RFC 792, next-hop MTU RFC 1191) and ICMPv6 (RFC 4443) headers.
//!
//! Only the fixed first 8 bytes are viewed. For error messages the walker decodes the quoted
//! invoking packet that follows as separate layers flagged `quoted`.

use super::bytes::{take, u16_at, u32_at, u8_at};
use crate::error::{Layer, Result};
use crate::value::{FieldVisitor, Value};

/// Length of the fixed header viewed.
pub const HEADER_LEN: usize = 8;

/// Zero-copy view of the first 8 bytes of an ICMP or ICMPv6 message.
#[derive(Clone, Copy, Debug)]
pub struct IcmpHeader<'a> {
    bytes: &'a [u8],
    v6: bool,
}

impl<'a> IcmpHeader<'a> {
    /// Views an ICMPv4 (`v6 == false`) or ICMPv6 header.
    ///
    /// # Errors
    /// [`crate::Error::Truncated`] if fewer than 8 bytes are present.
    pub fn new_checked(buf: &'a [u8], v6: bool) -> Result<Self> {
        let layer = if v6 { Layer::Icmpv6 } else { Layer::Icmp };
        Ok(IcmpHeader {
            bytes: take(buf, HEADER_LEN, layer)?,
            v6,
        })
    }

    /// True for ICMPv6.
    pub fn is_v6(&self) -> bool {
        self.v6
    }

    /// Message type.
    pub fn icmp_type(&self) -> u8 {
        u8_at(self.bytes, 0)
    }

    /// Code.
    pub fn code(&self) -> u8 {
        u8_at(self.bytes, 1)
    }

    /// Checksum (not verified).
    pub fn checksum(&self) -> u16 {
        u16_at(self.bytes, 2)
    }

    /// The 4 bytes after the checksum ("rest of header").
    pub fn rest_of_header(&self) -> u32 {
        u32_at(self.bytes, 4)
    }

    /// True for echo request/reply (v4 8/0, v6 128/129).
    pub fn is_echo(&self) -> bool {
        if self.v6 {
            matches!(self.icmp_type(), 128 | 129)
        } else {
            matches!(self.icmp_type(), 0 | 8)
        }
    }

    /// Echo identifier.
    pub fn identifier(&self) -> Option<u16> {
        self.is_echo().then(|| u16_at(self.bytes, 4))
    }

    /// Echo sequence number.
    pub fn sequence(&self) -> Option<u16> {
        self.is_echo().then(|| u16_at(self.bytes, 6))
    }

    /// True for error messages that quote the invoking packet: v4 destination unreachable (3),
    /// source quench (4), redirect (5), time exceeded (11), parameter problem (12); v6 types
    /// 1-4.
    pub fn is_error(&self) -> bool {
        if self.v6 {
            matches!(self.icmp_type(), 1..=4)
        } else {
            matches!(self.icmp_type(), 3 | 4 | 5 | 11 | 12)
        }
    }

    /// Next-hop MTU of a v4 "fragmentation needed" (type 3 code 4, RFC 1191) or the MTU of a
    /// v6 "packet too big" (type 2).
    pub fn mtu(&self) -> Option<u32> {
        match (self.v6, self.icmp_type(), self.code()) {
            (false, 3, 4) => Some(u16_at(self.bytes, 6).into()),
            (true, 2, _) => Some(self.rest_of_header()),
            _ => None,
        }
    }

    /// Visits the header fields.
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        v.field("type", Value::U64(self.icmp_type().into()));
        v.field("code", Value::U64(self.code().into()));
        v.field("checksum", Value::U64(self.checksum().into()));
        if let (Some(id), Some(seq)) = (self.identifier(), self.sequence()) {
            v.field("identifier", Value::U64(id.into()));
            v.field("sequence", Value::U64(seq.into()));
        }
        if let Some(m) = self.mtu() {
            v.field("mtu", Value::U64(m.into()));
        }
    }
}
