//! Normalised flow keys for NetFlow/IPFIX records, in sFlow-RT naming.
//!
//! [`visit_keys`] gives a NetFlow v5/v9 or IPFIX record the same key names the sFlow packet
//! walker derives from sampled headers (`flowlens_wire::packet::keys`), so one flow definition
//! works for both. `depth` follows the walker: 0 outermost; when a record describes tunnelled
//! traffic (Open vSwitch tunnel elements, PEN 6876), the tunnel header's keys are at depth 0 and
//! the flow's own addresses and ports at depth 1 (printed `ipsource.1`).
//!
//! | key | IPFIX / NetFlow v9 element ids (v5 field) | value |
//! |---|---|---|
//! | `ipsource`, `ipdestination` | 8, 12 (`srcaddr`, `dstaddr`) | IPv4 address |
//! | `ip6source`, `ip6destination` | 27, 28 | IPv6 address |
//! | `ipprotocol` | 4 (`prot`), IPv4 flows | protocol number |
//! | `ip6nexthdr` | 4, IPv6 flows (27/28 and no 8/12) | upper-layer protocol, as the packet walker names it |
//! | `tcpsourceport`, `tcpdestinationport` | 7, 11 when protocol is 6 | port |
//! | `udpsourceport`, `udpdestinationport` | 7, 11 when protocol is 17 | port |
//! | `tcpflags` | 6 (`tcp_flags`) | 9-char bit string NS CWR ECE URG ACK PSH RST SYN FIN |
//! | `iptos`, `ipdscp`, `ipecn` | 5 (`tos`), IPv4 flows | TOS byte, DSCP (tos >> 2), ECN (tos & 3) |
//! | `ip6tos`, `ip6dscp`, `ip6ecn` | 5, IPv6 flows | traffic class, DSCP, ECN |
//! | `icmptype`, `icmpcode` | 32 (type << 8 \| code), 176/177; else 11 (`dstport`); only for protocol 1 (or none reported) | type, code |
//! | `icmp6type`, `icmp6code` | 139, 178/179; else 11; only for protocol 58 (or none reported) | type, code |
//! | `inputifindex`, `outputifindex` | 10, 14 (`input`, `output`) | ifIndex |
//! | `vlan` | 58, else 243 | VLAN id |
//! | `macsource`, `macdestination` | 56, 80 | MAC |
//! | `ipnexthoprouter` | 15 (`nexthop`), 62 | address |
//! | `bgpnexthop` | 18, 63 | address |
//! | `bgpsourceas`, `bgpdestinationas` | 16, 17 (`src_as`, `dst_as`) | AS number |
//! | `ipsourcemaskbits`, `ipdestinationmaskbits` | 9, 13 (`src_mask`, `dst_mask`); 29, 30 | prefix length |
//! | `vxlanvni` | 351 with segment type 1 (VXLAN, top byte); OVS 891 = 1 with 892 | VNI (24 bits) |
//! | `grekey`, `genevevni` | OVS 891 = 2 (GRE) / 7 (Geneve) with 892 | key / VNI |
//! | `ipsource`, `ipdestination` (depth 0, tunnel) | OVS 893, 894 (899, 900 → `ip6source`/`ip6destination`) | tunnel endpoints |
//! | `ipprotocol`, `udpsourceport`, `udpdestinationport` (depth 0, tunnel) | OVS 895, 896, 897 | tunnel protocol / ports |
//! | packet keys (`stack`, `macsource`, `ipsource`, `tcpflags`, ... at their tunnel depths) | 315 `dataLinkFrameSection`, 104 `layer2FrameSection`, when the record has no addresses of its own | the sampled frame walked like an sFlow sampled header; `frames` = sampling rate, `bytes` = 312 × rate |
//! | `bytes` | 1, else 85 (`dOctets`) | *flowlens*: octets × sampling rate |
//! | `frames` | 2, else 86 (`dPkts`) | *flowlens*: packets × sampling rate |
//! | `samplingrate` | see [`crate::sampling`] | *flowlens*: the 1-in-N rate applied |
//! | `flowstart_ms`, `flowend_ms` | 152/153; 150/151 (s); 154/155, 156/157 (NTP); 158/159 (delta µs before export); 22/21 (`first`/`last`, uptime ms; IPFIX with IE 160) | *flowlens*: Unix ms |
//! | `ipfix:<ianaName>` | any other IANA element of the registry (e.g. `ipfix:flowEndReason`) | decoded by the element's abstract data type (see below) |
//! | `ipfix:reverse<Name>` | RFC 5103 reverse elements (PEN 29305, e.g. `ipfix:reverseOctetDeltaCount`) | as above |
//! | `ipfix:<vendor>:<name>` | enterprise elements of the registry: `vmware` (PEN 6876; 891..=897 only when the record is not tunnelled), `cert` (6871), `ntop` (35632), and the other tags of [`InformationElement::key`]; NetFlow v9-only field types (`ipfix:cisco:NF_F_FW_EVENT`) | as above |
//!
//! Octet and packet counters: the delta counters (1, 2) win over the total counters (85, 86);
//! Open vSwitch sends both, and only the delta describes the interval. Elements consumed by a
//! normalised key above, padding (210), the time and counter elements listed, and the sampling
//! elements (34, 48, 50, 302, 305, 306, 309, 310) are not repeated as `ipfix:` keys.
//!
//! `ipfix:` key names and value types come from the wire crate's generated registry
//! ([`flowlens_wire::netflow::ie`], built from the IANA registry and `vendor-elements.csv`):
//! [`InformationElement::key`] is the static name ([`KeyVisitor`] takes `&'static str`), and
//! [`ie::value`] decodes the bytes by the element's abstract data type (integers of reduced
//! size, addresses, MACs, text, booleans, floats; octet arrays, lists and values of an
//! impossible length as hex). Elements not in the registry produce no key. NetFlow v9 options
//! scope fields (their own namespace) produce no key.
//!
//! [`InformationElement::key`]: flowlens_wire::netflow::ie::InformationElement::key

use core::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use flowlens_wire::netflow::ie::{self, DataType};
use flowlens_wire::netflow::{self, FieldSpec};
use flowlens_wire::packet::keys::TcpFlagBits;
use flowlens_wire::packet::{self, LinkType, WalkConfig};
use flowlens_wire::{KeyId, KeyMask, KeyVisitor, Masked, Value};

use crate::record::{uint, NetflowRecord};
use crate::Protocol;

/// The key name for an element without a normalised key, from the wire registry:
/// `ipfix:<ianaName>` (IANA and RFC 5103 reverse elements) or `ipfix:<vendor>:<name>`
/// (enterprise elements, NetFlow v9-only types); `None` when the registry does not know it.
pub fn ipfix_key_name(enterprise: u32, id: u16) -> Option<&'static str> {
    ie::lookup(enterprise, id).map(|e| e.key)
}

/// A `dateTime*` IANA element (150..=157) as Unix ms, decoded by its registry type.
#[cfg(test)]
fn time_ms(id: u16, b: &[u8]) -> Option<u64> {
    time_ms_of(ie::lookup(0, id).map(|e| e.data_type), b)
}

/// A `dateTime*` value as Unix ms, decoded by its registry type.
fn time_ms_of(data_type: Option<DataType>, b: &[u8]) -> Option<u64> {
    ie::datetime_unix_nanos(data_type?, b).map(|ns| ns / 1_000_000)
}

/// What one template field feeds: a slot of the [`Summary`] (or nothing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Skip,
    TunType,
    TunKey,
    TunSrc,
    TunDst,
    TunProto,
    TunSport,
    TunDport,
    Src4,
    Dst4,
    Src6,
    Dst6,
    Proto,
    Sport,
    Dport,
    TcpFlags,
    Tos,
    Icmp4,
    Icmp6,
    IcmpType4,
    IcmpCode4,
    IcmpType6,
    IcmpCode6,
    InIf,
    OutIf,
    Vlan,
    Dot1qVlan,
    MacSrc,
    MacDst,
    Nexthop,
    BgpNexthop,
    SrcAs,
    DstAs,
    SrcMask,
    DstMask,
    SegmentVni,
    OctetsDelta,
    OctetsTotal,
    PacketsDelta,
    PacketsTotal,
    /// A `dateTime*` start / end element, with its registry type (`None`: unknown, no time).
    Start(Option<DataType>),
    End(Option<DataType>),
    DeltaStart,
    DeltaEnd,
    InitMs,
    RelStart,
    RelEnd,
}

/// The summary role of field `f` (`v9`: NetFlow v9, whose scope fields are silent).
fn role(f: &FieldSpec, v9: bool) -> Role {
    use Role as R;
    if f.scope && v9 {
        return R::Skip;
    }
    if f.enterprise == 6876 {
        return match f.id {
            891 => R::TunType,
            892 => R::TunKey,
            893 | 899 => R::TunSrc,
            894 | 900 => R::TunDst,
            895 => R::TunProto,
            896 => R::TunSport,
            897 => R::TunDport,
            _ => R::Skip,
        };
    }
    if f.enterprise != 0 {
        return R::Skip;
    }
    let dt = |id| ie::lookup(0, id).map(|e| e.data_type);
    match f.id {
        8 => R::Src4,
        12 => R::Dst4,
        27 => R::Src6,
        28 => R::Dst6,
        4 => R::Proto,
        7 => R::Sport,
        11 => R::Dport,
        6 => R::TcpFlags,
        5 => R::Tos,
        32 => R::Icmp4,
        139 => R::Icmp6,
        176 => R::IcmpType4,
        177 => R::IcmpCode4,
        178 => R::IcmpType6,
        179 => R::IcmpCode6,
        10 => R::InIf,
        14 => R::OutIf,
        58 => R::Vlan,
        243 => R::Dot1qVlan,
        56 => R::MacSrc,
        80 => R::MacDst,
        15 | 62 => R::Nexthop,
        18 | 63 => R::BgpNexthop,
        16 => R::SrcAs,
        17 => R::DstAs,
        9 | 29 => R::SrcMask,
        13 | 30 => R::DstMask,
        351 => R::SegmentVni,
        1 => R::OctetsDelta,
        85 => R::OctetsTotal,
        2 => R::PacketsDelta,
        86 => R::PacketsTotal,
        150 | 152 | 154 | 156 => R::Start(dt(f.id)),
        151 | 153 | 155 | 157 => R::End(dt(f.id)),
        158 => R::DeltaStart,
        159 => R::DeltaEnd,
        160 => R::InitMs,
        22 => R::RelStart,
        21 => R::RelEnd,
        _ => R::Skip,
    }
}

/// A field reported as an `ipfix:` key: its static name and how to decode it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Extra {
    ie: &'static ie::InformationElement,
    /// An Open vSwitch tunnel element (PEN 6876, 891..=897): silent when the record is
    /// tunnelled (its value is a normalised depth-0 key then).
    ovs_tunnel: bool,
}

/// The `ipfix:` key of field `f`, if it gets one.
fn extra(f: &FieldSpec, v9: bool) -> Option<Extra> {
    if f.scope && v9 || f.enterprise == 0 && consumed(f.id) {
        return None;
    }
    ie::lookup(f.enterprise, f.id).map(|e| Extra {
        ie: e,
        ovs_tunnel: f.enterprise == 6876 && (891..=897).contains(&f.id),
    })
}

/// A template compiled once when it is learned: for a template of fixed-length fields only,
/// the byte range of every field that feeds a normalised key (with its role) and of every field
/// reported as an `ipfix:` key (with its name and type), so records are read by offset.
/// Templates with variable-length fields are read field by field ([`Plan::fixed`] is `None`).
#[derive(Clone, Debug, Default)]
pub(crate) struct Plan {
    fixed: Option<Fixed>,
    /// Whether records carry sampling fields (34, 48, 50, 302, 305, 306, 309, 310).
    pub(crate) sampling_fields: bool,
}

/// Byte ranges are `u16`: a cached template's records fit a datagram (65 535 bytes), and a
/// plan costs at most 24 bytes per template field.
#[derive(Clone, Debug)]
struct Fixed {
    /// Record length.
    len: usize,
    slots: Vec<(u16, u16, Role)>,
    extras: Vec<(u16, u16, Extra)>,
    /// Byte range of the first non-scope `ingressInterface` (IE 10), the record's data source.
    ingress: Option<(u16, u16)>,
}

impl Plan {
    /// Compiles `fields` (`v9`: a NetFlow v9 template).
    pub(crate) fn compile(fields: &[FieldSpec], v9: bool) -> Plan {
        let sampling_fields = fields.iter().any(|f| {
            f.enterprise == 0
                && !(f.scope && v9)
                && matches!(f.id, 34 | 48 | 50 | 302 | 305 | 306 | 309 | 310)
        });
        let mut fixed = Some(Fixed {
            len: 0,
            slots: Vec::new(),
            extras: Vec::new(),
            ingress: None,
        });
        let mut pos = 0u16;
        for f in fields {
            let Some(fx) = fixed.as_mut() else { break };
            let end = pos.checked_add(f.length);
            let Some(end) = end.filter(|_| !f.is_variable()) else {
                fixed = None;
                break;
            };
            let r = role(f, v9);
            if r != Role::Skip {
                fx.slots.push((pos, end, r));
            }
            if f.id == 10 && f.enterprise == 0 && !f.scope && fx.ingress.is_none() {
                fx.ingress = Some((pos, end));
            }
            if let Some(x) = extra(f, v9) {
                fx.extras.push((pos, end, x));
            }
            pos = end;
            fx.len = usize::from(pos);
        }
        if let Some(fx) = fixed.as_mut() {
            fx.slots.shrink_to_fit();
            fx.extras.shrink_to_fit();
        }
        Plan {
            fixed,
            sampling_fields,
        }
    }

    /// The bytes of `record`'s first non-scope `ingressInterface` (IE 10) by offset, for a
    /// fixed-layout template whose record has the planned length: `Some(None)` when the
    /// template has no such field, `None` when the plan cannot tell (read field by field).
    pub(crate) fn ingress<'a>(&self, record: &'a [u8]) -> Option<Option<&'a [u8]>> {
        let fx = self.fixed.as_ref().filter(|fx| fx.len == record.len())?;
        Some(match fx.ingress {
            Some((start, end)) => Some(record.get(usize::from(start)..usize::from(end))?),
            None => None,
        })
    }
}

/// The locals of [`Summary::of`] that only feed the flow times.
struct Times {
    init_ms: Option<u64>,
    rel: (Option<u64>, Option<u64>),
    delta: (Option<u64>, Option<u64>),
}

/// Calls `v.key` for every normalised key of `record` (see the module docs for the table) and
/// returns the record's counts, from the same single pass over its fields.
///
/// Only the keys in `v`'s mask ([`KeyVisitor::mask`]) are delivered; the `ipfix:` elements are
/// not even looked at unless the mask has [`KeyId::IPFIX`].
pub fn visit_keys(record: &NetflowRecord<'_, '_>, v: &mut impl KeyVisitor) -> RecordCounts {
    visit_keys_masked(record, &mut Masked::new(v))
}

/// [`visit_keys`] for a caller that already holds its visitor [`Masked`]: its mask is not
/// read and checked a second time per key.
pub fn visit_keys_masked(
    record: &NetflowRecord<'_, '_>,
    v: &mut Masked<'_, impl KeyVisitor>,
) -> RecordCounts {
    let mut s = Summary::default();
    s.fill(record);
    s.emit(record, v);
    if s.src4.is_none() && s.dst4.is_none() && s.src6.is_none() && s.dst6.is_none() {
        frame_keys(record, &s, v);
    }
    s.counts()
}

/// What a record counts, as exported (not scaled): its packet and octet counts, its flow
/// times, and the 1-in-N sampling rate that applies to it. The one place where counts are
/// scaled by the sampling rate is [`RecordCounts::frames`] / [`RecordCounts::bytes`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecordCounts {
    /// `packetDeltaCount` (IE 2), else `packetTotalCount` (IE 86); v5 `dPkts`.
    pub packets: Option<u64>,
    /// `octetDeltaCount` (IE 1), else `octetTotalCount` (IE 85); v5 `dOctets`.
    pub octets: Option<u64>,
    /// Flow start, Unix ms, when the record has a start time that can be made absolute.
    pub start_ms: Option<u64>,
    /// Flow end, Unix ms.
    pub end_ms: Option<u64>,
    /// The 1-in-N sampling rate applied to the record (≥ 1).
    pub sampling_rate: u64,
}

impl RecordCounts {
    /// Frames (packets) the record stands for: its packet count × the sampling rate
    /// (saturating).
    #[must_use]
    pub fn frames(&self) -> Option<u64> {
        self.packets.map(|n| n.saturating_mul(self.sampling_rate))
    }

    /// Bytes the record stands for: its octet count × the sampling rate (saturating).
    #[must_use]
    pub fn bytes(&self) -> Option<u64> {
        self.octets.map(|n| n.saturating_mul(self.sampling_rate))
    }
}

/// Records that carry a sampled frame instead of flow fields (IE 315 `dataLinkFrameSection`,
/// RFC 7133, or IE 104 `layer2FrameSection`; PSAMP-style exports) get the frame's keys from the
/// same walker as sFlow's sampled headers, at the same depths (`ipsource`, `ipsource.1` inside
/// a tunnel, `stack`, ...). Such a record stands for one sampled frame: `frames` is the sampling
/// rate and `bytes` is `dataLinkFrameSize` (IE 312) × the rate when the record carries it.
fn frame_keys(
    record: &NetflowRecord<'_, '_>,
    s: &Summary<'_>,
    v: &mut Masked<'_, impl KeyVisitor>,
) {
    let Some(frame) = netflow::frame_section(&record.data) else {
        return;
    };
    if v.wants_any(KeyMask::PACKET) {
        packet::with_walk(LinkType::Ethernet, frame, &WalkConfig::default(), |w| {
            w.visit_keys_masked(v)
        });
    }
    if s.counts().packets.is_none() {
        v.emit(KeyId::FRAMES, 0, Value::U64(s.rate));
        let size = record
            .data
            .fields()
            .find(|(f, _)| f.enterprise == 0 && f.id == 312)
            .and_then(|(_, b)| uint(b));
        if let Some(size) = size {
            v.emit(KeyId::BYTES, 0, Value::U64(size.saturating_mul(s.rate)));
        }
    }
}

/// Everything the keys need, gathered in one pass over the fields.
#[derive(Default)]
pub(crate) struct Summary<'a> {
    src4: Option<Ipv4Addr>,
    dst4: Option<Ipv4Addr>,
    src6: Option<Ipv6Addr>,
    dst6: Option<Ipv6Addr>,
    proto: Option<u64>,
    sport: Option<u64>,
    dport: Option<u64>,
    tcpflags: Option<u64>,
    tos: Option<u64>,
    icmp4: Option<(u64, u64)>,
    icmp6: Option<(u64, u64)>,
    icmp_type4: Option<u64>,
    icmp_code4: Option<u64>,
    icmp_type6: Option<u64>,
    icmp_code6: Option<u64>,
    in_if: Option<u64>,
    out_if: Option<u64>,
    vlan: Option<u64>,
    dot1q_vlan: Option<u64>,
    mac_src: Option<[u8; 6]>,
    mac_dst: Option<[u8; 6]>,
    nexthop: Option<IpAddr>,
    bgp_nexthop: Option<IpAddr>,
    src_as: Option<u64>,
    dst_as: Option<u64>,
    src_mask: Option<u64>,
    dst_mask: Option<u64>,
    segment_vni: Option<u64>,
    octets_delta: Option<u64>,
    octets_total: Option<u64>,
    packets_delta: Option<u64>,
    packets_total: Option<u64>,
    pub(crate) start_ms: Option<u64>,
    pub(crate) end_ms: Option<u64>,
    rate: u64,
    // Open vSwitch tunnel elements (PEN 6876).
    tun_type: Option<u64>,
    tun_key: Option<u64>,
    tun_src: Option<IpAddr>,
    tun_dst: Option<IpAddr>,
    tun_proto: Option<u64>,
    tun_sport: Option<u64>,
    tun_dport: Option<u64>,
    _p: core::marker::PhantomData<&'a ()>,
}

fn ip4(b: &[u8]) -> Option<Ipv4Addr> {
    <[u8; 4]>::try_from(b).ok().map(Ipv4Addr::from)
}

fn ip6(b: &[u8]) -> Option<Ipv6Addr> {
    <[u8; 16]>::try_from(b).ok().map(Ipv6Addr::from)
}

fn ip(b: &[u8]) -> Option<IpAddr> {
    ip4(b).map(IpAddr::V4).or_else(|| ip6(b).map(IpAddr::V6))
}

/// Is the IANA element `id` consumed by a normalised key (or deliberately silent)?
const fn consumed(id: u16) -> bool {
    matches!(
        id,
        1 | 2
            | 4..=18
            | 21
            | 22
            | 27..=30
            | 32
            | 34
            | 48
            | 50
            | 56
            | 58
            | 62
            | 63
            | 80
            | 85
            | 86
            | 139
            | 150..=160
            | 176..=179
            | 210
            | 243
            | 302
            | 305
            | 306
            | 309
            | 310
            | 351
    )
}

impl<'a> Summary<'a> {
    pub(crate) fn of(r: &NetflowRecord<'_, 'a>) -> Summary<'a> {
        let mut s = Summary::default();
        s.fill(r);
        s
    }

    /// Gathers the record's values into a default (empty) summary, in place (it is large).
    fn fill(&mut self, r: &NetflowRecord<'_, 'a>) {
        let s = self;
        s.rate = u64::from(r.sampling_rate.max(1));
        let v9 = r.protocol == Protocol::NetflowV9;
        let clock = r.clock;
        let mut t = Times {
            init_ms: clock.system_init_ms,
            rel: (None, None),
            delta: (None, None),
        };
        let bytes = r.data.bytes();
        match r.plan.and_then(|p| p.fixed.as_ref()) {
            Some(fx) if fx.len == bytes.len() => {
                for &(start, end, role) in &fx.slots {
                    if let Some(b) = bytes.get(usize::from(start)..usize::from(end)) {
                        s.take(role, b, &mut t);
                    }
                }
            }
            _ => {
                for (f, b) in r.data.fields() {
                    s.take(role(&f, v9), b, &mut t);
                }
            }
        }
        let Times {
            init_ms,
            rel,
            delta,
        } = t;
        let clock = crate::record::ExportClock {
            system_init_ms: init_ms,
            ..clock
        };
        let from_rel = |v: Option<u64>| {
            v.and_then(|v| u32::try_from(v).ok())
                .and_then(|v| clock.uptime_to_unix_ms(v))
        };
        let from_delta = |d: Option<u64>| d.and_then(|d| clock.export_ms().checked_sub(d / 1000));
        s.start_ms = s
            .start_ms
            .or_else(|| from_delta(delta.0))
            .or_else(|| from_rel(rel.0));
        s.end_ms = s
            .end_ms
            .or_else(|| from_delta(delta.1))
            .or_else(|| from_rel(rel.1));
    }

    /// Stores the value `b` of a field with role `role`. Always inlined: called once per
    /// field of every record, a call cost about a third of the field's work.
    #[inline(always)]
    fn take(&mut self, role: Role, b: &[u8], t: &mut Times) {
        use Role as R;
        let s = self;
        let n = || uint(b);
        match role {
            R::Skip => {}
            R::TunType => s.tun_type = n(),
            R::TunKey => s.tun_key = n(),
            R::TunSrc => s.tun_src = ip(b),
            R::TunDst => s.tun_dst = ip(b),
            R::TunProto => s.tun_proto = n(),
            R::TunSport => s.tun_sport = n(),
            R::TunDport => s.tun_dport = n(),
            R::Src4 => s.src4 = ip4(b),
            R::Dst4 => s.dst4 = ip4(b),
            R::Src6 => s.src6 = ip6(b),
            R::Dst6 => s.dst6 = ip6(b),
            R::Proto => s.proto = n(),
            R::Sport => s.sport = n(),
            R::Dport => s.dport = n(),
            R::TcpFlags => s.tcpflags = n(),
            R::Tos => s.tos = n(),
            R::Icmp4 => s.icmp4 = n().map(|v| (v >> 8 & 0xff, v & 0xff)),
            R::Icmp6 => s.icmp6 = n().map(|v| (v >> 8 & 0xff, v & 0xff)),
            R::IcmpType4 => s.icmp_type4 = n(),
            R::IcmpCode4 => s.icmp_code4 = n(),
            R::IcmpType6 => s.icmp_type6 = n(),
            R::IcmpCode6 => s.icmp_code6 = n(),
            R::InIf => s.in_if = n(),
            R::OutIf => s.out_if = n(),
            R::Vlan => s.vlan = n(),
            R::Dot1qVlan => s.dot1q_vlan = n(),
            R::MacSrc => s.mac_src = b.try_into().ok(),
            R::MacDst => s.mac_dst = b.try_into().ok(),
            R::Nexthop => s.nexthop = ip(b).or(s.nexthop),
            R::BgpNexthop => s.bgp_nexthop = ip(b).or(s.bgp_nexthop),
            R::SrcAs => s.src_as = n(),
            R::DstAs => s.dst_as = n(),
            R::SrcMask => s.src_mask = n(),
            R::DstMask => s.dst_mask = n(),
            R::SegmentVni => {
                s.segment_vni = n().filter(|v| v >> 56 == 1).map(|v| v & 0xff_ffff);
            }
            R::OctetsDelta => s.octets_delta = n(),
            R::OctetsTotal => s.octets_total = n(),
            R::PacketsDelta => s.packets_delta = n(),
            R::PacketsTotal => s.packets_total = n(),
            R::Start(dt) => s.start_ms = time_ms_of(dt, b),
            R::End(dt) => s.end_ms = time_ms_of(dt, b),
            R::DeltaStart => t.delta.0 = n(),
            R::DeltaEnd => t.delta.1 = n(),
            R::InitMs => t.init_ms = n(),
            R::RelStart => t.rel.0 = n(),
            R::RelEnd => t.rel.1 = n(),
        }
    }

    /// The record's counts as exported, with its sampling rate.
    pub(crate) fn counts(&self) -> RecordCounts {
        RecordCounts {
            packets: self.packets_delta.or(self.packets_total),
            octets: self.octets_delta.or(self.octets_total),
            start_ms: self.start_ms,
            end_ms: self.end_ms,
            sampling_rate: self.rate,
        }
    }

    fn tunnelled(&self) -> bool {
        self.tun_src.is_some() || self.tun_dst.is_some() || self.tun_type.is_some_and(|t| t != 0)
    }

    fn emit(&self, r: &NetflowRecord<'_, '_>, v: &mut Masked<'_, impl KeyVisitor>) {
        let u = Value::U64;
        let d = if self.tunnelled() {
            self.emit_tunnel(v);
            1
        } else {
            0
        };
        if let Some(m) = self.mac_src {
            v.emit(KeyId::MACSOURCE, d, Value::Mac(m));
        }
        if let Some(m) = self.mac_dst {
            v.emit(KeyId::MACDESTINATION, d, Value::Mac(m));
        }
        if let Some(x) = self.vlan.or(self.dot1q_vlan) {
            v.emit(KeyId::VLAN, d, u(x));
        }
        if let Some(a) = self.src4 {
            v.emit(KeyId::IPSOURCE, d, Value::Ip(a.into()));
        }
        if let Some(a) = self.dst4 {
            v.emit(KeyId::IPDESTINATION, d, Value::Ip(a.into()));
        }
        if let Some(a) = self.src6 {
            v.emit(KeyId::IP6SOURCE, d, Value::Ip(a.into()));
        }
        if let Some(a) = self.dst6 {
            v.emit(KeyId::IP6DESTINATION, d, Value::Ip(a.into()));
        }
        let v6 = (self.src6.is_some() || self.dst6.is_some()) && self.src4.is_none();
        if let Some(p) = self.proto {
            // IPv6 flows name their upper-layer protocol as the packet walker does.
            v.emit(
                if v6 {
                    KeyId::IP6NEXTHDR
                } else {
                    KeyId::IPPROTOCOL
                },
                d,
                u(p),
            );
        }
        if let Some(t) = self.tos {
            let (tos, dscp, ecn) = if v6 {
                (KeyId::IP6TOS, KeyId::IP6DSCP, KeyId::IP6ECN)
            } else {
                (KeyId::IPTOS, KeyId::IPDSCP, KeyId::IPECN)
            };
            v.emit(tos, d, u(t));
            v.emit(dscp, d, u(t >> 2 & 0x3f));
            v.emit(ecn, d, u(t & 3));
        }
        let ports = match self.proto {
            Some(6) => Some((KeyId::TCPSOURCEPORT, KeyId::TCPDESTINATIONPORT)),
            Some(17) => Some((KeyId::UDPSOURCEPORT, KeyId::UDPDESTINATIONPORT)),
            _ => None,
        };
        if let Some((sp, dp)) = ports {
            if let Some(p) = self.sport {
                v.emit(sp, d, u(p));
            }
            if let Some(p) = self.dport {
                v.emit(dp, d, u(p));
            }
        }
        if self.proto == Some(6) {
            if let Some(fl) = self.tcpflags {
                let bits = TcpFlagBits((fl & 0x1ff) as u16);
                v.emit(KeyId::TCPFLAGS, d, Value::Display(&bits));
            }
        }
        // ICMP: explicit elements first, else the NetFlow convention (type << 8 | code in the
        // destination port). Only for ICMP flows (or when the protocol is not reported):
        // exporters share one template between protocols and send icmpTypeCode 0 in TCP and
        // UDP records, which is no ICMP type.
        let from_port = |p: u8| {
            (self.proto == Some(p.into()))
                .then_some(self.dport)
                .flatten()
                .map(|x| (x >> 8 & 0xff, x & 0xff))
        };
        let carries = |p: u64| self.proto.is_none_or(|x| x == p);
        let icmp4 = self
            .icmp4
            .or(self.icmp_type4.map(|t| (t, self.icmp_code4.unwrap_or(0))))
            .filter(|_| carries(1))
            .or_else(|| from_port(1));
        if let Some((t, c)) = icmp4 {
            v.emit(KeyId::ICMPTYPE, d, u(t));
            v.emit(KeyId::ICMPCODE, d, u(c));
        }
        let icmp6 = self
            .icmp6
            .or(self.icmp_type6.map(|t| (t, self.icmp_code6.unwrap_or(0))))
            .filter(|_| carries(58))
            .or_else(|| from_port(58));
        if let Some((t, c)) = icmp6 {
            v.emit(KeyId::ICMP6TYPE, d, u(t));
            v.emit(KeyId::ICMP6CODE, d, u(c));
        }
        if let Some(x) = self.in_if {
            v.emit(KeyId::INPUTIFINDEX, 0, u(x));
        }
        if let Some(x) = self.out_if {
            v.emit(KeyId::OUTPUTIFINDEX, 0, u(x));
        }
        if let Some(a) = self.nexthop {
            v.emit(KeyId::IPNEXTHOPROUTER, 0, Value::Ip(a));
        }
        if let Some(a) = self.bgp_nexthop {
            v.emit(KeyId::BGPNEXTHOP, 0, Value::Ip(a));
        }
        if let Some(x) = self.src_as {
            v.emit(KeyId::BGPSOURCEAS, 0, u(x));
        }
        if let Some(x) = self.dst_as {
            v.emit(KeyId::BGPDESTINATIONAS, 0, u(x));
        }
        if let Some(x) = self.src_mask {
            v.emit(KeyId::IPSOURCEMASKBITS, 0, u(x));
        }
        if let Some(x) = self.dst_mask {
            v.emit(KeyId::IPDESTINATIONMASKBITS, 0, u(x));
        }
        if let Some(x) = self.segment_vni {
            v.emit(KeyId::VXLANVNI, 0, u(x));
        }
        let counts = self.counts();
        if let Some(x) = counts.bytes() {
            v.emit(KeyId::BYTES, 0, u(x));
        }
        if let Some(x) = counts.frames() {
            v.emit(KeyId::FRAMES, 0, u(x));
        }
        v.emit(KeyId::SAMPLINGRATE, 0, u(self.rate));
        if let Some(x) = self.start_ms {
            v.emit(KeyId::FLOWSTART_MS, 0, u(x));
        }
        if let Some(x) = self.end_ms {
            v.emit(KeyId::FLOWEND_MS, 0, u(x));
        }
        if !v.wants(KeyId::IPFIX) {
            return;
        }
        let tunnelled = self.tunnelled();
        let mut put = |x: Extra, b: &[u8]| {
            if !(x.ovs_tunnel && tunnelled) {
                v.emit_ipfix(x.ie.key, 0, ie::value(x.ie.data_type, b));
            }
        };
        let bytes = r.data.bytes();
        match r.plan.and_then(|p| p.fixed.as_ref()) {
            Some(fx) if fx.len == bytes.len() => {
                for &(start, end, x) in &fx.extras {
                    if let Some(b) = bytes.get(usize::from(start)..usize::from(end)) {
                        put(x, b);
                    }
                }
            }
            _ => {
                let v9 = r.protocol == Protocol::NetflowV9;
                for (f, b) in r.data.fields() {
                    if let Some(x) = extra(&f, v9) {
                        put(x, b);
                    }
                }
            }
        }
    }

    fn emit_tunnel(&self, v: &mut Masked<'_, impl KeyVisitor>) {
        let u = Value::U64;
        for (a, v4, v6) in [
            (self.tun_src, KeyId::IPSOURCE, KeyId::IP6SOURCE),
            (self.tun_dst, KeyId::IPDESTINATION, KeyId::IP6DESTINATION),
        ] {
            match a {
                Some(IpAddr::V4(x)) => v.emit(v4, 0, Value::Ip(x.into())),
                Some(IpAddr::V6(x)) => v.emit(v6, 0, Value::Ip(x.into())),
                None => {}
            }
        }
        if let Some(p) = self.tun_proto {
            v.emit(KeyId::IPPROTOCOL, 0, u(p));
            if p == 17 {
                if let Some(x) = self.tun_sport {
                    v.emit(KeyId::UDPSOURCEPORT, 0, u(x));
                }
                if let Some(x) = self.tun_dport {
                    v.emit(KeyId::UDPDESTINATIONPORT, 0, u(x));
                }
            }
        }
        // Open vSwitch tunnel types: 1 VXLAN, 2 GRE, 3 LISP, 4 STT, 7 Geneve.
        if let Some(k) = self.tun_key {
            match self.tun_type {
                Some(1) => v.emit(KeyId::VXLANVNI, 0, u(k & 0xff_ffff)),
                Some(2) => v.emit(KeyId::GREKEY, 0, u(k)),
                Some(4) => v.emit(KeyId::STTCONTEXTID, 0, u(k)),
                Some(7) => v.emit(KeyId::GENEVEVNI, 0, u(k & 0xff_ffff)),
                _ => {}
            }
        }
    }
}

/// Renders keys as `name[.depth]=value` lines; handy in tests and examples.
#[derive(Debug, Default)]
pub struct KeyText(pub String);

impl KeyVisitor for KeyText {
    fn key(&mut self, name: &'static str, depth: u8, value: Value<'_>) {
        use fmt::Write;
        if depth == 0 {
            let _ = writeln!(self.0, "{name}={value}");
        } else {
            let _ = writeln!(self.0, "{name}.{depth}={value}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_names_and_times_come_from_the_registry() {
        assert_eq!(ipfix_key_name(0, 136), Some("ipfix:flowEndReason"));
        assert_eq!(
            ipfix_key_name(0, 278),
            Some("ipfix:newConnectionDeltaCount")
        );
        assert_eq!(ipfix_key_name(6876, 891), Some("ipfix:vmware:tunnelType"));
        assert_eq!(
            ipfix_key_name(29305, 1),
            Some("ipfix:reverseOctetDeltaCount")
        );
        assert_eq!(ipfix_key_name(9, 1), None);
        // flowStartSeconds (reduced size), flowEndMilliseconds, flowStartNanoseconds (NTP).
        assert_eq!(time_ms(150, &[0, 1]), Some(1000));
        assert_eq!(time_ms(153, &[0, 0, 0, 0, 0, 0, 4, 0]), Some(1024));
        let ntp_1970_plus_1s = (2_208_988_801u64 << 32).to_be_bytes();
        assert_eq!(time_ms(156, &ntp_1970_plus_1s), Some(1000));
    }

    #[test]
    fn plans_are_small() {
        assert!(core::mem::size_of::<(u16, u16, Role)>() <= 8);
        assert!(core::mem::size_of::<(u16, u16, Extra)>() <= 24);
    }
}
