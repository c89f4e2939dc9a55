//! sFlow-RT's `syslog(host, port|null, facility|null, severity|null, obj)`: one UDP datagram
//! per call, in the form of RFC 5424 (default) or RFC 3164.
//!
//! The message text is the object's fields in their order as `key=value` pairs (see
//! [`format_message`]). Sockets are bound on first use (one IPv4, one IPv6, each to an
//! ephemeral port on the unspecified address) and reused for every later message.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use crate::{Error, Result};

/// The syslog message format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// RFC 5424 §6: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME - - - MSG`, the timestamp in
    /// RFC 3339 UTC with milliseconds. The default.
    #[default]
    Rfc5424,
    /// RFC 3164 §4.1 (BSD syslog): `<PRI>Mmm dd hh:mm:ss HOSTNAME APP-NAME: MSG`, the
    /// timestamp in UTC, the day padded with a space (§4.1.2).
    Rfc3164,
}

/// The UDP port when the script passes `null`: 514 (RFC 5426 §3.3, sFlow-RT's default).
pub const DEFAULT_PORT: u16 = 514;
/// The facility when the script passes `null`: 16, local0 (RFC 5424 §6.2.1, sFlow-RT's
/// default).
pub const DEFAULT_FACILITY: u8 = 16;
/// The severity when the script passes `null`: 5, notice (RFC 5424 §6.2.1, sFlow-RT's
/// default).
pub const DEFAULT_SEVERITY: u8 = 5;

/// The largest message sent, in bytes (64 KiB); a longer one is refused, not truncated.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// The last second [`format_message`] can write (9999-12-31T23:59:59Z); later times are
/// written as this one, and times before 1970 as 1970-01-01T00:00:00Z.
const MAX_UNIX_SECS: u64 = 253_402_300_799;

/// A syslog sender: the host's name, the application name, the format and two UDP
/// sockets (IPv4 and IPv6) bound on first use. `Send + Sync`; share it between scripts.
#[derive(Debug)]
pub struct Syslog {
    format: Format,
    hostname: String,
    app_name: String,
    v4: OnceLock<UdpSocket>,
    v6: OnceLock<UdpSocket>,
}

impl Syslog {
    /// A sender writing messages in `format` with APP-NAME `app_name` (e.g. `flowlens`)
    /// and HOSTNAME this host's node name (`uname -n`). Binds nothing yet.
    pub fn new(format: Format, app_name: &str) -> Syslog {
        let hostname = rustix::system::uname()
            .nodename()
            .to_string_lossy()
            .into_owned();
        Syslog {
            format,
            hostname,
            app_name: app_name.to_owned(),
            v4: OnceLock::new(),
            v6: OnceLock::new(),
        }
    }

    /// Sends one datagram with the fields of `fields` (see [`format_message`]) to
    /// `host` (an IP address or DNS name; the first address it resolves to) at UDP `port`
    /// (default [`DEFAULT_PORT`]), with `facility` 0..=23 (default [`DEFAULT_FACILITY`])
    /// and `severity` 0..=7 (default [`DEFAULT_SEVERITY`]), stamped `now`.
    ///
    /// Errors: [`Error::Arguments`] for an out-of-range facility or severity, port 0 or an
    /// empty host; [`Error::Action`] for a message over [`MAX_MESSAGE_BYTES`], a host that
    /// does not resolve or a failed send.
    pub fn send(
        &self,
        host: &str,
        port: Option<u16>,
        facility: Option<u8>,
        severity: Option<u8>,
        fields: &Map<String, Value>,
        now: SystemTime,
    ) -> Result<()> {
        let facility = facility.unwrap_or(DEFAULT_FACILITY);
        if facility > 23 {
            return Err(Error::Arguments {
                function: "syslog".into(),
                reason: format!("facility must be 0 to 23, not {facility}"),
            });
        }
        let severity = severity.unwrap_or(DEFAULT_SEVERITY);
        if severity > 7 {
            return Err(Error::Arguments {
                function: "syslog".into(),
                reason: format!("severity must be 0 to 7, not {severity}"),
            });
        }
        let port = super::port_or("syslog", port, DEFAULT_PORT)?;
        let message = format_message(
            self.format,
            now,
            &self.hostname,
            &self.app_name,
            facility,
            severity,
            fields,
        );
        if message.len() > MAX_MESSAGE_BYTES {
            return Err(Error::Action {
                action: "syslog",
                message: format!(
                    "message of {} bytes is over the limit of {MAX_MESSAGE_BYTES}",
                    message.len()
                ),
            });
        }
        let addrs = super::resolve("syslog", host, port)?;
        let Some(&to) = addrs.first() else {
            return Err(Error::Action {
                action: "syslog",
                message: format!("cannot resolve {host}: no address"),
            });
        };
        let socket = match to {
            SocketAddr::V4(_) => bound(&self.v4, SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0))),
            SocketAddr::V6(_) => bound(&self.v6, SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0))),
        }
        .map_err(|e| Error::Action {
            action: "syslog",
            message: format!("cannot open a UDP socket: {}", super::io_text(&e)),
        })?;
        socket
            .send_to(message.as_bytes(), to)
            .map_err(|e| Error::Action {
                action: "syslog",
                message: format!("cannot send to {to}: {}", super::io_text(&e)),
            })?;
        Ok(())
    }
}

/// The socket in `cell`, bound to `addr` first if it is not yet.
fn bound(cell: &OnceLock<UdpSocket>, addr: SocketAddr) -> std::io::Result<&UdpSocket> {
    if let Some(socket) = cell.get() {
        return Ok(socket);
    }
    // Two threads may race here: one socket wins and the other is dropped.
    let _ = cell.set(UdpSocket::bind(addr)?);
    cell.get()
        .ok_or_else(|| std::io::Error::other("UDP socket not set"))
}

/// The bytes of one syslog message (UTF-8, no trailing newline).
///
/// - [`Format::Rfc5424`] (RFC 5424 §6): `<PRI>1 TIMESTAMP HOSTNAME APP-NAME - - - MSG`,
///   TIMESTAMP RFC 3339 UTC with milliseconds (`2026-11-21T18:00:00.123Z`), PROCID, MSGID
///   and STRUCTURED-DATA `-`.
/// - [`Format::Rfc3164`] (RFC 3164 §4.1): `<PRI>Mmm dd hh:mm:ss HOSTNAME APP-NAME: MSG`,
///   UTC, the day of month padded with a space (`Nov  1`).
///
/// PRI = `facility * 8 + severity` (RFC 5424 §6.2.1); the caller checks the ranges.
/// HOSTNAME and APP-NAME have every character outside printable US-ASCII (33..=126)
/// replaced by `_` and are cut to 255 and 48 characters (RFC 5424 §6.2.4, §6.2.5); an
/// empty one is written `-`. Times before 1970 are written as 1970-01-01T00:00:00Z and
/// times after 9999 as 9999-12-31T23:59:59Z.
///
/// MSG is the fields in their order as `key=value` joined by single spaces: keys as given;
/// strings verbatim; numbers and booleans as JSON; null as empty; arrays and objects as
/// compact JSON. A value that is empty or contains whitespace, `"` or `=` is written in
/// double quotes with `"` and `\` escaped as `\"` and `\\`.
pub fn format_message(
    format: Format,
    now: SystemTime,
    hostname: &str,
    app_name: &str,
    facility: u8,
    severity: u8,
    fields: &Map<String, Value>,
) -> String {
    let pri = u16::from(facility) * 8 + u16::from(severity);
    let hostname = header_field(hostname, 255);
    let app_name = header_field(app_name, 48);
    let timestamp = rfc3339_millis(now);
    let mut out = String::with_capacity(64 + fields.len() * 16);
    match format {
        Format::Rfc5424 => {
            let _ = write!(out, "<{pri}>1 {timestamp} {hostname} {app_name} - - -");
        }
        Format::Rfc3164 => {
            // timestamp is `YYYY-MM-DDTHH:MM:SS.mmmZ`.
            let month = timestamp
                .get(5..7)
                .and_then(|m| m.parse::<usize>().ok())
                .and_then(|m| MONTHS.get(m.wrapping_sub(1)))
                .copied()
                .unwrap_or("Jan");
            let day = timestamp
                .get(8..10)
                .and_then(|d| d.parse::<u8>().ok())
                .unwrap_or(1);
            let time = timestamp.get(11..19).unwrap_or("00:00:00");
            let _ = write!(out, "<{pri}>{month} {day:>2} {time} {hostname} {app_name}:");
        }
    }
    for (key, value) in fields {
        out.push(' ');
        out.push_str(key);
        out.push('=');
        write_value(&mut out, value);
    }
    out
}

/// Month abbreviations of RFC 3164 §4.1.2.
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `now` as RFC 3339 UTC with milliseconds, clamped to 1970..=9999.
fn rfc3339_millis(now: SystemTime) -> String {
    let since = now.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    let since = if since.as_secs() > MAX_UNIX_SECS {
        Duration::from_secs(MAX_UNIX_SECS)
    } else {
        since
    };
    humantime::format_rfc3339_millis(UNIX_EPOCH + since).to_string()
}

/// A header field: printable US-ASCII only, at most `max` characters, `-` when empty.
fn header_field(text: &str, max: usize) -> String {
    let field: String = text
        .chars()
        .take(max)
        .map(|c| if ('!'..='~').contains(&c) { c } else { '_' })
        .collect();
    if field.is_empty() {
        "-".to_owned()
    } else {
        field
    }
}

/// Appends `value` as the value of a `key=value` pair, quoted when it must be.
fn write_value(out: &mut String, value: &Value) {
    let text = match value {
        Value::String(s) => std::borrow::Cow::Borrowed(s.as_str()),
        Value::Null => std::borrow::Cow::Borrowed(""),
        other => std::borrow::Cow::Owned(other.to_string()),
    };
    let quote = text.is_empty()
        || text
            .chars()
            .any(|c| c.is_whitespace() || c == '"' || c == '=');
    if !quote {
        out.push_str(&text);
        return;
    }
    out.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// 2026-11-01T18:00:00.123Z and 2026-11-21T18:00:00.123Z.
    fn nov(day: u64) -> SystemTime {
        // 2026-11-01T00:00:00Z = 1793491200.
        UNIX_EPOCH
            + Duration::from_millis((1_793_491_200 + (day - 1) * 86_400 + 18 * 3600) * 1000 + 123)
    }

    fn fields(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn rfc5424_exact() {
        let f = fields(json!({"event": "ddos", "bps": 1250000, "ok": true, "agent": "10.0.0.1"}));
        let msg = format_message(Format::Rfc5424, nov(21), "probe1", "flowlens", 16, 5, &f);
        assert_eq!(
            msg,
            "<133>1 2026-11-21T18:00:00.123Z probe1 flowlens - - - event=ddos bps=1250000 ok=true agent=10.0.0.1"
        );
    }

    #[test]
    fn rfc3164_exact_with_space_padded_day() {
        let f = fields(json!({"a": 1}));
        let msg = format_message(Format::Rfc3164, nov(1), "probe1", "flowlens", 16, 5, &f);
        assert_eq!(msg, "<133>Nov  1 18:00:00 probe1 flowlens: a=1");
        let msg = format_message(Format::Rfc3164, nov(21), "probe1", "flowlens", 0, 0, &f);
        assert_eq!(msg, "<0>Nov 21 18:00:00 probe1 flowlens: a=1");
    }

    #[test]
    fn pri_arithmetic() {
        let f = Map::new();
        let pri = |fac, sev| {
            let msg = format_message(Format::Rfc5424, nov(1), "h", "a", fac, sev, &f);
            msg.split('>').next().unwrap_or_default().to_owned()
        };
        assert_eq!(pri(16, 5), "<133");
        assert_eq!(pri(0, 0), "<0");
        assert_eq!(pri(23, 7), "<191");
        assert_eq!(pri(4, 2), "<34");
    }

    #[test]
    fn quoting_rules() {
        let f = fields(json!({
            "plain": "abc",
            "space": "a b",
            "quote": "say \"hi\"",
            "eq": "a=b",
            "empty": "",
            "null": null,
            "backslash_only": "a\\b",
            "both": "c:\\ x",
            "arr": [1, "x"],
            "nums": [1, 2],
            "obj": {"k": 2},
            "float": 1.5,
            "neg": -3,
        }));
        let msg = format_message(Format::Rfc5424, nov(1), "h", "a", 16, 5, &f);
        let body = msg.split(" - - - ").nth(1).unwrap_or_default();
        assert_eq!(
            body,
            "plain=abc space=\"a b\" quote=\"say \\\"hi\\\"\" eq=\"a=b\" empty=\"\" null=\"\" \
             backslash_only=a\\b both=\"c:\\\\ x\" arr=\"[1,\\\"x\\\"]\" nums=[1,2] obj=\"{\\\"k\\\":2}\" float=1.5 neg=-3"
        );
    }

    #[test]
    fn header_fields_sanitized_and_times_clamped() {
        let f = Map::new();
        let msg = format_message(
            Format::Rfc5424,
            UNIX_EPOCH - Duration::from_secs(5),
            "",
            "my app",
            1,
            1,
            &f,
        );
        assert_eq!(msg, "<9>1 1970-01-01T00:00:00.000Z - my_app - - -");
        let far = UNIX_EPOCH + Duration::from_secs(400_000_000_000);
        let msg = format_message(Format::Rfc3164, far, "h", "a", 1, 1, &f);
        assert_eq!(msg, "<9>Dec 31 23:59:59 h a:");
    }

    #[test]
    fn send_reaches_a_udp_socket() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
        server
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap_or_else(|e| panic!("timeout: {e}"));
        let port = server.local_addr().map(|a| a.port()).unwrap_or(0);
        let syslog = Syslog::new(Format::Rfc5424, "flowlens");
        let f = fields(json!({"event": "up", "n": 2}));
        syslog
            .send("127.0.0.1", Some(port), None, None, &f, nov(21))
            .unwrap_or_else(|e| panic!("send: {e}"));
        let mut buf = [0u8; 2048];
        let (n, _) = server
            .recv_from(&mut buf)
            .unwrap_or_else(|e| panic!("recv: {e}"));
        let got = String::from_utf8_lossy(buf.get(..n).unwrap_or_default()).into_owned();
        let want = format_message(
            Format::Rfc5424,
            nov(21),
            &syslog.hostname,
            "flowlens",
            16,
            5,
            &f,
        );
        assert_eq!(got, want);
        assert!(got.starts_with("<133>1 2026-11-21T18:00:00.123Z "), "{got}");
        assert!(got.ends_with(" flowlens - - - event=up n=2"), "{got}");

        // The socket is reused, and facility/severity are applied.
        syslog
            .send("127.0.0.1", Some(port), Some(4), Some(2), &f, nov(21))
            .unwrap_or_else(|e| panic!("send: {e}"));
        let (n, _) = server
            .recv_from(&mut buf)
            .unwrap_or_else(|e| panic!("recv: {e}"));
        assert!(buf.get(..n).unwrap_or_default().starts_with(b"<34>1 "));
    }

    #[test]
    fn send_over_ipv6_when_the_host_has_it() {
        // Hosts without IPv6 loopback cannot bind [::1]; there is nothing to test there.
        let Ok(server) = UdpSocket::bind("[::1]:0") else {
            return;
        };
        server
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let port = server.local_addr().unwrap().port();
        let syslog = Syslog::new(Format::Rfc3164, "flowlens");
        let f = fields(json!({"v": 6}));
        syslog
            .send("[::1]", Some(port), Some(1), Some(6), &f, nov(1))
            .unwrap();
        let mut buf = [0u8; 2048];
        let (n, _) = server.recv_from(&mut buf).unwrap();
        let got = String::from_utf8_lossy(&buf[..n]).into_owned();
        assert!(got.starts_with("<14>Nov  1 18:00:00 "), "{got}");
        assert!(got.ends_with(" flowlens: v=6"), "{got}");
    }

    #[test]
    fn bad_arguments() {
        let syslog = Syslog::new(Format::Rfc3164, "flowlens");
        let f = Map::new();
        let now = nov(1);
        for (fac, sev) in [(Some(24), None), (None, Some(8)), (Some(255), Some(255))] {
            match syslog.send("127.0.0.1", Some(9), fac, sev, &f, now) {
                Err(Error::Arguments { function, .. }) if function == "syslog" => {}
                other => panic!("{fac:?}/{sev:?}: {other:?}"),
            }
        }
        assert!(matches!(
            syslog.send("127.0.0.1", Some(0), None, None, &f, now),
            Err(Error::Arguments { .. })
        ));
        assert!(matches!(
            syslog.send("", None, None, None, &f, now),
            Err(Error::Arguments { .. })
        ));
    }

    #[test]
    fn oversized_and_unresolvable_are_action_errors() {
        let syslog = Syslog::new(Format::Rfc5424, "flowlens");
        let big = fields(json!({"x": "y".repeat(MAX_MESSAGE_BYTES)}));
        match syslog.send("127.0.0.1", Some(9), None, None, &big, nov(1)) {
            Err(Error::Action {
                action: "syslog",
                message,
            }) => {
                assert!(message.contains("over the limit"), "{message}")
            }
            other => panic!("{other:?}"),
        }
        match syslog.send(
            "no-such-host.invalid",
            None,
            None,
            None,
            &Map::new(),
            nov(1),
        ) {
            Err(Error::Action {
                action: "syslog",
                message,
            }) => {
                assert!(message.contains("no-such-host.invalid"), "{message}")
            }
            other => panic!("{other:?}"),
        }
    }
}
