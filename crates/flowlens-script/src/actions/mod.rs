//! What scripts do outside the process: [`syslog`] (UDP, RFC 5424 / RFC 3164), [`graphite`]
//! (plaintext protocol over TCP), [`http`] (an HTTP client with timeouts) and [`cmd`] (run a
//! program, when the operator allows it).
//!
//! Each is plain blocking Rust with no JavaScript in it; the script API ([`crate::ops`])
//! converts arguments and results. Every failure is an [`Error::Action`](crate::Error::Action)
//! (or [`Error::Arguments`](crate::Error::Arguments)) with a one-line reason.
