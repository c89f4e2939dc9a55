//! Sampled packet-header walker.
//!
//! [`walk`] decodes a frame (or the first ~128 bytes of one, as carried in sFlow raw packet
//! header records) layer by layer into a fixed-capacity array of [`LayerView`]s, each holding a
//! zero-copy view of one protocol header. Nothing is allocated and nothing is copied except
//! the small views themselves.
//!
//! - **Lax** ([`walk`]) never fails: it returns the layers it decoded and, in
//!   [`Walk::stop`], why it stopped early (truncation, a malformed or unsupported field, too
//!   deep nesting). Sampled headers are cut mid-packet by design, so this is the normal mode.
//! - **Strict** ([`walk_strict`]) returns that stop reason as an error.
//!
//! Unrecognised protocols are not errors: the walk ends there and the rest is payload. The
//! same holds for an IEEE 802.3 length field (LLC follows) and for UDP/TCP ports that map to no
//! decoder. Port-selected decoders whose signature does not match (a GTP-U port carrying
//! something other than GTPv1, a Teredo port carrying no IPv6) also leave the bytes as payload.
//!
//! A TCP header that ends early but has at least its 8 first bytes is kept as a partial layer,
//! so ports survive sFlow's 128-byte cut; the walk still stops with [`Error::Truncated`],
//! except when the header ends with a complete first IP fragment (not an error: the rest is in
//! the next fragment). Non-first fragments carry no L4 header and end the walk cleanly.
//!
//! # Tunnel depth
//!
//! Each layer carries a `depth`: 0 for the outer headers, incremented when the walker enters
//! the payload of a tunnel (IP-in-IP, GRE, ERSPAN, VXLAN, Geneve, GRE-in-UDP, MPLS-in-UDP,
//! GTP-U, Teredo, STT, and the Ethernet frame of an Ethernet-over-MPLS pseudowire). The tunnel
//! headers themselves stay at the outer depth. MPLS carrying IP directly (no pseudowire) is not
//! a decapsulation. More than [`WalkConfig::max_tunnel_depth`] nested tunnels stop the walk
//! with [`Error::TooDeep`].
//!
//! # ICMP errors
//!
//! The invoking packet quoted by an ICMP/ICMPv6 error (IP header plus the first bytes of its
//! L4 header) is decoded as extra layers with [`LayerView::quoted`] set, at the ICMP layer's
//! depth. Quoted layers are best-effort: problems inside the quote never set [`Walk::stop`],
//! they are excluded from [`Walk::stack`] and from the ordinary flow keys, and they only feed
//! the `icmpunreachable*` keys (see [`keys`]).
//!
//! # Offsets
//!
//! All offsets (layer offsets, error offsets) count from the start of the buffer given to
//! [`walk`]. A truncation error points at the start of the layer that could not be decoded
//! (inside the DNS message, at the read that failed).
//!
//! # Stack names
//!
//! [`Walk::stack`] lists every non-quoted layer by [`Layer::name`], including IPv6 extension
//! headers (`ip6ext`), pseudowire control words (`pwcw`), capture pseudo headers (`sll`,
//! `null`, `ppp`) and zero-length tunnel layers (ERSPAN type I, Teredo without indicators).

use core::fmt;
use core::net::IpAddr;

use arrayvec::ArrayVec;

use crate::error::{Error, Layer, Result};
use crate::value::{FieldVisitor, KeyVisitor, Masked};

pub(crate) mod bytes;

pub mod arp;
pub mod dns;
pub mod ethernet;
pub mod icmp;
pub mod ipv4;
pub mod ipv6;
pub mod keys;
pub mod link;
pub mod mpls;
pub mod tcp;
pub mod tunnel;
pub mod udp;
pub mod vlan;

mod walker;

pub use arp::ArpPacket;
pub use dns::{DnsMessage, DnsName};
pub use ethernet::EthernetHeader;
pub use icmp::IcmpHeader;
pub use ipv4::Ipv4Header;
pub use ipv6::{Ipv6ExtHeader, Ipv6Header};
pub use link::{NullHeader, PppHeader, SllHeader};
pub use mpls::{MplsEntry, PwControlWord};
pub use tcp::{TcpHeader, TcpOption, TcpOptions};
pub use tunnel::{
    ErspanHeader, GeneveHeader, GreHeader, GtpHeader, SttHeader, TeredoHeader, VxlanHeader,
};
pub use udp::UdpHeader;
pub use vlan::VlanTag;

/// Capacity of the layer array in a [`Walk`].
pub const MAX_LAYERS: usize = 24;

/// Hard upper bound on tunnel nesting (the configurable limit is clamped to it).
pub const MAX_TUNNEL_DEPTH: u8 = 4;

/// What the first byte of the buffer handed to [`walk`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LinkType {
    /// Ethernet II / 802.3 frame.
    Ethernet,
    /// IPv4 header.
    Ipv4,
    /// IPv6 header.
    Ipv6,
    /// IPv4 or IPv6, decided by the version nibble.
    RawIp,
    /// Linux cooked capture v1 (16-byte pseudo header).
    LinuxSll,
    /// Linux cooked capture v2 (20-byte pseudo header).
    LinuxSll2,
    /// BSD loopback: 4-byte address family in the capturing host's byte order.
    Null,
    /// OpenBSD loopback: 4-byte address family in network byte order.
    Loop,
    /// PPP, with or without RFC 1662 HDLC address/control bytes.
    Ppp,
    /// An MPLS label stack.
    Mpls,
}

impl LinkType {
    /// Maps a pcap LINKTYPE_/DLT_ number (tcpdump.org link-layer header types).
    pub fn from_pcap(linktype: u32) -> Option<LinkType> {
        Some(match linktype {
            0 => LinkType::Null,
            1 => LinkType::Ethernet,
            9 | 50 => LinkType::Ppp,
            12 | 14 | 101 => LinkType::RawIp,
            108 => LinkType::Loop,
            113 => LinkType::LinuxSll,
            228 => LinkType::Ipv4,
            229 => LinkType::Ipv6,
            276 => LinkType::LinuxSll2,
            _ => return None,
        })
    }

    /// Maps the sFlow v5 `header_protocol` of a `sampled_header` record (sFlow v5 spec,
    /// section 5 "Packet Header Data"): 1 ETHERNET-ISO88023, 7 PPP, 11 IPv4, 12 IPv6, 13 MPLS,
    /// 14 POS (PPP over SONET/SDH, RFC 1662 framing). Token ring, FDDI, frame relay, X.25,
    /// SMDS, AAL5 and 802.11 are not decoded.
    pub fn from_sflow_header_protocol(p: u32) -> Option<LinkType> {
        Some(match p {
            1 => LinkType::Ethernet,
            7 | 14 => LinkType::Ppp,
            11 => LinkType::Ipv4,
            12 => LinkType::Ipv6,
            13 => LinkType::Mpls,
            _ => return None,
        })
    }
}

/// Port-based dispatch settings. `Default` uses the IANA-assigned ports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalkConfig {
    /// UDP destination ports decoded as VXLAN (0 = unused slot). Default 4789 and 8472 (Linux).
    pub vxlan_ports: [u16; 4],
    /// UDP destination port decoded as Geneve (default 6081; 0 disables).
    pub geneve_port: u16,
    /// UDP destination port decoded as GRE-in-UDP (RFC 8086; default 4754; 0 disables).
    pub gre_in_udp_port: u16,
    /// UDP destination port decoded as MPLS-in-UDP (RFC 7510; default 6635; 0 disables).
    pub mpls_in_udp_port: u16,
    /// UDP port (either side) decoded as GTP-U (default 2152; 0 disables).
    pub gtpu_port: u16,
    /// UDP port (either side) decoded as Teredo (default 3544; 0 disables).
    pub teredo_port: u16,
    /// TCP destination port decoded as STT (default 7471; 0 disables).
    pub stt_port: u16,
    /// UDP/TCP ports (either side) decoded as DNS messages (default 53 DNS, 5353 mDNS (RFC
    /// 6762) and 5355 LLMNR (RFC 4795), which share the RFC 1035 format; 0 = unused).
    pub dns_ports: [u16; 3],
    /// Maximum tunnel nesting, clamped to [`MAX_TUNNEL_DEPTH`].
    pub max_tunnel_depth: u8,
}

impl Default for WalkConfig {
    fn default() -> Self {
        WalkConfig {
            vxlan_ports: [4789, 8472, 0, 0],
            geneve_port: 6081,
            gre_in_udp_port: 4754,
            mpls_in_udp_port: 6635,
            gtpu_port: 2152,
            teredo_port: 3544,
            stt_port: 7471,
            dns_ports: [53, 5353, 5355],
            max_tunnel_depth: MAX_TUNNEL_DEPTH,
        }
    }
}

/// A decoded header: one zero-copy view per protocol.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
#[allow(missing_docs)] // each variant is the view type of the same name
pub enum Header<'a> {
    LinuxSll(SllHeader<'a>),
    Null(NullHeader<'a>),
    Ppp(PppHeader<'a>),
    Ethernet(EthernetHeader<'a>),
    Vlan(VlanTag<'a>),
    Mpls(MplsEntry<'a>),
    PwControlWord(PwControlWord<'a>),
    Arp(ArpPacket<'a>),
    Ipv4(Ipv4Header<'a>),
    Ipv6(Ipv6Header<'a>),
    Ipv6Ext(Ipv6ExtHeader<'a>),
    Tcp(TcpHeader<'a>),
    Udp(UdpHeader<'a>),
    Icmp(IcmpHeader<'a>),
    Dns(DnsMessage<'a>),
    Gre(GreHeader<'a>),
    Erspan(ErspanHeader<'a>),
    Vxlan(VxlanHeader<'a>),
    Geneve(GeneveHeader<'a>),
    Gtp(GtpHeader<'a>),
    Teredo(TeredoHeader<'a>),
    Stt(SttHeader<'a>),
}

impl Header<'_> {
    /// Header length in bytes.
    pub fn len(&self) -> usize {
        match self {
            Header::LinuxSll(h) => h.len(),
            Header::Null(h) => h.len(),
            Header::Ppp(h) => h.len(),
            Header::Ethernet(_) => ethernet::HEADER_LEN,
            Header::Vlan(_) => vlan::TAG_LEN,
            Header::Mpls(_) | Header::PwControlWord(_) => 4,
            Header::Arp(h) => h.len(),
            Header::Ipv4(h) => h.header_len(),
            Header::Ipv6(_) => ipv6::HEADER_LEN,
            Header::Ipv6Ext(h) => h.header_len(),
            Header::Tcp(h) => h.header_len(),
            Header::Udp(_) => udp::HEADER_LEN,
            Header::Icmp(_) => icmp::HEADER_LEN,
            Header::Dns(h) => h.header_len(),
            Header::Gre(h) => h.header_len(),
            Header::Erspan(h) => h.header_len(),
            Header::Vxlan(_) => tunnel::vxlan::HEADER_LEN,
            Header::Geneve(h) => h.header_len(),
            Header::Gtp(h) => h.header_len(),
            Header::Teredo(h) => h.header_len(),
            Header::Stt(_) => tunnel::stt::HEADER_LEN,
        }
    }

    /// True for a zero-length header (ERSPAN type I, Teredo without indicators).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One decoded layer.
#[derive(Clone, Copy, Debug)]
pub struct LayerView<'a> {
    /// Protocol.
    pub layer: Layer,
    /// Offset of the header from the start of the walked buffer.
    pub offset: usize,
    /// Tunnel nesting level (0 = outermost).
    pub depth: u8,
    /// True for layers of the invoking packet quoted inside an ICMP error.
    pub quoted: bool,
    /// The header view.
    pub header: Header<'a>,
}

impl LayerView<'_> {
    /// Visits this header's fields (RFC field names).
    pub fn visit_fields(&self, v: &mut impl FieldVisitor) {
        match &self.header {
            Header::LinuxSll(h) => h.visit_fields(v),
            Header::Null(h) => h.visit_fields(v),
            Header::Ppp(h) => h.visit_fields(v),
            Header::Ethernet(h) => h.visit_fields(v),
            Header::Vlan(h) => h.visit_fields(v),
            Header::Mpls(h) => h.visit_fields(v),
            Header::PwControlWord(h) => h.visit_fields(v),
            Header::Arp(h) => h.visit_fields(v),
            Header::Ipv4(h) => h.visit_fields(v),
            Header::Ipv6(h) => h.visit_fields(v),
            Header::Ipv6Ext(h) => h.visit_fields(v),
            Header::Tcp(h) => h.visit_fields(v),
            Header::Udp(h) => h.visit_fields(v),
            Header::Icmp(h) => h.visit_fields(v),
            Header::Dns(h) => h.visit_fields(v),
            Header::Gre(h) => h.visit_fields(v),
            Header::Erspan(h) => h.visit_fields(v),
            Header::Vxlan(h) => h.visit_fields(v),
            Header::Geneve(h) => h.visit_fields(v),
            Header::Gtp(h) => h.visit_fields(v),
            Header::Teredo(h) => h.visit_fields(v),
            Header::Stt(h) => h.visit_fields(v),
        }
    }

    /// Header length in bytes.
    pub fn header_len(&self) -> usize {
        self.header.len()
    }
}

/// The result of walking one frame: up to [`MAX_LAYERS`] layers and why the walk stopped.
#[derive(Clone, Debug)]
pub struct Walk<'a> {
    data: &'a [u8],
    layers: ArrayVec<LayerView<'a>, MAX_LAYERS>,
    stop: Option<Error>,
    payload_offset: usize,
}

impl<'a> Walk<'a> {
    /// The decoded layers, outermost first (quoted ICMP layers follow their ICMP layer).
    pub fn layers(&self) -> &[LayerView<'a>] {
        &self.layers
    }

    /// Why the walk ended early; `None` if every recognised header decoded fully (remaining
    /// bytes, if any, are payload or an unrecognised protocol).
    pub fn stop(&self) -> Option<Error> {
        self.stop
    }

    /// Offset just past the last decoded (non-quoted) header.
    pub fn payload_offset(&self) -> usize {
        self.payload_offset
    }

    /// The protocol stack in sFlow-RT `stack` form: dotted [`Layer::name`]s of the non-quoted
    /// layers, e.g. `eth.ip.udp.vxlan.eth.ip6.icmp6`.
    pub fn stack(&self) -> Stack<'_> {
        Stack {
            layers: self.layers(),
        }
    }

    /// Visits the flow keys (see [`keys`] for the table).
    pub fn visit_keys(&self, v: &mut impl KeyVisitor) {
        keys::visit(self, &mut Masked::new(v));
    }

    /// [`Walk::visit_keys`] for a producer that already holds its visitor [`Masked`] (an
    /// sFlow sample's records): its mask is not read and checked a second time per key.
    pub fn visit_keys_masked(&self, v: &mut Masked<'_, impl KeyVisitor + ?Sized>) {
        keys::visit(self, v);
    }

    /// The outermost non-quoted UDP layer, with the addresses of the IP header before it.
    pub fn outer_udp(&self) -> Option<UdpDatagram<'a>> {
        let mut src = None;
        let mut dst = None;
        for l in self.layers().iter().filter(|l| !l.quoted) {
            match l.header {
                Header::Ipv4(h) => {
                    src = Some(IpAddr::V4(h.src_addr()));
                    dst = Some(IpAddr::V4(h.dst_addr()));
                }
                Header::Ipv6(h) => {
                    src = Some(IpAddr::V6(h.src_addr()));
                    dst = Some(IpAddr::V6(h.dst_addr()));
                }
                Header::Udp(u) => {
                    let start = l.offset + udp::HEADER_LEN;
                    let by_len = l.offset + usize::from(u.length());
                    let end = if usize::from(u.length()) >= udp::HEADER_LEN {
                        by_len.min(self.data.len())
                    } else {
                        self.data.len()
                    };
                    return Some(UdpDatagram {
                        src_addr: src?,
                        dst_addr: dst?,
                        src_port: u.src_port(),
                        dst_port: u.dst_port(),
                        payload: self.data.get(start..end).unwrap_or(&[]),
                        payload_offset: start,
                    });
                }
                _ => {}
            }
        }
        None
    }
}

/// The first UDP datagram of a walk (see [`Walk::outer_udp`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UdpDatagram<'a> {
    /// Source address of the enclosing IP header.
    pub src_addr: IpAddr,
    /// Destination address of the enclosing IP header.
    pub dst_addr: IpAddr,
    /// UDP source port.
    pub src_port: u16,
    /// UDP destination port.
    pub dst_port: u16,
    /// UDP payload as captured (bounded by the UDP length field).
    pub payload: &'a [u8],
    /// Offset of the payload in the walked buffer.
    pub payload_offset: usize,
}

/// Dotted protocol stack, formatted on demand (see [`Walk::stack`]).
#[derive(Clone, Copy, Debug)]
pub struct Stack<'w> {
    layers: &'w [LayerView<'w>],
}

impl fmt::Display for Stack<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for l in self.layers.iter().filter(|l| !l.quoted) {
            if !first {
                f.write_str(".")?;
            }
            first = false;
            f.write_str(l.layer.name())?;
        }
        Ok(())
    }
}

/// Walks `data` in lax mode: never fails; see [`Walk::stop`] for why it ended.
#[inline]
pub fn walk<'a>(link: LinkType, data: &'a [u8], cfg: &WalkConfig) -> Walk<'a> {
    walker::run(link, data, cfg)
}

/// [`walk`], with the result lent to `f` instead of returned: the [`Walk`] (about 1 KiB)
/// stays where it was built, so the hot path does not copy it once per packet. `f`'s result
/// is returned.
#[inline]
pub fn with_walk<'a, R>(
    link: LinkType,
    data: &'a [u8],
    cfg: &WalkConfig,
    f: impl FnOnce(&Walk<'a>) -> R,
) -> R {
    walker::run_with(link, data, cfg, f)
}

/// Walks `data` in strict mode.
///
/// # Errors
/// The stop reason of the lax walk, if the walk ended on truncated, malformed or unsupported
/// data or nested too deep.
pub fn walk_strict<'a>(link: LinkType, data: &'a [u8], cfg: &WalkConfig) -> Result<Walk<'a>> {
    let w = walker::run(link, data, cfg);
    match w.stop {
        Some(e) => Err(e),
        None => Ok(w),
    }
}
