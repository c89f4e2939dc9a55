//! TCP header and options (RFC 9293; window scale and timestamps RFC 7323; SACK RFC 2018;
//! NS RFC 3540, ECE/CWR RFC 3168).

use super::bytes::{invalid, take, u16_at, u32_at, u8_at};
use crate::error::{Layer, Result};
use crate::value::{FieldVisitor, Value};

/// Minimum header length.
pub const MIN_HEADER_LEN: usize = 20;

/// Byte offsets of the header fields (RFC 9293 section 3.1); widths in the comments.
mod field {
    /// Source port, 2 bytes.
    pub(super) const SRC_PORT: usize = 0;
    /// Destination port, 2 bytes.
    pub(super) const DST_PORT: usize = 2;
    /// Sequence number, 4 bytes.
    pub(super) const SEQ_NUM: usize = 4;
    /// Acknowledgment number, 4 bytes. The bytes before it (ports and sequence number) are all
    /// an ICMP error is sure to quote.
    pub(super) const ACK_NUM: usize = 8;
    /// Data offset (4 bits), reserved (3 bits) and the nine flag bits NS..FIN, 2 bytes.
    pub(super) const FLAGS: usize = 12;
    /// Window, 2 bytes.
    pub(super) const WIN_SIZE: usize = 14;
    /// Checksum, 2 bytes.
    pub(super) const CHECKSUM: usize = 16;
    /// Urgent pointer, 2 bytes.
    pub(super) const URGENT: usize = 18;
    /// Options, up to the end of the header (data offset * 4).
    pub(super) const OPTIONS: usize = 20;
}

/// Byte offsets inside one option (RFC 9293 section 3.1, "Options").
mod option_field {
    /// Kind, 1 byte.
    pub(super) const KIND: usize = 0;
    /// Length (kind and length bytes included), 1 byte; absent for kinds 0 and 1.
    pub(super) const LENGTH: usize = 1;
    /// Start of the option data (MSS value, shift count, TSval, SACK blocks).
    pub(super) const DATA: usize = 2;
    /// Timestamps: TSecr, after the 4-byte TSval (RFC 7323 section 3.2).
    pub(super) const TS_ECR: usize = 6;
}

/// Zero-copy view of a TCP header including options.
///
/// A view made with [`TcpHeader::new_partial`] (ICMP quote, fragment, cut) may cover only the first
/// 8 bytes; accessors for fields beyond the view return 0.
#[derive(Clone, Copy, Debug)]
pub struct TcpHeader<'a> {
    bytes: &'a [u8],
}

impl<'a> TcpHeader<'a> {
    /// Validates the data offset and views `data_offset * 4` bytes.
    ///
    /// # Errors
    /// [`crate::Error::Truncated`] if the header does not fit; [`crate::Error::Invalid`] for a
    /// data offset below 5.
    pub fn new_checked(buf: &'a [u8]) -> Result<Self> {
        let fixed = take(buf, MIN_HEADER_LEN, Layer::Tcp)?;
        let doff = usize::from(u8_at(fixed, field::FLAGS) >> 4);
        if doff < 5 {
            return Err(invalid(
                Layer::Tcp,
                field::FLAGS,
                "data_offset",
                doff as u64,
            ));
        }
        Ok(TcpHeader {
            bytes: take(buf, doff * 4, Layer::Tcp)?,
        })
    }

    /// A partial view of a TCP header of which only the start is present: quoted in an ICMP
    /// error (RFC 792 guarantees 8 bytes: ports and sequence number), in a first IP fragment
    /// that ends inside the header, or cut by the capture. Needs at least 8 bytes; fields past
    /// the available bytes read as 0 (check [`TcpHeader::header_len`] `>= 20` before trusting
    /// flags and window).
    ///
    /// # Errors
    /// [`crate::Error::Truncated`] if fewer than 8 bytes are present.
    pub fn new_partial(buf: &'a [u8]) -> Result<Self> {
        take(buf, field::ACK_NUM, Layer::Tcp)?;
        Ok(TcpHeader {
            bytes: buf.get(..MIN_HEADER_LEN).unwrap_or(buf),
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

    /// Sequence number.
    pub fn seq_number(&self) -> u32 {
        u32_at(self.bytes, field::SEQ_NUM)
    }

    /// Acknowledgment number.
    pub fn ack_number(&self) -> u32 {
        u32_at(self.bytes, field::ACK_NUM)
    }

    /// Data offset in 32-bit words.
    pub fn data_offset(&self) -> u8 {
        u8_at(self.bytes, field::FLAGS) >> 4
    }

    /// The nine flag bits NS CWR ECE URG ACK PSH RST SYN FIN (NS = bit 8, FIN = bit 0).
    pub fn flags(&self) -> u16 {
        u16_at(self.bytes, field::FLAGS) & 0x01ff
    }

    /// FIN.
    pub fn fin(&self) -> bool {
        self.flags() & 0x001 != 0
    }
    /// SYN.
    pub fn syn(&self) -> bool {
        self.flags() & 0x002 != 0
    }
    /// RST.
    pub fn rst(&self) -> bool {
        self.flags() & 0x004 != 0
    }
    /// PSH.
    pub fn psh(&self) -> bool {
        self.flags() & 0x008 != 0
    }
    /// ACK.
    pub fn ack(&self) -> bool {
        self.flags() & 0x010 != 0
    }
    /// URG.
    pub fn urg(&self) -> bool {
        self.flags() & 0x020 != 0
    }
    /// ECE.
    pub fn ece(&self) -> bool {
        self.flags() & 0x040 != 0
    }
    /// CWR.
    pub fn cwr(&self) -> bool {
        self.flags() & 0x080 != 0
    }
    /// NS (ECN nonce, RFC 3540, historic).
    pub fn ns(&self) -> bool {
        self.flags() & 0x100 != 0
    }

    /// Window (unscaled).
    pub fn window(&self) -> u16 {
        u16_at(self.bytes, field::WIN_SIZE)
    }

    /// Checksum (not verified).
    pub fn checksum(&self) -> u16 {
        u16_at(self.bytes, field::CHECKSUM)
    }

    /// Urgent pointer.
    pub fn urgent_pointer(&self) -> u16 {
        u16_at(self.bytes, field::URGENT)
    }

    /// Option bytes.
    pub fn options(&self) -> TcpOptions<'a> {
        TcpOptions {
            rest: self.bytes.get(field::OPTIONS..).unwrap_or(&[]),
        }
    }

    /// Maximum segment size option (kind 2).
    pub fn mss(&self) -> Option<u16> {
        self.options().find_map(|o| match o {
            TcpOption::Mss(m) => Some(m),
            _ => None,
        })
    }

    /// Window scale shift count (kind 3).
    pub fn window_scale(&self) -> Option<u8> {
        self.options().find_map(|o| match o {
            TcpOption::WindowScale(s) => Some(s),
            _ => None,
        })
    }

    /// SACK-permitted option present (kind 4).
    pub fn sack_permitted(&self) -> bool {
        self.options()
            .any(|o| matches!(o, TcpOption::SackPermitted))
    }

    /// Timestamps option (kind 8): (TSval, TSecr).
    pub fn timestamps(&self) -> Option<(u32, u32)> {
        self.options().find_map(|o| match o {
            TcpOption::Timestamps(a, b) => Some((a, b)),
            _ => None,
        })
    }

    /// Header length in bytes (as viewed).
    pub fn header_len(&self) -> usize {
        self.bytes.len()
    }

    /// Visits the header fields.
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        v.field("source_port", Value::U64(self.src_port().into()));
        v.field("destination_port", Value::U64(self.dst_port().into()));
        v.field("sequence_number", Value::U64(self.seq_number().into()));
        if self.bytes.len() >= MIN_HEADER_LEN {
            v.field(
                "acknowledgment_number",
                Value::U64(self.ack_number().into()),
            );
            v.field("data_offset", Value::U64(self.data_offset().into()));
            v.field(
                "flags",
                Value::Display(&super::keys::TcpFlagBits(self.flags())),
            );
            v.field("window", Value::U64(self.window().into()));
            v.field("urgent_pointer", Value::U64(self.urgent_pointer().into()));
        }
        if let Some(m) = self.mss() {
            v.field("mss", Value::U64(m.into()));
        }
        if let Some(s) = self.window_scale() {
            v.field("window_scale", Value::U64(s.into()));
        }
        if self.sack_permitted() {
            v.field("sack_permitted", Value::Bool(true));
        }
        if let Some((a, b)) = self.timestamps() {
            v.field("tsval", Value::U64(a.into()));
            v.field("tsecr", Value::U64(b.into()));
        }
    }
}

/// One decoded TCP option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TcpOption<'a> {
    /// Kind 1.
    Nop,
    /// Kind 2: maximum segment size.
    Mss(u16),
    /// Kind 3: window scale shift.
    WindowScale(u8),
    /// Kind 4.
    SackPermitted,
    /// Kind 5: SACK blocks (raw).
    Sack(&'a [u8]),
    /// Kind 8: TSval, TSecr.
    Timestamps(u32, u32),
    /// Any other kind, with its data.
    Other(u8, &'a [u8]),
}

/// Iterator over TCP options; stops at end-of-list, at the end of the header, or at a
/// malformed length.
#[derive(Clone, Copy, Debug)]
pub struct TcpOptions<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for TcpOptions<'a> {
    type Item = TcpOption<'a>;

    fn next(&mut self) -> Option<TcpOption<'a>> {
        let kind = *self.rest.get(option_field::KIND)?;
        match kind {
            0 => {
                self.rest = &[];
                None
            }
            1 => {
                self.rest = self.rest.get(1..).unwrap_or(&[]);
                Some(TcpOption::Nop)
            }
            _ => {
                let len = usize::from(*self.rest.get(option_field::LENGTH)?);
                let Some(opt) = self.rest.get(..len).filter(|_| len >= option_field::DATA) else {
                    self.rest = &[];
                    return None;
                };
                self.rest = self.rest.get(len..).unwrap_or(&[]);
                let data = opt.get(option_field::DATA..).unwrap_or(&[]);
                Some(match (kind, len) {
                    (2, 4) => TcpOption::Mss(u16_at(opt, option_field::DATA)),
                    (3, 3) => TcpOption::WindowScale(u8_at(opt, option_field::DATA)),
                    (4, 2) => TcpOption::SackPermitted,
                    (5, _) => TcpOption::Sack(data),
                    (8, 10) => TcpOption::Timestamps(
                        u32_at(opt, option_field::DATA),
                        u32_at(opt, option_field::TS_ECR),
                    ),
                    _ => TcpOption::Other(kind, data),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::vec::Vec;

    use super::super::bytes::testing::visited;
    use super::*;
    use crate::Error;

    /// The TCP header of frame 1 of `packets/tcp/zeek__tcp-options.pcap` (bytes 34..74 of
    /// `tshark -x`), a SYN from 192.168.1.102 to 193.1.193.64; the expected values are tshark
    /// 4.0's (`tshark -V -O tcp`).
    static PACKET_BYTES: [u8; 40] = [
        0x8f, 0xfd, // source port 36861
        0x00, 0x50, // destination port 80
        0xdf, 0x91, 0xfd, 0xfb, // sequence number (raw) 3750886907
        0x00, 0x00, 0x00, 0x00, // acknowledgment number 0
        0xa0, 0x02, // header length 40 (10 words), flags 0x002 (SYN)
        0x16, 0xd0, // window 5840
        0x2a, 0x1c, // checksum 0x2a1c
        0x00, 0x00, // urgent pointer 0
        0x02, 0x04, 0x05, 0xb4, // MSS (kind 2, length 4): 1460
        0x04, 0x02, // SACK permitted (kind 4, length 2)
        0x08, 0x0a, 0xff, 0xff, 0x54, 0xe9, 0x00, 0x00, 0x00, 0x00, // timestamps (kind 8,
        //                       length 10): TSval 4294923497, TSecr 0
        0x01, // NOP (kind 1)
        0x03, 0x03, 0x06, // window scale (kind 3, length 3): shift count 6
    ];

    /// A header with every flag and every reserved bit set, and less common options.
    static FLAGS_BYTES: [u8; 32] = [
        0x00, 0x35, // source port 53
        0xc0, 0x01, // destination port 49153
        0x00, 0x00, 0x00, 0x01, // sequence number 1
        0x80, 0x00, 0x00, 0x00, // acknowledgment number 2^31
        0x8f, 0xff, // data offset 8 (32 bytes), reserved 111, NS 1; CWR ECE URG ACK PSH RST
        //             SYN FIN all 1
        0xff, 0xff, // window 65535
        0x12, 0x34, // checksum
        0x00, 0x07, // urgent pointer 7
        0x05, 0x0a, 0, 0, 0, 1, 0, 0, 0, 2, // SACK (kind 5, length 10): block 1..2 (RFC 2018)
        0x22, 0x02, // TCP Fast Open cookie request (kind 34, length 2, RFC 7413)
    ];

    #[test]
    fn deconstruct_capture() {
        let h = TcpHeader::new_checked(&PACKET_BYTES).unwrap();
        assert_eq!(h.src_port(), 36861);
        assert_eq!(h.dst_port(), 80);
        assert_eq!(h.seq_number(), 3_750_886_907);
        assert_eq!(h.ack_number(), 0);
        assert_eq!(h.data_offset(), 10);
        assert_eq!(h.header_len(), 40);
        assert_eq!(h.flags(), 0x002);
        assert!(h.syn());
        assert!(!(h.fin() || h.rst() || h.psh() || h.ack() || h.urg()));
        assert!(!(h.ece() || h.cwr() || h.ns()));
        assert_eq!(h.window(), 5840);
        assert_eq!(h.checksum(), 0x2a1c);
        assert_eq!(h.urgent_pointer(), 0);
        assert_eq!(
            h.options().collect::<Vec<_>>(),
            [
                TcpOption::Mss(1460),
                TcpOption::SackPermitted,
                TcpOption::Timestamps(4_294_923_497, 0),
                TcpOption::Nop,
                TcpOption::WindowScale(6),
            ]
        );
        assert_eq!(h.mss(), Some(1460));
        assert!(h.sack_permitted());
        assert_eq!(h.timestamps(), Some((4_294_923_497, 0)));
        assert_eq!(h.window_scale(), Some(6));
        assert_eq!(
            visited(|v| h.visit_fields(v)),
            [
                "source_port=36861",
                "destination_port=80",
                "sequence_number=3750886907",
                "acknowledgment_number=0",
                "data_offset=10",
                "flags=000000010",
                "window=5840",
                "urgent_pointer=0",
                "mss=1460",
                "window_scale=6",
                "sack_permitted=true",
                "tsval=4294923497",
                "tsecr=0",
            ]
        );
    }

    #[test]
    fn flags_and_other_options() {
        let h = TcpHeader::new_checked(&FLAGS_BYTES).unwrap();
        assert_eq!(h.src_port(), 53);
        assert_eq!(h.dst_port(), 49153);
        assert_eq!(h.seq_number(), 1);
        assert_eq!(h.ack_number(), 0x8000_0000);
        assert_eq!(h.data_offset(), 8);
        assert_eq!(h.header_len(), 32);
        assert_eq!(h.flags(), 0x1ff, "reserved bits are not flags");
        assert!(h.fin() && h.syn() && h.rst() && h.psh() && h.ack());
        assert!(h.urg() && h.ece() && h.cwr() && h.ns());
        assert_eq!(h.window(), 65535);
        assert_eq!(h.checksum(), 0x1234);
        assert_eq!(h.urgent_pointer(), 7);
        assert_eq!(
            h.options().collect::<Vec<_>>(),
            [
                TcpOption::Sack(&[0, 0, 0, 1, 0, 0, 0, 2]),
                TcpOption::Other(34, &[]),
            ]
        );
        assert_eq!(
            (h.mss(), h.window_scale(), h.timestamps()),
            (None, None, None)
        );
        assert!(!h.sack_permitted());
        let fields = visited(|v| h.visit_fields(v));
        assert!(fields.contains(&"flags=111111111".into()), "{fields:?}");

        // One flag bit at a time: (byte 12, byte 13) and the accessor that must see it.
        type Flag = fn(&TcpHeader<'_>) -> bool;
        let cases: [(u8, u8, Flag); 9] = [
            (0x50, 0x01, |h| h.fin()),
            (0x50, 0x02, |h| h.syn()),
            (0x50, 0x04, |h| h.rst()),
            (0x50, 0x08, |h| h.psh()),
            (0x50, 0x10, |h| h.ack()),
            (0x50, 0x20, |h| h.urg()),
            (0x50, 0x40, |h| h.ece()),
            (0x50, 0x80, |h| h.cwr()),
            (0x51, 0x00, |h| h.ns()),
        ];
        for (i, (b12, b13, get)) in cases.iter().enumerate() {
            let mut bytes = FLAGS_BYTES;
            bytes[12] = *b12;
            bytes[13] = *b13;
            let h = TcpHeader::new_checked(&bytes).unwrap();
            assert_eq!(h.flags(), 1 << i);
            assert!(get(&h), "bit {i}");
        }
    }

    #[test]
    fn options_stop_at_end_of_list_and_bad_lengths() {
        let opts = |o: &'static [u8]| TcpOptions { rest: o }.collect::<Vec<_>>();
        // End of option list (kind 0) ends the list; what follows is padding.
        assert_eq!(
            opts(&[0x02, 0x04, 0x05, 0xb4, 0x00, 0x03, 0x03, 0x06]),
            [TcpOption::Mss(1460)]
        );
        // A length below 2 or past the header ends the list.
        assert_eq!(opts(&[0x02, 0x01, 0x05, 0xb4]), []);
        assert_eq!(opts(&[0x02, 0x00, 0x05, 0xb4]), []);
        assert_eq!(
            opts(&[0x03, 0x03, 0x06, 0x08, 0x0a, 0x00]),
            [TcpOption::WindowScale(6)]
        );
        // A kind without its length byte.
        assert_eq!(opts(&[0x01, 0x02]), [TcpOption::Nop]);
        // A known kind with the wrong length is kept as raw data.
        assert_eq!(opts(&[0x02, 0x03, 0x05]), [TcpOption::Other(2, &[0x05])]);
    }

    #[test]
    fn truncated_and_invalid() {
        for n in 0..MIN_HEADER_LEN {
            assert_eq!(
                TcpHeader::new_checked(&PACKET_BYTES[..n]).err(),
                Some(Error::Truncated {
                    layer: Layer::Tcp,
                    offset: 0,
                    needed: 20,
                    available: n
                }),
                "{n} bytes"
            );
        }
        for n in MIN_HEADER_LEN..40 {
            assert_eq!(
                TcpHeader::new_checked(&PACKET_BYTES[..n]).err(),
                Some(Error::Truncated {
                    layer: Layer::Tcp,
                    offset: 0,
                    needed: 40,
                    available: n
                }),
                "{n} bytes"
            );
        }
        let mut bytes = PACKET_BYTES;
        for doff in 0..5 {
            bytes[12] = doff << 4;
            assert_eq!(
                TcpHeader::new_checked(&bytes).err(),
                Some(Error::Invalid {
                    layer: Layer::Tcp,
                    offset: 12,
                    field: "data_offset",
                    value: doff.into()
                })
            );
        }
    }

    #[test]
    fn partial() {
        for n in 0..8 {
            assert_eq!(
                TcpHeader::new_partial(&PACKET_BYTES[..n]).err(),
                Some(Error::Truncated {
                    layer: Layer::Tcp,
                    offset: 0,
                    needed: 8,
                    available: n
                }),
                "{n} bytes"
            );
        }
        // The 8 bytes an ICMP error quotes: ports and sequence number, nothing else.
        let h = TcpHeader::new_partial(&PACKET_BYTES[..8]).unwrap();
        assert_eq!(h.header_len(), 8);
        assert_eq!((h.src_port(), h.dst_port()), (36861, 80));
        assert_eq!(h.seq_number(), 3_750_886_907);
        assert_eq!((h.ack_number(), h.data_offset(), h.flags()), (0, 0, 0));
        assert_eq!((h.window(), h.checksum(), h.urgent_pointer()), (0, 0, 0));
        assert_eq!(h.options().count(), 0);
        assert_eq!(
            visited(|v| h.visit_fields(v)),
            [
                "source_port=36861",
                "destination_port=80",
                "sequence_number=3750886907"
            ]
        );
        // A partial view never covers options, even when they are there.
        let h = TcpHeader::new_partial(&PACKET_BYTES).unwrap();
        assert_eq!(h.header_len(), 20);
        assert_eq!((h.flags(), h.window()), (0x002, 5840));
        assert_eq!(h.mss(), None);
    }
}
