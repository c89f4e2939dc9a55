//! Capture link-layer pseudo headers: Linux cooked capture (SLL / SLL2), BSD loopback (DLT 0 /
//! DLT 108) and PPP (RFC 1661, with optional RFC 1662 HDLC address/control bytes).

use super::bytes::{take, u16_at, u32_at, u8_at};
use crate::error::{Layer, Result};
use crate::value::{FieldVisitor, Value};

/// Byte offsets of the Linux cooked capture v1 header (tcpdump.org LINKTYPE_LINUX_SLL):
/// packet type, ARPHRD_ type, address length (2 bytes each), address (8 bytes), protocol.
mod sll_field {
    /// Packet type, 2 bytes.
    pub(super) const PACKET_TYPE: usize = 0;
    /// ARPHRD_ type, 2 bytes.
    pub(super) const ARPHRD_TYPE: usize = 2;
    /// Protocol type, 2 bytes.
    pub(super) const PROTOCOL: usize = 14;
    /// Header length.
    pub(super) const LEN: usize = 16;
}

/// Byte offsets of the Linux cooked capture v2 header (tcpdump.org LINKTYPE_LINUX_SLL2):
/// protocol, reserved (2 bytes each), interface index (4), ARPHRD_ type (2), packet type,
/// address length (1 each), address (8).
mod sll2_field {
    /// Protocol type, 2 bytes.
    pub(super) const PROTOCOL: usize = 0;
    /// Interface index, 4 bytes.
    pub(super) const IF_INDEX: usize = 4;
    /// ARPHRD_ type, 2 bytes.
    pub(super) const ARPHRD_TYPE: usize = 8;
    /// Packet type, 1 byte.
    pub(super) const PACKET_TYPE: usize = 10;
    /// Header length.
    pub(super) const LEN: usize = 20;
}

/// The loopback header (tcpdump.org LINKTYPE_NULL / LINKTYPE_LOOP): a 4-byte family.
mod null_field {
    /// Address family, 4 bytes.
    pub(super) const FAMILY: usize = 0;
    /// Header length.
    pub(super) const LEN: usize = 4;
}

/// PPP framing (RFC 1662 section 3.1, RFC 1661 section 2).
mod ppp_field {
    /// The HDLC address (0xff, all stations) and control (0x03, UI) bytes that may lead.
    pub(super) const ADDR_CTRL: [u8; 2] = [0xff, 0x03];
}

/// Linux cooked capture header, version 1 (16 bytes) or 2 (20 bytes).
#[derive(Clone, Copy, Debug)]
pub struct SllHeader<'a> {
    bytes: &'a [u8],
}

impl<'a> SllHeader<'a> {
    /// Views an SLL (`v2 == false`, 16 bytes) or SLL2 (20 bytes) header.
    ///
    /// # Errors
    /// [`crate::Error::Truncated`] if `buf` is too short.
    pub fn new_checked(buf: &'a [u8], v2: bool) -> Result<Self> {
        Ok(SllHeader {
            bytes: take(
                buf,
                if v2 { sll2_field::LEN } else { sll_field::LEN },
                Layer::LinuxSll,
            )?,
        })
    }

    /// True for SLL2 (DLT 276).
    pub fn is_v2(&self) -> bool {
        self.bytes.len() == sll2_field::LEN
    }

    /// Protocol type (an EtherType for `ARPHRD_ETHER` and most link types).
    pub fn protocol(&self) -> u16 {
        if self.is_v2() {
            u16_at(self.bytes, sll2_field::PROTOCOL)
        } else {
            u16_at(self.bytes, sll_field::PROTOCOL)
        }
    }

    /// Packet type (0 to us, 1 broadcast, 2 multicast, 3 other host, 4 outgoing).
    pub fn packet_type(&self) -> u16 {
        if self.is_v2() {
            u8_at(self.bytes, sll2_field::PACKET_TYPE).into()
        } else {
            u16_at(self.bytes, sll_field::PACKET_TYPE)
        }
    }

    /// ARPHRD_ link-layer address type.
    pub fn arphrd_type(&self) -> u16 {
        if self.is_v2() {
            u16_at(self.bytes, sll2_field::ARPHRD_TYPE)
        } else {
            u16_at(self.bytes, sll_field::ARPHRD_TYPE)
        }
    }

    /// Interface index (SLL2 only; 0 for SLL).
    pub fn if_index(&self) -> u32 {
        if self.is_v2() {
            u32_at(self.bytes, sll2_field::IF_INDEX)
        } else {
            0
        }
    }

    /// Visits the header fields.
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        v.field("packet_type", Value::U64(self.packet_type().into()));
        v.field("arphrd_type", Value::U64(self.arphrd_type().into()));
        if self.is_v2() {
            v.field("interface_index", Value::U64(self.if_index().into()));
        }
        v.field("protocol", Value::U64(self.protocol().into()));
    }

    pub(crate) fn len(&self) -> usize {
        self.bytes.len()
    }
}

/// BSD loopback / null header: a 4-byte address family.
#[derive(Clone, Copy, Debug)]
pub struct NullHeader<'a> {
    bytes: &'a [u8],
    network_order: bool,
}

impl<'a> NullHeader<'a> {
    /// Views a 4-byte loopback header. `network_order` is true for DLT_LOOP (108); for DLT_NULL
    /// the family is in the capturing host's order, guessed from which half is zero.
    ///
    /// # Errors
    /// [`crate::Error::Truncated`] if `buf` is shorter than 4 bytes.
    pub fn new_checked(buf: &'a [u8], network_order: bool) -> Result<Self> {
        Ok(NullHeader {
            bytes: take(buf, null_field::LEN, Layer::Null)?,
            network_order,
        })
    }

    /// Address family (2 = IPv4; 10, 24, 28, 30 = IPv6 on Linux and the BSDs).
    pub fn family(&self) -> u32 {
        let be = u32_at(self.bytes, null_field::FAMILY);
        if self.network_order || be & 0xffff_0000 == 0 {
            be
        } else {
            be.swap_bytes()
        }
    }

    /// Visits the header fields.
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        v.field("family", Value::U64(self.family().into()));
    }

    pub(crate) fn len(&self) -> usize {
        self.bytes.len()
    }
}

/// PPP header: optional `ff 03` HDLC address/control, then a 1- or 2-byte protocol field.
#[derive(Clone, Copy, Debug)]
pub struct PppHeader<'a> {
    bytes: &'a [u8],
}

impl<'a> PppHeader<'a> {
    /// Views a PPP header.
    ///
    /// # Errors
    /// [`crate::Error::Truncated`] if `buf` ends inside the header.
    pub fn new_checked(buf: &'a [u8]) -> Result<Self> {
        let hdlc = usize::from(buf.starts_with(&ppp_field::ADDR_CTRL)) * ppp_field::ADDR_CTRL.len();
        // Protocol-field compression (RFC 1661 section 6.5): odd first byte = 1-byte field.
        let first =
            take(buf.get(hdlc..).unwrap_or(&[]), 1, Layer::Ppp).map_err(|e| e.shifted(hdlc))?;
        let plen = if u8_at(first, 0) & 1 == 1 { 1 } else { 2 };
        Ok(PppHeader {
            bytes: take(buf, hdlc + plen, Layer::Ppp)?,
        })
    }

    /// True when the RFC 1662 address/control bytes are present.
    pub fn has_hdlc(&self) -> bool {
        self.bytes.starts_with(&ppp_field::ADDR_CTRL)
    }

    /// PPP protocol number (0x0021 IPv4, 0x0057 IPv6, 0x0281 MPLS).
    pub fn protocol(&self) -> u16 {
        let off = if self.has_hdlc() {
            ppp_field::ADDR_CTRL.len()
        } else {
            0
        };
        if self.bytes.len() - off == 1 {
            u8_at(self.bytes, off).into()
        } else {
            u16_at(self.bytes, off)
        }
    }

    /// Visits the header fields.
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        v.field("protocol", Value::U64(self.protocol().into()));
    }

    pub(crate) fn len(&self) -> usize {
        self.bytes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::super::bytes::testing::visited;
    use super::*;
    use crate::Error;

    /// Linux cooked capture v1 (tcpdump.org LINKTYPE_LINUX_SLL).
    static SLL_BYTES: [u8; 16] = [
        0x00, 0x03, // packet type 3 (to another host)
        0x00, 0x01, // ARPHRD_ETHER
        0x00, 0x06, // address length 6
        0x00, 0x1b, 0x21, 0xaa, 0xbb, 0x0c, 0x00, 0x00, // address, padded to 8 bytes
        0x08, 0x00, // protocol IPv4
    ];

    /// Linux cooked capture v2 (tcpdump.org LINKTYPE_LINUX_SLL2).
    static SLL2_BYTES: [u8; 20] = [
        0x86, 0xdd, // protocol IPv6
        0x00, 0x00, // reserved
        0x00, 0x00, 0x01, 0x02, // interface index 258
        0x03, 0x04, // ARPHRD_ type 772 (ARPHRD_LOOPBACK)
        0x04, // packet type 4 (outgoing)
        0x06, // address length 6
        0, 0, 0, 0, 0, 0, 0, 0, // address
    ];

    #[test]
    fn sll() {
        let h = SllHeader::new_checked(&SLL_BYTES, false).unwrap();
        assert!(!h.is_v2());
        assert_eq!(h.len(), 16);
        assert_eq!(h.packet_type(), 3);
        assert_eq!(h.arphrd_type(), 1);
        assert_eq!(h.if_index(), 0);
        assert_eq!(h.protocol(), 0x0800);
        assert_eq!(
            visited(|v| h.visit_fields(v)),
            ["packet_type=3", "arphrd_type=1", "protocol=2048"]
        );

        let h = SllHeader::new_checked(&SLL2_BYTES, true).unwrap();
        assert!(h.is_v2());
        assert_eq!(h.len(), 20);
        assert_eq!(h.packet_type(), 4);
        assert_eq!(h.arphrd_type(), 772);
        assert_eq!(h.if_index(), 258);
        assert_eq!(h.protocol(), 0x86dd);
        assert_eq!(
            visited(|v| h.visit_fields(v)),
            [
                "packet_type=4",
                "arphrd_type=772",
                "interface_index=258",
                "protocol=34525"
            ]
        );
        // Read as v1, 20 bytes are a 16-byte header: the view stops there.
        let h = SllHeader::new_checked(&SLL2_BYTES, false).unwrap();
        assert_eq!((h.len(), h.is_v2()), (16, false));

        for (v2, len) in [(false, 16), (true, 20)] {
            for n in 0..len {
                assert_eq!(
                    SllHeader::new_checked(&SLL2_BYTES[..n], v2).err(),
                    Some(Error::Truncated {
                        layer: Layer::LinuxSll,
                        offset: 0,
                        needed: len,
                        available: n
                    }),
                    "{n} bytes"
                );
            }
        }
    }

    #[test]
    fn null_and_loop() {
        // DLT_NULL, written by a little-endian host: AF_INET 2.
        let h = NullHeader::new_checked(&[0x02, 0x00, 0x00, 0x00], false).unwrap();
        assert_eq!(h.family(), 2);
        assert_eq!(h.len(), 4);
        assert_eq!(visited(|v| h.visit_fields(v)), ["family=2"]);
        // DLT_NULL from a big-endian host: AF_INET6 on macOS, 30.
        let h = NullHeader::new_checked(&[0x00, 0x00, 0x00, 0x1e], false).unwrap();
        assert_eq!(h.family(), 30);
        // DLT_LOOP is always network order: no guessing.
        let h = NullHeader::new_checked(&[0x00, 0x00, 0x00, 0x18], true).unwrap();
        assert_eq!(h.family(), 24);
        let h = NullHeader::new_checked(&[0x02, 0x00, 0x00, 0x00], true).unwrap();
        assert_eq!(h.family(), 0x0200_0000);
        for n in 0..4 {
            assert_eq!(
                NullHeader::new_checked(&[0x02, 0, 0][..n], false).err(),
                Some(Error::Truncated {
                    layer: Layer::Null,
                    offset: 0,
                    needed: 4,
                    available: n
                }),
                "{n} bytes"
            );
        }
    }

    #[test]
    fn ppp() {
        // Bytes 94..98 of frame 1 of `packets/tunnels/zeek__gre-pptp.pcap`: HDLC address and
        // control, protocol 0x0021 (IPv4), as tshark 4.0 shows them.
        let h = PppHeader::new_checked(&[0xff, 0x03, 0x00, 0x21, 0x45]).unwrap();
        assert!(h.has_hdlc());
        assert_eq!(h.len(), 4);
        assert_eq!(h.protocol(), 0x0021);
        assert_eq!(visited(|v| h.visit_fields(v)), ["protocol=33"]);
        // Without HDLC framing.
        let h = PppHeader::new_checked(&[0x00, 0x57, 0x60]).unwrap();
        assert!(!h.has_hdlc());
        assert_eq!((h.len(), h.protocol()), (2, 0x0057));
        // Protocol-field compression: an odd first byte is the whole field.
        let h = PppHeader::new_checked(&[0x21, 0x45]).unwrap();
        assert_eq!((h.len(), h.protocol()), (1, 0x21));
        let h = PppHeader::new_checked(&[0xff, 0x03, 0x57, 0x60]).unwrap();
        assert_eq!((h.len(), h.has_hdlc(), h.protocol()), (3, true, 0x57));
        // MPLS unicast, 0x0281: the first byte is even, so two bytes.
        let h = PppHeader::new_checked(&[0x02, 0x81]).unwrap();
        assert_eq!((h.len(), h.protocol()), (2, 0x0281));
    }

    #[test]
    fn ppp_truncated() {
        let cases: [(&[u8], usize, usize, usize); 4] = [
            // (input, offset, needed, available)
            (&[], 0, 1, 0),
            (&[0xff, 0x03], 2, 1, 0),
            (&[0x00], 0, 2, 1),
            (&[0xff, 0x03, 0x00], 0, 4, 3),
        ];
        for (buf, offset, needed, available) in cases {
            assert_eq!(
                PppHeader::new_checked(buf).err(),
                Some(Error::Truncated {
                    layer: Layer::Ppp,
                    offset,
                    needed,
                    available
                }),
                "{buf:?}"
            );
        }
    }
}
