//! ARP (RFC 826).

use core::net::{IpAddr, Ipv4Addr};

use super::bytes::{array_at, take, u16_at, u8_at};
use crate::error::{Layer, Result};
use crate::value::{FieldVisitor, Value};

/// Byte offsets of the ARP fields (RFC 826, "Packet format"). The addresses are placed for
/// Ethernet/IPv4 ARP (hardware length 6, protocol length 4), the only kind whose addresses
/// are read.
mod field {
    /// Hardware type, 2 bytes.
    pub(super) const HTYPE: usize = 0;
    /// Protocol type, 2 bytes.
    pub(super) const PTYPE: usize = 2;
    /// Hardware address length, 1 byte.
    pub(super) const HLEN: usize = 4;
    /// Protocol address length, 1 byte.
    pub(super) const PLEN: usize = 5;
    /// Operation, 2 bytes.
    pub(super) const OPER: usize = 6;
    /// Sender hardware address (6 bytes); also the length of the fixed part.
    pub(super) const SHA: usize = 8;
    /// Sender protocol address, 4 bytes.
    pub(super) const SPA: usize = 14;
    /// Target hardware address, 6 bytes.
    pub(super) const THA: usize = 18;
    /// Target protocol address, 4 bytes.
    pub(super) const TPA: usize = 24;
}

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
        let fixed = take(buf, field::SHA, Layer::Arp)?;
        let n = field::SHA
            + 2 * (usize::from(u8_at(fixed, field::HLEN)) + usize::from(u8_at(fixed, field::PLEN)));
        Ok(ArpPacket {
            bytes: take(buf, n, Layer::Arp)?,
        })
    }

    /// Hardware type (1 = Ethernet).
    pub fn htype(&self) -> u16 {
        u16_at(self.bytes, field::HTYPE)
    }

    /// Protocol type (0x0800 = IPv4).
    pub fn ptype(&self) -> u16 {
        u16_at(self.bytes, field::PTYPE)
    }

    /// Hardware address length.
    pub fn hlen(&self) -> u8 {
        u8_at(self.bytes, field::HLEN)
    }

    /// Protocol address length.
    pub fn plen(&self) -> u8 {
        u8_at(self.bytes, field::PLEN)
    }

    /// Operation (1 request, 2 reply).
    pub fn oper(&self) -> u16 {
        u16_at(self.bytes, field::OPER)
    }

    fn is_eth_ipv4(&self) -> bool {
        self.hlen() == 6 && self.plen() == 4
    }

    /// Sender hardware address (Ethernet/IPv4 ARP only).
    pub fn sha(&self) -> Option<[u8; 6]> {
        self.is_eth_ipv4().then(|| array_at(self.bytes, field::SHA))
    }

    /// Sender protocol address (Ethernet/IPv4 ARP only).
    pub fn spa(&self) -> Option<IpAddr> {
        self.is_eth_ipv4()
            .then(|| IpAddr::V4(Ipv4Addr::from(array_at::<4>(self.bytes, field::SPA))))
    }

    /// Target hardware address (Ethernet/IPv4 ARP only).
    pub fn tha(&self) -> Option<[u8; 6]> {
        self.is_eth_ipv4().then(|| array_at(self.bytes, field::THA))
    }

    /// Target protocol address (Ethernet/IPv4 ARP only).
    pub fn tpa(&self) -> Option<IpAddr> {
        self.is_eth_ipv4()
            .then(|| IpAddr::V4(Ipv4Addr::from(array_at::<4>(self.bytes, field::TPA))))
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

#[cfg(test)]
mod tests {
    use super::super::bytes::testing::visited;
    use super::*;
    use crate::Error;

    /// Bytes 22..50 of frame 1 of `packets/vlan/tcpdump__802.1ad_QinQ.pcap` (`tshark -x`),
    /// an ARP request; expected values are tshark 4.0's (`tshark -V -O arp`).
    static PACKET_BYTES: [u8; 28] = [
        0x00, 0x01, // hardware type: Ethernet (1)
        0x08, 0x00, // protocol type: IPv4 (0x0800)
        0x06, // hardware size 6
        0x04, // protocol size 4
        0x00, 0x01, // opcode: request (1)
        0x00, 0x20, 0xd2, 0x5a, 0xfb, 0x3f, // sender MAC 00:20:d2:5a:fb:3f
        0xac, 0x15, 0x4f, 0x61, // sender IP 172.21.79.97
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // target MAC 00:00:00:00:00:00
        0xac, 0x15, 0x4f, 0x64, // target IP 172.21.79.100
    ];

    #[test]
    fn deconstruct() {
        let a = ArpPacket::new_checked(&PACKET_BYTES).unwrap();
        assert_eq!(a.htype(), 1);
        assert_eq!(a.ptype(), 0x0800);
        assert_eq!(a.hlen(), 6);
        assert_eq!(a.plen(), 4);
        assert_eq!(a.oper(), 1);
        assert_eq!(a.sha(), Some([0x00, 0x20, 0xd2, 0x5a, 0xfb, 0x3f]));
        assert_eq!(a.spa(), Some(IpAddr::V4(Ipv4Addr::new(172, 21, 79, 97))));
        assert_eq!(a.tha(), Some([0; 6]));
        assert_eq!(a.tpa(), Some(IpAddr::V4(Ipv4Addr::new(172, 21, 79, 100))));
        assert_eq!(a.len(), 28);
        assert_eq!(
            visited(|v| a.visit_fields(v)),
            [
                "htype=1",
                "ptype=2048",
                "oper=1",
                "sha=0020d25afb3f",
                "spa=172.21.79.97",
                "tha=000000000000",
                "tpa=172.21.79.100",
            ]
        );
    }

    #[test]
    fn other_address_lengths() {
        // An InfiniBand-style ARP (hardware length 20, protocol length 4): 8 + 2 * 24 bytes,
        // addresses not decoded.
        let mut bytes = [0u8; 56];
        bytes[..8].copy_from_slice(&[0x00, 0x20, 0x08, 0x00, 20, 4, 0x00, 0x02]);
        let a = ArpPacket::new_checked(&bytes).unwrap();
        assert_eq!((a.htype(), a.hlen(), a.plen(), a.oper()), (32, 20, 4, 2));
        assert_eq!(a.len(), 56);
        assert_eq!(
            (a.sha(), a.spa(), a.tha(), a.tpa()),
            (None, None, None, None)
        );
        assert_eq!(
            visited(|v| a.visit_fields(v)),
            ["htype=32", "ptype=2048", "oper=2"]
        );
        assert_eq!(
            ArpPacket::new_checked(&bytes[..55]).err(),
            Some(Error::Truncated {
                layer: Layer::Arp,
                offset: 0,
                needed: 56,
                available: 55
            })
        );
    }

    #[test]
    fn truncated() {
        for n in 0..28 {
            assert_eq!(
                ArpPacket::new_checked(&PACKET_BYTES[..n]).err(),
                Some(Error::Truncated {
                    layer: Layer::Arp,
                    offset: 0,
                    needed: if n < 8 { 8 } else { 28 },
                    available: n
                }),
                "{n} bytes"
            );
        }
    }
}
