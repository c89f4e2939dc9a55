//! The sFlow v5 datagram header (`sample_datagram_v5`) and the iterator over its samples.

use super::envelope::Envelopes;
use super::sample::Sample;
use crate::error::{Layer, Result};
use crate::reader::Reader;
use crate::value::{FieldVisitor, Value};
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

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
            return Err(r.unsupported_at(0, "version", u64::from(version)));
        }
        let at = r.offset();
        let agent_address = match r.u32()? {
            1 => IpAddr::V4(Ipv4Addr::from(r.array::<4>()?)),
            2 => IpAddr::V6(Ipv6Addr::from(r.array::<16>()?)),
            t => return Err(r.unsupported_at(at, "address_type", u64::from(t))),
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
