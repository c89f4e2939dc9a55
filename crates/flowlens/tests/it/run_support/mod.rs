//! Helpers for the `flowlens run` tests: start the real binary on loopback ports chosen free
//! by the test, wait until it answers, talk HTTP/1.1 to it, replay captured datagrams, stop it
//! with a signal.

pub(crate) mod bird;
pub(crate) mod clickhouse;
pub(crate) mod gobgp;
pub(crate) mod logs;
pub(crate) mod pmacctd;
pub(crate) mod recorder;
pub(crate) mod rsyslog;
pub(crate) mod seed;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use flowlens_wire::packet::{self, LinkType, WalkConfig};
use serde_json::Value as Json;

/// How long the server may take to answer `/version` after it was started.
const READY_WITHIN: Duration = Duration::from_secs(20);

/// `exporters/<name>` of the test data ([`common::data_file`]: the repository's copy in
/// `testdata/captures/exporters/`, else `../shared/data/exporters/`).
pub(crate) fn exporter_capture(name: &str) -> PathBuf {
    crate::common::data_file(&format!("exporters/{name}"))
}

/// A fresh, empty directory for one test.
pub(crate) fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("flowlens-run-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// An HTTP answer.
#[derive(Debug)]
pub(crate) struct Reply {
    /// Status code.
    pub(crate) status: u16,
    /// Body text.
    pub(crate) body: String,
}

impl Reply {
    /// The body as JSON (fails the test when it is not).
    pub(crate) fn json(&self) -> Json {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }
}

/// Ports for one server: HTTP (TCP) and the three UDP listeners.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ports {
    /// REST API.
    pub(crate) http: SocketAddr,
    /// `--sflow`.
    pub(crate) sflow: SocketAddr,
    /// `--netflow`.
    pub(crate) netflow: SocketAddr,
    /// `--ipfix`.
    pub(crate) ipfix: SocketAddr,
}

impl Ports {
    /// Four loopback ports the kernel reports free (held together while picking, so distinct).
    pub(crate) fn free() -> Ports {
        let lo = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        let t = TcpListener::bind(lo).unwrap();
        let u: Vec<UdpSocket> = (0..3).map(|_| UdpSocket::bind(lo).unwrap()).collect();
        Ports {
            http: t.local_addr().unwrap(),
            sflow: u[0].local_addr().unwrap(),
            netflow: u[1].local_addr().unwrap(),
            ipfix: u[2].local_addr().unwrap(),
        }
    }

    /// The `flowlens run` arguments for these ports and `state_dir`.
    pub(crate) fn args(&self, state_dir: &Path) -> Vec<String> {
        vec![
            "run".into(),
            "--http".into(),
            self.http.to_string(),
            "--sflow".into(),
            self.sflow.to_string(),
            "--netflow".into(),
            self.netflow.to_string(),
            "--ipfix".into(),
            self.ipfix.to_string(),
            "--state-dir".into(),
            state_dir.display().to_string(),
        ]
    }
}

/// A running `flowlens run`.
pub(crate) struct Server {
    child: Option<Child>,
    /// Its ports.
    pub(crate) ports: Ports,
    stderr: Arc<Mutex<String>>,
}

impl Server {
    /// Starts `flowlens run` with `state_dir` on free ports and waits until `/version`
    /// answers. Retries with other ports when one was taken in between.
    pub(crate) fn start(state_dir: &Path) -> Server {
        Server::start_with(state_dir, &[])
    }

    /// [`Server::start`] with more `flowlens run` arguments.
    pub(crate) fn start_with(state_dir: &Path, extra: &[&str]) -> Server {
        for _ in 0..3 {
            let ports = Ports::free();
            let mut args = ports.args(state_dir);
            args.extend(extra.iter().map(ToString::to_string));
            match Server::try_start(ports, &args) {
                Ok(s) => return s,
                Err(err) if err.contains("in use") => continue,
                Err(err) => panic!("flowlens run did not start: {err}"),
            }
        }
        panic!("flowlens run: no free ports after 3 tries");
    }

    /// [`Server::start_with`] with the process's working directory set to `cwd` (scripts
    /// resolve relative program paths against it).
    pub(crate) fn start_in(state_dir: &Path, extra: &[&str], cwd: &Path) -> Server {
        let ports = Ports::free();
        let mut args = ports.args(state_dir);
        args.extend(extra.iter().map(|s| s.to_string()));
        Server::spawn(ports, &args, Some(cwd), &[]).unwrap_or_else(|e| panic!("flowlens run: {e}"))
    }

    /// [`Server::start_with`] run by util-linux's `prlimit` with a descriptor limit of
    /// `nofile` (soft and hard).
    pub(crate) fn start_with_nofile(state_dir: &Path, extra: &[&str], nofile: u64) -> Server {
        let ports = Ports::free();
        let mut args = ports.args(state_dir);
        args.extend(extra.iter().map(|s| s.to_string()));
        let limit = format!("--nofile={nofile}:{nofile}");
        Server::spawn(ports, &args, None, &["prlimit", &limit, "--"])
            .unwrap_or_else(|e| panic!("flowlens run: {e}"))
    }

    /// Starts `flowlens` with exactly `args` (which must make it serve HTTP on `ports.http`)
    /// and waits until `/version` answers; `Err` with its stderr when it exits first.
    pub(crate) fn try_start(ports: Ports, args: &[String]) -> Result<Server, String> {
        Server::spawn(ports, args, None, &[])
    }

    /// [`Server::try_start`] run by `wrapper` (e.g. `ip netns exec NS`): `args` must make it
    /// serve HTTP on `ports.http`, reachable from here.
    pub(crate) fn try_start_wrapped(
        ports: Ports,
        args: &[String],
        wrapper: &[&str],
    ) -> Result<Server, String> {
        Server::spawn(ports, args, None, wrapper)
    }

    /// [`Server::start_with`] with more environment variables (e.g. `NOTIFY_SOCKET`).
    pub(crate) fn start_env(state_dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let ports = Ports::free();
        let mut args = ports.args(state_dir);
        args.extend(extra.iter().map(|s| s.to_string()));
        Server::spawn_env(ports, &args, None, &[], env)
            .unwrap_or_else(|e| panic!("flowlens run: {e}"))
    }

    fn spawn(
        ports: Ports,
        args: &[String],
        cwd: Option<&Path>,
        wrapper: &[&str],
    ) -> Result<Server, String> {
        Server::spawn_env(ports, args, cwd, wrapper, &[])
    }

    fn spawn_env(
        ports: Ports,
        args: &[String],
        cwd: Option<&Path>,
        wrapper: &[&str],
        env: &[(&str, &str)],
    ) -> Result<Server, String> {
        let mut cmd = match wrapper.split_first() {
            Some((program, rest)) => {
                let mut c = Command::new(program);
                c.args(rest).arg(env!("CARGO_BIN_EXE_flowlens"));
                c
            }
            None => Command::new(env!("CARGO_BIN_EXE_flowlens")),
        };
        if let Some(d) = cwd {
            cmd.current_dir(d);
        }
        let mut child = cmd
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn flowlens run");
        let stderr = Arc::new(Mutex::new(String::new()));
        let pipe = child.stderr.take().unwrap();
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        let mut server = Server {
            child: Some(child),
            ports,
            stderr,
        };
        let start = Instant::now();
        loop {
            if let Some(status) = server.child.as_mut().unwrap().try_wait().unwrap() {
                server.child = None;
                // Let the reader thread take the last lines.
                let t = Instant::now();
                while server.stderr().is_empty() && t.elapsed() < Duration::from_secs(2) {
                    std::thread::yield_now();
                }
                return Err(format!("exited with {status}: {}", server.stderr()));
            }
            if let Ok(r) = server.try_request("GET", "/version", None) {
                if r.status == 200 {
                    return Ok(server);
                }
            }
            assert!(
                start.elapsed() < READY_WITHIN,
                "flowlens run not ready after {READY_WITHIN:?}: {}",
                server.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The server's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.as_ref().expect("server running").id()
    }

    /// Everything the server wrote on standard error so far.
    pub(crate) fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Standard error once it holds every one of `needles` (a reader thread copies it, so a
    /// line printed before the server answered may arrive a moment later); panics after
    /// 10 s with what it holds.
    pub(crate) fn stderr_with(&self, needles: &[&str]) -> String {
        let start = Instant::now();
        loop {
            let text = self.stderr();
            if needles.iter().all(|n| text.contains(n)) {
                return text;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "standard error lacks {needles:?}: {text}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends SIGTERM and waits for the exit (at most 20 s); returns the status and stderr.
    pub(crate) fn stop(mut self) -> (ExitStatus, String) {
        let mut child = self.child.take().expect("server running");
        let ok = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success(), "kill -TERM failed");
        let start = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if start.elapsed() > Duration::from_secs(20) {
                let _ = child.kill();
                panic!("flowlens run did not stop on SIGTERM: {}", self.stderr());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        // The pipe closes at exit; give the reader thread a moment to take the last line.
        let t = Instant::now();
        while !self.stderr().contains("stopped") && t.elapsed() < Duration::from_secs(2) {
            std::thread::sleep(Duration::from_millis(10));
        }
        (status, self.stderr())
    }

    /// One request; `Err` when the connection fails.
    pub(crate) fn try_request(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> std::io::Result<Reply> {
        http(self.ports.http, method, path, body, FORM)
    }

    /// One request (fails the test when the connection fails).
    pub(crate) fn request(&self, method: &str, path: &str, body: Option<&str>) -> Reply {
        self.try_request(method, path, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}; server said: {}", self.stderr()))
    }

    /// GET.
    pub(crate) fn get(&self, path: &str) -> Reply {
        self.request("GET", path, None)
    }

    /// GET, expecting 200 and JSON.
    pub(crate) fn get_json(&self, path: &str) -> Json {
        let r = self.get(path);
        assert_eq!(r.status, 200, "GET {path}: {}", r.body);
        r.json()
    }

    /// PUT with a body, sent as curl's `--data` sends it (form content type).
    pub(crate) fn put(&self, path: &str, body: &str) -> Reply {
        self.request("PUT", path, Some(body))
    }

    /// PUT with a body and `Content-Type:application/json`, as the articles' curl commands
    /// send it.
    pub(crate) fn put_json(&self, path: &str, body: &str) -> Reply {
        http(self.ports.http, "PUT", path, Some(body), "application/json")
            .unwrap_or_else(|e| panic!("PUT {path}: {e}; server said: {}", self.stderr()))
    }

    /// DELETE.
    pub(crate) fn delete(&self, path: &str) -> Reply {
        self.request("DELETE", path, None)
    }

    /// Polls `GET path` until `done(json)` holds (at most 20 s); returns the last document.
    pub(crate) fn wait_for(&self, path: &str, done: impl Fn(&Json) -> bool) -> Json {
        let start = Instant::now();
        loop {
            let doc = self.get_json(path);
            if done(&doc) {
                return doc;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "GET {path}: condition not met within 20 s; last: {doc}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// curl's content type for `--data`.
const FORM: &str = "application/x-www-form-urlencoded";

/// A minimal HTTP/1.1 client: one request per connection (`Connection: close`).
pub(crate) fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
    content_type: &str,
) -> std::io::Result<Reply> {
    http_with(addr, method, path, body, content_type, &[])
}

/// [`http`] with more request headers.
pub(crate) fn http_with(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
    content_type: &str,
    headers: &[(&str, &str)],
) -> std::io::Result<Reply> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(330)))?;
    let body = body.unwrap_or("");
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || method == "PUT" {
        req.push_str(&format!(
            "Content-Type: {content_type}\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other(format!("no header end in {text:?}")))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line in {head:?}")))?;
    let chunked = head.lines().any(|l| {
        l.to_ascii_lowercase()
            .starts_with("transfer-encoding: chunked")
    });
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    Ok(Reply { status, body })
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// The UDP payloads of a classic pcap (Ethernet or other link types the walker knows), in
/// capture order.
pub(crate) fn udp_payloads(pcap: &Path) -> Vec<Vec<u8>> {
    let data = std::fs::read(pcap).unwrap();
    assert!(data.len() >= 24, "{}: too short", pcap.display());
    let le = match &data[..4] {
        [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => true,
        [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => false,
        m => panic!("{}: not a classic pcap (magic {m:02x?})", pcap.display()),
    };
    let u32_at = |off: usize| {
        let b: [u8; 4] = data[off..off + 4].try_into().unwrap();
        if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }
    };
    let link = LinkType::from_pcap(u32_at(20) & 0x0fff_ffff).expect("known link type");
    let cfg = WalkConfig::default();
    let mut out = Vec::new();
    let mut off = 24;
    while off + 16 <= data.len() {
        let incl = u32_at(off + 8) as usize;
        off += 16;
        let frame = &data[off..(off + incl).min(data.len())];
        off += incl;
        let walk = packet::walk(link, frame, &cfg);
        if let Some(udp) = walk.outer_udp() {
            out.push(udp.payload.to_vec());
        }
    }
    out
}

/// Sends `payloads` to `to` from one socket, in chunks of `chunk`, calling `settle(sent)`
/// after each chunk (e.g. to wait until the server has received them: no fixed sleeps, and
/// no kernel-buffer overflow however small the receive buffer).
pub(crate) fn send_all(
    to: SocketAddr,
    payloads: &[Vec<u8>],
    chunk: usize,
    mut settle: impl FnMut(usize),
) {
    let sock = UdpSocket::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).unwrap();
    let mut sent = 0;
    for c in payloads.chunks(chunk) {
        for p in c {
            sock.send_to(p, to).unwrap();
        }
        sent += c.len();
        settle(sent);
    }
}
