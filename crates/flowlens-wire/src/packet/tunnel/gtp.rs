//! GTP-U version 1 (3GPP TS 29.281 section 5).

use crate::error::{Layer, Result};
use crate::packet::bytes::{invalid, take, u16_at, u32_at, u8_at, unsupported};
use crate::value::{FieldVisitor, Value};

/// Message type of a G-PDU (user data).
pub const G_PDU: u8 = 255;
/// Maximum extension headers followed.
const MAX_EXT: usize = 8;

/// Byte offsets of the header fields (3GPP TS 29.281 sections 5.1 and 5.2).
mod field {
    /// Version (3 bits), PT, spare, E, S and PN flags, 1 byte.
    pub(super) const FLAGS: usize = 0;
    /// Message type, 1 byte.
    pub(super) const MESSAGE_TYPE: usize = 1;
    /// Length of everything after the mandatory part, 2 bytes.
    pub(super) const LENGTH: usize = 2;
    /// Tunnel endpoint identifier, 4 bytes.
    pub(super) const TEID: usize = 4;
    /// Mandatory part length; the optional fields start here when E, S or PN is set.
    pub(super) const MANDATORY_LEN: usize = 8;
    /// Sequence number, 2 bytes (optional part).
    pub(super) const SEQUENCE: usize = 8;
    /// Next extension header type, 1 byte (optional part, after the 1-byte N-PDU number).
    pub(super) const NEXT_EXT: usize = 11;
    /// Length with the optional fields; the first extension header starts here.
    pub(super) const OPTIONAL_LEN: usize = 12;
}

/// Byte offsets in an extension header (TS 29.281 section 5.2.1): length, contents, and the
/// next extension header type in its last byte.
mod ext_field {
    /// Extension header length in 4-byte units, 1 byte.
    pub(super) const LENGTH: usize = 0;
}

/// Zero-copy view of a GTP-U header with optional fields and extension headers.
#[derive(Clone, Copy, Debug)]
pub struct GtpHeader<'a> {
    bytes: &'a [u8],
}

impl<'a> GtpHeader<'a> {
    /// Views a GTPv1-U header.
    ///
    /// # Errors
    /// [`crate::Error::Unsupported`] unless version 1 with PT 1; [`crate::Error::Truncated`]
    /// if the header or an extension header does not fit; [`crate::Error::Invalid`] for a
    /// zero-length extension header or too long a chain.
    pub fn new_checked(buf: &'a [u8]) -> Result<Self> {
        let fixed = take(buf, field::MANDATORY_LEN, Layer::Gtp)?;
        let b0 = u8_at(fixed, field::FLAGS);
        if b0 >> 5 != 1 || b0 & 0x10 == 0 {
            return Err(unsupported(
                Layer::Gtp,
                field::FLAGS,
                "version",
                (b0 >> 5).into(),
            ));
        }
        if b0 & 0x07 == 0 {
            return Ok(GtpHeader { bytes: fixed });
        }
        let opt = take(buf, field::OPTIONAL_LEN, Layer::Gtp)?;
        let mut n = field::OPTIONAL_LEN;
        let mut next = if b0 & 0x04 != 0 {
            u8_at(opt, field::NEXT_EXT)
        } else {
            0
        };
        let mut count = 0;
        while next != 0 {
            count += 1;
            if count > MAX_EXT {
                return Err(invalid(Layer::Gtp, n, "extension_headers", count as u64));
            }
            let l = take(
                buf.get(n..).unwrap_or(&[]),
                ext_field::LENGTH + 1,
                Layer::Gtp,
            )
            .map_err(|e| e.shifted(n))?;
            let len = usize::from(u8_at(l, ext_field::LENGTH)) * 4;
            if len == 0 {
                return Err(invalid(Layer::Gtp, n, "extension_length", 0));
            }
            let ext =
                take(buf.get(n..).unwrap_or(&[]), len, Layer::Gtp).map_err(|e| e.shifted(n))?;
            next = u8_at(ext, len - 1);
            n += len;
        }
        Ok(GtpHeader {
            bytes: take(buf, n, Layer::Gtp)?,
        })
    }
    /// Flags byte (version, PT, E, S, PN).
    pub fn flags(&self) -> u8 {
        u8_at(self.bytes, field::FLAGS)
    }
    /// Message type (255 = G-PDU).
    pub fn message_type(&self) -> u8 {
        u8_at(self.bytes, field::MESSAGE_TYPE)
    }
    /// Length of everything after the first 8 bytes.
    pub fn length(&self) -> u16 {
        u16_at(self.bytes, field::LENGTH)
    }
    /// Tunnel endpoint identifier.
    pub fn teid(&self) -> u32 {
        u32_at(self.bytes, field::TEID)
    }
    /// Sequence number (when S is set).
    pub fn sequence(&self) -> Option<u16> {
        (self.flags() & 0x02 != 0).then(|| u16_at(self.bytes, field::SEQUENCE))
    }
    /// Header length in bytes (including extension headers).
    pub fn header_len(&self) -> usize {
        self.bytes.len()
    }
    /// Visits the header fields.
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        v.field("flags", Value::U64(self.flags().into()));
        v.field("message_type", Value::U64(self.message_type().into()));
        v.field("length", Value::U64(self.length().into()));
        v.field("teid", Value::U64(self.teid().into()));
        if let Some(s) = self.sequence() {
            v.field("sequence_number", Value::U64(s.into()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::bytes::testing::visited;
    use crate::Error;

    /// Bytes 42..50 of frame 1 of `packets/tunnels/zeek__gtp4_udp_2152_inside.pcap`
    /// (`tshark -x`), then the start of the inner IPv4 header; expected values are tshark
    /// 4.0's (`tshark -V -O gtp`).
    static PACKET_BYTES: [u8; 10] = [
        0x30, // version 1, PT 1 (GTP), reserved 0, E 0, S 0, PN 0
        0xff, // message type T-PDU (255)
        0x03, 0xa2, // length 930
        0x00, 0x00, 0x33, 0x18, // TEID 13080
        0x45, 0x00, // inner IPv4, not part of the view
    ];

    /// A G-PDU with a sequence number and one extension header (TS 29.281 section 5.2).
    static EXT_BYTES: [u8; 18] = [
        0x36, // version 1, PT 1, E 1, S 1, PN 0
        0xff, // message type G-PDU
        0x00, 0x0a, // length 10
        0x00, 0x00, 0x00, 0x01, // TEID 1
        0x12, 0x34, // sequence number 0x1234
        0x00, // N-PDU number
        0x85, // next extension header: PDU session container (TS 38.415)
        0x01, // extension length 1 (4 bytes)
        0x10, 0x09, // PDU type 1 (UL), QFI 9
        0x00, // next extension header: none
        0x45, 0x00, // inner IPv4, not part of the view
    ];

    #[test]
    fn deconstruct() {
        let h = GtpHeader::new_checked(&PACKET_BYTES).unwrap();
        assert_eq!(h.header_len(), 8);
        assert_eq!(h.flags(), 0x30);
        assert_eq!(h.message_type(), G_PDU);
        assert_eq!(h.length(), 930);
        assert_eq!(h.teid(), 13080);
        assert_eq!(h.sequence(), None);
        assert_eq!(
            visited(|v| h.visit_fields(v)),
            ["flags=48", "message_type=255", "length=930", "teid=13080"]
        );
    }

    #[test]
    fn optional_fields_and_extension_headers() {
        let h = GtpHeader::new_checked(&EXT_BYTES).unwrap();
        assert_eq!(h.header_len(), 16);
        assert_eq!(h.flags(), 0x36);
        assert_eq!(h.length(), 10);
        assert_eq!(h.teid(), 1);
        assert_eq!(h.sequence(), Some(0x1234));
        assert_eq!(
            visited(|v| h.visit_fields(v)),
            [
                "flags=54",
                "message_type=255",
                "length=10",
                "teid=1",
                "sequence_number=4660"
            ]
        );
        // PN alone brings the 4 optional bytes; without E the next-extension byte is ignored.
        let mut bytes = EXT_BYTES;
        bytes[0] = 0x31;
        let h = GtpHeader::new_checked(&bytes).unwrap();
        assert_eq!(h.header_len(), 12);
        assert_eq!(h.sequence(), None);
    }

    #[test]
    fn truncated() {
        for n in 0..8 {
            assert_eq!(
                GtpHeader::new_checked(&EXT_BYTES[..n]).err(),
                Some(Error::Truncated {
                    layer: Layer::Gtp,
                    offset: 0,
                    needed: 8,
                    available: n
                }),
                "{n} bytes"
            );
        }
        for n in 8..12 {
            assert_eq!(
                GtpHeader::new_checked(&EXT_BYTES[..n]).err(),
                Some(Error::Truncated {
                    layer: Layer::Gtp,
                    offset: 0,
                    needed: 12,
                    available: n
                }),
                "{n} bytes"
            );
        }
        // Inside the extension header: its length byte, then its body.
        assert_eq!(
            GtpHeader::new_checked(&EXT_BYTES[..12]).err(),
            Some(Error::Truncated {
                layer: Layer::Gtp,
                offset: 12,
                needed: 1,
                available: 0
            })
        );
        for n in 13..16 {
            assert_eq!(
                GtpHeader::new_checked(&EXT_BYTES[..n]).err(),
                Some(Error::Truncated {
                    layer: Layer::Gtp,
                    offset: 12,
                    needed: 4,
                    available: n - 12
                }),
                "{n} bytes"
            );
        }
    }

    #[test]
    fn unsupported_and_invalid() {
        for (b0, version) in [(0x50, 2), (0x20, 1)] {
            // Version 2 (GTPv2-C), and version 1 with PT 0 (GTP').
            let mut bytes = PACKET_BYTES;
            bytes[0] = b0;
            assert_eq!(
                GtpHeader::new_checked(&bytes).err(),
                Some(Error::Unsupported {
                    layer: Layer::Gtp,
                    offset: 0,
                    field: "version",
                    value: version
                })
            );
        }
        let mut bytes = EXT_BYTES;
        bytes[12] = 0; // extension length 0
        assert_eq!(
            GtpHeader::new_checked(&bytes).err(),
            Some(Error::Invalid {
                layer: Layer::Gtp,
                offset: 12,
                field: "extension_length",
                value: 0
            })
        );
        // Nine chained 4-byte extension headers: one more than followed.
        let mut long = [0u8; 12 + 9 * 4];
        long[..12].copy_from_slice(&EXT_BYTES[..12]);
        for ext in long[12..].chunks_mut(4) {
            ext.copy_from_slice(&[0x01, 0x00, 0x00, 0x85]);
        }
        assert_eq!(
            GtpHeader::new_checked(&long).err(),
            Some(Error::Invalid {
                layer: Layer::Gtp,
                offset: 12 + 8 * 4,
                field: "extension_headers",
                value: 9
            })
        );
        // Eight are fine.
        long[12 + 7 * 4 + 3] = 0;
        assert_eq!(GtpHeader::new_checked(&long).unwrap().header_len(), 44);
    }
}
