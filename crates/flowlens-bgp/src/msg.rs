//! BGP-4 messages (RFC 4271 §4): the fixed header, OPEN with capabilities (RFC 5492: multiprotocol
//! RFC 4760, route refresh RFC 2918, four-octet AS RFC 6793), KEEPALIVE, NOTIFICATION, and the
//! UPDATE framing the routes and flow specs are encoded into. All integers are big-endian
//! (network byte order).
//!
//! Decoding is of what a peer may send to a route pusher: the header is validated (marker,
//! length 19..=4096, type), OPEN is parsed, UPDATE is only checked for consistent lengths (the
//! speaker ignores what the peer announces), NOTIFICATION and ROUTE-REFRESH are parsed.
//! Every read is bounds-checked; a malformed message is an [`Error::Message`] with the
//! NOTIFICATION code and subcode of RFC 4271 §6.

use std::net::Ipv4Addr;

use crate::error::{Error, Result};

/// Length of the message header: 16-byte marker, 2-byte length, 1-byte type (RFC 4271 §4.1).
pub const HEADER_LEN: usize = 19;
/// Largest BGP message (RFC 4271 §4.1; no RFC 8654 extended messages).
pub const MAX_MESSAGE: usize = 4096;
/// `AS_TRANS` (RFC 6793 §9): the two-octet "My Autonomous System" of a speaker whose AS does not
/// fit in 16 bits.
pub const AS_TRANS: u16 = 23456;

/// Message type OPEN (RFC 4271 §4.2).
pub const OPEN: u8 = 1;
/// Message type UPDATE (RFC 4271 §4.3).
pub const UPDATE: u8 = 2;
/// Message type NOTIFICATION (RFC 4271 §4.5).
pub const NOTIFICATION: u8 = 3;
/// Message type KEEPALIVE (RFC 4271 §4.4).
pub const KEEPALIVE: u8 = 4;
/// Message type ROUTE-REFRESH (RFC 2918 §3).
pub const ROUTE_REFRESH: u8 = 5;

/// Address family IPv4 (IANA AFI 1).
pub const AFI_IPV4: u16 = 1;
/// Address family IPv6 (IANA AFI 2).
pub const AFI_IPV6: u16 = 2;
/// Subsequent address family unicast (SAFI 1).
pub const SAFI_UNICAST: u8 = 1;
/// Subsequent address family dissemination of flow specification rules (SAFI 133, RFC 8955).
pub const SAFI_FLOWSPEC: u8 = 133;

/// An address family: (AFI, SAFI).
pub type Family = (u16, u8);

/// A decoded OPEN message (RFC 4271 §4.2) with the capabilities the speaker understands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Open {
    /// Protocol version; 4.
    pub version: u8,
    /// The sender's AS: the four-octet AS capability's when present, else the two-octet field.
    pub asn: u32,
    /// Proposed hold time, seconds (0 or at least 3).
    pub hold_time: u16,
    /// BGP identifier.
    pub bgp_id: Ipv4Addr,
    /// Multiprotocol capabilities (RFC 4760 §8), in the order sent.
    pub families: Vec<Family>,
    /// The four-octet AS capability (RFC 6793) was present.
    pub four_octet_as: bool,
    /// The route refresh capability (RFC 2918) was present.
    pub route_refresh: bool,
}

/// A message received from a peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// OPEN.
    Open(Open),
    /// UPDATE (contents not kept: a route pusher announces, it does not learn).
    Update,
    /// NOTIFICATION: error code, subcode and data (RFC 4271 §4.5).
    Notification {
        /// Error code.
        code: u8,
        /// Error subcode.
        subcode: u8,
        /// Data, at most [`MAX_MESSAGE`] bytes.
        data: Vec<u8>,
    },
    /// KEEPALIVE.
    Keepalive,
    /// ROUTE-REFRESH for one family (RFC 2918 §3).
    RouteRefresh(Family),
}

/// A bounds-checked big-endian reader over one message body.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }
    fn take(&mut self, n: usize, err: Error) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).ok_or_else(|| err.clone())?;
        let s = self.buf.get(self.pos..end).ok_or(err)?;
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self, err: Error) -> Result<u8> {
        Ok(self.take(1, err)?.first().copied().unwrap_or(0))
    }
    fn u16(&mut self, err: Error) -> Result<u16> {
        let b = self.take(2, err)?;
        Ok(u16::from_be_bytes([
            b.first().copied().unwrap_or(0),
            b.get(1).copied().unwrap_or(0),
        ]))
    }
    fn u32(&mut self, err: Error) -> Result<u32> {
        let b = self.take(4, err)?;
        let mut a = [0u8; 4];
        a.copy_from_slice(b);
        Ok(u32::from_be_bytes(a))
    }
    fn rest(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }
}

/// Checks the header at the start of `buf` (RFC 4271 §4.1, §6.1). `Ok(None)`: fewer than a
/// whole message buffered yet; `Ok(Some((length, type)))`: a whole message of `length` bytes
/// (header included) is at the start of `buf`.
///
/// # Errors
/// Marker not all ones (1/1), length outside 19..=4096 (1/2), unknown type (1/3).
pub fn frame(buf: &[u8]) -> Result<Option<(usize, u8)>> {
    let Some(head) = buf.get(..HEADER_LEN) else {
        // Reject a bad marker as early as it is visible.
        if buf.iter().take(16).any(|b| *b != 0xff) {
            return Err(Error::message(1, 1, "connection not synchronised"));
        }
        return Ok(None);
    };
    if head.iter().take(16).any(|b| *b != 0xff) {
        return Err(Error::message(1, 1, "connection not synchronised"));
    }
    let len = usize::from(u16::from_be_bytes([
        head.get(16).copied().unwrap_or(0),
        head.get(17).copied().unwrap_or(0),
    ]));
    let typ = head.get(18).copied().unwrap_or(0);
    if !(HEADER_LEN..=MAX_MESSAGE).contains(&len) {
        return Err(Error::message(1, 2, "bad message length"));
    }
    if !(OPEN..=ROUTE_REFRESH).contains(&typ) {
        return Err(Error::message(1, 3, "bad message type"));
    }
    let min = match typ {
        OPEN => HEADER_LEN + 10,
        UPDATE => HEADER_LEN + 4,
        NOTIFICATION => HEADER_LEN + 2,
        KEEPALIVE => HEADER_LEN,
        _ => HEADER_LEN + 4,
    };
    if len < min || (typ == KEEPALIVE && len != HEADER_LEN) {
        return Err(Error::message(1, 2, "bad message length"));
    }
    Ok((buf.len() >= len).then_some((len, typ)))
}

/// Decodes one whole message (header included), as delimited by [`frame`].
///
/// # Errors
/// The header errors of [`frame`]; OPEN errors (2/x); UPDATE length errors (3/1).
pub fn decode(msg: &[u8]) -> Result<Message> {
    let Some((len, typ)) = frame(msg)? else {
        return Err(Error::message(1, 2, "bad message length"));
    };
    let body = msg.get(HEADER_LEN..len).unwrap_or(&[]);
    match typ {
        OPEN => decode_open(body).map(Message::Open),
        UPDATE => {
            let bad = Error::message(3, 1, "malformed attribute list");
            let mut r = Reader::new(body);
            let w = usize::from(r.u16(bad.clone())?);
            r.take(w, bad.clone())?;
            let a = usize::from(r.u16(bad.clone())?);
            r.take(a, bad)?;
            Ok(Message::Update)
        }
        NOTIFICATION => {
            let mut r = Reader::new(body);
            let bad = Error::message(1, 2, "bad message length");
            let code = r.u8(bad.clone())?;
            let subcode = r.u8(bad)?;
            let data = body.get(2..).unwrap_or(&[]).to_vec();
            Ok(Message::Notification {
                code,
                subcode,
                data,
            })
        }
        KEEPALIVE => Ok(Message::Keepalive),
        _ => {
            let mut r = Reader::new(body);
            let bad = Error::message(1, 2, "bad message length");
            let afi = r.u16(bad.clone())?;
            r.u8(bad.clone())?;
            let safi = r.u8(bad)?;
            Ok(Message::RouteRefresh((afi, safi)))
        }
    }
}

fn decode_open(body: &[u8]) -> Result<Open> {
    let short = Error::message(1, 2, "bad message length");
    let mut r = Reader::new(body);
    let version = r.u8(short.clone())?;
    if version != 4 {
        return Err(Error::message(2, 1, "unsupported version number"));
    }
    let as2 = r.u16(short.clone())?;
    let hold_time = r.u16(short.clone())?;
    if hold_time == 1 || hold_time == 2 {
        return Err(Error::message(2, 6, "unacceptable hold time"));
    }
    let id = r.u32(short.clone())?;
    if id == 0 {
        return Err(Error::message(2, 3, "bad BGP identifier"));
    }
    let opt_len = usize::from(r.u8(short)?);
    let bad_opt = Error::message(2, 0, "malformed optional parameters");
    if opt_len != r.rest() {
        return Err(bad_opt);
    }
    let mut open = Open {
        version,
        asn: u32::from(as2),
        hold_time,
        bgp_id: Ipv4Addr::from(id),
        families: Vec::new(),
        four_octet_as: false,
        route_refresh: false,
    };
    while r.rest() > 0 {
        let ptype = r.u8(bad_opt.clone())?;
        let plen = usize::from(r.u8(bad_opt.clone())?);
        let pval = r.take(plen, bad_opt.clone())?;
        if ptype != 2 {
            // Only capabilities (RFC 5492 §4) are defined; anything else is unsupported.
            return Err(Error::message(2, 4, "unsupported optional parameter"));
        }
        let mut c = Reader::new(pval);
        while c.rest() > 0 {
            let code = c.u8(bad_opt.clone())?;
            let clen = usize::from(c.u8(bad_opt.clone())?);
            let cval = c.take(clen, bad_opt.clone())?;
            let mut v = Reader::new(cval);
            match code {
                1 if clen == 4 => {
                    let afi = v.u16(bad_opt.clone())?;
                    v.u8(bad_opt.clone())?;
                    let safi = v.u8(bad_opt.clone())?;
                    if open.families.len() < 64 {
                        open.families.push((afi, safi));
                    }
                }
                2 => open.route_refresh = true,
                65 if clen == 4 => {
                    open.four_octet_as = true;
                    open.asn = v.u32(bad_opt.clone())?;
                }
                _ => {}
            }
        }
    }
    Ok(open)
}

/// Appends a message header and `body` to `out`: marker, length, type (RFC 4271 §4.1).
///
/// # Errors
/// [`Error::Invalid`] when the message would exceed [`MAX_MESSAGE`] bytes.
pub fn push_message(out: &mut Vec<u8>, typ: u8, body: &[u8]) -> Result<()> {
    let len = HEADER_LEN + body.len();
    let len16 = u16::try_from(len)
        .ok()
        .filter(|l| usize::from(*l) <= MAX_MESSAGE)
        .ok_or_else(|| Error::Invalid(format!("BGP message of {len} bytes exceeds 4096")))?;
    out.extend_from_slice(&[0xff; 16]);
    out.extend_from_slice(&len16.to_be_bytes());
    out.push(typ);
    out.extend_from_slice(body);
    Ok(())
}

/// What this speaker says in its OPEN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenParams {
    /// Local AS (four octets; [`AS_TRANS`] in the two-octet field when it does not fit).
    pub asn: u32,
    /// Hold time proposed, seconds.
    pub hold_time: u16,
    /// BGP identifier (router id).
    pub bgp_id: Ipv4Addr,
    /// Families advertised with the multiprotocol capability.
    pub families: Vec<Family>,
}

/// Appends an OPEN (RFC 4271 §4.2) with the multiprotocol (code 1), route refresh (code 2)
/// and four-octet AS (code 65) capabilities.
pub fn push_open(out: &mut Vec<u8>, p: &OpenParams) {
    let mut caps = Vec::new();
    for (afi, safi) in &p.families {
        caps.extend_from_slice(&[1, 4]);
        caps.extend_from_slice(&afi.to_be_bytes());
        caps.extend_from_slice(&[0, *safi]);
    }
    caps.extend_from_slice(&[2, 0]);
    caps.extend_from_slice(&[65, 4]);
    caps.extend_from_slice(&p.asn.to_be_bytes());
    let mut body = vec![4];
    let as2 = u16::try_from(p.asn).unwrap_or(AS_TRANS);
    body.extend_from_slice(&as2.to_be_bytes());
    body.extend_from_slice(&p.hold_time.to_be_bytes());
    body.extend_from_slice(&p.bgp_id.octets());
    // One capabilities parameter (type 2); a handful of families keeps it well under 255.
    let caps_len = u8::try_from(caps.len()).unwrap_or(u8::MAX);
    body.push(caps_len.saturating_add(2));
    body.extend_from_slice(&[2, caps_len]);
    body.extend_from_slice(caps.get(..usize::from(caps_len)).unwrap_or(&caps));
    // An OPEN of a few families is far below 4096 bytes.
    let _ = push_message(out, OPEN, &body);
}

/// Appends a KEEPALIVE (RFC 4271 §4.4): the header alone.
pub fn push_keepalive(out: &mut Vec<u8>) {
    let _ = push_message(out, KEEPALIVE, &[]);
}

/// Appends a NOTIFICATION (RFC 4271 §4.5); `data` is cut to fit one message.
pub fn push_notification(out: &mut Vec<u8>, code: u8, subcode: u8, data: &[u8]) {
    let mut body = vec![code, subcode];
    let room = MAX_MESSAGE - HEADER_LEN - 2;
    body.extend_from_slice(data.get(..room.min(data.len())).unwrap_or(&[]));
    let _ = push_message(out, NOTIFICATION, &body);
}

/// Appends an UPDATE (RFC 4271 §4.3): withdrawn routes, path attributes, NLRI.
///
/// # Errors
/// [`Error::Invalid`] when it would not fit one message.
pub fn push_update(out: &mut Vec<u8>, withdrawn: &[u8], attrs: &[u8], nlri: &[u8]) -> Result<()> {
    let too_big = || Error::Invalid("the route does not fit in one BGP UPDATE".into());
    let w = u16::try_from(withdrawn.len()).map_err(|_| too_big())?;
    let a = u16::try_from(attrs.len()).map_err(|_| too_big())?;
    let mut body = Vec::with_capacity(4 + withdrawn.len() + attrs.len() + nlri.len());
    body.extend_from_slice(&w.to_be_bytes());
    body.extend_from_slice(withdrawn);
    body.extend_from_slice(&a.to_be_bytes());
    body.extend_from_slice(attrs);
    body.extend_from_slice(nlri);
    push_message(out, UPDATE, &body)
}

/// Path attribute flag: optional (RFC 4271 §4.3).
pub const FLAG_OPTIONAL: u8 = 0x80;
/// Path attribute flag: transitive.
pub const FLAG_TRANSITIVE: u8 = 0x40;
/// Path attribute flag: extended length (two-octet length).
pub const FLAG_EXTENDED: u8 = 0x10;

/// Appends one path attribute (flags, type code, length, value); the extended-length flag is
/// set when the value exceeds 255 bytes.
pub fn push_attr(out: &mut Vec<u8>, flags: u8, code: u8, value: &[u8]) {
    if let Ok(l) = u8::try_from(value.len()) {
        out.extend_from_slice(&[flags & !FLAG_EXTENDED, code, l]);
    } else {
        let l = u16::try_from(value.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&[flags | FLAG_EXTENDED, code]);
        out.extend_from_slice(&l.to_be_bytes());
    }
    out.extend_from_slice(value.get(..usize::from(u16::MAX)).unwrap_or(value));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keepalive_is_a_bare_header() {
        let mut out = Vec::new();
        push_keepalive(&mut out);
        assert_eq!(out.len(), 19);
        assert_eq!(&out[16..], &[0, 19, 4]);
        assert_eq!(frame(&out), Ok(Some((19, KEEPALIVE))));
        assert_eq!(decode(&out), Ok(Message::Keepalive));
    }

    #[test]
    fn open_round_trips() {
        let mut out = Vec::new();
        let p = OpenParams {
            asn: 4_200_000_000,
            hold_time: 90,
            bgp_id: Ipv4Addr::new(10, 0, 0, 1),
            families: vec![(AFI_IPV4, SAFI_UNICAST), (AFI_IPV4, SAFI_FLOWSPEC)],
        };
        push_open(&mut out, &p);
        // My AS is AS_TRANS in the two-octet field (RFC 6793).
        assert_eq!(&out[20..22], &AS_TRANS.to_be_bytes());
        let Message::Open(o) = decode(&out).unwrap() else {
            panic!("not an open")
        };
        assert_eq!(o.asn, 4_200_000_000);
        assert_eq!(o.hold_time, 90);
        assert_eq!(o.families, p.families);
        assert!(o.four_octet_as && o.route_refresh);
    }

    #[test]
    fn bad_headers_are_notifications() {
        let mut out = Vec::new();
        push_keepalive(&mut out);
        out[3] = 0;
        assert!(matches!(
            frame(&out),
            Err(Error::Message {
                code: 1,
                subcode: 1,
                ..
            })
        ));
        out[3] = 0xff;
        out[17] = 18;
        assert!(matches!(
            frame(&out),
            Err(Error::Message {
                code: 1,
                subcode: 2,
                ..
            })
        ));
        out[17] = 19;
        out[18] = 9;
        assert!(matches!(
            frame(&out),
            Err(Error::Message {
                code: 1,
                subcode: 3,
                ..
            })
        ));
        // Partial input is not an error.
        assert_eq!(frame(&[0xff; 10]), Ok(None));
    }

    #[test]
    fn truncated_open_never_panics() {
        let mut out = Vec::new();
        push_open(
            &mut out,
            &OpenParams {
                asn: 65000,
                hold_time: 90,
                bgp_id: Ipv4Addr::new(1, 2, 3, 4),
                families: vec![(1, 1)],
            },
        );
        for cut in HEADER_LEN..out.len() {
            let mut m = out[..cut].to_vec();
            m[16..18].copy_from_slice(&u16::try_from(cut).unwrap().to_be_bytes());
            // Cut inside the OPEN body: too short for its fixed fields (header error 1/2), or
            // inside its optional parameters (OPEN error 2/0).
            let r = decode(&m);
            assert!(
                matches!(
                    &r,
                    Err(Error::Message {
                        code: 1,
                        subcode: 2,
                        reason: "bad message length"
                    }) | Err(Error::Message {
                        code: 2,
                        subcode: 0,
                        reason: "malformed optional parameters"
                    })
                ),
                "cut at {cut}: {r:?}"
            );
        }
    }
}
