//! TCP header and options (RFC 9293; window scale and timestamps RFC 7323; SACK RFC 2018;
//! NS RFC 3540, ECE/CWR RFC 3168).

use super::bytes::{invalid, take, u16_at, u32_at, u8_at};
use crate::error::{Layer, Result};
use crate::value::{FieldVisitor, Value};

/// Minimum header length.
pub const MIN_HEADER_LEN: usize = 20;

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
        let doff = usize::from(u8_at(fixed, 12) >> 4);
        if doff < 5 {
            return Err(invalid(Layer::Tcp, 12, "data_offset", doff as u64));
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
        take(buf, 8, Layer::Tcp)?;
        Ok(TcpHeader {
            bytes: buf.get(..MIN_HEADER_LEN).unwrap_or(buf),
        })
    }

    /// Source port.
    pub fn src_port(&self) -> u16 {
        u16_at(self.bytes, 0)
    }

    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        u16_at(self.bytes, 2)
    }

    /// Sequence number.
    pub fn seq_number(&self) -> u32 {
        u32_at(self.bytes, 4)
    }

    /// Acknowledgment number.
    pub fn ack_number(&self) -> u32 {
        u32_at(self.bytes, 8)
    }

    /// Data offset in 32-bit words.
    pub fn data_offset(&self) -> u8 {
        u8_at(self.bytes, 12) >> 4
    }

    /// The nine flag bits NS CWR ECE URG ACK PSH RST SYN FIN (NS = bit 8, FIN = bit 0).
    pub fn flags(&self) -> u16 {
        u16_at(self.bytes, 12) & 0x01ff
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
        u16_at(self.bytes, 14)
    }

    /// Checksum (not verified).
    pub fn checksum(&self) -> u16 {
        u16_at(self.bytes, 16)
    }

    /// Urgent pointer.
    pub fn urgent_pointer(&self) -> u16 {
        u16_at(self.bytes, 18)
    }

    /// Option bytes.
    pub fn options(&self) -> TcpOptions<'a> {
        TcpOptions {
            rest: self.bytes.get(MIN_HEADER_LEN..).unwrap_or(&[]),
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
        let kind = *self.rest.first()?;
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
                let len = usize::from(*self.rest.get(1)?);
                let Some(opt) = self.rest.get(..len).filter(|_| len >= 2) else {
                    self.rest = &[];
                    return None;
                };
                self.rest = self.rest.get(len..).unwrap_or(&[]);
                let data = opt.get(2..).unwrap_or(&[]);
                Some(match (kind, len) {
                    (2, 4) => TcpOption::Mss(u16_at(opt, 2)),
                    (3, 3) => TcpOption::WindowScale(u8_at(opt, 2)),
                    (4, 2) => TcpOption::SackPermitted,
                    (5, _) => TcpOption::Sack(data),
                    (8, 10) => TcpOption::Timestamps(u32_at(opt, 2), u32_at(opt, 6)),
                    _ => TcpOption::Other(kind, data),
                })
            }
        }
    }
}
