//! IPFIX messages (RFC 7011).
//!
//! Layout (RFC 7011 section 3.1, all fields big-endian): a 16-byte header — `Version` u16 (10),
//! `Length` u16 (total message length in bytes, header included), `Export Time` u32 (seconds
//! since 1970-01-01 UTC), `Sequence Number` u32 (data records sent so far, modulo 2^32),
//! `Observation Domain ID` u32 — followed by sets up to `Length` ([`Sets`]).

use super::set::{Flavor, Sets};
use super::ReadExt;
use crate::error::{Error, Layer, Result};
use crate::reader::Reader;
use crate::value::{FieldVisitor, Value};

/// Size of the IPFIX message header in bytes.
pub const HEADER_LEN: usize = 16;

/// Byte offsets of the header fields (RFC 7011 section 3.1). [`Message::parse`] reads them in
/// this order, each once; the names locate the errors.
mod field {
    /// `Version Number`, 2 bytes.
    pub(super) const VERSION: usize = 0;
    /// `Length`, 2 bytes; `Export Time`, `Sequence Number` and `Observation Domain ID` (4
    /// each) follow.
    pub(super) const LENGTH: usize = 2;
}

/// An IPFIX message, borrowing its buffer.
///
/// The buffer may hold bytes after the message (messages recorded back to back, stray bytes):
/// [`Message::len`] tells where this one ends, and [`Message::sets`] stops there.
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    length: u16,
    export_time: u32,
    sequence_number: u32,
    observation_domain_id: u32,
    sets: &'a [u8],
}

impl<'a> Message<'a> {
    /// Validates the 16-byte header and the message length.
    ///
    /// # Errors
    /// [`Error::Truncated`] (layer [`Layer::Ipfix`]) for a buffer shorter than the header or
    /// than `Length`; [`Error::Unsupported`] with field `"version"` if the version is not 10;
    /// [`Error::Invalid`] with field `"length"` if `Length` is below 16.
    pub fn parse(buf: &'a [u8]) -> Result<Message<'a>> {
        let mut r = Reader::new(buf, 0, Layer::Ipfix);
        let version = r.u16()?;
        if version != 10 {
            return Err(r.unsupported_at(field::VERSION, "version", u64::from(version)));
        }
        let length = r.u16()?;
        let export_time = r.u32()?;
        let sequence_number = r.u32()?;
        let observation_domain_id = r.u32()?;
        if usize::from(length) < HEADER_LEN {
            return Err(r.invalid_at(field::LENGTH, "length", u64::from(length)));
        }
        let body = usize::from(length) - HEADER_LEN;
        let sets = r.rest().get(..body).ok_or(Error::Truncated {
            layer: Layer::Ipfix,
            offset: HEADER_LEN,
            needed: body,
            available: r.remaining(),
        })?;
        Ok(Message {
            length,
            export_time,
            sequence_number,
            observation_domain_id,
            sets,
        })
    }

    /// `Version`: always 10.
    pub const fn version(&self) -> u16 {
        10
    }

    /// `Length`: the message length in bytes, header included.
    pub const fn len(&self) -> usize {
        self.length as usize
    }

    /// True for a message with no sets (length 16).
    pub const fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }

    /// `Export Time`: seconds since 1970-01-01 UTC when the message left the exporter.
    pub const fn export_time(&self) -> u32 {
        self.export_time
    }

    /// `Sequence Number`: data records sent in this stream before this message, mod 2^32.
    pub const fn sequence_number(&self) -> u32 {
        self.sequence_number
    }

    /// `Observation Domain ID`: templates are scoped by it (and the transport session).
    pub const fn observation_domain_id(&self) -> u32 {
        self.observation_domain_id
    }

    /// The sets, from offset 16 to `Length`.
    pub const fn sets(&self) -> Sets<'a> {
        Sets::new(self.sets, HEADER_LEN, Flavor::Ipfix)
    }

    /// Visits the header fields (`version`, `length`, `export_time`, `sequence_number`,
    /// `observation_domain_id`).
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        v.field("version", Value::U64(10));
        v.field("length", Value::U64(u64::from(self.length)));
        v.field("export_time", Value::U64(u64::from(self.export_time)));
        v.field(
            "sequence_number",
            Value::U64(u64::from(self.sequence_number)),
        );
        v.field(
            "observation_domain_id",
            Value::U64(u64::from(self.observation_domain_id)),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netflow::set::Set;
    use crate::packet::bytes::testing::visited;

    /// Bytes 42..58 of frame 1 of `netflow-ipfix/akvorado__ipfix-mpls.pcap` (`tshark -x`),
    /// with `Length` patched from 716 to 24, then a set with a reserved id; expected values
    /// are tshark 4.0's (`tshark -d udp.port==2055,cflow -V`).
    static PACKET_BYTES: [u8; 24] = [
        0x00, 0x0a, // version 10
        0x00, 0x18, // length 24 (716 in the capture)
        0x65, 0x52, 0x50, 0x9c, // export time 1699893404
        0x00, 0x00, 0x08, 0x08, // sequence number (FlowSequence) 2056
        0x01, 0x00, 0x00, 0x00, // observation domain ID 16777216
        0x00, 0x04, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, // set id 4 (reserved), length 8
    ];

    #[test]
    fn header() {
        let m = Message::parse(&PACKET_BYTES).unwrap();
        assert_eq!(m.version(), 10);
        assert_eq!(m.len(), 24);
        assert!(!m.is_empty());
        assert_eq!(m.export_time(), 1_699_893_404);
        assert_eq!(m.sequence_number(), 2056);
        assert_eq!(m.observation_domain_id(), 16_777_216);
        assert_eq!(
            visited(|v| m.visit_fields(v)),
            [
                "version=10",
                "length=24",
                "export_time=1699893404",
                "sequence_number=2056",
                "observation_domain_id=16777216"
            ]
        );
        let mut sets = m.sets();
        assert!(matches!(
            sets.next(),
            Some(Ok(Set::Reserved { id: 4, offset: 16 }))
        ));
        assert!(sets.next().is_none());
    }

    #[test]
    fn length_bounds_the_message() {
        // Length 16: a header alone; the set after it belongs to something else.
        let mut bytes = PACKET_BYTES;
        bytes[3] = 16;
        let m = Message::parse(&bytes).unwrap();
        assert_eq!(m.len(), 16);
        assert!(m.is_empty());
        assert!(m.sets().next().is_none());
        // Length past the buffer.
        bytes[3] = 25;
        assert_eq!(
            Message::parse(&bytes).err(),
            Some(Error::Truncated {
                layer: Layer::Ipfix,
                offset: 16,
                needed: 9,
                available: 8
            })
        );
        // Length shorter than the header.
        bytes[3] = 15;
        assert_eq!(
            Message::parse(&bytes).err(),
            Some(Error::Invalid {
                layer: Layer::Ipfix,
                offset: 2,
                field: "length",
                value: 15
            })
        );
    }

    #[test]
    fn errors() {
        // Reads in order: version and length (2 bytes each), then three 4-byte fields.
        for n in 0..HEADER_LEN {
            let (offset, needed) = match n {
                0..=1 => (0, 2),
                2..=3 => (2, 2),
                _ => (n / 4 * 4, 4),
            };
            assert_eq!(
                Message::parse(&PACKET_BYTES[..n]).err(),
                Some(Error::Truncated {
                    layer: Layer::Ipfix,
                    offset,
                    needed,
                    available: n - offset
                }),
                "{n} bytes"
            );
        }
        let mut bytes = PACKET_BYTES;
        bytes[1] = 9;
        assert_eq!(
            Message::parse(&bytes).err(),
            Some(Error::Unsupported {
                layer: Layer::Ipfix,
                offset: 0,
                field: "version",
                value: 9
            })
        );
    }
}
