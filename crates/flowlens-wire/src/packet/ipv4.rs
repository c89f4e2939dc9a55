//! IPv4 header (RFC 791; DSCP/ECN per RFC 2474 / RFC 3168).

use core::net::Ipv4Addr;

use super::bytes::{array_at, invalid, take, u16_at, u8_at};
use crate::error::{Layer, Result};
use crate::value::{FieldVisitor, Value};

/// Minimum header length (IHL 5).
pub const MIN_HEADER_LEN: usize = 20;

/// Byte offsets of the header fields (RFC 791 section 3.1); widths in the comments.
mod field {
    /// Version (high 4 bits) and IHL (low 4 bits), 1 byte.
    pub(super) const VER_IHL: usize = 0;
    /// Type of service: DSCP (6 bits) and ECN (2 bits), 1 byte.
    pub(super) const TOS: usize = 1;
    /// Total length, 2 bytes.
    pub(super) const TOTAL_LEN: usize = 2;
    /// Identification, 2 bytes.
    pub(super) const IDENT: usize = 4;
    /// Flags (3 bits) and fragment offset (13 bits), 2 bytes.
    pub(super) const FLG_OFF: usize = 6;
    /// Time to live, 1 byte.
    pub(super) const TTL: usize = 8;
    /// Protocol, 1 byte.
    pub(super) const PROTOCOL: usize = 9;
    /// Header checksum, 2 bytes.
    pub(super) const CHECKSUM: usize = 10;
    /// Source address, 4 bytes.
    pub(super) const SRC_ADDR: usize = 12;
    /// Destination address, 4 bytes.
    pub(super) const DST_ADDR: usize = 16;
    /// Options, up to the end of the header (IHL * 4).
    pub(super) const OPTIONS: usize = 20;
}

/// Zero-copy view of an IPv4 header including its options.
#[derive(Clone, Copy, Debug)]
pub struct Ipv4Header<'a> {
    bytes: &'a [u8],
}

impl<'a> Ipv4Header<'a> {
    /// Validates version and IHL and views `IHL * 4` bytes.
    ///
    /// # Errors
    /// [`crate::Error::Truncated`] if the header (with options) does not fit;
    /// [`crate::Error::Invalid`] for a version other than 4 or an IHL below 5.
    pub fn new_checked(buf: &'a [u8]) -> Result<Self> {
        let fixed = take(buf, MIN_HEADER_LEN, Layer::Ipv4)?;
        let b0 = u8_at(fixed, field::VER_IHL);
        if b0 >> 4 != 4 {
            return Err(invalid(
                Layer::Ipv4,
                field::VER_IHL,
                "version",
                (b0 >> 4).into(),
            ));
        }
        let ihl = usize::from(b0 & 0x0f);
        if ihl < 5 {
            return Err(invalid(Layer::Ipv4, field::VER_IHL, "ihl", ihl as u64));
        }
        Ok(Ipv4Header {
            bytes: take(buf, ihl * 4, Layer::Ipv4)?,
        })
    }

    /// Internet header length in 32-bit words.
    pub fn ihl(&self) -> u8 {
        u8_at(self.bytes, field::VER_IHL) & 0x0f
    }

    /// Type of service byte (DSCP << 2 | ECN).
    pub fn tos(&self) -> u8 {
        u8_at(self.bytes, field::TOS)
    }

    /// Differentiated services code point (6 bits).
    pub fn dscp(&self) -> u8 {
        self.tos() >> 2
    }

    /// Explicit congestion notification (2 bits).
    pub fn ecn(&self) -> u8 {
        self.tos() & 3
    }

    /// Total length of the datagram (header + data) as sent.
    pub fn total_len(&self) -> u16 {
        u16_at(self.bytes, field::TOTAL_LEN)
    }

    /// Identification.
    pub fn identification(&self) -> u16 {
        u16_at(self.bytes, field::IDENT)
    }

    /// The three flag bits: reserved, DF, MF (as bits 2, 1, 0).
    pub fn flags(&self) -> u8 {
        u8_at(self.bytes, field::FLG_OFF) >> 5
    }

    /// Don't fragment.
    pub fn dont_fragment(&self) -> bool {
        self.flags() & 2 != 0
    }

    /// More fragments.
    pub fn more_fragments(&self) -> bool {
        self.flags() & 1 != 0
    }

    /// Fragment offset in 8-byte units.
    pub fn fragment_offset(&self) -> u16 {
        u16_at(self.bytes, field::FLG_OFF) & 0x1fff
    }

    /// Time to live.
    pub fn ttl(&self) -> u8 {
        u8_at(self.bytes, field::TTL)
    }

    /// Upper-layer protocol number.
    pub fn protocol(&self) -> u8 {
        u8_at(self.bytes, field::PROTOCOL)
    }

    /// Header checksum (not verified).
    pub fn checksum(&self) -> u16 {
        u16_at(self.bytes, field::CHECKSUM)
    }

    /// Source address.
    pub fn src_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(array_at::<4>(self.bytes, field::SRC_ADDR))
    }

    /// Destination address.
    pub fn dst_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(array_at::<4>(self.bytes, field::DST_ADDR))
    }

    /// Option bytes (possibly empty).
    pub fn options(&self) -> &'a [u8] {
        self.bytes.get(field::OPTIONS..).unwrap_or(&[])
    }

    /// Header length in bytes.
    pub fn header_len(&self) -> usize {
        self.bytes.len()
    }

    /// Visits the header fields.
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        v.field("ihl", Value::U64(self.ihl().into()));
        v.field("dscp", Value::U64(self.dscp().into()));
        v.field("ecn", Value::U64(self.ecn().into()));
        v.field("total_length", Value::U64(self.total_len().into()));
        v.field("identification", Value::U64(self.identification().into()));
        v.field("df", Value::Bool(self.dont_fragment()));
        v.field("mf", Value::Bool(self.more_fragments()));
        v.field("fragment_offset", Value::U64(self.fragment_offset().into()));
        v.field("ttl", Value::U64(self.ttl().into()));
        v.field("protocol", Value::U64(self.protocol().into()));
        v.field("source", Value::Ip(self.src_addr().into()));
        v.field("destination", Value::Ip(self.dst_addr().into()));
        if !self.options().is_empty() {
            v.field("options", Value::Hex(self.options()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::bytes::testing::visited;
    use super::*;
    use crate::Error;

    /// A UDP datagram's header without options (a widely reproduced worked example of the RFC
    /// 1071 header checksum: `b861` is correct for these bytes).
    static PACKET_BYTES: [u8; 20] = [
        0x45, // version 4, IHL 5 (20 bytes)
        0x00, // TOS: DSCP 0, ECN 0
        0x00, 0x73, // total length 115
        0x00, 0x00, // identification 0
        0x40, 0x00, // flags 010 (DF), fragment offset 0
        0x40, // TTL 64
        0x11, // protocol 17 (UDP)
        0xb8, 0x61, // header checksum
        0xc0, 0xa8, 0x00, 0x01, // source 192.168.0.1
        0xc0, 0xa8, 0x00, 0xc7, // destination 192.168.0.199
    ];

    /// A non-first fragment with one option, followed by 4 payload bytes.
    static OPTIONS_BYTES: [u8; 28] = [
        0x46, // version 4, IHL 6 (24 bytes)
        0xb9, // TOS 1011_1001: DSCP 46 (EF, RFC 3246), ECN 01 (ECT(1), RFC 3168)
        0x00, 0x1c, // total length 28
        0x1c, 0x46, // identification 0x1c46
        0x20, 0xb9, // flags 001 (MF), fragment offset 0x00b9 = 185 (1480 bytes)
        0x01, // TTL 1
        0x02, // protocol 2 (IGMP)
        0xab, 0xcd, // header checksum (not verified by the view)
        0x0a, 0x00, 0x00, 0x01, // source 10.0.0.1
        0xe0, 0x00, 0x00, 0x16, // destination 224.0.0.22
        0x94, 0x04, 0x00, 0x00, // option: router alert (RFC 2113), length 4, value 0
        0xde, 0xad, 0xbe, 0xef, // payload, not part of the header
    ];

    #[test]
    fn deconstruct() {
        let h = Ipv4Header::new_checked(&PACKET_BYTES).unwrap();
        assert_eq!(h.ihl(), 5);
        assert_eq!(h.header_len(), 20);
        assert_eq!(h.tos(), 0);
        assert_eq!(h.dscp(), 0);
        assert_eq!(h.ecn(), 0);
        assert_eq!(h.total_len(), 115);
        assert_eq!(h.identification(), 0);
        assert_eq!(h.flags(), 0b010);
        assert!(h.dont_fragment());
        assert!(!h.more_fragments());
        assert_eq!(h.fragment_offset(), 0);
        assert_eq!(h.ttl(), 64);
        assert_eq!(h.protocol(), 17);
        assert_eq!(h.checksum(), 0xb861);
        assert_eq!(h.src_addr(), Ipv4Addr::new(192, 168, 0, 1));
        assert_eq!(h.dst_addr(), Ipv4Addr::new(192, 168, 0, 199));
        assert_eq!(h.options(), &[] as &[u8]);
        assert_eq!(
            visited(|v| h.visit_fields(v)),
            [
                "ihl=5",
                "dscp=0",
                "ecn=0",
                "total_length=115",
                "identification=0",
                "df=true",
                "mf=false",
                "fragment_offset=0",
                "ttl=64",
                "protocol=17",
                "source=192.168.0.1",
                "destination=192.168.0.199",
            ]
        );
    }

    #[test]
    fn deconstruct_options_and_fragment() {
        let h = Ipv4Header::new_checked(&OPTIONS_BYTES).unwrap();
        assert_eq!(h.ihl(), 6);
        assert_eq!(h.header_len(), 24, "the view stops at IHL * 4");
        assert_eq!(h.tos(), 0xb9);
        assert_eq!(h.dscp(), 46);
        assert_eq!(h.ecn(), 1);
        assert_eq!(h.total_len(), 28);
        assert_eq!(h.identification(), 0x1c46);
        assert_eq!(h.flags(), 0b001);
        assert!(!h.dont_fragment());
        assert!(h.more_fragments());
        assert_eq!(h.fragment_offset(), 185);
        assert_eq!(h.ttl(), 1);
        assert_eq!(h.protocol(), 2);
        assert_eq!(h.checksum(), 0xabcd);
        assert_eq!(h.src_addr(), Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(h.dst_addr(), Ipv4Addr::new(224, 0, 0, 22));
        assert_eq!(h.options(), &[0x94, 0x04, 0x00, 0x00]);
        let fields = visited(|v| h.visit_fields(v));
        assert_eq!(fields.last().map(|s| s.as_str()), Some("options=94040000"));
    }

    #[test]
    fn reserved_flag_is_reported() {
        let mut bytes = PACKET_BYTES;
        bytes[6] = 0xe0; // flags 111: reserved, DF, MF
        let h = Ipv4Header::new_checked(&bytes).unwrap();
        assert_eq!(h.flags(), 0b111);
        assert!(h.dont_fragment() && h.more_fragments());
        assert_eq!(h.fragment_offset(), 0);
    }

    #[test]
    fn truncated() {
        for n in 0..MIN_HEADER_LEN {
            assert_eq!(
                Ipv4Header::new_checked(&PACKET_BYTES[..n]).err(),
                Some(Error::Truncated {
                    layer: Layer::Ipv4,
                    offset: 0,
                    needed: 20,
                    available: n
                }),
                "{n} bytes"
            );
        }
        // IHL 6 asks for 24 bytes: the fixed part alone is not enough.
        for n in MIN_HEADER_LEN..24 {
            assert_eq!(
                Ipv4Header::new_checked(&OPTIONS_BYTES[..n]).err(),
                Some(Error::Truncated {
                    layer: Layer::Ipv4,
                    offset: 0,
                    needed: 24,
                    available: n
                }),
                "{n} bytes"
            );
        }
    }

    #[test]
    fn invalid_version_and_ihl() {
        let mut bytes = PACKET_BYTES;
        bytes[0] = 0x65; // version 6
        assert_eq!(
            Ipv4Header::new_checked(&bytes).err(),
            Some(Error::Invalid {
                layer: Layer::Ipv4,
                offset: 0,
                field: "version",
                value: 6
            })
        );
        for ihl in 0..5 {
            bytes[0] = 0x40 | ihl; // version 4, IHL below the 5-word minimum
            assert_eq!(
                Ipv4Header::new_checked(&bytes).err(),
                Some(Error::Invalid {
                    layer: Layer::Ipv4,
                    offset: 0,
                    field: "ihl",
                    value: ihl.into()
                })
            );
        }
    }
}
