//! The crate's one error type.
//!
//! Peer faults (what an exporter sent: malformed datagrams, absurd templates) are kept apart
//! from local faults (a corrupt snapshot file, invalid limits). Network input can only ever
//! produce the former, and only as values: nothing in this crate panics on input.

use core::fmt;

/// An error of the flow engine.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Peer fault: the datagram (or a part of it) is malformed; offset and layer inside.
    Wire(flowlens_wire::Error),
    /// Peer fault: the datagram is not NetFlow v5, v9 or IPFIX (`version` is its first two
    /// bytes, or 0 if it has fewer).
    UnknownVersion {
        /// The first two bytes, big-endian.
        version: u16,
    },
    /// Peer fault: a template was refused (too many fields, records that cannot fit a
    /// datagram, no fields at all). The template is not cached; its data stays undecodable.
    TemplateRejected {
        /// Template id.
        template_id: u16,
        /// Offset of the template record in the datagram.
        offset: usize,
        /// Why, e.g. `"too many fields"`.
        reason: &'static str,
    },
    /// Local fault: a snapshot could not be restored (corrupt, truncated, foreign or of an
    /// unknown version).
    Snapshot {
        /// What was wrong, for logs.
        reason: String,
    },
    /// Misuse: configured limits are inconsistent (e.g. a per-exporter cap above the global
    /// cap, or a zero cap).
    InvalidLimits {
        /// Which limit.
        limit: &'static str,
    },
}

impl Error {
    /// True for errors caused by what a peer (exporter) sent, false for local faults and misuse.
    pub const fn is_peer_fault(&self) -> bool {
        matches!(
            self,
            Error::Wire(_) | Error::UnknownVersion { .. } | Error::TemplateRejected { .. }
        )
    }

    /// Byte offset in the datagram, for peer faults that have one.
    pub const fn offset(&self) -> Option<usize> {
        match self {
            Error::Wire(e) => Some(e.offset()),
            Error::TemplateRejected { offset, .. } => Some(*offset),
            Error::UnknownVersion { .. } => Some(0),
            Error::Snapshot { .. } | Error::InvalidLimits { .. } => None,
        }
    }

    /// A short, stable, lowercase label for counters.
    pub const fn kind(&self) -> &'static str {
        match self {
            Error::Wire(e) => e.kind(),
            Error::UnknownVersion { .. } => "unknown-version",
            Error::TemplateRejected { .. } => "template-rejected",
            Error::Snapshot { .. } => "snapshot",
            Error::InvalidLimits { .. } => "invalid-limits",
        }
    }
}

impl From<flowlens_wire::Error> for Error {
    fn from(e: flowlens_wire::Error) -> Self {
        Error::Wire(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Wire(e) => e.fmt(f),
            Error::UnknownVersion { version } => {
                write!(f, "not NetFlow v5/v9 or IPFIX: version {version}")
            }
            Error::TemplateRejected {
                template_id,
                offset,
                reason,
            } => write!(
                f,
                "template: {template_id} rejected at byte {offset}: {reason}"
            ),
            Error::Snapshot { reason } => write!(f, "template snapshot: {reason}"),
            Error::InvalidLimits { limit } => write!(f, "invalid limits: {limit}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Wire(e) => Some(e),
            _ => None,
        }
    }
}
