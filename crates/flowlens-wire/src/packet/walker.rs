//! The walk loop: one step per header, dispatching on EtherType, IP protocol and ports.

use super::bytes::u8_at;
use super::tunnel::{
    gre, ErspanHeader, GeneveHeader, GreHeader, GtpHeader, SttHeader, TeredoHeader, VxlanHeader,
};
use super::{ipv6, mpls};
use super::{
    ArpPacket, DnsMessage, EthernetHeader, Header, IcmpHeader, Ipv4Header, Ipv6ExtHeader,
    Ipv6Header, LayerView, LinkType, MplsEntry, NullHeader, PppHeader, PwControlWord, SllHeader,
    TcpHeader, UdpHeader, VlanTag, Walk, WalkConfig, MAX_LAYERS, MAX_TUNNEL_DEPTH,
};
use arrayvec::ArrayVec;

use crate::error::{Error, Layer, Result};

/// What to decode next.
#[derive(Clone, Copy, Debug)]
enum Next {
    Ethernet,
    Vlan(u16),
    Mpls,
    PwCw,
    Arp,
    /// IPv4 or IPv6 by version nibble.
    Ip,
    Ipv4,
    Ipv6,
    Ipv6Ext(u8),
    Tcp,
    Udp,
    Icmp(bool),
    Gre,
    Erspan(u8),
    Vxlan,
    Geneve,
    Gtp,
    Teredo,
    Stt,
    Dns(bool),
    Ppp,
    Sll(bool),
    Null(bool),
}

/// A decode position: next header kind, its offset, and the end of the enclosing datagram.
#[derive(Clone, Copy, Debug)]
struct At {
    next: Next,
    pos: usize,
    end: usize,
}

struct Walker<'a, 'c, 'w> {
    data: &'a [u8],
    cfg: &'c WalkConfig,
    out: &'w mut Walk<'a>,
    depth: u8,
    quoted: bool,
    /// The innermost IP header is a first fragment with MF set whose bytes are all
    /// present, so an L4 header ending early was cut by fragmentation, not by the capture.
    frag_complete: bool,
    /// The innermost IPv6 packet's payload is entirely present.
    ip6_complete: bool,
}

#[inline]
pub(super) fn run<'a>(link: LinkType, data: &'a [u8], cfg: &WalkConfig) -> Walk<'a> {
    // Filled in place through `&mut`; returning it costs the caller a copy of ~1 KiB, which
    // the hot paths avoid with `run_with`.
    let mut out = empty(data);
    fill(&mut out, link, cfg);
    out
}

/// Walks `data` into a `Walk` on this frame's stack and hands it to `f` by reference: unlike
/// [`run`], whose ~1 KiB result the caller receives by a copy (about 150 instructions per
/// packet, measured), nothing is moved.
#[inline]
pub(super) fn run_with<'a, R>(
    link: LinkType,
    data: &'a [u8],
    cfg: &WalkConfig,
    f: impl FnOnce(&Walk<'a>) -> R,
) -> R {
    let mut out = empty(data);
    fill(&mut out, link, cfg);
    f(&out)
}

/// A walk of `data` with no layer yet.
#[inline]
const fn empty(data: &[u8]) -> Walk<'_> {
    Walk {
        data,
        layers: ArrayVec::new_const(),
        stop: None,
        payload_offset: 0,
    }
}

/// Walks `out.data` from its start, as `link`, into `out` (empty).
#[inline]
fn fill(out: &mut Walk<'_>, link: LinkType, cfg: &WalkConfig) {
    let data = out.data;
    let mut w = Walker {
        data,
        cfg,
        out,
        depth: 0,
        quoted: false,
        frag_complete: false,
        ip6_complete: false,
    };
    let next = match link {
        LinkType::Ethernet => Next::Ethernet,
        LinkType::Ipv4 => Next::Ipv4,
        LinkType::Ipv6 => Next::Ipv6,
        LinkType::RawIp => Next::Ip,
        LinkType::LinuxSll => Next::Sll(false),
        LinkType::LinuxSll2 => Next::Sll(true),
        LinkType::Null => Next::Null(false),
        LinkType::Loop => Next::Null(true),
        LinkType::Ppp => Next::Ppp,
        LinkType::Mpls => Next::Mpls,
    };
    let mut at = At {
        next,
        pos: 0,
        end: data.len(),
    };
    loop {
        match w.step(at) {
            Ok(Some(n)) => at = n,
            Ok(None) => break,
            Err(e) => {
                w.out.stop = Some(e);
                break;
            }
        }
    }
}

/// Offset arithmetic that cannot overflow for slices.
#[inline]
fn add(a: usize, b: usize) -> usize {
    a.saturating_add(b)
}

impl<'a> Walker<'a, '_, '_> {
    #[inline]
    fn push(&mut self, layer: Layer, offset: usize, header: Header<'a>) -> Result<()> {
        self.out
            .layers
            .try_push(LayerView {
                layer,
                offset,
                depth: self.depth,
                quoted: self.quoted,
                header,
            })
            .map_err(|_| Error::TooDeep { layer, offset })?;
        if !self.quoted {
            self.out.payload_offset = add(offset, header.len());
        }
        Ok(())
    }

    /// Enters a tunnel payload whose first header is `layer` at `offset`.
    fn decap(&mut self, layer: Layer, offset: usize) -> Result<()> {
        let limit = self.cfg.max_tunnel_depth.min(MAX_TUNNEL_DEPTH);
        if self.depth >= limit {
            return Err(Error::TooDeep { layer, offset });
        }
        self.depth += 1;
        Ok(())
    }

    #[inline]
    fn buf(&self, at: &At) -> &'a [u8] {
        self.data.get(at.pos..at.end).unwrap_or(&[])
    }

    fn ethertype(&self, et: u16, pos: usize, end: usize) -> Option<At> {
        let next = match et {
            0x0800 => Next::Ipv4,
            0x86dd => Next::Ipv6,
            0x0806 => Next::Arp,
            0x8100 | 0x88a8 | 0x9100 => Next::Vlan(et),
            0x8847 | 0x8848 => Next::Mpls,
            _ => return None,
        };
        Some(At { next, pos, end })
    }

    fn ip_proto(&mut self, proto: u8, pos: usize, end: usize) -> Result<Option<At>> {
        let next = match proto {
            1 => Next::Icmp(false),
            58 => Next::Icmp(true),
            6 => Next::Tcp,
            17 => Next::Udp,
            4 | 41 | 47 if self.quoted => return Ok(None),
            4 => {
                self.decap(Layer::Ipv4, pos)?;
                Next::Ipv4
            }
            41 => {
                self.decap(Layer::Ipv6, pos)?;
                Next::Ipv6
            }
            47 => Next::Gre,
            _ => return Ok(None),
        };
        Ok(Some(At { next, pos, end }))
    }

    fn step(&mut self, at: At) -> Result<Option<At>> {
        let buf = self.buf(&at);
        let pos = at.pos;
        let end = at.end;
        let sh = |e: Error| e.shifted(pos);
        match at.next {
            Next::Ethernet => {
                let h = EthernetHeader::new_checked(buf).map_err(sh)?;
                self.push(Layer::Ethernet, pos, Header::Ethernet(h))?;
                Ok(self.ethertype(h.ethertype(), add(pos, 14), end))
            }
            Next::Vlan(tpid) => {
                let h = VlanTag::new_checked(buf, tpid).map_err(sh)?;
                self.push(Layer::Vlan, pos, Header::Vlan(h))?;
                Ok(self.ethertype(h.ethertype(), add(pos, 4), end))
            }
            Next::Mpls => {
                let h = MplsEntry::new_checked(buf).map_err(sh)?;
                self.push(Layer::Mpls, pos, Header::Mpls(h))?;
                let pos = add(pos, 4);
                if !h.bottom_of_stack() {
                    return Ok(Some(At {
                        next: Next::Mpls,
                        pos,
                        end,
                    }));
                }
                let next = match h.label() {
                    mpls::IPV4_EXPLICIT_NULL => Next::Ipv4,
                    mpls::IPV6_EXPLICIT_NULL => Next::Ipv6,
                    _ => match self.data.get(pos).map(|b| b >> 4) {
                        Some(4) => Next::Ipv4,
                        Some(6) => Next::Ipv6,
                        Some(0) => Next::PwCw,
                        _ => return Ok(None),
                    },
                };
                Ok(Some(At { next, pos, end }))
            }
            Next::PwCw => {
                let h = PwControlWord::new_checked(buf).map_err(sh)?;
                self.push(Layer::PwControlWord, pos, Header::PwControlWord(h))?;
                self.decap(Layer::Ethernet, add(pos, 4))?;
                Ok(Some(At {
                    next: Next::Ethernet,
                    pos: add(pos, 4),
                    end,
                }))
            }
            Next::Arp => {
                let h = ArpPacket::new_checked(buf).map_err(sh)?;
                self.push(Layer::Arp, pos, Header::Arp(h))?;
                Ok(None)
            }
            Next::Ip => match u8_at(buf, 0) >> 4 {
                4 => self.step(At {
                    next: Next::Ipv4,
                    ..at
                }),
                6 => self.step(At {
                    next: Next::Ipv6,
                    ..at
                }),
                _ if buf.is_empty() => Err(Error::Truncated {
                    layer: Layer::Ipv4,
                    offset: pos,
                    needed: 20,
                    available: 0,
                }),
                v => Err(Error::Invalid {
                    layer: Layer::Ipv4,
                    offset: pos,
                    field: "version",
                    value: v.into(),
                }),
            },
            Next::Ipv4 => {
                let h = Ipv4Header::new_checked(buf).map_err(sh)?;
                self.push(Layer::Ipv4, pos, Header::Ipv4(h))?;
                let hl = h.header_len();
                let total = usize::from(h.total_len());
                let mut end = end;
                if !self.quoted && total >= hl {
                    end = end.min(add(pos, total));
                }
                self.frag_complete = !self.quoted
                    && h.more_fragments()
                    && total >= hl
                    && add(pos, total) <= self.data.len();
                if h.fragment_offset() != 0 {
                    return Ok(None);
                }
                self.ip_proto(h.protocol(), add(pos, hl), end)
            }
            Next::Ipv6 => {
                let h = Ipv6Header::new_checked(buf).map_err(sh)?;
                self.push(Layer::Ipv6, pos, Header::Ipv6(h))?;
                let mut end = end;
                let plen = usize::from(h.payload_len());
                if !self.quoted && plen > 0 {
                    end = end.min(add(pos, 40 + plen));
                }
                self.frag_complete = false;
                self.ip6_complete =
                    !self.quoted && plen > 0 && add(pos, 40 + plen) <= self.data.len();
                self.ip6_next(h.next_header(), add(pos, 40), end)
            }
            Next::Ipv6Ext(kind) => {
                let h = Ipv6ExtHeader::new_checked(buf, kind).map_err(sh)?;
                self.push(Layer::Ipv6Ext, pos, Header::Ipv6Ext(h))?;
                if h.more_fragments() && self.ip6_complete {
                    self.frag_complete = true;
                }
                if h.fragment_offset() != 0 {
                    return Ok(None);
                }
                self.ip6_next(h.next_header(), add(pos, h.header_len()), end)
            }
            Next::Tcp => self.tcp(buf, pos, end),
            Next::Udp => self.udp(buf, pos, end),
            Next::Icmp(v6) => {
                let layer = if v6 { Layer::Icmpv6 } else { Layer::Icmp };
                let h = IcmpHeader::new_checked(buf, v6).map_err(sh)?;
                self.push(layer, pos, Header::Icmp(h))?;
                if h.is_error() && !self.quoted {
                    self.quoted_walk(add(pos, 8), end);
                }
                Ok(None)
            }
            Next::Gre => {
                let h = GreHeader::new_checked(buf).map_err(sh)?;
                self.push(Layer::Gre, pos, Header::Gre(h))?;
                let pos = add(pos, h.header_len());
                let next = match h.protocol_type() {
                    0x0800 => Next::Ipv4,
                    0x86dd => Next::Ipv6,
                    gre::PROTO_TEB => Next::Ethernet,
                    0x8847 | 0x8848 => Next::Mpls,
                    0x880b => Next::Ppp,
                    0x88be => {
                        return Ok(Some(At {
                            next: Next::Erspan(if h.seq_present() { 2 } else { 1 }),
                            pos,
                            end,
                        }))
                    }
                    0x22eb => {
                        return Ok(Some(At {
                            next: Next::Erspan(3),
                            pos,
                            end,
                        }))
                    }
                    _ => return Ok(None),
                };
                self.decap(Layer::Gre, pos)?;
                Ok(Some(At { next, pos, end }))
            }
            Next::Erspan(t) => {
                let h = ErspanHeader::new_checked(buf, t).map_err(sh)?;
                self.push(Layer::Erspan, pos, Header::Erspan(h))?;
                let pos = add(pos, h.header_len());
                let next = match h.frame_type() {
                    None | Some(0) => Next::Ethernet,
                    Some(2) => Next::Ip,
                    Some(_) => return Ok(None),
                };
                self.decap(Layer::Erspan, pos)?;
                Ok(Some(At { next, pos, end }))
            }
            Next::Vxlan => {
                let h = VxlanHeader::new_checked(buf).map_err(sh)?;
                self.push(Layer::Vxlan, pos, Header::Vxlan(h))?;
                self.decap(Layer::Vxlan, add(pos, 8))?;
                Ok(Some(At {
                    next: Next::Ethernet,
                    pos: add(pos, 8),
                    end,
                }))
            }
            Next::Geneve => {
                let h = GeneveHeader::new_checked(buf).map_err(sh)?;
                self.push(Layer::Geneve, pos, Header::Geneve(h))?;
                let pos = add(pos, h.header_len());
                let next = match h.protocol_type() {
                    gre::PROTO_TEB => Next::Ethernet,
                    0x0800 => Next::Ipv4,
                    0x86dd => Next::Ipv6,
                    _ => return Ok(None),
                };
                self.decap(Layer::Geneve, pos)?;
                Ok(Some(At { next, pos, end }))
            }
            Next::Gtp => {
                let h = GtpHeader::new_checked(buf).map_err(sh)?;
                self.push(Layer::Gtp, pos, Header::Gtp(h))?;
                let pos = add(pos, h.header_len());
                if h.message_type() != super::tunnel::gtp::G_PDU || pos >= end {
                    return Ok(None);
                }
                self.decap(Layer::Gtp, pos)?;
                Ok(Some(At {
                    next: Next::Ip,
                    pos,
                    end,
                }))
            }
            Next::Teredo => {
                let h = TeredoHeader::new_checked(buf).map_err(sh)?;
                self.push(Layer::Teredo, pos, Header::Teredo(h))?;
                let pos = add(pos, h.header_len());
                self.decap(Layer::Teredo, pos)?;
                Ok(Some(At {
                    next: Next::Ipv6,
                    pos,
                    end,
                }))
            }
            Next::Stt => {
                let h = SttHeader::new_checked(buf).map_err(sh)?;
                self.push(Layer::Stt, pos, Header::Stt(h))?;
                let pos = add(pos, 18);
                self.decap(Layer::Stt, pos)?;
                Ok(Some(At {
                    next: Next::Ethernet,
                    pos,
                    end,
                }))
            }
            Next::Dns(tcp) => {
                let h = DnsMessage::new_checked(buf, tcp).map_err(sh)?;
                self.push(Layer::Dns, pos, Header::Dns(h))?;
                Ok(None)
            }
            Next::Ppp => {
                let h = PppHeader::new_checked(buf).map_err(sh)?;
                self.push(Layer::Ppp, pos, Header::Ppp(h))?;
                let pos = add(pos, h.len());
                let next = match h.protocol() {
                    0x0021 => Next::Ipv4,
                    0x0057 => Next::Ipv6,
                    0x0281 | 0x0283 => Next::Mpls,
                    _ => return Ok(None),
                };
                Ok(Some(At { next, pos, end }))
            }
            Next::Sll(v2) => {
                let h = SllHeader::new_checked(buf, v2).map_err(sh)?;
                self.push(Layer::LinuxSll, pos, Header::LinuxSll(h))?;
                Ok(self.ethertype(h.protocol(), add(pos, h.len()), end))
            }
            Next::Null(net) => {
                let h = NullHeader::new_checked(buf, net).map_err(sh)?;
                self.push(Layer::Null, pos, Header::Null(h))?;
                let next = match h.family() {
                    2 => Next::Ipv4,
                    10 | 24 | 28 | 30 => Next::Ipv6,
                    _ => return Ok(None),
                };
                Ok(Some(At {
                    next,
                    pos: add(pos, 4),
                    end,
                }))
            }
        }
    }

    fn ip6_next(&mut self, nh: u8, pos: usize, end: usize) -> Result<Option<At>> {
        if ipv6::is_extension(nh) {
            return Ok(Some(At {
                next: Next::Ipv6Ext(nh),
                pos,
                end,
            }));
        }
        self.ip_proto(nh, pos, end)
    }

    fn tcp(&mut self, buf: &'a [u8], pos: usize, end: usize) -> Result<Option<At>> {
        let h = if self.quoted {
            TcpHeader::new_partial(buf).map_err(|e| e.shifted(pos))?
        } else {
            match TcpHeader::new_checked(buf) {
                Ok(h) => h,
                Err(e @ Error::Truncated { .. }) => {
                    // Keep the ports of a header that ends early (sFlow cuts, first fragments);
                    // a capture cut is still reported, a fragment boundary is not an error.
                    let e = e.shifted(pos);
                    let h = TcpHeader::new_partial(buf).map_err(|_| e)?;
                    self.push(Layer::Tcp, pos, Header::Tcp(h))?;
                    return if self.frag_complete { Ok(None) } else { Err(e) };
                }
                Err(e) => return Err(e.shifted(pos)),
            }
        };
        self.push(Layer::Tcp, pos, Header::Tcp(h))?;
        let pos = add(pos, h.header_len());
        if self.quoted || pos >= end {
            return Ok(None);
        }
        let cfg = self.cfg;
        if cfg.stt_port != 0 && h.dst_port() == cfg.stt_port {
            return Ok(Some(At {
                next: Next::Stt,
                pos,
                end,
            }));
        }
        if self.is_dns_port(h.src_port(), h.dst_port()) {
            return Ok(Some(At {
                next: Next::Dns(true),
                pos,
                end,
            }));
        }
        Ok(None)
    }

    fn is_dns_port(&self, a: u16, b: u16) -> bool {
        self.cfg
            .dns_ports
            .iter()
            .any(|&p| p != 0 && (p == a || p == b))
    }

    fn udp(&mut self, buf: &'a [u8], pos: usize, end: usize) -> Result<Option<At>> {
        let h = UdpHeader::new_checked(buf).map_err(|e| e.shifted(pos))?;
        self.push(Layer::Udp, pos, Header::Udp(h))?;
        if self.quoted {
            return Ok(None);
        }
        let mut end = end;
        let ulen = usize::from(h.length());
        if ulen >= 8 {
            end = end.min(add(pos, ulen));
        }
        let pos = add(pos, 8);
        if pos >= end {
            return Ok(None);
        }
        let (sp, dp) = (h.src_port(), h.dst_port());
        let cfg = self.cfg;
        let payload = self.data.get(pos..end).unwrap_or(&[]);
        let next = if cfg.vxlan_ports.iter().any(|&p| p != 0 && p == dp) {
            Next::Vxlan
        } else if cfg.geneve_port != 0 && dp == cfg.geneve_port {
            Next::Geneve
        } else if cfg.gre_in_udp_port != 0 && dp == cfg.gre_in_udp_port {
            Next::Gre
        } else if cfg.mpls_in_udp_port != 0 && dp == cfg.mpls_in_udp_port {
            self.decap(Layer::Mpls, pos)?;
            Next::Mpls
        } else if cfg.gtpu_port != 0 && (dp == cfg.gtpu_port || sp == cfg.gtpu_port) {
            // Port-based guess: only a GTPv1 header with PT set is taken as GTP-U.
            if u8_at(payload, 0) & 0xf0 != 0x30 {
                return Ok(None);
            }
            Next::Gtp
        } else if cfg.teredo_port != 0 && (dp == cfg.teredo_port || sp == cfg.teredo_port) {
            if !looks_like_teredo(payload) {
                return Ok(None);
            }
            Next::Teredo
        } else if self.is_dns_port(sp, dp) {
            Next::Dns(false)
        } else {
            return Ok(None);
        };
        Ok(Some(At { next, pos, end }))
    }

    /// Decodes the invoking packet quoted in an ICMP error; its problems are not walk errors.
    fn quoted_walk(&mut self, pos: usize, end: usize) {
        if pos >= end {
            return;
        }
        self.quoted = true;
        let mut at = At {
            next: Next::Ip,
            pos,
            end,
        };
        while let Ok(Some(n)) = self.step(at) {
            at = n;
        }
        self.quoted = false;
    }
}

/// True when a UDP payload on the Teredo port is an IPv6 packet, possibly after Teredo
/// authentication / origin indicators (RFC 4380 section 5.1.1).
fn looks_like_teredo(p: &[u8]) -> bool {
    match TeredoHeader::new_checked(p) {
        Ok(h) => u8_at(p, h.header_len()) >> 4 == 6,
        Err(_) => p.starts_with(&[0, 1]) || p.starts_with(&[0, 0]),
    }
}

const _: () = assert!(MAX_LAYERS <= u8::MAX as usize);
