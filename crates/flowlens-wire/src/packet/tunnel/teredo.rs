//! Teredo (RFC 4380 section 5.1.1): optional authentication and origin indication headers in
//! front of an IPv6 packet carried in UDP.

use core::net::Ipv4Addr;

use crate::error::{Layer, Result};
use crate::packet::bytes::{array_at, take, u16_at, u8_at};
use crate::value::{FieldVisitor, Value};

/// Zero-copy view of the Teredo indicators (possibly empty).
#[derive(Clone, Copy, Debug)]
pub struct TeredoHeader<'a> {
    bytes: &'a [u8],
    origin_at: Option<u16>,
}

impl<'a> TeredoHeader<'a> {
    /// Views the authentication (type 0x0001) and origin indication (0x0000) headers that
    /// precede the IPv6 packet, if any.
    ///
    /// # Errors
    /// [`crate::Error::Truncated`] if an indicator does not fit.
    pub fn new_checked(buf: &'a [u8]) -> Result<Self> {
        let mut n = 0;
        if buf.get(..2) == Some(&[0, 1]) {
            let f = take(buf, 4, Layer::Teredo)?;
            n = 4 + usize::from(u8_at(f, 2)) + usize::from(u8_at(f, 3)) + 9;
            take(buf, n, Layer::Teredo)?;
        }
        let mut origin_at = None;
        if buf.get(n..n + 2) == Some(&[0, 0]) {
            take(buf, n + 8, Layer::Teredo)?;
            origin_at = u16::try_from(n).ok();
            n += 8;
        }
        Ok(TeredoHeader {
            bytes: take(buf, n, Layer::Teredo)?,
            origin_at,
        })
    }
    /// True if an authentication indicator is present.
    pub fn has_auth(&self) -> bool {
        self.bytes.starts_with(&[0, 1])
    }
    /// Origin UDP port (de-obfuscated), from the origin indication.
    pub fn origin_port(&self) -> Option<u16> {
        self.origin_at
            .map(|o| u16_at(self.bytes, usize::from(o) + 2) ^ 0xffff)
    }
    /// Origin IPv4 address (de-obfuscated), from the origin indication.
    pub fn origin_addr(&self) -> Option<Ipv4Addr> {
        self.origin_at.map(|o| {
            let a: [u8; 4] = array_at(self.bytes, usize::from(o) + 4);
            Ipv4Addr::from(u32::from_be_bytes(a) ^ 0xffff_ffff)
        })
    }
    /// Header length in bytes.
    pub fn header_len(&self) -> usize {
        self.bytes.len()
    }
    /// Visits the header fields.
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        v.field("auth", Value::Bool(self.has_auth()));
        if let (Some(p), Some(a)) = (self.origin_port(), self.origin_addr()) {
            v.field("origin_port", Value::U64(p.into()));
            v.field("origin_address", Value::Ip(a.into()));
        }
    }
}
