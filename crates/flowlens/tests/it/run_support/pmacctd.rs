//! pmacct's `pmacctd` as a real sFlow exporter for the tests: it replays a classic pcap
//! (`pcap_savefile`) through its `sfprobe` plugin, 1-in-1, into a flowlens server, then exits
//! at the end of the file (as `run_pmacct.rs` runs it). pmacctd must be installed
//! (`apt-get install -y pmacct`, see .ci/run): the tests fail, never skip, without it.

use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long pmacctd may take to replay a capture (~3 s: a 2 s start-up sleep, the replay,
/// the flush).
const PMACCT_WITHIN: Duration = Duration::from_secs(60);

/// Replays `pcap` with pmacctd's sfprobe (sampling 1-in-1, agent address `agent`) to
/// `receiver` and waits until pmacctd exited at the end of the file; fails the test when it
/// does not, or reports an error. Returns pmacctd's log. pmacct 1.7.7 never samples the
/// savefile's last frame (see `run_pmacct.rs`): callers account for that.
pub(crate) fn replay_sfprobe(dir: &Path, pcap: &Path, receiver: SocketAddr, agent: &str) -> String {
    let conf = dir.join("pmacctd.conf");
    std::fs::write(
        &conf,
        format!(
            "daemonize: false\npcap_savefile: {}\nplugins: sfprobe[sf]\n\
             sfprobe_receiver[sf]: {receiver}\nsfprobe_agentip[sf]: {agent}\n\
             sampling_rate[sf]: 1\n",
            pcap.display()
        ),
    )
    .unwrap();
    let log_path = dir.join("pmacctd.log");
    let out = std::fs::File::create(&log_path).unwrap();
    let child = Command::new("pmacctd")
        .arg("-f")
        .arg(&conf)
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start pmacctd ({e}): install pmacct (apt-get install -y pmacct)")
        });
    let mut guard = Group(Some(child));
    let start = Instant::now();
    let status = loop {
        if let Some(s) = guard.0.as_mut().unwrap().try_wait().unwrap() {
            guard.0 = None;
            break s;
        }
        assert!(
            start.elapsed() < PMACCT_WITHIN,
            "pmacctd still running after {PMACCT_WITHIN:?}: {}",
            std::fs::read_to_string(&log_path).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let log = std::fs::read_to_string(&log_path).unwrap();
    // Clean exit, or the plugin's exit reached the core first (pmacct 1.7.7 race, see
    // run_pmacct.rs): either way the plugin finished.
    let clean = status.success() && log.contains("OK, Exiting");
    let plugin_first = status.code() == Some(1)
        && log.contains("Shutting down on user request")
        && log.contains("no more plugins active");
    assert!(clean || plugin_first, "pmacctd: {status}: {log}");
    assert!(!log.contains("ERROR"), "pmacctd: {log}");
    assert!(log.contains("Sampling at: 1/1"), "{log}");
    log
}

/// pmacctd's process group, killed when dropped before it exited.
struct Group(Option<Child>);

impl Drop for Group {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", c.id())])
                .status();
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
