//! Ethernet II / IEEE 802.3 MAC header (IEEE 802.3 clause 3.2.6).

use super::bytes::{array_at, take, u16_at};
use crate::error::{Layer, Result};
use crate::value::{FieldVisitor, Value};

/// Length of the MAC header without tags.
pub const HEADER_LEN: usize = 14;

/// EtherType values at or below this are an IEEE 802.3 length field (LLC follows).
pub const MAX_8023_LENGTH: u16 = 1500;

/// Byte offsets of the MAC header fields (IEEE 802.3 clause 3.2).
mod field {
    /// Destination address, 6 bytes.
    pub(super) const DST_ADDR: usize = 0;
    /// Source address, 6 bytes.
    pub(super) const SRC_ADDR: usize = 6;
    /// Length/Type, 2 bytes.
    pub(super) const ETHERTYPE: usize = 12;
}

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
        array_at(self.bytes, field::DST_ADDR)
    }

    /// Source MAC address.
    pub fn src_addr(&self) -> [u8; 6] {
        array_at(self.bytes, field::SRC_ADDR)
    }

    /// EtherType (or 802.3 length when `<= 1500`).
    pub fn ethertype(&self) -> u16 {
        u16_at(self.bytes, field::ETHERTYPE)
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

#[cfg(test)]
mod tests {
    use super::super::bytes::testing::visited;
    use super::*;
    use crate::Error;

    /// The first 16 bytes of frame 1 of `packets/dns/tcpdump__dns_udp.pcap` (`tshark -x`):
    /// the MAC header and the first two bytes of the IPv4 header; expected values are
    /// tshark 4.0's (`tshark -V -O eth`).
    static PACKET_BYTES: [u8; 16] = [
        0x00, 0x11, 0x22, 0x33, 0x44, 0x66, // destination 00:11:22:33:44:66
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, // source 00:11:22:33:44:55
        0x08, 0x00, // type IPv4 (0x0800)
        0x45, 0x00, // IPv4 header, not part of the view
    ];

    /// An IEEE 802.3 frame with an LLC header: a spanning-tree BPDU (IEEE 802.1D).
    static LENGTH_BYTES: [u8; 17] = [
        0x01, 0x80, 0xc2, 0x00, 0x00, 0x00, // destination 01:80:c2:00:00:00 (bridge group)
        0x00, 0x1b, 0x21, 0xaa, 0xbb, 0x0c, // source 00:1b:21:aa:bb:0c
        0x00, 0x26, // length 38
        0x42, 0x42, 0x03, // LLC: DSAP 0x42, SSAP 0x42, control 3 (UI)
    ];

    #[test]
    fn deconstruct() {
        let h = EthernetHeader::new_checked(&PACKET_BYTES).unwrap();
        assert_eq!(h.dst_addr(), [0x00, 0x11, 0x22, 0x33, 0x44, 0x66]);
        assert_eq!(h.src_addr(), [0x00, 0x11, 0x22, 0x33, 0x44, 0x55]);
        assert_eq!(h.ethertype(), 0x0800);
        assert!(!h.is_8023_length());
        assert_eq!(h.as_bytes(), &PACKET_BYTES[..14]);
        assert_eq!(
            visited(|v| h.visit_fields(v)),
            [
                "destination=001122334466",
                "source=001122334455",
                "ethertype=2048"
            ]
        );
    }

    #[test]
    fn ieee_8023_length() {
        let h = EthernetHeader::new_checked(&LENGTH_BYTES).unwrap();
        assert_eq!(h.dst_addr(), [0x01, 0x80, 0xc2, 0, 0, 0]);
        assert_eq!(h.src_addr(), [0x00, 0x1b, 0x21, 0xaa, 0xbb, 0x0c]);
        assert_eq!(h.ethertype(), 38);
        assert!(h.is_8023_length());
        assert_eq!(
            visited(|v| h.visit_fields(v)),
            [
                "destination=0180c2000000",
                "source=001b21aabb0c",
                "length=38"
            ]
        );
        // 1500 is the largest length (IEEE 802.3 clause 3.2.6); 0x0600 (1536) is a type.
        let mut bytes = LENGTH_BYTES;
        bytes[12..14].copy_from_slice(&1500u16.to_be_bytes());
        assert!(EthernetHeader::new_checked(&bytes)
            .unwrap()
            .is_8023_length());
        bytes[12..14].copy_from_slice(&0x0600u16.to_be_bytes());
        assert!(!EthernetHeader::new_checked(&bytes)
            .unwrap()
            .is_8023_length());
    }

    #[test]
    fn truncated() {
        for n in 0..HEADER_LEN {
            assert_eq!(
                EthernetHeader::new_checked(&PACKET_BYTES[..n]).err(),
                Some(Error::Truncated {
                    layer: Layer::Ethernet,
                    offset: 0,
                    needed: 14,
                    available: n
                }),
                "{n} bytes"
            );
        }
    }
}
