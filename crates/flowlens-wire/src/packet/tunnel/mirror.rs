//! Mirrored packets: strips the outer IPv4, GRE and ERSPAN headers of a port-mirror copy
//! (RSPAN over GRE, ERSPAN), leaving the mirrored frame for the header walker.
//!
//! Input: one IPv4 packet as a raw socket for IP protocol 47 returns it on Linux (IPv4
//! header first, reassembled; `flowlens run --mirror`). Accepted encapsulations, with the
//! mirror session each names:
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
//! [`ErspanHeader`]; GRE is RFC 2784/2890, parsed by [`GreHeader`]; IPv4 is RFC 791
//! ([`Ipv4Header`]). Zero-copy: the frame is a slice of the input.

use core::net::Ipv4Addr;

use super::erspan::ErspanHeader;
use super::gre::{GreHeader, PROTO_TEB};
use crate::error::{Error, Layer, Result};
use crate::packet::{Ipv4Header, LinkType};

/// IP protocol number of GRE (IANA "Assigned Internet Protocol Numbers").
pub const IPPROTO_GRE: u8 = 47;
/// GRE protocol type of ERSPAN types I and II.
pub const PROTO_ERSPAN_2: u16 = 0x88be;
/// GRE protocol type of ERSPAN type III.
pub const PROTO_ERSPAN_3: u16 = 0x22eb;

/// A mirrored frame inside one GRE packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mirrored<'a> {
    /// The outer IPv4 source: the switch or host that mirrors.
    pub sender: Ipv4Addr,
    /// The mirror session: the GRE key, or the ERSPAN session ID (see the module docs).
    pub session: u32,
    /// The link type of `frame`.
    pub link: LinkType,
    /// The mirrored frame, from its first header to the end of the outer IP packet (bounded
    /// by the IPv4 total length).
    pub frame: &'a [u8],
}

/// Strips the outer IPv4, GRE and ERSPAN headers of `ip` (see the module docs).
///
/// # Errors
/// [`Error::Truncated`] for a short IPv4, GRE or ERSPAN header; [`Error::Invalid`] for a
/// malformed one (an IPv4 IHL below 5, an ERSPAN Ver that disagrees with its type);
/// [`Error::Unsupported`] for what carries no mirrored frame: an IPv4 fragment (`MF` or
/// `fragment offset`), another IP `protocol`, a GRE `version` other than 0, another GRE
/// `protocol type`, an ERSPAN III `frame type` other than Ethernet (0) or IP (2).
pub fn strip(ip: &[u8]) -> Result<Mirrored<'_>> {
    let h = Ipv4Header::new_checked(ip)?;
    let unsupported = |layer, field, value: u64| Error::Unsupported {
        layer,
        offset: 0,
        field,
        value,
    };
    if h.more_fragments() {
        return Err(unsupported(Layer::Ipv4, "MF", 1));
    }
    if h.fragment_offset() != 0 {
        return Err(unsupported(
            Layer::Ipv4,
            "fragment offset",
            u64::from(h.fragment_offset()),
        ));
    }
    if h.protocol() != IPPROTO_GRE {
        return Err(unsupported(
            Layer::Ipv4,
            "protocol",
            u64::from(h.protocol()),
        ));
    }
    // The IP total length bounds the payload; a raw socket never returns less.
    let end = usize::from(h.total_len()).min(ip.len());
    let gre = ip.get(h.header_len()..end).unwrap_or(&[]);
    let g = GreHeader::new_checked(gre)?;
    if g.version() != 0 {
        return Err(unsupported(Layer::Gre, "version", u64::from(g.version())));
    }
    let rest = gre.get(g.header_len()..).unwrap_or(&[]);
    let key = g.key().unwrap_or(0);
    let (session, link, frame) = match g.protocol_type() {
        PROTO_TEB => (key, LinkType::Ethernet, rest),
        0x0800 => (key, LinkType::Ipv4, rest),
        0x86dd => (key, LinkType::Ipv6, rest),
        PROTO_ERSPAN_2 if !g.seq_present() => (0, LinkType::Ethernet, rest),
        p @ (PROTO_ERSPAN_2 | PROTO_ERSPAN_3) => {
            let t = if p == PROTO_ERSPAN_2 { 2 } else { 3 };
            let e = ErspanHeader::new_checked(rest, t)?;
            let link = match e.frame_type() {
                None | Some(0) => LinkType::Ethernet,
                Some(2) => LinkType::RawIp,
                Some(other) => {
                    return Err(unsupported(Layer::Erspan, "frame type", u64::from(other)))
                }
            };
            let frame = rest.get(e.header_len()..).unwrap_or(&[]);
            (u32::from(e.session_id().unwrap_or(0)), link, frame)
        }
        other => {
            return Err(unsupported(Layer::Gre, "protocol type", u64::from(other)));
        }
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
    use std::vec;
    use std::vec::Vec;

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
        assert!(matches!(
            strip(&ipv4(47, &gre)),
            Err(Error::Invalid {
                layer: Layer::Erspan,
                ..
            })
        ));
    }

    /// The error's layer and field, for the `Unsupported` ones.
    fn refused(p: &[u8]) -> (Layer, &'static str, u64) {
        match strip(p) {
            Err(Error::Unsupported {
                layer,
                field,
                value,
                ..
            }) => (layer, field, value),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rejects_what_is_no_mirror() {
        assert!(matches!(
            strip(&[0x45, 0]),
            Err(Error::Truncated {
                layer: Layer::Ipv4,
                ..
            })
        ));
        assert_eq!(refused(&ipv4(17, &[0; 8])), (Layer::Ipv4, "protocol", 17));
        assert!(matches!(
            strip(&ipv4(47, &[0, 0])),
            Err(Error::Truncated {
                layer: Layer::Gre,
                ..
            })
        ));
        assert_eq!(
            refused(&ipv4(47, &[0, 0, 0x88, 0x0b])),
            (Layer::Gre, "protocol type", 0x880b)
        );
        // GRE version 1 (PPTP's enhanced GRE) carries no mirror.
        assert_eq!(
            refused(&ipv4(47, &[0x20, 0x01, 0x88, 0x0b, 0, 0, 0, 0])),
            (Layer::Gre, "version", 1)
        );
        // A fragment.
        let mut frag = ipv4(47, &[0, 0, 0x65, 0x58]);
        frag[6] = 0x20;
        assert_eq!(refused(&frag), (Layer::Ipv4, "MF", 1));
        // A truncated ERSPAN II header.
        assert!(matches!(
            strip(&ipv4(47, &[0x10, 0, 0x88, 0xbe, 0, 0, 0, 1, 0x10])),
            Err(Error::Truncated {
                layer: Layer::Erspan,
                ..
            })
        ));
    }
}
