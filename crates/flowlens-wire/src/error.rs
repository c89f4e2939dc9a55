//! The crate's one error type.
//!
//! Every decoder in this crate reports malformed or unsupported input as an [`Error`]: a small
//! `Copy` value that names the [`Layer`] it was found in, the byte offset (counted from the start
//! of the buffer handed to the top-level decoder, so an error inside a sampled header inside an
//! sFlow datagram points into the datagram), and the lengths or value involved. Errors never
//! allocate and never carry borrowed data, so they can be counted, stored and compared freely.

use core::fmt;

/// The protocol layer or structure in which an [`Error`] was found.
///
/// Variants mirror protocol structures, in no particular order of importance; the `Display`
/// form is the short lowercase name used in `flowlens decode` output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Layer {
    /// sFlow v5 datagram header (sFlow v5 spec, `sample_datagram_v5`).
    SflowDatagram,
    /// sFlow v5 sample envelope or sample header (`sample_record`, `flow_sample`, ...).
    SflowSample,
    /// sFlow v5 flow record (`flow_record`).
    SflowFlowRecord,
    /// sFlow v5 counter record (`counter_record`).
    SflowCounterRecord,
    /// NetFlow v5 datagram (header and fixed records).
    NetflowV5,
    /// NetFlow v9 packet header or flowset (RFC 3954).
    NetflowV9,
    /// IPFIX message header or set (RFC 7011).
    Ipfix,
    /// A NetFlow v9 / IPFIX template or options template record.
    Template,
    /// A NetFlow v9 / IPFIX data record, decoded with its template.
    FlowRecord,
    /// pcap / pcapng capture-file framing.
    Capture,
    /// Linux "cooked" capture header (SLL, DLT 113 / SLL2, DLT 276).
    LinuxSll,
    /// BSD loopback / null encapsulation (DLT 0).
    Null,
    /// PPP (RFC 1661) and PPP-in-HDLC framing (RFC 1662).
    Ppp,
    /// Ethernet II / IEEE 802.3 header.
    Ethernet,
    /// IEEE 802.1Q / 802.1ad VLAN tag.
    Vlan,
    /// MPLS label stack entry (RFC 3032).
    Mpls,
    /// Pseudowire control word (RFC 4385).
    PwControlWord,
    /// ARP (RFC 826).
    Arp,
    /// IPv4 header (RFC 791).
    Ipv4,
    /// IPv6 header (RFC 8200).
    Ipv6,
    /// IPv6 extension header (RFC 8200 section 4).
    Ipv6Ext,
    /// TCP header (RFC 9293).
    Tcp,
    /// UDP header (RFC 768).
    Udp,
    /// ICMPv4 (RFC 792).
    Icmp,
    /// ICMPv6 (RFC 4443).
    Icmpv6,
    /// DNS message (RFC 1035).
    Dns,
    /// GRE header (RFC 2784 / RFC 2890), including NVGRE (RFC 7637).
    Gre,
    /// ERSPAN type I/II/III header.
    Erspan,
    /// VXLAN header (RFC 7348).
    Vxlan,
    /// Geneve header (RFC 8926).
    Geneve,
    /// GTP-U header (3GPP TS 29.281).
    Gtp,
    /// Teredo (RFC 4380) encapsulation.
    Teredo,
    /// STT frame header (draft-davie-stt).
    Stt,
}

impl Layer {
    /// Short lowercase name, e.g. `"ipv4"` or `"sflow-sample"`.
    pub const fn name(self) -> &'static str {
        match self {
            Layer::SflowDatagram => "sflow-datagram",
            Layer::SflowSample => "sflow-sample",
            Layer::SflowFlowRecord => "sflow-flow-record",
            Layer::SflowCounterRecord => "sflow-counter-record",
            Layer::NetflowV5 => "netflow-v5",
            Layer::NetflowV9 => "netflow-v9",
            Layer::Ipfix => "ipfix",
            Layer::Template => "template",
            Layer::FlowRecord => "flow-record",
            Layer::Capture => "capture",
            Layer::LinuxSll => "sll",
            Layer::Null => "null",
            Layer::Ppp => "ppp",
            Layer::Ethernet => "eth",
            Layer::Vlan => "vlan",
            Layer::Mpls => "mpls",
            Layer::PwControlWord => "pwcw",
            Layer::Arp => "arp",
            Layer::Ipv4 => "ip",
            Layer::Ipv6 => "ip6",
            Layer::Ipv6Ext => "ip6ext",
            Layer::Tcp => "tcp",
            Layer::Udp => "udp",
            Layer::Icmp => "icmp",
            Layer::Icmpv6 => "icmp6",
            Layer::Dns => "dns",
            Layer::Gre => "gre",
            Layer::Erspan => "erspan",
            Layer::Vxlan => "vxlan",
            Layer::Geneve => "geneve",
            Layer::Gtp => "gtp",
            Layer::Teredo => "teredo",
            Layer::Stt => "stt",
        }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A decoding error: what went wrong, in which layer, at which byte offset.
///
/// Offsets are in bytes from the start of the outermost buffer given to the decoder (the UDP
/// payload for an sFlow datagram, the frame for a packet walk).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Error {
    /// The input ended inside a structure: `needed` bytes were required at `offset` but only
    /// `available` remained.
    Truncated {
        /// Layer being decoded.
        layer: Layer,
        /// Offset of the read that failed.
        offset: usize,
        /// Bytes the read needed.
        needed: usize,
        /// Bytes that were left.
        available: usize,
    },
    /// A field holds a value the specification forbids (e.g. an IPv4 IHL below 5, an sFlow
    /// record length that overruns its sample).
    Invalid {
        /// Layer being decoded.
        layer: Layer,
        /// Offset of the offending field.
        offset: usize,
        /// Field name, as the specification spells it.
        field: &'static str,
        /// The value found.
        value: u64,
    },
    /// A field holds a valid value this decoder does not handle (e.g. sFlow version 4).
    Unsupported {
        /// Layer being decoded.
        layer: Layer,
        /// Offset of the field.
        offset: usize,
        /// Field name, as the specification spells it.
        field: &'static str,
        /// The value found.
        value: u64,
    },
    /// Layers nest deeper than the walker's fixed capacity (see `packet::MAX_LAYERS`).
    TooDeep {
        /// Layer that could not be pushed.
        layer: Layer,
        /// Offset where it starts.
        offset: usize,
    },
}

impl Error {
    /// The layer the error was found in.
    pub const fn layer(&self) -> Layer {
        match *self {
            Error::Truncated { layer, .. }
            | Error::Invalid { layer, .. }
            | Error::Unsupported { layer, .. }
            | Error::TooDeep { layer, .. } => layer,
        }
    }

    /// Byte offset of the error, from the start of the outermost buffer.
    pub const fn offset(&self) -> usize {
        match *self {
            Error::Truncated { offset, .. }
            | Error::Invalid { offset, .. }
            | Error::Unsupported { offset, .. }
            | Error::TooDeep { offset, .. } => offset,
        }
    }

    /// A short, stable, lowercase label for counters (`truncated`, `invalid`, `unsupported`,
    /// `too-deep`).
    pub const fn kind(&self) -> &'static str {
        match self {
            Error::Truncated { .. } => "truncated",
            Error::Invalid { .. } => "invalid",
            Error::Unsupported { .. } => "unsupported",
            Error::TooDeep { .. } => "too-deep",
        }
    }

    /// The same error with `delta` added to its offset, for errors found in a sub-buffer.
    #[must_use]
    pub const fn shifted(self, delta: usize) -> Error {
        match self {
            Error::Truncated {
                layer,
                offset,
                needed,
                available,
            } => Error::Truncated {
                layer,
                offset: offset.saturating_add(delta),
                needed,
                available,
            },
            Error::Invalid {
                layer,
                offset,
                field,
                value,
            } => Error::Invalid {
                layer,
                offset: offset.saturating_add(delta),
                field,
                value,
            },
            Error::Unsupported {
                layer,
                offset,
                field,
                value,
            } => Error::Unsupported {
                layer,
                offset: offset.saturating_add(delta),
                field,
                value,
            },
            Error::TooDeep { layer, offset } => Error::TooDeep {
                layer,
                offset: offset.saturating_add(delta),
            },
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::Truncated {
                layer,
                offset,
                needed,
                available,
            } => write!(
                f,
                "{layer}: truncated at byte {offset}: needed {needed} bytes, {available} left"
            ),
            Error::Invalid {
                layer,
                offset,
                field,
                value,
            } => {
                write!(f, "{layer}: invalid {field} {value} at byte {offset}")
            }
            Error::Unsupported {
                layer,
                offset,
                field,
                value,
            } => {
                write!(f, "{layer}: unsupported {field} {value} at byte {offset}")
            }
            Error::TooDeep { layer, offset } => {
                write!(f, "{layer}: too many nested layers at byte {offset}")
            }
        }
    }
}

impl core::error::Error for Error {}

/// `Result` with this crate's [`Error`].
pub type Result<T> = core::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn display_names_layer_field_and_offset() {
        let e = Error::Invalid {
            layer: Layer::Ipv4,
            offset: 14,
            field: "ihl",
            value: 3,
        };
        assert_eq!(e.to_string(), "ip: invalid ihl 3 at byte 14");
        let t = Error::Truncated {
            layer: Layer::Tcp,
            offset: 34,
            needed: 20,
            available: 6,
        };
        assert_eq!(t.shifted(100).offset(), 134);
        assert_eq!(
            t.shifted(100).to_string(),
            "tcp: truncated at byte 134: needed 20 bytes, 6 left"
        );
    }
}
