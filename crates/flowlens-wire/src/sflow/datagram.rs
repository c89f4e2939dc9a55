//! The sFlow v5 datagram header (`sample_datagram_v5`) and the iterator over its samples.

use super::envelope::Envelopes;
use super::sample::Sample;
use crate::error::{Layer, Result};
use crate::reader::Reader;
use crate::value::{FieldVisitor, Value};
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Byte offsets of the fixed start of `sample_datagram_v5` (sFlow v5 spec, XDR). The header
/// is read in order with a [`Reader`]; after the agent address (4 or 16 bytes) come
/// `sub_agent_id`, `sequence_number`, `uptime` and the `samples<>` count, 4 bytes each.
mod field {
    /// `version`, 4 bytes.
    pub(super) const VERSION: usize = 0;
    /// `agent_address`'s `address_type` discriminant, 4 bytes.
    pub(super) const ADDRESS_TYPE: usize = 4;
}

/// Content sniff: does `payload` claim to be an sFlow v5 datagram? True when the first two
/// words are `version` 5 and an agent `address_type` of 1 (IPv4) or 2 (IPv6). Cheap enough to
/// run on every UDP payload; a collector should dispatch on this rather than on the UDP port.
/// NetFlow v5/v9 and IPFIX never match (their 16-bit version field makes the first 32-bit word
/// at least 0x0005_0000). A payload that matches may still be malformed further in (even its
/// header may be cut short): decode it with [`Datagram::parse`] and count the errors, rather
/// than treating it as something else.
pub fn is_sflow_v5(payload: &[u8]) -> bool {
    matches!(payload, [0, 0, 0, 5, 0, 0, 0, 1 | 2, ..])
}

/// An sFlow v5 datagram (sFlow v5 spec, `sample_datagram_v5`), borrowing the UDP payload.
///
/// Header layout (XDR, big-endian): `version` u32 (5), `agent_address` (`address_type` u32 then
/// 4 or 16 bytes), `sub_agent_id` u32, `sequence_number` u32, `uptime` u32 (ms), then
/// `samples<>` (count u32 and the sample records).
#[derive(Clone, Copy, Debug)]
pub struct Datagram<'a> {
    agent_address: IpAddr,
    sub_agent_id: u32,
    sequence_number: u32,
    uptime_ms: u32,
    samples_count: u32,
    rest: &'a [u8],
    rest_offset: usize,
}

impl<'a> Datagram<'a> {
    /// Validates the datagram header and returns a view over the datagram.
    ///
    /// # Errors
    /// [`crate::Error::Truncated`] if the header is incomplete;
    /// [`crate::Error::Unsupported`] with field `"version"` for a version other than 5, or
    /// `"address_type"` for an agent address type other than 1 or 2.
    pub fn parse(buf: &'a [u8]) -> Result<Datagram<'a>> {
        let mut r = Reader::new(buf, 0, Layer::SflowDatagram);
        let version = r.u32()?;
        if version != 5 {
            return Err(r.unsupported_at(field::VERSION, "version", u64::from(version)));
        }
        let agent_address = match r.u32()? {
            1 => IpAddr::V4(Ipv4Addr::from(r.array::<4>()?)),
            2 => IpAddr::V6(Ipv6Addr::from(r.array::<16>()?)),
            t => return Err(r.unsupported_at(field::ADDRESS_TYPE, "address_type", u64::from(t))),
        };
        let sub_agent_id = r.u32()?;
        let sequence_number = r.u32()?;
        let uptime_ms = r.u32()?;
        let samples_count = r.u32()?;
        Ok(Datagram {
            agent_address,
            sub_agent_id,
            sequence_number,
            uptime_ms,
            samples_count,
            rest: r.rest(),
            rest_offset: r.offset(),
        })
    }

    /// `version`: always 5 for a parsed datagram.
    pub const fn version(&self) -> u32 {
        5
    }

    /// `agent_address`: IP address of the sFlow agent.
    pub const fn agent_address(&self) -> IpAddr {
        self.agent_address
    }

    /// `sub_agent_id`: distinguishes datagram streams from one agent.
    pub const fn sub_agent_id(&self) -> u32 {
        self.sub_agent_id
    }

    /// `sequence_number`: incremented with each datagram sent by this sub-agent.
    pub const fn sequence_number(&self) -> u32 {
        self.sequence_number
    }

    /// `uptime`: milliseconds since the agent booted.
    pub const fn uptime_ms(&self) -> u32 {
        self.uptime_ms
    }

    /// Number of samples the datagram declares (`samples<>` count); not checked against the data
    /// until [`Datagram::samples`] is iterated.
    pub const fn samples_count(&self) -> u32 {
        self.samples_count
    }

    /// Iterator over the samples. It yields at most `samples_count()` items, stops at the end of
    /// the data, and after yielding an `Err` yields `None`.
    pub fn samples(&self) -> Samples<'a> {
        Samples {
            envelopes: Envelopes::new(
                Reader::new(self.rest, self.rest_offset, Layer::SflowSample),
                self.samples_count,
                Layer::SflowSample,
            ),
            done: false,
        }
    }

    /// Visits `version`, `agent_address`, `sub_agent_id`, `sequence_number`, `uptime` (ms) and
    /// `samples` (the declared sample count).
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        v.field("version", Value::U64(5));
        v.field("agent_address", Value::Ip(self.agent_address));
        v.field("sub_agent_id", Value::U64(u64::from(self.sub_agent_id)));
        v.field(
            "sequence_number",
            Value::U64(u64::from(self.sequence_number)),
        );
        v.field("uptime", Value::U64(u64::from(self.uptime_ms)));
        v.field("samples", Value::U64(u64::from(self.samples_count)));
    }
}

/// Iterator over the `sample_record`s of a [`Datagram`]; see [`Datagram::samples`].
///
/// Errors (each ends the iteration): a sample envelope cut short or whose `length` overruns the
/// datagram (`Invalid { field: "length" }`), a sample header shorter than its structure
/// (`Truncated`), or data that ends before the declared count (`Truncated`). Bytes after the
/// declared count are ignored.
#[derive(Clone, Debug)]
pub struct Samples<'a> {
    envelopes: Envelopes<'a>,
    done: bool,
}

impl<'a> Iterator for Samples<'a> {
    type Item = Result<Sample<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        // Bytes after the declared samples are ignored (real agents and test vectors pad
        // datagrams; tshark and sflowtool ignore them too).
        let res = self.envelopes.next_envelope()?.and_then(|e| {
            let data = Reader::new(e.data, e.offset, Layer::SflowSample);
            Sample::parse(e.enterprise, e.format, e.start, data)
        });
        self.done = res.is_err();
        Some(res)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::bytes::testing::visited;
    use crate::Error;

    /// Bytes 42..70 of frame 1 of `sflow/akvorado__sflow-data-icmpv4.pcap` (`tshark -x`): the
    /// datagram header up to the samples; expected values are tshark 4.0's
    /// (`tshark -V -O sflow`).
    static PACKET_BYTES: [u8; 28] = [
        0x00, 0x00, 0x00, 0x05, // datagram version 5
        0x00, 0x00, 0x00, 0x01, // agent address type: IPv4 (1)
        0x7f, 0x00, 0x00, 0x01, // agent address 127.0.0.1
        0x00, 0x00, 0x05, 0x7a, // sub-agent ID 1402
        0x00, 0x00, 0x00, 0x01, // sequence number 1
        0x00, 0x00, 0x00, 0x00, // sysUptime 0 ms
        0x00, 0x00, 0x00, 0x01, // NumSamples 1 (the sample itself is not included)
    ];

    /// A header with an IPv6 agent address.
    static IPV6_BYTES: [u8; 40] = [
        0x00, 0x00, 0x00, 0x05, // version 5
        0x00, 0x00, 0x00, 0x02, // address type: IPv6 (2)
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, // 2001:db8::1
        0x00, 0x00, 0x00, 0x00, // sub_agent_id 0
        0xff, 0xff, 0xff, 0xff, // sequence_number 4294967295
        0x00, 0x36, 0xee, 0x80, // uptime 3600000 ms
        0x00, 0x00, 0x00, 0x00, // samples<> count 0
    ];

    #[test]
    fn ipv4_agent() {
        let d = Datagram::parse(&PACKET_BYTES).unwrap();
        assert_eq!(d.version(), 5);
        assert_eq!(d.agent_address(), IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(d.sub_agent_id(), 1402);
        assert_eq!(d.sequence_number(), 1);
        assert_eq!(d.uptime_ms(), 0);
        assert_eq!(d.samples_count(), 1);
        assert_eq!(
            visited(|v| d.visit_fields(v)),
            [
                "version=5",
                "agent_address=127.0.0.1",
                "sub_agent_id=1402",
                "sequence_number=1",
                "uptime=0",
                "samples=1"
            ]
        );
        // The declared sample is missing: one error where it should start, then the end.
        let mut samples = d.samples();
        let err = samples.next().unwrap().err().unwrap();
        assert_eq!(
            (err.layer(), err.offset(), err.kind()),
            (Layer::SflowSample, 28, "truncated")
        );
        assert!(samples.next().is_none());
        assert!(is_sflow_v5(&PACKET_BYTES));
    }

    #[test]
    fn ipv6_agent() {
        let d = Datagram::parse(&IPV6_BYTES).unwrap();
        assert_eq!(d.agent_address(), "2001:db8::1".parse::<IpAddr>().unwrap());
        assert_eq!(d.sub_agent_id(), 0);
        assert_eq!(d.sequence_number(), u32::MAX);
        assert_eq!(d.uptime_ms(), 3_600_000);
        assert_eq!(d.samples_count(), 0);
        assert!(d.samples().next().is_none());
        assert!(is_sflow_v5(&IPV6_BYTES));
    }

    #[test]
    fn truncated() {
        // Every field of an IPv4-agent header is a 4-byte XDR word.
        for n in 0..PACKET_BYTES.len() {
            let offset = n / 4 * 4;
            assert_eq!(
                Datagram::parse(&PACKET_BYTES[..n]).err(),
                Some(Error::Truncated {
                    layer: Layer::SflowDatagram,
                    offset,
                    needed: 4,
                    available: n - offset
                }),
                "{n} bytes"
            );
        }
        // An IPv6 agent address is read as one 16-byte item.
        for n in 8..24 {
            assert_eq!(
                Datagram::parse(&IPV6_BYTES[..n]).err(),
                Some(Error::Truncated {
                    layer: Layer::SflowDatagram,
                    offset: 8,
                    needed: 16,
                    available: n - 8
                }),
                "{n} bytes"
            );
        }
    }

    #[test]
    fn unsupported() {
        let mut bytes = PACKET_BYTES;
        bytes[3] = 4;
        assert_eq!(
            Datagram::parse(&bytes).err(),
            Some(Error::Unsupported {
                layer: Layer::SflowDatagram,
                offset: 0,
                field: "version",
                value: 4
            })
        );
        assert!(!is_sflow_v5(&bytes));
        let mut bytes = PACKET_BYTES;
        bytes[7] = 0; // address type 0 (UNKNOWN in the spec's address union)
        assert_eq!(
            Datagram::parse(&bytes).err(),
            Some(Error::Unsupported {
                layer: Layer::SflowDatagram,
                offset: 4,
                field: "address_type",
                value: 0
            })
        );
        assert!(!is_sflow_v5(&bytes));
    }
}
