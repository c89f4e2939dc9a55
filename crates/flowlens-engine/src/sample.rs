//! Keys of an sFlow sample that come from the sample and its records rather than from the
//! sampled packet header, and the facts the engine needs to weigh the sample.
//!
//! The sampled header itself is walked by the wire crate's packet walker
//! ([`flowlens_wire::packet`]), whose keys are documented in `docs/flow-keys.md`. This module
//! adds, in sFlow-RT naming:
//!
//! | key | source (sFlow v5 structure, enterprise 0) | value |
//! |---|---|---|
//! | `agent` | datagram `agent_address` | agent IP address |
//! | `datasource` | sample `source_id` | *flowlens*: the data source as sFlow-RT names it (`3` = ifIndex 3, `2.1`) |
//! | `inputifindex`, `outputifindex` | flow sample `input` / `output` (format 1, 3); discarded packet (5) | ifIndex; `internal` (0x3FFFFFFF), `unknown` (0), `discard` (format 1), `multiple` (format 2) |
//! | `direction` | `source_id` against `input`/`output` | `ingress` when the data source is the input interface, `egress` when it is the output; `ingress` when the data source is not an interface (class ≠ 0, e.g. Open vSwitch's bridge `2.1000`) and the input port is known — *inferred*: such agents sample on entry, and sFlow-RT's OVS DDoS example filters on `direction=ingress` |
//! | `samplingrate` | flow sample `sampling_rate` | *flowlens*: the 1-in-N rate |
//! | `bytes` | `sampled_header` (1) `frame_length`, else `sampled_ethernet` (2) / `sampled_ipv4` (3) / `sampled_ipv6` (4) `length` | frame length, bytes |
//! | `stripped` | `sampled_header` (1) `stripped` | bytes removed before sampling |
//! | `macsource`, `macdestination`, `ethernetprotocol` | `sampled_ethernet` (2) | MAC, MAC, EtherType |
//! | `ipsource`, `ipdestination`, `ipprotocol`, `iptos`, ports, `tcpflags` | `sampled_ipv4` (3) | as the packet keys |
//! | `ip6source`, `ip6destination`, `ip6nexthdr`, `ip6tos`, ports, `tcpflags` | `sampled_ipv6` (4) | as the packet keys |
//! | `vlansource`, `vlandestination`, `prioritysource`, `prioritydestination` | `extended_switch` (1001) | 802.1Q VID / PCP in and out |
//! | `ipnexthoprouter`, `ipsourcemaskbits`, `ipdestinationmaskbits` | `extended_router` (1002) | next hop, prefix lengths |
//! | `bgpnexthop`, `bgpas`, `bgpsourceas`, `bgpsourcepeeras`, `bgpdestinationpeeras`, `bgpdestinationas`, `bgpdestinationaspath`, `bgpcommunities`, `bgplocalpref` | `extended_gateway` (1003) | next hop; router AS; source AS, source peer AS; first and last AS of the destination path; the path and communities dash-separated; local preference |
//! | `vni` | `extended_vni_ingress` (1030), else `extended_vni_egress` (1029) | VXLAN/NVGRE/Geneve VNI the agent reports |
//! | `reason` | `discarded_packet` (5) `reason` | sFlow drop reason name (`acl`, `ttl_exceeded`, …; the number when unnamed) |
//! | `queueindex`, `transitdelay`, `queuedepth` | `extended_egress_queue` (1036), `extended_transit` (1039), `extended_queue` (1040) | queue number, ns, bytes |
//!
//! Packet keys from the sampled header take precedence over the same keys from
//! `sampled_ipv4`/`sampled_ethernet` records (the first value of a key wins, and the header is
//! walked first).

use core::fmt;
use core::hash::{Hash, Hasher};
use std::net::IpAddr;

use flowlens_wire::packet::keys::TcpFlagBits;
use flowlens_wire::packet::{self, LinkType, WalkConfig};
use flowlens_wire::sflow::{DiscardSample, FlowData, FlowSample, Interface};
use flowlens_wire::{KeyId, KeyMask, KeyVisitor, Masked, Value};

/// A data source: the agent and the sFlow `source_id` (class in the top 8 bits, index in the
/// low 24), or [`DataSource::AGENT`] for flows aggregated over a whole agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct DataSource {
    /// The agent (sFlow `agent_address`, NetFlow/IPFIX exporter).
    pub agent: IpAddr,
    /// `source_id_type << 24 | source_id_index`.
    pub id: u32,
}

/// Hashed as one or two integers (the derived `Hash` fed the address's discriminant, length
/// and bytes separately): every sample looks its data source up in each definition's tables.
impl Hash for DataSource {
    #[inline]
    fn hash<H: Hasher>(&self, h: &mut H) {
        match self.agent {
            IpAddr::V4(a) => h.write_u64(u64::from(a.to_bits()) << 32 | u64::from(self.id)),
            IpAddr::V6(a) => {
                h.write_u128(a.to_bits());
                h.write_u32(self.id);
            }
        }
    }
}

impl DataSource {
    /// The `id` of the whole-agent data source (`aggMode:'agent'` flows).
    pub const AGENT: u32 = u32::MAX;

    /// The data source of class `class`, index `index` (index truncated to 24 bits).
    pub const fn new(agent: IpAddr, class: u32, index: u32) -> Self {
        DataSource {
            agent,
            id: (class & 0xff) << 24 | (index & 0x00ff_ffff),
        }
    }

    /// The data source's name as sFlow-RT prints it: the ifIndex for class 0 (`"3"`),
    /// `"<class>.<index>"` otherwise (`"2.1"`), `"agent"` for [`DataSource::AGENT`].
    pub fn name(&self) -> DataSourceId {
        DataSourceId(self.id)
    }
}

/// A data source id as sFlow-RT names it: the sFlow `source_id` (`source_id_type` in the top
/// 8 bits, `source_id_index` in the low 24; sFlow v5 spec, `sflow_data_source`), written
/// `"3"` for class 0 (an ifIndex), `"<class>.<index>"` otherwise (`"2.1"`), and `"agent"` for
/// the whole-agent data source of `aggMode:'agent'` flows ([`DataSource::AGENT`]).
///
/// The one parser and printer of data-source names: REST paths and query parameters,
/// scripts' arguments, counter stores and events all go through it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DataSourceId(pub u32);

impl DataSourceId {
    /// The whole-agent data source (`"agent"`).
    pub const AGENT: DataSourceId = DataSourceId(DataSource::AGENT);

    /// The id of class `class` (8 bits), index `index` (24 bits; higher bits dropped).
    #[must_use]
    pub const fn new(class: u32, index: u32) -> DataSourceId {
        DataSourceId((class & 0xff) << 24 | (index & 0x00ff_ffff))
    }

    /// `(source_id_type, source_id_index)`.
    #[must_use]
    pub const fn class_index(self) -> (u32, u32) {
        (self.0 >> 24, self.0 & 0x00ff_ffff)
    }
}

impl fmt::Display for DataSourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.class_index() {
            _ if *self == DataSourceId::AGENT => f.write_str("agent"),
            (0, i) => write!(f, "{i}"),
            (c, i) => write!(f, "{c}.{i}"),
        }
    }
}

/// Why a data-source name did not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataSourceIdError(String);

impl fmt::Display for DataSourceIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "bad data source `{}` (expected an ifIndex, <class>.<index> or agent)",
            self.0
        )
    }
}

impl std::error::Error for DataSourceIdError {}

impl core::str::FromStr for DataSourceId {
    type Err = DataSourceIdError;

    /// `"3"`, `"2.1"` or `"agent"`; the class must fit 8 bits and the index 24.
    fn from_str(name: &str) -> Result<DataSourceId, DataSourceIdError> {
        let bad = || DataSourceIdError(name.to_string());
        if name == "agent" {
            return Ok(DataSourceId::AGENT);
        }
        let (class, index) = match name.split_once('.') {
            None => (0, name.parse::<u32>().map_err(|_| bad())?),
            Some((c, i)) => (
                c.parse::<u32>().map_err(|_| bad())?,
                i.parse::<u32>().map_err(|_| bad())?,
            ),
        };
        if class > 0xff || index > 0x00ff_ffff {
            return Err(bad());
        }
        Ok(DataSourceId::new(class, index))
    }
}

/// What a sample stands for, for scaling and error estimates.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Weight {
    /// 1-in-N sampling rate (≥ 1).
    pub rate: u32,
    /// Packets the observation counts before scaling (1 for a packet sample; `packetDeltaCount`
    /// for a NetFlow/IPFIX record).
    pub frames: f64,
    /// Bytes the observation counts before scaling (frame length; `octetDeltaCount`).
    pub bytes: f64,
}

fn iface(v: Interface) -> Value<'static> {
    match v {
        Interface::Index(i) => Value::U64(u64::from(i)),
        Interface::Discard { .. } => Value::Name("discard"),
        Interface::Multiple { .. } => Value::Name("multiple"),
        Interface::Internal => Value::Name("internal"),
        Interface::Unknown => Value::Name("unknown"),
        Interface::Reserved { .. } => Value::Name("unknown"),
    }
}

/// Visits a flow sample's keys (sample fields, its records, and the walked sampled header) and
/// returns its weight. `agent` is the datagram's agent address.
pub fn visit_flow_sample(
    agent: IpAddr,
    s: &FlowSample<'_>,
    cfg: &WalkConfig,
    v: &mut impl KeyVisitor,
) -> Weight {
    let v = &mut Masked::new(v);
    v.emit(KeyId::AGENT, 0, Value::Ip(agent));
    let ds = DataSource::new(agent, s.source_id_type(), s.source_id_index()).name();
    v.emit(KeyId::DATASOURCE, 0, Value::Display(&ds));
    let (input, output) = (s.input(), s.output());
    v.emit(KeyId::INPUTIFINDEX, 0, iface(input));
    v.emit(KeyId::OUTPUTIFINDEX, 0, iface(output));
    if s.source_id_type() == 0 {
        let ds = s.source_id_index();
        if input == Interface::Index(ds) {
            v.emit(KeyId::DIRECTION, 0, Value::Name("ingress"));
        } else if output == Interface::Index(ds) {
            v.emit(KeyId::DIRECTION, 0, Value::Name("egress"));
        }
    } else if matches!(input, Interface::Index(_)) {
        // A data source that is not an interface (Open vSwitch reports its bridge as
        // entPhysicalEntry 2.<n>) samples packets as they enter it, from a known port.
        v.emit(KeyId::DIRECTION, 0, Value::Name("ingress"));
    }
    v.emit(
        KeyId::SAMPLINGRATE,
        0,
        Value::U64(u64::from(s.sampling_rate())),
    );
    let bytes = visit_records(s.records(), cfg, v);
    Weight {
        rate: s.sampling_rate().max(1),
        frames: 1.0,
        bytes: bytes.unwrap_or(0) as f64,
    }
}

/// Visits a dropped-packet notification's keys (`reason`, interfaces, records) and returns its
/// weight (rate 1: every drop notification stands for itself).
pub fn visit_discard_sample(
    agent: IpAddr,
    s: &DiscardSample<'_>,
    cfg: &WalkConfig,
    v: &mut impl KeyVisitor,
) -> Weight {
    let v = &mut Masked::new(v);
    v.emit(KeyId::AGENT, 0, Value::Ip(agent));
    let ds = DataSource::new(agent, s.source_id_type(), s.source_id_index()).name();
    v.emit(KeyId::DATASOURCE, 0, Value::Display(&ds));
    let ifv = |i: u32| {
        if i == 0 {
            Value::Name("unknown")
        } else {
            Value::U64(u64::from(i))
        }
    };
    v.emit(KeyId::INPUTIFINDEX, 0, ifv(s.input()));
    v.emit(KeyId::OUTPUTIFINDEX, 0, ifv(s.output()));
    match s.reason_name() {
        Some(n) => v.emit(KeyId::REASON, 0, Value::Name(n)),
        None => v.emit(KeyId::REASON, 0, Value::U64(u64::from(s.reason()))),
    }
    let bytes = visit_records(s.records(), cfg, v);
    Weight {
        rate: 1,
        frames: 1.0,
        bytes: bytes.unwrap_or(0) as f64,
    }
}

/// Visits flow records; returns the frame length when a record gives one.
fn visit_records(
    records: flowlens_wire::sflow::FlowRecords<'_>,
    cfg: &WalkConfig,
    v: &mut Masked<'_, impl KeyVisitor>,
) -> Option<u64> {
    let mut bytes = None;
    // Malformed records end the list (the decoder already counted them); keys before it stand.
    for r in records.map_while(Result::ok) {
        match r.data {
            FlowData::SampledHeader(h) => {
                let len = u64::from(h.frame_length());
                bytes.get_or_insert(len);
                v.emit(KeyId::BYTES, 0, Value::U64(len));
                v.emit(KeyId::STRIPPED, 0, Value::U64(u64::from(h.stripped())));
                let link = LinkType::from_sflow_header_protocol(h.header_protocol());
                if let Some(link) = link.filter(|_| v.wants_any(KeyMask::PACKET)) {
                    packet::with_walk(link, h.header(), cfg, |w| w.visit_keys_masked(v));
                }
            }
            FlowData::SampledEthernet(e) => {
                let len = u64::from(e.length());
                bytes.get_or_insert(len);
                v.emit(KeyId::BYTES, 0, Value::U64(len));
                v.emit(KeyId::MACSOURCE, 0, Value::Mac(e.src_mac()));
                v.emit(KeyId::MACDESTINATION, 0, Value::Mac(e.dst_mac()));
                v.emit(
                    KeyId::ETHERNETPROTOCOL,
                    0,
                    Value::U64(u64::from(e.eth_type())),
                );
            }
            FlowData::SampledIpv4(p) => {
                let len = u64::from(p.length());
                bytes.get_or_insert(len);
                v.emit(KeyId::BYTES, 0, Value::U64(len));
                v.emit(KeyId::IPSOURCE, 0, Value::Ip(p.src_ip().into()));
                v.emit(KeyId::IPDESTINATION, 0, Value::Ip(p.dst_ip().into()));
                v.emit(KeyId::IPPROTOCOL, 0, Value::U64(u64::from(p.protocol())));
                v.emit(KeyId::IPTOS, 0, Value::U64(u64::from(p.tos())));
                ports(v, p.protocol(), p.src_port(), p.dst_port(), p.tcp_flags());
            }
            FlowData::SampledIpv6(p) => {
                let len = u64::from(p.length());
                bytes.get_or_insert(len);
                v.emit(KeyId::BYTES, 0, Value::U64(len));
                v.emit(KeyId::IP6SOURCE, 0, Value::Ip(p.src_ip().into()));
                v.emit(KeyId::IP6DESTINATION, 0, Value::Ip(p.dst_ip().into()));
                v.emit(KeyId::IP6NEXTHDR, 0, Value::U64(u64::from(p.protocol())));
                v.emit(KeyId::IP6TOS, 0, Value::U64(u64::from(p.priority())));
                ports(v, p.protocol(), p.src_port(), p.dst_port(), p.tcp_flags());
            }
            FlowData::ExtendedSwitch(x) => {
                v.emit(KeyId::VLANSOURCE, 0, Value::U64(u64::from(x.src_vlan())));
                v.emit(
                    KeyId::PRIORITYSOURCE,
                    0,
                    Value::U64(u64::from(x.src_priority())),
                );
                v.emit(
                    KeyId::VLANDESTINATION,
                    0,
                    Value::U64(u64::from(x.dst_vlan())),
                );
                v.emit(
                    KeyId::PRIORITYDESTINATION,
                    0,
                    Value::U64(u64::from(x.dst_priority())),
                );
            }
            FlowData::ExtendedRouter(x) => {
                if let Some(a) = x.nexthop() {
                    v.emit(KeyId::IPNEXTHOPROUTER, 0, Value::Ip(a));
                }
                v.emit(
                    KeyId::IPSOURCEMASKBITS,
                    0,
                    Value::U64(u64::from(x.src_mask_len())),
                );
                v.emit(
                    KeyId::IPDESTINATIONMASKBITS,
                    0,
                    Value::U64(u64::from(x.dst_mask_len())),
                );
            }
            FlowData::ExtendedGateway(g) => gateway(&g, v),
            FlowData::ExtendedVniIngress(x) | FlowData::ExtendedVniEgress(x) => {
                v.emit(KeyId::VNI, 0, Value::U64(u64::from(x.vni())));
            }
            FlowData::ExtendedEgressQueue(x) => {
                v.emit(KeyId::QUEUEINDEX, 0, Value::U64(u64::from(x.queue())));
            }
            FlowData::ExtendedTransit(x) => {
                v.emit(KeyId::TRANSITDELAY, 0, Value::U64(u64::from(x.delay())));
            }
            FlowData::ExtendedQueue(x) => {
                v.emit(KeyId::QUEUEDEPTH, 0, Value::U64(u64::from(x.depth())));
            }
            _ => {}
        }
    }
    bytes
}

fn ports(v: &mut Masked<'_, impl KeyVisitor>, proto: u32, sp: u32, dp: u32, flags: u32) {
    match proto {
        6 => {
            v.emit(KeyId::TCPSOURCEPORT, 0, Value::U64(u64::from(sp)));
            v.emit(KeyId::TCPDESTINATIONPORT, 0, Value::U64(u64::from(dp)));
            v.emit(
                KeyId::TCPFLAGS,
                0,
                Value::Display(&TcpFlagBits((flags & 0x1ff) as u16)),
            );
        }
        17 => {
            v.emit(KeyId::UDPSOURCEPORT, 0, Value::U64(u64::from(sp)));
            v.emit(KeyId::UDPDESTINATIONPORT, 0, Value::U64(u64::from(dp)));
        }
        _ => {}
    }
}

/// Dash-separated u32 list (AS path, communities), from a function making the iterator.
struct Dashed<F>(F);

impl<F: Fn() -> I, I: Iterator<Item = u32>> fmt::Display for Dashed<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, n) in (self.0)().enumerate() {
            if i > 0 {
                f.write_str("-")?;
            }
            write!(f, "{n}")?;
        }
        Ok(())
    }
}

fn gateway(g: &flowlens_wire::sflow::ExtendedGateway<'_>, v: &mut Masked<'_, impl KeyVisitor>) {
    if let Some(a) = g.nexthop() {
        v.emit(KeyId::BGPNEXTHOP, 0, Value::Ip(a));
    }
    v.emit(KeyId::BGPAS, 0, Value::U64(u64::from(g.as_number())));
    v.emit(KeyId::BGPSOURCEAS, 0, Value::U64(u64::from(g.src_as())));
    v.emit(
        KeyId::BGPSOURCEPEERAS,
        0,
        Value::U64(u64::from(g.src_peer_as())),
    );
    let path = || g.dst_as_path().flat_map(|s| s.asns());
    if let Some(first) = path().next() {
        v.emit(KeyId::BGPDESTINATIONPEERAS, 0, Value::U64(u64::from(first)));
    }
    if let Some(last) = path().last() {
        v.emit(KeyId::BGPDESTINATIONAS, 0, Value::U64(u64::from(last)));
    }
    v.emit(
        KeyId::BGPDESTINATIONASPATH,
        0,
        Value::Display(&Dashed(path)),
    );
    let comms = || {
        g.communities()
            .chunks_exact(4)
            .map(|c| c.try_into().map_or(0, u32::from_be_bytes))
    };
    v.emit(KeyId::BGPCOMMUNITIES, 0, Value::Display(&Dashed(comms)));
    v.emit(KeyId::BGPLOCALPREF, 0, Value::U64(u64::from(g.localpref())));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_source_names_round_trip() {
        let a = IpAddr::from([10, 0, 0, 1]);
        assert_eq!(DataSource::new(a, 0, 3).name().to_string(), "3");
        assert_eq!(DataSource::new(a, 2, 1).name().to_string(), "2.1");
        let id = |s: &str| s.parse::<DataSourceId>().ok().map(|d| d.0);
        assert_eq!(id("2.1"), Some(DataSource::new(a, 2, 1).id));
        assert_eq!(id("3"), Some(3));
        assert_eq!(id("agent"), Some(DataSource::AGENT));
        assert_eq!(id("x"), None);
        assert_eq!(id("256.1"), None);
        assert_eq!(id("1.16777216"), None);
        for name in ["0", "3", "2.1", "255.16777214", "agent"] {
            assert_eq!(name.parse::<DataSourceId>().unwrap().to_string(), name);
        }
    }
}
