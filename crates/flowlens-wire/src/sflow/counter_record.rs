//! sFlow v5 counter records (`counter_record`, `counter_data`): interface, processor, Host
//! sFlow, virtualization, application and Open vSwitch counter blocks.

use super::envelope::Envelopes;
use super::fixed::fixed_struct;
use super::read_string;
use crate::error::{Layer, Result};
use crate::reader::Reader;
use crate::value::{FieldVisitor, Value};

const L: Layer = Layer::SflowCounterRecord;

/// Spec structure name of counter record `enterprise:format` (sFlow v5 spec and sflow.org
/// structure registry), or `"unknown"`.
pub const fn counter_record_name(enterprise: u32, format: u32) -> &'static str {
    if enterprise != 0 {
        return "unknown";
    }
    match format {
        1 => "if_counters",
        2 => "ethernet_counters",
        3 => "tokenring_counters",
        4 => "vg_counters",
        5 => "vlan_counters",
        6 => "ieee80211_counters",
        7 => "lag_port_stats",
        1001 => "processor",
        1002 => "radio_utilization",
        1004 => "of_port",
        1005 => "port_name",
        2000 => "host_descr",
        2001 => "host_adapters",
        2002 => "host_parent",
        2003 => "host_cpu",
        2004 => "host_memory",
        2005 => "host_disk_io",
        2006 => "host_net_io",
        2007 => "mib2_ip_group",
        2008 => "mib2_icmp_group",
        2009 => "mib2_tcp_group",
        2010 => "mib2_udp_group",
        2100 => "virt_node",
        2101 => "virt_cpu",
        2102 => "virt_memory",
        2103 => "virt_disk_io",
        2104 => "virt_net_io",
        2202 => "app_operations",
        2203 => "app_resources",
        2206 => "app_workers",
        2207 => "ovs_dp_stats",
        _ => "unknown",
    }
}

/// One counter record of a counter sample.
#[derive(Clone, Copy, Debug)]
pub struct CounterRecord<'a> {
    /// Enterprise number (top 20 bits of `data_format`; 0 = sFlow standard).
    pub enterprise: u32,
    /// Format number (low 12 bits of `data_format`).
    pub format: u32,
    /// Absolute offset of the record data (after the 8-byte envelope) in the datagram.
    pub offset: usize,
    /// The decoded record.
    pub data: CounterData<'a>,
}

impl CounterRecord<'_> {
    /// Spec structure name, e.g. `"if_counters"`, `"host_cpu"`, or `"unknown"`.
    pub const fn name(&self) -> &'static str {
        counter_record_name(self.enterprise, self.format)
    }

    /// Visits the record's fields (for `Unknown`: its `length` in bytes).
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        self.data.visit_fields(v);
    }
}

/// Declares [`CounterData`], its parser and its visitor from one table.
macro_rules! counter_data {
    ($( $(#[$meta:meta])* $variant:ident($ty:ident) = $format:literal, )+) => {
        /// The decoded body of a [`CounterRecord`], one variant per known structure.
        #[derive(Clone, Copy, Debug)]
        pub enum CounterData<'a> {
            $( $(#[$meta])* $variant($ty<'a>), )+
            /// Any other record, carried as its bytes.
            Unknown(&'a [u8]),
        }

        impl<'a> CounterData<'a> {
            fn parse(enterprise: u32, format: u32, data: &'a [u8], offset: usize) -> Result<Self> {
                if enterprise != 0 {
                    return Ok(CounterData::Unknown(data));
                }
                Ok(match format {
                    $( $format => CounterData::$variant($ty::parse(data, offset)?), )+
                    _ => CounterData::Unknown(data),
                })
            }

            /// Visits the record's fields (for `Unknown`: its `length` in bytes).
            pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
                match self {
                    $( CounterData::$variant(x) => x.visit_fields(v), )+
                    CounterData::Unknown(d) => v.field("length", Value::U64(d.len() as u64)),
                }
            }
        }
    };
}

counter_data! {
    /// `if_counters`, enterprise 0 format 1.
    Generic(IfCounters) = 1,
    /// `ethernet_counters`, enterprise 0 format 2.
    Ethernet(EthernetCounters) = 2,
    /// `tokenring_counters`, enterprise 0 format 3.
    TokenRing(TokenRingCounters) = 3,
    /// `vg_counters`, enterprise 0 format 4.
    Vg(VgCounters) = 4,
    /// `vlan_counters`, enterprise 0 format 5.
    Vlan(VlanCounters) = 5,
    /// `ieee80211_counters`, enterprise 0 format 6.
    Ieee80211(Ieee80211Counters) = 6,
    /// `lag_port_stats`, enterprise 0 format 7.
    Lacp(LagPortStats) = 7,
    /// `processor`, enterprise 0 format 1001.
    Processor(ProcessorCounters) = 1001,
    /// `radio_utilization`, enterprise 0 format 1002.
    Radio(RadioUtilization) = 1002,
    /// `of_port`, enterprise 0 format 1004.
    OpenFlowPort(OfPort) = 1004,
    /// `port_name`, enterprise 0 format 1005.
    PortName(PortName) = 1005,
    /// `host_descr`, enterprise 0 format 2000.
    HostDescr(HostDescr) = 2000,
    /// `host_adapters`, enterprise 0 format 2001.
    HostAdapters(HostAdapters) = 2001,
    /// `host_parent`, enterprise 0 format 2002.
    HostParent(HostParent) = 2002,
    /// `host_cpu`, enterprise 0 format 2003.
    HostCpu(HostCpu) = 2003,
    /// `host_memory`, enterprise 0 format 2004.
    HostMemory(HostMemory) = 2004,
    /// `host_disk_io`, enterprise 0 format 2005.
    HostDiskIo(HostDiskIo) = 2005,
    /// `host_net_io`, enterprise 0 format 2006.
    HostNetIo(HostNetIo) = 2006,
    /// `mib2_ip_group`, enterprise 0 format 2007.
    Mib2Ip(Mib2Ip) = 2007,
    /// `mib2_icmp_group`, enterprise 0 format 2008.
    Mib2Icmp(Mib2Icmp) = 2008,
    /// `mib2_tcp_group`, enterprise 0 format 2009.
    Mib2Tcp(Mib2Tcp) = 2009,
    /// `mib2_udp_group`, enterprise 0 format 2010.
    Mib2Udp(Mib2Udp) = 2010,
    /// `virt_node`, enterprise 0 format 2100.
    VirtNode(VirtNode) = 2100,
    /// `virt_cpu`, enterprise 0 format 2101.
    VirtCpu(VirtCpu) = 2101,
    /// `virt_memory`, enterprise 0 format 2102.
    VirtMemory(VirtMemory) = 2102,
    /// `virt_disk_io`, enterprise 0 format 2103.
    VirtDiskIo(VirtDiskIo) = 2103,
    /// `virt_net_io`, enterprise 0 format 2104.
    VirtNetIo(VirtNetIo) = 2104,
    /// `app_resources`, enterprise 0 format 2203.
    AppResources(AppResources) = 2203,
    /// `ovs_dp_stats` (Open vSwitch datapath), enterprise 0 format 2207.
    OvsDatapath(OvsDpStats) = 2207,
}

/// Iterator over the counter records of a counter sample.
///
/// A record whose length is shorter than its structure yields `Err(Error::Truncated)` and
/// iteration continues with the next record. An envelope that overruns the sample
/// (`Err(Error::Invalid)`), or data that ends before the declared record count
/// (`Err(Error::Truncated)`), ends the iteration after that one error. Bytes after the declared
/// count are ignored.
#[derive(Clone, Copy, Debug)]
pub struct CounterRecords<'a> {
    env: Envelopes<'a>,
}

impl<'a> CounterRecords<'a> {
    pub(crate) fn new(r: Reader<'a>, count: u32) -> Self {
        CounterRecords {
            env: Envelopes::new(r, count, L),
        }
    }
}

impl<'a> Iterator for CounterRecords<'a> {
    type Item = Result<CounterRecord<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(self.env.next_envelope()?.and_then(|e| {
            Ok(CounterRecord {
                enterprise: e.enterprise,
                format: e.format,
                offset: e.offset,
                data: CounterData::parse(e.enterprise, e.format, e.data, e.offset)?,
            })
        }))
    }
}

fixed_struct! {
    /// sFlow v5 `if_counters`, enterprise 0 format 1: generic interface counters (RFC 2233).
    IfCounters, "if_counters", L;
    if_index: u32 = "ifIndex", "interface index",
    if_type: u32 = "ifType", "interface type (IANAifType)",
    if_speed: u64 = "ifSpeed", "speed in bits per second",
    if_direction: u32 = "ifDirection", "0 = unknown, 1 = full-duplex, 2 = half-duplex, 3 = in, 4 = out",
    if_status: u32 = "ifStatus", "bit 0 = ifAdminStatus up, bit 1 = ifOperStatus up",
    if_in_octets: u64 = "ifInOctets", "octets received",
    if_in_ucast_pkts: u32 = "ifInUcastPkts", "unicast packets received",
    if_in_multicast_pkts: u32 = "ifInMulticastPkts", "multicast packets received",
    if_in_broadcast_pkts: u32 = "ifInBroadcastPkts", "broadcast packets received",
    if_in_discards: u32 = "ifInDiscards", "inbound packets discarded",
    if_in_errors: u32 = "ifInErrors", "inbound packets with errors",
    if_in_unknown_protos: u32 = "ifInUnknownProtos", "inbound packets of unknown protocol",
    if_out_octets: u64 = "ifOutOctets", "octets sent",
    if_out_ucast_pkts: u32 = "ifOutUcastPkts", "unicast packets sent",
    if_out_multicast_pkts: u32 = "ifOutMulticastPkts", "multicast packets sent",
    if_out_broadcast_pkts: u32 = "ifOutBroadcastPkts", "broadcast packets sent",
    if_out_discards: u32 = "ifOutDiscards", "outbound packets discarded",
    if_out_errors: u32 = "ifOutErrors", "outbound packets with errors",
    if_promiscuous_mode: u32 = "ifPromiscuousMode", "1 = promiscuous, 2 = not",
}

fixed_struct! {
    /// sFlow v5 `ethernet_counters`, enterprise 0 format 2 (RFC 2358 dot3Stats).
    EthernetCounters, "ethernet_counters", L;
    alignment_errors: u32 = "dot3StatsAlignmentErrors", "frames",
    fcs_errors: u32 = "dot3StatsFCSErrors", "frames",
    single_collision_frames: u32 = "dot3StatsSingleCollisionFrames", "frames",
    multiple_collision_frames: u32 = "dot3StatsMultipleCollisionFrames", "frames",
    sqe_test_errors: u32 = "dot3StatsSQETestErrors", "count",
    deferred_transmissions: u32 = "dot3StatsDeferredTransmissions", "frames",
    late_collisions: u32 = "dot3StatsLateCollisions", "count",
    excessive_collisions: u32 = "dot3StatsExcessiveCollisions", "frames",
    internal_mac_transmit_errors: u32 = "dot3StatsInternalMacTransmitErrors", "frames",
    carrier_sense_errors: u32 = "dot3StatsCarrierSenseErrors", "count",
    frame_too_longs: u32 = "dot3StatsFrameTooLongs", "frames",
    internal_mac_receive_errors: u32 = "dot3StatsInternalMacReceiveErrors", "frames",
    symbol_errors: u32 = "dot3StatsSymbolErrors", "count",
}

fixed_struct! {
    /// sFlow v5 `tokenring_counters`, enterprise 0 format 3 (RFC 1748 dot5Stats).
    TokenRingCounters, "tokenring_counters", L;
    line_errors: u32 = "dot5StatsLineErrors", "count",
    burst_errors: u32 = "dot5StatsBurstErrors", "count",
    ac_errors: u32 = "dot5StatsACErrors", "count",
    abort_trans_errors: u32 = "dot5StatsAbortTransErrors", "count",
    internal_errors: u32 = "dot5StatsInternalErrors", "count",
    lost_frame_errors: u32 = "dot5StatsLostFrameErrors", "count",
    receive_congestions: u32 = "dot5StatsReceiveCongestions", "count",
    frame_copied_errors: u32 = "dot5StatsFrameCopiedErrors", "count",
    token_errors: u32 = "dot5StatsTokenErrors", "count",
    soft_errors: u32 = "dot5StatsSoftErrors", "count",
    hard_errors: u32 = "dot5StatsHardErrors", "count",
    signal_loss: u32 = "dot5StatsSignalLoss", "count",
    transmit_beacons: u32 = "dot5StatsTransmitBeacons", "count",
    recoverys: u32 = "dot5StatsRecoverys", "count",
    lobe_wires: u32 = "dot5StatsLobeWires", "count",
    removes: u32 = "dot5StatsRemoves", "count",
    singles: u32 = "dot5StatsSingles", "count",
    freq_errors: u32 = "dot5StatsFreqErrors", "count",
}

fixed_struct! {
    /// sFlow v5 `vg_counters`, enterprise 0 format 4 (RFC 2020 100BaseVG dot12 counters).
    VgCounters, "vg_counters", L;
    in_high_priority_frames: u32 = "dot12InHighPriorityFrames", "frames",
    in_high_priority_octets: u64 = "dot12InHighPriorityOctets", "bytes",
    in_norm_priority_frames: u32 = "dot12InNormPriorityFrames", "frames",
    in_norm_priority_octets: u64 = "dot12InNormPriorityOctets", "bytes",
    in_ipm_errors: u32 = "dot12InIPMErrors", "frames",
    in_oversize_frame_errors: u32 = "dot12InOversizeFrameErrors", "frames",
    in_data_errors: u32 = "dot12InDataErrors", "frames",
    in_null_addressed_frames: u32 = "dot12InNullAddressedFrames", "frames",
    out_high_priority_frames: u32 = "dot12OutHighPriorityFrames", "frames",
    out_high_priority_octets: u64 = "dot12OutHighPriorityOctets", "bytes",
    transition_into_trainings: u32 = "dot12TransitionIntoTrainings", "count",
    hc_in_high_priority_octets: u64 = "dot12HCInHighPriorityOctets", "bytes",
    hc_in_norm_priority_octets: u64 = "dot12HCInNormPriorityOctets", "bytes",
    hc_out_high_priority_octets: u64 = "dot12HCOutHighPriorityOctets", "bytes",
}

fixed_struct! {
    /// sFlow v5 `vlan_counters`, enterprise 0 format 5.
    VlanCounters, "vlan_counters", L;
    vlan_id: u32 = "vlan_id", "802.1Q VLAN id",
    octets: u64 = "octets", "bytes",
    ucast_pkts: u32 = "ucastPkts", "unicast packets",
    multicast_pkts: u32 = "multicastPkts", "multicast packets",
    broadcast_pkts: u32 = "broadcastPkts", "broadcast packets",
    discards: u32 = "discards", "packets discarded",
}

fixed_struct! {
    /// sFlow `ieee80211_counters`, enterprise 0 format 6 (sFlow 802.11 structures, dot11
    /// counters of IEEE 802.11 MIB).
    Ieee80211Counters, "ieee80211_counters", L;
    transmitted_fragment_count: u32 = "dot11TransmittedFragmentCount", "count",
    multicast_transmitted_frame_count: u32 = "dot11MulticastTransmittedFrameCount", "count",
    failed_count: u32 = "dot11FailedCount", "count",
    retry_count: u32 = "dot11RetryCount", "count",
    multiple_retry_count: u32 = "dot11MultipleRetryCount", "count",
    frame_duplicate_count: u32 = "dot11FrameDuplicateCount", "count",
    rts_success_count: u32 = "dot11RTSSuccessCount", "count",
    rts_failure_count: u32 = "dot11RTSFailureCount", "count",
    ack_failure_count: u32 = "dot11ACKFailureCount", "count",
    received_fragment_count: u32 = "dot11ReceivedFragmentCount", "count",
    multicast_received_frame_count: u32 = "dot11MulticastReceivedFrameCount", "count",
    fcs_error_count: u32 = "dot11FCSErrorCount", "count",
    transmitted_frame_count: u32 = "dot11TransmittedFrameCount", "count",
    wep_undecryptable_count: u32 = "dot11WEPUndecryptableCount", "count",
    qos_discarded_fragment_count: u32 = "dot11QoSDiscardedFragmentCount", "count",
    associated_station_count: u32 = "dot11AssociatedStationCount", "count",
    qos_cf_polls_received_count: u32 = "dot11QoSCFPollsReceivedCount", "count",
    qos_cf_polls_unused_count: u32 = "dot11QoSCFPollsUnusedCount", "count",
    qos_cf_polls_unusable_count: u32 = "dot11QoSCFPollsUnusableCount", "count",
    qos_cf_polls_lost_count: u32 = "dot11QoSCFPollsLostCount", "count",
}

fixed_struct! {
    /// sFlow `lag_port_stats`, enterprise 0 format 7 (sFlow LAG counter structures, IEEE 802.3ad
    /// MIB).
    LagPortStats, "lag_port_stats", L;
    actor_system_id: [u8; 6] = "dot3adAggPortActorSystemID", "actor system MAC (padded to 8 bytes)",
    partner_oper_system_id: [u8; 6] = "dot3adAggPortPartnerOperSystemID", "partner system MAC (padded to 8 bytes)",
    attached_agg_id: u32 = "dot3adAggPortAttachedAggID", "ifIndex of the aggregator",
    port_state: u32 = "dot3adAggPortState", "bytes: actorAdmin, actorOper, partnerAdmin, partnerOper",
    lacpdus_rx: u32 = "dot3adAggPortStatsLACPDUsRx", "count",
    marker_pdus_rx: u32 = "dot3adAggPortStatsMarkerPDUsRx", "count",
    marker_response_pdus_rx: u32 = "dot3adAggPortStatsMarkerResponsePDUsRx", "count",
    unknown_rx: u32 = "dot3adAggPortStatsUnknownRx", "count",
    illegal_rx: u32 = "dot3adAggPortStatsIllegalRx", "count",
    lacpdus_tx: u32 = "dot3adAggPortStatsLACPDUsTx", "count",
    marker_pdus_tx: u32 = "dot3adAggPortStatsMarkerPDUsTx", "count",
    marker_response_pdus_tx: u32 = "dot3adAggPortStatsMarkerResponsePDUsTx", "count",
}

fixed_struct! {
    /// sFlow v5 `processor`, enterprise 0 format 1001.
    ProcessorCounters, "processor", L;
    five_sec_cpu: u32 = "5s_cpu", "5 second average CPU utilization, percent * 100",
    one_min_cpu: u32 = "1m_cpu", "1 minute average CPU utilization, percent * 100",
    five_min_cpu: u32 = "5m_cpu", "5 minute average CPU utilization, percent * 100",
    total_memory: u64 = "total_memory", "bytes",
    free_memory: u64 = "free_memory", "bytes",
}

fixed_struct! {
    /// sFlow `radio_utilization`, enterprise 0 format 1002 (sFlow 802.11 structures).
    RadioUtilization, "radio_utilization", L;
    elapsed_time: u32 = "elapsed_time", "measurement interval, ms",
    on_channel_time: u32 = "on_channel_time", "time on the assigned channel, ms",
    on_channel_busy_time: u32 = "on_channel_busy_time", "time busy on the channel, ms",
}

fixed_struct! {
    /// sFlow `of_port`, enterprise 0 format 1004 (sFlow OpenFlow structures).
    OfPort, "of_port", L;
    datapath_id: u64 = "datapath_id", "OpenFlow datapath id",
    port_no: u32 = "port_no", "OpenFlow port number",
}

fixed_struct! {
    /// Host sFlow `host_parent`, enterprise 0 format 2002.
    HostParent, "host_parent", L;
    container_type: u32 = "container_type", "sFlowDataSource type of the parent",
    container_index: u32 = "container_index", "sFlowDataSource index of the parent",
}

fixed_struct! {
    /// Host sFlow `host_cpu`, enterprise 0 format 2003 (68-byte base structure; later agents
    /// append `cpu_steal`, `cpu_guest`, `cpu_guest_nice`, kept in [`HostCpu::data`]).
    HostCpu, "host_cpu", L;
    load_one: f32 = "load_one", "1 minute load average",
    load_five: f32 = "load_five", "5 minute load average",
    load_fifteen: f32 = "load_fifteen", "15 minute load average",
    proc_run: u32 = "proc_run", "running processes",
    proc_total: u32 = "proc_total", "total processes",
    cpu_num: u32 = "cpu_num", "number of CPUs",
    cpu_speed: u32 = "cpu_speed", "CPU speed in MHz",
    uptime: u32 = "uptime", "seconds since boot",
    cpu_user: u32 = "cpu_user", "user time, ms",
    cpu_nice: u32 = "cpu_nice", "nice time, ms",
    cpu_system: u32 = "cpu_system", "system time, ms",
    cpu_idle: u32 = "cpu_idle", "idle time, ms",
    cpu_wio: u32 = "cpu_wio", "time waiting for I/O, ms",
    cpu_intr: u32 = "cpu_intr", "time servicing interrupts, ms",
    cpu_sintr: u32 = "cpu_sintr", "time servicing soft interrupts, ms",
    interrupts: u32 = "interrupts", "interrupt count",
    contexts: u32 = "contexts", "context switch count",
}

fixed_struct! {
    /// Host sFlow `host_memory`, enterprise 0 format 2004.
    HostMemory, "host_memory", L;
    mem_total: u64 = "mem_total", "bytes",
    mem_free: u64 = "mem_free", "bytes",
    mem_shared: u64 = "mem_shared", "bytes",
    mem_buffers: u64 = "mem_buffers", "bytes",
    mem_cached: u64 = "mem_cached", "bytes",
    swap_total: u64 = "swap_total", "bytes",
    swap_free: u64 = "swap_free", "bytes",
    page_in: u32 = "page_in", "pages",
    page_out: u32 = "page_out", "pages",
    swap_in: u32 = "swap_in", "pages",
    swap_out: u32 = "swap_out", "pages",
}

fixed_struct! {
    /// Host sFlow `host_disk_io`, enterprise 0 format 2005.
    HostDiskIo, "host_disk_io", L;
    disk_total: u64 = "disk_total", "bytes",
    disk_free: u64 = "disk_free", "bytes",
    part_max_used: u32 = "part_max_used", "utilization of the fullest partition, percent * 100",
    reads: u32 = "reads", "reads issued",
    bytes_read: u64 = "bytes_read", "bytes",
    read_time: u32 = "read_time", "ms",
    writes: u32 = "writes", "writes completed",
    bytes_written: u64 = "bytes_written", "bytes",
    write_time: u32 = "write_time", "ms",
}

fixed_struct! {
    /// Host sFlow `host_net_io`, enterprise 0 format 2006.
    HostNetIo, "host_net_io", L;
    bytes_in: u64 = "bytes_in", "bytes",
    pkts_in: u32 = "pkts_in", "packets",
    errs_in: u32 = "errs_in", "packets",
    drops_in: u32 = "drops_in", "packets",
    bytes_out: u64 = "bytes_out", "bytes",
    pkts_out: u32 = "pkts_out", "packets",
    errs_out: u32 = "errs_out", "packets",
    drops_out: u32 = "drops_out", "packets",
}

fixed_struct! {
    /// Host sFlow `mib2_ip_group`, enterprise 0 format 2007 (RFC 1213 ip group).
    Mib2Ip, "mib2_ip_group", L;
    ip_forwarding: u32 = "ipForwarding", "1 = forwarding, 2 = not",
    ip_default_ttl: u32 = "ipDefaultTTL", "hops",
    ip_in_receives: u32 = "ipInReceives", "datagrams",
    ip_in_hdr_errors: u32 = "ipInHdrErrors", "datagrams",
    ip_in_addr_errors: u32 = "ipInAddrErrors", "datagrams",
    ip_forw_datagrams: u32 = "ipForwDatagrams", "datagrams",
    ip_in_unknown_protos: u32 = "ipInUnknownProtos", "datagrams",
    ip_in_discards: u32 = "ipInDiscards", "datagrams",
    ip_in_delivers: u32 = "ipInDelivers", "datagrams",
    ip_out_requests: u32 = "ipOutRequests", "datagrams",
    ip_out_discards: u32 = "ipOutDiscards", "datagrams",
    ip_out_no_routes: u32 = "ipOutNoRoutes", "datagrams",
    ip_reasm_timeout: u32 = "ipReasmTimeout", "seconds",
    ip_reasm_reqds: u32 = "ipReasmReqds", "fragments",
    ip_reasm_oks: u32 = "ipReasmOKs", "datagrams",
    ip_reasm_fails: u32 = "ipReasmFails", "failures",
    ip_frag_oks: u32 = "ipFragOKs", "datagrams",
    ip_frag_fails: u32 = "ipFragFails", "datagrams",
    ip_frag_creates: u32 = "ipFragCreates", "fragments",
}

fixed_struct! {
    /// Host sFlow `mib2_icmp_group`, enterprise 0 format 2008 (RFC 1213 icmp group; the Host
    /// sFlow structure has no `icmpInTimestampReps`).
    Mib2Icmp, "mib2_icmp_group", L;
    icmp_in_msgs: u32 = "icmpInMsgs", "messages",
    icmp_in_errors: u32 = "icmpInErrors", "messages",
    icmp_in_dest_unreachs: u32 = "icmpInDestUnreachs", "messages",
    icmp_in_time_excds: u32 = "icmpInTimeExcds", "messages",
    icmp_in_param_probs: u32 = "icmpInParamProbs", "messages",
    icmp_in_src_quenchs: u32 = "icmpInSrcQuenchs", "messages",
    icmp_in_redirects: u32 = "icmpInRedirects", "messages",
    icmp_in_echos: u32 = "icmpInEchos", "messages",
    icmp_in_echo_reps: u32 = "icmpInEchoReps", "messages",
    icmp_in_timestamps: u32 = "icmpInTimestamps", "messages",
    icmp_in_addr_masks: u32 = "icmpInAddrMasks", "messages",
    icmp_in_addr_mask_reps: u32 = "icmpInAddrMaskReps", "messages",
    icmp_out_msgs: u32 = "icmpOutMsgs", "messages",
    icmp_out_errors: u32 = "icmpOutErrors", "messages",
    icmp_out_dest_unreachs: u32 = "icmpOutDestUnreachs", "messages",
    icmp_out_time_excds: u32 = "icmpOutTimeExcds", "messages",
    icmp_out_param_probs: u32 = "icmpOutParamProbs", "messages",
    icmp_out_src_quenchs: u32 = "icmpOutSrcQuenchs", "messages",
    icmp_out_redirects: u32 = "icmpOutRedirects", "messages",
    icmp_out_echos: u32 = "icmpOutEchos", "messages",
    icmp_out_echo_reps: u32 = "icmpOutEchoReps", "messages",
    icmp_out_timestamps: u32 = "icmpOutTimestamps", "messages",
    icmp_out_timestamp_reps: u32 = "icmpOutTimestampReps", "messages",
    icmp_out_addr_masks: u32 = "icmpOutAddrMasks", "messages",
    icmp_out_addr_mask_reps: u32 = "icmpOutAddrMaskReps", "messages",
}

fixed_struct! {
    /// Host sFlow `mib2_tcp_group`, enterprise 0 format 2009 (RFC 1213 tcp group).
    Mib2Tcp, "mib2_tcp_group", L;
    tcp_rto_algorithm: u32 = "tcpRtoAlgorithm", "algorithm id",
    tcp_rto_min: u32 = "tcpRtoMin", "ms",
    tcp_rto_max: u32 = "tcpRtoMax", "ms",
    tcp_max_conn: u32 = "tcpMaxConn", "connections",
    tcp_active_opens: u32 = "tcpActiveOpens", "count",
    tcp_passive_opens: u32 = "tcpPassiveOpens", "count",
    tcp_attempt_fails: u32 = "tcpAttemptFails", "count",
    tcp_estab_resets: u32 = "tcpEstabResets", "count",
    tcp_curr_estab: u32 = "tcpCurrEstab", "connections",
    tcp_in_segs: u32 = "tcpInSegs", "segments",
    tcp_out_segs: u32 = "tcpOutSegs", "segments",
    tcp_retrans_segs: u32 = "tcpRetransSegs", "segments",
    tcp_in_errs: u32 = "tcpInErrs", "segments",
    tcp_out_rsts: u32 = "tcpOutRsts", "segments",
    tcp_in_csum_errors: u32 = "tcpInCsumErrors", "segments",
}

fixed_struct! {
    /// Host sFlow `mib2_udp_group`, enterprise 0 format 2010 (RFC 1213 udp group).
    Mib2Udp, "mib2_udp_group", L;
    udp_in_datagrams: u32 = "udpInDatagrams", "datagrams",
    udp_no_ports: u32 = "udpNoPorts", "datagrams",
    udp_in_errors: u32 = "udpInErrors", "datagrams",
    udp_out_datagrams: u32 = "udpOutDatagrams", "datagrams",
    udp_rcvbuf_errors: u32 = "udpRcvbufErrors", "datagrams",
    udp_sndbuf_errors: u32 = "udpSndbufErrors", "datagrams",
    udp_in_csum_errors: u32 = "udpInCsumErrors", "datagrams",
}

fixed_struct! {
    /// Host sFlow `virt_node`, enterprise 0 format 2100.
    VirtNode, "virt_node", L;
    mhz: u32 = "mhz", "expected CPU frequency, MHz",
    cpus: u32 = "cpus", "active CPUs",
    memory: u64 = "memory", "memory size, bytes",
    memory_free: u64 = "memory_free", "unassigned memory, bytes",
    num_domains: u32 = "num_domains", "active domains",
}

fixed_struct! {
    /// Host sFlow `virt_cpu`, enterprise 0 format 2101.
    VirtCpu, "virt_cpu", L;
    state: u32 = "state", "virDomainState",
    cpu_time: u32 = "cpuTime", "CPU time used, ms",
    nr_virt_cpu: u32 = "nrVirtCpu", "virtual CPUs",
}

fixed_struct! {
    /// Host sFlow `virt_memory`, enterprise 0 format 2102.
    VirtMemory, "virt_memory", L;
    memory: u64 = "memory", "memory used, bytes",
    max_memory: u64 = "maxMemory", "memory allowed, bytes",
}

fixed_struct! {
    /// Host sFlow `virt_disk_io`, enterprise 0 format 2103.
    VirtDiskIo, "virt_disk_io", L;
    capacity: u64 = "capacity", "logical size, bytes",
    allocation: u64 = "allocation", "current allocation, bytes",
    available: u64 = "available", "remaining free, bytes",
    rd_req: u32 = "rd_req", "read requests",
    rd_bytes: u64 = "rd_bytes", "bytes read",
    wr_req: u32 = "wr_req", "write requests",
    wr_bytes: u64 = "wr_bytes", "bytes written",
    errs: u32 = "errs", "read/write errors",
}

fixed_struct! {
    /// Host sFlow `virt_net_io`, enterprise 0 format 2104.
    VirtNetIo, "virt_net_io", L;
    rx_bytes: u64 = "rx_bytes", "bytes",
    rx_packets: u32 = "rx_packets", "packets",
    rx_errs: u32 = "rx_errs", "packets",
    rx_drop: u32 = "rx_drop", "packets",
    tx_bytes: u64 = "tx_bytes", "bytes",
    tx_packets: u32 = "tx_packets", "packets",
    tx_errs: u32 = "tx_errs", "packets",
    tx_drop: u32 = "tx_drop", "packets",
}

fixed_struct! {
    /// sFlow application structures `app_resources`, enterprise 0 format 2203.
    AppResources, "app_resources", L;
    user_time: u32 = "user_time", "user time, ms",
    system_time: u32 = "system_time", "system time, ms",
    mem_used: u64 = "mem_used", "memory used, bytes",
    mem_max: u64 = "mem_max", "memory limit, bytes",
    fd_open: u32 = "fd_open", "open file descriptors",
    fd_max: u32 = "fd_max", "file descriptor limit",
    conn_open: u32 = "conn_open", "open network connections",
    conn_max: u32 = "conn_max", "network connection limit",
}

fixed_struct! {
    /// Open vSwitch datapath statistics `ovs_dp_stats`, enterprise 0 format 2207 (sflow.org
    /// structure registry; sent by OVS `ofproto-dpif-sflow`).
    OvsDpStats, "ovs_dp_stats", L;
    hits: u32 = "hits", "packets matching an existing datapath flow",
    misses: u32 = "misses", "packets with no datapath flow (upcalls)",
    lost: u32 = "lost", "upcalls dropped",
    mask_hits: u32 = "mask_hits", "masks visited during flow lookup",
    flows: u32 = "flows", "datapath flows",
    masks: u32 = "masks", "megaflow masks",
}

/// sFlow `port_name`, enterprise 0 format 1005. XDR: `name` string<255>.
#[derive(Clone, Copy, Debug)]
pub struct PortName<'a> {
    name: &'a [u8],
}

impl<'a> PortName<'a> {
    fn parse(data: &'a [u8], offset: usize) -> Result<Self> {
        let mut r = Reader::new(data, offset, L);
        Ok(PortName {
            name: read_string(&mut r, "name", 255)?,
        })
    }
    /// `name`: the interface name (e.g. `eth0`).
    pub const fn name(&self) -> &'a [u8] {
        self.name
    }
    /// Visits `name`.
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        v.field("name", Value::Str(self.name));
    }
}

/// Host sFlow `host_descr`, enterprise 0 format 2000. XDR: `hostname` string<64>, `uuid`
/// `opaque[16]`, `machine_type` u32, `os_name` u32, `os_release` string<32>.
#[derive(Clone, Copy, Debug)]
pub struct HostDescr<'a> {
    hostname: &'a [u8],
    uuid: &'a [u8],
    machine_type: u32,
    os_name: u32,
    os_release: &'a [u8],
}

impl<'a> HostDescr<'a> {
    fn parse(data: &'a [u8], offset: usize) -> Result<Self> {
        let mut r = Reader::new(data, offset, L);
        Ok(HostDescr {
            hostname: read_string(&mut r, "hostname", 64)?,
            uuid: r.bytes(16)?,
            machine_type: r.u32()?,
            os_name: r.u32()?,
            os_release: read_string(&mut r, "os_release", 32)?,
        })
    }
    /// `hostname`.
    pub const fn hostname(&self) -> &'a [u8] {
        self.hostname
    }
    /// `uuid`: 16 bytes.
    pub const fn uuid(&self) -> &'a [u8] {
        self.uuid
    }
    /// `machine_type`: 0 unknown, 1 other, 2 x86, 3 x86_64, 4 ia64, ... (Host sFlow enum).
    pub const fn machine_type(&self) -> u32 {
        self.machine_type
    }
    /// `os_name`: 0 unknown, 1 other, 2 linux, 3 windows, ... (Host sFlow enum).
    pub const fn os_name(&self) -> u32 {
        self.os_name
    }
    /// `os_release`: OS release string.
    pub const fn os_release(&self) -> &'a [u8] {
        self.os_release
    }
    /// Visits `hostname`, `uuid` (hex), `machine_type`, `os_name`, `os_release`.
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        v.field("hostname", Value::Str(self.hostname));
        v.field("uuid", Value::Hex(self.uuid));
        v.field("machine_type", Value::U64(u64::from(self.machine_type)));
        v.field("os_name", Value::U64(u64::from(self.os_name)));
        v.field("os_release", Value::Str(self.os_release));
    }
}

/// Host sFlow `host_adapters`, enterprise 0 format 2001. XDR: array of `host_adapter`
/// (`ifIndex` u32, `mac_address` array of `mac`, each 6 bytes padded to 8).
#[derive(Clone, Copy, Debug)]
pub struct HostAdapters<'a> {
    count: u32,
    adapters: &'a [u8],
}

impl<'a> HostAdapters<'a> {
    fn parse(data: &'a [u8], offset: usize) -> Result<Self> {
        let mut r = Reader::new(data, offset, L);
        let at = r.offset();
        let count = r.u32()?;
        // each adapter takes at least 8 bytes: bound the loop by the data first
        if usize::try_from(count).map_or(true, |n| n > r.remaining() / 8) {
            return Err(r.invalid_at(at, "adapters", u64::from(count)));
        }
        let start = r.rest();
        let before = r.remaining();
        for _ in 0..count {
            r.u32()?;
            let mat = r.offset();
            let n = r.u32()?;
            let b = usize::try_from(n)
                .ok()
                .and_then(|n| n.checked_mul(8))
                .filter(|&b| b <= r.remaining())
                .ok_or_else(|| r.invalid_at(mat, "mac_address", u64::from(n)))?;
            r.skip(b)?;
        }
        let adapters = start.get(..before - r.remaining()).unwrap_or(&[]);
        Ok(HostAdapters { count, adapters })
    }
    /// Number of adapters.
    pub const fn len(&self) -> u32 {
        self.count
    }
    /// True if there are no adapters.
    pub const fn is_empty(&self) -> bool {
        self.count == 0
    }
    /// The adapters, in order.
    pub fn adapters(&self) -> HostAdaptersIter<'a> {
        HostAdaptersIter {
            rest: self.adapters,
        }
    }
    /// Visits, per adapter, `ifIndex` then each `mac_address`.
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        for a in self.adapters() {
            v.field("ifIndex", Value::U64(u64::from(a.if_index)));
            for m in a.macs() {
                v.field("mac_address", Value::Mac(m));
            }
        }
    }
}

/// One `host_adapter` of [`HostAdapters`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostAdapter<'a> {
    /// `ifIndex` of the adapter.
    pub if_index: u32,
    /// The `mac_address` array, 8 bytes per MAC (6 bytes + 2 bytes XDR padding).
    pub mac_bytes: &'a [u8],
}

impl<'a> HostAdapter<'a> {
    /// The MAC addresses.
    pub fn macs(&self) -> impl Iterator<Item = [u8; 6]> + 'a {
        self.mac_bytes.chunks_exact(8).map(|c| {
            let mut m = [0u8; 6];
            if let Some(s) = c.get(..6) {
                m.copy_from_slice(s);
            }
            m
        })
    }
}

/// Iterator over the (already validated) adapters of [`HostAdapters`].
#[derive(Clone, Copy, Debug)]
pub struct HostAdaptersIter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for HostAdaptersIter<'a> {
    type Item = HostAdapter<'a>;
    fn next(&mut self) -> Option<Self::Item> {
        let mut r = Reader::new(self.rest, 0, L);
        let if_index = r.u32().ok()?;
        let n = usize::try_from(r.u32().ok()?).ok()?;
        let mac_bytes = r.bytes(n.checked_mul(8)?).ok()?;
        self.rest = r.rest();
        Some(HostAdapter {
            if_index,
            mac_bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::bytes::testing::visited;
    use crate::Error;
    use std::vec::Vec;

    /// Absolute offset of the first record's envelope in the datagram it comes from.
    const BASE: usize = 48;

    /// Frame 1 of `exporters/sflow-ovs-br0.pcap` (Open vSwitch), UDP payload bytes 48..244:
    /// the four records of its `counters_sample` (source 0:39). `tshark -V -O sflow` shows the
    /// same `ethernet_counters`; it does not decode `of_port` and `port_name`.
    static PACKET_BYTES: [u8; 196] = [
        0x00, 0x00, 0x00, 0x02, // data_format: enterprise 0, format 2 (ethernet_counters)
        0x00, 0x00, 0x00, 0x34, // length 52
        0x00, 0x00, 0x00, 0x00, // dot3StatsAlignmentErrors 0
        0x00, 0x00, 0x00, 0x00, // dot3StatsFCSErrors 0
        0xff, 0xff, 0xff, 0xff, // dot3StatsSingleCollisionFrames (unknown: all ones)
        0xff, 0xff, 0xff, 0xff, // dot3StatsMultipleCollisionFrames
        0xff, 0xff, 0xff, 0xff, // dot3StatsSQETestErrors
        0xff, 0xff, 0xff, 0xff, // dot3StatsDeferredTransmissions
        0xff, 0xff, 0xff, 0xff, // dot3StatsLateCollisions
        0xff, 0xff, 0xff, 0xff, // dot3StatsExcessiveCollisions
        0xff, 0xff, 0xff, 0xff, // dot3StatsInternalMacTransmitErrors
        0xff, 0xff, 0xff, 0xff, // dot3StatsCarrierSenseErrors
        0xff, 0xff, 0xff, 0xff, // dot3StatsFrameTooLongs
        0xff, 0xff, 0xff, 0xff, // dot3StatsInternalMacReceiveErrors
        0xff, 0xff, 0xff, 0xff, // dot3StatsSymbolErrors
        0x00, 0x00, 0x03, 0xec, // data_format: enterprise 0, format 1004 (of_port)
        0x00, 0x00, 0x00, 0x0c, // length 12
        0x00, 0x00, 0xce, 0x93, 0x97, 0x07, 0x6a, 0x4d, // datapath_id 0xce9397076a4d
        0x00, 0x00, 0x00, 0x02, // port_no 2
        0x00, 0x00, 0x03, 0xed, // data_format: enterprise 0, format 1005 (port_name)
        0x00, 0x00, 0x00, 0x0c, // length 12
        0x00, 0x00, 0x00, 0x07, // name<> length 7
        0x6e, 0x66, 0x74, 0x62, 0x2d, 0x76, 0x32, 0x00, // "nftb-v2", 1 byte of padding
        0x00, 0x00, 0x00, 0x01, // data_format: enterprise 0, format 1 (if_counters)
        0x00, 0x00, 0x00, 0x58, // length 88
        0x00, 0x00, 0x00, 0x27, // ifIndex 39
        0x00, 0x00, 0x00, 0x06, // ifType 6 (ethernetCsmacd)
        0x00, 0x00, 0x00, 0x02, 0x54, 0x0b, 0xe4, 0x00, // ifSpeed 10,000,000,000 bit/s
        0x00, 0x00, 0x00, 0x01, // ifDirection 1 (full-duplex)
        0x00, 0x00, 0x00, 0x03, // ifStatus 3 (admin up, oper up)
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, // ifInOctets 768
        0x00, 0x00, 0x00, 0x0a, // ifInUcastPkts 10
        0x00, 0x00, 0x00, 0x00, // ifInMulticastPkts 0
        0xff, 0xff, 0xff, 0xff, // ifInBroadcastPkts (unknown)
        0x00, 0x00, 0x00, 0x00, // ifInDiscards 0
        0x00, 0x00, 0x00, 0x00, // ifInErrors 0
        0xff, 0xff, 0xff, 0xff, // ifInUnknownProtos (unknown)
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0xfa, // ifOutOctets 2298
        0x00, 0x00, 0x00, 0x1d, // ifOutUcastPkts 29
        0xff, 0xff, 0xff, 0xff, // ifOutMulticastPkts (unknown)
        0xff, 0xff, 0xff, 0xff, // ifOutBroadcastPkts (unknown)
        0x00, 0x00, 0x00, 0x00, // ifOutDiscards 0
        0x00, 0x00, 0x00, 0x00, // ifOutErrors 0
        0x00, 0x00, 0x00, 0x00, // ifPromiscuousMode 0
    ];

    /// `processor` (1001) and Host sFlow `host_cpu` (2003), per their sFlow structures.
    static HOST_BYTES: [u8; 112] = [
        0x00, 0x00, 0x03, 0xe9, // data_format: enterprise 0, format 1001 (processor)
        0x00, 0x00, 0x00, 0x1c, // length 28
        0x00, 0x00, 0x04, 0xd2, // 5s_cpu 1234 (12.34 %)
        0x00, 0x00, 0x03, 0xe8, // 1m_cpu 1000
        0x00, 0x00, 0x01, 0xf4, // 5m_cpu 500
        0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, // total_memory 17179869184
        0x00, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00, // free_memory 1073741824
        0x00, 0x00, 0x07, 0xd3, // data_format: enterprise 0, format 2003 (host_cpu)
        0x00, 0x00, 0x00, 0x44, // length 68
        0x3f, 0xc0, 0x00, 0x00, // load_one 1.5 (IEEE 754 float)
        0x3f, 0x80, 0x00, 0x00, // load_five 1.0
        0x3f, 0x00, 0x00, 0x00, // load_fifteen 0.5
        0x00, 0x00, 0x00, 0x02, // proc_run 2
        0x00, 0x00, 0x01, 0x2c, // proc_total 300
        0x00, 0x00, 0x00, 0x08, // cpu_num 8
        0x00, 0x00, 0x0b, 0xb8, // cpu_speed 3000 MHz
        0x00, 0x01, 0x51, 0x80, // uptime 86400 s
        0x00, 0x00, 0x27, 0x10, // cpu_user 10000 ms
        0x00, 0x00, 0x00, 0x64, // cpu_nice 100
        0x00, 0x00, 0x13, 0x88, // cpu_system 5000
        0x00, 0x0f, 0x42, 0x40, // cpu_idle 1000000
        0x00, 0x00, 0x00, 0xc8, // cpu_wio 200
        0x00, 0x00, 0x00, 0x0a, // cpu_intr 10
        0x00, 0x00, 0x00, 0x14, // cpu_sintr 20
        0x00, 0x00, 0x30, 0x39, // interrupts 12345
        0x00, 0x01, 0x09, 0x32, // contexts 67890
    ];

    fn records(bytes: &[u8], count: u32) -> Vec<CounterRecord<'_>> {
        CounterRecords::new(Reader::new(bytes, BASE, L), count)
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn open_vswitch_records() {
        let all = records(&PACKET_BYTES, 4);
        let names: Vec<&str> = all.iter().map(CounterRecord::name).collect();
        assert_eq!(
            names,
            ["ethernet_counters", "of_port", "port_name", "if_counters"]
        );
        let offsets: Vec<usize> = all.iter().map(|r| r.offset - BASE).collect();
        assert_eq!(offsets, [8, 68, 88, 108]);

        let CounterData::Ethernet(e) = all[0].data else {
            panic!("{:?}", all[0])
        };
        assert_eq!((e.alignment_errors(), e.fcs_errors()), (0, 0));
        let unknown = [
            e.single_collision_frames(),
            e.multiple_collision_frames(),
            e.sqe_test_errors(),
            e.deferred_transmissions(),
            e.late_collisions(),
            e.excessive_collisions(),
            e.internal_mac_transmit_errors(),
            e.carrier_sense_errors(),
            e.frame_too_longs(),
            e.internal_mac_receive_errors(),
            e.symbol_errors(),
        ];
        assert_eq!(unknown, [u32::MAX; 11]);
        assert_eq!(visited(|v| e.visit_fields(v)).len(), 13);

        let CounterData::OpenFlowPort(p) = all[1].data else {
            panic!("{:?}", all[1])
        };
        assert_eq!((p.datapath_id(), p.port_no()), (0xce93_9707_6a4d, 2));
        let CounterData::PortName(n) = all[2].data else {
            panic!("{:?}", all[2])
        };
        assert_eq!(n.name(), b"nftb-v2");
        assert_eq!(visited(|v| n.visit_fields(v)), ["name=nftb-v2"]);

        let CounterData::Generic(i) = all[3].data else {
            panic!("{:?}", all[3])
        };
        assert_eq!((i.if_index(), i.if_type()), (39, 6));
        assert_eq!(i.if_speed(), 10_000_000_000);
        assert_eq!((i.if_direction(), i.if_status()), (1, 3));
        assert_eq!(i.if_in_octets(), 768);
        assert_eq!(
            (
                i.if_in_ucast_pkts(),
                i.if_in_multicast_pkts(),
                i.if_in_broadcast_pkts()
            ),
            (10, 0, u32::MAX)
        );
        assert_eq!(
            (
                i.if_in_discards(),
                i.if_in_errors(),
                i.if_in_unknown_protos()
            ),
            (0, 0, u32::MAX)
        );
        assert_eq!(i.if_out_octets(), 2298);
        assert_eq!(
            (
                i.if_out_ucast_pkts(),
                i.if_out_multicast_pkts(),
                i.if_out_broadcast_pkts()
            ),
            (29, u32::MAX, u32::MAX)
        );
        assert_eq!((i.if_out_discards(), i.if_out_errors()), (0, 0));
        assert_eq!(i.if_promiscuous_mode(), 0);
        let fields = visited(|v| i.visit_fields(v));
        assert_eq!(fields.len(), 19);
        assert_eq!(fields[2], "ifSpeed=10000000000");
        assert_eq!(fields[12], "ifOutOctets=2298");
    }

    #[test]
    fn processor_and_host_cpu() {
        let all = records(&HOST_BYTES, 2);
        assert_eq!((all[0].name(), all[1].name()), ("processor", "host_cpu"));
        let CounterData::Processor(p) = all[0].data else {
            panic!("{:?}", all[0])
        };
        assert_eq!(
            (p.five_sec_cpu(), p.one_min_cpu(), p.five_min_cpu()),
            (1234, 1000, 500)
        );
        assert_eq!((p.total_memory(), p.free_memory()), (1 << 34, 1 << 30));
        assert_eq!(
            visited(|v| p.visit_fields(v)),
            [
                "5s_cpu=1234",
                "1m_cpu=1000",
                "5m_cpu=500",
                "total_memory=17179869184",
                "free_memory=1073741824"
            ]
        );
        let CounterData::HostCpu(c) = all[1].data else {
            panic!("{:?}", all[1])
        };
        assert_eq!(
            (c.load_one(), c.load_five(), c.load_fifteen()),
            (1.5, 1.0, 0.5)
        );
        assert_eq!((c.proc_run(), c.proc_total()), (2, 300));
        assert_eq!((c.cpu_num(), c.cpu_speed(), c.uptime()), (8, 3000, 86400));
        assert_eq!(
            (c.cpu_user(), c.cpu_nice(), c.cpu_system(), c.cpu_idle()),
            (10000, 100, 5000, 1_000_000)
        );
        assert_eq!((c.cpu_wio(), c.cpu_intr(), c.cpu_sintr()), (200, 10, 20));
        assert_eq!((c.interrupts(), c.contexts()), (12345, 67890));
        assert_eq!(HostCpu::SIZE, 68);
    }

    /// A record shorter than its structure is a truncation error of the record layer (never
    /// a panic); the iteration goes on with the next record.
    #[test]
    fn truncated() {
        for (format, data, size) in [
            (2, &PACKET_BYTES[8..60], 52),
            (1, &PACKET_BYTES[108..], 88),
            (1001, &HOST_BYTES[8..36], 28),
            (2003, &HOST_BYTES[44..], 68),
        ] {
            for n in 0..size {
                assert_eq!(
                    CounterData::parse(0, format, &data[..n], 1000).err(),
                    Some(Error::Truncated {
                        layer: Layer::SflowCounterRecord,
                        offset: 1000,
                        needed: size,
                        available: n
                    }),
                    "format {format}, {n} bytes"
                );
            }
        }
        // port_name cut inside its string.
        for n in 0..11 {
            let err = CounterData::parse(0, 1005, &PACKET_BYTES[88..88 + n], 1000).unwrap_err();
            assert_eq!(
                (err.layer(), err.kind()),
                (Layer::SflowCounterRecord, "truncated")
            );
        }
        // A processor record declared 4 bytes short: its error, then the next record.
        let mut bytes = HOST_BYTES.to_vec();
        bytes[7] = 24;
        bytes.remove(35);
        bytes.remove(34);
        bytes.remove(33);
        bytes.remove(32);
        let mut it = CounterRecords::new(Reader::new(&bytes, BASE, L), 2);
        let err = it.next().unwrap().unwrap_err();
        assert_eq!(err.kind(), "truncated");
        assert_eq!(it.next().unwrap().unwrap().name(), "host_cpu");
        assert!(it.next().is_none());
    }
}
