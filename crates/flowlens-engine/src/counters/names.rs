//! The sFlow structure → metric name table.
//!
//! Each supported counter record has a static table of `(spec field, metric name, kind)`
//! rows; `observe` walks a record's fields (`visit_fields`, which yields the specification's
//! member names) and turns each listed field into an observation. Names follow sFlow-RT and
//! Host sFlow (Ganglia) usage: interface counters are the lower-cased MIB names
//! (`ifInOctets` → `ifinoctets`), Host sFlow keeps its member names (`load_one`,
//! `bytes_in`), disk I/O gets a `disk_` prefix, MIB-II groups `<group>_<member>`
//! (`udpInDatagrams` → `udp_indatagrams`), virtual machine records `vir_` and Open vSwitch
//! `ovs_dp_`. Where no public sFlow-RT source fixes a name (processor, VLAN, virtual
//! machine, application records), the name is this crate's choice.
//!
//! Units: `/s` = per-second rate of a counter; `%` = percent; `text` = string; otherwise a
//! gauge as sent (bytes, bits per second, MHz, counts).
//!
//! * `if_counters` (1): `ifindex` text, `iftype` text (IANAifType name, e.g.
//!   `ethernetCsmacd`, else the number), `ifspeed` bits/s, `ifdirection` text
//!   (`full-duplex`, `half-duplex`, `in`, `out`, `unknown`), `ifadminstatus` and
//!   `ifoperstatus` text (`up`/`down`), `ifinoctets`, `ifinucastpkts`, `ifinmulticastpkts`,
//!   `ifinbroadcastpkts`, `ifindiscards`, `ifinerrors`, `ifinunknownprotos`, `ifoutoctets`,
//!   `ifoutucastpkts`, `ifoutmulticastpkts`, `ifoutbroadcastpkts`, `ifoutdiscards`,
//!   `ifouterrors` (all /s), `ifpromiscuousmode` (1 = true, 2 = false).
//! * `ethernet_counters` (2), all /s: `dot3statsalignmenterrors`, `dot3statsfcserrors`,
//!   `dot3statssinglecollisionframes`, `dot3statsmultiplecollisionframes`,
//!   `dot3statssqetesterrors`, `dot3statsdeferredtransmissions`, `dot3statslatecollisions`,
//!   `dot3statsexcessivecollisions`, `dot3statsinternalmactransmiterrors`,
//!   `dot3statscarriersenseerrors`, `dot3statsframetoolongs`,
//!   `dot3statsinternalmacreceiveerrors`, `dot3statssymbolerrors`.
//! * `vlan_counters` (5): `vlan`, `vlan_octets`, `vlan_ucastpkts`, `vlan_multicastpkts`,
//!   `vlan_broadcastpkts`, `vlan_discards` (/s).
//! * `processor` (1001): `5s_cpu`, `1m_cpu`, `5m_cpu` (%), `total_memory`, `free_memory`.
//! * `of_port` (1004): `of_dpid` text (16 hex digits), `of_port`. `port_name` (1005):
//!   `ifname` text.
//! * `host_descr` (2000): `host_name`, `uuid`, `machine_type` (`x86_64`, ...), `os_name`
//!   (`linux`, `windows`, ...), `os_release`, all text; on a data source that also carries
//!   `virt_*` records: `vir_host_name`, `vir_uuid`, `vir_machine_type`, `vir_os_name`,
//!   `vir_os_release`.
//! * `host_cpu` (2003): `load_one`, `load_five`, `load_fifteen`, `proc_run`, `proc_total`,
//!   `cpu_num`, `cpu_speed` (MHz), `uptime` (s); `cpu_user`, `cpu_nice`, `cpu_system`,
//!   `cpu_idle`, `cpu_wio`, `cpu_intr`, `cpu_sintr` (% of their sum); `interrupts`,
//!   `contexts` (/s).
//! * `host_memory` (2004): `mem_total`, `mem_free`, `mem_shared`, `mem_buffers`,
//!   `mem_cached`, `swap_total`, `swap_free` (bytes); `page_in`, `page_out`, `swap_in`,
//!   `swap_out` (pages/s).
//! * `host_disk_io` (2005): `disk_total`, `disk_free` (bytes), `part_max_used` (%),
//!   `disk_reads`, `disk_bytes_read`, `disk_read_time`, `disk_writes`,
//!   `disk_bytes_written`, `disk_write_time` (/s; times in ms/s).
//! * `host_net_io` (2006), all /s: `bytes_in`, `pkts_in`, `errs_in`, `drops_in`,
//!   `bytes_out`, `pkts_out`, `errs_out`, `drops_out`.
//! * `mib2_ip_group` (2007): `ip_forwarding`, `ip_defaultttl`, `ip_reasmtimeout` (gauges);
//!   /s: `ip_inreceives`, `ip_inhdrerrors`, `ip_inaddrerrors`, `ip_forwdatagrams`,
//!   `ip_inunknownprotos`, `ip_indiscards`, `ip_indelivers`, `ip_outrequests`,
//!   `ip_outdiscards`, `ip_outnoroutes`, `ip_reasmreqds`, `ip_reasmoks`, `ip_reasmfails`,
//!   `ip_fragoks`, `ip_fragfails`, `ip_fragcreates`.
//! * `mib2_icmp_group` (2008), all /s: `icmp_inmsgs`, `icmp_inerrors`,
//!   `icmp_indestunreachs`, `icmp_intimeexcds`, `icmp_inparamprobs`, `icmp_insrcquenchs`,
//!   `icmp_inredirects`, `icmp_inechos`, `icmp_inechoreps`, `icmp_intimestamps`,
//!   `icmp_inaddrmasks`, `icmp_inaddrmaskreps`, `icmp_outmsgs`, `icmp_outerrors`,
//!   `icmp_outdestunreachs`, `icmp_outtimeexcds`, `icmp_outparamprobs`,
//!   `icmp_outsrcquenchs`, `icmp_outredirects`, `icmp_outechos`, `icmp_outechoreps`,
//!   `icmp_outtimestamps`, `icmp_outtimestampreps`, `icmp_outaddrmasks`,
//!   `icmp_outaddrmaskreps`.
//! * `mib2_tcp_group` (2009): `tcp_rtoalgorithm`, `tcp_rtomin`, `tcp_rtomax`,
//!   `tcp_maxconn`, `tcp_currestab` (gauges); /s: `tcp_activeopens`, `tcp_passiveopens`,
//!   `tcp_attemptfails`, `tcp_estabresets`, `tcp_insegs`, `tcp_outsegs`, `tcp_retranssegs`,
//!   `tcp_inerrs`, `tcp_outrsts`, `tcp_incsumerrors`.
//! * `mib2_udp_group` (2010), all /s: `udp_indatagrams`, `udp_noports`, `udp_inerrors`,
//!   `udp_outdatagrams`, `udp_rcvbuferrors`, `udp_sndbuferrors`, `udp_incsumerrors`.
//! * `virt_node` (2100): `vnode_cpu_mhz`, `vnode_cpus`, `vnode_mem_total`,
//!   `vnode_mem_free`, `vnode_domains`.
//! * `virt_cpu` (2101): `vir_cpu_state`, `vir_cpu_time` (CPU ms/s), `vir_cpu_num`.
//!   `virt_memory` (2102): `vir_mem_used`, `vir_mem_total` (bytes).
//! * `virt_disk_io` (2103): `vir_disk_total`, `vir_disk_allocation`, `vir_disk_free`
//!   (bytes); /s: `vir_disk_reads`, `vir_disk_bytes_read`, `vir_disk_writes`,
//!   `vir_disk_bytes_written`, `vir_disk_errors`.
//! * `virt_net_io` (2104), all /s: `vir_bytes_in`, `vir_pkts_in`, `vir_errs_in`,
//!   `vir_drops_in`, `vir_bytes_out`, `vir_pkts_out`, `vir_errs_out`, `vir_drops_out`.
//! * `app_resources` (2203): `app_usertime`, `app_systemtime` (% of one CPU),
//!   `app_mem_used`, `app_mem_max` (bytes), `app_fd_open`, `app_fd_max`, `app_conn_open`,
//!   `app_conn_max`.
//! * `ovs_dp_stats` (2207): `ovs_dp_hits`, `ovs_dp_misses`, `ovs_dp_lost`,
//!   `ovs_dp_maskhits` (/s), `ovs_dp_flows`, `ovs_dp_masks`.
//! * Derived (computed from one sample, see [`DERIVED`]): `ifinpkts`, `ifoutpkts` (/s),
//!   `ifinutilization`, `ifoututilization`, `cpu_utilization`, `mem_utilization`,
//!   `disk_utilization`, `vir_cpu_utilization`, `vir_mem_utilization`, `ovs_dp_missrate`
//!   (%).
//!
//! Gauges whose value is all ones (`0xFFFFFFFF`, `0xFFFFFFFFFFFFFFFF`, sFlow's "unknown")
//! are left out. Records not listed (token ring, 100BaseVG, 802.11, LAG, radio, host
//! adapters/parent) are ignored.

use core::fmt::Write as _;

use flowlens_wire::sflow::{CounterData, CounterRecord};
use flowlens_wire::{FieldVisitor, Value};

/// One observed field of a counter record.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Obs {
    /// A gauge, reported as is.
    Num(f64),
    /// A monotonic 32-bit counter (becomes a per-second rate).
    C32(u32),
    /// A monotonic 64-bit counter (becomes a per-second rate).
    C64(u64),
    /// Text (`host_name`, `os_name`, `ifname`, ...): its byte range in [`Observed::text`].
    Text(core::ops::Range<usize>),
}

/// The observations of one counter sample, in buffers reused from sample to sample (a warm
/// store allocates nothing per counter sample).
#[derive(Debug, Default)]
pub(crate) struct Observed {
    /// Metric name and observation, in record order.
    pub(crate) items: Vec<(&'static str, Obs)>,
    /// The text of every [`Obs::Text`], back to back.
    pub(crate) text: String,
}

impl Observed {
    /// Empties both buffers, keeping their capacity.
    pub(crate) fn clear(&mut self) {
        self.items.clear();
        self.text.clear();
    }

    /// The text of an [`Obs::Text`] range.
    pub(crate) fn text(&self, r: &core::ops::Range<usize>) -> &str {
        self.text.get(r.clone()).unwrap_or_default()
    }
}

/// How a field becomes a metric.
#[derive(Clone, Copy, Debug)]
enum Kind {
    /// Gauge, value as is.
    Gauge,
    /// Gauge in hundredths of a percent (`part_max_used`, processor `5s_cpu`): divided by 100.
    Centi,
    /// 32-bit counter.
    C32,
    /// 64-bit counter.
    C64,
    /// Text from a wire string, or a number rendered as text.
    Text,
    /// A number rendered through a name table.
    Enum(fn(u64) -> Option<&'static str>),
    /// 16 opaque bytes rendered as a UUID (`8-4-4-4-12` lower-case hex).
    Uuid,
    /// A 64-bit number as 16 lower-case hex digits (OpenFlow datapath id).
    Hex64,
    /// `ifStatus`: bit 0 → `ifadminstatus`, bit 1 → `ifoperstatus` (`up` / `down`).
    IfStatus,
}

/// One row of a record table.
#[derive(Clone, Copy, Debug)]
struct Row {
    spec: &'static str,
    name: &'static str,
    kind: Kind,
}

const fn r(spec: &'static str, name: &'static str, kind: Kind) -> Row {
    Row { spec, name, kind }
}

use Kind::{Centi, Enum, Gauge, Hex64, IfStatus, Text, Uuid, C32, C64};

/// `if_counters` (sFlow v5, format 1).
const IF_COUNTERS: &[Row] = &[
    r("ifIndex", "ifindex", Text),
    r("ifType", "iftype", Enum(if_type_name)),
    r("ifSpeed", "ifspeed", Gauge),
    r("ifDirection", "ifdirection", Enum(if_direction_name)),
    r("ifStatus", "ifadminstatus", IfStatus),
    r("ifInOctets", "ifinoctets", C64),
    r("ifInUcastPkts", "ifinucastpkts", C32),
    r("ifInMulticastPkts", "ifinmulticastpkts", C32),
    r("ifInBroadcastPkts", "ifinbroadcastpkts", C32),
    r("ifInDiscards", "ifindiscards", C32),
    r("ifInErrors", "ifinerrors", C32),
    r("ifInUnknownProtos", "ifinunknownprotos", C32),
    r("ifOutOctets", "ifoutoctets", C64),
    r("ifOutUcastPkts", "ifoutucastpkts", C32),
    r("ifOutMulticastPkts", "ifoutmulticastpkts", C32),
    r("ifOutBroadcastPkts", "ifoutbroadcastpkts", C32),
    r("ifOutDiscards", "ifoutdiscards", C32),
    r("ifOutErrors", "ifouterrors", C32),
    r("ifPromiscuousMode", "ifpromiscuousmode", Gauge),
];

/// `ethernet_counters` (sFlow v5, format 2): lower-cased dot3Stats names.
const ETHERNET: &[Row] = &[
    r("dot3StatsAlignmentErrors", "dot3statsalignmenterrors", C32),
    r("dot3StatsFCSErrors", "dot3statsfcserrors", C32),
    r(
        "dot3StatsSingleCollisionFrames",
        "dot3statssinglecollisionframes",
        C32,
    ),
    r(
        "dot3StatsMultipleCollisionFrames",
        "dot3statsmultiplecollisionframes",
        C32,
    ),
    r("dot3StatsSQETestErrors", "dot3statssqetesterrors", C32),
    r(
        "dot3StatsDeferredTransmissions",
        "dot3statsdeferredtransmissions",
        C32,
    ),
    r("dot3StatsLateCollisions", "dot3statslatecollisions", C32),
    r(
        "dot3StatsExcessiveCollisions",
        "dot3statsexcessivecollisions",
        C32,
    ),
    r(
        "dot3StatsInternalMacTransmitErrors",
        "dot3statsinternalmactransmiterrors",
        C32,
    ),
    r(
        "dot3StatsCarrierSenseErrors",
        "dot3statscarriersenseerrors",
        C32,
    ),
    r("dot3StatsFrameTooLongs", "dot3statsframetoolongs", C32),
    r(
        "dot3StatsInternalMacReceiveErrors",
        "dot3statsinternalmacreceiveerrors",
        C32,
    ),
    r("dot3StatsSymbolErrors", "dot3statssymbolerrors", C32),
];

/// `vlan_counters` (sFlow v5, format 5).
const VLAN: &[Row] = &[
    r("vlan_id", "vlan", Gauge),
    r("octets", "vlan_octets", C64),
    r("ucastPkts", "vlan_ucastpkts", C32),
    r("multicastPkts", "vlan_multicastpkts", C32),
    r("broadcastPkts", "vlan_broadcastpkts", C32),
    r("discards", "vlan_discards", C32),
];

/// `processor` (sFlow v5, format 1001): CPU in percent, memory in bytes.
const PROCESSOR: &[Row] = &[
    r("5s_cpu", "5s_cpu", Centi),
    r("1m_cpu", "1m_cpu", Centi),
    r("5m_cpu", "5m_cpu", Centi),
    r("total_memory", "total_memory", Gauge),
    r("free_memory", "free_memory", Gauge),
];

/// `of_port` (format 1004).
const OF_PORT: &[Row] = &[
    r("datapath_id", "of_dpid", Hex64),
    r("port_no", "of_port", Gauge),
];

/// `port_name` (format 1005).
const PORT_NAME: &[Row] = &[r("name", "ifname", Text)];

/// `host_descr` (Host sFlow 2000) of a physical host.
const HOST_DESCR: &[Row] = &[
    r("hostname", "host_name", Text),
    r("uuid", "uuid", Uuid),
    r("machine_type", "machine_type", Enum(machine_type_name)),
    r("os_name", "os_name", Enum(os_name_name)),
    r("os_release", "os_release", Text),
];

/// `host_descr` of a virtual machine (a data source that also carries `virt_*` records).
const VIR_HOST_DESCR: &[Row] = &[
    r("hostname", "vir_host_name", Text),
    r("uuid", "vir_uuid", Uuid),
    r("machine_type", "vir_machine_type", Enum(machine_type_name)),
    r("os_name", "vir_os_name", Enum(os_name_name)),
    r("os_release", "vir_os_release", Text),
];

/// `host_cpu` (Host sFlow 2003). `cpu_*` times become percentages in `source.rs`.
const HOST_CPU: &[Row] = &[
    r("load_one", "load_one", Gauge),
    r("load_five", "load_five", Gauge),
    r("load_fifteen", "load_fifteen", Gauge),
    r("proc_run", "proc_run", Gauge),
    r("proc_total", "proc_total", Gauge),
    r("cpu_num", "cpu_num", Gauge),
    r("cpu_speed", "cpu_speed", Gauge),
    r("uptime", "uptime", Gauge),
    r("cpu_user", "cpu_user", C32),
    r("cpu_nice", "cpu_nice", C32),
    r("cpu_system", "cpu_system", C32),
    r("cpu_idle", "cpu_idle", C32),
    r("cpu_wio", "cpu_wio", C32),
    r("cpu_intr", "cpu_intr", C32),
    r("cpu_sintr", "cpu_sintr", C32),
    r("interrupts", "interrupts", C32),
    r("contexts", "contexts", C32),
];

/// `host_memory` (Host sFlow 2004): bytes; paging in pages per second.
const HOST_MEMORY: &[Row] = &[
    r("mem_total", "mem_total", Gauge),
    r("mem_free", "mem_free", Gauge),
    r("mem_shared", "mem_shared", Gauge),
    r("mem_buffers", "mem_buffers", Gauge),
    r("mem_cached", "mem_cached", Gauge),
    r("swap_total", "swap_total", Gauge),
    r("swap_free", "swap_free", Gauge),
    r("page_in", "page_in", C32),
    r("page_out", "page_out", C32),
    r("swap_in", "swap_in", C32),
    r("swap_out", "swap_out", C32),
];

/// `host_disk_io` (Host sFlow 2005).
const HOST_DISK_IO: &[Row] = &[
    r("disk_total", "disk_total", Gauge),
    r("disk_free", "disk_free", Gauge),
    r("part_max_used", "part_max_used", Centi),
    r("reads", "disk_reads", C32),
    r("bytes_read", "disk_bytes_read", C64),
    r("read_time", "disk_read_time", C32),
    r("writes", "disk_writes", C32),
    r("bytes_written", "disk_bytes_written", C64),
    r("write_time", "disk_write_time", C32),
];

/// `host_net_io` (Host sFlow 2006).
const HOST_NET_IO: &[Row] = &[
    r("bytes_in", "bytes_in", C64),
    r("pkts_in", "pkts_in", C32),
    r("errs_in", "errs_in", C32),
    r("drops_in", "drops_in", C32),
    r("bytes_out", "bytes_out", C64),
    r("pkts_out", "pkts_out", C32),
    r("errs_out", "errs_out", C32),
    r("drops_out", "drops_out", C32),
];

/// `mib2_ip_group` (Host sFlow 2007).
const MIB2_IP: &[Row] = &[
    r("ipForwarding", "ip_forwarding", Gauge),
    r("ipDefaultTTL", "ip_defaultttl", Gauge),
    r("ipInReceives", "ip_inreceives", C32),
    r("ipInHdrErrors", "ip_inhdrerrors", C32),
    r("ipInAddrErrors", "ip_inaddrerrors", C32),
    r("ipForwDatagrams", "ip_forwdatagrams", C32),
    r("ipInUnknownProtos", "ip_inunknownprotos", C32),
    r("ipInDiscards", "ip_indiscards", C32),
    r("ipInDelivers", "ip_indelivers", C32),
    r("ipOutRequests", "ip_outrequests", C32),
    r("ipOutDiscards", "ip_outdiscards", C32),
    r("ipOutNoRoutes", "ip_outnoroutes", C32),
    r("ipReasmTimeout", "ip_reasmtimeout", Gauge),
    r("ipReasmReqds", "ip_reasmreqds", C32),
    r("ipReasmOKs", "ip_reasmoks", C32),
    r("ipReasmFails", "ip_reasmfails", C32),
    r("ipFragOKs", "ip_fragoks", C32),
    r("ipFragFails", "ip_fragfails", C32),
    r("ipFragCreates", "ip_fragcreates", C32),
];

/// `mib2_icmp_group` (Host sFlow 2008): all counters.
const MIB2_ICMP: &[Row] = &[
    r("icmpInMsgs", "icmp_inmsgs", C32),
    r("icmpInErrors", "icmp_inerrors", C32),
    r("icmpInDestUnreachs", "icmp_indestunreachs", C32),
    r("icmpInTimeExcds", "icmp_intimeexcds", C32),
    r("icmpInParamProbs", "icmp_inparamprobs", C32),
    r("icmpInSrcQuenchs", "icmp_insrcquenchs", C32),
    r("icmpInRedirects", "icmp_inredirects", C32),
    r("icmpInEchos", "icmp_inechos", C32),
    r("icmpInEchoReps", "icmp_inechoreps", C32),
    r("icmpInTimestamps", "icmp_intimestamps", C32),
    r("icmpInAddrMasks", "icmp_inaddrmasks", C32),
    r("icmpInAddrMaskReps", "icmp_inaddrmaskreps", C32),
    r("icmpOutMsgs", "icmp_outmsgs", C32),
    r("icmpOutErrors", "icmp_outerrors", C32),
    r("icmpOutDestUnreachs", "icmp_outdestunreachs", C32),
    r("icmpOutTimeExcds", "icmp_outtimeexcds", C32),
    r("icmpOutParamProbs", "icmp_outparamprobs", C32),
    r("icmpOutSrcQuenchs", "icmp_outsrcquenchs", C32),
    r("icmpOutRedirects", "icmp_outredirects", C32),
    r("icmpOutEchos", "icmp_outechos", C32),
    r("icmpOutEchoReps", "icmp_outechoreps", C32),
    r("icmpOutTimestamps", "icmp_outtimestamps", C32),
    r("icmpOutTimestampReps", "icmp_outtimestampreps", C32),
    r("icmpOutAddrMasks", "icmp_outaddrmasks", C32),
    r("icmpOutAddrMaskReps", "icmp_outaddrmaskreps", C32),
];

/// `mib2_tcp_group` (Host sFlow 2009).
const MIB2_TCP: &[Row] = &[
    r("tcpRtoAlgorithm", "tcp_rtoalgorithm", Gauge),
    r("tcpRtoMin", "tcp_rtomin", Gauge),
    r("tcpRtoMax", "tcp_rtomax", Gauge),
    r("tcpMaxConn", "tcp_maxconn", Gauge),
    r("tcpActiveOpens", "tcp_activeopens", C32),
    r("tcpPassiveOpens", "tcp_passiveopens", C32),
    r("tcpAttemptFails", "tcp_attemptfails", C32),
    r("tcpEstabResets", "tcp_estabresets", C32),
    r("tcpCurrEstab", "tcp_currestab", Gauge),
    r("tcpInSegs", "tcp_insegs", C32),
    r("tcpOutSegs", "tcp_outsegs", C32),
    r("tcpRetransSegs", "tcp_retranssegs", C32),
    r("tcpInErrs", "tcp_inerrs", C32),
    r("tcpOutRsts", "tcp_outrsts", C32),
    r("tcpInCsumErrors", "tcp_incsumerrors", C32),
];

/// `mib2_udp_group` (Host sFlow 2010): all counters.
const MIB2_UDP: &[Row] = &[
    r("udpInDatagrams", "udp_indatagrams", C32),
    r("udpNoPorts", "udp_noports", C32),
    r("udpInErrors", "udp_inerrors", C32),
    r("udpOutDatagrams", "udp_outdatagrams", C32),
    r("udpRcvbufErrors", "udp_rcvbuferrors", C32),
    r("udpSndbufErrors", "udp_sndbuferrors", C32),
    r("udpInCsumErrors", "udp_incsumerrors", C32),
];

/// `virt_node` (Host sFlow 2100): the hypervisor.
const VIRT_NODE: &[Row] = &[
    r("mhz", "vnode_cpu_mhz", Gauge),
    r("cpus", "vnode_cpus", Gauge),
    r("memory", "vnode_mem_total", Gauge),
    r("memory_free", "vnode_mem_free", Gauge),
    r("num_domains", "vnode_domains", Gauge),
];

/// `virt_cpu` (Host sFlow 2101). `vir_cpu_time` (ms/s) becomes `vir_cpu_utilization`.
const VIRT_CPU: &[Row] = &[
    r("state", "vir_cpu_state", Gauge),
    r("cpuTime", "vir_cpu_time", C32),
    r("nrVirtCpu", "vir_cpu_num", Gauge),
];

/// `virt_memory` (Host sFlow 2102).
const VIRT_MEMORY: &[Row] = &[
    r("memory", "vir_mem_used", Gauge),
    r("maxMemory", "vir_mem_total", Gauge),
];

/// `virt_disk_io` (Host sFlow 2103).
const VIRT_DISK_IO: &[Row] = &[
    r("capacity", "vir_disk_total", Gauge),
    r("allocation", "vir_disk_allocation", Gauge),
    r("available", "vir_disk_free", Gauge),
    r("rd_req", "vir_disk_reads", C32),
    r("rd_bytes", "vir_disk_bytes_read", C64),
    r("wr_req", "vir_disk_writes", C32),
    r("wr_bytes", "vir_disk_bytes_written", C64),
    r("errs", "vir_disk_errors", C32),
];

/// `virt_net_io` (Host sFlow 2104).
const VIRT_NET_IO: &[Row] = &[
    r("rx_bytes", "vir_bytes_in", C64),
    r("rx_packets", "vir_pkts_in", C32),
    r("rx_errs", "vir_errs_in", C32),
    r("rx_drop", "vir_drops_in", C32),
    r("tx_bytes", "vir_bytes_out", C64),
    r("tx_packets", "vir_pkts_out", C32),
    r("tx_errs", "vir_errs_out", C32),
    r("tx_drop", "vir_drops_out", C32),
];

/// `app_resources` (sFlow application structures 2203). Times (ms) become percent of one
/// CPU in `source.rs`.
const APP_RESOURCES: &[Row] = &[
    r("user_time", "app_usertime", C32),
    r("system_time", "app_systemtime", C32),
    r("mem_used", "app_mem_used", Gauge),
    r("mem_max", "app_mem_max", Gauge),
    r("fd_open", "app_fd_open", Gauge),
    r("fd_max", "app_fd_max", Gauge),
    r("conn_open", "app_conn_open", Gauge),
    r("conn_max", "app_conn_max", Gauge),
];

/// `ovs_dp_stats` (format 2207).
const OVS_DP: &[Row] = &[
    r("hits", "ovs_dp_hits", C32),
    r("misses", "ovs_dp_misses", C32),
    r("lost", "ovs_dp_lost", C32),
    r("mask_hits", "ovs_dp_maskhits", C32),
    r("flows", "ovs_dp_flows", Gauge),
    r("masks", "ovs_dp_masks", Gauge),
];

/// Metrics computed from other metrics of the same sample (see `source.rs`), with what they
/// mean. Listed so that documentation and `names()` know them.
pub const DERIVED: &[(&str, &str)] = &[
    (
        "ifinpkts",
        "ifinucastpkts + ifinmulticastpkts + ifinbroadcastpkts, packets/s",
    ),
    (
        "ifoutpkts",
        "ifoutucastpkts + ifoutmulticastpkts + ifoutbroadcastpkts, packets/s",
    ),
    ("ifinutilization", "ifinoctets × 8 / ifspeed × 100, percent"),
    (
        "ifoututilization",
        "ifoutoctets × 8 / ifspeed × 100, percent",
    ),
    ("cpu_utilization", "100 − cpu_idle, percent"),
    (
        "mem_utilization",
        "(mem_total − mem_free − mem_buffers − mem_cached) / mem_total × 100",
    ),
    (
        "disk_utilization",
        "(disk_total − disk_free) / disk_total × 100, percent",
    ),
    (
        "vir_cpu_utilization",
        "vir_cpu_time / 10: percent of one CPU",
    ),
    (
        "vir_mem_utilization",
        "vir_mem_used / vir_mem_total × 100, percent",
    ),
    (
        "ovs_dp_missrate",
        "ovs_dp_misses / (ovs_dp_hits + ovs_dp_misses) × 100, percent",
    ),
];

/// The table of a record, or `None` for records this module ignores.
fn table(data: &CounterData<'_>, virtual_ds: bool) -> Option<&'static [Row]> {
    Some(match data {
        CounterData::Generic(_) => IF_COUNTERS,
        CounterData::Ethernet(_) => ETHERNET,
        CounterData::Vlan(_) => VLAN,
        CounterData::Processor(_) => PROCESSOR,
        CounterData::OpenFlowPort(_) => OF_PORT,
        CounterData::PortName(_) => PORT_NAME,
        CounterData::HostDescr(_) if virtual_ds => VIR_HOST_DESCR,
        CounterData::HostDescr(_) => HOST_DESCR,
        CounterData::HostCpu(_) => HOST_CPU,
        CounterData::HostMemory(_) => HOST_MEMORY,
        CounterData::HostDiskIo(_) => HOST_DISK_IO,
        CounterData::HostNetIo(_) => HOST_NET_IO,
        CounterData::Mib2Ip(_) => MIB2_IP,
        CounterData::Mib2Icmp(_) => MIB2_ICMP,
        CounterData::Mib2Tcp(_) => MIB2_TCP,
        CounterData::Mib2Udp(_) => MIB2_UDP,
        CounterData::VirtNode(_) => VIRT_NODE,
        CounterData::VirtCpu(_) => VIRT_CPU,
        CounterData::VirtMemory(_) => VIRT_MEMORY,
        CounterData::VirtDiskIo(_) => VIRT_DISK_IO,
        CounterData::VirtNetIo(_) => VIRT_NET_IO,
        CounterData::AppResources(_) => APP_RESOURCES,
        CounterData::OvsDatapath(_) => OVS_DP,
        _ => return None,
    })
}

/// True for the Host sFlow virtual machine records (2101..=2104): their data source's
/// `host_descr` names take the `vir_` prefix.
pub(crate) fn is_virtual_record(rec: &CounterRecord<'_>) -> bool {
    rec.enterprise == 0 && (2101..=2104).contains(&rec.format)
}

/// Every metric name this module can produce (record tables and [`DERIVED`]), sorted and
/// deduplicated.
pub fn all_names() -> Vec<&'static str> {
    let tables: &[&[Row]] = &[
        IF_COUNTERS,
        ETHERNET,
        VLAN,
        PROCESSOR,
        OF_PORT,
        PORT_NAME,
        HOST_DESCR,
        VIR_HOST_DESCR,
        HOST_CPU,
        HOST_MEMORY,
        HOST_DISK_IO,
        HOST_NET_IO,
        MIB2_IP,
        MIB2_ICMP,
        MIB2_TCP,
        MIB2_UDP,
        VIRT_NODE,
        VIRT_CPU,
        VIRT_MEMORY,
        VIRT_DISK_IO,
        VIRT_NET_IO,
        APP_RESOURCES,
        OVS_DP,
    ];
    let mut v: Vec<&'static str> = tables
        .iter()
        .flat_map(|t| t.iter().map(|row| row.name))
        .chain(["ifoperstatus"])
        .chain(DERIVED.iter().map(|d| d.0))
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Appends the observations of one record to `out`.
pub(crate) fn observe(rec: &CounterRecord<'_>, virtual_ds: bool, out: &mut Observed) {
    if let Some(rows) = table(&rec.data, virtual_ds) {
        rec.visit_fields(&mut Collect {
            rows,
            next_row: 0,
            out,
        });
    }
}

/// The visitor that applies a table.
struct Collect<'o> {
    rows: &'static [Row],
    /// The row after the last one matched: the fields mostly come in the table's order, so
    /// the next one is found without a scan.
    next_row: usize,
    out: &'o mut Observed,
}

impl Collect<'_> {
    /// Writes text with `write` at the end of the text buffer; returns its range.
    fn text(&mut self, write: impl FnOnce(&mut String)) -> Obs {
        let start = self.out.text.len();
        write(&mut self.out.text);
        Obs::Text(start..self.out.text.len())
    }
}

impl FieldVisitor for Collect<'_> {
    fn field(&mut self, spec: &'static str, value: Value<'_>) {
        let at = match self.rows.get(self.next_row) {
            Some(r) if r.spec == spec => Some(self.next_row),
            _ => self.rows.iter().position(|r| r.spec == spec),
        };
        let Some(row) = at.and_then(|i| {
            self.next_row = i + 1;
            self.rows.get(i)
        }) else {
            return;
        };
        let num = match value {
            Value::U64(v) => Some(v),
            _ => None,
        };
        let obs = match (row.kind, value) {
            (Gauge, Value::F32(f)) => Obs::Num(f64::from(f)),
            (Gauge, Value::I64(v)) => Obs::Num(v as f64),
            // all ones is sFlow's "unknown" (e.g. OVS `ovs_dp_masks`)
            (Gauge, _) => match num.filter(|&v| v != u64::from(u32::MAX) && v != u64::MAX) {
                Some(v) => Obs::Num(v as f64),
                None => return,
            },
            (Centi, _) => match num {
                Some(v) => Obs::Num(v as f64 / 100.0),
                None => return,
            },
            (C32, _) => match num.and_then(|v| u32::try_from(v).ok()) {
                Some(v) => Obs::C32(v),
                None => return,
            },
            (C64, _) => match num {
                Some(v) => Obs::C64(v),
                None => return,
            },
            // Writing to a String cannot fail.
            (Text, Value::Str(s)) => self.text(|out| text(s, out)),
            (Text, v) => self.text(|out| {
                let _ = write!(out, "{v}");
            }),
            (Enum(f), _) => match num {
                Some(v) => self.text(|out| match f(v) {
                    Some(name) => out.push_str(name),
                    None => {
                        let _ = write!(out, "{v}");
                    }
                }),
                None => return,
            },
            (Uuid, Value::Hex(b)) => self.text(|out| uuid(b, out)),
            (Uuid, _) => return,
            (Hex64, _) => match num {
                Some(v) => self.text(|out| {
                    let _ = write!(out, "{v:016x}");
                }),
                None => return,
            },
            (IfStatus, _) => {
                let Some(v) = num else { return };
                for (name, bit) in [("ifadminstatus", 1), ("ifoperstatus", 2)] {
                    let obs =
                        self.text(|out| out.push_str(if v & bit != 0 { "up" } else { "down" }));
                    self.out.items.push((name, obs));
                }
                return;
            }
        };
        self.out.items.push((row.name, obs));
    }
}

/// Appends wire text to `out`: invalid UTF-8 replaced, trailing NULs (padding some agents
/// leave inside the string) and control characters dropped.
fn text(s: &[u8], out: &mut String) {
    out.extend(
        String::from_utf8_lossy(s)
            .chars()
            .filter(|c| !c.is_control()),
    );
}

/// Appends 16 bytes as `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` to `out`; other lengths as
/// plain hex.
fn uuid(b: &[u8], out: &mut String) {
    for (i, byte) in b.iter().enumerate() {
        if b.len() == 16 && matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        // Writing to a String cannot fail.
        let _ = write!(out, "{byte:02x}");
    }
}

/// IANAifType names for the common interface types.
fn if_type_name(v: u64) -> Option<&'static str> {
    Some(match v {
        1 => "other",
        6 => "ethernetCsmacd",
        24 => "softwareLoopback",
        53 => "propVirtual",
        71 => "ieee80211",
        117 => "gigabitEthernet",
        131 => "tunnel",
        135 => "l2vlan",
        136 => "l3ipvlan",
        161 => "ieee8023adLag",
        209 => "bridge",
        _ => return None,
    })
}

/// sFlow `ifDirection`.
fn if_direction_name(v: u64) -> Option<&'static str> {
    Some(match v {
        0 => "unknown",
        1 => "full-duplex",
        2 => "half-duplex",
        3 => "in",
        4 => "out",
        _ => return None,
    })
}

/// Host sFlow `machine_type` enum.
fn machine_type_name(v: u64) -> Option<&'static str> {
    const N: [&str; 13] = [
        "unknown", "other", "x86", "x86_64", "ia64", "sparc", "alpha", "powerpc", "m68k", "mips",
        "arm", "hppa", "s390",
    ];
    usize::try_from(v).ok().and_then(|i| N.get(i)).copied()
}

/// Host sFlow `os_name` enum.
fn os_name_name(v: u64) -> Option<&'static str> {
    const N: [&str; 14] = [
        "unknown",
        "other",
        "linux",
        "windows",
        "darwin",
        "hpux",
        "aix",
        "dragonfly",
        "freebsd",
        "netbsd",
        "openbsd",
        "osf",
        "solaris",
        "java",
    ];
    usize::try_from(v).ok().and_then(|i| N.get(i)).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_lower_case_and_unique_per_table() {
        for n in all_names() {
            assert_eq!(n, n.to_ascii_lowercase(), "{n}");
        }
    }

    /// The module documentation lists every name the tables produce.
    #[test]
    fn documented() {
        let src = include_str!("names.rs");
        let doc: String = src
            .lines()
            .take_while(|l| l.starts_with("//!") || l.is_empty())
            .collect();
        for n in all_names() {
            assert!(
                doc.contains(&format!("`{n}`")),
                "{n} missing from the module doc"
            );
        }
    }

    #[test]
    fn uuid_format() {
        let b: Vec<u8> = (0u8..16).collect();
        let mut s = String::from("x");
        uuid(&b, &mut s);
        assert_eq!(s, "x00010203-0405-0607-0809-0a0b0c0d0e0f");
    }

    #[test]
    fn text_drops_control_characters_and_replaces_invalid_utf8() {
        let mut s = String::new();
        text(b"eth0\0\0", &mut s);
        text(b"a\xffb", &mut s);
        assert_eq!(s, "eth0a\u{fffd}b");
    }
}
