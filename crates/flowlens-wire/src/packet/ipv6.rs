//! IPv6 header and extension headers (RFC 8200; AH per RFC 4302).

use core::net::Ipv6Addr;

use super::bytes::{array_at, invalid, take, u16_at, u32_at, u8_at};
use crate::error::{Layer, Result};
use crate::value::{FieldVisitor, Value};

/// Fixed header length.
pub const HEADER_LEN: usize = 40;

/// Byte offsets of the fixed header fields (RFC 8200 section 3); widths in the comments.
mod field {
    /// Version (4 bits), traffic class (8 bits) and flow label (20 bits), 4 bytes.
    pub(super) const VER_TC_FLOW: usize = 0;
    /// Payload length, 2 bytes.
    pub(super) const PAYLOAD_LEN: usize = 4;
    /// Next header, 1 byte.
    pub(super) const NEXT_HEADER: usize = 6;
    /// Hop limit, 1 byte.
    pub(super) const HOP_LIMIT: usize = 7;
    /// Source address, 16 bytes.
    pub(super) const SRC_ADDR: usize = 8;
    /// Destination address, 16 bytes.
    pub(super) const DST_ADDR: usize = 24;
}

/// Byte offsets in an extension header (RFC 8200 sections 4.3 to 4.6, RFC 4302 section 2).
mod ext_field {
    /// Next header, 1 byte (every extension header).
    pub(super) const NEXT_HEADER: usize = 0;
    /// Header extension length, 1 byte: 8-octet units not counting the first 8 (AH: 4-octet
    /// units minus 2). The fragment header has a reserved byte here instead.
    pub(super) const HDR_EXT_LEN: usize = 1;
    /// Fragment header: fragment offset (13 bits), reserved (2 bits), M flag (1 bit), 2 bytes.
    pub(super) const FRAG_OFF_M: usize = 2;
    /// Fragment header: identification, 4 bytes.
    pub(super) const FRAG_IDENT: usize = 4;
    /// Length of the fixed part read before the length is known (and of a fragment header).
    pub(super) const FIXED_LEN: usize = 8;
}

/// Hop-by-hop options.
pub const HOP_BY_HOP: u8 = 0;
/// Routing header.
pub const ROUTING: u8 = 43;
/// Fragment header.
pub const FRAGMENT: u8 = 44;
/// Authentication header.
pub const AUTH: u8 = 51;
/// Destination options.
pub const DEST_OPTS: u8 = 60;

/// True for the extension headers the walker steps over.
pub const fn is_extension(next_header: u8) -> bool {
    matches!(
        next_header,
        HOP_BY_HOP | ROUTING | FRAGMENT | AUTH | DEST_OPTS
    )
}

/// Zero-copy view of the fixed IPv6 header.
#[derive(Clone, Copy, Debug)]
pub struct Ipv6Header<'a> {
    bytes: &'a [u8],
}

impl<'a> Ipv6Header<'a> {
    /// Validates the version and views 40 bytes.
    ///
    /// # Errors
    /// [`crate::Error::Truncated`] if fewer than 40 bytes; [`crate::Error::Invalid`] if the
    /// version is not 6.
    pub fn new_checked(buf: &'a [u8]) -> Result<Self> {
        let bytes = take(buf, HEADER_LEN, Layer::Ipv6)?;
        let ver = u8_at(bytes, field::VER_TC_FLOW) >> 4;
        if ver != 6 {
            return Err(invalid(
                Layer::Ipv6,
                field::VER_TC_FLOW,
                "version",
                ver.into(),
            ));
        }
        Ok(Ipv6Header { bytes })
    }

    /// Traffic class (DSCP << 2 | ECN).
    pub fn traffic_class(&self) -> u8 {
        ((u16_at(self.bytes, field::VER_TC_FLOW) >> 4) & 0xff) as u8
    }

    /// Differentiated services code point.
    pub fn dscp(&self) -> u8 {
        self.traffic_class() >> 2
    }

    /// Explicit congestion notification.
    pub fn ecn(&self) -> u8 {
        self.traffic_class() & 3
    }

    /// Flow label (20 bits).
    pub fn flow_label(&self) -> u32 {
        u32_at(self.bytes, field::VER_TC_FLOW) & 0x000f_ffff
    }

    /// Payload length (0 with a jumbo payload option).
    pub fn payload_len(&self) -> u16 {
        u16_at(self.bytes, field::PAYLOAD_LEN)
    }

    /// Next header (first extension header or upper-layer protocol).
    pub fn next_header(&self) -> u8 {
        u8_at(self.bytes, field::NEXT_HEADER)
    }

    /// Hop limit.
    pub fn hop_limit(&self) -> u8 {
        u8_at(self.bytes, field::HOP_LIMIT)
    }

    /// Source address.
    pub fn src_addr(&self) -> Ipv6Addr {
        Ipv6Addr::from(array_at::<16>(self.bytes, field::SRC_ADDR))
    }

    /// Destination address.
    pub fn dst_addr(&self) -> Ipv6Addr {
        Ipv6Addr::from(array_at::<16>(self.bytes, field::DST_ADDR))
    }

    /// Visits the header fields.
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        v.field("traffic_class", Value::U64(self.traffic_class().into()));
        v.field("flow_label", Value::U64(self.flow_label().into()));
        v.field("payload_length", Value::U64(self.payload_len().into()));
        v.field("next_header", Value::U64(self.next_header().into()));
        v.field("hop_limit", Value::U64(self.hop_limit().into()));
        v.field("source", Value::Ip(self.src_addr().into()));
        v.field("destination", Value::Ip(self.dst_addr().into()));
    }
}

/// Zero-copy view of one IPv6 extension header.
#[derive(Clone, Copy, Debug)]
pub struct Ipv6ExtHeader<'a> {
    bytes: &'a [u8],
    kind: u8,
}

impl<'a> Ipv6ExtHeader<'a> {
    /// Views the extension header of type `kind` (the previous header's next-header value).
    ///
    /// # Errors
    /// [`crate::Error::Truncated`] if the header (per its length field) does not fit.
    pub fn new_checked(buf: &'a [u8], kind: u8) -> Result<Self> {
        let fixed = take(buf, ext_field::FIXED_LEN, Layer::Ipv6Ext)?;
        let n = match kind {
            FRAGMENT => ext_field::FIXED_LEN,
            AUTH => (usize::from(u8_at(fixed, ext_field::HDR_EXT_LEN)) + 2) * 4,
            _ => (usize::from(u8_at(fixed, ext_field::HDR_EXT_LEN)) + 1) * 8,
        };
        Ok(Ipv6ExtHeader {
            bytes: take(buf, n, Layer::Ipv6Ext)?,
            kind,
        })
    }

    /// This header's type (0, 43, 44, 51 or 60).
    pub fn kind(&self) -> u8 {
        self.kind
    }

    /// Next header.
    pub fn next_header(&self) -> u8 {
        u8_at(self.bytes, ext_field::NEXT_HEADER)
    }

    /// Fragment offset in 8-byte units (fragment header only, else 0).
    pub fn fragment_offset(&self) -> u16 {
        if self.kind == FRAGMENT {
            u16_at(self.bytes, ext_field::FRAG_OFF_M) >> 3
        } else {
            0
        }
    }

    /// More-fragments flag (fragment header only).
    pub fn more_fragments(&self) -> bool {
        self.kind == FRAGMENT && u16_at(self.bytes, ext_field::FRAG_OFF_M) & 1 != 0
    }

    /// Fragment identification (fragment header only).
    pub fn identification(&self) -> u32 {
        if self.kind == FRAGMENT {
            u32_at(self.bytes, ext_field::FRAG_IDENT)
        } else {
            0
        }
    }

    /// Header length in bytes.
    pub fn header_len(&self) -> usize {
        self.bytes.len()
    }

    /// Visits the header fields.
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        v.field("type", Value::U64(self.kind.into()));
        v.field("next_header", Value::U64(self.next_header().into()));
        v.field("length", Value::U64(self.bytes.len() as u64));
        if self.kind == FRAGMENT {
            v.field("fragment_offset", Value::U64(self.fragment_offset().into()));
            v.field("m", Value::Bool(self.more_fragments()));
            v.field("identification", Value::U64(self.identification().into()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::bytes::testing::visited;
    use super::*;
    use crate::Error;

    static PACKET_BYTES: [u8; 40] = [
        0x6b, 0x91, 0x23, 0x45, // version 6, traffic class 0xb9 (DSCP 46, ECN 1),
        //                         flow label 0x12345
        0x00, 0x08, // payload length 8
        0x11, // next header 17 (UDP)
        0x40, // hop limit 64
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, // source 2001:db8::1
        0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x02, 0x00, 0x5e, 0xff, 0xfe, 0x00, 0x53,
        0x00,
        // destination fe80::200:5eff:fe00:5300
    ];

    /// Fragment header (RFC 8200 section 4.5).
    static FRAGMENT_BYTES: [u8; 8] = [
        0x11, // next header 17 (UDP)
        0x00, // reserved
        0x05, 0xc9, // fragment offset 185 (0x05c9 >> 3), res 00, M 1
        0xde, 0xad, 0xbe, 0xef, // identification
    ];

    /// Hop-by-hop options header (RFC 8200 section 4.3) carrying a router alert (RFC 2711).
    static HOP_BY_HOP_BYTES: [u8; 8] = [
        0x3a, // next header 58 (ICMPv6)
        0x00, // hdr ext len 0: 8 bytes in all
        0x05, 0x02, 0x00, 0x00, // option 5 (router alert), length 2, value 0 (MLD)
        0x01, 0x00, // PadN, length 0
    ];

    /// Authentication header (RFC 4302 section 2): payload len 4 = (4 + 2) * 4 = 24 bytes.
    static AUTH_BYTES: [u8; 24] = [
        0x06, // next header 6 (TCP)
        0x04, // payload len 4 (32-bit words, minus 2)
        0x00, 0x00, // reserved
        0x00, 0x00, 0x01, 0x00, // SPI 256
        0x00, 0x00, 0x00, 0x07, // sequence number 7
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, // ICV (12 bytes, HMAC-SHA1-96)
    ];

    #[test]
    fn deconstruct() {
        let h = Ipv6Header::new_checked(&PACKET_BYTES).unwrap();
        assert_eq!(h.traffic_class(), 0xb9);
        assert_eq!(h.dscp(), 46);
        assert_eq!(h.ecn(), 1);
        assert_eq!(h.flow_label(), 0x12345);
        assert_eq!(h.payload_len(), 8);
        assert_eq!(h.next_header(), 17);
        assert_eq!(h.hop_limit(), 64);
        assert_eq!(h.src_addr(), "2001:db8::1".parse::<Ipv6Addr>().unwrap());
        assert_eq!(
            h.dst_addr(),
            "fe80::200:5eff:fe00:5300".parse::<Ipv6Addr>().unwrap()
        );
        assert_eq!(
            visited(|v| h.visit_fields(v)),
            [
                "traffic_class=185",
                "flow_label=74565",
                "payload_length=8",
                "next_header=17",
                "hop_limit=64",
                "source=2001:db8::1",
                "destination=fe80::200:5eff:fe00:5300",
            ]
        );
    }

    #[test]
    fn truncated_and_invalid() {
        for n in 0..HEADER_LEN {
            assert_eq!(
                Ipv6Header::new_checked(&PACKET_BYTES[..n]).err(),
                Some(Error::Truncated {
                    layer: Layer::Ipv6,
                    offset: 0,
                    needed: 40,
                    available: n
                }),
                "{n} bytes"
            );
        }
        let mut bytes = PACKET_BYTES;
        bytes[0] = 0x45; // an IPv4 first byte
        assert_eq!(
            Ipv6Header::new_checked(&bytes).err(),
            Some(Error::Invalid {
                layer: Layer::Ipv6,
                offset: 0,
                field: "version",
                value: 4
            })
        );
    }

    #[test]
    fn extension_headers() {
        assert!([0, 43, 44, 51, 60].iter().all(|&n| is_extension(n)));
        assert!([6, 17, 58, 59, 135].iter().all(|&n| !is_extension(n)));

        let f = Ipv6ExtHeader::new_checked(&FRAGMENT_BYTES, FRAGMENT).unwrap();
        assert_eq!(f.kind(), 44);
        assert_eq!(f.next_header(), 17);
        assert_eq!(f.header_len(), 8);
        assert_eq!(f.fragment_offset(), 185);
        assert!(f.more_fragments());
        assert_eq!(f.identification(), 0xdead_beef);
        assert_eq!(
            visited(|v| f.visit_fields(v)),
            [
                "type=44",
                "next_header=17",
                "length=8",
                "fragment_offset=185",
                "m=true",
                "identification=3735928559",
            ]
        );

        let h = Ipv6ExtHeader::new_checked(&HOP_BY_HOP_BYTES, HOP_BY_HOP).unwrap();
        assert_eq!(h.kind(), 0);
        assert_eq!(h.next_header(), 58);
        assert_eq!(h.header_len(), 8);
        // Fragment fields read 0 on other extension headers, whatever the bytes hold.
        assert_eq!(h.fragment_offset(), 0);
        assert!(!h.more_fragments());
        assert_eq!(h.identification(), 0);
        assert_eq!(
            visited(|v| h.visit_fields(v)),
            ["type=0", "next_header=58", "length=8"]
        );

        let a = Ipv6ExtHeader::new_checked(&AUTH_BYTES, AUTH).unwrap();
        assert_eq!(a.next_header(), 6);
        assert_eq!(a.header_len(), 24);

        // A routing header (same length rule as hop-by-hop) with hdr ext len 2: 24 bytes.
        let routing = [0x3b, 0x02, 0x04, 0x00, 0, 0, 0, 0];
        assert_eq!(
            Ipv6ExtHeader::new_checked(&routing, ROUTING).err(),
            Some(Error::Truncated {
                layer: Layer::Ipv6Ext,
                offset: 0,
                needed: 24,
                available: 8
            })
        );
    }

    #[test]
    fn extension_headers_truncated() {
        for n in 0..8 {
            assert_eq!(
                Ipv6ExtHeader::new_checked(&FRAGMENT_BYTES[..n], FRAGMENT).err(),
                Some(Error::Truncated {
                    layer: Layer::Ipv6Ext,
                    offset: 0,
                    needed: 8,
                    available: n
                }),
                "{n} bytes"
            );
        }
        for n in 8..24 {
            assert_eq!(
                Ipv6ExtHeader::new_checked(&AUTH_BYTES[..n], AUTH).err(),
                Some(Error::Truncated {
                    layer: Layer::Ipv6Ext,
                    offset: 0,
                    needed: 24,
                    available: n
                }),
                "{n} bytes"
            );
        }
    }
}
