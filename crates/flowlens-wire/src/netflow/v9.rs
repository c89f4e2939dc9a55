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

/// Byte offsets of the header fields (RFC 3954 section 5.1). [`Packet::parse`] reads them in
/// this order, each once; the names locate the errors.
mod field {
    /// `Version`, 2 bytes; `Count` (2), `sysUpTime`, `UNIX Secs`, `Sequence Number` and
    /// `Source ID` (4 each) follow.
    pub(super) const VERSION: usize = 0;
}

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
            return Err(r.unsupported_at(field::VERSION, "version", u64::from(version)));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::bytes::testing::visited;
    use crate::Error;

    /// Bytes 42..66 of frame 1 of `netflow-ipfix/akvorado__nfv9-template.pcap` (`tshark -x`):
    /// the header and the first 4 bytes of its template flowset; expected values are tshark
    /// 4.0's (`tshark -d udp.port==2055,cflow -V`).
    static PACKET_BYTES: [u8; 24] = [
        0x00, 0x09, // version 9
        0x00, 0x01, // count 1
        0x38, 0x52, 0xd1, 0x38, // sysUpTime 944951608 ms
        0x62, 0x2f, 0x96, 0xa8, // UNIX Secs 1647285928
        0x02, 0xab, 0x8c, 0x39, // sequence number (FlowSequence) 44796985
        0x00, 0x00, 0x00, 0x00, // source ID 0
        0x00, 0x00, 0x00, 0x64, // flowset 0 (templates), length 100: cut here
    ];

    #[test]
    fn header() {
        let p = Packet::parse(&PACKET_BYTES).unwrap();
        assert_eq!(p.version(), 9);
        assert_eq!(p.count(), 1);
        assert_eq!(p.sys_uptime_ms(), 944_951_608);
        assert_eq!(p.unix_secs(), 1_647_285_928);
        assert_eq!(p.sequence_number(), 44_796_985);
        assert_eq!(p.source_id(), 0);
        assert_eq!(
            visited(|v| p.visit_fields(v)),
            [
                "version=9",
                "count=1",
                "sys_uptime=944951608",
                "unix_secs=1647285928",
                "sequence_number=44796985",
                "source_id=0"
            ]
        );
        // The flowsets start at offset 20: the cut template flowset is reported there.
        let first = p.sets().next().unwrap();
        assert_eq!(
            first.err().map(|e| (e.layer(), e.offset())),
            Some((Layer::NetflowV9, 20))
        );
        let p = Packet::parse(&PACKET_BYTES[..HEADER_LEN]).unwrap();
        assert!(p.sets().next().is_none());
        let mut bytes = PACKET_BYTES;
        bytes[16..20].copy_from_slice(&[0x01, 0x02, 0x03, 0x04]);
        assert_eq!(Packet::parse(&bytes).unwrap().source_id(), 0x0102_0304);
    }

    #[test]
    fn errors() {
        // Reads in order: version and count (2 bytes each), then four 4-byte fields.
        for n in 0..HEADER_LEN {
            let (offset, needed) = match n {
                0..=1 => (0, 2),
                2..=3 => (2, 2),
                _ => (n / 4 * 4, 4),
            };
            assert_eq!(
                Packet::parse(&PACKET_BYTES[..n]).err(),
                Some(Error::Truncated {
                    layer: Layer::NetflowV9,
                    offset,
                    needed,
                    available: n - offset
                }),
                "{n} bytes"
            );
        }
        let mut bytes = PACKET_BYTES;
        bytes[1] = 10;
        assert_eq!(
            Packet::parse(&bytes).err(),
            Some(Error::Unsupported {
                layer: Layer::NetflowV9,
                offset: 0,
                field: "version",
                value: 10
            })
        );
    }
}
