//! ERSPAN (draft-foschiano-erspan; Cisco): type I (GRE 0x88be without sequence number, no
//! ERSPAN header), type II (GRE 0x88be, 8-byte header) and type III (GRE 0x22eb, 12-byte
//! header plus an optional 8-byte platform-specific subheader when the O bit is set).

use crate::error::{Layer, Result};
use crate::packet::bytes::{invalid, take, u16_at, u32_at, u8_at};
use crate::value::{FieldVisitor, Value};

/// Byte offsets of the type II and III header fields (draft-foschiano-erspan-03 sections 4.2
/// and 4.3).
mod field {
    /// Ver (4 bits) and VLAN (12 bits), 2 bytes.
    pub(super) const VER_VLAN: usize = 0;
    /// COS (3 bits), En / BSO (2 bits), T (1 bit) and session ID (10 bits), 2 bytes.
    pub(super) const COS_EN_T_SESSION: usize = 2;
    /// Type II: 12 reserved bits and index (20 bits), 4 bytes.
    pub(super) const INDEX: usize = 4;
    /// Type II header length.
    pub(super) const TYPE2_LEN: usize = 8;
    /// Type III: timestamp, 4 bytes.
    pub(super) const TIMESTAMP: usize = 4;
    /// Type III: security group tag, 2 bytes.
    pub(super) const SGT: usize = 8;
    /// Type III: P (1 bit), FT (5 bits), Hw ID (6 bits), D (1 bit), Gra (2 bits) and O
    /// (1 bit), 2 bytes.
    pub(super) const P_FT_HWID: usize = 10;
    /// Type III header length without the platform-specific subheader.
    pub(super) const TYPE3_LEN: usize = 12;
    /// Type III: the 8-byte platform-specific subheader, present when O is set.
    pub(super) const PLATFORM: core::ops::Range<usize> = 12..20;
}

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
            2 => take(buf, field::TYPE2_LEN, Layer::Erspan)?,
            3 => {
                let fixed = take(buf, field::TYPE3_LEN, Layer::Erspan)?;
                let o = u16_at(fixed, field::P_FT_HWID) & 1 != 0;
                let n = if o {
                    field::PLATFORM.end
                } else {
                    field::TYPE3_LEN
                };
                take(buf, n, Layer::Erspan)?
            }
            _ => &[],
        };
        if erspan_type >= 2 {
            let ver = u8_at(bytes, field::VER_VLAN) >> 4;
            if ver != erspan_type - 1 {
                return Err(invalid(Layer::Erspan, field::VER_VLAN, "ver", ver.into()));
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
        (self.erspan_type >= 2).then(|| u16_at(self.bytes, field::VER_VLAN) & 0x0fff)
    }
    /// Class of service.
    pub fn cos(&self) -> Option<u8> {
        (self.erspan_type >= 2).then(|| u8_at(self.bytes, field::COS_EN_T_SESSION) >> 5)
    }
    /// Encapsulation type (II) / BSO (III), 2 bits.
    pub fn en(&self) -> Option<u8> {
        (self.erspan_type >= 2).then(|| (u8_at(self.bytes, field::COS_EN_T_SESSION) >> 3) & 3)
    }
    /// Truncated bit.
    pub fn truncated(&self) -> Option<bool> {
        (self.erspan_type >= 2).then(|| u8_at(self.bytes, field::COS_EN_T_SESSION) & 4 != 0)
    }
    /// Session id (10 bits).
    pub fn session_id(&self) -> Option<u16> {
        (self.erspan_type >= 2).then(|| u16_at(self.bytes, field::COS_EN_T_SESSION) & 0x03ff)
    }
    /// Port index (type II, 20 bits).
    pub fn index(&self) -> Option<u32> {
        (self.erspan_type == 2).then(|| u32_at(self.bytes, field::INDEX) & 0x000f_ffff)
    }
    /// Timestamp (type III).
    pub fn timestamp(&self) -> Option<u32> {
        (self.erspan_type == 3).then(|| u32_at(self.bytes, field::TIMESTAMP))
    }
    /// Security group tag (type III).
    pub fn sgt(&self) -> Option<u16> {
        (self.erspan_type == 3).then(|| u16_at(self.bytes, field::SGT))
    }
    /// Frame type (type III: 0 Ethernet, 2 IP).
    pub fn frame_type(&self) -> Option<u8> {
        (self.erspan_type == 3).then(|| (u8_at(self.bytes, field::P_FT_HWID) >> 2) & 0x1f)
    }
    /// Hardware id (type III).
    pub fn hw_id(&self) -> Option<u8> {
        (self.erspan_type == 3).then(|| ((u16_at(self.bytes, field::P_FT_HWID) >> 4) & 0x3f) as u8)
    }
    /// Platform-specific subheader (type III with O set).
    pub fn platform_subheader(&self) -> Option<&'a [u8]> {
        self.bytes.get(field::PLATFORM)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::bytes::testing::visited;
    use crate::Error;

    /// Bytes 42..50 of frame 1 of `packets/tunnels/tcpdump__erspan-type-ii-2.pcap`
    /// (`tshark -x`), then the start of the mirrored frame; expected values are tshark 4.0's
    /// (`tshark -V -O erspan`).
    static PACKET_BYTES: [u8; 12] = [
        0x10, 0x65, // Ver 1 (type II), VLAN 101
        0xc0, 0x01, // COS 6, En 0 (no VLAN tag), T 0, session ID 1
        0x00, 0x08, 0x40, 0x65, // reserved 0, index 540773 (0x84065)
        0x01, 0x00, 0x5e, 0x00, // mirrored frame, not part of the view
    ];

    /// Bytes 38..50 of frame 1 of `packets/tunnels/tcpdump__erspan-type-iii-ft-0.pcap`.
    static TYPE3_BYTES: [u8; 12] = [
        0x20, 0x14, // Ver 2 (type III), VLAN 20
        0x00, 0x00, // COS 0, BSO 0, T 0, session ID 0
        0xa3, 0x59, 0x5b, 0xff, // timestamp 2740542463
        0x00, 0x00, // security group tag 0
        0x00, 0x06, // P 0, FT 0 (Ethernet), Hw ID 0, D 0 (ingress), Gra 3, O 0
    ];

    /// A type III header with every subfield non-zero and the platform subheader (O 1).
    static PLATFORM_BYTES: [u8; 20] = [
        0x2f, 0xff, // Ver 2, VLAN 4095
        0xfc, 0x05, // COS 7, BSO 3, T 1, session ID 5
        0x00, 0x00, 0x00, 0x2a, // timestamp 42
        0x01, 0x00, // security group tag 256
        0x8a, 0xa7, // P 1, FT 2 (IP), Hw ID 0x2a, D 0, Gra 3, O 1
        0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, // platform-specific subheader
    ];

    #[test]
    fn type_1() {
        let h = ErspanHeader::new_checked(&PACKET_BYTES, 1).unwrap();
        assert_eq!(h.erspan_type(), 1);
        assert_eq!(h.header_len(), 0, "type I has no ERSPAN header");
        assert_eq!(
            (h.vlan(), h.cos(), h.en(), h.truncated()),
            (None, None, None, None)
        );
        assert_eq!(
            (h.session_id(), h.index(), h.timestamp()),
            (None, None, None)
        );
        assert_eq!((h.sgt(), h.frame_type(), h.hw_id()), (None, None, None));
        assert_eq!(h.platform_subheader(), None);
        assert_eq!(visited(|v| h.visit_fields(v)), ["type=1"]);
        assert_eq!(ErspanHeader::new_checked(&[], 1).unwrap().header_len(), 0);
    }

    #[test]
    fn type_2() {
        let h = ErspanHeader::new_checked(&PACKET_BYTES, 2).unwrap();
        assert_eq!(h.erspan_type(), 2);
        assert_eq!(h.header_len(), 8);
        assert_eq!(h.vlan(), Some(101));
        assert_eq!(h.cos(), Some(6));
        assert_eq!(h.en(), Some(0));
        assert_eq!(h.truncated(), Some(false));
        assert_eq!(h.session_id(), Some(1));
        assert_eq!(h.index(), Some(540_773));
        assert_eq!(
            (h.timestamp(), h.sgt(), h.frame_type(), h.hw_id()),
            (None, None, None, None)
        );
        assert_eq!(h.platform_subheader(), None);
        assert_eq!(
            visited(|v| h.visit_fields(v)),
            [
                "type=2",
                "vlan=101",
                "cos=6",
                "session_id=1",
                "index=540773"
            ]
        );
    }

    #[test]
    fn type_3() {
        let h = ErspanHeader::new_checked(&TYPE3_BYTES, 3).unwrap();
        assert_eq!(h.erspan_type(), 3);
        assert_eq!(h.header_len(), 12);
        assert_eq!((h.vlan(), h.cos(), h.en()), (Some(20), Some(0), Some(0)));
        assert_eq!((h.truncated(), h.session_id()), (Some(false), Some(0)));
        assert_eq!(h.index(), None);
        assert_eq!(h.timestamp(), Some(2_740_542_463));
        assert_eq!(h.sgt(), Some(0));
        assert_eq!(h.frame_type(), Some(0));
        assert_eq!(h.hw_id(), Some(0));
        assert_eq!(h.platform_subheader(), None);
        assert_eq!(
            visited(|v| h.visit_fields(v)),
            [
                "type=3",
                "vlan=20",
                "cos=0",
                "session_id=0",
                "timestamp=2740542463",
                "sgt=0",
                "ft=0"
            ]
        );

        let h = ErspanHeader::new_checked(&PLATFORM_BYTES, 3).unwrap();
        assert_eq!(h.header_len(), 20);
        assert_eq!((h.vlan(), h.cos(), h.en()), (Some(4095), Some(7), Some(3)));
        assert_eq!((h.truncated(), h.session_id()), (Some(true), Some(5)));
        assert_eq!((h.timestamp(), h.sgt()), (Some(42), Some(256)));
        assert_eq!((h.frame_type(), h.hw_id()), (Some(2), Some(0x2a)));
        assert_eq!(h.platform_subheader(), Some(&PLATFORM_BYTES[12..]));
        let fields = visited(|v| h.visit_fields(v));
        assert_eq!(
            fields.last().map(|s| s.as_str()),
            Some("platform_subheader=0800000000000001")
        );
    }

    #[test]
    fn truncated_and_invalid() {
        for n in 0..8 {
            assert_eq!(
                ErspanHeader::new_checked(&PACKET_BYTES[..n], 2).err(),
                Some(Error::Truncated {
                    layer: Layer::Erspan,
                    offset: 0,
                    needed: 8,
                    available: n
                }),
                "{n} bytes"
            );
        }
        for n in 0..20 {
            assert_eq!(
                ErspanHeader::new_checked(&PLATFORM_BYTES[..n], 3).err(),
                Some(Error::Truncated {
                    layer: Layer::Erspan,
                    offset: 0,
                    needed: if n < 12 { 12 } else { 20 },
                    available: n
                }),
                "{n} bytes"
            );
        }
        // Bytes 64..79 of frame 1 of `packets/tunnels/tcpdump__erspan-type-iii-pb-1.pcap`: O
        // is set but the capture ends 3 bytes into the platform subheader.
        let cut = [
            0x2d, 0x2d, 0x08, 0x00, 0x48, 0x00, 0x08, 0x46, 0x01, 0x00, 0x00, 0x01, 0x3d, 0x0e,
            0x45,
        ];
        assert_eq!(
            ErspanHeader::new_checked(&cut, 3).err(),
            Some(Error::Truncated {
                layer: Layer::Erspan,
                offset: 0,
                needed: 20,
                available: 15
            })
        );
        // The Ver field must match the type the GRE protocol type announced.
        assert_eq!(
            ErspanHeader::new_checked(&TYPE3_BYTES, 2).err(),
            Some(Error::Invalid {
                layer: Layer::Erspan,
                offset: 0,
                field: "ver",
                value: 2
            })
        );
        assert_eq!(
            ErspanHeader::new_checked(&PACKET_BYTES, 3).err(),
            Some(Error::Invalid {
                layer: Layer::Erspan,
                offset: 0,
                field: "ver",
                value: 1
            })
        );
    }
}
