//! VXLAN (RFC 7348).

use crate::error::{Layer, Result};
use crate::packet::bytes::{take, u24_at, u8_at};
use crate::value::{FieldVisitor, Value};

/// Header length.
pub const HEADER_LEN: usize = 8;

/// Byte offsets of the header fields (RFC 7348 section 5).
mod field {
    /// Flags (I = 0x08), 1 byte; 3 reserved bytes follow.
    pub(super) const FLAGS: usize = 0;
    /// VXLAN network identifier, 3 bytes; 1 reserved byte follows.
    pub(super) const VNI: usize = 4;
}

/// Zero-copy view of a VXLAN header.
#[derive(Clone, Copy, Debug)]
pub struct VxlanHeader<'a> {
    bytes: &'a [u8],
}

impl<'a> VxlanHeader<'a> {
    /// Views the 8-byte header. Reserved bits are not checked (RFC 7348: ignored on receipt).
    ///
    /// # Errors
    /// [`crate::Error::Truncated`] if fewer than 8 bytes.
    pub fn new_checked(buf: &'a [u8]) -> Result<Self> {
        Ok(VxlanHeader {
            bytes: take(buf, HEADER_LEN, Layer::Vxlan)?,
        })
    }
    /// Flags byte (I = 0x08).
    pub fn flags(&self) -> u8 {
        u8_at(self.bytes, field::FLAGS)
    }
    /// I flag: the VNI is valid.
    pub fn vni_valid(&self) -> bool {
        self.flags() & 0x08 != 0
    }
    /// VXLAN network identifier (24 bits).
    pub fn vni(&self) -> u32 {
        u24_at(self.bytes, field::VNI)
    }
    /// Visits the header fields.
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        v.field("flags", Value::U64(self.flags().into()));
        v.field("vni", Value::U64(self.vni().into()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::bytes::testing::visited;
    use crate::Error;

    /// Bytes 42..50 of frame 1 of `packets/tunnels/tcpdump__vxlan.pcap` (`tshark -x`), then
    /// the start of the inner Ethernet header; expected values are tshark 4.0's
    /// (`tshark -V -O vxlan`).
    static PACKET_BYTES: [u8; 10] = [
        0x08, // flags: I (VNI valid)
        0x00, 0x00, 0x00, // reserved
        0x00, 0x00, 0x64, // VNI 100
        0x00, // reserved
        0x00, 0x30, // inner Ethernet destination, not part of the view
    ];

    /// Bytes 42..50 of frame 1 of `packets/tunnels/suricata-verify__vxlan-non-zero-reserved
    /// -fields.pcap`: reserved bits set (tshark reads them as the group-based policy
    /// extension, which RFC 7348 receivers ignore).
    static RESERVED_BYTES: [u8; 8] = [
        0xff, // flags: I and every reserved bit
        0x01, 0xd1, 0xf2, // reserved (GBP: reserved bits 0x01, group policy ID 53746)
        0x00, 0x00, 0x0b, // VNI 11
        0x00, // reserved
    ];

    #[test]
    fn deconstruct() {
        let h = VxlanHeader::new_checked(&PACKET_BYTES).unwrap();
        assert_eq!(h.flags(), 0x08);
        assert!(h.vni_valid());
        assert_eq!(h.vni(), 100);
        assert_eq!(visited(|v| h.visit_fields(v)), ["flags=8", "vni=100"]);
    }

    #[test]
    fn reserved_bits_are_ignored() {
        let h = VxlanHeader::new_checked(&RESERVED_BYTES).unwrap();
        assert_eq!(h.flags(), 0xff);
        assert!(h.vni_valid());
        assert_eq!(h.vni(), 11);
        let mut bytes = RESERVED_BYTES;
        bytes[0] = 0xf7; // every flag but I
        let h = VxlanHeader::new_checked(&bytes).unwrap();
        assert!(!h.vni_valid());
        assert_eq!(h.vni(), 11);
    }

    #[test]
    fn truncated() {
        for n in 0..HEADER_LEN {
            assert_eq!(
                VxlanHeader::new_checked(&PACKET_BYTES[..n]).err(),
                Some(Error::Truncated {
                    layer: Layer::Vxlan,
                    offset: 0,
                    needed: 8,
                    available: n
                }),
                "{n} bytes"
            );
        }
    }
}
