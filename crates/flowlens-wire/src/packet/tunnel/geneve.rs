//! Geneve (RFC 8926).

use crate::error::{Layer, Result};
use crate::packet::bytes::{take, u16_at, u24_at, u8_at, unsupported};
use crate::value::{FieldVisitor, Value};

/// Byte offsets of the header fields (RFC 8926 section 3.4).
mod field {
    /// Version (2 bits) and options length in 4-byte words (6 bits), 1 byte.
    pub(super) const VER_OPT_LEN: usize = 0;
    /// O (OAM) and C (critical) flags and 6 reserved bits, 1 byte.
    pub(super) const FLAGS: usize = 1;
    /// Protocol type, 2 bytes.
    pub(super) const PROTOCOL_TYPE: usize = 2;
    /// Virtual network identifier, 3 bytes; 1 reserved byte follows.
    pub(super) const VNI: usize = 4;
    /// Start of the options, and length of the fixed header.
    pub(super) const OPTIONS: usize = 8;
}

/// Byte offsets in one option TLV (RFC 8926 section 3.5).
mod option_field {
    /// Option class, 2 bytes.
    pub(super) const CLASS: usize = 0;
    /// Type (high bit: critical), 1 byte.
    pub(super) const TYPE: usize = 2;
    /// 3 reserved bits and the data length in 4-byte words (5 bits), 1 byte.
    pub(super) const LENGTH: usize = 3;
    /// Start of the option data, and length of the option header.
    pub(super) const DATA: usize = 4;
}

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
        let fixed = take(buf, field::OPTIONS, Layer::Geneve)?;
        let ver = u8_at(fixed, field::VER_OPT_LEN) >> 6;
        if ver != 0 {
            return Err(unsupported(
                Layer::Geneve,
                field::VER_OPT_LEN,
                "version",
                ver.into(),
            ));
        }
        let n = field::OPTIONS + usize::from(u8_at(fixed, field::VER_OPT_LEN) & 0x3f) * 4;
        Ok(GeneveHeader {
            bytes: take(buf, n, Layer::Geneve)?,
        })
    }
    /// Options length in 4-byte words.
    pub fn opt_len(&self) -> u8 {
        u8_at(self.bytes, field::VER_OPT_LEN) & 0x3f
    }
    /// OAM packet.
    pub fn oam(&self) -> bool {
        u8_at(self.bytes, field::FLAGS) & 0x80 != 0
    }
    /// Critical options present.
    pub fn critical(&self) -> bool {
        u8_at(self.bytes, field::FLAGS) & 0x40 != 0
    }
    /// Protocol type of the payload (0x6558 Ethernet, 0x0800, 0x86dd).
    pub fn protocol_type(&self) -> u16 {
        u16_at(self.bytes, field::PROTOCOL_TYPE)
    }
    /// Virtual network identifier.
    pub fn vni(&self) -> u32 {
        u24_at(self.bytes, field::VNI)
    }
    /// The options.
    pub fn options(&self) -> GeneveOptions<'a> {
        GeneveOptions {
            rest: self.bytes.get(field::OPTIONS..).unwrap_or(&[]),
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
        let head = self.rest.get(..option_field::DATA)?;
        let n = usize::from(u8_at(head, option_field::LENGTH) & 0x1f) * 4;
        let end = option_field::DATA + n;
        let Some(data) = self.rest.get(option_field::DATA..end) else {
            self.rest = &[];
            return None;
        };
        self.rest = self.rest.get(end..).unwrap_or(&[]);
        Some(GeneveOption {
            class: u16_at(head, option_field::CLASS),
            option_type: u8_at(head, option_field::TYPE),
            data,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::vec::Vec;

    use super::*;
    use crate::packet::bytes::testing::visited;
    use crate::Error;

    /// Bytes 42..58 of frame 1 of `packets/tunnels/tcpdump__geneve.pcap` (`tshark -x`);
    /// expected values are tshark 4.0's (`tshark -V -O geneve`).
    static PACKET_BYTES: [u8; 16] = [
        0x02, // version 0, options length 2 words (8 bytes)
        0x40, // flags: O 0, C 1 (critical options present)
        0x65, 0x58, // protocol type 0x6558 (transparent Ethernet bridging)
        0x00, 0x00, 0x0a, // VNI 10
        0x00, // reserved
        0x00, 0x00, // option class 0x0000 (standard)
        0x80, // option type 0x80 (critical)
        0x01, // reserved 000, length 1 word (4 data bytes)
        0x00, 0x00, 0x00, 0x0c, // option data
    ];

    /// Bytes 42..126 of frame 1 of `packets/tunnels/zeek__geneve-many-options.pcap`: three
    /// options of class 0x0100 (Linux).
    static OPTIONS_BYTES: [u8; 84] = [
        0x13, // version 0, options length 19 words (76 bytes)
        0x00, // flags: none
        0x65, 0x58, // protocol type 0x6558
        0x0c, 0x01, 0x2e, // VNI 0x0c012e (786734)
        0x00, // reserved
        0x01, 0x00, 0x01, 0x04, // class 0x0100, type 0x01, length 4 words (16 bytes)
        b'1', b'2', b'3', b'4', b'5', b'6', b'7', b'8', b'9', b'0', b'a', b'b', b'c', b'd', b'e',
        0x00, // option data
        0x01, 0x00, 0x02, 0x09, // class 0x0100, type 0x02, length 9 words (36 bytes)
        b'0', b'1', b'2', b'3', b'4', b'5', b'6', b'7', b'8', b'9', b'a', b'b', b'c', b'd', b'e',
        b'f', b'0', b'1', b'2', b'3', b'4', b'5', b'6', b'7', b'8', b'9', b'a', b'b', b'c', b'd',
        b'e', b'f', b'0', 0x00, 0x00, 0x00, // option data
        0x01, 0x00, 0x03, 0x03, // class 0x0100, type 0x03, length 3 words (12 bytes)
        b'0', b'1', b'2', b'3', b'4', b'5', b'6', b'7', b'8', b'9', 0x00, 0x00, // option data
    ];

    #[test]
    fn deconstruct() {
        let h = GeneveHeader::new_checked(&PACKET_BYTES).unwrap();
        assert_eq!(h.opt_len(), 2);
        assert_eq!(h.header_len(), 16);
        assert!(!h.oam());
        assert!(h.critical());
        assert_eq!(h.protocol_type(), 0x6558);
        assert_eq!(h.vni(), 10);
        assert_eq!(
            h.options().collect::<Vec<_>>(),
            [GeneveOption {
                class: 0,
                option_type: 0x80,
                data: &[0, 0, 0, 0x0c]
            }]
        );
        assert_eq!(
            visited(|v| h.visit_fields(v)),
            [
                "opt_len=2",
                "oam=false",
                "critical=true",
                "protocol_type=25944",
                "vni=10",
                "options=1"
            ]
        );
    }

    #[test]
    fn many_options() {
        let h = GeneveHeader::new_checked(&OPTIONS_BYTES).unwrap();
        assert_eq!(h.opt_len(), 19);
        assert_eq!(h.header_len(), 84);
        assert!(!h.oam() && !h.critical());
        assert_eq!(h.vni(), 786_734);
        let opts: Vec<_> = h.options().collect();
        assert_eq!(
            opts.iter()
                .map(|o| (o.class, o.option_type, o.data.len()))
                .collect::<Vec<_>>(),
            [(0x0100, 1, 16), (0x0100, 2, 36), (0x0100, 3, 12)]
        );
        assert_eq!(opts[0].data, b"1234567890abcde\0");
        assert_eq!(opts[2].data, b"0123456789\0\0");
        // The OAM flag.
        let mut bytes = OPTIONS_BYTES;
        bytes[1] = 0x80;
        assert!(GeneveHeader::new_checked(&bytes).unwrap().oam());
    }

    #[test]
    fn option_overrunning_the_header_ends_the_list() {
        let mut bytes = PACKET_BYTES;
        bytes[11] = 0xe2; // reserved bits set (ignored), length 2 words: 8 data bytes, only 4
        let h = GeneveHeader::new_checked(&bytes).unwrap();
        assert_eq!(h.options().count(), 0);
        bytes[11] = 0xe1; // reserved bits do not count towards the length
        let h = GeneveHeader::new_checked(&bytes).unwrap();
        assert_eq!(h.options().map(|o| o.data.len()).collect::<Vec<_>>(), [4]);
    }

    #[test]
    fn truncated_and_unsupported() {
        for n in 0..84 {
            assert_eq!(
                GeneveHeader::new_checked(&OPTIONS_BYTES[..n]).err(),
                Some(Error::Truncated {
                    layer: Layer::Geneve,
                    offset: 0,
                    needed: if n < 8 { 8 } else { 84 },
                    available: n
                }),
                "{n} bytes"
            );
        }
        for ver in 1..4 {
            let mut bytes = PACKET_BYTES;
            bytes[0] = ver << 6 | 2;
            assert_eq!(
                GeneveHeader::new_checked(&bytes).err(),
                Some(Error::Unsupported {
                    layer: Layer::Geneve,
                    offset: 0,
                    field: "version",
                    value: ver.into()
                })
            );
        }
    }
}
