//! ICMP (RFC 792, next-hop MTU RFC 1191) and ICMPv6 (RFC 4443) headers.
//!
//! Only the fixed first 8 bytes are viewed. For error messages the walker decodes the quoted
//! invoking packet that follows as separate layers flagged `quoted`.

use super::bytes::{take, u16_at, u32_at, u8_at};
use crate::error::{Layer, Result};
use crate::value::{FieldVisitor, Value};

/// Length of the fixed header viewed.
pub const HEADER_LEN: usize = 8;

/// Byte offsets in the first 8 bytes (RFC 792, RFC 1191 section 4, RFC 4443 sections 2.1,
/// 3.2 and 4.1).
mod field {
    /// Type, 1 byte.
    pub(super) const TYPE: usize = 0;
    /// Code, 1 byte.
    pub(super) const CODE: usize = 1;
    /// Checksum, 2 bytes.
    pub(super) const CHECKSUM: usize = 2;
    /// The 4 type-specific bytes ("rest of header"); an ICMPv6 packet-too-big MTU, 4 bytes.
    pub(super) const REST_OF_HEADER: usize = 4;
    /// Echo request/reply identifier, 2 bytes.
    pub(super) const ECHO_IDENT: usize = 4;
    /// Echo request/reply sequence number, 2 bytes.
    pub(super) const ECHO_SEQ: usize = 6;
    /// Next-hop MTU of an ICMPv4 "fragmentation needed" (RFC 1191), 2 bytes.
    pub(super) const NEXT_HOP_MTU: usize = 6;
}

/// Zero-copy view of the first 8 bytes of an ICMP or ICMPv6 message.
#[derive(Clone, Copy, Debug)]
pub struct IcmpHeader<'a> {
    bytes: &'a [u8],
    v6: bool,
}

impl<'a> IcmpHeader<'a> {
    /// Views an ICMPv4 (`v6 == false`) or ICMPv6 header.
    ///
    /// # Errors
    /// [`crate::Error::Truncated`] if fewer than 8 bytes are present.
    pub fn new_checked(buf: &'a [u8], v6: bool) -> Result<Self> {
        let layer = if v6 { Layer::Icmpv6 } else { Layer::Icmp };
        Ok(IcmpHeader {
            bytes: take(buf, HEADER_LEN, layer)?,
            v6,
        })
    }

    /// True for ICMPv6.
    pub fn is_v6(&self) -> bool {
        self.v6
    }

    /// Message type.
    pub fn icmp_type(&self) -> u8 {
        u8_at(self.bytes, field::TYPE)
    }

    /// Code.
    pub fn code(&self) -> u8 {
        u8_at(self.bytes, field::CODE)
    }

    /// Checksum (not verified).
    pub fn checksum(&self) -> u16 {
        u16_at(self.bytes, field::CHECKSUM)
    }

    /// The 4 bytes after the checksum ("rest of header").
    pub fn rest_of_header(&self) -> u32 {
        u32_at(self.bytes, field::REST_OF_HEADER)
    }

    /// True for echo request/reply (v4 8/0, v6 128/129).
    pub fn is_echo(&self) -> bool {
        if self.v6 {
            matches!(self.icmp_type(), 128 | 129)
        } else {
            matches!(self.icmp_type(), 0 | 8)
        }
    }

    /// Echo identifier.
    pub fn identifier(&self) -> Option<u16> {
        self.is_echo()
            .then(|| u16_at(self.bytes, field::ECHO_IDENT))
    }

    /// Echo sequence number.
    pub fn sequence(&self) -> Option<u16> {
        self.is_echo().then(|| u16_at(self.bytes, field::ECHO_SEQ))
    }

    /// True for error messages that quote the invoking packet: v4 destination unreachable (3),
    /// source quench (4), redirect (5), time exceeded (11), parameter problem (12); v6 types
    /// 1-4.
    pub fn is_error(&self) -> bool {
        if self.v6 {
            matches!(self.icmp_type(), 1..=4)
        } else {
            matches!(self.icmp_type(), 3 | 4 | 5 | 11 | 12)
        }
    }

    /// Next-hop MTU of a v4 "fragmentation needed" (type 3 code 4, RFC 1191) or the MTU of a
    /// v6 "packet too big" (type 2).
    pub fn mtu(&self) -> Option<u32> {
        match (self.v6, self.icmp_type(), self.code()) {
            (false, 3, 4) => Some(u16_at(self.bytes, field::NEXT_HOP_MTU).into()),
            (true, 2, _) => Some(self.rest_of_header()),
            _ => None,
        }
    }

    /// Visits the header fields.
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        v.field("type", Value::U64(self.icmp_type().into()));
        v.field("code", Value::U64(self.code().into()));
        v.field("checksum", Value::U64(self.checksum().into()));
        if let (Some(id), Some(seq)) = (self.identifier(), self.sequence()) {
            v.field("identifier", Value::U64(id.into()));
            v.field("sequence", Value::U64(seq.into()));
        }
        if let Some(m) = self.mtu() {
            v.field("mtu", Value::U64(m.into()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::bytes::testing::visited;
    use super::*;
    use crate::Error;

    /// Bytes 34..42 of frame 1 of `packets/icmp/zeek__icmp-ping.pcap` (`tshark -x`); expected
    /// values are tshark 4.0's (`tshark -V -O icmp`).
    static PACKET_BYTES: [u8; 8] = [
        0x08, // type 8 (echo request)
        0x00, // code 0
        0x69, 0x09, // checksum 0x6909
        0x88, 0x1c, // identifier (BE) 34844
        0x00, 0x00, // sequence number (BE) 0
    ];

    /// Bytes 34..42 of frame 26 of `packets/icmp/suricata-verify__smtp-with-icmp-frag-needed
    /// .pcap`, followed by the start of the quoted IPv4 header.
    static FRAG_NEEDED_BYTES: [u8; 10] = [
        0x03, // type 3 (destination unreachable)
        0x04, // code 4 (fragmentation needed)
        0xc9, 0x4e, // checksum 0xc94e
        0x00, 0x00, // unused
        0x05, 0xd4, // MTU of next hop 1492
        0x45, 0x00, // quoted IPv4 header, not part of the view
    ];

    /// Bytes 54..62 of frame 1 of `packets/icmp/zeek__icmp6-destunreach-ip6ext-udp.pcap`.
    static V6_UNREACH_BYTES: [u8; 8] = [
        0x01, // type 1 (destination unreachable)
        0x00, // code 0 (no route to destination)
        0xf1, 0xa6, // checksum 0xf1a6
        0x00, 0x00, 0x00, 0x00, // unused
    ];

    /// An ICMPv6 packet too big (RFC 4443 section 3.2).
    static V6_TOO_BIG_BYTES: [u8; 8] = [
        0x02, // type 2 (packet too big)
        0x00, // code 0
        0x12, 0x34, // checksum (not verified)
        0x00, 0x00, 0x05, 0x00, // MTU 1280
    ];

    #[test]
    fn echo() {
        let h = IcmpHeader::new_checked(&PACKET_BYTES, false).unwrap();
        assert!(!h.is_v6());
        assert_eq!((h.icmp_type(), h.code(), h.checksum()), (8, 0, 0x6909));
        assert_eq!(h.rest_of_header(), 0x881c_0000);
        assert!(h.is_echo() && !h.is_error());
        assert_eq!((h.identifier(), h.sequence()), (Some(34844), Some(0)));
        assert_eq!(h.mtu(), None);
        assert_eq!(
            visited(|v| h.visit_fields(v)),
            [
                "type=8",
                "code=0",
                "checksum=26889",
                "identifier=34844",
                "sequence=0"
            ]
        );
        // The same bytes read as ICMPv6: type 8 is not an echo there (128/129 are).
        let h6 = IcmpHeader::new_checked(&PACKET_BYTES, true).unwrap();
        assert!(h6.is_v6() && !h6.is_echo() && !h6.is_error());
        assert_eq!((h6.identifier(), h6.sequence()), (None, None));
        let mut reply = PACKET_BYTES;
        reply[0] = 129; // ICMPv6 echo reply
        let h6 = IcmpHeader::new_checked(&reply, true).unwrap();
        assert_eq!((h6.identifier(), h6.sequence()), (Some(34844), Some(0)));
    }

    #[test]
    fn errors_and_mtu() {
        let h = IcmpHeader::new_checked(&FRAG_NEEDED_BYTES, false).unwrap();
        assert_eq!((h.icmp_type(), h.code(), h.checksum()), (3, 4, 0xc94e));
        assert!(h.is_error() && !h.is_echo());
        assert_eq!(h.mtu(), Some(1492));
        assert_eq!((h.identifier(), h.sequence()), (None, None));
        assert_eq!(
            visited(|v| h.visit_fields(v)),
            ["type=3", "code=4", "checksum=51534", "mtu=1492"]
        );
        // Other codes of type 3 carry no MTU.
        let mut port_unreach = FRAG_NEEDED_BYTES;
        port_unreach[1] = 3;
        let h = IcmpHeader::new_checked(&port_unreach, false).unwrap();
        assert_eq!(h.mtu(), None);

        let h = IcmpHeader::new_checked(&V6_UNREACH_BYTES, true).unwrap();
        assert_eq!((h.icmp_type(), h.code(), h.checksum()), (1, 0, 0xf1a6));
        assert!(h.is_error());
        assert_eq!(h.mtu(), None);

        let h = IcmpHeader::new_checked(&V6_TOO_BIG_BYTES, true).unwrap();
        assert!(h.is_error());
        assert_eq!(h.mtu(), Some(1280));
        assert_eq!(h.rest_of_header(), 1280);

        // Which types quote the invoking packet.
        let error_types = |v6: bool| {
            (0..=255u8)
                .filter(|&t| {
                    let b = [t, 0, 0, 0, 0, 0, 0, 0];
                    IcmpHeader::new_checked(&b, v6).unwrap().is_error()
                })
                .collect::<std::vec::Vec<_>>()
        };
        assert_eq!(error_types(false), [3, 4, 5, 11, 12]);
        assert_eq!(error_types(true), [1, 2, 3, 4]);
    }

    #[test]
    fn truncated() {
        for (v6, layer) in [(false, Layer::Icmp), (true, Layer::Icmpv6)] {
            for n in 0..HEADER_LEN {
                assert_eq!(
                    IcmpHeader::new_checked(&PACKET_BYTES[..n], v6).err(),
                    Some(Error::Truncated {
                        layer,
                        offset: 0,
                        needed: 8,
                        available: n
                    }),
                    "{n} bytes"
                );
            }
        }
    }
}
