//! ERSPAN (draft-foschiano-erspan; Cisco): type I (GRE 0x88be without sequence number, no
//! ERSPAN header), type II (GRE 0x88be, 8-byte header) and type III (GRE 0x22eb, 12-byte
//! header plus an optional 8-byte platform-specific subheader when the O bit is set).

use crate::error::{Layer, Result};
use crate::packet::bytes::{invalid, take, u16_at, u32_at, u8_at};
use crate::value::{FieldVisitor, Value};

/// Zero-copy view of an ERSPAN header (empty for type I).
#[derive(Clone, Copy, Debug)]
pub struct ErspanHeader<'a> {
    bytes: &'a [u8],
    erspan_type: u8,
}

impl<'a> ErspanHeader<'a> {
    /// Views an ERSPAN header of `erspan_type` 1, 2 or 3 (chosen from the GRE header).
    ///
    /// # Errors
    /// [`crate::Error::Truncated`] if the header does not fit; [`crate::Error::Invalid`] if the
    /// Ver field disagrees with the type (II carries Ver 1, III carries Ver 2).
    pub fn new_checked(buf: &'a [u8], erspan_type: u8) -> Result<Self> {
        let bytes = match erspan_type {
            2 => take(buf, 8, Layer::Erspan)?,
            3 => {
                let fixed = take(buf, 12, Layer::Erspan)?;
                let o = u8_at(fixed, 11) & 1 != 0;
                take(buf, if o { 20 } else { 12 }, Layer::Erspan)?
            }
            _ => &[],
        };
        if erspan_type >= 2 {
            let ver = u8_at(bytes, 0) >> 4;
            if ver != erspan_type - 1 {
                return Err(invalid(Layer::Erspan, 0, "ver", ver.into()));
            }
        }
        Ok(ErspanHeader {
            bytes,
            erspan_type: erspan_type.clamp(1, 3),
        })
    }

    /// ERSPAN type: 1, 2 or 3.
    pub fn erspan_type(&self) -> u8 {
        self.erspan_type
    }
    /// Original VLAN (types II and III).
    pub fn vlan(&self) -> Option<u16> {
        (self.erspan_type >= 2).then(|| u16_at(self.bytes, 0) & 0x0fff)
    }
    /// Class of service.
    pub fn cos(&self) -> Option<u8> {
        (self.erspan_type >= 2).then(|| u8_at(self.bytes, 2) >> 5)
    }
    /// Encapsulation type (II) / BSO (III), 2 bits.
    pub fn en(&self) -> Option<u8> {
        (self.erspan_type >= 2).then(|| (u8_at(self.bytes, 2) >> 3) & 3)
    }
    /// Truncated bit.
    pub fn truncated(&self) -> Option<bool> {
        (self.erspan_type >= 2).then(|| u8_at(self.bytes, 2) & 4 != 0)
    }
    /// Session id (10 bits).
    pub fn session_id(&self) -> Option<u16> {
        (self.erspan_type >= 2).then(|| u16_at(self.bytes, 2) & 0x03ff)
    }
    /// Port index (type II, 20 bits).
    pub fn index(&self) -> Option<u32> {
        (self.erspan_type == 2).then(|| u32_at(self.bytes, 4) & 0x000f_ffff)
    }
    /// Timestamp (type III).
    pub fn timestamp(&self) -> Option<u32> {
        (self.erspan_type == 3).then(|| u32_at(self.bytes, 4))
    }
    /// Security group tag (type III).
    pub fn sgt(&self) -> Option<u16> {
        (self.erspan_type == 3).then(|| u16_at(self.bytes, 8))
    }
    /// Frame type (type III: 0 Ethernet, 2 IP).
    pub fn frame_type(&self) -> Option<u8> {
        (self.erspan_type == 3).then(|| (u8_at(self.bytes, 10) >> 2) & 0x1f)
    }
    /// Hardware id (type III).
    pub fn hw_id(&self) -> Option<u8> {
        (self.erspan_type == 3).then(|| ((u16_at(self.bytes, 10) >> 4) & 0x3f) as u8)
    }
    /// Platform-specific subheader (type III with O set).
    pub fn platform_subheader(&self) -> Option<&'a [u8]> {
        self.bytes.get(12..20)
    }

    /// Header length in bytes (0 for type I).
    pub fn header_len(&self) -> usize {
        self.bytes.len()
    }

    /// Visits the header fields.
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        v.field("type", Value::U64(self.erspan_type.into()));
        if let (Some(vlan), Some(cos), Some(sid)) = (self.vlan(), self.cos(), self.session_id()) {
            v.field("vlan", Value::U64(vlan.into()));
            v.field("cos", Value::U64(cos.into()));
            v.field("session_id", Value::U64(sid.into()));
        }
        if let Some(i) = self.index() {
            v.field("index", Value::U64(i.into()));
        }
        if let (Some(ts), Some(sgt), Some(ft)) = (self.timestamp(), self.sgt(), self.frame_type()) {
            v.field("timestamp", Value::U64(ts.into()));
            v.field("sgt", Value::U64(sgt.into()));
            v.field("ft", Value::U64(ft.into()));
        }
        if let Some(p) = self.platform_subheader() {
            v.field("platform_subheader", Value::Hex(p));
        }
    }
}
