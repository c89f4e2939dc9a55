//! Capture link-layer pseudo headers: Linux cooked capture (SLL / SLL2), BSD loopback (DLT 0 /
//! DLT 108) and PPP (RFC 1661, with optional RFC 1662 HDLC address/control bytes).

use super::bytes::{take, u16_at, u32_at, u8_at};
use crate::error::{Layer, Result};
use crate::value::{FieldVisitor, Value};

/// Linux cooked capture header, version 1 (16 bytes) or 2 (20 bytes).
#[derive(Clone, Copy, Debug)]
pub struct SllHeader<'a> {
    bytes: &'a [u8],
}

impl<'a> SllHeader<'a> {
    /// Views an SLL (`v2 == false`, 16 bytes) or SLL2 (20 bytes) header.
    ///
    /// # Errors
    /// [`crate::Error::Truncated`] if `buf` is too short.
    pub fn new_checked(buf: &'a [u8], v2: bool) -> Result<Self> {
        Ok(SllHeader {
            bytes: take(buf, if v2 { 20 } else { 16 }, Layer::LinuxSll)?,
        })
    }

    /// True for SLL2 (DLT 276).
    pub fn is_v2(&self) -> bool {
        self.bytes.len() == 20
    }

    /// Protocol type (an EtherType for `ARPHRD_ETHER` and most link types).
    pub fn protocol(&self) -> u16 {
        if self.is_v2() {
            u16_at(self.bytes, 0)
        } else {
            u16_at(self.bytes, 14)
        }
    }

    /// Packet type (0 to us, 1 broadcast, 2 multicast, 3 other host, 4 outgoing).
    pub fn packet_type(&self) -> u16 {
        if self.is_v2() {
            u8_at(self.bytes, 10).into()
        } else {
            u16_at(self.bytes, 0)
        }
    }

    /// ARPHRD_ link-layer address type.
    pub fn arphrd_type(&self) -> u16 {
        if self.is_v2() {
            u16_at(self.bytes, 8)
        } else {
            u16_at(self.bytes, 2)
        }
    }

    /// Interface index (SLL2 only; 0 for SLL).
    pub fn if_index(&self) -> u32 {
        if self.is_v2() {
            u32_at(self.bytes, 4)
        } else {
            0
        }
    }

    /// Visits the header fields.
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        v.field("packet_type", Value::U64(self.packet_type().into()));
        v.field("arphrd_type", Value::U64(self.arphrd_type().into()));
        if self.is_v2() {
            v.field("interface_index", Value::U64(self.if_index().into()));
        }
        v.field("protocol", Value::U64(self.protocol().into()));
    }

    pub(crate) fn len(&self) -> usize {
        self.bytes.len()
    }
}

/// BSD loopback / null header: a 4-byte address family.
#[derive(Clone, Copy, Debug)]
pub struct NullHeader<'a> {
    bytes: &'a [u8],
    network_order: bool,
}

impl<'a> NullHeader<'a> {
    /// Views a 4-byte loopback header. `network_order` is true for DLT_LOOP (108); for DLT_NULL
    /// the family is in the capturing host's order, guessed from which half is zero.
    ///
    /// # Errors
    /// [`crate::Error::Truncated`] if `buf` is shorter than 4 bytes.
    pub fn new_checked(buf: &'a [u8], network_order: bool) -> Result<Self> {
        Ok(NullHeader {
            bytes: take(buf, 4, Layer::Null)?,
            network_order,
        })
    }

    /// Address family (2 = IPv4; 10, 24, 28, 30 = IPv6 on Linux and the BSDs).
    pub fn family(&self) -> u32 {
        let be = u32_at(self.bytes, 0);
        if self.network_order || be & 0xffff_0000 == 0 {
            be
        } else {
            be.swap_bytes()
        }
    }

    /// Visits the header fields.
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        v.field("family", Value::U64(self.family().into()));
    }

    pub(crate) fn len(&self) -> usize {
        self.bytes.len()
    }
}

/// PPP header: optional `ff 03` HDLC address/control, then a 1- or 2-byte protocol field.
#[derive(Clone, Copy, Debug)]
pub struct PppHeader<'a> {
    bytes: &'a [u8],
}

impl<'a> PppHeader<'a> {
    /// Views a PPP header.
    ///
    /// # Errors
    /// [`crate::Error::Truncated`] if `buf` ends inside the header.
    pub fn new_checked(buf: &'a [u8]) -> Result<Self> {
        let hdlc = usize::from(buf.starts_with(&[0xff, 0x03])) * 2;
        // Protocol-field compression (RFC 1661 section 6.5): odd first byte = 1-byte field.
        let first =
            take(buf.get(hdlc..).unwrap_or(&[]), 1, Layer::Ppp).map_err(|e| e.shifted(hdlc))?;
        let plen = if u8_at(first, 0) & 1 == 1 { 1 } else { 2 };
        Ok(PppHeader {
            bytes: take(buf, hdlc + plen, Layer::Ppp)?,
        })
    }

    /// True when the RFC 1662 address/control bytes are present.
    pub fn has_hdlc(&self) -> bool {
        self.bytes.starts_with(&[0xff, 0x03])
    }

    /// PPP protocol number (0x0021 IPv4, 0x0057 IPv6, 0x0281 MPLS).
    pub fn protocol(&self) -> u16 {
        let off = if self.has_hdlc() { 2 } else { 0 };
        if self.bytes.len() - off == 1 {
            u8_at(self.bytes, off).into()
        } else {
            u16_at(self.bytes, off)
        }
    }

    /// Visits the header fields.
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        v.field("protocol", Value::U64(self.protocol().into()));
    }

    pub(crate) fn len(&self) -> usize {
        self.bytes.len()
    }
}
