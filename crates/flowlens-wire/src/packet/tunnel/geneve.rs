//! Geneve (RFC 8926).

use crate::error::{Layer, Result};
use crate::packet::bytes::{take, u16_at, u24_at, u8_at, unsupported};
use crate::value::{FieldVisitor, Value};

/// Zero-copy view of a Geneve header including its options.
#[derive(Clone, Copy, Debug)]
pub struct GeneveHeader<'a> {
    bytes: &'a [u8],
}

impl<'a> GeneveHeader<'a> {
    /// Views the header and its `opt_len * 4` option bytes.
    ///
    /// # Errors
    /// [`crate::Error::Truncated`] if the options do not fit; [`crate::Error::Unsupported`] for
    /// a version other than 0.
    pub fn new_checked(buf: &'a [u8]) -> Result<Self> {
        let fixed = take(buf, 8, Layer::Geneve)?;
        let ver = u8_at(fixed, 0) >> 6;
        if ver != 0 {
            return Err(unsupported(Layer::Geneve, 0, "version", ver.into()));
        }
        let n = 8 + usize::from(u8_at(fixed, 0) & 0x3f) * 4;
        Ok(GeneveHeader {
            bytes: take(buf, n, Layer::Geneve)?,
        })
    }
    /// Options length in 4-byte words.
    pub fn opt_len(&self) -> u8 {
        u8_at(self.bytes, 0) & 0x3f
    }
    /// OAM packet.
    pub fn oam(&self) -> bool {
        u8_at(self.bytes, 1) & 0x80 != 0
    }
    /// Critical options present.
    pub fn critical(&self) -> bool {
        u8_at(self.bytes, 1) & 0x40 != 0
    }
    /// Protocol type of the payload (0x6558 Ethernet, 0x0800, 0x86dd).
    pub fn protocol_type(&self) -> u16 {
        u16_at(self.bytes, 2)
    }
    /// Virtual network identifier.
    pub fn vni(&self) -> u32 {
        u24_at(self.bytes, 4)
    }
    /// The options.
    pub fn options(&self) -> GeneveOptions<'a> {
        GeneveOptions {
            rest: self.bytes.get(8..).unwrap_or(&[]),
        }
    }
    /// Header length in bytes.
    pub fn header_len(&self) -> usize {
        self.bytes.len()
    }
    /// Visits the header fields.
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        v.field("opt_len", Value::U64(self.opt_len().into()));
        v.field("oam", Value::Bool(self.oam()));
        v.field("critical", Value::Bool(self.critical()));
        v.field("protocol_type", Value::U64(self.protocol_type().into()));
        v.field("vni", Value::U64(self.vni().into()));
        v.field("options", Value::U64(self.options().count() as u64));
    }
}

/// One Geneve option TLV.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GeneveOption<'a> {
    /// Option class.
    pub class: u16,
    /// Option type (high bit = critical).
    pub option_type: u8,
    /// Option data (`length * 4` bytes).
    pub data: &'a [u8],
}

/// Iterator over Geneve options; stops at the end or at an option overrunning the header.
#[derive(Clone, Copy, Debug)]
pub struct GeneveOptions<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for GeneveOptions<'a> {
    type Item = GeneveOption<'a>;
    fn next(&mut self) -> Option<GeneveOption<'a>> {
        let head = self.rest.get(..4)?;
        let n = usize::from(u8_at(head, 3) & 0x1f) * 4;
        let Some(data) = self.rest.get(4..4 + n) else {
            self.rest = &[];
            return None;
        };
        self.rest = self.rest.get(4 + n..).unwrap_or(&[]);
        Some(GeneveOption {
            class: u16_at(head, 0),
            option_type: u8_at(head, 2),
            data,
        })
    }
}
