//! ARP (RFC 826).

use core::net::{IpAddr, Ipv4Addr};

use super::bytes::{array_at, take, u16_at, u8_at};
use crate::error::{Layer, Result};
use crate::value::{FieldVisitor, Value};

/// Zero-copy view of an ARP packet (fixed part plus the four addresses).
#[derive(Clone, Copy, Debug)]
pub struct ArpPacket<'a> {
    bytes: &'a [u8],
}

impl<'a> ArpPacket<'a> {
    /// Views the ARP packet at the start of `buf`.
    ///
    /// # Errors
    /// [`crate::Error::Truncated`] if `buf` ends before the target protocol address.
    pub fn new_checked(buf: &'a [u8]) -> Result<Self> {
        let fixed = take(buf, 8, Layer::Arp)?;
        let n = 8 + 2 * (usize::from(u8_at(fixed, 4)) + usize::from(u8_at(fixed, 5)));
        Ok(ArpPacket {
            bytes: take(buf, n, Layer::Arp)?,
        })
    }

    /// Hardware type (1 = Ethernet).
    pub fn htype(&self) -> u16 {
        u16_at(self.bytes, 0)
    }

    /// Protocol type (0x0800 = IPv4).
    pub fn ptype(&self) -> u16 {
        u16_at(self.bytes, 2)
    }

    /// Hardware address length.
    pub fn hlen(&self) -> u8 {
        u8_at(self.bytes, 4)
    }

    /// Protocol address length.
    pub fn plen(&self) -> u8 {
        u8_at(self.bytes, 5)
    }

    /// Operation (1 request, 2 reply).
    pub fn oper(&self) -> u16 {
        u16_at(self.bytes, 6)
    }

    fn is_eth_ipv4(&self) -> bool {
        self.hlen() == 6 && self.plen() == 4
    }

    /// Sender hardware address (Ethernet/IPv4 ARP only).
    pub fn sha(&self) -> Option<[u8; 6]> {
        self.is_eth_ipv4().then(|| array_at(self.bytes, 8))
    }

    /// Sender protocol address (Ethernet/IPv4 ARP only).
    pub fn spa(&self) -> Option<IpAddr> {
        self.is_eth_ipv4()
            .then(|| IpAddr::V4(Ipv4Addr::from(array_at::<4>(self.bytes, 14))))
    }

    /// Target hardware address (Ethernet/IPv4 ARP only).
    pub fn tha(&self) -> Option<[u8; 6]> {
        self.is_eth_ipv4().then(|| array_at(self.bytes, 18))
    }

    /// Target protocol address (Ethernet/IPv4 ARP only).
    pub fn tpa(&self) -> Option<IpAddr> {
        self.is_eth_ipv4()
            .then(|| IpAddr::V4(Ipv4Addr::from(array_at::<4>(self.bytes, 24))))
    }

    /// Visits the packet fields.
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        v.field("htype", Value::U64(self.htype().into()));
        v.field("ptype", Value::U64(self.ptype().into()));
        v.field("oper", Value::U64(self.oper().into()));
        if let (Some(sha), Some(spa), Some(tha), Some(tpa)) =
            (self.sha(), self.spa(), self.tha(), self.tpa())
        {
            v.field("sha", Value::Mac(sha));
            v.field("spa", Value::Ip(spa));
            v.field("tha", Value::Mac(tha));
            v.field("tpa", Value::Ip(tpa));
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.bytes.len()
    }
}
