//! UDP header (RFC 768).

use super::bytes::{take, u16_at};
use crate::error::{Layer, Result};
use crate::value::{FieldVisitor, Value};

/// Header length.
pub const HEADER_LEN: usize = 8;

/// Byte offsets of the header fields (RFC 768); each is 2 bytes wide.
mod field {
    /// Source port.
    pub(super) const SRC_PORT: usize = 0;
    /// Destination port.
    pub(super) const DST_PORT: usize = 2;
    /// Length of header plus data.
    pub(super) const LENGTH: usize = 4;
    /// Checksum.
    pub(super) const CHECKSUM: usize = 6;
}

/// Zero-copy view of a UDP header.
#[derive(Clone, Copy, Debug)]
pub struct UdpHeader<'a> {
    bytes: &'a [u8],
}

impl<'a> UdpHeader<'a> {
    /// Views the 8-byte header at the start of `buf`.
    ///
    /// # Errors
    /// [`crate::Error::Truncated`] if `buf` is shorter than 8 bytes.
    pub fn new_checked(buf: &'a [u8]) -> Result<Self> {
        Ok(UdpHeader {
            bytes: take(buf, HEADER_LEN, Layer::Udp)?,
        })
    }

    /// Source port.
    pub fn src_port(&self) -> u16 {
        u16_at(self.bytes, field::SRC_PORT)
    }

    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        u16_at(self.bytes, field::DST_PORT)
    }

    /// Length of header plus data.
    pub fn length(&self) -> u16 {
        u16_at(self.bytes, field::LENGTH)
    }

    /// Checksum (not verified).
    pub fn checksum(&self) -> u16 {
        u16_at(self.bytes, field::CHECKSUM)
    }

    /// Visits the header fields.
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        v.field("source_port", Value::U64(self.src_port().into()));
        v.field("destination_port", Value::U64(self.dst_port().into()));
        v.field("length", Value::U64(self.length().into()));
        v.field("checksum", Value::U64(self.checksum().into()));
    }
}

#[cfg(test)]
mod tests {
    use super::super::bytes::testing::visited;
    use super::*;
    use crate::Error;

    /// The UDP header of frame 1 of `packets/dns/tcpdump__dns_udp.pcap` (bytes 34..42 of
    /// `tshark -x`, a DNS query), then the first payload bytes; expected values are tshark
    /// 4.0's (`tshark -V -O udp`).
    static PACKET_BYTES: [u8; 12] = [
        0xab, 0xbe, // source port 43966
        0x00, 0x35, // destination port 53
        0x00, 0x40, // length 64
        0x78, 0x24, // checksum 0x7824
        0x59, 0x34, 0x01, 0x20, // payload: DNS ID 0x5934, flags 0x0120
    ];

    #[test]
    fn deconstruct() {
        let h = UdpHeader::new_checked(&PACKET_BYTES).unwrap();
        assert_eq!(h.src_port(), 43966);
        assert_eq!(h.dst_port(), 53);
        assert_eq!(h.length(), 64);
        assert_eq!(h.checksum(), 0x7824);
        assert_eq!(
            visited(|v| h.visit_fields(v)),
            [
                "source_port=43966",
                "destination_port=53",
                "length=64",
                "checksum=30756"
            ]
        );
    }

    #[test]
    fn truncated() {
        for n in 0..HEADER_LEN {
            assert_eq!(
                UdpHeader::new_checked(&PACKET_BYTES[..n]).err(),
                Some(Error::Truncated {
                    layer: Layer::Udp,
                    offset: 0,
                    needed: 8,
                    available: n
                }),
                "{n} bytes"
            );
        }
        let h = UdpHeader::new_checked(&PACKET_BYTES[..HEADER_LEN]).unwrap();
        assert_eq!(h.checksum(), 0x7824);
    }
}
