//! Strips the outer IPv4, GRE and ERSPAN headers of a mirrored packet (`--mirror`), leaving
//! the mirrored frame for the header walker.
//!
//! Input: one IPv4 packet as a raw socket for IP protocol 47 returns it on Linux (IPv4
//! header first, reassembled). Accepted encapsulations, with the mirror session each names:
//!
//! | GRE protocol type | what follows GRE | inner | session |
//! |---|---|---|---|
//! | 0x6558 (Transparent Ethernet Bridging, RFC 1701; Open vSwitch `type=gre`) | — | Ethernet | GRE key (RFC 2890), 0 without one |
//! | 0x88be, no sequence number (ERSPAN type I) | — | Ethernet | 0 |
//! | 0x88be, sequence number (ERSPAN type II) | 8-byte ERSPAN header | Ethernet | ERSPAN session ID (10 bits) |
//! | 0x22eb (ERSPAN type III) | 12-byte header (+ 8-byte platform subheader when O is set) | Ethernet, or IP for frame type 2 | ERSPAN session ID |
//! | 0x0800 / 0x86dd (layer-3 GRE) | — | IPv4 / IPv6 | GRE key, 0 without one |
//!
//! The ERSPAN header layouts are draft-foschiano-erspan-03 sections 4.1 to 4.3, parsed by
//! [`flowlens_wire::packet::ErspanHeader`]; GRE is RFC 2784/2890, parsed by
//! [`flowlens_wire::packet::GreHeader`].

use std::net::Ipv4Addr;

use flowlens_wire::packet::{ErspanHeader, GreHeader, Ipv4Header, LinkType};

/// GRE protocol type of Transparent Ethernet Bridging.
const PROTO_TEB: u16 = flowlens_wire::packet::tunnel::gre::PROTO_TEB;
/// GRE protocol type of ERSPAN types I and II.
const PROTO_ERSPAN_2: u16 = 0x88be;
/// GRE protocol type of ERSPAN type III.
const PROTO_ERSPAN_3: u16 = 0x22eb;

/// A mirrored frame inside one GRE packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Mirrored<'a> {
    /// The outer IPv4 source: the switch or host that mirrors.
    pub(crate) sender: Ipv4Addr,
    /// The mirror session: the GRE key, or the ERSPAN session ID (see the module docs).
    pub(crate) session: u32,
    /// The link type of `frame`.
    pub(crate) link: LinkType,
    /// The mirrored frame, from its first header to the end of the outer IP packet.
    pub(crate) frame: &'a [u8],
}

/// Why a packet is not a mirrored frame (counted as a decode error).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DecapError {
    /// The outer IPv4 header is short or malformed, or the packet is a fragment.
    Ipv4,
    /// The outer IP protocol is not GRE (47).
    NotGre,
    /// The GRE header is short or not version 0.
    Gre,
    /// A GRE protocol type that carries no mirrored frame.
    Protocol(u16),
    /// The ERSPAN header is short, or its version disagrees with its type.
    Erspan,
    /// An ERSPAN type III frame type other than Ethernet (0) or IP (2).
    FrameType(u8),
}

/// Strips the outer IPv4, GRE and ERSPAN headers of `ip` (see the module docs).
///
/// # Errors
/// [`DecapError`] when a header is short or malformed or carries no mirrored frame.
pub(crate) fn strip(ip: &[u8]) -> Result<Mirrored<'_>, DecapError> {
    let h = Ipv4Header::new_checked(ip).map_err(|_| DecapError::Ipv4)?;
    if h.more_fragments() || h.fragment_offset() != 0 {
        return Err(DecapError::Ipv4);
    }
    if h.protocol() != 47 {
        return Err(DecapError::NotGre);
    }
    // The IP total length bounds the payload; a raw socket never returns less.
    let end = usize::from(h.total_len()).min(ip.len());
    let gre = ip.get(h.header_len()..end).ok_or(DecapError::Ipv4)?;
    let g = GreHeader::new_checked(gre).map_err(|_| DecapError::Gre)?;
    if g.version() != 0 {
        return Err(DecapError::Gre);
    }
    let rest = gre.get(g.header_len()..).ok_or(DecapError::Gre)?;
    let key = g.key().unwrap_or(0);
    let (session, link, frame) = match g.protocol_type() {
        PROTO_TEB => (key, LinkType::Ethernet, rest),
        0x0800 => (key, LinkType::Ipv4, rest),
        0x86dd => (key, LinkType::Ipv6, rest),
        PROTO_ERSPAN_2 if !g.seq_present() => (0, LinkType::Ethernet, rest),
        p @ (PROTO_ERSPAN_2 | PROTO_ERSPAN_3) => {
            let t = if p == PROTO_ERSPAN_2 { 2 } else { 3 };
            let e = ErspanHeader::new_checked(rest, t).map_err(|_| DecapError::Erspan)?;
            let link = match e.frame_type() {
                None | Some(0) => LinkType::Ethernet,
                Some(2) => LinkType::RawIp,
                Some(other) => return Err(DecapError::FrameType(other)),
            };
            let frame = rest.get(e.header_len()..).ok_or(DecapError::Erspan)?;
            (u32::from(e.session_id().unwrap_or(0)), link, frame)
        }
        other => return Err(DecapError::Protocol(other)),
    };
    Ok(Mirrored {
        sender: h.src_addr(),
        session,
        link,
        frame,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An IPv4 header (20 bytes, protocol `proto`) from 192.0.2.1 to 192.0.2.2 over `payload`.
    fn ipv4(proto: u8, payload: &[u8]) -> Vec<u8> {
        let total = u16::try_from(20 + payload.len()).unwrap();
        let mut p = vec![0x45, 0];
        p.extend_from_slice(&total.to_be_bytes());
        p.extend_from_slice(&[0, 0, 0x40, 0, 64, proto, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2]);
        p.extend_from_slice(payload);
        p
    }

    const FRAME: [u8; 14] = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00];

    #[test]
    fn gre_teb_with_key() {
        // K bit set, protocol 0x6558, key 42 (Open vSwitch `type=gre options:key=42`).
        let mut gre = vec![0x20, 0x00, 0x65, 0x58, 0, 0, 0, 42];
        gre.extend_from_slice(&FRAME);
        let p = ipv4(47, &gre);
        let m = strip(&p).unwrap();
        assert_eq!(m.sender, Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(
            (m.session, m.link, m.frame),
            (42, LinkType::Ethernet, &FRAME[..])
        );
    }

    #[test]
    fn erspan_type_2_session() {
        // S bit set, protocol 0x88be, sequence 7; ERSPAN II: ver 1, vlan 0, session 0x155.
        let mut gre = vec![0x10, 0x00, 0x88, 0xbe, 0, 0, 0, 7];
        gre.extend_from_slice(&[0x10, 0x00, 0x01, 0x55, 0, 0, 0, 0]);
        gre.extend_from_slice(&FRAME);
        let p = ipv4(47, &gre);
        let m = strip(&p).unwrap();
        assert_eq!(
            (m.session, m.link, m.frame),
            (0x155, LinkType::Ethernet, &FRAME[..])
        );
    }

    #[test]
    fn erspan_type_1_has_no_header() {
        let mut gre = vec![0x00, 0x00, 0x88, 0xbe];
        gre.extend_from_slice(&FRAME);
        let p = ipv4(47, &gre);
        assert_eq!(strip(&p).unwrap().frame, &FRAME[..]);
    }

    #[test]
    fn erspan_version_must_match_type() {
        // Type II framing with ver 2 in the ERSPAN header.
        let mut gre = vec![0x10, 0x00, 0x88, 0xbe, 0, 0, 0, 7];
        gre.extend_from_slice(&[0x20, 0x00, 0x01, 0x55, 0, 0, 0, 0]);
        assert_eq!(strip(&ipv4(47, &gre)), Err(DecapError::Erspan));
    }

    #[test]
    fn rejects_what_is_no_mirror() {
        assert_eq!(strip(&[0x45, 0]), Err(DecapError::Ipv4));
        assert_eq!(strip(&ipv4(17, &[0; 8])), Err(DecapError::NotGre));
        assert_eq!(strip(&ipv4(47, &[0, 0])), Err(DecapError::Gre));
        assert_eq!(
            strip(&ipv4(47, &[0, 0, 0x88, 0x0b])),
            Err(DecapError::Protocol(0x880b))
        );
        // A truncated ERSPAN II header.
        assert_eq!(
            strip(&ipv4(47, &[0x10, 0, 0x88, 0xbe, 0, 0, 0, 1, 0x10])),
            Err(DecapError::Erspan)
        );
    }
}
