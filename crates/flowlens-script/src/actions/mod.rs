//! What scripts do outside the process: [`syslog`] (UDP, RFC 5424 / RFC 3164), [`graphite`]
//! (plaintext protocol over TCP), [`http`] (an HTTP client with timeouts) and [`cmd`] (run a
//! program, when the operator allows it).
//!
//! Each is plain blocking Rust with no JavaScript in it; the script API (module `ops`)
//! converts arguments and results. Every failure is an [`Error::Action`](crate::Error::Action)
//! (or [`Error::Arguments`](crate::Error::Arguments)) with a one-line reason.

pub mod cmd;
pub mod graphite;
pub mod http;
pub mod syslog;

/// The port to use: `port`, or `default` when `None`; `Some(0)` is an
/// [`Error::Arguments`](crate::Error::Arguments) of `function`.
fn port_or(function: &'static str, port: Option<u16>, default: u16) -> crate::Result<u16> {
    match port {
        None => Ok(default),
        Some(0) => Err(crate::Error::Arguments {
            function: function.into(),
            reason: "port must be 1 to 65535".to_owned(),
        }),
        Some(p) => Ok(p),
    }
}

/// The text of an I/O error without std's ` (os error N)` suffix, e.g.
/// `No such file or directory`.
fn io_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(at) if text.ends_with(')') => text.get(..at).unwrap_or(&text).to_owned(),
        _ => text,
    }
}

/// Resolves `host` (an IP address, `[v6]` in brackets or not, or a DNS name) and `port`
/// to socket addresses, in the resolver's order.
fn resolve(
    action: &'static str,
    host: &str,
    port: u16,
) -> crate::Result<Vec<std::net::SocketAddr>> {
    use std::net::ToSocketAddrs;
    let trimmed = host.trim();
    let bare = trimmed
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(trimmed);
    if bare.is_empty() {
        return Err(crate::Error::Arguments {
            function: action.into(),
            reason: "host must not be empty".to_owned(),
        });
    }
    let addrs: Vec<_> = (bare, port)
        .to_socket_addrs()
        .map_err(|e| crate::Error::Action {
            action,
            message: format!("cannot resolve {bare}: {}", io_text(&e)),
        })?
        .collect();
    if addrs.is_empty() {
        return Err(crate::Error::Action {
            action,
            message: format!("cannot resolve {bare}: no address"),
        });
    }
    Ok(addrs)
}
