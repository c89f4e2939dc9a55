//! The crate's one error type.
//!
//! Peer faults (a malformed or unexpected message, RFC 4271 §6) carry the NOTIFICATION
//! error code and subcode the session sends before closing; local faults (a route or flow
//! spec that cannot be encoded, an unknown neighbor, a full table) are returned to the caller.
//! Nothing in this crate panics on input.

use core::fmt;
use std::net::IpAddr;

/// An error of the BGP speaker.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Peer fault: a message violates RFC 4271; the session answers with a NOTIFICATION of
    /// this `code`/`subcode` (RFC 4271 §4.5) and closes.
    Message {
        /// NOTIFICATION error code (1 header, 2 OPEN, 3 UPDATE, 5 FSM, 6 Cease).
        code: u8,
        /// NOTIFICATION error subcode.
        subcode: u8,
        /// What was wrong, for logs.
        reason: &'static str,
    },
    /// Misuse: an argument (route, flow spec, neighbor option) is invalid.
    Invalid(String),
    /// Misuse: no neighbor with this address is configured.
    UnknownNeighbor(IpAddr),
    /// A bound was reached (neighbors, routes or flows); nothing was added.
    Full(&'static str),
}

impl Error {
    /// A peer fault with NOTIFICATION `code`/`subcode`.
    pub(crate) const fn message(code: u8, subcode: u8, reason: &'static str) -> Self {
        Error::Message {
            code,
            subcode,
            reason,
        }
    }

    /// True for errors caused by what the peer sent.
    pub const fn is_peer_fault(&self) -> bool {
        matches!(self, Error::Message { .. })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Message {
                code,
                subcode,
                reason,
            } => write!(
                f,
                "bad message from peer ({reason}; notification {code}/{subcode})"
            ),
            Error::Invalid(s) => f.write_str(s),
            Error::UnknownNeighbor(a) => write!(f, "no BGP neighbor {a}"),
            Error::Full(what) => write!(f, "too many {what}"),
        }
    }
}

impl std::error::Error for Error {}

/// The crate's result type.
pub type Result<T, E = Error> = core::result::Result<T, E>;
