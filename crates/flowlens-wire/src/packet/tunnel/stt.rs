//! STT frame header (draft-davie-stt-08 section 3.1), found at the start of the TCP-like
//! segment payload sent to port 7471.

use crate::error::{Layer, Result};
use crate::packet::bytes::{array_at, take, u16_at, u8_at};
use crate::value::{FieldVisitor, Value};

/// Frame header length (including the 2 bytes of padding).
pub const HEADER_LEN: usize = 18;

/// Byte offsets of the frame header fields (draft-davie-stt-08 section 3.1).
mod field {
    /// Version, 1 byte.
    pub(super) const VERSION: usize = 0;
    /// Flags, 1 byte.
    pub(super) const FLAGS: usize = 1;
    /// L4 offset, 1 byte; 1 reserved byte follows.
    pub(super) const L4_OFFSET: usize = 2;
    /// Maximum segment size, 2 bytes.
    pub(super) const MSS: usize = 4;
    /// PCP (3 bits), V (1 bit) and VLAN ID (12 bits), 2 bytes.
    pub(super) const VLAN_TCI: usize = 6;
    /// Context ID, 8 bytes; 2 bytes of padding follow.
    pub(super) const CONTEXT_ID: usize = 8;
}

/// Zero-copy view of an STT frame header.
#[derive(Clone, Copy, Debug)]
pub struct SttHeader<'a> {
    bytes: &'a [u8],
}

impl<'a> SttHeader<'a> {
    /// Views the 18-byte frame header.
    ///
    /// # Errors
    /// [`crate::Error::Truncated`] if fewer than 18 bytes.
    pub fn new_checked(buf: &'a [u8]) -> Result<Self> {
        Ok(SttHeader {
            bytes: take(buf, HEADER_LEN, Layer::Stt)?,
        })
    }
    /// Version (0).
    pub fn version(&self) -> u8 {
        u8_at(self.bytes, field::VERSION)
    }
    /// Flags.
    pub fn flags(&self) -> u8 {
        u8_at(self.bytes, field::FLAGS)
    }
    /// L4 offset.
    pub fn l4_offset(&self) -> u8 {
        u8_at(self.bytes, field::L4_OFFSET)
    }
    /// Maximum segment size.
    pub fn mss(&self) -> u16 {
        u16_at(self.bytes, field::MSS)
    }
    /// VLAN TCI (PCP, V, VID).
    pub fn vlan_tci(&self) -> u16 {
        u16_at(self.bytes, field::VLAN_TCI)
    }
    /// 64-bit context id.
    pub fn context_id(&self) -> u64 {
        u64::from_be_bytes(array_at(self.bytes, field::CONTEXT_ID))
    }
    /// Visits the header fields.
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        v.field("version", Value::U64(self.version().into()));
        v.field("flags", Value::U64(self.flags().into()));
        v.field("l4_offset", Value::U64(self.l4_offset().into()));
        v.field("mss", Value::U64(self.mss().into()));
        v.field("vlan_tci", Value::U64(self.vlan_tci().into()));
        v.field("context_id", Value::U64(self.context_id()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::bytes::testing::visited;
    use crate::Error;

    static PACKET_BYTES: [u8; 20] = [
        0x00, // version 0
        0x0d, // flags: checksum verified (bit 0), IPv4 (bit 2), TCP payload (bit 3)
        0x22, // L4 offset 34 (Ethernet 14 + IPv4 20)
        0x00, // reserved
        0x05, 0x96, // max segment size 1430
        0xb0, 0x64, // PCP 5, V 1, VLAN ID 100
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0xd2, // context ID 1234
        0x00, 0x00, // padding
        0x00, 0x1b, // encapsulated frame, not part of the view
    ];

    #[test]
    fn deconstruct() {
        let h = SttHeader::new_checked(&PACKET_BYTES).unwrap();
        assert_eq!(h.version(), 0);
        assert_eq!(h.flags(), 0x0d);
        assert_eq!(h.l4_offset(), 34);
        assert_eq!(h.mss(), 1430);
        assert_eq!(h.vlan_tci(), 0xb064);
        assert_eq!(h.context_id(), 1234);
        assert_eq!(
            visited(|v| h.visit_fields(v)),
            [
                "version=0",
                "flags=13",
                "l4_offset=34",
                "mss=1430",
                "vlan_tci=45156",
                "context_id=1234"
            ]
        );
        let mut bytes = PACKET_BYTES;
        bytes[8..16].copy_from_slice(&[0x80, 1, 2, 3, 4, 5, 6, 7]);
        let h = SttHeader::new_checked(&bytes).unwrap();
        assert_eq!(h.context_id(), 0x8001_0203_0405_0607, "all 64 bits");
    }

    #[test]
    fn truncated() {
        for n in 0..HEADER_LEN {
            assert_eq!(
                SttHeader::new_checked(&PACKET_BYTES[..n]).err(),
                Some(Error::Truncated {
                    layer: Layer::Stt,
                    offset: 0,
                    needed: 18,
                    available: n
                }),
                "{n} bytes"
            );
        }
    }
}
