//! The crate's one error type.
//!
//! Everything here is a caller's fault or a limit: an expression that does not parse, a
//! definition with an invalid attribute, an unknown name, a table at its cap. Network input
//! never produces an error from this crate: samples that lack a key simply do not match.

use core::fmt;

/// What kind of text an [`Error::Syntax`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExprKind {
    /// A flow key or key function (`ipsource`, `group:ipsource:dc`, `mask:ipsource:24`).
    Key,
    /// A filter expression (`ipprotocol=6&tcpdestinationport=80`).
    Filter,
    /// A flow value (`bytes`, `count:ipsource`, `avg:ipbytes`).
    Value,
    /// A CIDR prefix of a group (`10.0.0.0/8`).
    Cidr,
}

impl ExprKind {
    /// Lower-case name used in messages: `key`, `filter`, `value`, `cidr`.
    pub const fn name(self) -> &'static str {
        match self {
            ExprKind::Key => "key",
            ExprKind::Filter => "filter",
            ExprKind::Value => "value",
            ExprKind::Cidr => "cidr",
        }
    }
}

/// An error of the flow engine.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// An expression does not parse. `offset` is the byte offset in `input` where parsing
    /// failed.
    Syntax {
        /// Which grammar.
        kind: ExprKind,
        /// The whole expression as given.
        input: String,
        /// Byte offset of the problem in `input`.
        offset: usize,
        /// What was expected or found, e.g. `"expected a value after '='"`.
        reason: String,
    },
    /// An attribute of a definition is invalid (`what` = `flow`, `threshold`, `group`, `map`;
    /// `field` = the attribute, e.g. `t`, `value`, `keys`).
    Invalid {
        /// The kind of object.
        what: &'static str,
        /// The attribute.
        field: String,
        /// Why, e.g. `"must be a number"`.
        reason: String,
    },
    /// A named object does not exist (`what` = `flow`, `threshold`, `group`, `map`, `agent`).
    NotFound {
        /// The kind of object.
        what: &'static str,
        /// Its name.
        name: String,
    },
    /// A table is at its configured cap (`what` names it, `limit` is the cap).
    Limit {
        /// Which table, e.g. `"flow definitions"`.
        what: &'static str,
        /// The configured cap.
        limit: usize,
    },
}

impl Error {
    /// A syntax error at `offset` of `input`.
    pub fn syntax(kind: ExprKind, input: &str, offset: usize, reason: impl Into<String>) -> Self {
        Error::Syntax {
            kind,
            input: input.to_string(),
            offset,
            reason: reason.into(),
        }
    }

    /// An invalid attribute.
    pub fn invalid(
        what: &'static str,
        field: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Error::Invalid {
            what,
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Syntax {
                kind,
                input,
                offset,
                reason,
            } => write!(f, "{} `{input}`: {reason} at offset {offset}", kind.name()),
            Error::Invalid {
                what,
                field,
                reason,
            } => write!(f, "{what}: invalid `{field}`: {reason}"),
            Error::NotFound { what, name } => write!(f, "{what} `{name}` not found"),
            Error::Limit { what, limit } => write!(f, "too many {what} (limit {limit})"),
        }
    }
}

impl std::error::Error for Error {}

/// Result with the crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
