//! Flow keys in sFlow-RT naming, derived from a [`Walk`].
//!
//! [`Walk::visit_keys`] calls the visitor once per key present in the packet. `depth` is the
//! tunnel nesting level of the header the key comes from (0 = outermost); printers show keys at
//! depth `d > 0` as `name.d` (sFlow-RT's `ipsource.1`). Keys marked *flowlens* are additions
//! not defined by sFlow-RT. Layers quoted inside an ICMP error never produce ordinary keys;
//! they only feed the `icmpunreachable*` keys of their ICMP layer.
//!
//! | key | depth rule | value / source field | reference |
//! |---|---|---|---|
//! | `stack` | once, depth 0 | dotted names of all non-quoted layers ([`Walk::stack`]) | sFlow-RT |
//! | `ip_offset` | once, depth 0 | offset of the first IP header in the walked bytes (0 for raw IP) | sFlow-RT |
//! | `tunneloverhead_bytes` | once, depth 0, tunnelled packets only | *flowlens*: bytes of encapsulation in front of the innermost IP header (its offset minus the outermost IP header's: VXLAN/IPv4 50, GRE/IPv4 24, IP-in-IP 20); the MTU a tenant loses | RFC 7348, RFC 2784 |
//! | `macsource` / `macdestination` | per Ethernet header | source / destination MAC ([`crate::Value::Mac`]) | IEEE 802.3 |
//! | `isunicast`, `ismulticast`, `isbroadcast` | per Ethernet header | destination MAC individual (I/G bit 0) / group but not broadcast / `ffffffffffff`, as `true`/`false` | IEEE 802 |
//! | `ethernetprotocol` | per Ethernet header | EtherType after any VLAN tags (decimal); absent for 802.3 length frames | IEEE 802.3 |
//! | `vlan` / `priority` | first tag at each depth | VID / PCP of the outermost tag | IEEE 802.1Q |
//! | `vlanstack` | first tag at each depth, only with >1 tag | *flowlens*: VIDs outermost first, dot-separated (`200.300.400`) | IEEE 802.1Q/802.1ad |
//! | `mplslabels` | first entry of each label stack | *flowlens*: labels top first, dot-separated (`18.16`) | RFC 3032 |
//! | `arpoperation`, `arpipsender`, `arpiptarget` | per ARP packet | oper, SPA, TPA (addresses only for Ethernet/IPv4 ARP) | RFC 826 |
//! | `ipsource`, `ipdestination`, `ipprotocol`, `ipttl`, `ipbytes` | per IPv4 header | source, destination, protocol, TTL, total length | RFC 791 |
//! | `iptos`, `ipdscp`, `ipecn` | per IPv4 header | TOS byte, DSCP (6 bits), ECN (2 bits) | RFC 2474, RFC 3168 |
//! | `ipdscpname`, `ip6dscpname` | per IPv4 / IPv6 header | IANA codepoint name in lower case (`cs0`, `le`, `af11`…`af43`, `cs1`…`cs7`, `ef`, `voice-admit`); the number otherwise | RFC 2474, 2597, 3246, 5865, 8622 |
//! | `ipflags` | per IPv4 header | 3-char bit string reserved, DF, MF (`010` = DF) | RFC 791 |
//! | `ipdontfragment` | per IPv4 header | *flowlens*: the DF bit as `true`/`false` (PMTUD traffic sets it; `true` with a large `ipbytes` is what a path-MTU black hole drops) | RFC 791, RFC 1191 |
//! | `ipfragoffset` | per IPv4 header | fragment offset in 8-byte units | RFC 791 |
//! | `ip6source`, `ip6destination`, `ip6hoplimit`, `ip6flowlabel`, `ip6bytes` | per IPv6 header | source, destination, hop limit, flow label, payload length | RFC 8200 |
//! | `ip6tos`, `ip6dscp`, `ip6ecn` | per IPv6 header | traffic class, DSCP, ECN | RFC 8200, RFC 2474 |
//! | `ip6nexthdr` | per IPv6 header | upper-layer protocol after extension headers (last next-header seen) | RFC 8200 §4 |
//! | `ip6fragm`, `ip6fragoffset` | per IPv6 header with a fragment header | `yes`; fragment offset in 8-byte units | RFC 8200 §4.5 |
//! | `tcpsourceport`, `tcpdestinationport` | per TCP header (also partial ones) | ports | RFC 9293 |
//! | `tcpwindow` | per TCP header with its 20 fixed bytes | window (unscaled) | RFC 9293 |
//! | `tcpflags` | per TCP header with its 20 fixed bytes | 9-char bit string NS CWR ECE URG ACK PSH RST SYN FIN (SYN = `000000010`) | RFC 9293, RFC 3168, RFC 3540 |
//! | `tcpmss` | per TCP header with an MSS option | MSS | RFC 9293 §3.7.1 |
//! | `udpsourceport`, `udpdestinationport` | per UDP header | ports | RFC 768 |
//! | `icmptype`, `icmpcode` | per ICMPv4 header | type, code | RFC 792 |
//! | `icmp6type`, `icmp6code` | per ICMPv6 header | type, code | RFC 4443 |
//! | `icmpid`, `icmpseqno` | per echo request/reply (v4 and v6) | identifier, sequence number | RFC 792, RFC 4443 |
//! | `icmpunreachablenet` | ICMPv4 3/0, ICMPv6 1/0 | quoted packet's destination address | RFC 792 |
//! | `icmpunreachablehost` | ICMPv4 3/1, ICMPv6 1/3 | quoted packet's destination address | RFC 792 |
//! | `icmpunreachableprotocol` | ICMPv4 3/2 | quoted packet's protocol number | RFC 792 |
//! | `icmpunreachableport` | ICMPv4 3/3, ICMPv6 1/4 | quoted L4 destination `<proto>_<port>` (`udp_53`; protocol number if not TCP/UDP/SCTP) | RFC 792 |
//! | `icmpnexthopmtu` | ICMPv4 3/4, ICMPv6 2 | *flowlens*: next-hop MTU / packet-too-big MTU | RFC 1191, RFC 4443 §3.2 |
//! | `icmptoobighost` | ICMPv4 3/4, ICMPv6 2 | *flowlens*: quoted packet's destination address (the host the too-big packet was for) | RFC 1191, RFC 4443 §3.2 |
//! | `dnsid`, `dnsopcode`, `dnsrcode` | per DNS message | id, opcode, rcode | RFC 1035 §4.1.1 |
//! | `dnsqr`, `dnsaa`, `dnstc`, `dnsrd`, `dnsra`, `dnsz` | per DNS message | flag bits as booleans (`dnsqr` false = query) | RFC 1035, RFC 6895 |
//! | `dnsqdcount`, `dnsancount`, `dnsnscount`, `dnsarcount` | per DNS message | section counts | RFC 1035 |
//! | `dnsqname` | per DNS message with a question | first question name as on the wire, fully qualified with its trailing dot (`www.example.com.`, root `.`), as sFlow-RT shows it (phish.js matches names with a trailing dot) | RFC 1035 §4.1.2, RFC 1034 §3.1 |
//! | `dnsqtype`, `dnsqtypename`, `dnsqclass` | per DNS message with a question | QTYPE number, its mnemonic (number if unknown), QCLASS | RFC 1035, IANA |
//! | `grekey`, `greseq` | per GRE header with K / S | key, sequence number | RFC 2890 |
//! | `greprotocol`, `greversion` | per GRE header | protocol type, version | RFC 2784 |
//! | `grevsid`, `nvgreflowid` | per GRE header that is NVGRE (v0, K, 0x6558) | key >> 8, key & 0xff | RFC 7637 |
//! | `erspanversion` | per ERSPAN header | *flowlens*: ERSPAN **type** 1, 2 or 3 (type I has no Ver field) | draft-foschiano-erspan |
//! | `erspansessionid`, `erspanvlan` | per ERSPAN II/III header | session id, original VLAN | draft-foschiano-erspan |
//! | `vxlanvni` | per VXLAN header | VNI | RFC 7348 |
//! | `genevevni`, `geneveprotocol` | per Geneve header | VNI, protocol type | RFC 8926 |
//! | `gtpteid` | per GTP-U header | TEID | 3GPP TS 29.281 |
//! | `sttcontextid` | per STT header | 64-bit context id | draft-davie-stt |
//!
//! Depth of tunnel keys: a tunnel header sits at the depth of the packet carrying it, so
//! `vxlanvni` of a single VXLAN tunnel is at depth 0 and the inner `ipsource` at depth 1.

use core::fmt;
use core::net::IpAddr;

use super::dns::qtype_name;
use super::{ipv6, Header, LayerView, Walk};
use crate::key_id::{KeyId, KeyMask};
use crate::value::{KeyVisitor, Masked, Value};

/// The 9 TCP flag bits as a bit string NS CWR ECE URG ACK PSH RST SYN FIN.
#[derive(Clone, Copy, Debug)]
pub struct TcpFlagBits(pub u16);

impl fmt::Display for TcpFlagBits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        bits(f, self.0.into(), 9)
    }
}

/// The 3 IPv4 flag bits as a bit string reserved, DF, MF.
#[derive(Clone, Copy, Debug)]
pub struct IpFlagBits(pub u8);

impl fmt::Display for IpFlagBits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        bits(f, self.0.into(), 3)
    }
}

fn bits(f: &mut fmt::Formatter<'_>, v: u32, n: u32) -> fmt::Result {
    for i in (0..n).rev() {
        f.write_str(if v >> i & 1 == 1 { "1" } else { "0" })?;
    }
    Ok(())
}

/// Dot-separated VIDs of consecutive VLAN tags.
struct VlanStack<'w, 'a>(&'w [LayerView<'a>]);

impl fmt::Display for VlanStack<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        for l in self.0 {
            let Header::Vlan(t) = l.header else { break };
            write!(f, "{sep}{}", t.vid())?;
            sep = ".";
        }
        Ok(())
    }
}

/// Dot-separated labels of consecutive MPLS entries.
struct MplsLabels<'w, 'a>(&'w [LayerView<'a>]);

impl fmt::Display for MplsLabels<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        for l in self.0 {
            let Header::Mpls(m) = l.header else { break };
            write!(f, "{sep}{}", m.label())?;
            sep = ".";
        }
        Ok(())
    }
}

/// A DNS name in fully qualified form: its labels and a trailing dot (the root is `.`).
struct Fqdn<'a>(super::dns::DnsName<'a>);

impl fmt::Display for Fqdn<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Last<'f, 'g> {
            f: &'f mut fmt::Formatter<'g>,
            last: u8,
        }
        impl fmt::Write for Last<'_, '_> {
            fn write_str(&mut self, s: &str) -> fmt::Result {
                if let Some(&b) = s.as_bytes().last() {
                    self.last = b;
                }
                self.f.write_str(s)
            }
        }
        let mut w = Last { f, last: 0 };
        fmt::write(&mut w, format_args!("{}", self.0))?;
        if w.last == b'.' {
            Ok(())
        } else {
            w.f.write_str(".")
        }
    }
}

/// `<proto>_<port>` as in sFlow-RT's `icmpunreachableport`.
struct ProtoPort(u8, u16);

impl fmt::Display for ProtoPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            6 => write!(f, "tcp_{}", self.1),
            17 => write!(f, "udp_{}", self.1),
            132 => write!(f, "sctp_{}", self.1),
            p => write!(f, "{p}_{}", self.1),
        }
    }
}

fn u(v: impl Into<u64>) -> Value<'static> {
    Value::U64(v.into())
}

/// IANA "Differentiated Services Field Codepoints" names (lower case) of the standard
/// codepoints: class selectors (RFC 2474), assured forwarding (RFC 2597), expedited
/// forwarding (RFC 3246), VOICE-ADMIT (RFC 5865), lower effort (RFC 8622).
pub const fn dscp_name_of(dscp: u8) -> Option<&'static str> {
    Some(match dscp {
        0 => "cs0",
        1 => "le",
        8 => "cs1",
        10 => "af11",
        12 => "af12",
        14 => "af13",
        16 => "cs2",
        18 => "af21",
        20 => "af22",
        22 => "af23",
        24 => "cs3",
        26 => "af31",
        28 => "af32",
        30 => "af33",
        32 => "cs4",
        34 => "af41",
        36 => "af42",
        38 => "af43",
        40 => "cs5",
        44 => "voice-admit",
        46 => "ef",
        48 => "cs6",
        56 => "cs7",
        _ => return None,
    })
}

fn dscp_name(v: &mut Masked<'_, impl KeyVisitor + ?Sized>, key: KeyId, d: u8, dscp: u8) {
    if !v.wants(key) {
        return;
    }
    match dscp_name_of(dscp) {
        Some(n) => v.emit(key, d, Value::Name(n)),
        None => v.emit(key, d, u(dscp)),
    }
}

/// Bytes of encapsulation in front of the innermost network header: its offset minus the
/// offset of the outermost network header (VXLAN over IPv4: 20 + 8 + 8 + 14 = 50). `None`
/// without a tunnel.
fn tunnel_overhead(layers: &[LayerView<'_>]) -> Option<usize> {
    let l3 =
        |l: &&LayerView<'_>| !l.quoted && matches!(l.header, Header::Ipv4(_) | Header::Ipv6(_));
    let outer = layers.iter().filter(l3).find(|l| l.depth == 0)?;
    let deepest = layers.iter().filter(l3).map(|l| l.depth).max()?;
    if deepest == 0 {
        return None;
    }
    let inner = layers.iter().filter(l3).find(|l| l.depth == deepest)?;
    inner.offset.checked_sub(outer.offset)
}

/// The keys an Ethernet layer gives.
const ETHERNET_KEYS: KeyMask = KeyMask::of_all(&[
    KeyId::MACDESTINATION,
    KeyId::MACSOURCE,
    KeyId::ISUNICAST,
    KeyId::ISMULTICAST,
    KeyId::ISBROADCAST,
    KeyId::ETHERNETPROTOCOL,
]);

/// The keys an IPv4 layer gives.
const IPV4_KEYS: KeyMask = KeyMask::of_all(&[
    KeyId::IPSOURCE,
    KeyId::IPDESTINATION,
    KeyId::IPPROTOCOL,
    KeyId::IPTOS,
    KeyId::IPDSCP,
    KeyId::IPDSCPNAME,
    KeyId::IPECN,
    KeyId::IPTTL,
    KeyId::IPFLAGS,
    KeyId::IPDONTFRAGMENT,
    KeyId::IPFRAGOFFSET,
    KeyId::IPBYTES,
]);

/// The keys an IPv6 layer gives.
const IPV6_KEYS: KeyMask = KeyMask::of_all(&[
    KeyId::IP6SOURCE,
    KeyId::IP6DESTINATION,
    KeyId::IP6NEXTHDR,
    KeyId::IP6TOS,
    KeyId::IP6DSCP,
    KeyId::IP6DSCPNAME,
    KeyId::IP6ECN,
    KeyId::IP6FLOWLABEL,
    KeyId::IP6HOPLIMIT,
    KeyId::IP6FRAGM,
    KeyId::IP6FRAGOFFSET,
    KeyId::IP6BYTES,
]);

/// The keys a DNS message gives.
const DNS_KEYS: KeyMask = KeyMask::of_all(&[
    KeyId::DNSID,
    KeyId::DNSQR,
    KeyId::DNSOPCODE,
    KeyId::DNSAA,
    KeyId::DNSTC,
    KeyId::DNSRD,
    KeyId::DNSRA,
    KeyId::DNSZ,
    KeyId::DNSRCODE,
    KeyId::DNSQDCOUNT,
    KeyId::DNSANCOUNT,
    KeyId::DNSNSCOUNT,
    KeyId::DNSARCOUNT,
    KeyId::DNSQNAME,
    KeyId::DNSQTYPE,
    KeyId::DNSQTYPENAME,
    KeyId::DNSQCLASS,
]);

/// Visits the keys of `w` that `v`'s mask holds ([`KeyVisitor::mask`]). The layers with many
/// keys (Ethernet, IPv4, IPv6, DNS) are skipped whole when the mask holds none of theirs.
pub(super) fn visit(w: &Walk<'_>, v: &mut Masked<'_, impl KeyVisitor + ?Sized>) {
    if !v.wants_any(KeyMask::PACKET) {
        return;
    }
    v.emit(KeyId::STACK, 0, Value::Display(&w.stack()));
    let layers = w.layers();
    // Keys computed from several layers are computed only when asked for.
    if v.wants(KeyId::TUNNELOVERHEAD_BYTES) {
        if let Some(n) = tunnel_overhead(layers) {
            v.emit(KeyId::TUNNELOVERHEAD_BYTES, 0, u(n as u64));
        }
    }
    if v.wants(KeyId::IP_OFFSET) {
        if let Some(ip) = layers
            .iter()
            .find(|l| matches!(l.header, Header::Ipv4(_) | Header::Ipv6(_)))
        {
            v.emit(KeyId::IP_OFFSET, 0, u(ip.offset as u64));
        }
    }
    let mut prev: Option<&LayerView<'_>> = None;
    for (i, l) in layers.iter().enumerate() {
        if l.quoted {
            continue;
        }
        let d = l.depth;
        let rest = layers.get(i + 1..).unwrap_or(&[]);
        let continues = |p: Option<&LayerView<'_>>, same: fn(&Header<'_>) -> bool| {
            p.is_some_and(|p| p.depth == d && !p.quoted && same(&p.header))
        };
        match l.header {
            Header::Ethernet(_) if !v.wants_any(ETHERNET_KEYS) => {}
            Header::Ethernet(h) => {
                let dst = h.dst_addr();
                v.emit(KeyId::MACDESTINATION, d, Value::Mac(dst));
                v.emit(KeyId::MACSOURCE, d, Value::Mac(h.src_addr()));
                let group = dst[0] & 1 == 1;
                let broadcast = dst == [0xff; 6];
                v.emit(KeyId::ISUNICAST, d, Value::Bool(!group));
                v.emit(KeyId::ISMULTICAST, d, Value::Bool(group && !broadcast));
                v.emit(KeyId::ISBROADCAST, d, Value::Bool(broadcast));
                let mut et = h.ethertype();
                for n in rest {
                    let Header::Vlan(t) = n.header else { break };
                    et = t.ethertype();
                }
                if et > super::ethernet::MAX_8023_LENGTH {
                    v.emit(KeyId::ETHERNETPROTOCOL, d, u(et));
                }
            }
            Header::Vlan(t) if !continues(prev, |h| matches!(h, Header::Vlan(_))) => {
                v.emit(KeyId::VLAN, d, u(t.vid()));
                v.emit(KeyId::PRIORITY, d, u(t.pcp()));
                if matches!(rest.first().map(|n| n.header), Some(Header::Vlan(_))) {
                    v.emit(
                        KeyId::VLANSTACK,
                        d,
                        Value::Display(&VlanStack(layers.get(i..).unwrap_or(&[]))),
                    );
                }
            }
            Header::Mpls(_) if !continues(prev, |h| matches!(h, Header::Mpls(_))) => {
                v.emit(
                    KeyId::MPLSLABELS,
                    d,
                    Value::Display(&MplsLabels(layers.get(i..).unwrap_or(&[]))),
                );
            }
            Header::Arp(a) => {
                v.emit(KeyId::ARPOPERATION, d, u(a.oper()));
                if let (Some(s), Some(t)) = (a.spa(), a.tpa()) {
                    v.emit(KeyId::ARPIPSENDER, d, Value::Ip(s));
                    v.emit(KeyId::ARPIPTARGET, d, Value::Ip(t));
                }
            }
            Header::Ipv4(_) if !v.wants_any(IPV4_KEYS) => {}
            Header::Ipv4(h) => {
                v.emit(KeyId::IPSOURCE, d, Value::Ip(h.src_addr().into()));
                v.emit(KeyId::IPDESTINATION, d, Value::Ip(h.dst_addr().into()));
                v.emit(KeyId::IPPROTOCOL, d, u(h.protocol()));
                v.emit(KeyId::IPTOS, d, u(h.tos()));
                v.emit(KeyId::IPDSCP, d, u(h.dscp()));
                dscp_name(v, KeyId::IPDSCPNAME, d, h.dscp());
                v.emit(KeyId::IPECN, d, u(h.ecn()));
                v.emit(KeyId::IPTTL, d, u(h.ttl()));
                v.emit(KeyId::IPFLAGS, d, Value::Display(&IpFlagBits(h.flags())));
                v.emit(KeyId::IPDONTFRAGMENT, d, Value::Bool(h.dont_fragment()));
                v.emit(KeyId::IPFRAGOFFSET, d, u(h.fragment_offset()));
                v.emit(KeyId::IPBYTES, d, u(h.total_len()));
            }
            Header::Ipv6(_) if !v.wants_any(IPV6_KEYS) => {}
            Header::Ipv6(h) => {
                v.emit(KeyId::IP6SOURCE, d, Value::Ip(h.src_addr().into()));
                v.emit(KeyId::IP6DESTINATION, d, Value::Ip(h.dst_addr().into()));
                let mut nh = h.next_header();
                let mut frag = None;
                for n in rest {
                    let Header::Ipv6Ext(x) = n.header else { break };
                    nh = x.next_header();
                    if x.kind() == ipv6::FRAGMENT {
                        frag = Some(x.fragment_offset());
                    }
                }
                v.emit(KeyId::IP6NEXTHDR, d, u(nh));
                v.emit(KeyId::IP6TOS, d, u(h.traffic_class()));
                v.emit(KeyId::IP6DSCP, d, u(h.dscp()));
                dscp_name(v, KeyId::IP6DSCPNAME, d, h.dscp());
                v.emit(KeyId::IP6ECN, d, u(h.ecn()));
                v.emit(KeyId::IP6FLOWLABEL, d, u(h.flow_label()));
                v.emit(KeyId::IP6HOPLIMIT, d, u(h.hop_limit()));
                if let Some(off) = frag {
                    v.emit(KeyId::IP6FRAGM, d, Value::Name("yes"));
                    v.emit(KeyId::IP6FRAGOFFSET, d, u(off));
                }
                v.emit(KeyId::IP6BYTES, d, u(h.payload_len()));
            }
            Header::Tcp(h) => {
                v.emit(KeyId::TCPSOURCEPORT, d, u(h.src_port()));
                v.emit(KeyId::TCPDESTINATIONPORT, d, u(h.dst_port()));
                if h.header_len() >= super::tcp::MIN_HEADER_LEN {
                    v.emit(KeyId::TCPFLAGS, d, Value::Display(&TcpFlagBits(h.flags())));
                    v.emit(KeyId::TCPWINDOW, d, u(h.window()));
                }
                // The MSS is a scan of the options: only when asked for.
                if v.wants(KeyId::TCPMSS) {
                    if let Some(m) = h.mss() {
                        v.emit(KeyId::TCPMSS, d, u(m));
                    }
                }
            }
            Header::Udp(h) => {
                v.emit(KeyId::UDPSOURCEPORT, d, u(h.src_port()));
                v.emit(KeyId::UDPDESTINATIONPORT, d, u(h.dst_port()));
            }
            Header::Icmp(h) => icmp_keys(&h, d, quoted_of(rest), v),
            Header::Dns(_) if !v.wants_any(DNS_KEYS) => {}
            Header::Dns(m) => {
                v.emit(KeyId::DNSID, d, u(m.id()));
                v.emit(KeyId::DNSQR, d, Value::Bool(m.qr()));
                v.emit(KeyId::DNSOPCODE, d, u(m.opcode()));
                v.emit(KeyId::DNSAA, d, Value::Bool(m.aa()));
                v.emit(KeyId::DNSTC, d, Value::Bool(m.tc()));
                v.emit(KeyId::DNSRD, d, Value::Bool(m.rd()));
                v.emit(KeyId::DNSRA, d, Value::Bool(m.ra()));
                v.emit(KeyId::DNSZ, d, Value::Bool(m.z()));
                v.emit(KeyId::DNSRCODE, d, u(m.rcode()));
                v.emit(KeyId::DNSQDCOUNT, d, u(m.qdcount()));
                v.emit(KeyId::DNSANCOUNT, d, u(m.ancount()));
                v.emit(KeyId::DNSNSCOUNT, d, u(m.nscount()));
                v.emit(KeyId::DNSARCOUNT, d, u(m.arcount()));
                if let (Some(n), Some(t), Some(c)) = (m.qname(), m.qtype(), m.qclass()) {
                    v.emit(KeyId::DNSQNAME, d, Value::Display(&Fqdn(n)));
                    v.emit(KeyId::DNSQTYPE, d, u(t));
                    match qtype_name(t) {
                        Some(name) => v.emit(KeyId::DNSQTYPENAME, d, Value::Name(name)),
                        None => v.emit(KeyId::DNSQTYPENAME, d, u(t)),
                    }
                    v.emit(KeyId::DNSQCLASS, d, u(c));
                }
            }
            Header::Gre(g) => {
                v.emit(KeyId::GREVERSION, d, u(g.version()));
                v.emit(KeyId::GREPROTOCOL, d, u(g.protocol_type()));
                if let Some(k) = g.key() {
                    v.emit(KeyId::GREKEY, d, u(k));
                }
                if let Some(s) = g.sequence() {
                    v.emit(KeyId::GRESEQ, d, u(s));
                }
                if let (Some(vsid), Some(fid)) = (g.vsid(), g.flow_id()) {
                    v.emit(KeyId::GREVSID, d, u(vsid));
                    v.emit(KeyId::NVGREFLOWID, d, u(fid));
                }
            }
            Header::Erspan(e) => {
                v.emit(KeyId::ERSPANVERSION, d, u(e.erspan_type()));
                if let Some(s) = e.session_id() {
                    v.emit(KeyId::ERSPANSESSIONID, d, u(s));
                }
                if let Some(vl) = e.vlan() {
                    v.emit(KeyId::ERSPANVLAN, d, u(vl));
                }
            }
            Header::Vxlan(x) => v.emit(KeyId::VXLANVNI, d, u(x.vni())),
            Header::Geneve(g) => {
                v.emit(KeyId::GENEVEVNI, d, u(g.vni()));
                v.emit(KeyId::GENEVEPROTOCOL, d, u(g.protocol_type()));
            }
            Header::Gtp(g) => v.emit(KeyId::GTPTEID, d, u(g.teid())),
            Header::Stt(s) => v.emit(KeyId::STTCONTEXTID, d, u(s.context_id())),
            _ => {}
        }
        prev = Some(l);
    }
}

/// The quoted layers directly following an ICMP layer.
fn quoted_of<'w, 'a>(rest: &'w [LayerView<'a>]) -> &'w [LayerView<'a>] {
    let n = rest.iter().take_while(|l| l.quoted).count();
    rest.get(..n).unwrap_or(&[])
}

fn icmp_keys(
    h: &super::IcmpHeader<'_>,
    d: u8,
    quoted: &[LayerView<'_>],
    v: &mut Masked<'_, impl KeyVisitor + ?Sized>,
) {
    let (t, c) = (h.icmp_type(), h.code());
    if h.is_v6() {
        v.emit(KeyId::ICMP6TYPE, d, u(t));
        v.emit(KeyId::ICMP6CODE, d, u(c));
    } else {
        v.emit(KeyId::ICMPTYPE, d, u(t));
        v.emit(KeyId::ICMPCODE, d, u(c));
    }
    if let (Some(id), Some(seq)) = (h.identifier(), h.sequence()) {
        v.emit(KeyId::ICMPID, d, u(id));
        v.emit(KeyId::ICMPSEQNO, d, u(seq));
    }
    let mtu = h.mtu();
    if let Some(mtu) = mtu {
        v.emit(KeyId::ICMPNEXTHOPMTU, d, u(mtu));
    }
    let mut dst: Option<IpAddr> = None;
    let mut proto = None;
    let mut port = None;
    for l in quoted {
        match l.header {
            Header::Ipv4(q) if dst.is_none() => {
                dst = Some(q.dst_addr().into());
                proto = Some(q.protocol());
            }
            Header::Ipv6(q) if dst.is_none() => {
                dst = Some(q.dst_addr().into());
                proto = Some(q.next_header());
            }
            Header::Ipv6Ext(x) => proto = Some(x.next_header()),
            Header::Tcp(q) => port = Some(q.dst_port()),
            Header::Udp(q) => port = Some(q.dst_port()),
            _ => {}
        }
    }
    if let (Some(_), Some(a)) = (mtu, dst) {
        v.emit(KeyId::ICMPTOOBIGHOST, d, Value::Ip(a));
    }
    let kind = match (h.is_v6(), t, c) {
        (false, 3, 0) | (true, 1, 0) => "net",
        (false, 3, 1) | (true, 1, 3) => "host",
        (false, 3, 2) => "protocol",
        (false, 3, 3) | (true, 1, 4) => "port",
        _ => return,
    };
    match (kind, dst, proto, port) {
        ("net", Some(a), _, _) => v.emit(KeyId::ICMPUNREACHABLENET, d, Value::Ip(a)),
        ("host", Some(a), _, _) => v.emit(KeyId::ICMPUNREACHABLEHOST, d, Value::Ip(a)),
        ("protocol", _, Some(p), _) => v.emit(KeyId::ICMPUNREACHABLEPROTOCOL, d, u(p)),
        ("port", _, Some(p), Some(port)) => {
            v.emit(
                KeyId::ICMPUNREACHABLEPORT,
                d,
                Value::Display(&ProtoPort(p, port)),
            );
        }
        _ => {}
    }
}
