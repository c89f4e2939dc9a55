//! The rows of the `flows` table, built from the same views the engine reads: one row per
//! sFlow flow sample ([`flowlens_engine::sample::visit_flow_sample`]) and per NetFlow/IPFIX
//! data record ([`NetflowRecord::visit_keys`]), written as one `JSONEachRow` line.
//!
//! Columns are named as flowlens's flow keys (`docs/flow-keys.md`); the first tunnel level's
//! keys (`ipsource.1`) are the columns with the suffix `_1` (`ipsource_1`). A key the sample
//! does not carry is left out of the line, so ClickHouse stores the column's default (0 or
//! the empty string). Interfaces that are not an ifIndex (`internal`, `discard`, `multiple`,
//! `unknown`) are stored as 0. Boolean keys (`ipdontfragment`) are stored as 1 (`true`) or
//! 0 (`false`, or no such header).

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
    pub(crate) sampling_rate: u32,
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
    inputifindex: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    outputifindex: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    direction: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    macsource: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    macdestination: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vlan: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ethernetprotocol: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ipsource: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ipdestination: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip6source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip6destination: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ipprotocol: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip6nexthdr: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ipdscp: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip6dscp: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tcpsourceport: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tcpdestinationport: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    udpsourceport: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    udpdestinationport: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tcpflags: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    icmptype: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    icmpcode: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bgpsourceas: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bgpdestinationas: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vxlanvni: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ipsource_1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ipdestination_1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip6source_1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip6destination_1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ipprotocol_1: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tcpsourceport_1: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tcpdestinationport_1: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    udpsourceport_1: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    udpdestinationport_1: Option<u16>,
    // Schema 2: MTU and fragmentation.
    #[serde(skip_serializing_if = "Option::is_none")]
    ipbytes: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ipttl: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ipdontfragment: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ipfragoffset: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tunneloverhead_bytes: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    icmpnexthopmtu: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tcpmss: Option<u16>,
}

/// The integer of a key value when it fits the column's type (`None` for names such as
/// `internal`, and for a value too large for the column, which a template may declare with
/// any field length: one such value must not make ClickHouse refuse the whole batch).
fn num<T: TryFrom<u64>>(v: Value<'_>) -> Option<T> {
    let n = match v {
        Value::U64(n) => n,
        Value::I64(n) => u64::try_from(n).ok()?,
        Value::Bool(b) => u64::from(b),
        _ => return None,
    };
    T::try_from(n).ok()
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
            (0, "ipbytes") => first(&mut k.ipbytes, num(v)),
            (0, "ipttl") => first(&mut k.ipttl, num(v)),
            // A boolean key: 1 set, 0 clear.
            (0, "ipdontfragment") => first(&mut k.ipdontfragment, num(v)),
            (0, "ipfragoffset") => first(&mut k.ipfragoffset, num(v)),
            (0, "tunneloverhead_bytes") => first(&mut k.tunneloverhead_bytes, num(v)),
            (0, "icmpnexthopmtu") => first(&mut k.icmpnexthopmtu, num(v)),
            (0, "tcpmss") => first(&mut k.tcpmss, num(v)),
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
            sampling_rate: w.rate,
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
            sampling_rate: u32::try_from(counts.sampling_rate.max(1)).unwrap_or(u32::MAX),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_become_columns_that_fit_their_types() {
        let mut k = Keys::default();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "192.168.1.1".parse().unwrap();
        k.key("ipsource", 0, Value::Ip(a));
        k.key("ipsource", 0, Value::Ip(b)); // the first value wins
        k.key("ipsource", 1, Value::Ip(b)); // inside the first tunnel
        k.key("ipsource", 2, Value::Ip(a)); // deeper: not a column
        k.key("inputifindex", 0, Value::Name("internal"));
        k.key("vlan", 0, Value::U64(70_000)); // too large for UInt16: left out
        k.key("tcpsourceport", 0, Value::U64(443));
        k.key("vxlanvni", 1, Value::U64(100));
        k.key("ipdontfragment", 0, Value::Bool(true));
        k.key("ipdontfragment", 1, Value::Bool(false)); // inner header: not a column
        k.key("ipbytes", 0, Value::U64(1500));
        k.key("tunneloverhead_bytes", 0, Value::U64(50));
        k.key(
            "macsource",
            0,
            Value::Mac([0, 0x1b, 0x21, 0xaa, 0xbb, 0x0c]),
        );
        let row = FlowRow {
            time: 1_700_000_000,
            agent: "10.0.0.254".into(),
            datasource: "3".into(),
            sampling_rate: 10,
            samples: 1,
            frames: 10,
            bytes: 15_000,
            keys: k,
        };
        let mut out = Vec::new();
        row.write_line(&mut out);
        let line = String::from_utf8(out).unwrap();
        assert!(line.ends_with('\n') && line.matches('\n').count() == 1);
        let j: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(j["ipsource"], "10.0.0.1");
        assert_eq!(j["ipsource_1"], "192.168.1.1");
        assert_eq!(j["inputifindex"], 0);
        assert!(j.get("vlan").is_none() && j.get("outputifindex").is_none());
        assert_eq!(
            (j["tcpsourceport"].as_u64(), j["vxlanvni"].as_u64()),
            (Some(443), Some(100))
        );
        assert_eq!(
            (
                j["ipdontfragment"].as_u64(),
                j["ipbytes"].as_u64(),
                j["tunneloverhead_bytes"].as_u64()
            ),
            (Some(1), Some(1500), Some(50))
        );
        assert!(j.get("ipttl").is_none() && j.get("icmpnexthopmtu").is_none());
        assert_eq!(
            j["macsource"],
            Value::Mac([0, 0x1b, 0x21, 0xaa, 0xbb, 0x0c]).to_string()
        );
        assert_eq!(
            (j["time"].as_u64(), j["frames"].as_u64()),
            (Some(1_700_000_000), Some(10))
        );
    }
}
