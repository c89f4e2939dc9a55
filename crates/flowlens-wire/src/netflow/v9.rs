//! NetFlow version 9 export packets (RFC 3954).
//!
//! Layout (RFC 3954 section 5.1, all fields big-endian): a 20-byte header — `version` u16 (9),
//! `count` u16 (total template and data records in the packet), `sysUpTime` u32 (ms),
//! `UNIX Secs` u32, `Sequence Number` u32 (incremented per export packet), `Source ID` u32
//! (exporter observation domain) — followed by flowsets up to the end of the UDP payload
//! ([`Sets`]). `count` is informational: flowsets are framed by their own lengths.

use super::set::{Flavor, Sets};
use super::ReadExt;
use crate::error::{Layer, Result};
use crate::reader::Reader;
use crate::value::{FieldVisitor, Value};

/// Size of the NetFlow v9 packet header in bytes.
pub const HEADER_LEN: usize = 20;

/// A NetFlow v9 export packet, borrowing the UDP payload.
#[derive(Clone, Copy, Debug)]
pub struct Packet<'a> {
    count: u16,
    sys_uptime_ms: u32,
    unix_secs: u32,
    sequence_number: u32,
    source_id: u32,
    sets: &'a [u8],
}

impl<'a> Packet<'a> {
    /// Validates the 20-byte header.
    ///
    /// # Errors
    /// [`crate::Error::Truncated`] (layer [`Layer::NetflowV9`]) for a buffer shorter than the
    /// header; [`crate::Error::Unsupported`] with field `"version"` if the version is not 9.
    pub fn parse(buf: &'a [u8]) -> Result<Packet<'a>> {
        let mut r = Reader::new(buf, 0, Layer::NetflowV9);
        let version = r.u16()?;
        if version != 9 {
            return Err(r.unsupported_at(0, "version", u64::from(version)));
        }
        Ok(Packet {
            count: r.u16()?,
            sys_uptime_ms: r.u32()?,
            unix_secs: r.u32()?,
            sequence_number: r.u32()?,
            source_id: r.u32()?,
            sets: r.rest(),
        })
    }

    /// `version`: always 9.
    pub const fn version(&self) -> u16 {
        9
    }

    /// `count`: total number of template and data records in the packet.
    pub const fn count(&self) -> u16 {
        self.count
    }

    /// `sysUpTime`: milliseconds since the exporting device booted.
    pub const fn sys_uptime_ms(&self) -> u32 {
        self.sys_uptime_ms
    }

    /// `UNIX Secs`: export time, seconds since 1970-01-01 UTC.
    pub const fn unix_secs(&self) -> u32 {
        self.unix_secs
    }

    /// `Sequence Number`: incremental sequence counter of export packets.
    pub const fn sequence_number(&self) -> u32 {
        self.sequence_number
    }

    /// `Source ID`: the exporter's observation domain; templates are scoped by it (and the
    /// exporter address).
    pub const fn source_id(&self) -> u32 {
        self.source_id
    }

    /// The flowsets, from offset 20 to the end of the buffer.
    pub const fn sets(&self) -> Sets<'a> {
        Sets::new(self.sets, HEADER_LEN, Flavor::V9)
    }

    /// Visits the header fields (`version`, `count`, `sys_uptime`, `unix_secs`,
    /// `sequence_number`, `source_id`).
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        v.field("version", Value::U64(9));
        v.field("count", Value::U64(u64::from(self.count)));
        v.field("sys_uptime", Value::U64(u64::from(self.sys_uptime_ms)));
        v.field("unix_secs", Value::U64(u64::from(self.unix_secs)));
        v.field(
            "sequence_number",
            Value::U64(u64::from(self.sequence_number)),
        );
        v.field("source_id", Value::U64(u64::from(self.source_id)));
    }
}
