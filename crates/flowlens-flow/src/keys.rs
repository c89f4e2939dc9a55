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
//! | `ipprotocol` | 4 (`prot`) | protocol number |
//! | `tcpsourceport`, `tcpdestinationport` | 7, 11 when protocol is 6 | port |
//! | `udpsourceport`, `udpdestinationport` | 7, 11 when protocol is 17 | port |
//! | `tcpflags` | 6 (`tcp_flags`) | 9-char bit string NS CWR ECE URG ACK PSH RST SYN FIN |
//! | `iptos`, `ipdscp`, `ipecn` | 5 (`tos`), IPv4 flows | TOS byte, DSCP (tos >> 2), ECN (tos & 3) |
//! | `ip6tos`, `ip6dscp`, `ip6ecn` | 5, IPv6 flows | traffic class, DSCP, ECN |
//! | `icmptype`, `icmpcode` | 32 (type << 8 \| code), 176/177; else protocol 1 and 11 (`dstport`) | type, code |
//! | `icmp6type`, `icmp6code` | 139, 178/179; else protocol 58 and 11 | type, code |
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

use flowlens_wire::netflow::ie;
use flowlens_wire::packet::keys::TcpFlagBits;
use flowlens_wire::{KeyVisitor, Value};

use crate::record::{uint, FlowRecord};
use crate::Protocol;

/// The key name for an element without a normalised key, from the wire registry:
/// `ipfix:<ianaName>` (IANA and RFC 5103 reverse elements) or `ipfix:<vendor>:<name>`
/// (enterprise elements, NetFlow v9-only types); `None` when the registry does not know it.
pub fn ipfix_key_name(enterprise: u32, id: u16) -> Option<&'static str> {
    ie::lookup(enterprise, id).map(|e| e.key)
}

/// A `dateTime*` IANA element (150..=157) as Unix ms, decoded by its registry type.
fn time_ms(id: u16, b: &[u8]) -> Option<u64> {
    let e = ie::lookup(0, id)?;
    ie::datetime_unix_nanos(e.data_type, b).map(|ns| ns / 1_000_000)
}

/// Calls `v.key` for every normalised key of `record` (see the module docs for the table).
pub fn visit_keys(record: &FlowRecord<'_, '_>, v: &mut impl KeyVisitor) {
    let s = Summary::of(record);
    s.emit(record, v);
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
    pub(crate) fn of(r: &FlowRecord<'_, 'a>) -> Summary<'a> {
        let mut s = Summary {
            rate: u64::from(r.sampling_rate.max(1)),
            ..Summary::default()
        };
        let v9 = r.protocol == Protocol::NetflowV9;
        let clock = r.clock;
        let mut init_ms = clock.system_init_ms;
        let mut rel = (None, None);
        let mut delta = (None, None);
        for (f, b) in r.data.fields() {
            if f.scope && v9 {
                continue;
            }
            if f.enterprise == 6876 {
                match f.id {
                    891 => s.tun_type = uint(b),
                    892 => s.tun_key = uint(b),
                    893 | 899 => s.tun_src = ip(b),
                    894 | 900 => s.tun_dst = ip(b),
                    895 => s.tun_proto = uint(b),
                    896 => s.tun_sport = uint(b),
                    897 => s.tun_dport = uint(b),
                    _ => {}
                }
                continue;
            }
            if f.enterprise != 0 {
                continue;
            }
            let n = uint(b);
            match f.id {
                8 => s.src4 = ip4(b),
                12 => s.dst4 = ip4(b),
                27 => s.src6 = ip6(b),
                28 => s.dst6 = ip6(b),
                4 => s.proto = n,
                7 => s.sport = n,
                11 => s.dport = n,
                6 => s.tcpflags = n,
                5 => s.tos = n,
                32 => s.icmp4 = n.map(|v| (v >> 8 & 0xff, v & 0xff)),
                139 => s.icmp6 = n.map(|v| (v >> 8 & 0xff, v & 0xff)),
                176 => s.icmp_type4 = n,
                177 => s.icmp_code4 = n,
                178 => s.icmp_type6 = n,
                179 => s.icmp_code6 = n,
                10 => s.in_if = n,
                14 => s.out_if = n,
                58 => s.vlan = n,
                243 => s.dot1q_vlan = n,
                56 => s.mac_src = b.try_into().ok(),
                80 => s.mac_dst = b.try_into().ok(),
                15 | 62 => s.nexthop = ip(b).or(s.nexthop),
                18 | 63 => s.bgp_nexthop = ip(b).or(s.bgp_nexthop),
                16 => s.src_as = n,
                17 => s.dst_as = n,
                9 | 29 => s.src_mask = n,
                13 | 30 => s.dst_mask = n,
                351 => {
                    s.segment_vni = n.filter(|v| v >> 56 == 1).map(|v| v & 0xff_ffff);
                }
                1 => s.octets_delta = n,
                85 => s.octets_total = n,
                2 => s.packets_delta = n,
                86 => s.packets_total = n,
                150 | 152 | 154 | 156 => s.start_ms = time_ms(f.id, b),
                151 | 153 | 155 | 157 => s.end_ms = time_ms(f.id, b),
                158 => delta.0 = n,
                159 => delta.1 = n,
                160 => init_ms = n,
                22 => rel.0 = n,
                21 => rel.1 = n,
                _ => {}
            }
        }
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
        s
    }

    pub(crate) fn bytes(&self) -> Option<u64> {
        self.octets_delta
            .or(self.octets_total)
            .map(|n| n.saturating_mul(self.rate))
    }

    pub(crate) fn frames(&self) -> Option<u64> {
        self.packets_delta
            .or(self.packets_total)
            .map(|n| n.saturating_mul(self.rate))
    }

    fn tunnelled(&self) -> bool {
        self.tun_src.is_some() || self.tun_dst.is_some() || self.tun_type.is_some_and(|t| t != 0)
    }

    fn emit(&self, r: &FlowRecord<'_, '_>, v: &mut impl KeyVisitor) {
        let u = Value::U64;
        let d = if self.tunnelled() {
            self.emit_tunnel(v);
            1
        } else {
            0
        };
        if let Some(m) = self.mac_src {
            v.key("macsource", d, Value::Mac(m));
        }
        if let Some(m) = self.mac_dst {
            v.key("macdestination", d, Value::Mac(m));
        }
        if let Some(x) = self.vlan.or(self.dot1q_vlan) {
            v.key("vlan", d, u(x));
        }
        if let Some(a) = self.src4 {
            v.key("ipsource", d, Value::Ip(a.into()));
        }
        if let Some(a) = self.dst4 {
            v.key("ipdestination", d, Value::Ip(a.into()));
        }
        if let Some(a) = self.src6 {
            v.key("ip6source", d, Value::Ip(a.into()));
        }
        if let Some(a) = self.dst6 {
            v.key("ip6destination", d, Value::Ip(a.into()));
        }
        let v6 = (self.src6.is_some() || self.dst6.is_some()) && self.src4.is_none();
        if let Some(p) = self.proto {
            v.key("ipprotocol", d, u(p));
        }
        if let Some(t) = self.tos {
            let (tos, dscp, ecn) = if v6 {
                ("ip6tos", "ip6dscp", "ip6ecn")
            } else {
                ("iptos", "ipdscp", "ipecn")
            };
            v.key(tos, d, u(t));
            v.key(dscp, d, u(t >> 2 & 0x3f));
            v.key(ecn, d, u(t & 3));
        }
        let ports = match self.proto {
            Some(6) => Some(("tcpsourceport", "tcpdestinationport")),
            Some(17) => Some(("udpsourceport", "udpdestinationport")),
            _ => None,
        };
        if let Some((sp, dp)) = ports {
            if let Some(p) = self.sport {
                v.key(sp, d, u(p));
            }
            if let Some(p) = self.dport {
                v.key(dp, d, u(p));
            }
        }
        if self.proto == Some(6) {
            if let Some(fl) = self.tcpflags {
                let bits = TcpFlagBits((fl & 0x1ff) as u16);
                v.key("tcpflags", d, Value::Display(&bits));
            }
        }
        // ICMP: explicit elements first, else the NetFlow convention (type << 8 | code in the
        // destination port).
        let from_port = |p: u8| {
            (self.proto == Some(p.into()))
                .then_some(self.dport)
                .flatten()
                .map(|x| (x >> 8 & 0xff, x & 0xff))
        };
        let icmp4 = self
            .icmp4
            .or(self.icmp_type4.map(|t| (t, self.icmp_code4.unwrap_or(0))))
            .or_else(|| from_port(1));
        if let Some((t, c)) = icmp4 {
            v.key("icmptype", d, u(t));
            v.key("icmpcode", d, u(c));
        }
        let icmp6 = self
            .icmp6
            .or(self.icmp_type6.map(|t| (t, self.icmp_code6.unwrap_or(0))))
            .or_else(|| from_port(58));
        if let Some((t, c)) = icmp6 {
            v.key("icmp6type", d, u(t));
            v.key("icmp6code", d, u(c));
        }
        if let Some(x) = self.in_if {
            v.key("inputifindex", 0, u(x));
        }
        if let Some(x) = self.out_if {
            v.key("outputifindex", 0, u(x));
        }
        if let Some(a) = self.nexthop {
            v.key("ipnexthoprouter", 0, Value::Ip(a));
        }
        if let Some(a) = self.bgp_nexthop {
            v.key("bgpnexthop", 0, Value::Ip(a));
        }
        if let Some(x) = self.src_as {
            v.key("bgpsourceas", 0, u(x));
        }
        if let Some(x) = self.dst_as {
            v.key("bgpdestinationas", 0, u(x));
        }
        if let Some(x) = self.src_mask {
            v.key("ipsourcemaskbits", 0, u(x));
        }
        if let Some(x) = self.dst_mask {
            v.key("ipdestinationmaskbits", 0, u(x));
        }
        if let Some(x) = self.segment_vni {
            v.key("vxlanvni", 0, u(x));
        }
        if let Some(x) = self.bytes() {
            v.key("bytes", 0, u(x));
        }
        if let Some(x) = self.frames() {
            v.key("frames", 0, u(x));
        }
        v.key("samplingrate", 0, u(self.rate));
        if let Some(x) = self.start_ms {
            v.key("flowstart_ms", 0, u(x));
        }
        if let Some(x) = self.end_ms {
            v.key("flowend_ms", 0, u(x));
        }
        let v9 = r.protocol == Protocol::NetflowV9;
        for (f, b) in r.data.fields() {
            if f.scope && v9 || f.enterprise == 0 && consumed(f.id) {
                continue;
            }
            if f.enterprise == 6876 && (891..=897).contains(&f.id) && self.tunnelled() {
                continue;
            }
            if let Some(e) = ie::lookup(f.enterprise, f.id) {
                v.key(e.key, 0, ie::value(e.data_type, b));
            }
        }
    }

    fn emit_tunnel(&self, v: &mut impl KeyVisitor) {
        let u = Value::U64;
        for (a, v4, v6) in [
            (self.tun_src, "ipsource", "ip6source"),
            (self.tun_dst, "ipdestination", "ip6destination"),
        ] {
            match a {
                Some(IpAddr::V4(x)) => v.key(v4, 0, Value::Ip(x.into())),
                Some(IpAddr::V6(x)) => v.key(v6, 0, Value::Ip(x.into())),
                None => {}
            }
        }
        if let Some(p) = self.tun_proto {
            v.key("ipprotocol", 0, u(p));
            if p == 17 {
                if let Some(x) = self.tun_sport {
                    v.key("udpsourceport", 0, u(x));
                }
                if let Some(x) = self.tun_dport {
                    v.key("udpdestinationport", 0, u(x));
                }
            }
        }
        // Open vSwitch tunnel types: 1 VXLAN, 2 GRE, 3 LISP, 4 STT, 7 Geneve.
        if let Some(k) = self.tun_key {
            match self.tun_type {
                Some(1) => v.key("vxlanvni", 0, u(k & 0xff_ffff)),
                Some(2) => v.key("grekey", 0, u(k)),
                Some(4) => v.key("sttcontextid", 0, u(k)),
                Some(7) => v.key("genevevni", 0, u(k & 0xff_ffff)),
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
}
