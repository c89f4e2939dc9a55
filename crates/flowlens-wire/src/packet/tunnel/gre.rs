//! GRE (RFC 2784, key and sequence number RFC 2890), NVGRE (RFC 7637) and the enhanced GRE
//! version 1 of PPTP (RFC 2637 section 4.1).

use crate::error::{Layer, Result};
use crate::packet::bytes::{take, u16_at, u32_at, unsupported};
use crate::value::{FieldVisitor, Value};

const C: u16 = 0x8000;
const R: u16 = 0x4000;
const K: u16 = 0x2000;
const S: u16 = 0x1000;
const A: u16 = 0x0080;

/// Transparent Ethernet Bridging protocol type (NVGRE / GRE-TEB).
pub const PROTO_TEB: u16 = 0x6558;

/// Zero-copy view of a GRE header with its optional fields.
#[derive(Clone, Copy, Debug)]
pub struct GreHeader<'a> {
    bytes: &'a [u8],
}

impl<'a> GreHeader<'a> {
    /// Views the GRE header, sized from its flag bits.
    ///
    /// # Errors
    /// [`crate::Error::Truncated`] if the optional fields do not fit;
    /// [`crate::Error::Unsupported`] for versions other than 0 and 1 and for RFC 1701 source
    /// routing (R bit).
    pub fn new_checked(buf: &'a [u8]) -> Result<Self> {
        let fixed = take(buf, 4, Layer::Gre)?;
        let flags = u16_at(fixed, 0);
        let version = flags & 7;
        if version > 1 {
            return Err(unsupported(Layer::Gre, 0, "version", version.into()));
        }
        if flags & R != 0 {
            return Err(unsupported(Layer::Gre, 0, "routing_present", 1));
        }
        let mut n = 4;
        if flags & C != 0 {
            n += 4;
        }
        if flags & K != 0 {
            n += 4;
        }
        if flags & S != 0 {
            n += 4;
        }
        if version == 1 && flags & A != 0 {
            n += 4;
        }
        Ok(GreHeader {
            bytes: take(buf, n, Layer::Gre)?,
        })
    }

    fn flags(&self) -> u16 {
        u16_at(self.bytes, 0)
    }
    /// Checksum present (C).
    pub fn checksum_present(&self) -> bool {
        self.flags() & C != 0
    }
    /// Key present (K).
    pub fn key_present(&self) -> bool {
        self.flags() & K != 0
    }
    /// Sequence number present (S).
    pub fn seq_present(&self) -> bool {
        self.flags() & S != 0
    }
    /// Acknowledgment number present (A, version 1 only).
    pub fn ack_present(&self) -> bool {
        self.version() == 1 && self.flags() & A != 0
    }
    /// Version (0 = GRE, 1 = PPTP enhanced GRE).
    pub fn version(&self) -> u8 {
        (self.flags() & 7) as u8
    }
    /// Protocol type (an EtherType).
    pub fn protocol_type(&self) -> u16 {
        u16_at(self.bytes, 2)
    }

    fn opt_offset(&self, bit: u16) -> usize {
        let f = self.flags();
        let mut off = 4;
        for b in [C, K, S] {
            if b == bit {
                return off;
            }
            if f & b != 0 {
                off += 4;
            }
        }
        off
    }

    /// Checksum (when C is set).
    pub fn checksum(&self) -> Option<u16> {
        self.checksum_present().then(|| u16_at(self.bytes, 4))
    }
    /// Key (when K is set). For version 1 this is payload length << 16 | call id.
    pub fn key(&self) -> Option<u32> {
        self.key_present()
            .then(|| u32_at(self.bytes, self.opt_offset(K)))
    }
    /// Sequence number (when S is set).
    pub fn sequence(&self) -> Option<u32> {
        self.seq_present()
            .then(|| u32_at(self.bytes, self.opt_offset(S)))
    }
    /// Acknowledgment number (version 1 with A set).
    pub fn ack(&self) -> Option<u32> {
        self.ack_present()
            .then(|| u32_at(self.bytes, self.bytes.len().saturating_sub(4)))
    }
    /// PPTP call id (version 1: low 16 bits of the key field).
    pub fn call_id(&self) -> Option<u16> {
        (self.version() == 1)
            .then(|| self.key().map(|k| (k & 0xffff) as u16))
            .flatten()
    }
    /// True for the NVGRE wire format: version 0, K set, protocol 0x6558 (RFC 7637).
    pub fn is_nvgre(&self) -> bool {
        self.version() == 0 && self.key_present() && self.protocol_type() == PROTO_TEB
    }
    /// NVGRE virtual subnet id (upper 24 bits of the key).
    pub fn vsid(&self) -> Option<u32> {
        self.is_nvgre()
            .then(|| self.key().map(|k| k >> 8))
            .flatten()
    }
    /// NVGRE flow id (low 8 bits of the key).
    pub fn flow_id(&self) -> Option<u8> {
        self.is_nvgre()
            .then(|| self.key().map(|k| (k & 0xff) as u8))
            .flatten()
    }

    /// Header length in bytes.
    pub fn header_len(&self) -> usize {
        self.bytes.len()
    }

    /// Visits the header fields.
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        v.field("version", Value::U64(self.version().into()));
        v.field("protocol_type", Value::U64(self.protocol_type().into()));
        if let Some(c) = self.checksum() {
            v.field("checksum", Value::U64(c.into()));
        }
        if let Some(k) = self.key() {
            v.field("key", Value::U64(k.into()));
        }
        if let (Some(vsid), Some(fid)) = (self.vsid(), self.flow_id()) {
            v.field("vsid", Value::U64(vsid.into()));
            v.field("flow_id", Value::U64(fid.into()));
        }
        if let Some(s) = self.sequence() {
            v.field("sequence_number", Value::U64(s.into()));
        }
        if let Some(a) = self.ack() {
            v.field("acknowledgment_number", Value::U64(a.into()));
        }
    }
}
