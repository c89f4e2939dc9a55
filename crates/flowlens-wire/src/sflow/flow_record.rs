//! sFlow v5 flow records (`flow_record`, `flow_data`): sampled packet headers and the extended
//! (`extended_*`) forwarding, tunnel and drop-notification records that accompany them.

use super::envelope::Envelopes;
use super::fixed::fixed_struct;
use super::{read_address, read_string, read_u32_array};
use crate::error::{Layer, Result};
use crate::reader::Reader;
use crate::value::{FieldVisitor, Value};
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const L: Layer = Layer::SflowFlowRecord;

/// Spec structure name of flow record `enterprise:format` (sFlow v5 spec and sflow.org
/// structure registry), or `"unknown"`.
pub const fn flow_record_name(enterprise: u32, format: u32) -> &'static str {
    if enterprise != 0 {
        return "unknown";
    }
    match format {
        1 => "sampled_header",
        2 => "sampled_ethernet",
        3 => "sampled_ipv4",
        4 => "sampled_ipv6",
        1001 => "extended_switch",
        1002 => "extended_router",
        1003 => "extended_gateway",
        1004 => "extended_user",
        1005 => "extended_url",
        1006 => "extended_mpls",
        1007 => "extended_nat",
        1008 => "extended_mpls_tunnel",
        1009 => "extended_mpls_vc",
        1010 => "extended_mpls_FTN",
        1011 => "extended_mpls_LDP_FEC",
        1012 => "extended_vlantunnel",
        1013 => "extended_80211_payload",
        1014 => "extended_80211_rx",
        1015 => "extended_80211_tx",
        1016 => "extended_80211_aggregation",
        1020 => "extended_nat_port",
        1021 => "extended_L2_tunnel_egress",
        1022 => "extended_L2_tunnel_ingress",
        1023 => "extended_ipv4_tunnel_egress",
        1024 => "extended_ipv4_tunnel_ingress",
        1025 => "extended_ipv6_tunnel_egress",
        1026 => "extended_ipv6_tunnel_ingress",
        1027 => "extended_decapsulate_egress",
        1028 => "extended_decapsulate_ingress",
        1029 => "extended_vni_egress",
        1030 => "extended_vni_ingress",
        1036 => "extended_egress_queue",
        1037 => "extended_acl",
        1038 => "extended_function",
        1039 => "extended_transit",
        1040 => "extended_queue",
        2100 => "extended_socket_ipv4",
        2101 => "extended_socket_ipv6",
        2102 => "extended_proxy_socket_ipv4",
        2103 => "extended_proxy_socket_ipv6",
        _ => "unknown",
    }
}

/// One flow record of a flow sample or discard sample.
#[derive(Clone, Copy, Debug)]
pub struct FlowRecord<'a> {
    /// Enterprise number (top 20 bits of `data_format`; 0 = sFlow standard).
    pub enterprise: u32,
    /// Format number (low 12 bits of `data_format`).
    pub format: u32,
    /// Absolute offset of the record data (after the 8-byte envelope) in the datagram.
    pub offset: usize,
    /// The decoded record.
    pub data: FlowData<'a>,
}

impl FlowRecord<'_> {
    /// Spec structure name, e.g. `"sampled_header"`, `"extended_switch"`, or `"unknown"`.
    pub const fn name(&self) -> &'static str {
        flow_record_name(self.enterprise, self.format)
    }

    /// Visits the record's fields (for `Unknown`: its `length` in bytes).
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        self.data.visit_fields(v);
    }
}

/// The decoded body of a [`FlowRecord`], one variant per known structure.
#[derive(Clone, Copy, Debug)]
pub enum FlowData<'a> {
    /// `sampled_header`, enterprise 0 format 1.
    SampledHeader(SampledHeader<'a>),
    /// `sampled_ethernet`, enterprise 0 format 2.
    SampledEthernet(SampledEthernet<'a>),
    /// `sampled_ipv4`, enterprise 0 format 3.
    SampledIpv4(SampledIpv4<'a>),
    /// `sampled_ipv6`, enterprise 0 format 4.
    SampledIpv6(SampledIpv6<'a>),
    /// `extended_switch`, enterprise 0 format 1001.
    ExtendedSwitch(ExtendedSwitch<'a>),
    /// `extended_router`, enterprise 0 format 1002.
    ExtendedRouter(ExtendedRouter),
    /// `extended_gateway`, enterprise 0 format 1003.
    ExtendedGateway(ExtendedGateway<'a>),
    /// `extended_user`, enterprise 0 format 1004.
    ExtendedUser(ExtendedUser<'a>),
    /// `extended_url`, enterprise 0 format 1005.
    ExtendedUrl(ExtendedUrl<'a>),
    /// `extended_mpls`, enterprise 0 format 1006.
    ExtendedMpls(ExtendedMpls<'a>),
    /// `extended_nat`, enterprise 0 format 1007.
    ExtendedNat(ExtendedNat),
    /// `extended_mpls_tunnel`, enterprise 0 format 1008.
    ExtendedMplsTunnel(ExtendedMplsTunnel<'a>),
    /// `extended_mpls_vc`, enterprise 0 format 1009.
    ExtendedMplsVc(ExtendedMplsVc<'a>),
    /// `extended_mpls_FTN`, enterprise 0 format 1010.
    ExtendedMplsFtn(ExtendedMplsFtn<'a>),
    /// `extended_mpls_LDP_FEC`, enterprise 0 format 1011.
    ExtendedMplsLdpFec(ExtendedMplsLdpFec<'a>),
    /// `extended_vlantunnel`, enterprise 0 format 1012.
    ExtendedVlanTunnel(ExtendedVlanTunnel<'a>),
    /// `extended_nat_port`, enterprise 0 format 1020.
    ExtendedNatPort(ExtendedNatPort<'a>),
    /// `extended_L2_tunnel_egress` (a `sampled_ethernet`), enterprise 0 format 1021.
    ExtendedL2TunnelEgress(SampledEthernet<'a>),
    /// `extended_L2_tunnel_ingress` (a `sampled_ethernet`), enterprise 0 format 1022.
    ExtendedL2TunnelIngress(SampledEthernet<'a>),
    /// `extended_ipv4_tunnel_egress` (a `sampled_ipv4`), enterprise 0 format 1023.
    ExtendedIpv4TunnelEgress(SampledIpv4<'a>),
    /// `extended_ipv4_tunnel_ingress` (a `sampled_ipv4`), enterprise 0 format 1024.
    ExtendedIpv4TunnelIngress(SampledIpv4<'a>),
    /// `extended_ipv6_tunnel_egress` (a `sampled_ipv6`), enterprise 0 format 1025.
    ExtendedIpv6TunnelEgress(SampledIpv6<'a>),
    /// `extended_ipv6_tunnel_ingress` (a `sampled_ipv6`), enterprise 0 format 1026.
    ExtendedIpv6TunnelIngress(SampledIpv6<'a>),
    /// `extended_decapsulate_egress`, enterprise 0 format 1027.
    ExtendedDecapsulateEgress(ExtendedDecapsulate<'a>),
    /// `extended_decapsulate_ingress`, enterprise 0 format 1028.
    ExtendedDecapsulateIngress(ExtendedDecapsulate<'a>),
    /// `extended_vni_egress`, enterprise 0 format 1029.
    ExtendedVniEgress(ExtendedVni<'a>),
    /// `extended_vni_ingress`, enterprise 0 format 1030.
    ExtendedVniIngress(ExtendedVni<'a>),
    /// `extended_egress_queue` (drop notification), enterprise 0 format 1036.
    ExtendedEgressQueue(ExtendedEgressQueue<'a>),
    /// `extended_acl` (drop notification), enterprise 0 format 1037.
    ExtendedAcl(ExtendedAcl<'a>),
    /// `extended_function` (drop notification), enterprise 0 format 1038.
    ExtendedFunction(ExtendedFunction<'a>),
    /// `extended_transit` (drop notification), enterprise 0 format 1039.
    ExtendedTransit(ExtendedTransit<'a>),
    /// `extended_queue` (drop notification), enterprise 0 format 1040.
    ExtendedQueue(ExtendedQueue<'a>),
    /// Any other record, carried as its bytes.
    Unknown(&'a [u8]),
}

impl<'a> FlowData<'a> {
    /// Decodes record `enterprise:format` from `data` (at absolute `offset`).
    fn parse(enterprise: u32, format: u32, data: &'a [u8], offset: usize) -> Result<Self> {
        if enterprise != 0 {
            return Ok(FlowData::Unknown(data));
        }
        Ok(match format {
            1 => FlowData::SampledHeader(SampledHeader::parse(data, offset)?),
            2 => FlowData::SampledEthernet(SampledEthernet::parse(data, offset)?),
            3 => FlowData::SampledIpv4(SampledIpv4::parse(data, offset)?),
            4 => FlowData::SampledIpv6(SampledIpv6::parse(data, offset)?),
            1001 => FlowData::ExtendedSwitch(ExtendedSwitch::parse(data, offset)?),
            1002 => FlowData::ExtendedRouter(ExtendedRouter::parse(data, offset)?),
            1003 => FlowData::ExtendedGateway(ExtendedGateway::parse(data, offset)?),
            1004 => FlowData::ExtendedUser(ExtendedUser::parse(data, offset)?),
            1005 => FlowData::ExtendedUrl(ExtendedUrl::parse(data, offset)?),
            1006 => FlowData::ExtendedMpls(ExtendedMpls::parse(data, offset)?),
            1007 => FlowData::ExtendedNat(ExtendedNat::parse(data, offset)?),
            1008 => FlowData::ExtendedMplsTunnel(ExtendedMplsTunnel::parse(data, offset)?),
            1009 => FlowData::ExtendedMplsVc(ExtendedMplsVc::parse(data, offset)?),
            1010 => FlowData::ExtendedMplsFtn(ExtendedMplsFtn::parse(data, offset)?),
            1011 => FlowData::ExtendedMplsLdpFec(ExtendedMplsLdpFec::parse(data, offset)?),
            1012 => FlowData::ExtendedVlanTunnel(ExtendedVlanTunnel::parse(data, offset)?),
            1020 => FlowData::ExtendedNatPort(ExtendedNatPort::parse(data, offset)?),
            1021 => FlowData::ExtendedL2TunnelEgress(SampledEthernet::parse(data, offset)?),
            1022 => FlowData::ExtendedL2TunnelIngress(SampledEthernet::parse(data, offset)?),
            1023 => FlowData::ExtendedIpv4TunnelEgress(SampledIpv4::parse(data, offset)?),
            1024 => FlowData::ExtendedIpv4TunnelIngress(SampledIpv4::parse(data, offset)?),
            1025 => FlowData::ExtendedIpv6TunnelEgress(SampledIpv6::parse(data, offset)?),
            1026 => FlowData::ExtendedIpv6TunnelIngress(SampledIpv6::parse(data, offset)?),
            1027 => FlowData::ExtendedDecapsulateEgress(ExtendedDecapsulate::parse(data, offset)?),
            1028 => FlowData::ExtendedDecapsulateIngress(ExtendedDecapsulate::parse(data, offset)?),
            1029 => FlowData::ExtendedVniEgress(ExtendedVni::parse(data, offset)?),
            1030 => FlowData::ExtendedVniIngress(ExtendedVni::parse(data, offset)?),
            1036 => FlowData::ExtendedEgressQueue(ExtendedEgressQueue::parse(data, offset)?),
            1037 => FlowData::ExtendedAcl(ExtendedAcl::parse(data, offset)?),
            1038 => FlowData::ExtendedFunction(ExtendedFunction::parse(data, offset)?),
            1039 => FlowData::ExtendedTransit(ExtendedTransit::parse(data, offset)?),
            1040 => FlowData::ExtendedQueue(ExtendedQueue::parse(data, offset)?),
            _ => FlowData::Unknown(data),
        })
    }

    /// Visits the record's fields (for `Unknown`: its `length` in bytes).
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        match self {
            FlowData::SampledHeader(x) => x.visit_fields(v),
            FlowData::SampledEthernet(x)
            | FlowData::ExtendedL2TunnelEgress(x)
            | FlowData::ExtendedL2TunnelIngress(x) => x.visit_fields(v),
            FlowData::SampledIpv4(x)
            | FlowData::ExtendedIpv4TunnelEgress(x)
            | FlowData::ExtendedIpv4TunnelIngress(x) => x.visit_fields(v),
            FlowData::SampledIpv6(x)
            | FlowData::ExtendedIpv6TunnelEgress(x)
            | FlowData::ExtendedIpv6TunnelIngress(x) => x.visit_fields(v),
            FlowData::ExtendedSwitch(x) => x.visit_fields(v),
            FlowData::ExtendedRouter(x) => x.visit_fields(v),
            FlowData::ExtendedGateway(x) => x.visit_fields(v),
            FlowData::ExtendedUser(x) => x.visit_fields(v),
            FlowData::ExtendedUrl(x) => x.visit_fields(v),
            FlowData::ExtendedMpls(x) => x.visit_fields(v),
            FlowData::ExtendedNat(x) => x.visit_fields(v),
            FlowData::ExtendedMplsTunnel(x) => x.visit_fields(v),
            FlowData::ExtendedMplsVc(x) => x.visit_fields(v),
            FlowData::ExtendedMplsFtn(x) => x.visit_fields(v),
            FlowData::ExtendedMplsLdpFec(x) => x.visit_fields(v),
            FlowData::ExtendedVlanTunnel(x) => x.visit_fields(v),
            FlowData::ExtendedNatPort(x) => x.visit_fields(v),
            FlowData::ExtendedDecapsulateEgress(x) | FlowData::ExtendedDecapsulateIngress(x) => {
                x.visit_fields(v);
            }
            FlowData::ExtendedVniEgress(x) | FlowData::ExtendedVniIngress(x) => x.visit_fields(v),
            FlowData::ExtendedEgressQueue(x) => x.visit_fields(v),
            FlowData::ExtendedAcl(x) => x.visit_fields(v),
            FlowData::ExtendedFunction(x) => x.visit_fields(v),
            FlowData::ExtendedTransit(x) => x.visit_fields(v),
            FlowData::ExtendedQueue(x) => x.visit_fields(v),
            FlowData::Unknown(d) => v.field("length", Value::U64(d.len() as u64)),
        }
    }
}

/// Iterator over the flow records of a flow or discard sample.
///
/// A record whose length is shorter than its structure yields `Err(Error::Truncated)` and
/// iteration continues with the next record. An envelope that overruns the sample
/// (`Err(Error::Invalid)`), or data that ends before the declared record count
/// (`Err(Error::Truncated)`), ends the iteration after that one error. Bytes after the declared
/// count are ignored.
#[derive(Clone, Copy, Debug)]
pub struct FlowRecords<'a> {
    env: Envelopes<'a>,
}

impl<'a> FlowRecords<'a> {
    pub(crate) fn new(r: Reader<'a>, count: u32) -> Self {
        FlowRecords {
            env: Envelopes::new(r, count, L),
        }
    }
}

impl<'a> Iterator for FlowRecords<'a> {
    type Item = Result<FlowRecord<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(self.env.next_envelope()?.and_then(|e| {
            Ok(FlowRecord {
                enterprise: e.enterprise,
                format: e.format,
                offset: e.offset,
                data: FlowData::parse(e.enterprise, e.format, e.data, e.offset)?,
            })
        }))
    }
}

/// sFlow v5 `sampled_header`, enterprise 0 format 1: the leading bytes of a sampled packet.
/// Fields XDR big-endian: `header_protocol` u32, `frame_length` u32 (bytes), `stripped` u32
/// (bytes), `header` opaque<> (the captured bytes, padded to 4).
#[derive(Clone, Copy, Debug)]
pub struct SampledHeader<'a> {
    header_protocol: u32,
    frame_length: u32,
    stripped: u32,
    header: &'a [u8],
    header_offset: usize,
}

impl<'a> SampledHeader<'a> {
    fn parse(data: &'a [u8], offset: usize) -> Result<Self> {
        let mut r = Reader::new(data, offset, L);
        let [header_protocol, frame_length, stripped] = r.words::<3>()?;
        let header_offset = r.offset().saturating_add(4);
        let header = read_string(&mut r, "header", usize::MAX)?;
        Ok(SampledHeader {
            header_protocol,
            frame_length,
            stripped,
            header,
            header_offset,
        })
    }
    /// `header_protocol`: format of the header bytes (1 = Ethernet, 11 = IPv4, 12 = IPv6, ...).
    pub const fn header_protocol(&self) -> u32 {
        self.header_protocol
    }
    /// `frame_length`: original length of the packet, in bytes, before sampling.
    pub const fn frame_length(&self) -> u32 {
        self.frame_length
    }
    /// `stripped`: bytes removed from the packet before the header was taken (e.g. FCS).
    pub const fn stripped(&self) -> u32 {
        self.stripped
    }
    /// `header`: the sampled bytes, without XDR padding.
    pub const fn header(&self) -> &'a [u8] {
        self.header
    }
    /// Absolute offset of `header[0]` within the datagram.
    pub const fn header_offset(&self) -> usize {
        self.header_offset
    }
    /// Visits `header_protocol`, `frame_length`, `stripped`, `header_length` (bytes captured).
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        v.field(
            "header_protocol",
            Value::U64(u64::from(self.header_protocol)),
        );
        v.field("frame_length", Value::U64(u64::from(self.frame_length)));
        v.field("stripped", Value::U64(u64::from(self.stripped)));
        v.field("header_length", Value::U64(self.header.len() as u64));
    }
}

fixed_struct! {
    /// sFlow v5 `sampled_ethernet`, enterprise 0 format 2 (also the body of
    /// `extended_L2_tunnel_egress` 1021 / `extended_L2_tunnel_ingress` 1022).
    SampledEthernet, "sampled_ethernet", L;
    length: u32 = "length", "length of the MAC packet in bytes, excluding framing, including FCS",
    src_mac: [u8; 6] = "src_mac", "source MAC address (XDR `mac`, padded to 8 bytes)",
    dst_mac: [u8; 6] = "dst_mac", "destination MAC address (XDR `mac`, padded to 8 bytes)",
    eth_type: u32 = "type", "Ethernet packet type",
}

fixed_struct! {
    /// sFlow v5 `sampled_ipv4`, enterprise 0 format 3 (also the body of
    /// `extended_ipv4_tunnel_egress` 1023 / `extended_ipv4_tunnel_ingress` 1024).
    SampledIpv4, "sampled_ipv4", L;
    length: u32 = "length", "length of the IP packet in bytes, excluding lower layers",
    protocol: u32 = "protocol", "IP protocol number",
    src_ip: Ipv4Addr = "src_ip", "source address",
    dst_ip: Ipv4Addr = "dst_ip", "destination address",
    src_port: u32 = "src_port", "TCP/UDP source port, or 0",
    dst_port: u32 = "dst_port", "TCP/UDP destination port, or 0",
    tcp_flags: u32 = "tcp_flags", "TCP flags",
    tos: u32 = "tos", "IP type of service",
}

fixed_struct! {
    /// sFlow v5 `sampled_ipv6`, enterprise 0 format 4 (also the body of
    /// `extended_ipv6_tunnel_egress` 1025 / `extended_ipv6_tunnel_ingress` 1026).
    SampledIpv6, "sampled_ipv6", L;
    length: u32 = "length", "length of the IP packet in bytes, excluding lower layers",
    protocol: u32 = "protocol", "IP next header",
    src_ip: Ipv6Addr = "src_ip", "source address",
    dst_ip: Ipv6Addr = "dst_ip", "destination address",
    src_port: u32 = "src_port", "TCP/UDP source port, or 0",
    dst_port: u32 = "dst_port", "TCP/UDP destination port, or 0",
    tcp_flags: u32 = "tcp_flags", "TCP flags",
    priority: u32 = "priority", "IP priority",
}

fixed_struct! {
    /// sFlow v5 `extended_switch`, enterprise 0 format 1001: layer-2 switching information.
    ExtendedSwitch, "extended_switch", L;
    src_vlan: u32 = "src_vlan", "802.1Q VLAN id of the incoming frame",
    src_priority: u32 = "src_priority", "802.1p priority of the incoming frame",
    dst_vlan: u32 = "dst_vlan", "802.1Q VLAN id of the outgoing frame",
    dst_priority: u32 = "dst_priority", "802.1p priority of the outgoing frame",
}

fixed_struct! {
    /// sFlow v5 `extended_mpls_LDP_FEC`, enterprise 0 format 1011.
    ExtendedMplsLdpFec, "extended_mpls_LDP_FEC", L;
    fec_addr_prefix_length: u32 = "mplsFecAddrPrefixLength", "FEC address prefix length (bits)",
}

fixed_struct! {
    /// sFlow `extended_nat_port`, enterprise 0 format 1020: layer-4 ports after NAT.
    ExtendedNatPort, "extended_nat_port", L;
    src_port: u32 = "src_port", "translated source port",
    dst_port: u32 = "dst_port", "translated destination port",
}

fixed_struct! {
    /// sFlow tunnel structures `extended_decapsulate_egress` (1027) /
    /// `extended_decapsulate_ingress` (1028), enterprise 0.
    ExtendedDecapsulate, "extended_decapsulate", L;
    inner_header_offset: u32 = "inner_header_offset", "offset (bytes) of the inner header within the sampled header",
}

fixed_struct! {
    /// sFlow tunnel structures `extended_vni_egress` (1029) / `extended_vni_ingress` (1030),
    /// enterprise 0: VXLAN/NVGRE/Geneve virtual network identifier.
    ExtendedVni, "extended_vni", L;
    vni: u32 = "vni", "virtual network identifier",
}

fixed_struct! {
    /// sFlow drop notification `extended_egress_queue`, enterprise 0 format 1036.
    ExtendedEgressQueue, "extended_egress_queue", L;
    queue: u32 = "queue", "egress queue number",
}

fixed_struct! {
    /// sFlow drop notification `extended_transit`, enterprise 0 format 1039.
    ExtendedTransit, "extended_transit", L;
    delay: u32 = "delay", "transit delay through the device in nanoseconds",
}

fixed_struct! {
    /// sFlow drop notification `extended_queue`, enterprise 0 format 1040.
    ExtendedQueue, "extended_queue", L;
    depth: u32 = "depth", "queue depth in bytes when the packet was enqueued",
}

/// Visits an optional `address` (`None` = address type 0, "unknown").
fn visit_addr(v: &mut impl FieldVisitor, name: &'static str, a: Option<IpAddr>) {
    match a {
        Some(ip) => v.field(name, Value::Ip(ip)),
        None => v.field(name, Value::Name("unknown")),
    }
}

/// sFlow v5 `extended_router`, enterprise 0 format 1002. XDR big-endian: `nexthop` (`address`:
/// type u32 then 4 or 16 bytes), `src_mask_len` u32, `dst_mask_len` u32 (prefix lengths, bits).
#[derive(Clone, Copy, Debug)]
pub struct ExtendedRouter {
    nexthop: Option<IpAddr>,
    src_mask_len: u32,
    dst_mask_len: u32,
}

impl ExtendedRouter {
    fn parse(data: &[u8], offset: usize) -> Result<Self> {
        let mut r = Reader::new(data, offset, L);
        Ok(ExtendedRouter {
            nexthop: read_address(&mut r, "nexthop")?,
            src_mask_len: r.u32()?,
            dst_mask_len: r.u32()?,
        })
    }
    /// `nexthop`: IPv4 or IPv6 next hop (`None` for address type 0, unknown).
    pub const fn nexthop(&self) -> Option<IpAddr> {
        self.nexthop
    }
    /// `src_mask_len`: source prefix length in bits.
    pub const fn src_mask_len(&self) -> u32 {
        self.src_mask_len
    }
    /// `dst_mask_len`: destination prefix length in bits.
    pub const fn dst_mask_len(&self) -> u32 {
        self.dst_mask_len
    }
    /// Visits `nexthop`, `src_mask_len`, `dst_mask_len`.
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        visit_addr(v, "nexthop", self.nexthop);
        v.field("src_mask_len", Value::U64(u64::from(self.src_mask_len)));
        v.field("dst_mask_len", Value::U64(u64::from(self.dst_mask_len)));
    }
}

/// sFlow v5 `extended_gateway`, enterprise 0 format 1003: BGP routing information. XDR
/// big-endian: `nexthop` (`address`), `as`, `src_as`, `src_peer_as` (u32 AS numbers),
/// `dst_as_path` (array of `as_path_type`: segment `type` u32, 1 = AS_SET, 2 = AS_SEQUENCE, then
/// `as_number<>` u32 array), `communities` (u32 array), `localpref` u32.
#[derive(Clone, Copy, Debug)]
pub struct ExtendedGateway<'a> {
    nexthop: Option<IpAddr>,
    as_: u32,
    src_as: u32,
    src_peer_as: u32,
    segments: u32,
    dst_as_path: &'a [u8],
    communities: &'a [u8],
    localpref: u32,
}

impl<'a> ExtendedGateway<'a> {
    fn parse(data: &'a [u8], offset: usize) -> Result<Self> {
        let mut r = Reader::new(data, offset, L);
        let nexthop = read_address(&mut r, "nexthop")?;
        let as_ = r.u32()?;
        let src_as = r.u32()?;
        let src_peer_as = r.u32()?;
        let at = r.offset();
        let segments = r.u32()?;
        // every segment takes at least 8 bytes: bound the loop by the data before looping
        if usize::try_from(segments).map_or(true, |n| n > r.remaining() / 8) {
            return Err(r.invalid_at(at, "dst_as_path", u64::from(segments)));
        }
        let path_start = r.rest();
        let before = r.remaining();
        for _ in 0..segments {
            r.u32()?;
            read_u32_array(&mut r, "as_number")?;
        }
        let dst_as_path = path_start.get(..before - r.remaining()).unwrap_or(&[]);
        let communities = read_u32_array(&mut r, "communities")?;
        let localpref = r.u32()?;
        Ok(ExtendedGateway {
            nexthop,
            as_,
            src_as,
            src_peer_as,
            segments,
            dst_as_path,
            communities,
            localpref,
        })
    }
    /// `nexthop`: BGP next hop (`None` for address type 0, unknown).
    pub const fn nexthop(&self) -> Option<IpAddr> {
        self.nexthop
    }
    /// `as`: AS number of this router.
    pub const fn as_number(&self) -> u32 {
        self.as_
    }
    /// `src_as`: AS of the source address.
    pub const fn src_as(&self) -> u32 {
        self.src_as
    }
    /// `src_peer_as`: AS of the source peer.
    pub const fn src_peer_as(&self) -> u32 {
        self.src_peer_as
    }
    /// Number of `dst_as_path` segments.
    pub const fn dst_as_path_len(&self) -> u32 {
        self.segments
    }
    /// The `dst_as_path` segments, in order.
    pub fn dst_as_path(&self) -> AsPathSegments<'a> {
        AsPathSegments {
            rest: self.dst_as_path,
        }
    }
    /// `communities`: BGP communities as big-endian u32s (a [`Value::U32List`] slice).
    pub const fn communities(&self) -> &'a [u8] {
        self.communities
    }
    /// `localpref`: BGP local preference.
    pub const fn localpref(&self) -> u32 {
        self.localpref
    }
    /// Visits `nexthop`, `as`, `src_as`, `src_peer_as`, then per segment `dst_as_path_type`
    /// (`"as_set"`/`"as_sequence"` or the number) and `dst_as_path` (U32List), then
    /// `communities` (U32List), `localpref`.
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        visit_addr(v, "nexthop", self.nexthop);
        v.field("as", Value::U64(u64::from(self.as_)));
        v.field("src_as", Value::U64(u64::from(self.src_as)));
        v.field("src_peer_as", Value::U64(u64::from(self.src_peer_as)));
        for seg in self.dst_as_path() {
            match seg.type_name() {
                Some(n) => v.field("dst_as_path_type", Value::Name(n)),
                None => v.field("dst_as_path_type", Value::U64(u64::from(seg.segment_type))),
            }
            v.field("dst_as_path", Value::U32List(seg.as_numbers));
        }
        v.field("communities", Value::U32List(self.communities));
        v.field("localpref", Value::U64(u64::from(self.localpref)));
    }
}

/// One `as_path_type` segment of [`ExtendedGateway::dst_as_path`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AsPathSegment<'a> {
    /// Segment `type`: 1 = AS_SET, 2 = AS_SEQUENCE.
    pub segment_type: u32,
    /// `as_number<>`: the AS numbers as big-endian u32s (a [`Value::U32List`] slice).
    pub as_numbers: &'a [u8],
}

impl<'a> AsPathSegment<'a> {
    /// `"as_set"` or `"as_sequence"`, if the type is one of those.
    pub const fn type_name(&self) -> Option<&'static str> {
        match self.segment_type {
            1 => Some("as_set"),
            2 => Some("as_sequence"),
            _ => None,
        }
    }
    /// The AS numbers.
    pub fn asns(&self) -> impl Iterator<Item = u32> + 'a {
        self.as_numbers
            .chunks_exact(4)
            .map(|c| c.try_into().map_or(0, u32::from_be_bytes))
    }
}

/// Iterator over the (already validated) segments of an AS path.
#[derive(Clone, Copy, Debug)]
pub struct AsPathSegments<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for AsPathSegments<'a> {
    type Item = AsPathSegment<'a>;
    fn next(&mut self) -> Option<Self::Item> {
        let mut r = Reader::new(self.rest, 0, L);
        let segment_type = r.u32().ok()?;
        let as_numbers = read_u32_array(&mut r, "as_number").ok()?;
        self.rest = r.rest();
        Some(AsPathSegment {
            segment_type,
            as_numbers,
        })
    }
}

/// sFlow v5 `extended_user`, enterprise 0 format 1004. XDR: `src_charset` u32 (IANA MIBenum),
/// `src_user` string<>, `dst_charset` u32, `dst_user` string<>.
#[derive(Clone, Copy, Debug)]
pub struct ExtendedUser<'a> {
    src_charset: u32,
    src_user: &'a [u8],
    dst_charset: u32,
    dst_user: &'a [u8],
}

impl<'a> ExtendedUser<'a> {
    fn parse(data: &'a [u8], offset: usize) -> Result<Self> {
        let mut r = Reader::new(data, offset, L);
        Ok(ExtendedUser {
            src_charset: r.u32()?,
            src_user: read_string(&mut r, "src_user", usize::MAX)?,
            dst_charset: r.u32()?,
            dst_user: read_string(&mut r, "dst_user", usize::MAX)?,
        })
    }
    /// `src_charset`: character set of `src_user` (IANA MIBenum).
    pub const fn src_charset(&self) -> u32 {
        self.src_charset
    }
    /// `src_user`: user id of the source.
    pub const fn src_user(&self) -> &'a [u8] {
        self.src_user
    }
    /// `dst_charset`: character set of `dst_user`.
    pub const fn dst_charset(&self) -> u32 {
        self.dst_charset
    }
    /// `dst_user`: user id of the destination.
    pub const fn dst_user(&self) -> &'a [u8] {
        self.dst_user
    }
    /// Visits `src_charset`, `src_user`, `dst_charset`, `dst_user`.
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        v.field("src_charset", Value::U64(u64::from(self.src_charset)));
        v.field("src_user", Value::Str(self.src_user));
        v.field("dst_charset", Value::U64(u64::from(self.dst_charset)));
        v.field("dst_user", Value::Str(self.dst_user));
    }
}

/// sFlow v5 `extended_url`, enterprise 0 format 1005. XDR: `direction` u32 (1 = source address
/// is the server, 2 = destination address is the server), `url` string<>, `host` string<>.
#[derive(Clone, Copy, Debug)]
pub struct ExtendedUrl<'a> {
    direction: u32,
    url: &'a [u8],
    host: &'a [u8],
}

impl<'a> ExtendedUrl<'a> {
    fn parse(data: &'a [u8], offset: usize) -> Result<Self> {
        let mut r = Reader::new(data, offset, L);
        let direction = r.u32()?;
        let url = read_string(&mut r, "url", usize::MAX)?;
        // `host` was added late in the sFlow v5 spec; tolerate agents that omit it
        let host = if r.remaining() == 0 {
            &[][..]
        } else {
            read_string(&mut r, "host", usize::MAX)?
        };
        Ok(ExtendedUrl {
            direction,
            url,
            host,
        })
    }
    /// `direction`: 1 = src is the server, 2 = dst is the server.
    pub const fn direction(&self) -> u32 {
        self.direction
    }
    /// `url`: the URL.
    pub const fn url(&self) -> &'a [u8] {
        self.url
    }
    /// `host`: the HTTP Host header (empty if absent).
    pub const fn host(&self) -> &'a [u8] {
        self.host
    }
    /// Visits `direction`, `url`, `host`.
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        v.field("direction", Value::U64(u64::from(self.direction)));
        v.field("url", Value::Str(self.url));
        v.field("host", Value::Str(self.host));
    }
}

/// sFlow v5 `extended_mpls`, enterprise 0 format 1006. XDR: `nexthop` (`address`), `in_stack`
/// and `out_stack` (`label_stack`: u32 array of label stack entries).
#[derive(Clone, Copy, Debug)]
pub struct ExtendedMpls<'a> {
    nexthop: Option<IpAddr>,
    in_stack: &'a [u8],
    out_stack: &'a [u8],
}

impl<'a> ExtendedMpls<'a> {
    fn parse(data: &'a [u8], offset: usize) -> Result<Self> {
        let mut r = Reader::new(data, offset, L);
        Ok(ExtendedMpls {
            nexthop: read_address(&mut r, "nexthop")?,
            in_stack: read_u32_array(&mut r, "in_stack")?,
            out_stack: read_u32_array(&mut r, "out_stack")?,
        })
    }
    /// `nexthop`: next hop address (`None` for address type 0).
    pub const fn nexthop(&self) -> Option<IpAddr> {
        self.nexthop
    }
    /// `in_stack`: incoming label stack, big-endian u32s.
    pub const fn in_stack(&self) -> &'a [u8] {
        self.in_stack
    }
    /// `out_stack`: outgoing label stack, big-endian u32s.
    pub const fn out_stack(&self) -> &'a [u8] {
        self.out_stack
    }
    /// Visits `nexthop`, `in_stack`, `out_stack`.
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        visit_addr(v, "nexthop", self.nexthop);
        v.field("in_stack", Value::U32List(self.in_stack));
        v.field("out_stack", Value::U32List(self.out_stack));
    }
}

/// sFlow v5 `extended_nat`, enterprise 0 format 1007. XDR: `src_address`, `dst_address`
/// (`address` each: type u32 then 4 or 16 bytes).
#[derive(Clone, Copy, Debug)]
pub struct ExtendedNat {
    src_address: Option<IpAddr>,
    dst_address: Option<IpAddr>,
}

impl ExtendedNat {
    fn parse(data: &[u8], offset: usize) -> Result<Self> {
        let mut r = Reader::new(data, offset, L);
        Ok(ExtendedNat {
            src_address: read_address(&mut r, "src_address")?,
            dst_address: read_address(&mut r, "dst_address")?,
        })
    }
    /// `src_address`: source address after translation.
    pub const fn src_address(&self) -> Option<IpAddr> {
        self.src_address
    }
    /// `dst_address`: destination address after translation.
    pub const fn dst_address(&self) -> Option<IpAddr> {
        self.dst_address
    }
    /// Visits `src_address`, `dst_address`.
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        visit_addr(v, "src_address", self.src_address);
        visit_addr(v, "dst_address", self.dst_address);
    }
}

/// Declares a record made of one XDR string followed by fixed u32s.
macro_rules! string_then_u32s {
    (
        $(#[$meta:meta])*
        $name:ident, $sfield:ident = $swire:literal, $sdoc:literal;
        $( $field:ident = $wire:literal, $doc:literal ),*
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug)]
        pub struct $name<'a> {
            $sfield: &'a [u8],
            $( $field: u32, )*
        }

        impl<'a> $name<'a> {
            fn parse(data: &'a [u8], offset: usize) -> Result<Self> {
                let mut r = Reader::new(data, offset, L);
                Ok($name { $sfield: read_string(&mut r, $swire, usize::MAX)?, $( $field: r.u32()?, )* })
            }
            #[doc = concat!("`", $swire, "`: ", $sdoc)]
            pub const fn $sfield(&self) -> &'a [u8] {
                self.$sfield
            }
            $(
                #[doc = concat!("`", $wire, "`: ", $doc)]
                pub const fn $field(&self) -> u32 {
                    self.$field
                }
            )*
            #[doc = concat!("Visits `", $swire, "`", $(", `", $wire, "`",)* ".")]
            pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
                v.field($swire, Value::Str(self.$sfield));
                $( v.field($wire, Value::U64(u64::from(self.$field))); )*
            }
        }
    };
}

string_then_u32s! {
    /// sFlow v5 `extended_mpls_tunnel`, enterprise 0 format 1008. XDR: `tunnel_lsp_name`
    /// string<>, `tunnel_id` u32, `tunnel_cos` u32.
    ExtendedMplsTunnel, tunnel_lsp_name = "tunnel_lsp_name", "tunnel name";
    tunnel_id = "tunnel_id", "tunnel id",
    tunnel_cos = "tunnel_cos", "tunnel COS value"
}

string_then_u32s! {
    /// sFlow v5 `extended_mpls_vc`, enterprise 0 format 1009. XDR: `vc_instance_name` string<>,
    /// `vll_vc_id` u32, `vc_label_cos` u32.
    ExtendedMplsVc, vc_instance_name = "vc_instance_name", "VC instance name";
    vll_vc_id = "vll_vc_id", "VLL/VC instance id",
    vc_label_cos = "vc_label_cos", "VC label COS value"
}

string_then_u32s! {
    /// sFlow v5 `extended_mpls_FTN`, enterprise 0 format 1010. XDR: `mplsFTNDescr` string<>,
    /// `mplsFTNMask` u32.
    ExtendedMplsFtn, ftn_descr = "mplsFTNDescr", "FTN description";
    ftn_mask = "mplsFTNMask", "FTN mask"
}

string_then_u32s! {
    /// sFlow drop notification `extended_function`, enterprise 0 format 1038. XDR: `symbol`
    /// string<> (the kernel or ASIC function that dropped the packet).
    ExtendedFunction, symbol = "symbol", "name of the function that dropped the packet";
}

/// sFlow drop notification `extended_acl`, enterprise 0 format 1037. XDR big-endian: `number`
/// u32 (ACL number), `name` string<>, `direction` u32 (0 = unknown, 1 = ingress, 2 = egress).
#[derive(Clone, Copy, Debug)]
pub struct ExtendedAcl<'a> {
    number: u32,
    name: &'a [u8],
    direction: u32,
}

impl<'a> ExtendedAcl<'a> {
    fn parse(data: &'a [u8], offset: usize) -> Result<Self> {
        let mut r = Reader::new(data, offset, L);
        Ok(ExtendedAcl {
            number: r.u32()?,
            name: read_string(&mut r, "name", usize::MAX)?,
            direction: r.u32()?,
        })
    }
    /// `number`: ACL number.
    pub const fn number(&self) -> u32 {
        self.number
    }
    /// `name`: ACL name.
    pub const fn name(&self) -> &'a [u8] {
        self.name
    }
    /// `direction`: 0 = unknown, 1 = ingress, 2 = egress.
    pub const fn direction(&self) -> u32 {
        self.direction
    }
    /// Visits `number`, `name`, `direction`.
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        v.field("number", Value::U64(u64::from(self.number)));
        v.field("name", Value::Str(self.name));
        v.field("direction", Value::U64(u64::from(self.direction)));
    }
}

/// sFlow v5 `extended_vlantunnel`, enterprise 0 format 1012. XDR: `stack` (u32 array of 802.1Q
/// TPID/TCI words, outermost first, excluding the tag reported in `extended_switch`).
#[derive(Clone, Copy, Debug)]
pub struct ExtendedVlanTunnel<'a> {
    stack: &'a [u8],
}

impl<'a> ExtendedVlanTunnel<'a> {
    fn parse(data: &'a [u8], offset: usize) -> Result<Self> {
        let mut r = Reader::new(data, offset, L);
        Ok(ExtendedVlanTunnel {
            stack: read_u32_array(&mut r, "stack")?,
        })
    }
    /// `stack`: the VLAN tag words, big-endian u32s.
    pub const fn stack(&self) -> &'a [u8] {
        self.stack
    }
    /// Visits `stack`.
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        v.field("stack", Value::U32List(self.stack));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::bytes::testing::visited;
    use crate::Error;
    use std::vec::Vec;

    /// Absolute offset of the first record's envelope in the datagram it comes from.
    const BASE: usize = 92;

    /// Frame 3 of `exporters/sflow-ovs-br0.pcap` (Open vSwitch), UDP payload bytes 92..192: the
    /// `sampled_header` record of its first flow sample (tshark: header protocol Ethernet,
    /// frame length 70, payload stripped 4, sampled header length 66).
    static PACKET_BYTES: [u8; 92] = [
        0x00, 0x00, 0x00, 0x01, // data_format: enterprise 0, format 1 (sampled_header)
        0x00, 0x00, 0x00, 0x54, // length 84
        0x00, 0x00, 0x00, 0x01, // header_protocol 1 (ETHERNET-ISO88023)
        0x00, 0x00, 0x00, 0x46, // frame_length 70
        0x00, 0x00, 0x00, 0x04, // stripped 4 (the FCS)
        0x00, 0x00, 0x00, 0x42, // header<> length 66
        // header: Ethernet 36:d0:2b:79:1d:db > 3e:95:0d:76:38:5e, IPv4 10.99.0.2 > 10.99.0.1,
        // TCP 5201 > 35162, ACK; then 2 bytes of XDR padding
        0x3e, 0x95, 0x0d, 0x76, 0x38, 0x5e, 0x36, 0xd0, 0x2b, 0x79, 0x1d, 0xdb, 0x08, 0x00, 0x45,
        0x00, 0x00, 0x34, 0x29, 0x6d, 0x40, 0x00, 0x40, 0x06, 0xfc, 0x8e, 0x0a, 0x63, 0x00, 0x02,
        0x0a, 0x63, 0x00, 0x01, 0x14, 0x51, 0x89, 0x5a, 0x96, 0x73, 0x48, 0x15, 0x35, 0x58, 0x5e,
        0xf5, 0x80, 0x10, 0x00, 0x40, 0x3f, 0x1a, 0x00, 0x00, 0x01, 0x01, 0x08, 0x0a, 0xb8, 0x23,
        0x7d, 0xec, 0xbc, 0x93, 0x1f, 0x75, 0x00, 0x00,
    ];

    /// Six records, each an envelope (`data_format`, length) and its sFlow v5 structure.
    static RECORDS_BYTES: [u8; 244] = [
        // sampled_ethernet (format 2), 24 bytes
        0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x18, 0x00, 0x00, 0x05, 0xee, // length 1518
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x00, 0x00, // src_mac, padded to 8
        0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0x00, 0x00, // dst_mac, padded to 8
        0x00, 0x00, 0x08, 0x00, // type 0x0800
        // sampled_ipv4 (format 3), 32 bytes
        0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x54, // length 84
        0x00, 0x00, 0x00, 0x06, // protocol 6 (TCP)
        0x0a, 0x00, 0x00, 0x01, // src_ip 10.0.0.1
        0x0a, 0x00, 0x00, 0x02, // dst_ip 10.0.0.2
        0x00, 0x00, 0x01, 0xbb, // src_port 443
        0x00, 0x00, 0xc7, 0x38, // dst_port 51000
        0x00, 0x00, 0x00, 0x18, // tcp_flags PSH|ACK
        0x00, 0x00, 0x00, 0x20, // tos 0x20
        // sampled_ipv6 (format 4), 56 bytes
        0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x38, 0x00, 0x00, 0x00, 0x3c, // length 60
        0x00, 0x00, 0x00, 0x11, // protocol 17 (UDP)
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, // src_ip 2001:db8::1
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, // dst_ip 2001:db8::2
        0x00, 0x00, 0x00, 0x35, // src_port 53
        0x00, 0x00, 0x13, 0x88, // dst_port 5000
        0x00, 0x00, 0x00, 0x00, // tcp_flags 0
        0x00, 0x00, 0x00, 0x05, // priority 5
        // extended_switch (format 1001), 16 bytes
        0x00, 0x00, 0x03, 0xe9, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x0a, // src_vlan 10
        0x00, 0x00, 0x00, 0x03, // src_priority 3
        0x00, 0x00, 0x00, 0x14, // dst_vlan 20
        0x00, 0x00, 0x00, 0x05, // dst_priority 5
        // extended_router (format 1002), 16 bytes
        0x00, 0x00, 0x03, 0xea, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x01, 0xc0, 0x00, 0x02,
        0xfe, // nexthop: IPv4 (1) 192.0.2.254
        0x00, 0x00, 0x00, 0x18, // src_mask_len 24
        0x00, 0x00, 0x00, 0x10, // dst_mask_len 16
        // extended_gateway (format 1003), 52 bytes
        0x00, 0x00, 0x03, 0xeb, 0x00, 0x00, 0x00, 0x34, 0x00, 0x00, 0x00, 0x01, 0xc0, 0x00, 0x02,
        0x01, // nexthop: IPv4 (1) 192.0.2.1
        0x00, 0x00, 0xfd, 0xe8, // as 65000
        0x00, 0x00, 0xfc, 0x00, // src_as 64512
        0x00, 0x00, 0xfc, 0x01, // src_peer_as 64513
        0x00, 0x00, 0x00, 0x01, // dst_as_path<> 1 segment
        0x00, 0x00, 0x00, 0x02, // type 2 (AS_SEQUENCE)
        0x00, 0x00, 0x00, 0x02, // as_number<> count 2
        0x00, 0x00, 0xfc, 0x01, // 64513
        0x00, 0x00, 0xfd, 0xe9, // 65001
        0x00, 0x00, 0x00, 0x01, // communities<> count 1
        0xfd, 0xe8, 0x00, 0x64, // 65000:100
        0x00, 0x00, 0x00, 0x64, // localpref 100
    ];

    fn records(bytes: &[u8], count: u32) -> FlowRecords<'_> {
        FlowRecords::new(Reader::new(bytes, BASE, L), count)
    }

    #[test]
    fn sampled_header() {
        let r = records(&PACKET_BYTES, 1).next().unwrap().unwrap();
        assert_eq!((r.enterprise, r.format, r.offset), (0, 1, BASE + 8));
        assert_eq!(r.name(), "sampled_header");
        let FlowData::SampledHeader(h) = r.data else {
            panic!("{r:?}")
        };
        assert_eq!(h.header_protocol(), 1);
        assert_eq!(h.frame_length(), 70);
        assert_eq!(h.stripped(), 4);
        assert_eq!(h.header(), &PACKET_BYTES[24..90]);
        assert_eq!(h.header_offset(), BASE + 24);
        assert_eq!(
            visited(|v| r.visit_fields(v)),
            [
                "header_protocol=1",
                "frame_length=70",
                "stripped=4",
                "header_length=66"
            ]
        );
    }

    #[test]
    fn sampled_and_extended_records() {
        let all: Vec<FlowRecord<'_>> = records(&RECORDS_BYTES, 6).map(Result::unwrap).collect();
        let names: Vec<&str> = all.iter().map(FlowRecord::name).collect();
        assert_eq!(
            names,
            [
                "sampled_ethernet",
                "sampled_ipv4",
                "sampled_ipv6",
                "extended_switch",
                "extended_router",
                "extended_gateway"
            ]
        );
        let FlowData::SampledEthernet(e) = all[0].data else {
            panic!("{:?}", all[0])
        };
        assert_eq!(e.length(), 1518);
        assert_eq!(e.src_mac(), [0x00, 0x11, 0x22, 0x33, 0x44, 0x55]);
        assert_eq!(e.dst_mac(), [0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb]);
        assert_eq!(e.eth_type(), 0x0800);
        assert_eq!(
            visited(|v| e.visit_fields(v)),
            [
                "length=1518",
                "src_mac=001122334455",
                "dst_mac=66778899aabb",
                "type=2048"
            ]
        );
        let FlowData::SampledIpv4(p) = all[1].data else {
            panic!("{:?}", all[1])
        };
        assert_eq!((p.length(), p.protocol()), (84, 6));
        assert_eq!(p.src_ip(), Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(p.dst_ip(), Ipv4Addr::new(10, 0, 0, 2));
        assert_eq!((p.src_port(), p.dst_port()), (443, 51000));
        assert_eq!((p.tcp_flags(), p.tos()), (0x18, 0x20));
        let FlowData::SampledIpv6(p) = all[2].data else {
            panic!("{:?}", all[2])
        };
        assert_eq!((p.length(), p.protocol()), (60, 17));
        assert_eq!(p.src_ip(), Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1));
        assert_eq!(p.dst_ip(), Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2));
        assert_eq!((p.src_port(), p.dst_port()), (53, 5000));
        assert_eq!((p.tcp_flags(), p.priority()), (0, 5));
        let FlowData::ExtendedSwitch(s) = all[3].data else {
            panic!("{:?}", all[3])
        };
        assert_eq!((s.src_vlan(), s.src_priority()), (10, 3));
        assert_eq!((s.dst_vlan(), s.dst_priority()), (20, 5));
        let FlowData::ExtendedRouter(r) = all[4].data else {
            panic!("{:?}", all[4])
        };
        assert_eq!(r.nexthop(), Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 254))));
        assert_eq!((r.src_mask_len(), r.dst_mask_len()), (24, 16));
        assert_eq!(
            visited(|v| r.visit_fields(v)),
            ["nexthop=192.0.2.254", "src_mask_len=24", "dst_mask_len=16"]
        );
        let FlowData::ExtendedGateway(g) = all[5].data else {
            panic!("{:?}", all[5])
        };
        assert_eq!(g.nexthop(), Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))));
        assert_eq!(
            (g.as_number(), g.src_as(), g.src_peer_as()),
            (65000, 64512, 64513)
        );
        assert_eq!(g.dst_as_path_len(), 1);
        let path: Vec<AsPathSegment<'_>> = g.dst_as_path().collect();
        assert_eq!(path.len(), 1);
        assert_eq!(path[0].segment_type, 2);
        assert_eq!(path[0].type_name(), Some("as_sequence"));
        assert_eq!(path[0].asns().collect::<Vec<u32>>(), [64513, 65001]);
        assert_eq!(g.communities(), &[0xfd, 0xe8, 0x00, 0x64]);
        assert_eq!(g.localpref(), 100);
        // Each record's data starts after its 8-byte envelope.
        let offsets: Vec<usize> = all.iter().map(|r| r.offset - BASE).collect();
        assert_eq!(offsets, [8, 40, 80, 144, 168, 192]);
    }

    /// A record cut anywhere inside its structure is an error of the record layer (never a
    /// panic), and the iteration goes on to the next record.
    #[test]
    fn truncated() {
        // Cut the sampled header's data (the record length shrunk with it): an error until
        // the 66 header bytes are there; only the final XDR padding may be missing.
        for n in 0..84 {
            let mut bytes = PACKET_BYTES[..8 + n].to_vec();
            bytes[7] = n as u8;
            let got = records(&bytes, 1).next().unwrap();
            if n < 16 + 66 {
                let err = got.unwrap_err();
                assert_eq!(err.layer(), Layer::SflowFlowRecord, "{n} bytes");
                assert_eq!(err.kind(), "truncated", "{n} bytes");
            } else {
                let FlowData::SampledHeader(h) = got.unwrap().data else {
                    panic!("{n} bytes")
                };
                assert_eq!(h.header().len(), 66);
            }
        }
        // Fixed structures report their size against the bytes there are.
        let ipv4 = &RECORDS_BYTES[40..72];
        for n in 0..ipv4.len() {
            assert_eq!(
                FlowData::parse(0, 3, &ipv4[..n], 1000).err(),
                Some(Error::Truncated {
                    layer: Layer::SflowFlowRecord,
                    offset: 1000,
                    needed: 32,
                    available: n
                })
            );
        }
        // Variable structures (router, gateway) fail at the field that is cut.
        for (format, data) in [
            (1002, &RECORDS_BYTES[168..184]),
            (1003, &RECORDS_BYTES[192..]),
        ] {
            for n in 0..data.len() {
                let err = FlowData::parse(0, format, &data[..n], 1000).unwrap_err();
                assert_eq!(err.layer(), Layer::SflowFlowRecord, "{format}, {n} bytes");
                assert!(
                    matches!(err.kind(), "truncated" | "invalid"),
                    "{format} {n}: {err:?}"
                );
            }
        }
        // A record that overruns the sample ends the iteration with one error.
        let mut records = records(&RECORDS_BYTES[..100], 6);
        assert!(records.next().unwrap().is_ok());
        assert!(records.next().unwrap().is_ok());
        let err = records.next().unwrap().unwrap_err();
        assert!(
            matches!(
                err,
                crate::Error::Invalid {
                    layer: Layer::SflowFlowRecord,
                    field: "length",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(records.next().is_none());
    }
}
