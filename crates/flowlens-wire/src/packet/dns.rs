//! DNS message header and first question (RFC 1035 section 4.1; flags per RFC 6895).
//!
//! Names are never copied: [`DnsName`] remembers where the name starts and formats it on
//! demand, following compression pointers (RFC 1035 section 4.1.4) with a hop limit. The name
//! is fully validated when the view is built, so formatting cannot loop or read out of bounds.

use core::fmt;

use super::bytes::{invalid, take, u16_at, u8_at, unsupported};
use crate::error::{Error, Layer, Result};
use crate::value::{FieldVisitor, Value};

/// Fixed header length.
pub const HEADER_LEN: usize = 12;
/// Maximum compression pointers followed in one name.
pub const MAX_POINTER_HOPS: usize = 16;
/// Maximum encoded name length (RFC 1035 section 2.3.4).
pub const MAX_NAME_LEN: usize = 255;

/// Zero-copy view of a DNS message's header and first question.
#[derive(Clone, Copy, Debug)]
pub struct DnsMessage<'a> {
    msg: &'a [u8],
    /// End of the first question (<= 12 + 255 + 4), kept small so layer views stay compact.
    question_end: u16,
    tcp_prefix: bool,
}

impl<'a> DnsMessage<'a> {
    /// Views the DNS message at the start of `buf`. With `tcp` the message is preceded by the
    /// 2-byte length of DNS over TCP (RFC 1035 section 4.2.2).
    ///
    /// # Errors
    /// [`Error::Truncated`] if the header or first question is cut; [`Error::Invalid`] for a
    /// malformed name (pointer out of range, too many hops, name too long);
    /// [`Error::Unsupported`] for the obsolete extended label types.
    pub fn new_checked(buf: &'a [u8], tcp: bool) -> Result<Self> {
        let prefix = if tcp { 2 } else { 0 };
        let head = take(buf, prefix, Layer::Dns)?;
        let mut msg = buf.get(prefix..).unwrap_or(&[]);
        if tcp {
            // Bound the message by its length prefix when the segment holds more.
            let len = usize::from(u16_at(head, 0));
            if let Some(m) = msg.get(..len) {
                msg = m;
            }
        }
        take(msg, HEADER_LEN, Layer::Dns).map_err(|e| e.shifted(prefix))?;
        let mut question_end = HEADER_LEN;
        if u16_at(msg, 4) > 0 {
            let end = name_end(msg, HEADER_LEN).map_err(|e| e.shifted(prefix))?;
            take(msg.get(end..).unwrap_or(&[]), 4, Layer::Dns)
                .map_err(|e| e.shifted(prefix + end))?;
            question_end = end + 4;
        }
        // name_end bounds a name to 255 bytes and <= 16 pointer hops, so this always fits.
        let question_end = u16::try_from(question_end).map_err(|_| {
            invalid(
                Layer::Dns,
                prefix + HEADER_LEN,
                "name_length",
                question_end as u64,
            )
        })?;
        Ok(DnsMessage {
            msg,
            question_end,
            tcp_prefix: tcp,
        })
    }

    /// Transaction id.
    pub fn id(&self) -> u16 {
        u16_at(self.msg, 0)
    }
    fn flags(&self) -> u16 {
        u16_at(self.msg, 2)
    }
    /// QR: false for a query, true for a response.
    pub fn qr(&self) -> bool {
        self.flags() & 0x8000 != 0
    }
    /// Opcode (0 query, 4 notify, 5 update).
    pub fn opcode(&self) -> u8 {
        ((self.flags() >> 11) & 0xf) as u8
    }
    /// Authoritative answer.
    pub fn aa(&self) -> bool {
        self.flags() & 0x0400 != 0
    }
    /// Truncation.
    pub fn tc(&self) -> bool {
        self.flags() & 0x0200 != 0
    }
    /// Recursion desired.
    pub fn rd(&self) -> bool {
        self.flags() & 0x0100 != 0
    }
    /// Recursion available.
    pub fn ra(&self) -> bool {
        self.flags() & 0x0080 != 0
    }
    /// Z: the reserved bit (RFC 6895; bit 9 of the flags).
    pub fn z(&self) -> bool {
        self.flags() & 0x0040 != 0
    }
    /// Authentic data (RFC 4035).
    pub fn ad(&self) -> bool {
        self.flags() & 0x0020 != 0
    }
    /// Checking disabled (RFC 4035).
    pub fn cd(&self) -> bool {
        self.flags() & 0x0010 != 0
    }
    /// Response code (4 bits).
    pub fn rcode(&self) -> u8 {
        (self.flags() & 0xf) as u8
    }
    /// Question count.
    pub fn qdcount(&self) -> u16 {
        u16_at(self.msg, 4)
    }
    /// Answer count.
    pub fn ancount(&self) -> u16 {
        u16_at(self.msg, 6)
    }
    /// Authority count.
    pub fn nscount(&self) -> u16 {
        u16_at(self.msg, 8)
    }
    /// Additional count.
    pub fn arcount(&self) -> u16 {
        u16_at(self.msg, 10)
    }

    /// The first question's name, if there is a question.
    pub fn qname(&self) -> Option<DnsName<'a>> {
        (self.qend() > HEADER_LEN).then_some(DnsName {
            msg: self.msg,
            start: HEADER_LEN,
        })
    }

    /// The first question's type.
    pub fn qtype(&self) -> Option<u16> {
        (self.qend() > HEADER_LEN).then(|| u16_at(self.msg, self.qend() - 4))
    }

    /// The first question's class.
    pub fn qclass(&self) -> Option<u16> {
        (self.qend() > HEADER_LEN).then(|| u16_at(self.msg, self.qend() - 2))
    }

    /// True when carried over TCP with a length prefix.
    pub fn is_tcp(&self) -> bool {
        self.tcp_prefix
    }

    /// Bytes decoded: length prefix, header and first question.
    pub fn header_len(&self) -> usize {
        self.qend() + if self.tcp_prefix { 2 } else { 0 }
    }

    fn qend(&self) -> usize {
        usize::from(self.question_end)
    }

    /// Visits the header and question fields.
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        v.field("id", Value::U64(self.id().into()));
        v.field("qr", Value::Bool(self.qr()));
        v.field("opcode", Value::U64(self.opcode().into()));
        v.field("aa", Value::Bool(self.aa()));
        v.field("tc", Value::Bool(self.tc()));
        v.field("rd", Value::Bool(self.rd()));
        v.field("ra", Value::Bool(self.ra()));
        v.field("z", Value::Bool(self.z()));
        v.field("rcode", Value::U64(self.rcode().into()));
        v.field("qdcount", Value::U64(self.qdcount().into()));
        v.field("ancount", Value::U64(self.ancount().into()));
        v.field("nscount", Value::U64(self.nscount().into()));
        v.field("arcount", Value::U64(self.arcount().into()));
        if let (Some(n), Some(t), Some(c)) = (self.qname(), self.qtype(), self.qclass()) {
            v.field("qname", Value::Display(&n));
            v.field("qtype", Value::U64(t.into()));
            v.field("qclass", Value::U64(c.into()));
        }
    }
}

/// Walks the name at `start`, validating every label and pointer; returns the offset just past
/// the name's encoding at its original position.
fn name_end(msg: &[u8], start: usize) -> Result<usize> {
    let mut pos = start;
    let mut end = None;
    let mut hops = 0usize;
    let mut total = 0usize;
    loop {
        let len = *msg.get(pos).ok_or(Error::Truncated {
            layer: Layer::Dns,
            offset: pos,
            needed: 1,
            available: 0,
        })?;
        match len & 0xc0 {
            0x00 if len == 0 => return Ok(end.unwrap_or(pos + 1)),
            0x00 => {
                let n = usize::from(len);
                total += n + 1;
                if total > MAX_NAME_LEN {
                    return Err(invalid(Layer::Dns, pos, "name_length", total as u64));
                }
                take(msg.get(pos + 1..).unwrap_or(&[]), n, Layer::Dns)
                    .map_err(|e| e.shifted(pos + 1))?;
                pos += 1 + n;
            }
            0xc0 => {
                take(msg.get(pos..).unwrap_or(&[]), 2, Layer::Dns).map_err(|e| e.shifted(pos))?;
                let target = usize::from(u16_at(msg, pos) & 0x3fff);
                hops += 1;
                if hops > MAX_POINTER_HOPS {
                    return Err(invalid(Layer::Dns, pos, "pointer_hops", hops as u64));
                }
                if target >= msg.len() {
                    return Err(invalid(Layer::Dns, pos, "pointer", target as u64));
                }
                end.get_or_insert(pos + 2);
                pos = target;
            }
            _ => return Err(unsupported(Layer::Dns, pos, "label_type", len.into())),
        }
    }
}

/// A domain name inside a DNS message, formatted lazily as dotted text without the trailing
/// dot (the root name formats as `.`). Bytes outside printable ASCII, and `.` or `\` inside a
/// label, are escaped in RFC 1035 master-file style (`\DDD`, `\.`).
#[derive(Clone, Copy, Debug)]
pub struct DnsName<'a> {
    msg: &'a [u8],
    start: usize,
}

impl fmt::Display for DnsName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut pos = self.start;
        let mut hops = 0usize;
        let mut first = true;
        loop {
            let len = u8_at(self.msg, pos);
            if len == 0 || pos >= self.msg.len() {
                break;
            }
            if len & 0xc0 == 0xc0 {
                hops += 1;
                if hops > MAX_POINTER_HOPS {
                    break;
                }
                pos = usize::from(u16_at(self.msg, pos) & 0x3fff);
                continue;
            }
            if len & 0xc0 != 0 {
                break;
            }
            if !first {
                f.write_str(".")?;
            }
            first = false;
            let label = self
                .msg
                .get(pos + 1..pos + 1 + usize::from(len))
                .unwrap_or(&[]);
            for &b in label {
                match b {
                    b'.' | b'\\' => write!(f, "\\{}", char::from(b))?,
                    0x21..=0x7e => write!(f, "{}", char::from(b))?,
                    _ => write!(f, "\\{b:03}")?,
                }
            }
            pos += 1 + usize::from(len);
        }
        if first {
            f.write_str(".")?;
        }
        Ok(())
    }
}

/// Mnemonic of a query type (IANA DNS parameters registry), if known.
pub const fn qtype_name(qtype: u16) -> Option<&'static str> {
    Some(match qtype {
        1 => "A",
        2 => "NS",
        5 => "CNAME",
        6 => "SOA",
        12 => "PTR",
        13 => "HINFO",
        15 => "MX",
        16 => "TXT",
        17 => "RP",
        18 => "AFSDB",
        24 => "SIG",
        25 => "KEY",
        28 => "AAAA",
        29 => "LOC",
        33 => "SRV",
        35 => "NAPTR",
        36 => "KX",
        37 => "CERT",
        39 => "DNAME",
        41 => "OPT",
        42 => "APL",
        43 => "DS",
        44 => "SSHFP",
        45 => "IPSECKEY",
        46 => "RRSIG",
        47 => "NSEC",
        48 => "DNSKEY",
        49 => "DHCID",
        50 => "NSEC3",
        51 => "NSEC3PARAM",
        52 => "TLSA",
        53 => "SMIMEA",
        55 => "HIP",
        59 => "CDS",
        60 => "CDNSKEY",
        61 => "OPENPGPKEY",
        62 => "CSYNC",
        63 => "ZONEMD",
        64 => "SVCB",
        65 => "HTTPS",
        99 => "SPF",
        249 => "TKEY",
        250 => "TSIG",
        251 => "IXFR",
        252 => "AXFR",
        255 => "ANY",
        256 => "URI",
        257 => "CAA",
        _ => return None,
    })
}
