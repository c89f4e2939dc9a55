//! flowlens-bgp: a sans-IO BGP-4 speaker that pushes routes and flow specification rules to
//! routers, as sFlow-RT's BGP functions do (RTBH with community 65535:666, RFC 7999; FlowSpec,
//! RFC 8955 and RFC 8956).
//!
//! * [`msg`]: BGP messages (RFC 4271 §4): framing, OPEN with capabilities, KEEPALIVE,
//!   NOTIFICATION, UPDATE assembly; big-endian throughout.
//! * [`route`]: unicast routes (IPv4, and IPv6 through RFC 4760) with next hop, communities,
//!   local preference, MED and AS path, from and to sFlow-RT's JSON.
//! * [`flowspec`]: flow specification rules from sFlow-RT's `{match, then}` JSON.
//! * [`session`]: one neighbor's RFC 4271 §8 state machine and Adj-RIB-Out.
//! * [`speaker`]: the set of neighbors.
//!
//! # Sans-IO
//!
//! Nothing here opens a socket or reads a clock: the caller passes the bytes read and the time
//! (`now_ms`), and writes the bytes the sessions produce. The binary's glue
//! (`crates/flowlens/src/run/bgp.rs`) owns the TCP connections.
//!
//! # Why hand-written encoders
//!
//! NetGauze's `netgauze-bgp-pkt` (0.13) is maintained and covers unicast, communities and
//! extended communities, but has no FlowSpec NLRI (its `MpReach` has no SAFI 133 variant), so
//! flow specs would be hand-encoded anyway. A route pusher sends a handful of message shapes
//! and parses only OPEN and NOTIFICATION; they fit in a few hundred lines with byte-level
//! tests, without pulling that crate's dependency tree into the binary.
//!
//! # Bounded memory, no panics
//!
//! Messages are at most 4096 bytes; neighbors, routes, flows, queued output and events are
//! capped ([`speaker::MAX_NEIGHBORS`], [`session::MAX_ROUTES`], [`session::MAX_FLOWS`],
//! [`session::MAX_OUTPUT`], [`session::MAX_EVENTS`]). Malformed input from a peer is an
//! [`Error::Message`]: the session sends the NOTIFICATION, counts it and closes.

pub mod error;
pub mod flowspec;
pub mod msg;
pub mod route;
pub mod session;
pub mod speaker;

pub use error::{Error, Result};
pub use flowspec::FlowSpec;
pub use route::{Prefix, Route};
pub use session::{Config, Neighbor, State};
pub use speaker::Speaker;
