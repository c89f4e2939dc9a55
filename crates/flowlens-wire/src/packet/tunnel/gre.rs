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

/// Byte offsets of the header fields (RFC 2784 section 2.1, RFC 2890 section 2, RFC 2637
/// section 4.1).
mod field {
    /// Flag bits (C R K S, version 1 also A) and version (3 bits), 2 bytes.
    pub(super) const FLAGS_VERSION: usize = 0;
    /// Protocol type, 2 bytes.
    pub(super) const PROTOCOL_TYPE: usize = 2;
    /// First optional field, and length of the fixed header. The optional fields follow in
    /// this order, each present or not by its flag: checksum (2 bytes) and reserved1 (2
    /// bytes) if C, key if K, sequence number if S, acknowledgment number if A (version 1).
    pub(super) const OPTIONAL: usize = 4;
    /// Size of each optional field (the checksum counts with its reserved1).
    pub(super) const OPTIONAL_LEN: usize = 4;
}

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
        let fixed = take(buf, field::OPTIONAL, Layer::Gre)?;
        let flags = u16_at(fixed, field::FLAGS_VERSION);
        let version = flags & 7;
        if version > 1 {
            return Err(unsupported(
                Layer::Gre,
                field::FLAGS_VERSION,
                "version",
                version.into(),
            ));
        }
        if flags & R != 0 {
            return Err(unsupported(
                Layer::Gre,
                field::FLAGS_VERSION,
                "routing_present",
                1,
            ));
        }
        let mut n = field::OPTIONAL;
        if flags & C != 0 {
            n += field::OPTIONAL_LEN;
        }
        if flags & K != 0 {
            n += field::OPTIONAL_LEN;
        }
        if flags & S != 0 {
            n += field::OPTIONAL_LEN;
        }
        if version == 1 && flags & A != 0 {
            n += field::OPTIONAL_LEN;
        }
        Ok(GreHeader {
            bytes: take(buf, n, Layer::Gre)?,
        })
    }

    fn flags(&self) -> u16 {
        u16_at(self.bytes, field::FLAGS_VERSION)
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
        u16_at(self.bytes, field::PROTOCOL_TYPE)
    }

    fn opt_offset(&self, bit: u16) -> usize {
        let f = self.flags();
        let mut off = field::OPTIONAL;
        for b in [C, K, S] {
            if b == bit {
                return off;
            }
            if f & b != 0 {
                off += field::OPTIONAL_LEN;
            }
        }
        off
    }

    /// Checksum (when C is set).
    pub fn checksum(&self) -> Option<u16> {
        self.checksum_present()
            .then(|| u16_at(self.bytes, self.opt_offset(C)))
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
        self.ack_present().then(|| {
            u32_at(
                self.bytes,
                self.bytes.len().saturating_sub(field::OPTIONAL_LEN),
            )
        })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::bytes::testing::visited;
    use crate::Error;

    /// Bytes 34..50 of frame 1 of `packets/tunnels/packetnet__gre_all_options.pcap`
    /// (`tshark -x`); expected values are tshark 4.0's (`tshark -V -O gre`).
    static PACKET_BYTES: [u8; 20] = [
        0xb0, 0x00, // C 1, R 0, K 1, S 1, reserved0 0, version 0
        0x08, 0x00, // protocol type IPv4 (0x0800)
        0x6e, 0x7c, // checksum 0x6e7c
        0x00, 0x00, // offset (reserved1) 0
        0x00, 0x01, 0xd9, 0x7c, // key 0x0001d97c
        0x00, 0x00, 0x00, 0x05, // sequence number 5
        0x45, 0x00, 0x00, 0x64, // inner IPv4 header, not part of the view
    ];

    /// Bytes 78..94 of frame 1 of `packets/tunnels/zeek__gre-pptp.pcap`: PPTP's enhanced
    /// GRE (version 1).
    static PPTP_BYTES: [u8; 16] = [
        0x30, 0x81, // C 0, R 0, K 1, S 1, A 1, version 1
        0x88, 0x0b, // protocol type PPP (0x880b)
        0x00, 0x67, // key: payload length 103
        0x17, 0x80, // key: call ID 6016
        0x00, 0x06, 0x8f, 0xb1, // sequence number 430001
        0x00, 0x08, 0x3a, 0x76, // acknowledgment number 539254
    ];

    /// NVGRE (RFC 7637 section 3.2).
    static NVGRE_BYTES: [u8; 8] = [
        0x20, 0x00, // C 0, K 1, S 0, version 0
        0x65, 0x58, // protocol type 0x6558 (transparent Ethernet bridging)
        0x12, 0x34, 0x56, // virtual subnet ID 0x123456
        0x78, // flow ID 0x78
    ];

    #[test]
    fn all_options() {
        let h = GreHeader::new_checked(&PACKET_BYTES).unwrap();
        assert_eq!(h.header_len(), 16);
        assert_eq!(h.version(), 0);
        assert!(h.checksum_present() && h.key_present() && h.seq_present());
        assert!(!h.ack_present());
        assert_eq!(h.protocol_type(), 0x0800);
        assert_eq!(h.checksum(), Some(0x6e7c));
        assert_eq!(h.key(), Some(0x0001_d97c));
        assert_eq!(h.sequence(), Some(5));
        assert_eq!(h.ack(), None);
        assert_eq!(h.call_id(), None);
        assert!(!h.is_nvgre());
        assert_eq!((h.vsid(), h.flow_id()), (None, None));
        assert_eq!(
            visited(|v| h.visit_fields(v)),
            [
                "version=0",
                "protocol_type=2048",
                "checksum=28284",
                "key=121212",
                "sequence_number=5"
            ]
        );
    }

    #[test]
    fn pptp() {
        let h = GreHeader::new_checked(&PPTP_BYTES).unwrap();
        assert_eq!(h.header_len(), 16);
        assert_eq!(h.version(), 1);
        assert!(!h.checksum_present());
        assert!(h.key_present() && h.seq_present() && h.ack_present());
        assert_eq!(h.protocol_type(), 0x880b);
        assert_eq!(h.checksum(), None);
        assert_eq!(h.key(), Some(103 << 16 | 6016));
        assert_eq!(h.call_id(), Some(6016));
        assert_eq!(h.sequence(), Some(430_001));
        assert_eq!(h.ack(), Some(539_254));
        assert!(!h.is_nvgre());
        assert_eq!(
            visited(|v| h.visit_fields(v)),
            [
                "version=1",
                "protocol_type=34827",
                "key=6756224",
                "sequence_number=430001",
                "acknowledgment_number=539254"
            ]
        );
        // Without A there is no acknowledgment number: 12 bytes.
        let mut bytes = PPTP_BYTES;
        bytes[1] = 0x01;
        let h = GreHeader::new_checked(&bytes).unwrap();
        assert_eq!(h.header_len(), 12);
        assert_eq!((h.ack_present(), h.ack()), (false, None));
        assert_eq!(h.sequence(), Some(430_001));
    }

    #[test]
    fn nvgre() {
        let h = GreHeader::new_checked(&NVGRE_BYTES).unwrap();
        assert_eq!(h.header_len(), 8);
        assert!(h.is_nvgre());
        assert_eq!(h.protocol_type(), PROTO_TEB);
        assert_eq!(h.key(), Some(0x1234_5678));
        assert_eq!(h.vsid(), Some(0x12_3456));
        assert_eq!(h.flow_id(), Some(0x78));
        assert_eq!((h.checksum(), h.sequence(), h.ack()), (None, None, None));
        assert_eq!(
            visited(|v| h.visit_fields(v)),
            [
                "version=0",
                "protocol_type=25944",
                "key=305419896",
                "vsid=1193046",
                "flow_id=120"
            ]
        );
        // Version 0 has no A bit: setting it changes nothing.
        let mut bytes = NVGRE_BYTES;
        bytes[1] = 0x80;
        let h = GreHeader::new_checked(&bytes).unwrap();
        assert_eq!((h.header_len(), h.ack_present(), h.ack()), (8, false, None));
    }

    #[test]
    fn sequence_only() {
        let bytes = [
            0x10, 0x00, // S 1, version 0
            0x86, 0xdd, // protocol type IPv6
            0x00, 0x00, 0x00, 0x2a, // sequence number 42
        ];
        let h = GreHeader::new_checked(&bytes).unwrap();
        assert_eq!(h.header_len(), 8);
        assert_eq!(
            (h.checksum(), h.key(), h.sequence()),
            (None, None, Some(42))
        );
        assert_eq!(h.protocol_type(), 0x86dd);
    }

    #[test]
    fn truncated_and_unsupported() {
        for n in 0..16 {
            assert_eq!(
                GreHeader::new_checked(&PACKET_BYTES[..n]).err(),
                Some(Error::Truncated {
                    layer: Layer::Gre,
                    offset: 0,
                    needed: if n < 4 { 4 } else { 16 },
                    available: n
                }),
                "{n} bytes"
            );
        }
        for version in 2..8 {
            let mut bytes = NVGRE_BYTES;
            bytes[1] = version;
            assert_eq!(
                GreHeader::new_checked(&bytes).err(),
                Some(Error::Unsupported {
                    layer: Layer::Gre,
                    offset: 0,
                    field: "version",
                    value: version.into()
                })
            );
        }
        let mut bytes = NVGRE_BYTES;
        bytes[0] |= 0x40; // R: RFC 1701 source routing
        assert_eq!(
            GreHeader::new_checked(&bytes).err(),
            Some(Error::Unsupported {
                layer: Layer::Gre,
                offset: 0,
                field: "routing_present",
                value: 1
            })
        );
    }
}
