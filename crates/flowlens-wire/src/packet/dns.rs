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

/// Byte offsets of the header fields (RFC 1035 section 4.1.1), counted from the message start
/// (after the TCP length prefix); each is 2 bytes wide. The first question starts at
/// [`HEADER_LEN`].
mod field {
    /// DNS over TCP: the 2-byte message length before the message (RFC 1035 section 4.2.2).
    pub(super) const TCP_LENGTH: usize = 0;
    /// Length of that prefix.
    pub(super) const TCP_PREFIX_LEN: usize = 2;
    /// Transaction ID.
    pub(super) const ID: usize = 0;
    /// QR, opcode (4 bits), AA, TC, RD, RA, Z, AD, CD and RCODE (4 bits).
    pub(super) const FLAGS: usize = 2;
    /// Question count.
    pub(super) const QDCOUNT: usize = 4;
    /// Answer count.
    pub(super) const ANCOUNT: usize = 6;
    /// Authority count.
    pub(super) const NSCOUNT: usize = 8;
    /// Additional count.
    pub(super) const ARCOUNT: usize = 10;
    /// QTYPE and QCLASS, 2 bytes each, after the question's name (RFC 1035 section 4.1.2).
    pub(super) const QTYPE_QCLASS_LEN: usize = 4;
}

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
        let prefix = if tcp { field::TCP_PREFIX_LEN } else { 0 };
        let head = take(buf, prefix, Layer::Dns)?;
        let mut msg = buf.get(prefix..).unwrap_or(&[]);
        if tcp {
            // Bound the message by its length prefix when the segment holds more.
            let len = usize::from(u16_at(head, field::TCP_LENGTH));
            if let Some(m) = msg.get(..len) {
                msg = m;
            }
        }
        take(msg, HEADER_LEN, Layer::Dns).map_err(|e| e.shifted(prefix))?;
        let mut question_end = HEADER_LEN;
        if u16_at(msg, field::QDCOUNT) > 0 {
            let end = name_end(msg, HEADER_LEN).map_err(|e| e.shifted(prefix))?;
            take(
                msg.get(end..).unwrap_or(&[]),
                field::QTYPE_QCLASS_LEN,
                Layer::Dns,
            )
            .map_err(|e| e.shifted(prefix + end))?;
            question_end = end + field::QTYPE_QCLASS_LEN;
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
        u16_at(self.msg, field::ID)
    }
    fn flags(&self) -> u16 {
        u16_at(self.msg, field::FLAGS)
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
        u16_at(self.msg, field::QDCOUNT)
    }
    /// Answer count.
    pub fn ancount(&self) -> u16 {
        u16_at(self.msg, field::ANCOUNT)
    }
    /// Authority count.
    pub fn nscount(&self) -> u16 {
        u16_at(self.msg, field::NSCOUNT)
    }
    /// Additional count.
    pub fn arcount(&self) -> u16 {
        u16_at(self.msg, field::ARCOUNT)
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
        (self.qend() > HEADER_LEN).then(|| u16_at(self.msg, self.qend() - field::QTYPE_QCLASS_LEN))
    }

    /// The first question's class.
    pub fn qclass(&self) -> Option<u16> {
        (self.qend() > HEADER_LEN)
            .then(|| u16_at(self.msg, self.qend() - field::QTYPE_QCLASS_LEN + 2))
    }

    /// True when carried over TCP with a length prefix.
    pub fn is_tcp(&self) -> bool {
        self.tcp_prefix
    }

    /// Bytes decoded: length prefix, header and first question.
    pub fn header_len(&self) -> usize {
        self.qend()
            + if self.tcp_prefix {
                field::TCP_PREFIX_LEN
            } else {
                0
            }
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

#[cfg(test)]
mod tests {
    use std::string::ToString;

    use super::super::bytes::testing::visited;
    use super::*;

    /// Bytes 42..98 of frame 1 of `packets/dns/tcpdump__dns_udp.pcap` (`tshark -x`), a whole
    /// query; expected values are tshark 4.0's (`tshark -V -O dns`).
    static PACKET_BYTES: [u8; 56] = [
        0x59, 0x34, // transaction ID 0x5934
        0x01, 0x20, // flags 0x0120: query, opcode 0, RD 1, Z 0, AD 1
        0x00, 0x01, // questions 1
        0x00, 0x00, // answer RRs 0
        0x00, 0x00, // authority RRs 0
        0x00, 0x01, // additional RRs 1
        0x03, b'w', b'w', b'w', 0x07, b't', b'c', b'p', b'd', b'u', b'm', b'p', 0x03, b'o', b'r',
        b'g', 0x00, // name www.tcpdump.org (offsets 12..29)
        0x00, 0x01, // type A (1)
        0x00, 0x01, // class IN (1)
        0x00, 0x00, 0x29, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x0a, 0x00, 0x08,
        0x42, 0xf5, 0xd0, 0x09, 0x96, 0xf9, 0x0b, 0x13, // OPT record, not decoded
    ];

    /// Bytes 54..87 of frame 4 of `packets/dns/tcpdump__dns_tcp.pcap`: the same query over
    /// TCP, cut after the question.
    static TCP_BYTES: [u8; 35] = [
        0x00, 0x38, // length 56
        0x43, 0x19, // transaction ID 0x4319
        0x01, 0x20, // flags 0x0120
        0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, // counts 1, 0, 0, 1
        0x03, b'w', b'w', b'w', 0x07, b't', b'c', b'p', b'd', b'u', b'm', b'p', 0x03, b'o', b'r',
        b'g', 0x00, // name www.tcpdump.org
        0x00, 0x01, // type A
        0x00, 0x01, // class IN
    ];

    /// A question whose name ends in a compression pointer (RFC 1035 section 4.1.4).
    static POINTER_BYTES: [u8; 35] = [
        0xaa, 0xd3, // ID 0xaad3
        0xaa, 0xd3, // flags: QR 1, opcode 5, AA 0, TC 1, RD 0, RA 1, Z 1, AD 0, CD 1, RCODE 3
        0x00, 0x01, 0x00, 0x02, 0x00, 0x03, 0x00, 0x04, // counts 1, 2, 3, 4
        0x03, b'w', b'w', b'w', // label "www" (offset 12)
        0xc0, 0x16, // pointer to offset 22
        0x00, 0x1c, // type AAAA (28)
        0x00, 0xff, // class ANY (255)
        0x07, b't', b'c', b'p', b'd', b'u', b'm', b'p', 0x03, b'o', b'r', b'g',
        0x00, // offset 22: tcpdump.org
    ];

    fn truncated(offset: usize, needed: usize, available: usize) -> Option<Error> {
        Some(Error::Truncated {
            layer: Layer::Dns,
            offset,
            needed,
            available,
        })
    }

    #[test]
    fn query() {
        let m = DnsMessage::new_checked(&PACKET_BYTES, false).unwrap();
        assert!(!m.is_tcp());
        assert_eq!(m.id(), 0x5934);
        assert!(!m.qr());
        assert_eq!(m.opcode(), 0);
        assert!(!m.aa() && !m.tc() && m.rd() && !m.ra() && !m.z());
        assert!(m.ad() && !m.cd());
        assert_eq!(m.rcode(), 0);
        assert_eq!(
            (m.qdcount(), m.ancount(), m.nscount(), m.arcount()),
            (1, 0, 0, 1)
        );
        assert_eq!(m.qname().unwrap().to_string(), "www.tcpdump.org");
        assert_eq!((m.qtype(), m.qclass()), (Some(1), Some(1)));
        assert_eq!(m.header_len(), 33, "header and first question only");
        assert_eq!(
            visited(|v| m.visit_fields(v)),
            [
                "id=22836",
                "qr=false",
                "opcode=0",
                "aa=false",
                "tc=false",
                "rd=true",
                "ra=false",
                "z=false",
                "rcode=0",
                "qdcount=1",
                "ancount=0",
                "nscount=0",
                "arcount=1",
                "qname=www.tcpdump.org",
                "qtype=1",
                "qclass=1",
            ]
        );
    }

    #[test]
    fn over_tcp() {
        let m = DnsMessage::new_checked(&TCP_BYTES, true).unwrap();
        assert!(m.is_tcp());
        assert_eq!(m.id(), 0x4319);
        assert_eq!((m.qdcount(), m.arcount()), (1, 1));
        assert_eq!(m.qname().unwrap().to_string(), "www.tcpdump.org");
        assert_eq!(m.header_len(), 35, "2-byte prefix, header and question");
        // Errors inside the message point past the prefix.
        assert_eq!(
            DnsMessage::new_checked(&TCP_BYTES[..1], true).err(),
            truncated(0, 2, 1)
        );
        assert_eq!(
            DnsMessage::new_checked(&TCP_BYTES[..7], true).err(),
            truncated(2, 12, 5)
        );
        assert_eq!(
            DnsMessage::new_checked(&TCP_BYTES[..33], true).err(),
            truncated(31, 4, 2)
        );
        // The length prefix bounds the message: 12 bytes say there is no room for the question.
        let mut short = TCP_BYTES;
        short[1] = 12;
        assert_eq!(
            DnsMessage::new_checked(&short, true).err(),
            truncated(14, 1, 0)
        );
    }

    #[test]
    fn flags_counts_and_pointer() {
        let m = DnsMessage::new_checked(&POINTER_BYTES, false).unwrap();
        assert_eq!(m.id(), 0xaad3);
        assert!(m.qr());
        assert_eq!(m.opcode(), 5);
        assert!(!m.aa() && m.tc() && !m.rd() && m.ra() && m.z() && !m.ad() && m.cd());
        assert_eq!(m.rcode(), 3);
        assert_eq!(
            (m.qdcount(), m.ancount(), m.nscount(), m.arcount()),
            (1, 2, 3, 4)
        );
        assert_eq!(m.qname().unwrap().to_string(), "www.tcpdump.org");
        assert_eq!((m.qtype(), m.qclass()), (Some(28), Some(255)));
        assert_eq!(m.header_len(), 22, "the question ends after the pointer");
    }

    #[test]
    fn no_question() {
        let mut bytes = PACKET_BYTES;
        bytes[5] = 0; // QDCOUNT 0: the bytes after the header are not a question
        let m = DnsMessage::new_checked(&bytes[..12], false).unwrap();
        assert_eq!(m.header_len(), 12);
        assert!(m.qname().is_none());
        assert_eq!((m.qtype(), m.qclass()), (None, None));
        let fields = visited(|v| m.visit_fields(v));
        assert_eq!(fields.last().map(|s| s.as_str()), Some("arcount=1"));
    }

    #[test]
    fn truncated_header_and_question() {
        for n in 0..HEADER_LEN {
            assert_eq!(
                DnsMessage::new_checked(&PACKET_BYTES[..n], false).err(),
                truncated(0, 12, n)
            );
        }
        // The name: a missing length byte, then a label cut short.
        assert_eq!(
            DnsMessage::new_checked(&PACKET_BYTES[..12], false).err(),
            truncated(12, 1, 0)
        );
        assert_eq!(
            DnsMessage::new_checked(&PACKET_BYTES[..14], false).err(),
            truncated(13, 3, 1)
        );
        assert_eq!(
            DnsMessage::new_checked(&PACKET_BYTES[..16], false).err(),
            truncated(16, 1, 0)
        );
        assert_eq!(
            DnsMessage::new_checked(&PACKET_BYTES[..20], false).err(),
            truncated(17, 7, 3)
        );
        assert_eq!(
            DnsMessage::new_checked(&PACKET_BYTES[..28], false).err(),
            truncated(28, 1, 0)
        );
        // QTYPE and QCLASS.
        for n in 29..33 {
            assert_eq!(
                DnsMessage::new_checked(&PACKET_BYTES[..n], false).err(),
                truncated(29, 4, n - 29)
            );
        }
        // A pointer cut after its first byte.
        assert_eq!(
            DnsMessage::new_checked(&POINTER_BYTES[..17], false).err(),
            truncated(16, 2, 1)
        );
    }

    #[test]
    fn malformed_names() {
        let mut bytes = [0u8; 12 + 2 + 4];
        bytes[..12].copy_from_slice(&PACKET_BYTES[..12]);
        let with_name = |name: &[u8]| {
            let mut b = bytes;
            b[12..14].copy_from_slice(name);
            DnsMessage::new_checked(&b, false).err()
        };
        let err = |kind: fn(Layer, usize, &'static str, u64) -> Error, f, v| {
            Some(kind(Layer::Dns, 12, f, v))
        };
        // A pointer past the end of the message (18 bytes).
        assert_eq!(with_name(&[0xc0, 0x12]), err(invalid, "pointer", 18));
        // A pointer to itself: followed MAX_POINTER_HOPS times, then rejected.
        assert_eq!(with_name(&[0xc0, 0x0c]), err(invalid, "pointer_hops", 17));
        // Label types 01 and 10 (RFC 6891 section 5 retired the extended ones).
        assert_eq!(
            with_name(&[0x41, 0x00]),
            err(unsupported, "label_type", 0x41)
        );
        assert_eq!(
            with_name(&[0x80, 0x00]),
            err(unsupported, "label_type", 0x80)
        );

        // Four 63-byte labels: 4 * 64 = 256 bytes, one more than a name may have.
        let mut long = [0u8; 12 + 4 * 64 + 1 + 4];
        long[..12].copy_from_slice(&PACKET_BYTES[..12]);
        for label in long[12..12 + 4 * 64].chunks_mut(64) {
            label[0] = 63;
            label[1..].fill(b'a');
        }
        assert_eq!(
            DnsMessage::new_checked(&long, false).err(),
            Some(Error::Invalid {
                layer: Layer::Dns,
                offset: 12 + 3 * 64,
                field: "name_length",
                value: 256
            })
        );
        // Three of them and a 61-byte one: 3 * 64 + 62 + the root label = 255 bytes, the most
        // a name may have.
        long[12 + 3 * 64] = 61;
        long[12 + 3 * 64 + 62] = 0;
        let m = DnsMessage::new_checked(&long, false).unwrap();
        assert_eq!(m.header_len(), 12 + 255 + 4);
        assert_eq!(m.qname().unwrap().to_string().len(), 63 * 3 + 61 + 3);
    }

    #[test]
    fn name_text() {
        let mut bytes = [0u8; 12 + 12 + 4];
        bytes[..12].copy_from_slice(&PACKET_BYTES[..12]);
        // Labels "a.b" and "c\ d<DEL><FF>": dots, backslashes, spaces and bytes outside
        // printable ASCII are escaped (RFC 1035 section 5.1: `\X` and `\DDD`).
        bytes[12..24].copy_from_slice(&[
            3, b'a', b'.', b'b', 6, b'c', b'\\', b' ', b'd', 0x7f, 0xff, 0,
        ]);
        let m = DnsMessage::new_checked(&bytes, false).unwrap();
        assert_eq!(m.header_len(), 28);
        assert_eq!(m.qname().unwrap().to_string(), r"a\.b.c\\\032d\127\255");
        // The root name.
        bytes[12] = 0;
        let m = DnsMessage::new_checked(&bytes, false).unwrap();
        assert_eq!(m.qname().unwrap().to_string(), ".");
        assert_eq!(m.header_len(), 12 + 1 + 4);
    }

    #[test]
    fn qtype_names() {
        // IANA "Resource Record (RR) TYPEs".
        let known = [
            (1, "A"),
            (2, "NS"),
            (5, "CNAME"),
            (15, "MX"),
            (28, "AAAA"),
            (33, "SRV"),
        ];
        for (t, name) in known {
            assert_eq!(qtype_name(t), Some(name));
        }
        assert_eq!(qtype_name(41), Some("OPT"));
        assert_eq!(qtype_name(65), Some("HTTPS"));
        assert_eq!(qtype_name(257), Some("CAA"));
        assert_eq!(qtype_name(3), None, "MD, obsolete");
        assert_eq!(qtype_name(0), None);
    }
}
