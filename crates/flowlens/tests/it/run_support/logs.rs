//! Reading the logs of `flowlens run --log-format json` and talking to it as systemd does.

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value as Json;

use super::Server;

/// Every line of `stderr` as JSON (fails the test on a line that is not a JSON object).
pub(crate) fn json_lines(stderr: &str) -> Vec<Json> {
    stderr
        .lines()
        .map(|l| {
            let v: Json = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("log line is not JSON ({e}): {l:?}"));
            assert!(v.is_object(), "log line is not an object: {l}");
            v
        })
        .collect()
}

/// The JSON log lines whose `message` contains `part`.
pub(crate) fn with_message<'a>(lines: &'a [Json], part: &str) -> Vec<&'a Json> {
    lines
        .iter()
        .filter(|l| l["message"].as_str().is_some_and(|m| m.contains(part)))
        .collect()
}

/// The loss summaries (`counter` set) for `counter` in `lines`.
pub(crate) fn loss_lines<'a>(lines: &'a [Json], counter: &str) -> Vec<&'a Json> {
    lines.iter().filter(|l| l["counter"] == counter).collect()
}

/// Polls the server's JSON log until `done(lines)` holds (at most 20 s); returns the lines.
pub(crate) fn wait_log(server: &Server, done: impl Fn(&[Json]) -> bool) -> Vec<Json> {
    let start = Instant::now();
    loop {
        let lines = json_lines(&server.stderr());
        if done(&lines) {
            return lines;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "log condition not met within 20 s: {}",
            server.stderr()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends signal `sig` (`HUP`, `TERM`) to process `pid`.
pub(crate) fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(ok.success(), "kill -{sig} {pid} failed");
}

/// A systemd notification socket made by the test (`NOTIFY_SOCKET`).
pub(crate) struct NotifySocket {
    socket: UnixDatagram,
}

impl NotifySocket {
    /// Binds a datagram socket at `path`.
    pub(crate) fn bind(path: &Path) -> NotifySocket {
        let _ = std::fs::remove_file(path);
        let socket = UnixDatagram::bind(path).unwrap();
        NotifySocket { socket }
    }

    /// The next notification (its `KEY=VALUE` lines), waiting at most `within`; `None` when
    /// none came.
    pub(crate) fn next(&self, within: Duration) -> Option<Vec<String>> {
        self.socket.set_read_timeout(Some(within)).unwrap();
        let mut buf = [0u8; 4096];
        let n = self.socket.recv(&mut buf).ok()?;
        Some(
            String::from_utf8_lossy(&buf[..n])
                .lines()
                .map(str::to_string)
                .collect(),
        )
    }
}
