//! IPv6 header and extension headers (RFC 8200; AH per RFC 4302).

use core::net::Ipv6Addr;

use super::bytes::{array_at, invalid, take, u16_at, u32_at, u8_at};
use crate::error::{Layer, Result};
use crate::value::{FieldVisitor, Value};

/// Fixed header length.
pub const HEADER_LEN: usize = 40;

/// Hop-by-hop options.
pub const HOP_BY_HOP: u8 = 0;
/// Routing header.
pub const ROUTING: u8 = 43;
/// Fragment header.
pub const FRAGMENT: u8 = 44;
/// Authentication header.
pub const AUTH: u8 = 51;
/// Destination options.
pub const DEST_OPTS: u8 = 60;

/// True for the extension headers the walker steps over.
pub const fn is_extension(next_header: u8) -> bool {
    matches!(
        next_header,
        HOP_BY_HOP | ROUTING | FRAGMENT | AUTH | DEST_OPTS
    )
}

/// Zero-copy view of the fixed IPv6 header.
#[derive(Clone, Copy, Debug)]
pub struct Ipv6Header<'a> {
    bytes: &'a [u8],
}

impl<'a> Ipv6Header<'a> {
    /// Validates the version and views 40 bytes.
    ///
    /// # Errors
    /// [`crate::Error::Truncated`] if fewer than 40 bytes; [`crate::Error::Invalid`] if the
    /// version is not 6.
    pub fn new_checked(buf: &'a [u8]) -> Result<Self> {
        let bytes = take(buf, HEADER_LEN, Layer::Ipv6)?;
        let ver = u8_at(bytes, 0) >> 4;
        if ver != 6 {
            return Err(invalid(Layer::Ipv6, 0, "version", ver.into()));
        }
        Ok(Ipv6Header { bytes })
    }

    /// Traffic class (DSCP << 2 | ECN).
    pub fn traffic_class(&self) -> u8 {
        ((u16_at(self.bytes, 0) >> 4) & 0xff) as u8
    }

    /// Differentiated services code point.
    pub fn dscp(&self) -> u8 {
        self.traffic_class() >> 2
    }

    /// Explicit congestion notification.
    pub fn ecn(&self) -> u8 {
        self.traffic_class() & 3
    }

    /// Flow label (20 bits).
    pub fn flow_label(&self) -> u32 {
        u32_at(self.bytes, 0) & 0x000f_ffff
    }

    /// Payload length (0 with a jumbo payload option).
    pub fn payload_len(&self) -> u16 {
        u16_at(self.bytes, 4)
    }

    /// Next header (first extension header or upper-layer protocol).
    pub fn next_header(&self) -> u8 {
        u8_at(self.bytes, 6)
    }

    /// Hop limit.
    pub fn hop_limit(&self) -> u8 {
        u8_at(self.bytes, 7)
    }

    /// Source address.
    pub fn src_addr(&self) -> Ipv6Addr {
        Ipv6Addr::from(array_at::<16>(self.bytes, 8))
    }

    /// Destination address.
    pub fn dst_addr(&self) -> Ipv6Addr {
        Ipv6Addr::from(array_at::<16>(self.bytes, 24))
    }

    /// Visits the header fields.
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        v.field("traffic_class", Value::U64(self.traffic_class().into()));
        v.field("flow_label", Value::U64(self.flow_label().into()));
        v.field("payload_length", Value::U64(self.payload_len().into()));
        v.field("next_header", Value::U64(self.next_header().into()));
        v.field("hop_limit", Value::U64(self.hop_limit().into()));
        v.field("source", Value::Ip(self.src_addr().into()));
        v.field("destination", Value::Ip(self.dst_addr().into()));
    }
}

/// Zero-copy view of one IPv6 extension header.
#[derive(Clone, Copy, Debug)]
pub struct Ipv6ExtHeader<'a> {
    bytes: &'a [u8],
    kind: u8,
}

impl<'a> Ipv6ExtHeader<'a> {
    /// Views the extension header of type `kind` (the previous header's next-header value).
    ///
    /// # Errors
    /// [`crate::Error::Truncated`] if the header (per its length field) does not fit.
    pub fn new_checked(buf: &'a [u8], kind: u8) -> Result<Self> {
        let fixed = take(buf, 8, Layer::Ipv6Ext)?;
        let n = match kind {
            FRAGMENT => 8,
            AUTH => (usize::from(u8_at(fixed, 1)) + 2) * 4,
            _ => (usize::from(u8_at(fixed, 1)) + 1) * 8,
        };
        Ok(Ipv6ExtHeader {
            bytes: take(buf, n, Layer::Ipv6Ext)?,
            kind,
        })
    }

    /// This header's type (0, 43, 44, 51 or 60).
    pub fn kind(&self) -> u8 {
        self.kind
    }

    /// Next header.
    pub fn next_header(&self) -> u8 {
        u8_at(self.bytes, 0)
    }

    /// Fragment offset in 8-byte units (fragment header only, else 0).
    pub fn fragment_offset(&self) -> u16 {
        if self.kind == FRAGMENT {
            u16_at(self.bytes, 2) >> 3
        } else {
            0
        }
    }

    /// More-fragments flag (fragment header only).
    pub fn more_fragments(&self) -> bool {
        self.kind == FRAGMENT && u16_at(self.bytes, 2) & 1 != 0
    }

    /// Fragment identification (fragment header only).
    pub fn identification(&self) -> u32 {
        if self.kind == FRAGMENT {
            u32_at(self.bytes, 4)
        } else {
            0
        }
    }

    /// Header length in bytes.
    pub fn header_len(&self) -> usize {
        self.bytes.len()
    }

    /// Visits the header fields.
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        v.field("type", Value::U64(self.kind.into()));
        v.field("next_header", Value::U64(self.next_header().into()));
        v.field("length", Value::U64(self.bytes.len() as u64));
        if self.kind == FRAGMENT {
            v.field("fragment_offset", Value::U64(self.fragment_offset().into()));
            v.field("m", Value::Bool(self.more_fragments()));
            v.field("identification", Value::U64(self.identification().into()));
        }
    }
}
