//! sFlow-RT's `graphite(host, port|null, {name: value})`: metrics sent to Graphite (carbon)
//! over TCP in its plaintext protocol, one line `name value unix_seconds\n` per metric
//! (Graphite documentation, "Feeding In Your Data", the plaintext protocol).

use std::io::Write as _;
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use crate::{Error, Result};

/// The TCP port when the script passes `null`: 2003, carbon's plaintext receiver.
pub const DEFAULT_PORT: u16 = 2003;

/// The plaintext protocol lines for `metrics`, in the object's order, each
/// `name value unix_secs\n`, and how many metrics were skipped.
///
/// Values: JSON numbers are written as JSON (`42`, `0.5`, `1e300`); strings that parse as a
/// finite number (`" 12.5 "`, `"1e3"`) are written as that number; every other value
/// (boolean, null, array, object, other strings, `"NaN"`, `"inf"`) is skipped and counted.
///
/// Errors: [`Error::Arguments`] (`graphite`) for a name that is empty or contains
/// whitespace (it would break the line format).
pub fn format_lines(metrics: &Map<String, Value>, unix_secs: u64) -> Result<(String, usize)> {
    let mut out = String::with_capacity(metrics.len() * 48);
    let mut skipped = 0;
    for (name, value) in metrics {
        if name.is_empty() || name.chars().any(char::is_whitespace) {
            return Err(Error::Arguments {
                function: "graphite".into(),
                reason: format!("metric name {name:?} must be non-empty without whitespace"),
            });
        }
        let text = match value {
            Value::Number(n) => match n.as_f64() {
                Some(f) if !f.is_finite() => None,
                _ => Some(n.to_string()),
            },
            Value::String(s) => match s.trim().parse::<f64>() {
                Ok(f) if f.is_finite() => Some(f.to_string()),
                _ => None,
            },
            _ => None,
        };
        match text {
            Some(text) => {
                out.push_str(name);
                out.push(' ');
                out.push_str(&text);
                out.push(' ');
                out.push_str(&unix_secs.to_string());
                out.push('\n');
            }
            None => skipped += 1,
        }
    }
    Ok((out, skipped))
}

/// Sends `metrics` (see [`format_lines`]) stamped with `now` (whole seconds since
/// 1970; 0 before) to `host` (IP address or DNS name) at TCP `port` (default
/// [`DEFAULT_PORT`]) and returns how many lines were sent.
///
/// Connects to each address the host resolves to in turn with `timeout` per attempt, writes
/// all lines (each write also limited by `timeout`), then shuts down the write side so the
/// server sees the end. Sends nothing and connects to nothing when there is no line.
/// Name resolution itself is the system resolver's and has its own timeout.
///
/// Errors: [`Error::Arguments`] for a bad name, port 0 or an empty host;
/// [`Error::Action`] (`graphite`), naming the address, when resolving, connecting or
/// writing fails.
pub fn send(
    host: &str,
    port: Option<u16>,
    metrics: &Map<String, Value>,
    now: SystemTime,
    timeout: Duration,
) -> Result<usize> {
    let port = super::port_or("graphite", port, DEFAULT_PORT)?;
    let unix_secs = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (lines, _skipped) = format_lines(metrics, unix_secs)?;
    let count = lines.matches('\n').count();
    if count == 0 {
        return Ok(0);
    }
    let timeout = if timeout.is_zero() {
        Duration::from_millis(1)
    } else {
        timeout
    };
    let mut last_error = None;
    let mut stream = None;
    for addr in super::resolve("graphite", host, port)? {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(s) => {
                stream = Some((addr, s));
                break;
            }
            Err(e) => last_error = Some((addr, e)),
        }
    }
    let Some((addr, mut stream)) = stream else {
        let message = match last_error {
            Some((addr, e)) => format!("cannot connect to {addr}: {}", super::io_text(&e)),
            None => format!("cannot connect to {host}:{port}"),
        };
        return Err(Error::Action {
            action: "graphite",
            message,
        });
    };
    let write_error = |e: std::io::Error| Error::Action {
        action: "graphite",
        message: format!("cannot send to {addr}: {}", super::io_text(&e)),
    };
    stream
        .set_write_timeout(Some(timeout))
        .map_err(write_error)?;
    stream.write_all(lines.as_bytes()).map_err(write_error)?;
    stream.flush().map_err(write_error)?;
    stream.shutdown(Shutdown::Write).map_err(write_error)?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::io::Read as _;
    use std::net::TcpListener;

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn format_lines_exact() {
        let m = map(json!({
            "flowlens.bps": 1250000,
            "flowlens.ratio": 0.5,
            "flowlens.neg": -7,
            "flowlens.text": " 12.5 ",
            "flowlens.exp": "1e3",
            "skip.bool": true,
            "skip.null": null,
            "skip.word": "high",
            "skip.nan": "NaN",
            "skip.inf": "inf",
            "skip.arr": [1],
        }));
        let (lines, skipped) = format_lines(&m, 1_795_000_000).unwrap();
        assert_eq!(
            lines,
            "flowlens.bps 1250000 1795000000\n\
             flowlens.ratio 0.5 1795000000\n\
             flowlens.neg -7 1795000000\n\
             flowlens.text 12.5 1795000000\n\
             flowlens.exp 1000 1795000000\n"
        );
        assert_eq!(skipped, 6);
    }

    #[test]
    fn names_with_whitespace_are_rejected() {
        for name in ["a b", "a\tb", "a\n", ""] {
            let mut m = Map::new();
            m.insert(name.to_owned(), json!(1));
            assert!(
                matches!(
                    format_lines(&m, 0),
                    Err(Error::Arguments { function, .. }) if function == "graphite"
                ),
                "{name:?}"
            );
        }
    }

    #[test]
    fn send_to_a_listener() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut got = String::new();
            conn.read_to_string(&mut got).unwrap();
            got
        });
        let m = map(json!({"a.b": 1, "c": "x", "d": 2.25}));
        let now = UNIX_EPOCH + Duration::from_millis(1_795_000_000_900);
        let sent = send("127.0.0.1", Some(port), &m, now, Duration::from_secs(5)).unwrap();
        assert_eq!(sent, 2);
        let got = server.join().unwrap();
        assert_eq!(got, "a.b 1 1795000000\nd 2.25 1795000000\n");
    }

    #[test]
    fn refused_connection_names_the_address() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let m = map(json!({"a": 1}));
        match send(
            "127.0.0.1",
            Some(port),
            &m,
            SystemTime::now(),
            Duration::from_secs(2),
        ) {
            Err(Error::Action {
                action: "graphite",
                message,
            }) => {
                assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
                assert!(message.contains("refused"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn nothing_to_send_connects_nowhere() {
        let m = map(json!({"a": "word"}));
        // Port 1 on loopback has no listener; no connection is attempted.
        assert_eq!(
            send(
                "127.0.0.1",
                Some(1),
                &m,
                SystemTime::now(),
                Duration::from_secs(1)
            )
            .unwrap(),
            0
        );
        assert!(matches!(
            send(
                "127.0.0.1",
                Some(0),
                &m,
                SystemTime::now(),
                Duration::from_secs(1)
            ),
            Err(Error::Arguments { .. })
        ));
    }
}
