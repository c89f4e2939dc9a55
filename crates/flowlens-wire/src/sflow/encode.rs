//! Writing sFlow v5 datagrams out of samples taken from received ones (per-tenant
//! forwarding): a new `sample_datagram_v5` header over `sample_record`s copied unchanged.
//!
//! Like the rest of the crate this neither allocates nor panics: the caller owns the output
//! buffer, and a buffer that is too small is an error, not a truncated datagram.

use super::Sample;
use crate::error::{Error, Layer, Result};
use core::net::IpAddr;

/// Bytes of a `sample_record` envelope: `data_format` and `length`, 4 bytes each.
const ENVELOPE_LEN: usize = 8;

/// The whole `sample_record` of `sample` (its `data_format` and `length` words and its
/// `length` bytes of data) as it appears in `datagram`, the buffer the sample was parsed from
/// ([`super::Datagram::parse`]).
///
/// `None` when `sample` does not lie within `datagram` (it was parsed from another buffer).
pub fn sample_record_bytes<'a>(datagram: &'a [u8], sample: &Sample<'_>) -> Option<&'a [u8]> {
    let start = sample.offset();
    let len_word = datagram.get(start.checked_add(4)?..start.checked_add(ENVELOPE_LEN)?)?;
    let len = u32::from_be_bytes(len_word.try_into().ok()?);
    let end = start
        .checked_add(ENVELOPE_LEN)?
        .checked_add(usize::try_from(len).ok()?)?;
    datagram.get(start..end)
}

/// The fixed start of a `sample_datagram_v5` (sFlow v5 spec), to be followed by `samples`
/// `sample_record`s. All fields are written XDR big-endian.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DatagramHeader {
    /// `agent_address`: written as `address_type` 1 (IPv4, 4 bytes) or 2 (IPv6, 16 bytes).
    pub agent_address: IpAddr,
    /// `sub_agent_id`.
    pub sub_agent_id: u32,
    /// `sequence_number`: incremented by the sender with each datagram of this sub-agent.
    pub sequence_number: u32,
    /// `uptime`, milliseconds.
    pub uptime_ms: u32,
    /// The `samples<>` count.
    pub samples: u32,
}

impl DatagramHeader {
    /// Encoded length: 28 bytes with an IPv4 agent, 40 with an IPv6 one.
    pub const fn len(&self) -> usize {
        match self.agent_address {
            IpAddr::V4(_) => 28,
            IpAddr::V6(_) => 40,
        }
    }

    /// Always false: a header is never empty (present for `len`'s sake).
    pub const fn is_empty(&self) -> bool {
        false
    }

    /// Writes the header at the start of `out` and returns its length ([`Self::len`]).
    ///
    /// # Errors
    /// [`Error::Truncated`] (layer `SflowDatagram`, offset 0) when `out` is shorter than
    /// [`Self::len`]; nothing is written then.
    pub fn write(&self, out: &mut [u8]) -> Result<usize> {
        let len = self.len();
        let Some(out) = out.get_mut(..len) else {
            return Err(Error::Truncated {
                layer: Layer::SflowDatagram,
                offset: 0,
                needed: len,
                available: out.len(),
            });
        };
        let mut at = 0;
        let mut put = |bytes: &[u8]| {
            if let Some(dst) = out.get_mut(at..at + bytes.len()) {
                dst.copy_from_slice(bytes);
            }
            at += bytes.len();
        };
        put(&5u32.to_be_bytes());
        match self.agent_address {
            IpAddr::V4(a) => {
                put(&1u32.to_be_bytes());
                put(&a.octets());
            }
            IpAddr::V6(a) => {
                put(&2u32.to_be_bytes());
                put(&a.octets());
            }
        }
        put(&self.sub_agent_id.to_be_bytes());
        put(&self.sequence_number.to_be_bytes());
        put(&self.uptime_ms.to_be_bytes());
        put(&self.samples.to_be_bytes());
        Ok(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sflow::Datagram;
    use core::net::{Ipv4Addr, Ipv6Addr};

    /// A datagram of two samples written by hand from the sFlow v5 layout: a counter sample
    /// with no record and an unknown sample (enterprise 7, format 9) of 4 data bytes.
    static TWO_SAMPLES: [u8; 28 + 8 + 12 + 8 + 4] = [
        0, 0, 0, 5, // version
        0, 0, 0, 1, 192, 0, 2, 1, // agent 192.0.2.1
        0, 0, 0, 3, // sub_agent_id
        0, 0, 0, 9, // sequence_number
        0, 0, 0, 100, // uptime
        0, 0, 0, 2, // samples
        0, 0, 0, 2, 0, 0, 0, 12, // counter_sample, length 12
        0, 0, 0, 1, // sequence_number
        0, 0, 0, 4, // source_id: type 0 index 4
        0, 0, 0, 0, // counters<> count 0
        0, 0x07, 0x00, 0x09, 0, 0, 0, 4, // enterprise 7 format 9, length 4
        0xde, 0xad, 0xbe, 0xef,
    ];

    #[test]
    fn sample_records_are_cut_at_their_length() {
        let d = Datagram::parse(&TWO_SAMPLES).unwrap();
        let mut it = d.samples();
        let first = it.next().unwrap().unwrap();
        let second = it.next().unwrap().unwrap();
        assert_eq!(
            sample_record_bytes(&TWO_SAMPLES, &first),
            TWO_SAMPLES.get(28..48)
        );
        assert_eq!(
            sample_record_bytes(&TWO_SAMPLES, &second),
            TWO_SAMPLES.get(48..60)
        );
        // A buffer the sample does not lie in.
        assert_eq!(sample_record_bytes(&TWO_SAMPLES[..50], &second), None);
    }

    #[test]
    fn header_round_trips_through_the_parser() {
        for agent in [
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
        ] {
            let h = DatagramHeader {
                agent_address: agent,
                sub_agent_id: 3,
                sequence_number: 0xffff_fffe,
                uptime_ms: 42,
                samples: 0,
            };
            let mut buf = [0u8; 40];
            let n = h.write(&mut buf).unwrap();
            assert_eq!(n, h.len());
            let d = Datagram::parse(&buf[..n]).unwrap();
            assert_eq!(d.agent_address(), agent);
            assert_eq!(d.sub_agent_id(), 3);
            assert_eq!(d.sequence_number(), 0xffff_fffe);
            assert_eq!(d.uptime_ms(), 42);
            assert_eq!(d.samples_count(), 0);
        }
    }

    #[test]
    fn a_short_buffer_is_an_error() {
        let h = DatagramHeader {
            agent_address: IpAddr::V4(Ipv4Addr::LOCALHOST),
            sub_agent_id: 0,
            sequence_number: 0,
            uptime_ms: 0,
            samples: 0,
        };
        let mut buf = [0u8; 27];
        assert!(matches!(
            h.write(&mut buf),
            Err(Error::Truncated {
                needed: 28,
                available: 27,
                ..
            })
        ));
    }
}
