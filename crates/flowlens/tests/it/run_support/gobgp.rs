//! A real gobgpd (Debian's `gobgpd` package) peering with `flowlens run --bgp` on loopback:
//! it connects from its own loopback address to flowlens's BGP port (flowlens is passive, as
//! sFlow-RT is), listens for no BGP itself (`port = -1`) and answers the `gobgp` CLI on a
//! gRPC port of its own, so parallel tests do not meet.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value as Json;

/// The BLACKHOLE community (RFC 7999), 65535:666, as gobgp prints it in JSON.
pub(crate) const BLACKHOLE: u64 = 0xFFFF_029A;

/// A free loopback TCP port (the kernel's choice, released at once).
pub(crate) fn free_tcp_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A loopback address of this test process's own, `127.<a>.<pid>.<n>`.
pub(crate) fn own_loopback(a: u8, n: u8) -> Ipv4Addr {
    let pid = std::process::id();
    Ipv4Addr::new(127, a, (pid % 250) as u8 + 1, n)
}

/// Polls `f` every 10 ms until it gives `Some`, failing the test after `within`.
pub(crate) fn poll<T>(within: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < within, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A running gobgpd.
pub(crate) struct Gobgp {
    child: Option<Child>,
    config: PathBuf,
    log: PathBuf,
    api_port: u16,
    /// Its address (the BGP neighbor flowlens configures).
    pub(crate) address: Ipv4Addr,
}

impl Gobgp {
    /// Starts gobgpd in `dir` as AS 65000 from `address`, peering with flowlens at `flowlens`
    /// for IPv4/IPv6 unicast and flow specs.
    pub(crate) fn start(dir: &Path, address: Ipv4Addr, flowlens: SocketAddr) -> Gobgp {
        let config = dir.join("gobgpd.toml");
        let mut families = String::new();
        for f in [
            "ipv4-unicast",
            "ipv6-unicast",
            "ipv4-flowspec",
            "ipv6-flowspec",
        ] {
            families.push_str(&format!(
                "  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      \
                 afi-safi-name = \"{f}\"\n"
            ));
        }
        std::fs::write(
            &config,
            format!(
                "[global.config]\n  as = 65000\n  router-id = \"{address}\"\n  port = -1\n\
                 [[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"{}\"\n    \
                 peer-as = 65000\n  [neighbors.transport.config]\n    remote-port = {}\n    \
                 local-address = \"{address}\"\n  [neighbors.timers.config]\n    \
                 connect-retry = 1\n    hold-time = 9\n    keepalive-interval = 3\n{families}",
                flowlens.ip(),
                flowlens.port()
            ),
        )
        .unwrap();
        let mut g = Gobgp {
            child: None,
            config,
            log: dir.join("gobgpd.log"),
            api_port: free_tcp_port(),
            address,
        };
        g.spawn();
        g
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new("gobgpd")
            .arg("-f")
            .arg(&self.config)
            .arg(format!("--api-hosts=127.0.0.1:{}", self.api_port))
            .args(["--pprof-disable", "-p"])
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("gobgpd (Debian package gobgpd; .ci/run installs it)");
        self.child = Some(child);
    }

    /// Kills gobgpd (SIGKILL: no NOTIFICATION, the kernel closes the connection).
    pub(crate) fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts gobgpd again with the same configuration and ports.
    pub(crate) fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// `gobgp <args> -j` as JSON (`None` while gobgpd does not answer yet).
    pub(crate) fn cli(&self, args: &[&str]) -> Option<Json> {
        let out = Command::new("gobgp")
            .args(["-p", &self.api_port.to_string()])
            .args(args)
            .arg("-j")
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        let text = String::from_utf8_lossy(&out.stdout);
        if text.trim().is_empty() {
            return Some(Json::Null);
        }
        serde_json::from_str(&text).ok()
    }

    /// `gobgp monitor global rib -j`: a child printing one JSON line per RIB change as gobgpd
    /// learns it (stdout piped).
    pub(crate) fn monitor(&self) -> Child {
        Command::new("gobgp")
            .args([
                "-p",
                &self.api_port.to_string(),
                "monitor",
                "global",
                "rib",
                "-j",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }

    /// True when the session with flowlens is Established (gobgp's view).
    pub(crate) fn established(&self) -> bool {
        self.cli(&["neighbor"]).is_some_and(|n| {
            n.as_array().is_some_and(|a| {
                a.iter().any(|p| {
                    p["state"]["session_state"] == 6 || p["state"]["session_state"] == "established"
                })
            })
        })
    }

    /// The RIB of `family` (`ipv4`, `ipv6`, `ipv4-flowspec`, `ipv6-flowspec`): key → paths.
    pub(crate) fn rib(&self, family: &str) -> serde_json::Map<String, Json> {
        self.cli(&["global", "rib", "-a", family])
            .and_then(|v| v.as_object().cloned())
            .unwrap_or_default()
    }

    /// gobgpd's log, for failure messages.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Gobgp {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The path attributes of the best path of `key` in `rib`.
pub(crate) fn attrs<'a>(rib: &'a serde_json::Map<String, Json>, key: &str) -> Option<&'a Json> {
    rib.get(key)?.as_array()?.first()?.get("attrs")
}

/// The standard communities in `attrs` (type 8).
pub(crate) fn communities(attrs: &Json) -> Vec<u64> {
    attrs
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["type"] == 8)
        .flat_map(|a| a["communities"].as_array().cloned().unwrap_or_default())
        .filter_map(|c| c.as_u64())
        .collect()
}
