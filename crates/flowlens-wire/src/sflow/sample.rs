//! sFlow v5 sample headers: `flow_sample` (1), `counter_sample` (2), `flow_sample_expanded` (3),
//! `counter_sample_expanded` (4) and the dropped-packet notification `discarded_packet` (5).

use super::counter_record::CounterRecords;
use super::flow_record::FlowRecords;
use super::interface::Interface;
use crate::error::{Layer, Result};
use crate::reader::Reader;
use crate::value::{FieldVisitor, Value};

/// One `sample_record` of a datagram.
#[derive(Clone, Copy, Debug)]
pub enum Sample<'a> {
    /// `flow_sample` (enterprise 0 format 1) or `flow_sample_expanded` (format 3).
    Flow(FlowSample<'a>),
    /// `counter_sample` (enterprise 0 format 2) or `counter_sample_expanded` (format 4).
    Counter(CounterSample<'a>),
    /// `discarded_packet` (enterprise 0 format 5, sFlow Dropped Packet Notification Structures).
    Discard(DiscardSample<'a>),
    /// Any other enterprise/format, carried as bytes.
    Unknown(UnknownSample<'a>),
}

impl<'a> Sample<'a> {
    /// Decodes the sample header of a `sample_record` whose envelope starts at absolute `offset`
    /// and whose data `r` covers.
    pub(crate) fn parse(
        enterprise: u32,
        format: u32,
        offset: usize,
        r: Reader<'a>,
    ) -> Result<Self> {
        let r = r.with_layer(Layer::SflowSample);
        Ok(match (enterprise, format) {
            (0, 1) => Sample::Flow(FlowSample::parse(false, offset, r)?),
            (0, 3) => Sample::Flow(FlowSample::parse(true, offset, r)?),
            (0, 2) => Sample::Counter(CounterSample::parse(false, offset, r)?),
            (0, 4) => Sample::Counter(CounterSample::parse(true, offset, r)?),
            (0, 5) => Sample::Discard(DiscardSample::parse(offset, r)?),
            _ => Sample::Unknown(UnknownSample {
                enterprise,
                format,
                offset,
                data: r.rest(),
            }),
        })
    }

    /// Spec structure name: `"flow_sample"`, `"expanded_flow_sample"`, `"counter_sample"`,
    /// `"expanded_counter_sample"`, `"discarded_packet"` or `"unknown_sample"`.
    pub const fn name(&self) -> &'static str {
        match self {
            Sample::Flow(s) if s.expanded => "expanded_flow_sample",
            Sample::Flow(_) => "flow_sample",
            Sample::Counter(s) if s.expanded => "expanded_counter_sample",
            Sample::Counter(_) => "counter_sample",
            Sample::Discard(_) => "discarded_packet",
            Sample::Unknown(_) => "unknown_sample",
        }
    }

    /// Enterprise number of the sample format (0 = sFlow standard).
    pub const fn enterprise(&self) -> u32 {
        match self {
            Sample::Unknown(s) => s.enterprise,
            _ => 0,
        }
    }

    /// Sample format number (1..=5 for the standard samples).
    pub const fn format(&self) -> u32 {
        match self {
            Sample::Flow(s) if s.expanded => 3,
            Sample::Flow(_) => 1,
            Sample::Counter(s) if s.expanded => 4,
            Sample::Counter(_) => 2,
            Sample::Discard(_) => 5,
            Sample::Unknown(s) => s.format,
        }
    }

    /// Absolute offset of the `sample_record` (its `data_format` word) in the datagram.
    pub const fn offset(&self) -> usize {
        match self {
            Sample::Flow(s) => s.offset,
            Sample::Counter(s) => s.offset,
            Sample::Discard(s) => s.offset,
            Sample::Unknown(s) => s.offset,
        }
    }

    /// Visits the sample header fields (not its records).
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        match self {
            Sample::Flow(s) => s.visit_fields(v),
            Sample::Counter(s) => s.visit_fields(v),
            Sample::Discard(s) => s.visit_fields(v),
            Sample::Unknown(s) => s.visit_fields(v),
        }
    }
}

/// Reads a data source: compact `source_id` (type in the top 8 bits, index in the low 24) or
/// expanded `sflow_data_source_expanded` (`source_id_type` u32, `source_id_index` u32).
/// Visits the header fields every sample kind starts with: `sequence_number`,
/// `source_id_type`, `source_id_index`.
fn visit_header(v: &mut impl FieldVisitor, sequence: u32, source_type: u32, source_index: u32) {
    v.field("sequence_number", Value::U64(u64::from(sequence)));
    v.field("source_id_type", Value::U64(u64::from(source_type)));
    v.field("source_id_index", Value::U64(u64::from(source_index)));
}

fn source(expanded: bool, r: &mut Reader<'_>) -> Result<(u32, u32)> {
    if expanded {
        Ok((r.u32()?, r.u32()?))
    } else {
        Ok(split_source(r.u32()?))
    }
}

/// The compact `source_id`'s type (top 8 bits) and index (low 24 bits).
const fn split_source(v: u32) -> (u32, u32) {
    (v >> 24, v & 0x00FF_FFFF)
}

/// A flow sample: sFlow v5 `flow_sample` (enterprise 0 format 1) or `flow_sample_expanded`
/// (enterprise 0 format 3). All fields XDR big-endian u32.
#[derive(Clone, Copy, Debug)]
pub struct FlowSample<'a> {
    expanded: bool,
    offset: usize,
    sequence_number: u32,
    source_id_type: u32,
    source_id_index: u32,
    sampling_rate: u32,
    sample_pool: u32,
    drops: u32,
    input: Interface,
    output: Interface,
    records_count: u32,
    records: Reader<'a>,
}

impl<'a> FlowSample<'a> {
    fn parse(expanded: bool, offset: usize, mut r: Reader<'a>) -> Result<Self> {
        // The fixed header in one read (this runs once per flow sample), the compact form
        // spread into the expanded one's words: source id type and index, and each
        // interface's format (top 2 bits) and value (the other 30).
        let [seq, st, si, rate, pool, drops, fi, vi, fo, vo, n] = if expanded {
            r.words::<11>()?
        } else {
            let [seq, src, rate, pool, drops, input, output, n] = r.words::<8>()?;
            let (st, si) = split_source(src);
            let (fi, vi) = Interface::split_compact(input);
            let (fo, vo) = Interface::split_compact(output);
            [seq, st, si, rate, pool, drops, fi, vi, fo, vo, n]
        };
        Ok(FlowSample {
            expanded,
            offset,
            sequence_number: seq,
            source_id_type: st,
            source_id_index: si,
            sampling_rate: rate,
            sample_pool: pool,
            drops,
            input: Interface::from_expanded(fi, vi),
            output: Interface::from_expanded(fo, vo),
            records_count: n,
            records: r,
        })
    }

    /// True for `flow_sample_expanded` (format 3).
    pub const fn is_expanded(&self) -> bool {
        self.expanded
    }
    /// `sequence_number`: incremented with each flow sample from this source.
    pub const fn sequence_number(&self) -> u32 {
        self.sequence_number
    }
    /// `source_id_type`: data source class (0 = ifIndex, 1 = smonVlanDataSource, 2 =
    /// entPhysicalEntry).
    pub const fn source_id_type(&self) -> u32 {
        self.source_id_type
    }
    /// `source_id_index`: data source index (24 bits in the compact form).
    pub const fn source_id_index(&self) -> u32 {
        self.source_id_index
    }
    /// `sampling_rate`: one packet in this many was sampled.
    pub const fn sampling_rate(&self) -> u32 {
        self.sampling_rate
    }
    /// `sample_pool`: total packets that could have been sampled.
    pub const fn sample_pool(&self) -> u32 {
        self.sample_pool
    }
    /// `drops`: samples dropped for lack of resources.
    pub const fn drops(&self) -> u32 {
        self.drops
    }
    /// `input`: interface the packet was received on.
    pub const fn input(&self) -> Interface {
        self.input
    }
    /// `output`: interface the packet was sent on.
    pub const fn output(&self) -> Interface {
        self.output
    }
    /// Declared number of flow records.
    pub const fn records_count(&self) -> u32 {
        self.records_count
    }
    /// The flow records.
    pub fn records(&self) -> FlowRecords<'a> {
        FlowRecords::new(self.records, self.records_count)
    }
    /// Visits `sequence_number`, `source_id_type`, `source_id_index`, `sampling_rate`,
    /// `sample_pool`, `drops`, `input`, `output`, `flow_records` (declared count).
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        visit_header(
            v,
            self.sequence_number,
            self.source_id_type,
            self.source_id_index,
        );
        v.field("sampling_rate", Value::U64(u64::from(self.sampling_rate)));
        v.field("sample_pool", Value::U64(u64::from(self.sample_pool)));
        v.field("drops", Value::U64(u64::from(self.drops)));
        v.field("input", self.input.value());
        v.field("output", self.output.value());
        v.field("flow_records", Value::U64(u64::from(self.records_count)));
    }
}

/// A counter sample: sFlow v5 `counters_sample` (enterprise 0 format 2) or
/// `counters_sample_expanded` (enterprise 0 format 4). All fields XDR big-endian u32.
#[derive(Clone, Copy, Debug)]
pub struct CounterSample<'a> {
    expanded: bool,
    offset: usize,
    sequence_number: u32,
    source_id_type: u32,
    source_id_index: u32,
    records_count: u32,
    records: Reader<'a>,
}

impl<'a> CounterSample<'a> {
    fn parse(expanded: bool, offset: usize, mut r: Reader<'a>) -> Result<Self> {
        let sequence_number = r.u32()?;
        let (source_id_type, source_id_index) = source(expanded, &mut r)?;
        let records_count = r.u32()?;
        Ok(CounterSample {
            expanded,
            offset,
            sequence_number,
            source_id_type,
            source_id_index,
            records_count,
            records: r,
        })
    }

    /// True for `counters_sample_expanded` (format 4).
    pub const fn is_expanded(&self) -> bool {
        self.expanded
    }
    /// `sequence_number`: incremented with each counter sample from this source.
    pub const fn sequence_number(&self) -> u32 {
        self.sequence_number
    }
    /// `source_id_type`: data source class (0 = ifIndex, 1 = smonVlanDataSource, 2 =
    /// entPhysicalEntry).
    pub const fn source_id_type(&self) -> u32 {
        self.source_id_type
    }
    /// `source_id_index`: data source index.
    pub const fn source_id_index(&self) -> u32 {
        self.source_id_index
    }
    /// Declared number of counter records.
    pub const fn records_count(&self) -> u32 {
        self.records_count
    }
    /// The counter records.
    pub fn records(&self) -> CounterRecords<'a> {
        CounterRecords::new(self.records, self.records_count)
    }
    /// Visits `sequence_number`, `source_id_type`, `source_id_index`, `counters` (declared
    /// count).
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        visit_header(
            v,
            self.sequence_number,
            self.source_id_type,
            self.source_id_index,
        );
        v.field("counters", Value::U64(u64::from(self.records_count)));
    }
}

/// A dropped-packet notification: `discarded_packet`, enterprise 0 format 5 (sflow.org "sFlow
/// Dropped Packet Notification Structures", 2020). Layout (XDR big-endian u32s):
/// `sequence_number`, `source_id` (expanded: type, index), `drops`, `input` (ifIndex, 0 =
/// unknown), `output` (ifIndex, 0 = unknown), `reason` (`drop_reason`), `discard` flow records.
#[derive(Clone, Copy, Debug)]
pub struct DiscardSample<'a> {
    offset: usize,
    sequence_number: u32,
    source_id_type: u32,
    source_id_index: u32,
    drops: u32,
    input: u32,
    output: u32,
    reason: u32,
    records_count: u32,
    records: Reader<'a>,
}

impl<'a> DiscardSample<'a> {
    fn parse(offset: usize, mut r: Reader<'a>) -> Result<Self> {
        let sequence_number = r.u32()?;
        let (source_id_type, source_id_index) = source(true, &mut r)?;
        Ok(DiscardSample {
            offset,
            sequence_number,
            source_id_type,
            source_id_index,
            drops: r.u32()?,
            input: r.u32()?,
            output: r.u32()?,
            reason: r.u32()?,
            records_count: r.u32()?,
            records: r,
        })
    }

    /// `sequence_number`: incremented with each discard notification from this source.
    pub const fn sequence_number(&self) -> u32 {
        self.sequence_number
    }
    /// `source_id_type` of the expanded data source.
    pub const fn source_id_type(&self) -> u32 {
        self.source_id_type
    }
    /// `source_id_index` of the expanded data source.
    pub const fn source_id_index(&self) -> u32 {
        self.source_id_index
    }
    /// `drops`: discard notifications the agent could not send.
    pub const fn drops(&self) -> u32 {
        self.drops
    }
    /// `input`: ifIndex the packet arrived on (0 = unknown).
    pub const fn input(&self) -> u32 {
        self.input
    }
    /// `output`: ifIndex the packet was to leave on (0 = unknown).
    pub const fn output(&self) -> u32 {
        self.output
    }
    /// `reason`: the `drop_reason` code.
    pub const fn reason(&self) -> u32 {
        self.reason
    }
    /// The `drop_reason` enum name of [`DiscardSample::reason`], if known.
    pub fn reason_name(&self) -> Option<&'static str> {
        drop_reason_name(self.reason)
    }
    /// Declared number of flow records.
    pub const fn records_count(&self) -> u32 {
        self.records_count
    }
    /// The flow records describing the dropped packet.
    pub fn records(&self) -> FlowRecords<'a> {
        FlowRecords::new(self.records, self.records_count)
    }
    /// Visits `sequence_number`, `source_id_type`, `source_id_index`, `drops`, `input`, `output`,
    /// `reason` (the enum name when known, else the number), `flow_records` (declared count).
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        visit_header(
            v,
            self.sequence_number,
            self.source_id_type,
            self.source_id_index,
        );
        v.field("drops", Value::U64(u64::from(self.drops)));
        v.field("input", Value::U64(u64::from(self.input)));
        v.field("output", Value::U64(u64::from(self.output)));
        match self.reason_name() {
            Some(n) => v.field("reason", Value::Name(n)),
            None => v.field("reason", Value::U64(u64::from(self.reason))),
        }
        v.field("flow_records", Value::U64(u64::from(self.records_count)));
    }
}

/// A sample of an enterprise/format this decoder does not know, carried as bytes.
#[derive(Clone, Copy, Debug)]
pub struct UnknownSample<'a> {
    enterprise: u32,
    format: u32,
    offset: usize,
    data: &'a [u8],
}

impl<'a> UnknownSample<'a> {
    /// Enterprise number (top 20 bits of `data_format`).
    pub const fn enterprise(&self) -> u32 {
        self.enterprise
    }
    /// Format number (low 12 bits of `data_format`).
    pub const fn format(&self) -> u32 {
        self.format
    }
    /// The sample data (after the envelope).
    pub const fn data(&self) -> &'a [u8] {
        self.data
    }
    /// Visits `enterprise`, `format` and `length` (bytes of sample data).
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        v.field("enterprise", Value::U64(u64::from(self.enterprise)));
        v.field("format", Value::U64(u64::from(self.format)));
        v.field("length", Value::U64(self.data.len() as u64));
    }
}

/// Name of an sFlow `drop_reason` code (sFlow Dropped Packet Notification Structures, 2020;
/// values 0..=15 are the ICMP destination-unreachable codes, 256.. the extended reasons, as
/// listed in sflow.org's `sflow_drop.h` from the Host sFlow agent).
pub fn drop_reason_name(reason: u32) -> Option<&'static str> {
    const ICMP: [&str; 16] = [
        "net_unreachable",
        "host_unreachable",
        "protocol_unreachable",
        "port_unreachable",
        "frag_needed",
        "src_route_failed",
        "dst_net_unknown",
        "dst_host_unknown",
        "src_host_isolated",
        "dst_net_prohibited",
        "dst_host_prohibited",
        "dst_net_tos_unreachable",
        "dst_host_tos_unreacheable",
        "comm_admin_prohibited",
        "host_precedence_violation",
        "precedence_cutoff",
    ];
    const EXTENDED: [&str; 117] = [
        "unknown",
        "ttl_exceeded",
        "acl",
        "no_buffer_space",
        "red",
        "traffic_shaping",
        "pkt_too_big",
        "src_mac_is_multicast",
        "vlan_tag_mismatch",
        "ingress_vlan_filter",
        "ingress_spanning_tree_filter",
        "port_list_is_empty",
        "port_loopback_filter",
        "blackhole_route",
        "non_ip",
        "uc_dip_over_mc_dmac",
        "dip_is_loopback_address",
        "sip_is_mc",
        "sip_is_loopback_address",
        "ip_header_corrupted",
        "ipv4_sip_is_limited_bc",
        "ipv6_mc_dip_reserved_scope",
        "ipv6_mc_dip_interface_local_scope",
        "unresolved_neigh",
        "mc_reverse_path_forwarding",
        "non_routable_packet",
        "decap_error",
        "overlay_smac_is_mc",
        "unknown_l2",
        "unknown_l3",
        "unknown_l3_exception",
        "unknown_buffer",
        "unknown_tunnel",
        "unknown_l4",
        "sip_is_unspecified",
        "mlag_port_isolation",
        "blackhole_arp_neigh",
        "src_mac_is_dmac",
        "dmac_is_reserved",
        "sip_is_class_e",
        "mc_dmac_mismatch",
        "sip_is_dip",
        "dip_is_local_network",
        "dip_is_link_local",
        "overlay_smac_is_dmac",
        "egress_vlan_filter",
        "uc_reverse_path_forwarding",
        "split_horizon",
        "locked_port",
        "dmac_filter",
        "blackhole_nexthop",
        "vxlan_parsing",
        "llc_snap_parsing",
        "vlan_parsing",
        "pppoe_ppp_parsing",
        "mpls_parsing",
        "arp_parsing",
        "ip_1_parsing",
        "ip_n_parsing",
        "gre_parsing",
        "udp_parsing",
        "tcp_parsing",
        "ipsec_parsing",
        "sctp_parsing",
        "dccp_parsing",
        "gtp_parsing",
        "esp_parsing",
        "unknown_parsing",
        "pkt_too_small",
        "unhandled_proto",
        "ipv6disabled",
        "invalid_proto",
        "ip_noproto",
        "skb_csum",
        "skb_ucopy_fault",
        "dev_ready",
        "dev_hdr",
        "dup_frag",
        "skb_gso_seg",
        "reverse_path_forwarding",
        "icmp_parsing",
        "tcp_md5notfound",
        "tcp_md5unexpected",
        "tcp_md5failure",
        "tcp_flags",
        "tcp_zerowindow",
        "tcp_old_data",
        "tcp_overwindow",
        "tcp_ofomerge",
        "tcp_rfc7323_paws",
        "tcp_invalid_sequence",
        "tcp_reset",
        "tcp_invalid_syn",
        "tcp_close",
        "tcp_fastopen",
        "tcp_old_ack",
        "tcp_too_old_ack",
        "tcp_ack_unsent_data",
        "tcp_ofo_queue_prune",
        "tcp_ofo_drop",
        "tcp_minttl",
        "ipv6_bad_exthdr",
        "ipv6_ndisc_frag",
        "ipv6_ndisc_hop_limit",
        "ipv6_ndisc_bad_code",
        "ipv6_ndisc_bad_options",
        "ipv6_ndisc_ns_otherhost",
        "tap_filter",
        "tap_txfilter",
        "tc_ingress",
        "tc_egress",
        "xdp",
        "cpu_backlog",
        "bpf_cgroup_egress",
        "xfrm_policy",
        "socket_filter",
        "bgp_flowspec",
    ];
    let i = usize::try_from(reason).ok()?;
    match i.checked_sub(256) {
        Some(e) => EXTENDED.get(e).copied(),
        None => ICMP.get(i).copied(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::bytes::testing::visited;
    use crate::sflow::flow_record::FlowData;
    use crate::Error;

    /// Absolute offset of the sample data (after the 8-byte `sample_record` envelope) in the
    /// datagrams these bytes come from: 28-byte IPv4-agent header, then the envelope.
    const BASE: usize = 36;

    /// Frame 3 of `exporters/sflow-ovs-br0.pcap` (Open vSwitch), UDP payload bytes 36..92: the
    /// data of its first `flow_sample` (enterprise 0, format 1, length 148) up to and including
    /// its first record; the second record (a `sampled_header`) is left out. Values as
    /// `tshark -V -O sflow` shows them.
    static PACKET_BYTES: [u8; 56] = [
        0x00, 0x00, 0x00, 0x02, // sequence_number 2
        0x02, 0x00, 0x03, 0xe8, // source_id: type 2 (top 8 bits), index 1000 (low 24)
        0x00, 0x00, 0x00, 0x0a, // sampling_rate 1 in 10
        0x00, 0x00, 0x00, 0x14, // sample_pool 20
        0x00, 0x00, 0x00, 0x00, // drops 0
        0x00, 0x00, 0x00, 0x27, // input: format 0 (top 2 bits), ifIndex 39
        0x80, 0x00, 0x00, 0x02, // output: format 2 (multiple), 2 interfaces
        0x00, 0x00, 0x00, 0x02, // flow_records<> count 2
        0x00, 0x00, 0x03, 0xe9, // record data_format: enterprise 0, format 1001
        0x00, 0x00, 0x00, 0x10, // record length 16
        0x00, 0x00, 0x00, 0x00, // extended_switch src_vlan 0
        0x00, 0x00, 0x00, 0x00, // src_priority 0
        0x00, 0x00, 0x00, 0x00, // dst_vlan 0
        0x00, 0x00, 0x00, 0x00, // dst_priority 0
    ];

    /// `flow_sample_expanded` (enterprise 0, format 3) data, laid out as the sFlow v5 spec's
    /// `flow_sample_expanded` (`sflow_data_source_expanded` and `interface_expanded` as two u32s).
    static EXPANDED_FLOW_BYTES: [u8; 44] = [
        0x00, 0x00, 0x00, 0x07, // sequence_number 7
        0x00, 0x00, 0x00, 0x00, // source_id_type 0 (ifIndex)
        0x01, 0x00, 0x00, 0x00, // source_id_index 16777216 (wider than the compact 24 bits)
        0x00, 0x00, 0x01, 0x00, // sampling_rate 256
        0x00, 0x00, 0x10, 0x00, // sample_pool 4096
        0x00, 0x00, 0x00, 0x03, // drops 3
        0x00, 0x00, 0x00, 0x00, // input.format 0 (ifIndex)
        0x00, 0x00, 0x00, 0x11, // input.value 17
        0x00, 0x00, 0x00, 0x01, // output.format 1 (discarded)
        0x00, 0x00, 0x01, 0x02, // output.value 258 (reason)
        0x00, 0x00, 0x00, 0x00, // flow_records<> count 0
    ];

    /// Frame 1 of `exporters/sflow-ovs-br0.pcap`, UDP payload bytes 36..48: the header of its
    /// `counters_sample` (enterprise 0, format 2, length 208); its 4 records are left out.
    static COUNTERS_BYTES: [u8; 12] = [
        0x00, 0x00, 0x00, 0x02, // sequence_number 2
        0x00, 0x00, 0x00, 0x27, // source_id: type 0, index 39
        0x00, 0x00, 0x00, 0x04, // counter_records<> count 4
    ];

    /// `counters_sample_expanded` (enterprise 0, format 4) data.
    static EXPANDED_COUNTERS_BYTES: [u8; 16] = [
        0x00, 0x00, 0x00, 0x03, // sequence_number 3
        0x00, 0x00, 0x00, 0x02, // source_id_type 2 (entPhysicalEntry)
        0x01, 0x00, 0x00, 0x01, // source_id_index 16777217
        0x00, 0x00, 0x00, 0x00, // counter_records<> count 0
    ];

    /// `discarded_packet` (enterprise 0, format 5) data, per sFlow Dropped Packet Notification
    /// Structures.
    static DISCARD_BYTES: [u8; 36] = [
        0x00, 0x00, 0x00, 0x01, // sequence_number 1
        0x00, 0x00, 0x00, 0x00, // source_id_type 0
        0x00, 0x00, 0x00, 0x03, // source_id_index 3
        0x00, 0x00, 0x00, 0x04, // drops 4
        0x00, 0x00, 0x00, 0x03, // input ifIndex 3
        0x00, 0x00, 0x00, 0x00, // output 0 (unknown)
        0x00, 0x00, 0x01, 0x02, // reason 258 (acl)
        0x00, 0x00, 0x00, 0x00, // discard<> flow record count 0
        0xde, 0xad, 0xbe, 0xef, // bytes after the declared records (ignored)
    ];

    fn parse(format: u32, bytes: &[u8]) -> Result<Sample<'_>> {
        Sample::parse(
            0,
            format,
            BASE,
            Reader::new(bytes, BASE, Layer::SflowSample),
        )
    }

    #[test]
    fn flow_sample() {
        let s = parse(1, &PACKET_BYTES).unwrap();
        assert_eq!(
            (s.name(), s.enterprise(), s.format()),
            ("flow_sample", 0, 1)
        );
        assert_eq!(s.offset(), BASE);
        let Sample::Flow(f) = s else {
            panic!("not a flow sample: {s:?}")
        };
        assert!(!f.is_expanded());
        assert_eq!(f.sequence_number(), 2);
        assert_eq!((f.source_id_type(), f.source_id_index()), (2, 1000));
        assert_eq!(f.sampling_rate(), 10);
        assert_eq!(f.sample_pool(), 20);
        assert_eq!(f.drops(), 0);
        assert_eq!(f.input(), Interface::Index(39));
        assert_eq!(f.output(), Interface::Multiple { count: 2 });
        assert_eq!(f.records_count(), 2);
        assert_eq!(
            visited(|v| s.visit_fields(v)),
            [
                "sequence_number=2",
                "source_id_type=2",
                "source_id_index=1000",
                "sampling_rate=10",
                "sample_pool=20",
                "drops=0",
                "input=39",
                "output=multiple",
                "flow_records=2"
            ]
        );
        // The first record decodes; the second, declared but absent, is one truncation error.
        let mut records = f.records();
        let r = records.next().unwrap().unwrap();
        assert_eq!((r.enterprise, r.format, r.offset), (0, 1001, BASE + 40));
        assert!(matches!(r.data, FlowData::ExtendedSwitch(_)));
        let err = records.next().unwrap().unwrap_err();
        assert_eq!(
            (err.layer(), err.offset(), err.kind()),
            (Layer::SflowFlowRecord, BASE + 56, "truncated")
        );
        assert!(records.next().is_none());
    }

    #[test]
    fn expanded_flow_sample() {
        let s = parse(3, &EXPANDED_FLOW_BYTES).unwrap();
        assert_eq!((s.name(), s.format()), ("expanded_flow_sample", 3));
        let Sample::Flow(f) = s else {
            panic!("not a flow sample: {s:?}")
        };
        assert!(f.is_expanded());
        assert_eq!(f.sequence_number(), 7);
        assert_eq!((f.source_id_type(), f.source_id_index()), (0, 16_777_216));
        assert_eq!(
            (f.sampling_rate(), f.sample_pool(), f.drops()),
            (256, 4096, 3)
        );
        assert_eq!(f.input(), Interface::Index(17));
        assert_eq!(f.output(), Interface::Discard { reason: 258 });
        assert_eq!(f.records_count(), 0);
        assert!(f.records().next().is_none());
        assert_eq!(
            visited(|v| f.visit_fields(v))[6..8],
            ["input=17", "output=discard"]
        );
    }

    #[test]
    fn counters_sample() {
        let s = parse(2, &COUNTERS_BYTES).unwrap();
        assert_eq!(
            (s.name(), s.format(), s.offset()),
            ("counter_sample", 2, BASE)
        );
        let Sample::Counter(c) = s else {
            panic!("not a counter sample: {s:?}")
        };
        assert!(!c.is_expanded());
        assert_eq!(c.sequence_number(), 2);
        assert_eq!((c.source_id_type(), c.source_id_index()), (0, 39));
        assert_eq!(c.records_count(), 4);
        assert_eq!(
            visited(|v| s.visit_fields(v)),
            [
                "sequence_number=2",
                "source_id_type=0",
                "source_id_index=39",
                "counters=4"
            ]
        );
        let mut records = c.records();
        let err = records.next().unwrap().unwrap_err();
        assert_eq!(
            (err.layer(), err.offset(), err.kind()),
            (Layer::SflowCounterRecord, BASE + 12, "truncated")
        );
        assert!(records.next().is_none());
    }

    #[test]
    fn expanded_counters_sample() {
        let s = parse(4, &EXPANDED_COUNTERS_BYTES).unwrap();
        assert_eq!((s.name(), s.format()), ("expanded_counter_sample", 4));
        let Sample::Counter(c) = s else {
            panic!("not a counter sample: {s:?}")
        };
        assert!(c.is_expanded());
        assert_eq!(c.sequence_number(), 3);
        assert_eq!((c.source_id_type(), c.source_id_index()), (2, 16_777_217));
        assert_eq!(c.records_count(), 0);
        assert!(c.records().next().is_none());
    }

    #[test]
    fn discard_sample() {
        let s = parse(5, &DISCARD_BYTES).unwrap();
        assert_eq!((s.name(), s.format()), ("discarded_packet", 5));
        let Sample::Discard(d) = s else {
            panic!("not a discard sample: {s:?}")
        };
        assert_eq!(d.sequence_number(), 1);
        assert_eq!((d.source_id_type(), d.source_id_index()), (0, 3));
        assert_eq!((d.drops(), d.input(), d.output()), (4, 3, 0));
        assert_eq!((d.reason(), d.reason_name()), (258, Some("acl")));
        assert_eq!(d.records_count(), 0);
        assert!(d.records().next().is_none());
        assert_eq!(visited(|v| d.visit_fields(v))[6], "reason=acl");
        assert_eq!(drop_reason_name(3), Some("port_unreachable"));
        assert_eq!(drop_reason_name(16), None);
        assert_eq!(drop_reason_name(256 + 117), None);
    }

    #[test]
    fn unknown_sample() {
        let s = Sample::parse(
            4300,
            1,
            BASE,
            Reader::new(&COUNTERS_BYTES, BASE, Layer::SflowSample),
        )
        .unwrap();
        assert_eq!(
            (s.name(), s.enterprise(), s.format()),
            ("unknown_sample", 4300, 1)
        );
        let Sample::Unknown(u) = s else {
            panic!("not unknown: {s:?}")
        };
        assert_eq!(u.data(), &COUNTERS_BYTES[..]);
        assert_eq!(
            visited(|v| s.visit_fields(v)),
            ["enterprise=4300", "format=1", "length=12"]
        );
    }

    /// Every prefix of a sample header that ends inside it is a truncation error at the field
    /// that is cut (all fields are 4-byte XDR words), attributed to the sample layer.
    #[test]
    fn truncated() {
        let headers: [(u32, &[u8]); 5] = [
            (1, &PACKET_BYTES[..32]),
            (3, &EXPANDED_FLOW_BYTES),
            (2, &COUNTERS_BYTES),
            (4, &EXPANDED_COUNTERS_BYTES),
            (5, &DISCARD_BYTES[..32]),
        ];
        for (format, bytes) in headers {
            for n in 0..bytes.len() {
                let at = n / 4 * 4;
                assert_eq!(
                    parse(format, &bytes[..n]).err(),
                    Some(Error::Truncated {
                        layer: Layer::SflowSample,
                        offset: BASE + at,
                        needed: 4,
                        available: n - at
                    }),
                    "format {format}, {n} bytes"
                );
            }
        }
    }
}
