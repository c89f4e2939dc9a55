//! Teredo (RFC 4380 section 5.1.1): optional authentication and origin indication headers in
//! front of an IPv6 packet carried in UDP.

use core::net::Ipv4Addr;

use crate::error::{Layer, Result};
use crate::packet::bytes::{array_at, take, u16_at, u8_at};
use crate::value::{FieldVisitor, Value};

/// Byte offsets in the two indicators (RFC 4380 section 5.1.1), each counted from the
/// indicator's start.
mod field {
    /// Indicator type, 2 bytes: 0x0001 authentication, 0x0000 origin indication.
    pub(super) const TYPE: core::ops::Range<usize> = 0..2;
    /// Authentication: client identifier length, 1 byte.
    pub(super) const AUTH_ID_LEN: usize = 2;
    /// Authentication: authentication value length, 1 byte.
    pub(super) const AUTH_AU_LEN: usize = 3;
    /// Authentication: start of the client identifier (after it the authentication value).
    pub(super) const AUTH_CLIENT_ID: usize = 4;
    /// Authentication: nonce (8 bytes) and confirmation (1 byte) after the two values.
    pub(super) const AUTH_NONCE_CONFIRMATION_LEN: usize = 9;
    /// Origin indication: obfuscated origin port, 2 bytes.
    pub(super) const ORIGIN_PORT: usize = 2;
    /// Origin indication: obfuscated origin IPv4 address, 4 bytes.
    pub(super) const ORIGIN_ADDR: usize = 4;
    /// Origin indication length.
    pub(super) const ORIGIN_LEN: usize = 8;
}

/// Zero-copy view of the Teredo indicators (possibly empty).
#[derive(Clone, Copy, Debug)]
pub struct TeredoHeader<'a> {
    bytes: &'a [u8],
    origin_at: Option<u16>,
}

impl<'a> TeredoHeader<'a> {
    /// Views the authentication (type 0x0001) and origin indication (0x0000) headers that
    /// precede the IPv6 packet, if any.
    ///
    /// # Errors
    /// [`crate::Error::Truncated`] if an indicator does not fit.
    pub fn new_checked(buf: &'a [u8]) -> Result<Self> {
        let mut n = 0;
        if buf.get(field::TYPE) == Some(&[0, 1]) {
            let f = take(buf, field::AUTH_CLIENT_ID, Layer::Teredo)?;
            n = field::AUTH_CLIENT_ID
                + usize::from(u8_at(f, field::AUTH_ID_LEN))
                + usize::from(u8_at(f, field::AUTH_AU_LEN))
                + field::AUTH_NONCE_CONFIRMATION_LEN;
            take(buf, n, Layer::Teredo)?;
        }
        let mut origin_at = None;
        if buf.get(n + field::TYPE.start..n + field::TYPE.end) == Some(&[0, 0]) {
            take(buf, n + field::ORIGIN_LEN, Layer::Teredo)?;
            origin_at = u16::try_from(n).ok();
            n += field::ORIGIN_LEN;
        }
        Ok(TeredoHeader {
            bytes: take(buf, n, Layer::Teredo)?,
            origin_at,
        })
    }
    /// True if an authentication indicator is present.
    pub fn has_auth(&self) -> bool {
        self.bytes.starts_with(&[0, 1])
    }
    /// Origin UDP port (de-obfuscated), from the origin indication.
    pub fn origin_port(&self) -> Option<u16> {
        self.origin_at
            .map(|o| u16_at(self.bytes, usize::from(o) + field::ORIGIN_PORT) ^ 0xffff)
    }
    /// Origin IPv4 address (de-obfuscated), from the origin indication.
    pub fn origin_addr(&self) -> Option<Ipv4Addr> {
        self.origin_at.map(|o| {
            let a: [u8; 4] = array_at(self.bytes, usize::from(o) + field::ORIGIN_ADDR);
            Ipv4Addr::from(u32::from_be_bytes(a) ^ 0xffff_ffff)
        })
    }
    /// Header length in bytes.
    pub fn header_len(&self) -> usize {
        self.bytes.len()
    }
    /// Visits the header fields.
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        v.field("auth", Value::Bool(self.has_auth()));
        if let (Some(p), Some(a)) = (self.origin_port(), self.origin_addr()) {
            v.field("origin_port", Value::U64(p.into()));
            v.field("origin_address", Value::Ip(a.into()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::bytes::testing::visited;
    use crate::Error;

    /// Bytes 42..64 of frame 2 of `packets/tunnels/ndpi__teredo.pcap` (`tshark -x`): both
    /// indicators, then the IPv6 header's first byte; expected values are tshark 4.0's
    /// (`tshark -V -O teredo`).
    static PACKET_BYTES: [u8; 22] = [
        0x00, 0x01, // authentication indicator
        0x00, // client identifier length 0
        0x00, // authentication value length 0
        0xb1, 0x1b, 0x3f, 0xea, 0x46, 0xa9, 0xaf, 0xe9, // nonce b11b3fea46a9afe9
        0x00, // confirmation 0
        0x00, 0x00, // origin indication
        0x32, 0xde, // origin UDP port 52513, obfuscated (xor 0xffff)
        0x46, 0xf9, 0x3f, 0x46, // origin IPv4 address 185.6.192.185, obfuscated
        0x60, // IPv6 header, not part of the view
    ];

    #[test]
    fn both_indicators() {
        let h = TeredoHeader::new_checked(&PACKET_BYTES).unwrap();
        assert_eq!(h.header_len(), 21);
        assert!(h.has_auth());
        assert_eq!(h.origin_port(), Some(52513));
        assert_eq!(h.origin_addr(), Some(Ipv4Addr::new(185, 6, 192, 185)));
        assert_eq!(
            visited(|v| h.visit_fields(v)),
            [
                "auth=true",
                "origin_port=52513",
                "origin_address=185.6.192.185"
            ]
        );
    }

    #[test]
    fn one_or_no_indicator() {
        let h = TeredoHeader::new_checked(&PACKET_BYTES[..14]).unwrap();
        assert_eq!((h.header_len(), h.has_auth()), (13, true));
        assert_eq!((h.origin_port(), h.origin_addr()), (None, None));
        assert_eq!(visited(|v| h.visit_fields(v)), ["auth=true"]);

        let h = TeredoHeader::new_checked(&PACKET_BYTES[13..]).unwrap();
        assert_eq!((h.header_len(), h.has_auth()), (8, false));
        assert_eq!(h.origin_port(), Some(52513));
        assert_eq!(h.origin_addr(), Some(Ipv4Addr::new(185, 6, 192, 185)));

        // Authentication with a 2-byte client identifier and a 3-byte value: 4 + 5 + 9.
        let auth = [
            0x00, 0x01, 0x02, 0x03, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 1, 2, 3, 4, 5, 6, 7, 8, 0x00,
            0x60,
        ];
        let h = TeredoHeader::new_checked(&auth).unwrap();
        assert_eq!((h.header_len(), h.has_auth()), (18, true));

        let h = TeredoHeader::new_checked(&PACKET_BYTES[21..]).unwrap();
        assert_eq!(
            (h.header_len(), h.has_auth(), h.origin_port()),
            (0, false, None)
        );
        assert_eq!(visited(|v| h.visit_fields(v)), ["auth=false"]);
    }

    #[test]
    fn truncated() {
        // (bytes kept, bytes needed): the authentication indicator's fixed part, its full
        // length, then the origin indication.
        for (n, needed) in [(2, 4), (3, 4), (4, 13), (12, 13), (15, 21), (20, 21)] {
            assert_eq!(
                TeredoHeader::new_checked(&PACKET_BYTES[..n]).err(),
                Some(Error::Truncated {
                    layer: Layer::Teredo,
                    offset: 0,
                    needed,
                    available: n
                }),
                "{n} bytes"
            );
        }
    }
}
