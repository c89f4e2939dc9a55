//! Per-tenant slices of sFlow datagrams: which samples of a datagram match a tenant's
//! filters, and the datagram of the tenant's own that carries them.
//!
//! A slice keeps the received datagram's agent address, sub-agent id and uptime, copies the
//! matching `sample_record`s byte for byte (samples keep their own sequence numbers, so a
//! tenant's collector sees the sampling it does get), and numbers the datagrams it sends
//! per tenant, agent and sub-agent from 1, as an agent numbers its own (sFlow v5 spec,
//! `sample_datagram_v5.sequence_number`). The samples of one received datagram always fit in
//! one datagram of the tenant's: a slice is never larger than what it was cut from.
//!
//! Matching (a sample is sent when any one filter entry matches):
//! * flow and discard samples: `ifindex`/`ifname` against the input or output interface,
//!   `cidr` against the source and destination of every IP header (`sampled_header` walked
//!   through its tunnels, `sampled_ipv4`/`sampled_ipv6`), `mac` against the Ethernet source
//!   and destination (`sampled_header`, `sampled_ethernet`);
//! * counter samples: `ifindex`/`ifname` against their data source (an ifIndex data source,
//!   `source_id_type` 0), so a tenant sees its own interfaces' counters and no one else's;
//! * interface names come from the agents' `port_name` counter records (structure 0:1005),
//!   learned here from every datagram seen (at most [`MAX_PORT_NAMES`]).

use std::collections::HashMap;
use std::net::IpAddr;
use std::ops::Range;

use flowlens_wire::packet::{walk, Header, LinkType, WalkConfig};
use flowlens_wire::sflow::{
    sample_record_bytes, CounterData, Datagram, DatagramHeader, FlowData, FlowRecords, Interface,
    Sample,
};

use super::spec::TenantSpec;

/// Interface names remembered at most ((agent, ifIndex) pairs); beyond it new ones are not
/// learned.
pub(crate) const MAX_PORT_NAMES: usize = 65_536;
/// (tenant, agent, sub-agent) sequence counters kept at most; beyond it they start again
/// (a collector sees one sequence reset).
const MAX_SEQUENCES: usize = 65_536;
/// Addresses and MACs of one sample looked at, at most (tunnels nest a few deep).
const MAX_SEEN: usize = 16;

/// What one sample shows the filters.
#[derive(Default)]
struct Seen {
    /// Interfaces (ifIndex): a flow sample's input and output, a counter sample's source.
    ifindex: Vec<u32>,
    ips: Vec<IpAddr>,
    macs: Vec<[u8; 6]>,
}

impl Seen {
    fn clear(&mut self) {
        self.ifindex.clear();
        self.ips.clear();
        self.macs.clear();
    }

    fn ip(&mut self, ip: IpAddr) {
        if self.ips.len() < MAX_SEEN {
            self.ips.push(ip);
        }
    }

    fn mac(&mut self, m: [u8; 6]) {
        if self.macs.len() < MAX_SEEN {
            self.macs.push(m);
        }
    }

    /// The addresses in the flow records of a flow or discard sample.
    fn records(&mut self, records: FlowRecords<'_>, cfg: &WalkConfig) {
        for r in records {
            let Ok(r) = r else { break };
            match r.data {
                FlowData::SampledHeader(h) => {
                    let Some(link) = LinkType::from_sflow_header_protocol(h.header_protocol())
                    else {
                        continue;
                    };
                    let w = walk(link, h.header(), cfg);
                    for l in w.layers().iter().filter(|l| !l.quoted) {
                        match l.header {
                            Header::Ethernet(e) => {
                                self.mac(e.src_addr());
                                self.mac(e.dst_addr());
                            }
                            Header::Ipv4(ip) => {
                                self.ip(IpAddr::V4(ip.src_addr()));
                                self.ip(IpAddr::V4(ip.dst_addr()));
                            }
                            Header::Ipv6(ip) => {
                                self.ip(IpAddr::V6(ip.src_addr()));
                                self.ip(IpAddr::V6(ip.dst_addr()));
                            }
                            _ => {}
                        }
                    }
                }
                FlowData::SampledEthernet(e) => {
                    self.mac(e.src_mac());
                    self.mac(e.dst_mac());
                }
                FlowData::SampledIpv4(ip) => {
                    self.ip(IpAddr::V4(ip.src_ip()));
                    self.ip(IpAddr::V4(ip.dst_ip()));
                }
                FlowData::SampledIpv6(ip) => {
                    self.ip(IpAddr::V6(ip.src_ip()));
                    self.ip(IpAddr::V6(ip.dst_ip()));
                }
                _ => {}
            }
        }
    }
}

/// One tenant's share of a datagram.
pub(crate) struct Slice<'a> {
    /// Index of the tenant in the list given to [`Slicer::slice`].
    pub(crate) tenant: usize,
    /// The tenant's datagram.
    pub(crate) datagram: &'a [u8],
    /// Samples in it.
    pub(crate) samples: u32,
}

/// Cuts datagrams into tenant slices; one per forwarding thread (it keeps the sequence
/// numbers and the learned interface names).
pub(crate) struct Slicer {
    cfg: WalkConfig,
    /// (agent, ifIndex) → interface name.
    names: HashMap<(IpAddr, u32), String>,
    /// Tenant name → (agent, sub-agent) → last sequence number sent.
    sequences: HashMap<String, HashMap<(IpAddr, u32), u32>>,
    sequences_len: usize,
    /// Per tenant: the byte ranges (in the received datagram) of its samples.
    picked: Vec<Vec<Range<usize>>>,
    seen: Seen,
    out: Vec<u8>,
}

impl Slicer {
    pub(crate) fn new() -> Slicer {
        Slicer {
            cfg: WalkConfig::default(),
            names: HashMap::new(),
            sequences: HashMap::new(),
            sequences_len: 0,
            picked: Vec::new(),
            seen: Seen::default(),
            out: Vec::with_capacity(65_536),
        }
    }

    /// Learns the interface names of `d`'s `port_name` counter records.
    fn learn_names(&mut self, d: &Datagram<'_>) {
        let agent = d.agent_address();
        for s in d.samples() {
            let Ok(Sample::Counter(c)) = s else { continue };
            if c.source_id_type() != 0 {
                continue;
            }
            for r in c.records() {
                let Ok(r) = r else { break };
                if let CounterData::PortName(p) = r.data {
                    let key = (agent, c.source_id_index());
                    let name = String::from_utf8_lossy(p.name());
                    let room = self.names.len() < MAX_PORT_NAMES;
                    match self.names.get_mut(&key) {
                        Some(n) if *n == name => {}
                        Some(n) => *n = name.into_owned(),
                        None if room => {
                            self.names.insert(key, name.into_owned());
                        }
                        None => {}
                    }
                }
            }
        }
    }

    fn matches(&self, t: &TenantSpec, agent: IpAddr, seen: &Seen) -> bool {
        let agent_ok = |a: &Option<IpAddr>| a.is_none_or(|a| a == agent);
        t.ifindex
            .iter()
            .any(|f| agent_ok(&f.agent) && seen.ifindex.contains(&f.index))
            || t.ifname.iter().any(|f| {
                agent_ok(&f.agent)
                    && seen
                        .ifindex
                        .iter()
                        .any(|i| self.names.get(&(agent, *i)).is_some_and(|n| *n == f.name))
            })
            || t.cidr
                .iter()
                .any(|c| seen.ips.iter().any(|ip| c.contains(*ip)))
            || t.mac.iter().any(|m| seen.macs.contains(m))
    }

    fn next_sequence(&mut self, tenant: &str, agent: IpAddr, sub_agent: u32) -> u32 {
        if self.sequences_len >= MAX_SEQUENCES {
            self.sequences.clear();
            self.sequences_len = 0;
        }
        if !self.sequences.contains_key(tenant) {
            self.sequences.insert(tenant.to_string(), HashMap::new());
        }
        let Some(per) = self.sequences.get_mut(tenant) else {
            return 1;
        };
        let n = per.entry((agent, sub_agent)).or_insert_with(|| {
            self.sequences_len += 1;
            0
        });
        *n = n.wrapping_add(1);
        *n
    }

    /// Cuts `payload` (an sFlow v5 datagram) for `tenants` (name, spec) and calls `send` with
    /// each tenant's slice that holds at least one sample.
    ///
    /// # Errors
    /// The datagram header does not parse (nothing is sent). A sample that does not parse
    /// ends the datagram: the samples before it are still sliced.
    pub(crate) fn slice(
        &mut self,
        payload: &[u8],
        tenants: &[(&str, &TenantSpec)],
        mut send: impl FnMut(Slice<'_>),
    ) -> Result<(), flowlens_wire::Error> {
        let d = Datagram::parse(payload)?;
        let agent = d.agent_address();
        if tenants.iter().any(|(_, t)| !t.ifname.is_empty()) {
            self.learn_names(&d);
        }
        self.picked.resize_with(tenants.len(), Vec::new);
        for p in &mut self.picked {
            p.clear();
        }
        let mut seen = std::mem::take(&mut self.seen);
        for s in d.samples() {
            let Ok(s) = s else { break };
            seen.clear();
            match &s {
                Sample::Flow(f) => {
                    for i in [f.input(), f.output()] {
                        if let Interface::Index(i) = i {
                            seen.ifindex.push(i);
                        }
                    }
                    seen.records(f.records(), &self.cfg);
                }
                Sample::Discard(f) => {
                    for i in [f.input(), f.output()] {
                        if let Interface::Index(i) = Interface::from_compact(i) {
                            seen.ifindex.push(i);
                        }
                    }
                    seen.records(f.records(), &self.cfg);
                }
                Sample::Counter(c) if c.source_id_type() == 0 => {
                    seen.ifindex.push(c.source_id_index());
                }
                Sample::Counter(_) | Sample::Unknown(_) => continue,
            }
            let Some(bytes) = sample_record_bytes(payload, &s) else {
                continue;
            };
            let start = s.offset();
            let range = start..start + bytes.len();
            for (i, (_, t)) in tenants.iter().enumerate() {
                if self.matches(t, agent, &seen) {
                    if let Some(p) = self.picked.get_mut(i) {
                        p.push(range.clone());
                    }
                }
            }
        }
        self.seen = seen;
        for (i, (name, _)) in tenants.iter().enumerate() {
            let n = self.picked.get(i).map_or(0, Vec::len);
            if n == 0 {
                continue;
            }
            let header = DatagramHeader {
                agent_address: agent,
                sub_agent_id: d.sub_agent_id(),
                sequence_number: self.next_sequence(name, agent, d.sub_agent_id()),
                uptime_ms: d.uptime_ms(),
                samples: u32::try_from(n).unwrap_or(u32::MAX),
            };
            self.out.clear();
            self.out.resize(header.len(), 0);
            if header.write(&mut self.out).is_err() {
                continue;
            }
            for r in self.picked.get(i).into_iter().flatten() {
                if let Some(b) = payload.get(r.clone()) {
                    self.out.extend_from_slice(b);
                }
            }
            send(Slice {
                tenant: i,
                datagram: &self.out,
                samples: header.samples,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::forward::spec::TenantSpec;
    use serde_json::json;

    /// An sFlow v5 datagram written from the spec's layout: agent 192.0.2.1, a counter
    /// sample of ifIndex 5 holding a `port_name` record "vnet5", then flow samples (no
    /// records) in on ifIndex 5 and on ifIndex 6.
    fn datagram() -> Vec<u8> {
        let mut d = Vec::new();
        let w = |d: &mut Vec<u8>, v: u32| d.extend_from_slice(&v.to_be_bytes());
        for v in [5, 1] {
            w(&mut d, v);
        }
        d.extend_from_slice(&[192, 0, 2, 1]);
        for v in [0, 77, 1000, 3] {
            w(&mut d, v); // sub-agent, sequence, uptime, 3 samples
        }
        // counter_sample (0:2), 32 bytes: sequence, source 0:5, 1 record.
        for v in [2, 32, 1, 5, 1, 1005, 12, 5] {
            w(&mut d, v);
        }
        d.extend_from_slice(b"vnet5\0\0\0");
        for input in [5, 6] {
            // flow_sample (0:1), 32 bytes: sequence, source 0:input, rate, pool, drops,
            // input, output, 0 records.
            for v in [1, 32, 9, input, 10, 100, 0, input, 0, 0] {
                w(&mut d, v);
            }
        }
        d
    }

    fn tenant(filters: serde_json::Value) -> TenantSpec {
        TenantSpec::parse(&json!({"collectorAddress": "127.0.0.1", "filters": filters})).unwrap()
    }

    /// (tenant, samples, datagram) of each slice of `d` for `specs`.
    fn slices(
        s: &mut Slicer,
        d: &[u8],
        specs: &[(&str, &TenantSpec)],
    ) -> Vec<(usize, u32, Vec<u8>)> {
        let mut out = Vec::new();
        s.slice(d, specs, |x| {
            out.push((x.tenant, x.samples, x.datagram.to_vec()))
        })
        .unwrap();
        out
    }

    #[test]
    fn interface_names_come_from_port_name_records() {
        let d = datagram();
        let by_name = tenant(json!({"ifname": ["vnet5"]}));
        let elsewhere = tenant(json!({"ifname": ["192.0.2.9_vnet5"]}));
        let by_index = tenant(json!({"ifindex": ["192.0.2.1_6"]}));
        let mut s = Slicer::new();
        let got = slices(
            &mut s,
            &d,
            &[("a", &by_name), ("b", &elsewhere), ("c", &by_index)],
        );
        assert_eq!(got.len(), 2, "no slice for another agent's vnet5");
        let (t, n, a) = &got[0];
        assert_eq!((*t, *n), (0, 2));
        // The counter sample and the first flow sample, unchanged, under a new header.
        let h = Datagram::parse(a).unwrap();
        assert_eq!(h.agent_address(), IpAddr::from([192, 0, 2, 1]));
        assert_eq!(
            (h.sequence_number(), h.uptime_ms(), h.samples_count()),
            (1, 1000, 2)
        );
        assert_eq!(&a[28..], &d[28..28 + 40 + 40]);
        let (t, n, c) = &got[1];
        assert_eq!((*t, *n), (2, 1));
        assert_eq!(&c[28..], &d[28 + 80..]);
        // Each tenant numbers its datagrams: the next slice is number 2.
        let again = slices(&mut s, &d, &[("a", &by_name)]);
        assert_eq!(Datagram::parse(&again[0].2).unwrap().sequence_number(), 2);
    }

    #[test]
    fn a_datagram_that_does_not_parse_is_an_error_and_sends_nothing() {
        let t = tenant(json!({"ifindex": ["5"]}));
        let mut s = Slicer::new();
        let mut sent = 0;
        assert!(s
            .slice(&[0, 0, 0, 5, 0, 0, 0, 9], &[("a", &t)], |_| sent += 1)
            .is_err());
        // Cut inside the last sample: the samples before it still go.
        let d = datagram();
        let got = slices(&mut s, &d[..d.len() - 4], &[("a", &t)]);
        assert_eq!(got[0].1, 2);
        assert_eq!(sent, 0);
    }
}
