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

/// Byte offsets of the header fields (Cisco, "NetFlow Export Datagram Format", table B-3).
mod field {
    /// `version`, 2 bytes.
    pub(super) const VERSION: usize = 0;
    /// `count`, 2 bytes.
    pub(super) const COUNT: usize = 2;
    /// `sys_uptime`, 4 bytes.
    pub(super) const SYS_UPTIME: usize = 4;
    /// `unix_secs`, 4 bytes.
    pub(super) const UNIX_SECS: usize = 8;
    /// `unix_nsecs`, 4 bytes.
    pub(super) const UNIX_NSECS: usize = 12;
    /// `flow_sequence`, 4 bytes.
    pub(super) const FLOW_SEQUENCE: usize = 16;
    /// `engine_type`, 1 byte.
    pub(super) const ENGINE_TYPE: usize = 20;
    /// `engine_id`, 1 byte.
    pub(super) const ENGINE_ID: usize = 21;
    /// `sampling_interval`: mode (2 bits) and interval (14 bits), 2 bytes.
    pub(super) const SAMPLING_INTERVAL: usize = 22;
}

/// Byte offsets of the flow record fields (same document, table B-4).
mod record_field {
    /// `srcaddr`, 4 bytes.
    pub(super) const SRCADDR: usize = 0;
    /// `dstaddr`, 4 bytes.
    pub(super) const DSTADDR: usize = 4;
    /// `nexthop`, 4 bytes.
    pub(super) const NEXTHOP: usize = 8;
    /// `input`, 2 bytes.
    pub(super) const INPUT: usize = 12;
    /// `output`, 2 bytes.
    pub(super) const OUTPUT: usize = 14;
    /// `dPkts`, 4 bytes.
    pub(super) const DPKTS: usize = 16;
    /// `dOctets`, 4 bytes.
    pub(super) const DOCTETS: usize = 20;
    /// `first`, 4 bytes.
    pub(super) const FIRST: usize = 24;
    /// `last`, 4 bytes.
    pub(super) const LAST: usize = 28;
    /// `srcport`, 2 bytes.
    pub(super) const SRCPORT: usize = 32;
    /// `dstport`, 2 bytes; `pad1` (1 byte) follows.
    pub(super) const DSTPORT: usize = 34;
    /// `tcp_flags`, 1 byte.
    pub(super) const TCP_FLAGS: usize = 37;
    /// `prot`, 1 byte.
    pub(super) const PROT: usize = 38;
    /// `tos`, 1 byte.
    pub(super) const TOS: usize = 39;
    /// `src_as`, 2 bytes.
    pub(super) const SRC_AS: usize = 40;
    /// `dst_as`, 2 bytes.
    pub(super) const DST_AS: usize = 42;
    /// `src_mask`, 1 byte.
    pub(super) const SRC_MASK: usize = 44;
    /// `dst_mask`, 1 byte; `pad2` (2 bytes) follows.
    pub(super) const DST_MASK: usize = 45;
}

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
            return Err(r.unsupported_at(field::VERSION, "version", u64::from(version)));
        }
        let count = r.u16()?;
        r.skip(HEADER_LEN - field::SYS_UPTIME)?;
        let need = usize::from(count) * RECORD_LEN;
        if need > r.remaining() {
            return Err(Error::Invalid {
                layer: Layer::NetflowV5,
                offset: field::COUNT,
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
        be16(self.header, field::COUNT)
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
        be32(self.header, field::SYS_UPTIME)
    }

    /// `unix_secs`: export time, seconds since 1970-01-01 UTC.
    pub fn unix_secs(&self) -> u32 {
        be32(self.header, field::UNIX_SECS)
    }

    /// `unix_nsecs`: residual nanoseconds of the export time.
    pub fn unix_nsecs(&self) -> u32 {
        be32(self.header, field::UNIX_NSECS)
    }

    /// `flow_sequence`: sequence counter of total flows seen (of the first record here).
    pub fn flow_sequence(&self) -> u32 {
        be32(self.header, field::FLOW_SEQUENCE)
    }

    /// `engine_type`: type of flow-switching engine.
    pub fn engine_type(&self) -> u8 {
        byte(self.header, field::ENGINE_TYPE)
    }

    /// `engine_id`: slot number of the flow-switching engine.
    pub fn engine_id(&self) -> u8 {
        byte(self.header, field::ENGINE_ID)
    }

    /// Sampling mode: the top 2 bits of `sampling_interval` (0 none, 1 deterministic, 2 random).
    pub fn sampling_mode(&self) -> u8 {
        (be16(self.header, field::SAMPLING_INTERVAL) >> 14) as u8
    }

    /// Sampling interval: the low 14 bits of `sampling_interval` (1 in N packets; 0 = none).
    pub fn sampling_interval(&self) -> u16 {
        be16(self.header, field::SAMPLING_INTERVAL) & 0x3FFF
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
        ip(self.bytes, record_field::SRCADDR)
    }
    /// `dstaddr`: destination IP address.
    pub fn dst_addr(&self) -> Ipv4Addr {
        ip(self.bytes, record_field::DSTADDR)
    }
    /// `nexthop`: IP address of the next-hop router.
    pub fn next_hop(&self) -> Ipv4Addr {
        ip(self.bytes, record_field::NEXTHOP)
    }
    /// `input`: SNMP index of the input interface.
    pub fn input(&self) -> u16 {
        be16(self.bytes, record_field::INPUT)
    }
    /// `output`: SNMP index of the output interface.
    pub fn output(&self) -> u16 {
        be16(self.bytes, record_field::OUTPUT)
    }
    /// `dPkts`: packets in the flow.
    pub fn packets(&self) -> u32 {
        be32(self.bytes, record_field::DPKTS)
    }
    /// `dOctets`: total layer-3 bytes in the flow's packets.
    pub fn octets(&self) -> u32 {
        be32(self.bytes, record_field::DOCTETS)
    }
    /// `first`: sysUptime (ms) at the start of the flow.
    pub fn first_ms(&self) -> u32 {
        be32(self.bytes, record_field::FIRST)
    }
    /// `last`: sysUptime (ms) when the last packet of the flow was received.
    pub fn last_ms(&self) -> u32 {
        be32(self.bytes, record_field::LAST)
    }
    /// `srcport`: TCP/UDP source port (or equivalent).
    pub fn src_port(&self) -> u16 {
        be16(self.bytes, record_field::SRCPORT)
    }
    /// `dstport`: TCP/UDP destination port (ICMP: type * 256 + code on most exporters).
    pub fn dst_port(&self) -> u16 {
        be16(self.bytes, record_field::DSTPORT)
    }
    /// `tcp_flags`: cumulative OR of TCP flags.
    pub fn tcp_flags(&self) -> u8 {
        byte(self.bytes, record_field::TCP_FLAGS)
    }
    /// `prot`: IP protocol number.
    pub fn protocol(&self) -> u8 {
        byte(self.bytes, record_field::PROT)
    }
    /// `tos`: IP type of service.
    pub fn tos(&self) -> u8 {
        byte(self.bytes, record_field::TOS)
    }
    /// `src_as`: source autonomous system number (origin or peer).
    pub fn src_as(&self) -> u16 {
        be16(self.bytes, record_field::SRC_AS)
    }
    /// `dst_as`: destination autonomous system number (origin or peer).
    pub fn dst_as(&self) -> u16 {
        be16(self.bytes, record_field::DST_AS)
    }
    /// `src_mask`: source address prefix length in bits.
    pub fn src_mask(&self) -> u8 {
        byte(self.bytes, record_field::SRC_MASK)
    }
    /// `dst_mask`: destination address prefix length in bits.
    pub fn dst_mask(&self) -> u8 {
        byte(self.bytes, record_field::DST_MASK)
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

#[cfg(test)]
mod tests {
    use std::vec::Vec;

    use super::*;
    use crate::packet::bytes::testing::visited;

    /// Bytes 42..114 of frame 1 of `netflow-ipfix/akvorado__nfv5.pcap` (`tshark -x`): the
    /// header and the first record, with `count` patched from 29 to 1 so the datagram ends
    /// there. Expected values are tshark 4.0's (`tshark -d udp.port==9990,cflow -V`).
    static PACKET_BYTES: [u8; 72] = [
        0x00, 0x05, // version 5
        0x00, 0x01, // count 1 (29 in the capture)
        0xab, 0x52, 0xee, 0xb8, // sys_uptime 2874339000 ms
        0x64, 0x2c, 0x53, 0xf7, // unix_secs 1680626679
        0x00, 0x00, 0x00, 0x00, // unix_nsecs 0
        0x74, 0xe8, 0xa0, 0x33, // flow_sequence 1961402419
        0x00, // engine_type 0 (RP)
        0x03, // engine_id 3
        0x00, 0x00, // sampling mode 0, interval 0
        // record 1
        0xa1, 0xca, 0xd4, 0xd4, // srcaddr 161.202.212.212
        0xca, 0x98, 0x46, 0x18, // dstaddr 202.152.70.24
        0x3d, 0x06, 0xff, 0x96, // nexthop 61.6.255.150
        0x00, 0x75, // input 117
        0x00, 0x56, // output 86
        0x00, 0x00, 0x00, 0x01, // dPkts 1
        0x00, 0x00, 0x00, 0x85, // dOctets 133
        0xab, 0x52, 0xb4, 0x20, // first 2874324000 ms
        0xab, 0x52, 0xb4, 0x20, // last 2874324000 ms
        0x75, 0x98, // srcport 30104
        0x2e, 0xbb, // dstport 11963
        0x00, // pad1
        0x18, // tcp_flags 0x18 (PSH, ACK)
        0x06, // prot 6 (TCP)
        0x00, // tos 0
        0x8d, 0xff, // src_as 36351
        0x27, 0x75, // dst_as 10101
        0x13, // src_mask 19
        0x18, // dst_mask 24
        0x00, 0x00, // pad2
    ];

    #[test]
    fn header() {
        let p = Packet::parse(&PACKET_BYTES).unwrap();
        assert_eq!(p.version(), 5);
        assert_eq!(p.count(), 1);
        assert_eq!(p.len(), 72);
        assert!(!p.is_empty());
        assert_eq!(p.sys_uptime_ms(), 2_874_339_000);
        assert_eq!(p.unix_secs(), 1_680_626_679);
        assert_eq!(p.unix_nsecs(), 0);
        assert_eq!(p.flow_sequence(), 1_961_402_419);
        assert_eq!(p.engine_type(), 0);
        assert_eq!(p.engine_id(), 3);
        assert_eq!((p.sampling_mode(), p.sampling_interval()), (0, 0));
        assert_eq!(
            visited(|v| p.visit_fields(v)),
            [
                "version=5",
                "count=1",
                "sys_uptime=2874339000",
                "unix_secs=1680626679",
                "unix_nsecs=0",
                "flow_sequence=1961402419",
                "engine_type=0",
                "engine_id=3",
                "sampling_mode=0",
                "sampling_interval=0"
            ]
        );
        // sampling_interval 0x4064: mode 01 (deterministic), 1 in 100.
        let mut bytes = PACKET_BYTES;
        bytes[22..24].copy_from_slice(&[0x40, 0x64]);
        let p = Packet::parse(&bytes).unwrap();
        assert_eq!((p.sampling_mode(), p.sampling_interval()), (1, 100));
    }

    #[test]
    fn record() {
        let p = Packet::parse(&PACKET_BYTES).unwrap();
        let records: Vec<_> = p.records().collect();
        assert_eq!(records.len(), 1);
        let r = records[0];
        assert_eq!(r.offset(), 24);
        assert_eq!(r.bytes(), &PACKET_BYTES[24..]);
        assert_eq!(r.src_addr(), Ipv4Addr::new(161, 202, 212, 212));
        assert_eq!(r.dst_addr(), Ipv4Addr::new(202, 152, 70, 24));
        assert_eq!(r.next_hop(), Ipv4Addr::new(61, 6, 255, 150));
        assert_eq!((r.input(), r.output()), (117, 86));
        assert_eq!((r.packets(), r.octets()), (1, 133));
        assert_eq!((r.first_ms(), r.last_ms()), (2_874_324_000, 2_874_324_000));
        assert_eq!((r.src_port(), r.dst_port()), (30104, 11963));
        assert_eq!(r.tcp_flags(), 0x18);
        assert_eq!(r.protocol(), 6);
        assert_eq!(r.tos(), 0);
        assert_eq!((r.src_as(), r.dst_as()), (36351, 10101));
        assert_eq!((r.src_mask(), r.dst_mask()), (19, 24));
        assert_eq!(
            visited(|v| r.visit_fields(v)),
            [
                "srcaddr=161.202.212.212",
                "dstaddr=202.152.70.24",
                "nexthop=61.6.255.150",
                "input=117",
                "output=86",
                "dPkts=1",
                "dOctets=133",
                "first=2874324000",
                "last=2874324000",
                "srcport=30104",
                "dstport=11963",
                "tcp_flags=24",
                "prot=6",
                "tos=0",
                "src_as=36351",
                "dst_as=10101",
                "src_mask=19",
                "dst_mask=24"
            ]
        );
    }

    #[test]
    fn records_are_counted_and_trailing_bytes_ignored() {
        // Two records (the same one twice) and 5 bytes of something else.
        let mut bytes = [0u8; 24 + 2 * 48 + 5];
        bytes[..72].copy_from_slice(&PACKET_BYTES);
        bytes[72..120].copy_from_slice(&PACKET_BYTES[24..]);
        bytes[3] = 2;
        let p = Packet::parse(&bytes).unwrap();
        assert_eq!(p.len(), 120);
        let records = p.records();
        assert_eq!(records.len(), 2);
        assert_eq!(records.map(|r| r.offset()).collect::<Vec<_>>(), [24, 72]);
        // No records.
        bytes[3] = 0;
        let p = Packet::parse(&bytes[..24]).unwrap();
        assert!(p.is_empty());
        assert_eq!((p.len(), p.records().count()), (24, 0));
    }

    #[test]
    fn errors() {
        // Header reads: version (2 bytes at 0), count (2 at 2), the other 20 bytes at 4.
        for n in 0..HEADER_LEN {
            let (offset, needed) = match n {
                0..=1 => (0, 2),
                2..=3 => (2, 2),
                _ => (4, 20),
            };
            assert_eq!(
                Packet::parse(&PACKET_BYTES[..n]).err(),
                Some(Error::Truncated {
                    layer: Layer::NetflowV5,
                    offset,
                    needed,
                    available: n - offset
                }),
                "{n} bytes"
            );
        }
        // The record announced by count is missing or cut.
        for n in [24, 71] {
            assert_eq!(
                Packet::parse(&PACKET_BYTES[..n]).err(),
                Some(Error::Invalid {
                    layer: Layer::NetflowV5,
                    offset: 2,
                    field: "count",
                    value: 1
                })
            );
        }
        let mut bytes = PACKET_BYTES;
        bytes[1] = 9;
        assert_eq!(
            Packet::parse(&bytes).err(),
            Some(Error::Unsupported {
                layer: Layer::NetflowV5,
                offset: 0,
                field: "version",
                value: 9
            })
        );
    }
}
