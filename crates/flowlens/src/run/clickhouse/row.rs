//! The rows of the `flows` table, built from the same views the engine reads: one row per
//! sFlow flow sample ([`flowlens_engine::sample::visit_flow_sample`]) and per NetFlow/IPFIX
//! data record ([`NetflowRecord::visit_keys`]), written as one `JSONEachRow` line.
//!
//! Columns are named as flowlens's flow keys (`docs/flow-keys.md`); the first tunnel level's
//! keys (`ipsource.1`) are the columns with the suffix `_1` (`ipsource_1`). A key the sample
//! does not carry is left out of the line, so ClickHouse stores the column's default (0 or
//! the empty string). Interfaces that are not an ifIndex (`internal`, `discard`, `multiple`,
//! `unknown`) are stored as 0.

use std::fmt::Write as _;
use std::net::IpAddr;

use flowlens_engine::sample::visit_flow_sample;
use flowlens_netflow::NetflowRecord;
use flowlens_wire::packet::WalkConfig;
use flowlens_wire::sflow::FlowSample;
use flowlens_wire::{KeyVisitor, Value};
use serde::Serialize;

/// One row of `flows`: what one sFlow flow sample or one NetFlow/IPFIX record stands for.
///
/// `frames` and `bytes` are scaled by `sampling_rate` as flowlens's values are: a flow sample
/// stands for `sampling_rate` frames of its frame length; a record for its packet and octet
/// counts × the rate. `samples` is 1, so `sum(samples)` over a group is the sample count a
/// 95 % confidence interval needs (see the README).
#[derive(Debug, Default, Serialize)]
pub(crate) struct FlowRow {
    /// Receive time, Unix seconds (ClickHouse `DateTime`).
    pub(crate) time: u64,
    /// sFlow agent address or NetFlow/IPFIX exporter.
    pub(crate) agent: String,
    /// Data source as flowlens names it (`3`, `2.1`).
    pub(crate) datasource: String,
    /// The 1-in-N sampling rate (≥ 1).
    pub(crate) sampling_rate: u64,
    /// Samples (or records) the row counts: 1.
    pub(crate) samples: u8,
    /// Frames the row stands for (scaled).
    pub(crate) frames: u64,
    /// Bytes the row stands for (scaled).
    pub(crate) bytes: u64,
    #[serde(flatten)]
    keys: Keys,
}

/// The flow-key columns (absent: not in the sample).
#[derive(Debug, Default, Serialize)]
struct Keys {
    #[serde(skip_serializing_if = "Option::is_none")]
    inputifindex: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    outputifindex: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    direction: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    macsource: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    macdestination: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vlan: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ethernetprotocol: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ipsource: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ipdestination: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip6source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip6destination: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ipprotocol: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip6nexthdr: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ipdscp: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip6dscp: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tcpsourceport: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tcpdestinationport: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    udpsourceport: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    udpdestinationport: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tcpflags: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    icmptype: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    icmpcode: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bgpsourceas: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bgpdestinationas: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vxlanvni: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ipsource_1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ipdestination_1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip6source_1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip6destination_1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ipprotocol_1: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tcpsourceport_1: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tcpdestinationport_1: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    udpsourceport_1: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    udpdestinationport_1: Option<u64>,
}

/// The integer of a key value (`None` for names such as `internal`).
fn num(v: Value<'_>) -> Option<u64> {
    match v {
        Value::U64(n) => Some(n),
        Value::I64(n) => u64::try_from(n).ok(),
        Value::Bool(b) => Some(u64::from(b)),
        _ => None,
    }
}

/// The text of a key value as flowlens prints it.
fn text(v: Value<'_>) -> String {
    let mut s = String::new();
    let _ = write!(s, "{v}");
    s
}

/// Sets `slot` to the key's value when it has none yet (the first value of a key wins, as in
/// the engine).
fn first<T>(slot: &mut Option<T>, v: Option<T>) {
    if slot.is_none() {
        *slot = v;
    }
}

impl KeyVisitor for Keys {
    fn key(&mut self, name: &'static str, depth: u8, v: Value<'_>) {
        let k = self;
        match (depth, name) {
            (0, "inputifindex") => first(&mut k.inputifindex, Some(num(v).unwrap_or(0))),
            (0, "outputifindex") => first(&mut k.outputifindex, Some(num(v).unwrap_or(0))),
            (0, "direction") => first(&mut k.direction, Some(text(v))),
            (0, "macsource") => first(&mut k.macsource, Some(text(v))),
            (0, "macdestination") => first(&mut k.macdestination, Some(text(v))),
            (0, "vlan") => first(&mut k.vlan, num(v)),
            (0, "ethernetprotocol") => first(&mut k.ethernetprotocol, num(v)),
            (0, "ipsource") => first(&mut k.ipsource, Some(text(v))),
            (0, "ipdestination") => first(&mut k.ipdestination, Some(text(v))),
            (0, "ip6source") => first(&mut k.ip6source, Some(text(v))),
            (0, "ip6destination") => first(&mut k.ip6destination, Some(text(v))),
            (0, "ipprotocol") => first(&mut k.ipprotocol, num(v)),
            (0, "ip6nexthdr") => first(&mut k.ip6nexthdr, num(v)),
            (0, "ipdscp") => first(&mut k.ipdscp, num(v)),
            (0, "ip6dscp") => first(&mut k.ip6dscp, num(v)),
            (0, "tcpsourceport") => first(&mut k.tcpsourceport, num(v)),
            (0, "tcpdestinationport") => first(&mut k.tcpdestinationport, num(v)),
            (0, "udpsourceport") => first(&mut k.udpsourceport, num(v)),
            (0, "udpdestinationport") => first(&mut k.udpdestinationport, num(v)),
            (0, "tcpflags") => first(&mut k.tcpflags, Some(text(v))),
            (0, "icmptype") => first(&mut k.icmptype, num(v)),
            (0, "icmpcode") => first(&mut k.icmpcode, num(v)),
            (0, "bgpsourceas") => first(&mut k.bgpsourceas, num(v)),
            (0, "bgpdestinationas") => first(&mut k.bgpdestinationas, num(v)),
            (_, "vxlanvni") => first(&mut k.vxlanvni, num(v)),
            (1, "ipsource") => first(&mut k.ipsource_1, Some(text(v))),
            (1, "ipdestination") => first(&mut k.ipdestination_1, Some(text(v))),
            (1, "ip6source") => first(&mut k.ip6source_1, Some(text(v))),
            (1, "ip6destination") => first(&mut k.ip6destination_1, Some(text(v))),
            (1, "ipprotocol") => first(&mut k.ipprotocol_1, num(v)),
            (1, "tcpsourceport") => first(&mut k.tcpsourceport_1, num(v)),
            (1, "tcpdestinationport") => first(&mut k.tcpdestinationport_1, num(v)),
            (1, "udpsourceport") => first(&mut k.udpsourceport_1, num(v)),
            (1, "udpdestinationport") => first(&mut k.udpdestinationport_1, num(v)),
            _ => {}
        }
    }
}

impl FlowRow {
    /// The row of one sFlow flow sample of `agent`, received at `now_ms`.
    pub(crate) fn sflow(now_ms: u64, agent: IpAddr, s: &FlowSample<'_>, cfg: &WalkConfig) -> Self {
        let mut keys = Keys::default();
        let w = visit_flow_sample(agent, s, cfg, &mut keys);
        let rate = u64::from(w.rate);
        FlowRow {
            time: now_ms / 1000,
            agent: agent.to_string(),
            datasource: flowlens_engine::DataSource::new(
                agent,
                s.source_id_type(),
                s.source_id_index(),
            )
            .name()
            .to_string(),
            sampling_rate: rate,
            samples: 1,
            frames: rate,
            // Frame lengths are integers carried as f64 by the engine's weight.
            bytes: (w.bytes as u64).saturating_mul(rate),
            keys,
        }
    }

    /// The row of one NetFlow/IPFIX data record, received at `now_ms`; `None` for an options
    /// record (not traffic).
    pub(crate) fn netflow(now_ms: u64, r: &NetflowRecord<'_, '_>) -> Option<Self> {
        if r.options {
            return None;
        }
        let mut keys = Keys::default();
        let counts = r.visit_keys(&mut keys);
        let ifindex = r
            .field(10)
            .and_then(flowlens_wire::netflow::ie::be_uint)
            .unwrap_or(0);
        let ds = flowlens_engine::DataSource::new(r.exporter, 0, ifindex as u32);
        Some(FlowRow {
            time: now_ms / 1000,
            agent: r.exporter.to_string(),
            datasource: ds.name().to_string(),
            sampling_rate: counts.sampling_rate.max(1),
            samples: 1,
            frames: counts.frames().unwrap_or(0),
            bytes: counts.bytes().unwrap_or(0),
            keys,
        })
    }

    /// Appends the row as one `JSONEachRow` line to `out`.
    pub(crate) fn write_line(&self, out: &mut Vec<u8>) {
        // Serialising plain numbers and strings into a Vec cannot fail.
        if serde_json::to_writer(&mut *out, self).is_ok() {
            out.push(b'\n');
        }
    }
}
