//! IEEE 802.1Q / 802.1ad VLAN tags (TPIDs 0x8100, 0x88a8 and the legacy QinQ 0x9100).

use super::bytes::{take, u16_at};
use crate::error::{Layer, Result};
use crate::value::{FieldVisitor, Value};

/// Length of the tag after its TPID: TCI (2) + inner EtherType (2).
pub const TAG_LEN: usize = 4;

/// Byte offsets in the tag, counted from the TCI (IEEE 802.1Q clause 9.6); each 2 bytes wide.
mod field {
    /// Tag control information: PCP (3 bits), DEI (1 bit), VID (12 bits).
    pub(super) const TCI: usize = 0;
    /// EtherType of what follows.
    pub(super) const ETHERTYPE: usize = 2;
}

/// True for the TPIDs the walker treats as a VLAN tag.
pub const fn is_tpid(ethertype: u16) -> bool {
    matches!(ethertype, 0x8100 | 0x88a8 | 0x9100)
}

/// Zero-copy view of one VLAN tag. The view starts at the TCI; the TPID that announced it
/// (the preceding EtherType) is kept alongside.
#[derive(Clone, Copy, Debug)]
pub struct VlanTag<'a> {
    bytes: &'a [u8],
    tpid: u16,
}

impl<'a> VlanTag<'a> {
    /// Views the TCI and inner EtherType at the start of `buf`.
    ///
    /// # Errors
    /// [`crate::Error::Truncated`] if `buf` is shorter than 4 bytes.
    pub fn new_checked(buf: &'a [u8], tpid: u16) -> Result<Self> {
        Ok(VlanTag {
            bytes: take(buf, TAG_LEN, Layer::Vlan)?,
            tpid,
        })
    }

    /// Tag protocol identifier (0x8100 C-tag, 0x88a8 S-tag, 0x9100 legacy).
    pub fn tpid(&self) -> u16 {
        self.tpid
    }

    /// Priority code point (3 bits).
    pub fn pcp(&self) -> u8 {
        (u16_at(self.bytes, field::TCI) >> 13) as u8
    }

    /// Drop eligible indicator.
    pub fn dei(&self) -> bool {
        u16_at(self.bytes, field::TCI) & 0x1000 != 0
    }

    /// VLAN identifier (12 bits).
    pub fn vid(&self) -> u16 {
        u16_at(self.bytes, field::TCI) & 0x0fff
    }

    /// EtherType of what follows the tag.
    pub fn ethertype(&self) -> u16 {
        u16_at(self.bytes, field::ETHERTYPE)
    }

    /// Visits the tag fields.
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        v.field("tpid", Value::U64(self.tpid.into()));
        v.field("pcp", Value::U64(self.pcp().into()));
        v.field("dei", Value::Bool(self.dei()));
        v.field("vid", Value::U64(self.vid().into()));
        v.field("ethertype", Value::U64(self.ethertype().into()));
    }
}

#[cfg(test)]
mod tests {
    use super::super::bytes::testing::visited;
    use super::*;
    use crate::Error;

    /// Bytes 14..22 of frame 1 of `packets/vlan/tcpdump__802.1ad_QinQ.pcap` (`tshark -x`):
    /// the two tags after the outer TPID 0x88a8; expected values are tshark 4.0's.
    static PACKET_BYTES: [u8; 8] = [
        0x00, 0xc8, // S-tag TCI: priority 0, DEI 0, ID 200
        0x81, 0x00, // type 802.1Q (the inner tag's TPID)
        0x07, 0xd1, // C-tag TCI: priority 0, DEI 0, ID 2001
        0x08, 0x06, // type ARP
    ];

    /// Bytes 14..18 of frame 1 of `packets/vlan/zeek__http-qinq-0.pcap`.
    static PRIORITY_BYTES: [u8; 4] = [
        0xb0, 0x00, // TCI: priority 5 (101), DEI 1, ID 0
        0x81, 0x00, // type 802.1Q
    ];

    #[test]
    fn deconstruct_qinq() {
        let outer = VlanTag::new_checked(&PACKET_BYTES, 0x88a8).unwrap();
        assert_eq!(outer.tpid(), 0x88a8);
        assert_eq!((outer.pcp(), outer.dei(), outer.vid()), (0, false, 200));
        assert_eq!(outer.ethertype(), 0x8100);
        assert!(is_tpid(outer.ethertype()));
        let inner = VlanTag::new_checked(&PACKET_BYTES[TAG_LEN..], outer.ethertype()).unwrap();
        assert_eq!(inner.tpid(), 0x8100);
        assert_eq!((inner.pcp(), inner.dei(), inner.vid()), (0, false, 2001));
        assert_eq!(inner.ethertype(), 0x0806);
        assert!(!is_tpid(inner.ethertype()));
        assert_eq!(
            visited(|v| inner.visit_fields(v)),
            [
                "tpid=33024",
                "pcp=0",
                "dei=false",
                "vid=2001",
                "ethertype=2054"
            ]
        );
    }

    #[test]
    fn priority_and_dei() {
        let t = VlanTag::new_checked(&PRIORITY_BYTES, 0x8100).unwrap();
        assert_eq!((t.pcp(), t.dei(), t.vid()), (5, true, 0));
        assert_eq!(t.ethertype(), 0x8100);
        let mut bytes = PRIORITY_BYTES;
        bytes[0] = 0xef; // priority 7, DEI 0, ID 0xfff
        bytes[1] = 0xff;
        let t = VlanTag::new_checked(&bytes, 0x9100).unwrap();
        assert_eq!(
            (t.tpid(), t.pcp(), t.dei(), t.vid()),
            (0x9100, 7, false, 4095)
        );
        assert!([0x8100, 0x88a8, 0x9100].into_iter().all(is_tpid));
        assert!(!is_tpid(0x0800) && !is_tpid(0x8847));
    }

    #[test]
    fn truncated() {
        for n in 0..TAG_LEN {
            assert_eq!(
                VlanTag::new_checked(&PACKET_BYTES[..n], 0x8100).err(),
                Some(Error::Truncated {
                    layer: Layer::Vlan,
                    offset: 0,
                    needed: 4,
                    available: n
                }),
                "{n} bytes"
            );
        }
    }
}
