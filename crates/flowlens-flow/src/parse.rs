//! Datagram framing for NetFlow v5, v9 and IPFIX: headers, sets and template records.
//!
//! Interim: the wire crate's `netflow::{v5, v9, ipfix}` decoders (branch `nf-wire`) will take
//! this over; the session only needs headers, set boundaries and template field lists, all of
//! which are reproduced here with the same error conventions (`flowlens_wire::Error`, absolute
//! offsets from the start of the datagram).

use flowlens_wire::netflow::{FieldSpec, VARIABLE_LENGTH};
use flowlens_wire::{Error as WireError, Layer};

use crate::Protocol;

/// NetFlow v5 header length (bytes).
pub(crate) const V5_HEADER_LEN: usize = 24;
/// NetFlow v5 record length (bytes).
pub(crate) const V5_RECORD_LEN: usize = 48;
const V9_HEADER_LEN: usize = 20;
const IPFIX_HEADER_LEN: usize = 16;

/// The fixed NetFlow v5 record layout as a template of IPFIX elements, so that v5 records are
/// decoded and normalised by the same code as v9/IPFIX records.
pub(crate) static V5_TEMPLATE: [FieldSpec; 20] = [
    spec(8, 4),   // srcaddr: sourceIPv4Address
    spec(12, 4),  // dstaddr: destinationIPv4Address
    spec(15, 4),  // nexthop: ipNextHopIPv4Address
    spec(10, 2),  // input: ingressInterface
    spec(14, 2),  // output: egressInterface
    spec(2, 4),   // dPkts: packetDeltaCount
    spec(1, 4),   // dOctets: octetDeltaCount
    spec(22, 4),  // first: flowStartSysUpTime (ms)
    spec(21, 4),  // last: flowEndSysUpTime (ms)
    spec(7, 2),   // srcport: sourceTransportPort
    spec(11, 2),  // dstport: destinationTransportPort
    spec(210, 1), // pad1: paddingOctets
    spec(6, 1),   // tcp_flags: tcpControlBits
    spec(4, 1),   // prot: protocolIdentifier
    spec(5, 1),   // tos: ipClassOfService
    spec(16, 2),  // src_as: bgpSourceAsNumber
    spec(17, 2),  // dst_as: bgpDestinationAsNumber
    spec(9, 1),   // src_mask: sourceIPv4PrefixLength
    spec(13, 1),  // dst_mask: destinationIPv4PrefixLength
    spec(210, 2), // pad2: paddingOctets
];

const fn spec(id: u16, length: u16) -> FieldSpec {
    FieldSpec {
        id,
        length,
        enterprise: 0,
        scope: false,
    }
}

/// What a datagram header says.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Header {
    pub(crate) protocol: Protocol,
    /// v9 source id, IPFIX observation domain, v5 `engine_type << 8 | engine_id`.
    pub(crate) domain: u32,
    /// Export time, seconds since the Unix epoch.
    pub(crate) unix_secs: u32,
    /// v5 only: residual nanoseconds of the export time.
    pub(crate) unix_nsecs: u32,
    /// v5/v9: exporter uptime at export, ms.
    pub(crate) sys_uptime_ms: Option<u32>,
    pub(crate) sequence: u32,
    /// v5: record count.
    pub(crate) count: u16,
    /// v5: raw `sampling_interval` (mode in the top 2 bits).
    pub(crate) v5_sampling: u16,
    /// End of the message (IPFIX: its length field; otherwise the buffer).
    pub(crate) end: usize,
}

impl Header {
    pub(crate) const fn body_offset(&self) -> usize {
        match self.protocol {
            Protocol::NetflowV5 => V5_HEADER_LEN,
            Protocol::NetflowV9 => V9_HEADER_LEN,
            Protocol::Ipfix => IPFIX_HEADER_LEN,
        }
    }
}

/// The protocol of a datagram, from its version field.
pub(crate) fn sniff(buf: &[u8]) -> Option<Protocol> {
    match be16(buf, 0)? {
        5 => Some(Protocol::NetflowV5),
        9 => Some(Protocol::NetflowV9),
        10 => Some(Protocol::Ipfix),
        _ => None,
    }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([*s.first()?, *s.get(1)?]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes(s.try_into().ok()?))
}

const fn layer(p: Protocol) -> Layer {
    match p {
        Protocol::NetflowV5 => Layer::NetflowV5,
        Protocol::NetflowV9 => Layer::NetflowV9,
        Protocol::Ipfix => Layer::Ipfix,
    }
}

fn truncated(layer: Layer, offset: usize, needed: usize, len: usize) -> WireError {
    WireError::Truncated {
        layer,
        offset,
        needed,
        available: len.saturating_sub(offset),
    }
}

/// Parses the header of a datagram of protocol `p`.
pub(crate) fn header(buf: &[u8], p: Protocol) -> Result<Header, WireError> {
    let l = layer(p);
    let need = match p {
        Protocol::NetflowV5 => V5_HEADER_LEN,
        Protocol::NetflowV9 => V9_HEADER_LEN,
        Protocol::Ipfix => IPFIX_HEADER_LEN,
    };
    if buf.len() < need {
        return Err(truncated(l, 0, need, buf.len()));
    }
    let r16 = |at| be16(buf, at).unwrap_or(0);
    let r32 = |at| be32(buf, at).unwrap_or(0);
    Ok(match p {
        Protocol::NetflowV5 => Header {
            protocol: p,
            domain: u32::from(r16(20) >> 8 & 0xff) << 8 | u32::from(r16(20) & 0xff),
            unix_secs: r32(8),
            unix_nsecs: r32(12),
            sys_uptime_ms: Some(r32(4)),
            sequence: r32(16),
            count: r16(2),
            v5_sampling: r16(22),
            end: buf.len(),
        },
        Protocol::NetflowV9 => Header {
            protocol: p,
            domain: r32(16),
            unix_secs: r32(8),
            unix_nsecs: 0,
            sys_uptime_ms: Some(r32(4)),
            sequence: r32(12),
            count: r16(2),
            v5_sampling: 0,
            end: buf.len(),
        },
        Protocol::Ipfix => {
            let len = usize::from(r16(2));
            if len < IPFIX_HEADER_LEN {
                return Err(WireError::Invalid {
                    layer: l,
                    offset: 2,
                    field: "length",
                    value: len as u64,
                });
            }
            if len > buf.len() {
                return Err(truncated(l, 0, len, buf.len()));
            }
            Header {
                protocol: p,
                domain: r32(12),
                unix_secs: r32(4),
                unix_nsecs: 0,
                sys_uptime_ms: None,
                sequence: r32(8),
                count: 0,
                v5_sampling: 0,
                end: len,
            }
        }
    })
}

/// One set (v9 flowset) of a v9/IPFIX message.
#[derive(Clone, Copy, Debug)]
pub(crate) enum RawSet<'a> {
    /// Template or options template records.
    Templates {
        options: bool,
        body: &'a [u8],
        offset: usize,
    },
    /// Data records for `template_id`.
    Data {
        template_id: u16,
        body: &'a [u8],
        offset: usize,
    },
    /// A reserved set id, skipped by its length.
    Reserved,
}

/// Iterates the sets of a v9/IPFIX message; stops after the first framing error.
pub(crate) struct Sets<'a> {
    buf: &'a [u8],
    pos: usize,
    end: usize,
    protocol: Protocol,
    done: bool,
}

pub(crate) fn sets<'a>(buf: &'a [u8], h: &Header) -> Sets<'a> {
    Sets {
        buf,
        pos: h.body_offset(),
        end: h.end.min(buf.len()),
        protocol: h.protocol,
        done: false,
    }
}

impl<'a> Iterator for Sets<'a> {
    type Item = Result<RawSet<'a>, WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.pos >= self.end {
            return None;
        }
        let l = layer(self.protocol);
        let start = self.pos;
        // A v9 packet may end with fewer than 4 bytes of padding.
        if self.end - start < 4 {
            self.done = true;
            if self.buf.get(start..self.end)?.iter().all(|&b| b == 0) {
                return None;
            }
            return Some(Err(truncated(l, start, 4, self.end)));
        }
        let id = be16(self.buf, start)?;
        let len = usize::from(be16(self.buf, start + 2)?);
        if len < 4 {
            self.done = true;
            return Some(Err(WireError::Invalid {
                layer: l,
                offset: start + 2,
                field: "set length",
                value: len as u64,
            }));
        }
        if start + len > self.end {
            self.done = true;
            return Some(Err(truncated(l, start, len, self.end)));
        }
        self.pos = start + len;
        let body = self.buf.get(start + 4..start + len)?;
        let offset = start + 4;
        let set = match (self.protocol, id) {
            (Protocol::NetflowV9, 0) | (Protocol::Ipfix, 2) => RawSet::Templates {
                options: false,
                body,
                offset,
            },
            (Protocol::NetflowV9, 1) | (Protocol::Ipfix, 3) => RawSet::Templates {
                options: true,
                body,
                offset,
            },
            (_, id) if id >= 256 => RawSet::Data {
                template_id: id,
                body,
                offset,
            },
            _ => RawSet::Reserved,
        };
        Some(Ok(set))
    }
}

/// One template or options template record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RawTemplate {
    pub(crate) template_id: u16,
    /// The fields, scope fields first. Empty for a withdrawal, or when the template declared
    /// more than the cap (`too_many` then holds the declared count).
    pub(crate) fields: Vec<FieldSpec>,
    pub(crate) scope_field_count: u16,
    pub(crate) options: bool,
    /// IPFIX field count 0: template withdrawal (RFC 7011 section 8.1).
    pub(crate) withdrawal: bool,
    /// Declared field count when it exceeded `max_fields` (fields were skipped).
    pub(crate) too_many: Option<usize>,
    pub(crate) offset: usize,
}

/// Parses the template records of one template set body; calls `f` for each. Stops at the
/// first malformed record (returning its error) or at trailing padding.
pub(crate) fn templates(
    protocol: Protocol,
    options: bool,
    body: &[u8],
    offset: usize,
    max_fields: usize,
    mut f: impl FnMut(RawTemplate),
) -> Result<(), WireError> {
    let mut pos = 0usize;
    let trunc = |at: usize, need: usize| truncated(Layer::Template, offset + at, need, body.len());
    loop {
        let rest = body.len().saturating_sub(pos);
        let min = match (protocol, options) {
            (Protocol::NetflowV9, true) => 6,
            _ => 4,
        };
        if rest < min {
            return Ok(());
        }
        let rec_start = pos;
        let template_id = be16(body, pos).ok_or_else(|| trunc(pos, 2))?;
        let (field_count, scope_count) = match (protocol, options) {
            (Protocol::NetflowV9, false) => {
                if template_id == 0 {
                    // Padding (a template id below 256 is invalid; zeroes end the set).
                    return Ok(());
                }
                (usize::from(be16(body, pos + 2).unwrap_or(0)), 0usize)
            }
            (Protocol::NetflowV9, true) => {
                if template_id == 0 {
                    return Ok(());
                }
                let scope_len = usize::from(be16(body, pos + 2).unwrap_or(0));
                let opt_len = usize::from(be16(body, pos + 4).unwrap_or(0));
                pos += 2;
                ((scope_len + opt_len) / 4, scope_len / 4)
            }
            (_, false) => (usize::from(be16(body, pos + 2).unwrap_or(0)), 0),
            (_, true) => {
                let count = usize::from(be16(body, pos + 2).unwrap_or(0));
                if count == 0 {
                    (0, 0)
                } else {
                    let scope = usize::from(be16(body, pos + 4).ok_or_else(|| trunc(pos + 4, 2))?);
                    pos += 2;
                    if scope == 0 || scope > count {
                        return Err(WireError::Invalid {
                            layer: Layer::Template,
                            offset: offset + pos + 2,
                            field: "scope field count",
                            value: scope as u64,
                        });
                    }
                    (count, scope)
                }
            }
        };
        pos += 4;
        // Template ids 0-255 are reserved (RFC 3954 section 5.2, RFC 7011 section 3.4.1);
        // IPFIX uses 2 and 3 only to withdraw all templates of a kind.
        let withdraw_all = protocol == Protocol::Ipfix
            && field_count == 0
            && template_id == if options { 3 } else { 2 };
        if template_id < 256 && !withdraw_all {
            return Err(WireError::Invalid {
                layer: Layer::Template,
                offset: offset + rec_start,
                field: "template id",
                value: template_id.into(),
            });
        }
        if field_count == 0 {
            if protocol == Protocol::NetflowV9 {
                return Err(WireError::Invalid {
                    layer: Layer::Template,
                    offset: offset + rec_start + 2,
                    field: "field count",
                    value: 0,
                });
            }
            f(RawTemplate {
                template_id,
                fields: Vec::new(),
                scope_field_count: 0,
                options,
                withdrawal: true,
                too_many: None,
                offset: offset + rec_start,
            });
            continue;
        }
        let keep = field_count <= max_fields;
        let mut fields = Vec::with_capacity(if keep { field_count } else { 0 });
        for i in 0..field_count {
            let raw_id = be16(body, pos).ok_or_else(|| trunc(pos, 4))?;
            let length = be16(body, pos + 2).ok_or_else(|| trunc(pos, 4))?;
            pos += 4;
            let (id, enterprise) = if protocol == Protocol::Ipfix && raw_id & 0x8000 != 0 {
                let pen = be32(body, pos).ok_or_else(|| trunc(pos, 4))?;
                pos += 4;
                (raw_id & 0x7fff, pen)
            } else {
                (raw_id, 0)
            };
            if protocol == Protocol::NetflowV9 && length == VARIABLE_LENGTH {
                return Err(WireError::Invalid {
                    layer: Layer::Template,
                    offset: offset + pos - 2,
                    field: "field length",
                    value: length.into(),
                });
            }
            if keep {
                fields.push(FieldSpec {
                    id,
                    length,
                    enterprise,
                    scope: i < scope_count,
                });
            }
        }
        f(RawTemplate {
            template_id,
            fields,
            scope_field_count: u16::try_from(scope_count).unwrap_or(u16::MAX),
            options,
            withdrawal: false,
            too_many: (!keep).then_some(field_count),
            offset: offset + rec_start,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v5_template_is_48_bytes() {
        let n: usize = V5_TEMPLATE.iter().map(|f| usize::from(f.length)).sum();
        assert_eq!(n, V5_RECORD_LEN);
    }

    #[test]
    fn ipfix_template_with_enterprise_field_and_withdrawal() {
        // Template 256: sourceIPv4Address(4), PEN 6876 id 891 len 1; then withdrawal of 257.
        let body = [
            1, 0, 0, 2, 0, 8, 0, 4, 0x83, 0x7b, 0, 1, 0, 0, 0x1a, 0xdc, 1, 1, 0, 0,
        ];
        let mut got = Vec::new();
        templates(Protocol::Ipfix, false, &body, 20, 512, |t| got.push(t)).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].template_id, 256);
        assert_eq!(got[0].fields[1].id, 891);
        assert_eq!(got[0].fields[1].enterprise, 6876);
        assert!(got[1].withdrawal);
        assert_eq!(got[1].offset, 36);
    }
}
