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
        u32_at(self.bytes, 0) >> 12
    }

    /// Traffic class (3 bits, formerly EXP).
    pub fn traffic_class(&self) -> u8 {
        ((u32_at(self.bytes, 0) >> 9) & 7) as u8
    }

    /// Bottom-of-stack bit.
    pub fn bottom_of_stack(&self) -> bool {
        u32_at(self.bytes, 0) & 0x100 != 0
    }

    /// Time to live.
    pub fn ttl(&self) -> u8 {
        u8_at(self.bytes, 3)
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
            bytes: take(buf, 4, Layer::PwControlWord)?,
        })
    }

    /// Flags (4 bits after the `0000` nibble).
    pub fn flags(&self) -> u8 {
        u8_at(self.bytes, 0) & 0x0f
    }

    /// Fragmentation bits (2 bits).
    pub fn frg(&self) -> u8 {
        u8_at(self.bytes, 1) >> 6
    }

    /// Length (6 bits; non-zero only for short payloads).
    pub fn length(&self) -> u8 {
        u8_at(self.bytes, 1) & 0x3f
    }

    /// Sequence number (0 = not used).
    pub fn sequence(&self) -> u16 {
        u16_at(self.bytes, 2)
    }

    /// Visits the control word fields.
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        v.field("flags", Value::U64(self.flags().into()));
        v.field("frg", Value::U64(self.frg().into()));
        v.field("length", Value::U64(self.length().into()));
        v.field("sequence", Value::U64(self.sequence().into()));
    }
}
