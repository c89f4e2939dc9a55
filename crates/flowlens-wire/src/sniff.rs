//! Which flow-export protocol a UDP payload carries, told by its content rather than by its
//! port: collectors receive sFlow, NetFlow and IPFIX on any port, and captures mix them.
//!
//! [`sniff`] is the one dispatch every consumer uses (the collector, capture replay, the
//! decoder); [`rejection`] says why a payload that starts like NetFlow/IPFIX was not taken
//! as one.

use crate::netflow::{self, ipfix, v5, v9};
use crate::sflow;
use crate::Error;

/// The flow-export protocol of a datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Export {
    /// sFlow version 5 (sFlow v5 spec, `sample_datagram_v5`; [`sflow::is_sflow_v5`]).
    Sflow,
    /// NetFlow v5, NetFlow v9 (RFC 3954) or IPFIX (RFC 7011) ([`netflow::sniff`]).
    Netflow(netflow::Protocol),
}

impl Export {
    /// `sflow`, `netflow-v5`, `netflow-v9` or `ipfix`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Export::Sflow => "sflow",
            Export::Netflow(p) => p.name(),
        }
    }
}

/// The protocol of `payload` (a UDP payload), by content: sFlow v5 by its version and
/// address-type words, NetFlow v5/v9/IPFIX by a version field of 5, 9 or 10 with a plausible
/// header. `None` for anything else. A match may still be malformed further in: decode it and
/// count the errors rather than treating it as something else.
#[must_use]
pub fn sniff(payload: &[u8]) -> Option<Export> {
    if sflow::is_sflow_v5(payload) {
        Some(Export::Sflow)
    } else {
        netflow::sniff(payload).map(Export::Netflow)
    }
}

/// Why a payload that starts like NetFlow v5, v9 or IPFIX (a 16-bit version field of 5, 9 or
/// 10) fails its header check, e.g. a v5 record count larger than the datagram: the header
/// parser's error. `None` when the payload does not start like one, or when its header is
/// valid.
#[must_use]
pub fn rejection(payload: &[u8]) -> Option<Error> {
    match payload {
        [0, 5, ..] => v5::Packet::parse(payload).err(),
        [0, 9, ..] => v9::Packet::parse(payload).err(),
        [0, 10, ..] => ipfix::Message::parse(payload).err(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::{rejection, sniff, Export};
    use crate::netflow::Protocol;

    /// sFlow v5 header start: version 5, address type 1 (IPv4).
    static SFLOW_START: [u8; 8] = [0, 0, 0, 5, 0, 0, 0, 1];
    /// A NetFlow v5 header (RFC-less Cisco format): version 5, count 1, and a datagram too
    /// short for the 24-byte header plus one 48-byte record.
    static V5_SHORT: [u8; 24] = [
        0, 5, 0, 1, // version, count
        0, 0, 0, 0, // sysUptime
        0, 0, 0, 0, // unix_secs
        0, 0, 0, 0, // unix_nsecs
        0, 0, 0, 0, // flow_sequence
        0, 0, 0, 0, // engine_type, engine_id, sampling_interval
    ];

    #[test]
    fn tells_protocols_apart() {
        assert_eq!(sniff(&SFLOW_START), Some(Export::Sflow));
        assert_eq!(sniff(&V5_SHORT), None);
        let mut v9 = [0u8; 20];
        v9[1] = 9;
        assert_eq!(sniff(&v9), Some(Export::Netflow(Protocol::NetflowV9)));
        assert_eq!(sniff(b"hello, world"), None);
        assert_eq!(Export::Sflow.name(), "sflow");
        assert_eq!(Export::Netflow(Protocol::Ipfix).name(), "ipfix");
    }

    #[test]
    fn says_why_a_netflow_lookalike_is_refused() {
        assert!(rejection(&V5_SHORT).is_some());
        assert!(rejection(&SFLOW_START).is_none());
        assert!(rejection(b"hello").is_none());
    }
}
