//! NetFlow version 5 export datagrams (Cisco, "NetFlow Export Datagram Format", version 5).
//!
//! Layout (all fields big-endian): a 24-byte header followed by `count` fixed 48-byte flow
//! records. There are no templates. Exporters never send more than 30 records per datagram, but
//! this decoder only requires that the records fit in the buffer.
//!
//! Header: `version` u16 (5), `count` u16, `sys_uptime` u32 (ms since the exporter booted),
//! `unix_secs` u32, `unix_nsecs` u32 (residual nanoseconds), `flow_sequence` u32 (sequence
//! number of the first flow), `engine_type` u8, `engine_id` u8, `sampling_interval` u16 (top 2
//! bits sampling mode, low 14 bits interval).

use super::ReadExt;
use crate::error::{Error, Layer, Result};
use crate::reader::Reader;
use crate::value::{FieldVisitor, Value};
use core::net::Ipv4Addr;

/// Size of the NetFlow v5 header in bytes.
pub const HEADER_LEN: usize = 24;
/// Size of one NetFlow v5 flow record in bytes.
pub const RECORD_LEN: usize = 48;

/// A NetFlow v5 datagram, borrowing its buffer.
///
/// The buffer may hold bytes after the datagram (several datagrams recorded back to back):
/// [`Packet::len`] tells where this one ends.
#[derive(Clone, Copy, Debug)]
pub struct Packet<'a> {
    header: &'a [u8],
    records: &'a [u8],
}

fn be16(b: &[u8], at: usize) -> u16 {
    match b.get(at..at + 2) {
        Some(&[x, y]) => u16::from_be_bytes([x, y]),
        _ => 0,
    }
}

fn be32(b: &[u8], at: usize) -> u32 {
    match b.get(at..at + 4) {
        Some(&[w, x, y, z]) => u32::from_be_bytes([w, x, y, z]),
        _ => 0,
    }
}

fn byte(b: &[u8], at: usize) -> u8 {
    b.get(at).copied().unwrap_or(0)
}

fn ip(b: &[u8], at: usize) -> Ipv4Addr {
    Ipv4Addr::from(be32(b, at))
}

impl<'a> Packet<'a> {
    /// Validates the header and the record count.
    ///
    /// # Errors
    /// [`Error::Truncated`] (layer [`Layer::NetflowV5`]) if the buffer is shorter than the
    /// header; [`Error::Unsupported`] with field `"version"` if the version is not 5;
    /// [`Error::Invalid`] with field `"count"` if `24 + 48 * count` exceeds the buffer.
    pub fn parse(buf: &'a [u8]) -> Result<Packet<'a>> {
        let mut r = Reader::new(buf, 0, Layer::NetflowV5);
        let version = r.u16()?;
        if version != 5 {
            return Err(r.unsupported_at(0, "version", u64::from(version)));
        }
        let count = r.u16()?;
        r.skip(HEADER_LEN - 4)?;
        let need = usize::from(count) * RECORD_LEN;
        if need > r.remaining() {
            return Err(Error::Invalid {
                layer: Layer::NetflowV5,
                offset: 2,
                field: "count",
                value: u64::from(count),
            });
        }
        Ok(Packet {
            header: buf.get(..HEADER_LEN).unwrap_or(&[]),
            records: buf.get(HEADER_LEN..HEADER_LEN + need).unwrap_or(&[]),
        })
    }

    /// `version`: always 5.
    pub const fn version(&self) -> u16 {
        5
    }

    /// `count`: number of flow records in the datagram.
    pub fn count(&self) -> u16 {
        be16(self.header, 2)
    }

    /// Length of the datagram in bytes: `24 + 48 * count`. Bytes after it belong to something
    /// else (for instance the next datagram of a back-to-back recording).
    pub fn len(&self) -> usize {
        HEADER_LEN + self.records.len()
    }

    /// True when the datagram carries no records.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// `sys_uptime`: milliseconds since the exporting device booted.
    pub fn sys_uptime_ms(&self) -> u32 {
        be32(self.header, 4)
    }

    /// `unix_secs`: export time, seconds since 1970-01-01 UTC.
    pub fn unix_secs(&self) -> u32 {
        be32(self.header, 8)
    }

    /// `unix_nsecs`: residual nanoseconds of the export time.
    pub fn unix_nsecs(&self) -> u32 {
        be32(self.header, 12)
    }

    /// `flow_sequence`: sequence counter of total flows seen (of the first record here).
    pub fn flow_sequence(&self) -> u32 {
        be32(self.header, 16)
    }

    /// `engine_type`: type of flow-switching engine.
    pub fn engine_type(&self) -> u8 {
        byte(self.header, 20)
    }

    /// `engine_id`: slot number of the flow-switching engine.
    pub fn engine_id(&self) -> u8 {
        byte(self.header, 21)
    }

    /// Sampling mode: the top 2 bits of `sampling_interval` (0 none, 1 deterministic, 2 random).
    pub fn sampling_mode(&self) -> u8 {
        (be16(self.header, 22) >> 14) as u8
    }

    /// Sampling interval: the low 14 bits of `sampling_interval` (1 in N packets; 0 = none).
    pub fn sampling_interval(&self) -> u16 {
        be16(self.header, 22) & 0x3FFF
    }

    /// The flow records.
    pub fn records(&self) -> Records<'a> {
        Records {
            chunks: self.records.chunks_exact(RECORD_LEN),
            index: 0,
        }
    }

    /// Visits the header fields with their Cisco names (`version`, `count`, `sys_uptime`,
    /// `unix_secs`, `unix_nsecs`, `flow_sequence`, `engine_type`, `engine_id`,
    /// `sampling_mode`, `sampling_interval`).
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        v.field("version", Value::U64(5));
        v.field("count", Value::U64(u64::from(self.count())));
        v.field("sys_uptime", Value::U64(u64::from(self.sys_uptime_ms())));
        v.field("unix_secs", Value::U64(u64::from(self.unix_secs())));
        v.field("unix_nsecs", Value::U64(u64::from(self.unix_nsecs())));
        v.field("flow_sequence", Value::U64(u64::from(self.flow_sequence())));
        v.field("engine_type", Value::U64(u64::from(self.engine_type())));
        v.field("engine_id", Value::U64(u64::from(self.engine_id())));
        v.field("sampling_mode", Value::U64(u64::from(self.sampling_mode())));
        v.field(
            "sampling_interval",
            Value::U64(u64::from(self.sampling_interval())),
        );
    }
}

/// Iterator over the [`Record`]s of a [`Packet`].
#[derive(Clone, Debug)]
pub struct Records<'a> {
    chunks: core::slice::ChunksExact<'a, u8>,
    index: usize,
}

impl<'a> Iterator for Records<'a> {
    type Item = Record<'a>;

    fn next(&mut self) -> Option<Record<'a>> {
        let bytes = self.chunks.next()?;
        let offset = HEADER_LEN + self.index * RECORD_LEN;
        self.index += 1;
        Some(Record { bytes, offset })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.chunks.size_hint()
    }
}

impl ExactSizeIterator for Records<'_> {}
impl core::iter::FusedIterator for Records<'_> {}

/// One 48-byte NetFlow v5 flow record.
///
/// Layout: `srcaddr`, `dstaddr`, `nexthop` (IPv4), `input`, `output` u16 (SNMP ifIndex),
/// `dPkts`, `dOctets` u32, `first`, `last` u32 (sysUptime in ms at the first / last packet),
/// `srcport`, `dstport` u16, `pad1` u8, `tcp_flags` u8 (cumulative OR), `prot` u8, `tos` u8,
/// `src_as`, `dst_as` u16, `src_mask`, `dst_mask` u8 (prefix lengths), `pad2` u16.
#[derive(Clone, Copy, Debug)]
pub struct Record<'a> {
    bytes: &'a [u8],
    offset: usize,
}

impl<'a> Record<'a> {
    /// Absolute offset of the record in the datagram.
    pub const fn offset(&self) -> usize {
        self.offset
    }
    /// The record's 48 bytes.
    pub const fn bytes(&self) -> &'a [u8] {
        self.bytes
    }
    /// `srcaddr`: source IP address.
    pub fn src_addr(&self) -> Ipv4Addr {
        ip(self.bytes, 0)
    }
    /// `dstaddr`: destination IP address.
    pub fn dst_addr(&self) -> Ipv4Addr {
        ip(self.bytes, 4)
    }
    /// `nexthop`: IP address of the next-hop router.
    pub fn next_hop(&self) -> Ipv4Addr {
        ip(self.bytes, 8)
    }
    /// `input`: SNMP index of the input interface.
    pub fn input(&self) -> u16 {
        be16(self.bytes, 12)
    }
    /// `output`: SNMP index of the output interface.
    pub fn output(&self) -> u16 {
        be16(self.bytes, 14)
    }
    /// `dPkts`: packets in the flow.
    pub fn packets(&self) -> u32 {
        be32(self.bytes, 16)
    }
    /// `dOctets`: total layer-3 bytes in the flow's packets.
    pub fn octets(&self) -> u32 {
        be32(self.bytes, 20)
    }
    /// `first`: sysUptime (ms) at the start of the flow.
    pub fn first_ms(&self) -> u32 {
        be32(self.bytes, 24)
    }
    /// `last`: sysUptime (ms) when the last packet of the flow was received.
    pub fn last_ms(&self) -> u32 {
        be32(self.bytes, 28)
    }
    /// `srcport`: TCP/UDP source port (or equivalent).
    pub fn src_port(&self) -> u16 {
        be16(self.bytes, 32)
    }
    /// `dstport`: TCP/UDP destination port (ICMP: type * 256 + code on most exporters).
    pub fn dst_port(&self) -> u16 {
        be16(self.bytes, 34)
    }
    /// `tcp_flags`: cumulative OR of TCP flags.
    pub fn tcp_flags(&self) -> u8 {
        byte(self.bytes, 37)
    }
    /// `prot`: IP protocol number.
    pub fn protocol(&self) -> u8 {
        byte(self.bytes, 38)
    }
    /// `tos`: IP type of service.
    pub fn tos(&self) -> u8 {
        byte(self.bytes, 39)
    }
    /// `src_as`: source autonomous system number (origin or peer).
    pub fn src_as(&self) -> u16 {
        be16(self.bytes, 40)
    }
    /// `dst_as`: destination autonomous system number (origin or peer).
    pub fn dst_as(&self) -> u16 {
        be16(self.bytes, 42)
    }
    /// `src_mask`: source address prefix length in bits.
    pub fn src_mask(&self) -> u8 {
        byte(self.bytes, 44)
    }
    /// `dst_mask`: destination address prefix length in bits.
    pub fn dst_mask(&self) -> u8 {
        byte(self.bytes, 45)
    }

    /// Visits the record's fields with the Cisco v5 names: `srcaddr`, `dstaddr`, `nexthop`,
    /// `input`, `output`, `dPkts`, `dOctets`, `first`, `last`, `srcport`, `dstport`,
    /// `tcp_flags`, `prot`, `tos`, `src_as`, `dst_as`, `src_mask`, `dst_mask`.
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        let u = |x: u32| Value::U64(u64::from(x));
        v.field("srcaddr", Value::Ip(self.src_addr().into()));
        v.field("dstaddr", Value::Ip(self.dst_addr().into()));
        v.field("nexthop", Value::Ip(self.next_hop().into()));
        v.field("input", u(self.input().into()));
        v.field("output", u(self.output().into()));
        v.field("dPkts", u(self.packets()));
        v.field("dOctets", u(self.octets()));
        v.field("first", u(self.first_ms()));
        v.field("last", u(self.last_ms()));
        v.field("srcport", u(self.src_port().into()));
        v.field("dstport", u(self.dst_port().into()));
        v.field("tcp_flags", u(self.tcp_flags().into()));
        v.field("prot", u(self.protocol().into()));
        v.field("tos", u(self.tos().into()));
        v.field("src_as", u(self.src_as().into()));
        v.field("dst_as", u(self.dst_as().into()));
        v.field("src_mask", u(self.src_mask().into()));
        v.field("dst_mask", u(self.dst_mask().into()));
    }
}
