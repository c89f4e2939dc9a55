//! One neighbor: the RFC 4271 §8 session state machine and the Adj-RIB-Out of pushed routes
//! and flow specs, sans IO.
//!
//! The caller owns the TCP connection and the clock. It tells the session when a connection
//! is up ([`Neighbor::connected`]), hands it the bytes read ([`Neighbor::receive`]), calls
//! [`Neighbor::tick`] now and then (at least every second; [`Neighbor::next_deadline`] says
//! when the next timer falls due), writes what [`Neighbor::take_output`] returns, closes the
//! connection when [`Neighbor::must_close`] says so and reports a closed connection with
//! [`Neighbor::disconnected`]. Time is milliseconds on any monotonic clock.
//!
//! The Adj-RIB-Out survives the session: routes and flows added while the session is down are
//! announced when it is next Established, and all of them are announced again after a
//! reconnection (and on a ROUTE-REFRESH). Removing a route withdraws it at once if the session
//! is up. What the peer announces is ignored (counted).
//!
//! Simplifications: no RFC 4271 §6.8 collision detection (a second connection while one is
//! past Active is refused, the first is kept); no graceful restart; one UPDATE per route.

use std::collections::{BTreeMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr};

use serde_json::{json, Value as Json};

use crate::error::{Error, Result};
use crate::flowspec::FlowSpec;
use crate::msg::{self, Family, Message, OpenParams};
use crate::route::{self, Encoding, Prefix, Route};

/// The hold time a session waits for the peer's OPEN (RFC 4271 §8.2.2 suggests 4 minutes).
pub const OPEN_HOLD_MS: u64 = 240_000;
/// Most bytes waiting to be written before the session is reset (the peer is not reading).
pub const MAX_OUTPUT: usize = 16 << 20;
/// Most routes per neighbor.
pub const MAX_ROUTES: usize = 100_000;
/// Most flow specs per neighbor.
pub const MAX_FLOWS: usize = 10_000;
/// Most events kept per neighbor.
pub const MAX_EVENTS: usize = 32;

/// Session states (RFC 4271 §8.2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Refusing connections (after an error, until the connection is closed).
    Idle,
    /// Trying to connect to the peer (active neighbors).
    Connect,
    /// Waiting for the peer to connect (passive neighbors).
    Active,
    /// OPEN sent, waiting for the peer's.
    OpenSent,
    /// OPENs exchanged, waiting for the peer's KEEPALIVE.
    OpenConfirm,
    /// Up: UPDATEs flow.
    Established,
}

impl State {
    /// The RFC's name of the state.
    pub const fn name(self) -> &'static str {
        match self {
            State::Idle => "Idle",
            State::Connect => "Connect",
            State::Active => "Active",
            State::OpenSent => "OpenSent",
            State::OpenConfirm => "OpenConfirm",
            State::Established => "Established",
        }
    }
}

/// A neighbor's configuration (sFlow-RT's `bgpAddNeighbor` arguments).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The peer's address (it connects from it, or is connected to).
    pub peer: IpAddr,
    /// Local AS.
    pub local_as: u32,
    /// Local BGP identifier.
    pub router_id: Ipv4Addr,
    /// Announce IPv6 unicast.
    pub ipv6: bool,
    /// Announce IPv4 flow specs.
    pub flowspec: bool,
    /// Announce IPv6 flow specs.
    pub flowspec6: bool,
    /// Hold time proposed, seconds (0 or at least 3).
    pub hold_time: u16,
    /// Connect to the peer on this TCP port (active) instead of waiting for it (passive).
    pub connect_port: Option<u16>,
    /// Delay between connection attempts of an active neighbor, ms.
    pub connect_retry_ms: u64,
}

impl Config {
    /// A passive neighbor with sFlow-RT's defaults: IPv4 unicast only, hold time 90 s.
    pub fn new(peer: IpAddr, local_as: u32, router_id: Ipv4Addr) -> Self {
        Config {
            peer,
            local_as,
            router_id,
            ipv6: false,
            flowspec: false,
            flowspec6: false,
            hold_time: 90,
            connect_port: None,
            connect_retry_ms: 5_000,
        }
    }

    /// The families this neighbor announces (multiprotocol capabilities).
    pub fn families(&self) -> Vec<Family> {
        let mut f = vec![(msg::AFI_IPV4, msg::SAFI_UNICAST)];
        if self.ipv6 {
            f.push((msg::AFI_IPV6, msg::SAFI_UNICAST));
        }
        if self.flowspec {
            f.push((msg::AFI_IPV4, msg::SAFI_FLOWSPEC));
        }
        if self.flowspec6 {
            f.push((msg::AFI_IPV6, msg::SAFI_FLOWSPEC));
        }
        f
    }
}

/// What happened to a session, for the event log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// When, ms.
    pub time_ms: u64,
    /// `established` or `closed`.
    pub kind: &'static str,
    /// Why (closed): the error or notification.
    pub reason: String,
}

/// Message and error counters of one neighbor (since it was added).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Messages received.
    pub messages_in: u64,
    /// Messages sent.
    pub messages_out: u64,
    /// UPDATEs received (ignored).
    pub updates_in: u64,
    /// UPDATEs sent.
    pub updates_out: u64,
    /// NOTIFICATIONs received.
    pub notifications_in: u64,
    /// NOTIFICATIONs sent.
    pub notifications_out: u64,
    /// Malformed or unexpected messages from the peer.
    pub errors: u64,
    /// Times the session reached Established.
    pub established: u64,
    /// Connections refused (collisions, or while Idle).
    pub refused: u64,
}

/// What the peer said in its OPEN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerInfo {
    /// Peer AS.
    pub asn: u32,
    /// Peer BGP identifier.
    pub bgp_id: Ipv4Addr,
    /// Negotiated hold time, seconds.
    pub hold_time: u16,
    /// Families both sides announced.
    pub families: Vec<Family>,
    /// Four-octet AS numbers in AS_PATH.
    pub four_octet_as: bool,
}

/// One neighbor: configuration, session state, Adj-RIB-Out, counters.
#[derive(Debug)]
pub struct Neighbor {
    config: Config,
    state: State,
    connected: bool,
    connection: u64,
    close: bool,
    input: Vec<u8>,
    output: Vec<u8>,
    peer: Option<PeerInfo>,
    hold_deadline: Option<u64>,
    keepalive_due: Option<u64>,
    retry_due: Option<u64>,
    established_at: Option<u64>,
    routes: BTreeMap<Prefix, Route>,
    flows: BTreeMap<Vec<u8>, FlowSpec>,
    counters: Counters,
    events: VecDeque<Event>,
    last_error: Option<String>,
}

impl Neighbor {
    /// A neighbor waiting for its peer (passive) or about to connect (active).
    pub fn new(config: Config, now_ms: u64) -> Self {
        let active = config.connect_port.is_some();
        Neighbor {
            state: if active {
                State::Connect
            } else {
                State::Active
            },
            retry_due: active.then_some(now_ms),
            config,
            connected: false,
            connection: 0,
            close: false,
            input: Vec::new(),
            output: Vec::new(),
            peer: None,
            hold_deadline: None,
            keepalive_due: None,
            established_at: None,
            routes: BTreeMap::new(),
            flows: BTreeMap::new(),
            counters: Counters::default(),
            events: VecDeque::new(),
            last_error: None,
        }
    }

    /// The configuration.
    pub const fn config(&self) -> &Config {
        &self.config
    }

    /// The session state.
    pub const fn state(&self) -> State {
        self.state
    }

    /// The counters.
    pub const fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The peer's OPEN, once received.
    pub const fn peer(&self) -> Option<&PeerInfo> {
        self.peer.as_ref()
    }

    /// When the session last became Established (while it is).
    pub const fn established_at(&self) -> Option<u64> {
        self.established_at
    }

    /// The event log, oldest first (at most [`MAX_EVENTS`]).
    pub fn events(&self) -> impl Iterator<Item = &Event> {
        self.events.iter()
    }

    /// Pushed routes.
    pub fn routes(&self) -> impl Iterator<Item = &Route> {
        self.routes.values()
    }

    /// Pushed flow specs.
    pub fn flows(&self) -> impl Iterator<Item = &FlowSpec> {
        self.flows.values()
    }

    /// Number of pushed routes.
    pub fn route_count(&self) -> usize {
        self.routes.len()
    }

    /// Number of pushed flow specs.
    pub fn flow_count(&self) -> usize {
        self.flows.len()
    }

    /// True when an active neighbor should open a connection now; the next attempt is then
    /// due `connect_retry_ms` later.
    pub fn wants_connect(&mut self, now_ms: u64) -> bool {
        if self.connected || self.config.connect_port.is_none() || self.state != State::Connect {
            return false;
        }
        match self.retry_due {
            Some(t) if t <= now_ms => {
                self.retry_due = Some(now_ms.saturating_add(self.config.connect_retry_ms));
                true
            }
            _ => false,
        }
    }

    /// A TCP connection with the peer is up (accepted or connected). Returns false when the
    /// session already has one (the caller closes the new one).
    pub fn connected(&mut self, now_ms: u64) -> bool {
        if self.connected || !matches!(self.state, State::Active | State::Connect) {
            self.counters.refused += 1;
            return false;
        }
        self.connected = true;
        self.connection += 1;
        self.close = false;
        self.input.clear();
        self.output.clear();
        msg::push_open(
            &mut self.output,
            &OpenParams {
                asn: self.config.local_as,
                hold_time: self.config.hold_time,
                bgp_id: self.config.router_id,
                families: self.config.families(),
            },
        );
        self.counters.messages_out += 1;
        self.state = State::OpenSent;
        self.hold_deadline = Some(now_ms.saturating_add(OPEN_HOLD_MS));
        true
    }

    /// The connection closed (by the peer, an error, or after [`Neighbor::must_close`]).
    pub fn disconnected(&mut self, now_ms: u64, reason: &str) {
        if !self.connected {
            return;
        }
        self.connected = false;
        self.close = false;
        self.input.clear();
        self.output.clear();
        if self.state != State::Idle {
            self.down(now_ms, reason.to_string());
        }
        self.state = if self.config.connect_port.is_some() {
            self.retry_due = Some(now_ms.saturating_add(self.config.connect_retry_ms));
            State::Connect
        } else {
            State::Active
        };
    }

    /// True when a connection is up.
    pub const fn is_connected(&self) -> bool {
        self.connected
    }

    /// Which connection is current: counts [`Neighbor::connected`] calls that succeeded, so the
    /// caller can tell a closing old connection from a new one.
    pub const fn connection_id(&self) -> u64 {
        self.connection
    }

    /// True when the caller should close the connection (after writing the output).
    pub const fn must_close(&self) -> bool {
        self.close
    }

    /// Bytes to write to the connection.
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.output)
    }

    /// True when output is waiting.
    pub fn has_output(&self) -> bool {
        !self.output.is_empty()
    }

    /// The next time [`Neighbor::tick`] has something to do.
    pub fn next_deadline(&self) -> Option<u64> {
        [self.hold_deadline, self.keepalive_due, self.retry_due]
            .into_iter()
            .flatten()
            .min()
    }

    /// Leaves the session: logs the event, keeps the RIB, stops timers. The caller closes the
    /// connection ([`Neighbor::must_close`]).
    fn down(&mut self, now_ms: u64, reason: String) {
        if self.state == State::Established {
            self.log(now_ms, "closed", reason.clone());
        }
        self.last_error = Some(reason);
        self.state = State::Idle;
        self.close = true;
        self.hold_deadline = None;
        self.keepalive_due = None;
        self.established_at = None;
    }

    fn log(&mut self, now_ms: u64, kind: &'static str, reason: String) {
        if self.events.len() >= MAX_EVENTS {
            self.events.pop_front();
        }
        self.events.push_back(Event {
            time_ms: now_ms,
            kind,
            reason,
        });
    }

    /// Sends a NOTIFICATION and goes down.
    fn notify(&mut self, now_ms: u64, code: u8, subcode: u8, reason: String) {
        msg::push_notification(&mut self.output, code, subcode, &[]);
        self.counters.messages_out += 1;
        self.counters.notifications_out += 1;
        self.down(now_ms, reason);
    }

    /// Bytes read from the connection. Malformed input sends a NOTIFICATION and closes the
    /// session (see [`Neighbor::must_close`]); nothing here panics on input.
    pub fn receive(&mut self, now_ms: u64, bytes: &[u8]) {
        if !self.connected || self.close {
            return;
        }
        self.input.extend_from_slice(bytes);
        let mut start = 0;
        loop {
            let rest = self.input.get(start..).unwrap_or(&[]);
            let framed = msg::frame(rest).and_then(|f| match f {
                Some((len, _)) => {
                    msg::decode(rest.get(..len).unwrap_or(&[])).map(|m| Some((len, m)))
                }
                None => Ok(None),
            });
            match framed {
                Ok(Some((len, m))) => {
                    start += len;
                    self.counters.messages_in += 1;
                    if let Err(e) = self.handle(now_ms, m) {
                        self.fail(now_ms, &e);
                        break;
                    }
                    if self.close {
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    self.fail(now_ms, &e);
                    break;
                }
            }
        }
        self.input.drain(..start.min(self.input.len()));
        self.check_output(now_ms);
    }

    fn fail(&mut self, now_ms: u64, e: &Error) {
        self.counters.errors += 1;
        let (code, subcode) = match e {
            Error::Message { code, subcode, .. } => (*code, *subcode),
            _ => (6, 0),
        };
        self.notify(now_ms, code, subcode, e.to_string());
    }

    fn check_output(&mut self, now_ms: u64) {
        if self.output.len() > MAX_OUTPUT {
            self.output.clear();
            self.counters.errors += 1;
            // Cease, out of resources (RFC 4486 §4): the peer does not read.
            self.notify(now_ms, 6, 8, "output buffer full".into());
        }
    }

    fn handle(&mut self, now_ms: u64, m: Message) -> Result<()> {
        let fsm = Error::message(5, 0, "unexpected message");
        match (self.state, m) {
            (_, Message::Notification { code, subcode, .. }) => {
                self.counters.notifications_in += 1;
                self.down(now_ms, format!("notification {code}/{subcode} from peer"));
                Ok(())
            }
            (State::OpenSent, Message::Open(o)) => {
                let hold = o.hold_time.min(self.config.hold_time);
                let families: Vec<Family> = self
                    .config
                    .families()
                    .into_iter()
                    // Without multiprotocol capabilities a peer speaks IPv4 unicast only
                    // (RFC 4760 §8).
                    .filter(|f| {
                        o.families.contains(f)
                            || (o.families.is_empty() && *f == (msg::AFI_IPV4, msg::SAFI_UNICAST))
                    })
                    .collect();
                self.peer = Some(PeerInfo {
                    asn: o.asn,
                    bgp_id: o.bgp_id,
                    hold_time: hold,
                    families,
                    four_octet_as: o.four_octet_as,
                });
                msg::push_keepalive(&mut self.output);
                self.counters.messages_out += 1;
                self.state = State::OpenConfirm;
                self.arm(now_ms, hold);
                Ok(())
            }
            (State::OpenConfirm, Message::Keepalive) => {
                self.state = State::Established;
                self.established_at = Some(now_ms);
                self.counters.established += 1;
                self.last_error = None;
                self.log(now_ms, "established", String::new());
                self.restart_hold(now_ms);
                self.announce_all()
            }
            (State::Established, Message::Keepalive) => {
                self.restart_hold(now_ms);
                Ok(())
            }
            (State::Established, Message::Update) => {
                self.counters.updates_in += 1;
                self.restart_hold(now_ms);
                Ok(())
            }
            (State::Established, Message::RouteRefresh(_)) => {
                self.restart_hold(now_ms);
                self.announce_all()
            }
            _ => Err(fsm),
        }
    }

    /// Arms the hold and keepalive timers for a negotiated hold time (0: no timers).
    fn arm(&mut self, now_ms: u64, hold_s: u16) {
        if hold_s == 0 {
            self.hold_deadline = None;
            self.keepalive_due = None;
        } else {
            let hold = u64::from(hold_s) * 1000;
            self.hold_deadline = Some(now_ms.saturating_add(hold));
            self.keepalive_due = Some(now_ms.saturating_add(hold / 3));
        }
    }

    fn restart_hold(&mut self, now_ms: u64) {
        if let Some(p) = &self.peer {
            if p.hold_time > 0 {
                self.hold_deadline = Some(now_ms.saturating_add(u64::from(p.hold_time) * 1000));
            }
        }
    }

    /// Runs the timers: hold timer expiry (NOTIFICATION 4/0, RFC 4271 §6.5), keepalives.
    pub fn tick(&mut self, now_ms: u64) {
        if !self.connected || self.close {
            return;
        }
        if self.hold_deadline.is_some_and(|t| t <= now_ms) {
            self.counters.errors += 1;
            self.notify(now_ms, 4, 0, "hold timer expired".into());
            return;
        }
        if let Some(t) = self.keepalive_due {
            if t <= now_ms && matches!(self.state, State::OpenConfirm | State::Established) {
                msg::push_keepalive(&mut self.output);
                self.counters.messages_out += 1;
                let hold = self.peer.as_ref().map_or(90, |p| p.hold_time);
                self.keepalive_due = Some(now_ms.saturating_add(u64::from(hold) * 1000 / 3));
            }
        }
        self.check_output(now_ms);
    }

    fn encoding(&self) -> Encoding {
        let peer = self.peer.as_ref();
        Encoding {
            local_as: self.config.local_as,
            internal: peer.is_none_or(|p| p.asn == self.config.local_as),
            four_octet_as: peer.is_some_and(|p| p.four_octet_as),
        }
    }

    fn negotiated(&self, f: Family) -> bool {
        self.peer.as_ref().is_some_and(|p| p.families.contains(&f))
    }

    /// Announces the whole RIB (on Established and ROUTE-REFRESH).
    fn announce_all(&mut self) -> Result<()> {
        let enc = self.encoding();
        let mut out = std::mem::take(&mut self.output);
        let mut n = 0u64;
        for r in self.routes.values() {
            if self.negotiated(route_family(&r.prefix)) && r.push_announce(&mut out, enc).is_ok() {
                n += 1;
            }
        }
        for f in self.flows.values() {
            if self.negotiated(flow_family(f)) && f.push_announce(&mut out, enc).is_ok() {
                n += 1;
            }
        }
        self.output = out;
        self.counters.updates_out += n;
        self.counters.messages_out += n;
        Ok(())
    }

    fn established(&self) -> bool {
        self.state == State::Established && !self.close
    }

    fn sent_update(&mut self, now_ms: u64) {
        self.counters.updates_out += 1;
        self.counters.messages_out += 1;
        self.check_output(now_ms);
    }

    /// Adds or replaces a route; announced now if the session is up, else when it comes up.
    ///
    /// # Errors
    /// [`Error::Invalid`] when the neighbor does not carry the route's family (IPv6 needs
    /// `ipv6`) or it cannot be encoded; [`Error::Full`] beyond [`MAX_ROUTES`].
    pub fn add_route(&mut self, now_ms: u64, r: Route) -> Result<()> {
        if r.prefix.is_ipv6() && !self.config.ipv6 {
            return Err(Error::Invalid(format!(
                "neighbor {} was added without ipv6",
                self.config.peer
            )));
        }
        // Check it encodes before keeping it.
        r.push_announce(&mut Vec::new(), self.encoding())?;
        if self.routes.len() >= MAX_ROUTES && !self.routes.contains_key(&r.prefix) {
            return Err(Error::Full("routes"));
        }
        if self.established() && self.negotiated(route_family(&r.prefix)) {
            let enc = self.encoding();
            r.push_announce(&mut self.output, enc)?;
            self.sent_update(now_ms);
        }
        self.routes.insert(r.prefix, r);
        Ok(())
    }

    /// Removes a route, withdrawing it if the session is up. False when it was not there.
    pub fn remove_route(&mut self, now_ms: u64, prefix: &Prefix) -> bool {
        if self.routes.remove(prefix).is_none() {
            return false;
        }
        if self.established()
            && self.negotiated(route_family(prefix))
            && route::push_withdraw(&mut self.output, prefix).is_ok()
        {
            self.sent_update(now_ms);
        }
        true
    }

    /// Adds or replaces a flow spec (same match: same rule); announced now if the session is
    /// up, else when it comes up.
    ///
    /// # Errors
    /// [`Error::Invalid`] when the neighbor was added without `flowspec`/`flowspec6` for the
    /// rule's family; [`Error::Full`] beyond [`MAX_FLOWS`].
    pub fn add_flow(&mut self, now_ms: u64, f: FlowSpec) -> Result<()> {
        let ok = if f.is_ipv6() {
            self.config.flowspec6
        } else {
            self.config.flowspec
        };
        if !ok {
            return Err(Error::Invalid(format!(
                "neighbor {} was added without {}",
                self.config.peer,
                if f.is_ipv6() { "flowspec6" } else { "flowspec" }
            )));
        }
        f.push_announce(&mut Vec::new(), self.encoding())?;
        if self.flows.len() >= MAX_FLOWS && !self.flows.contains_key(f.nlri()) {
            return Err(Error::Full("flows"));
        }
        if self.established() && self.negotiated(flow_family(&f)) {
            let enc = self.encoding();
            f.push_announce(&mut self.output, enc)?;
            self.sent_update(now_ms);
        }
        self.flows.insert(f.nlri().to_vec(), f);
        Ok(())
    }

    /// Removes a flow spec (by its match), withdrawing it if the session is up. False when it
    /// was not there.
    pub fn remove_flow(&mut self, now_ms: u64, f: &FlowSpec) -> bool {
        let Some(old) = self.flows.remove(f.nlri()) else {
            return false;
        };
        if self.established()
            && self.negotiated(flow_family(&old))
            && old.push_withdraw(&mut self.output).is_ok()
        {
            self.sent_update(now_ms);
        }
        true
    }

    /// Sends a Cease NOTIFICATION (6/3, peer de-configured, RFC 4486) if connected: the
    /// neighbor is being removed.
    pub fn shutdown(&mut self, now_ms: u64) {
        if self.connected && !self.close {
            self.notify(now_ms, 6, 3, "neighbor removed".into());
        }
    }

    /// The neighbor as JSON for `/bgp/json`.
    pub fn to_json(&self, now_ms: u64) -> Json {
        let c = &self.counters;
        let peer = self.peer.as_ref();
        json!({
            "peer": self.config.peer.to_string(),
            "localAS": self.config.local_as,
            "routerId": self.config.router_id.to_string(),
            "mode": if self.config.connect_port.is_some() { "active" } else { "passive" },
            "state": self.state.name(),
            "uptime": self.established_at.map_or(0, |t| now_ms.saturating_sub(t)),
            "remoteAS": peer.map(|p| p.asn),
            "remoteId": peer.map(|p| p.bgp_id.to_string()),
            "holdTime": peer.map(|p| p.hold_time),
            "ipv6": self.config.ipv6,
            "flowspec": self.config.flowspec,
            "flowspec6": self.config.flowspec6,
            "routes": self.routes.len(),
            "flows": self.flows.len(),
            "messagesIn": c.messages_in,
            "messagesOut": c.messages_out,
            "updatesIn": c.updates_in,
            "updatesOut": c.updates_out,
            "notificationsIn": c.notifications_in,
            "notificationsOut": c.notifications_out,
            "errors": c.errors,
            "established": c.established,
            "refused": c.refused,
            "lastError": self.last_error,
            "events": self.events.iter().map(|e| json!({
                "time": e.time_ms, "event": e.kind, "reason": e.reason,
            })).collect::<Vec<_>>(),
        })
    }
}

fn route_family(p: &Prefix) -> Family {
    if p.is_ipv6() {
        (msg::AFI_IPV6, msg::SAFI_UNICAST)
    } else {
        (msg::AFI_IPV4, msg::SAFI_UNICAST)
    }
}

fn flow_family(f: &FlowSpec) -> Family {
    if f.is_ipv6() {
        (msg::AFI_IPV6, msg::SAFI_FLOWSPEC)
    } else {
        (msg::AFI_IPV4, msg::SAFI_FLOWSPEC)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::{decode, frame};
    use serde_json::json;

    /// Splits a byte stream into decoded messages.
    fn messages(mut b: &[u8]) -> Vec<Message> {
        let mut v = Vec::new();
        while let Some((len, _)) = frame(b).unwrap() {
            v.push(decode(&b[..len]).unwrap());
            b = &b[len..];
        }
        assert!(b.is_empty());
        v
    }

    fn peer_open(families: &[Family], hold: u16) -> Vec<u8> {
        let mut o = Vec::new();
        msg::push_open(
            &mut o,
            &OpenParams {
                asn: 65000,
                hold_time: hold,
                bgp_id: Ipv4Addr::new(10, 9, 9, 9),
                families: families.to_vec(),
            },
        );
        o
    }

    fn keepalive() -> Vec<u8> {
        let mut k = Vec::new();
        msg::push_keepalive(&mut k);
        k
    }

    fn established(n: &mut Neighbor, now: u64) {
        assert!(n.connected(now));
        let out = messages(&n.take_output());
        assert!(matches!(out[..], [Message::Open(_)]));
        n.receive(now, &peer_open(&n.config().families(), 9));
        assert_eq!(n.state(), State::OpenConfirm);
        n.receive(now, &keepalive());
        assert_eq!(n.state(), State::Established);
    }

    fn config() -> Config {
        Config {
            flowspec: true,
            ..Config::new(
                "127.0.0.2".parse().unwrap(),
                65000,
                Ipv4Addr::new(10, 0, 0, 1),
            )
        }
    }

    fn rtbh(addr: &str) -> Route {
        Route::from_json(
            json!({"prefix":addr,"nexthop":"192.0.2.1","communities":"65535:666"})
                .as_object()
                .unwrap(),
            None,
        )
        .unwrap()
    }

    #[test]
    fn routes_added_before_the_session_are_announced_when_it_comes_up_and_again_after() {
        let mut n = Neighbor::new(config(), 0);
        assert_eq!(n.state(), State::Active);
        n.add_route(0, rtbh("192.0.2.7")).unwrap();
        n.add_flow(
            0,
            FlowSpec::from_json(
                &json!({"match":{"destination":"192.0.2.7"},"then":{"traffic-rate":0}}),
            )
            .unwrap(),
        )
        .unwrap();
        assert!(!n.has_output());
        established(&mut n, 10);
        let out = messages(&n.take_output());
        // KEEPALIVE answering the OPEN, then the route and the flow.
        assert_eq!(out.len(), 3, "{out:?}");
        assert_eq!(out[0], Message::Keepalive);
        assert_eq!(out[1], Message::Update);
        assert_eq!(n.to_json(1010)["uptime"], 1000);
        // The peer goes away: the session waits again and the RIB is kept.
        n.disconnected(20, "peer closed");
        assert_eq!(n.state(), State::Active);
        assert_eq!(n.route_count(), 1);
        established(&mut n, 30);
        assert_eq!(messages(&n.take_output()).len(), 3);
        assert_eq!(n.counters().established, 2);
        // Removal withdraws at once.
        assert!(n.remove_route(40, &"192.0.2.7".parse().unwrap()));
        assert_eq!(messages(&n.take_output()), [Message::Update]);
        assert!(!n.remove_route(40, &"192.0.2.7".parse().unwrap()));
    }

    #[test]
    fn hold_timer_expiry_sends_a_notification() {
        let mut n = Neighbor::new(config(), 0);
        established(&mut n, 0);
        n.take_output();
        // Keepalive at a third of the 9 s hold time.
        n.tick(3_000);
        assert_eq!(messages(&n.take_output()), [Message::Keepalive]);
        n.receive(5_000, &keepalive());
        n.tick(13_999);
        assert!(!n.must_close());
        n.tick(14_000);
        assert!(n.must_close());
        let out = messages(&n.take_output());
        assert!(matches!(
            out.last(),
            Some(Message::Notification {
                code: 4,
                subcode: 0,
                ..
            })
        ));
        n.disconnected(14_001, "closed");
        assert_eq!(n.events().count(), 2);
    }

    #[test]
    fn garbage_gets_a_notification_not_a_panic() {
        let mut n = Neighbor::new(config(), 0);
        assert!(n.connected(0));
        n.take_output();
        n.receive(1, &[0u8; 40]);
        assert!(n.must_close());
        let out = messages(&n.take_output());
        assert!(matches!(
            out[..],
            [Message::Notification {
                code: 1,
                subcode: 1,
                ..
            }]
        ));
        assert_eq!(n.counters().errors, 1);
        // An UPDATE before the session is up is an FSM error.
        let mut n = Neighbor::new(config(), 0);
        assert!(n.connected(0));
        n.take_output();
        let mut u = Vec::new();
        msg::push_update(&mut u, &[], &[], &[]).unwrap();
        n.receive(1, &u);
        assert!(matches!(
            messages(&n.take_output())[..],
            [Message::Notification { code: 5, .. }]
        ));
    }

    #[test]
    fn a_second_connection_is_refused_and_families_are_checked() {
        let mut n = Neighbor::new(config(), 0);
        assert!(n.connected(0));
        assert!(!n.connected(0));
        assert_eq!(n.counters().refused, 1);
        assert_eq!(n.connection_id(), 1);
        let v6 = Route::from_json(
            json!({"prefix":"2001:db8::1","nexthop":"100::1"})
                .as_object()
                .unwrap(),
            None,
        )
        .unwrap();
        let r = n.add_route(0, v6);
        assert!(
            matches!(&r, Err(Error::Invalid(m)) if m == "neighbor 127.0.0.2 was added without ipv6"),
            "{r:?}"
        );
        let f6 = FlowSpec::from_json(&json!({"match":{"destination":"2001:db8::1"}})).unwrap();
        let r = n.add_flow(0, f6);
        assert!(
            matches!(&r, Err(Error::Invalid(m)) if m == "neighbor 127.0.0.2 was added without flowspec6"),
            "{r:?}"
        );
    }

    #[test]
    fn a_peer_without_multiprotocol_gets_ipv4_unicast_only() {
        let mut n = Neighbor::new(config(), 0);
        n.add_route(0, rtbh("192.0.2.7")).unwrap();
        n.add_flow(
            0,
            FlowSpec::from_json(&json!({"match":{"destination":"192.0.2.7"}})).unwrap(),
        )
        .unwrap();
        assert!(n.connected(0));
        n.take_output();
        n.receive(1, &peer_open(&[], 9));
        n.receive(1, &keepalive());
        assert_eq!(n.state(), State::Established);
        // KEEPALIVE, then the route only: the flow spec's family was not negotiated.
        assert_eq!(
            messages(&n.take_output()),
            [Message::Keepalive, Message::Update]
        );
    }

    #[test]
    fn active_neighbors_retry() {
        let mut c = config();
        c.connect_port = Some(179);
        let mut n = Neighbor::new(c, 0);
        assert_eq!(n.state(), State::Connect);
        assert!(n.wants_connect(0));
        assert!(!n.wants_connect(4_999));
        assert!(n.wants_connect(5_000));
        assert!(n.connected(5_001));
        n.disconnected(6_000, "refused");
        assert_eq!(n.state(), State::Connect);
        assert!(!n.wants_connect(10_999));
        assert!(n.wants_connect(11_000));
    }
}
