//! A real BIRD 2 (Debian's `bird2` package) as a passive BGP neighbor of `flowlens run --bgp`
//! on loopback: it listens on its own loopback address and port (`strict bind`), flowlens
//! connects to it (an active neighbor), and a static blackhole route for the RTBH next hop
//! 192.0.2.1 resolves the pushed routes as a real RTBH edge router would. Its control socket
//! is in the test's directory.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A running BIRD.
pub(crate) struct Bird {
    child: Option<Child>,
    config: PathBuf,
    socket: PathBuf,
    log: PathBuf,
    /// Its address.
    pub(crate) address: Ipv4Addr,
    /// Its BGP port.
    pub(crate) port: u16,
}

impl Bird {
    /// Starts BIRD in `dir` as AS 65000 on `address:port`, waiting for flowlens (connecting
    /// from `flowlens`).
    pub(crate) fn start(dir: &Path, address: Ipv4Addr, port: u16, flowlens: Ipv4Addr) -> Bird {
        let config = dir.join("bird.conf");
        std::fs::write(
            &config,
            format!(
                "log stderr all;\nrouter id {address};\nprotocol device {{}}\n\
                 protocol static {{ ipv4; route 192.0.2.1/32 blackhole; }}\n\
                 protocol bgp flowlens {{\n  local {address} port {port} as 65000;\n  \
                 neighbor {flowlens} as 65000;\n  passive on;\n  strict bind on;\n  \
                 hold time 9;\n  ipv4 {{ import all; export none; }};\n}}\n"
            ),
        )
        .unwrap();
        let mut b = Bird {
            child: None,
            socket: dir.join("bird.ctl"),
            log: dir.join("bird.log"),
            config,
            address,
            port,
        };
        b.spawn();
        b
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new("bird")
            .arg("-f")
            .arg("-c")
            .arg(&self.config)
            .arg("-s")
            .arg(&self.socket)
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("bird (Debian package bird2; .ci/run installs it)");
        self.child = Some(child);
    }

    /// Kills BIRD (SIGKILL).
    pub(crate) fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_file(&self.socket);
    }

    /// Starts BIRD again with the same configuration.
    pub(crate) fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// `birdc <args>` output (empty while BIRD does not answer).
    pub(crate) fn birdc(&self, args: &[&str]) -> String {
        Command::new("birdc")
            .arg("-s")
            .arg(&self.socket)
            .args(args)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }

    /// True when the session with flowlens is Established (BIRD's view).
    pub(crate) fn established(&self) -> bool {
        self.birdc(&["show", "protocols", "flowlens"])
            .contains("Established")
    }

    /// `show route all <prefix>`: the route with its attributes, or empty.
    pub(crate) fn route(&self, prefix: &str) -> String {
        let out = self.birdc(&["show", "route", "all", "protocol", "flowlens"]);
        if out.contains(prefix) {
            out
        } else {
            String::new()
        }
    }

    /// BIRD's log, for failure messages.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Bird {
    fn drop(&mut self) {
        self.kill();
    }
}
