//! A real rsyslog for the tests: Debian's `rsyslogd` in the foreground (`-n`) with its own
//! configuration (`-f`), pid file (`-i`) and work directory in a temp dir, receiving with
//! `imudp` on 127.0.0.1:<free port> only (no imuxsock, no imklog: /dev/log and the system
//! logs are not touched), writing every message it receives to one file, one line per
//! message: facility, severity, HOSTNAME, APP-NAME, programname, the parsed MSG and the raw
//! message as received, tab-separated (the texts JSON-escaped by rsyslog itself, so a line
//! cannot break). Ready once a probe datagram sent by the test shows up in that file. Killed
//! (with its process group) on drop.

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use std::os::unix::process::CommandExt;

/// How long rsyslogd may take to log the probe after it was started.
const READY_WITHIN: Duration = Duration::from_secs(15);

/// One message as rsyslog parsed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Message {
    /// `%syslogfacility%` (16 = local0).
    pub(crate) facility: u8,
    /// `%syslogseverity%` (5 = notice).
    pub(crate) severity: u8,
    /// `%hostname%`.
    pub(crate) hostname: String,
    /// `%app-name%`.
    pub(crate) app_name: String,
    /// `%programname%`.
    pub(crate) programname: String,
    /// `%msg%`, leading spaces removed.
    pub(crate) msg: String,
    /// `%rawmsg%`: the datagram as received.
    pub(crate) raw: String,
}

impl Message {
    /// The `key=value` fields of the MSG, in order (the form flowlens's `syslog()` writes).
    pub(crate) fn fields(&self) -> Vec<(String, String)> {
        self.msg
            .split(' ')
            .filter(|w| !w.is_empty())
            .map(|w| match w.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (w.to_string(), String::new()),
            })
            .collect()
    }

    /// The value of field `key`, if present.
    pub(crate) fn field(&self, key: &str) -> Option<String> {
        self.fields()
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }
}

/// A running rsyslogd.
pub(crate) struct Rsyslog {
    child: Option<Child>,
    /// Where it listens (UDP).
    pub(crate) addr: SocketAddr,
    /// The file every message is written to.
    pub(crate) out: PathBuf,
    log: PathBuf,
}

impl Rsyslog {
    /// Starts rsyslogd in `dir` (created) on a free loopback UDP port and waits until it
    /// logged a probe. Retries on another port when the first was taken in between.
    pub(crate) fn start(dir: &Path) -> Rsyslog {
        std::fs::create_dir_all(dir).unwrap();
        let mut last = String::new();
        for attempt in 0..3 {
            let port = {
                let s = UdpSocket::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).unwrap();
                s.local_addr().unwrap().port()
            };
            let d = dir.join(format!("rsyslog-{attempt}"));
            std::fs::create_dir_all(d.join("work")).unwrap();
            match Rsyslog::try_start(&d, port) {
                Ok(r) => return r,
                Err(e) => last = e,
            }
        }
        panic!("rsyslogd did not become ready: {last}");
    }

    fn try_start(dir: &Path, port: u16) -> Result<Rsyslog, String> {
        let out = dir.join("messages.log");
        let conf = dir.join("rsyslog.conf");
        let pid = dir.join("rsyslogd.pid");
        let log = dir.join("rsyslogd.stderr");
        let template = "%syslogfacility%\\t%syslogseverity%\\t%hostname:::json%\\t\
                        %app-name:::json%\\t%programname:::json%\\t%msg:::json%\\t\
                        %rawmsg:::json%\\n";
        std::fs::write(
            &conf,
            format!(
                "global(workDirectory=\"{work}\")\n\
                 module(load=\"imudp\")\n\
                 input(type=\"imudp\" address=\"127.0.0.1\" port=\"{port}\")\n\
                 template(name=\"flowlens_test\" type=\"string\" string=\"{template}\")\n\
                 *.* action(type=\"omfile\" file=\"{out}\" template=\"flowlens_test\")\n",
                work = dir.join("work").display(),
                out = out.display(),
            ),
        )
        .unwrap();
        let err = std::fs::File::create(&log).unwrap();
        let child = Command::new("rsyslogd")
            .arg("-n")
            .arg("-f")
            .arg(&conf)
            .arg("-i")
            .arg(&pid)
            .stdin(Stdio::null())
            .stdout(err.try_clone().unwrap())
            .stderr(err)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start rsyslogd ({e}): install rsyslog \
                     (apt-get install -y --no-install-recommends rsyslog; see .ci/run)"
                )
            });
        let mut r = Rsyslog {
            child: Some(child),
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            out,
            log,
        };
        // Probe: a datagram of our own, resent until rsyslog wrote it (the first ones may
        // arrive before imudp is bound).
        let probe = format!("ready-probe-{}-{port}", std::process::id());
        let sock = UdpSocket::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).unwrap();
        let start = Instant::now();
        let mut last_send: Option<Instant> = None;
        loop {
            if let Some(status) = r.child.as_mut().unwrap().try_wait().unwrap() {
                r.child = None;
                return Err(format!(
                    "rsyslogd exited with {status}: {}",
                    std::fs::read_to_string(&r.log).unwrap_or_default()
                ));
            }
            if last_send.is_none_or(|t| t.elapsed() > Duration::from_millis(200)) {
                let dgram = format!("<13>1 - flowlens-test probe - - - {probe}");
                let _ = sock.send_to(dgram.as_bytes(), r.addr);
                last_send = Some(Instant::now());
            }
            if r.all_messages().iter().any(|m| m.msg == probe) {
                return Ok(r);
            }
            if start.elapsed() > READY_WITHIN {
                return Err(format!(
                    "no probe logged within {READY_WITHIN:?} on port {port}: {}",
                    std::fs::read_to_string(&r.log).unwrap_or_default()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The UDP port.
    pub(crate) fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Every complete line of the output file, parsed (probes included).
    pub(crate) fn all_messages(&self) -> Vec<Message> {
        let text = std::fs::read_to_string(&self.out).unwrap_or_default();
        let complete = match text.rfind('\n') {
            Some(i) => &text[..=i],
            None => "",
        };
        complete.lines().map(parse_line).collect()
    }

    /// The messages with APP-NAME `app` (e.g. `flowlens`: not the probes).
    pub(crate) fn messages_from(&self, app: &str) -> Vec<Message> {
        self.all_messages()
            .into_iter()
            .filter(|m| m.app_name == app)
            .collect()
    }

    /// Polls the messages with APP-NAME `app` until `done` holds (at most `within`); fails
    /// the test with what arrived otherwise.
    pub(crate) fn wait_for(
        &self,
        app: &str,
        within: Duration,
        done: impl Fn(&[Message]) -> bool,
    ) -> Vec<Message> {
        let start = Instant::now();
        loop {
            let m = self.messages_from(app);
            if done(&m) {
                return m;
            }
            assert!(
                start.elapsed() < within,
                "rsyslog: condition not met within {within:?}; {} messages: {:#?}",
                m.len(),
                &m[..m.len().min(20)]
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// One output line: seven tab-separated fields, the texts JSON-escaped (without quotes).
fn parse_line(line: &str) -> Message {
    let f: Vec<&str> = line.split('\t').collect();
    assert_eq!(f.len(), 7, "rsyslog output line: {line:?}");
    let text = |s: &str| -> String {
        serde_json::from_str::<String>(&format!("\"{s}\""))
            .unwrap_or_else(|e| panic!("rsyslog output field {s:?}: {e}"))
    };
    Message {
        facility: f[0].parse().unwrap(),
        severity: f[1].parse().unwrap(),
        hostname: text(f[2]),
        app_name: text(f[3]),
        programname: text(f[4]),
        msg: text(f[5]).trim_start().to_string(),
        raw: text(f[6]),
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // The group id is the leader's pid, not yet reaped, so it is still ours.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", c.id())])
                .status();
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
