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
            return Err(r.unsupported_at(0, "version", u64::from(version)));
        }
        let length = r.u16()?;
        let export_time = r.u32()?;
        let sequence_number = r.u32()?;
        let observation_domain_id = r.u32()?;
        if usize::from(length) < HEADER_LEN {
            return Err(r.invalid_at(2, "length", u64::from(length)));
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
