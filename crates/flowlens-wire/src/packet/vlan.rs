//! IEEE 802.1Q / 802.1ad VLAN tags (TPIDs 0x8100, 0x88a8 and the legacy QinQ 0x9100).

use super::bytes::{take, u16_at};
use crate::error::{Layer, Result};
use crate::value::{FieldVisitor, Value};

/// Length of the tag after its TPID: TCI (2) + inner EtherType (2).
pub const TAG_LEN: usize = 4;

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
        (u16_at(self.bytes, 0) >> 13) as u8
    }

    /// Drop eligible indicator.
    pub fn dei(&self) -> bool {
        u16_at(self.bytes, 0) & 0x1000 != 0
    }

    /// VLAN identifier (12 bits).
    pub fn vid(&self) -> u16 {
        u16_at(self.bytes, 0) & 0x0fff
    }

    /// EtherType of what follows the tag.
    pub fn ethertype(&self) -> u16 {
        u16_at(self.bytes, 2)
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
