//! MPLS label stack entries (RFC 3032) and the pseudowire control word (RFC 4385).

use super::bytes::{take, u16_at, u32_at, u8_at};
use crate::error::{Layer, Result};
use crate::value::{FieldVisitor, Value};

/// Length of one label stack entry.
pub const ENTRY_LEN: usize = 4;

/// IPv4 explicit NULL label (RFC 3032 section 2.1).
pub const IPV4_EXPLICIT_NULL: u32 = 0;
/// IPv6 explicit NULL label.
pub const IPV6_EXPLICIT_NULL: u32 = 2;

/// Byte offsets in a label stack entry (RFC 3032 section 2.1, TC per RFC 5462).
mod field {
    /// Label (20 bits), TC (3 bits) and S (1 bit), read as the entry's first 4 bytes.
    pub(super) const LABEL_TC_S: usize = 0;
    /// Time to live, 1 byte.
    pub(super) const TTL: usize = 3;
}

/// Byte offsets in the generic pseudowire control word (RFC 4385 section 3).
mod cw_field {
    /// `0000` nibble and flags (4 bits), 1 byte.
    pub(super) const FLAGS: usize = 0;
    /// FRG (2 bits) and length (6 bits), 1 byte.
    pub(super) const FRG_LENGTH: usize = 1;
    /// Sequence number, 2 bytes.
    pub(super) const SEQUENCE: usize = 2;
    /// Control word length.
    pub(super) const LEN: usize = 4;
}

/// Zero-copy view of one MPLS label stack entry.
#[derive(Clone, Copy, Debug)]
pub struct MplsEntry<'a> {
    bytes: &'a [u8],
}

impl<'a> MplsEntry<'a> {
    /// Views the 4-byte entry at the start of `buf`.
    ///
    /// # Errors
    /// [`crate::Error::Truncated`] if `buf` is shorter than 4 bytes.
    pub fn new_checked(buf: &'a [u8]) -> Result<Self> {
        Ok(MplsEntry {
            bytes: take(buf, ENTRY_LEN, Layer::Mpls)?,
        })
    }

    /// Label value (20 bits).
    pub fn label(&self) -> u32 {
        u32_at(self.bytes, field::LABEL_TC_S) >> 12
    }

    /// Traffic class (3 bits, formerly EXP).
    pub fn traffic_class(&self) -> u8 {
        ((u32_at(self.bytes, field::LABEL_TC_S) >> 9) & 7) as u8
    }

    /// Bottom-of-stack bit.
    pub fn bottom_of_stack(&self) -> bool {
        u32_at(self.bytes, field::LABEL_TC_S) & 0x100 != 0
    }

    /// Time to live.
    pub fn ttl(&self) -> u8 {
        u8_at(self.bytes, field::TTL)
    }

    /// Visits the entry fields.
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        v.field("label", Value::U64(self.label().into()));
        v.field("tc", Value::U64(self.traffic_class().into()));
        v.field("s", Value::Bool(self.bottom_of_stack()));
        v.field("ttl", Value::U64(self.ttl().into()));
    }
}

/// Zero-copy view of a pseudowire control word (RFC 4385 section 3, generic form `0000`).
#[derive(Clone, Copy, Debug)]
pub struct PwControlWord<'a> {
    bytes: &'a [u8],
}

impl<'a> PwControlWord<'a> {
    /// Views the 4-byte control word at the start of `buf`.
    ///
    /// # Errors
    /// [`crate::Error::Truncated`] if `buf` is shorter than 4 bytes.
    pub fn new_checked(buf: &'a [u8]) -> Result<Self> {
        Ok(PwControlWord {
            bytes: take(buf, cw_field::LEN, Layer::PwControlWord)?,
        })
    }

    /// Flags (4 bits after the `0000` nibble).
    pub fn flags(&self) -> u8 {
        u8_at(self.bytes, cw_field::FLAGS) & 0x0f
    }

    /// Fragmentation bits (2 bits).
    pub fn frg(&self) -> u8 {
        u8_at(self.bytes, cw_field::FRG_LENGTH) >> 6
    }

    /// Length (6 bits; non-zero only for short payloads).
    pub fn length(&self) -> u8 {
        u8_at(self.bytes, cw_field::FRG_LENGTH) & 0x3f
    }

    /// Sequence number (0 = not used).
    pub fn sequence(&self) -> u16 {
        u16_at(self.bytes, cw_field::SEQUENCE)
    }

    /// Visits the control word fields.
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        v.field("flags", Value::U64(self.flags().into()));
        v.field("frg", Value::U64(self.frg().into()));
        v.field("length", Value::U64(self.length().into()));
        v.field("sequence", Value::U64(self.sequence().into()));
    }
}

#[cfg(test)]
mod tests {
    use super::super::bytes::testing::visited;
    use super::*;
    use crate::Error;

    /// Bytes 14..22 of frame 1 of `packets/mpls/akvorado__mpls-ipv4.pcap` (`tshark -x`): a
    /// two-entry label stack; expected values are tshark 4.0's (`tshark -V -O mpls`).
    static PACKET_BYTES: [u8; 8] = [
        0x00, 0x01, 0x2a, 0xff, // label 18, TC (EXP) 5, S 0, TTL 255
        0x00, 0x01, 0x0b, 0xff, // label 16, TC 5, S 1, TTL 255
    ];

    /// A generic pseudowire control word (RFC 4385 section 3).
    static CW_BYTES: [u8; 4] = [
        0x05, // 0000, flags 0101
        0x8a, // FRG 10, length 10
        0x01, 0x02, // sequence number 258
    ];

    #[test]
    fn label_stack() {
        let top = MplsEntry::new_checked(&PACKET_BYTES).unwrap();
        assert_eq!(top.label(), 18);
        assert_eq!(top.traffic_class(), 5);
        assert!(!top.bottom_of_stack());
        assert_eq!(top.ttl(), 255);
        let bottom = MplsEntry::new_checked(&PACKET_BYTES[ENTRY_LEN..]).unwrap();
        assert_eq!(bottom.label(), 16);
        assert_eq!(bottom.traffic_class(), 5);
        assert!(bottom.bottom_of_stack());
        assert_eq!(bottom.ttl(), 255);
        assert_eq!(
            visited(|v| bottom.visit_fields(v)),
            ["label=16", "tc=5", "s=true", "ttl=255"]
        );
        // Bytes 14..18 of frame 1 of `packets/mpls/akvorado__mpls-eompls-cw.pcap`: a label
        // above 2^16 (tshark: 300012).
        let e = MplsEntry::new_checked(&[0x49, 0x3e, 0xc0, 0xff]).unwrap();
        assert_eq!(
            (e.label(), e.traffic_class(), e.bottom_of_stack()),
            (300_012, 0, false)
        );
        // The largest label, every TC bit, TTL 0.
        let e = MplsEntry::new_checked(&[0xff, 0xff, 0xfe, 0x00]).unwrap();
        assert_eq!(
            (e.label(), e.traffic_class(), e.bottom_of_stack()),
            (0xf_ffff, 7, false)
        );
        assert_eq!(e.ttl(), 0);
    }

    #[test]
    fn control_word() {
        let cw = PwControlWord::new_checked(&CW_BYTES).unwrap();
        assert_eq!(cw.flags(), 5);
        assert_eq!(cw.frg(), 2);
        assert_eq!(cw.length(), 10);
        assert_eq!(cw.sequence(), 258);
        assert_eq!(
            visited(|v| cw.visit_fields(v)),
            ["flags=5", "frg=2", "length=10", "sequence=258"]
        );
    }

    #[test]
    fn truncated() {
        for n in 0..4 {
            assert_eq!(
                MplsEntry::new_checked(&PACKET_BYTES[..n]).err(),
                Some(Error::Truncated {
                    layer: Layer::Mpls,
                    offset: 0,
                    needed: 4,
                    available: n
                }),
                "{n} bytes"
            );
            assert_eq!(
                PwControlWord::new_checked(&CW_BYTES[..n]).err(),
                Some(Error::Truncated {
                    layer: Layer::PwControlWord,
                    offset: 0,
                    needed: 4,
                    available: n
                }),
                "{n} bytes"
            );
        }
    }
}
