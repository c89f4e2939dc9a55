//! `flowlens run --replay FILE [--loop]`: feeds the UDP datagrams of a capture into the live
//! engine at capture speed, as if its exporters sent them now.
//!
//! One thread reads the capture ([`crate::capture`]), finds each frame's UDP payload, waits
//! until the frame's offset from the first frame has passed on the wall clock, and hands the
//! datagram, with the sender address the capture shows, to the engine thread over the same
//! channel the receive threads use ([`super::ingest`]). The engine stamps it with its own
//! clock, so a replayed datagram is indistinguishable from a received one. Frames that carry
//! no UDP datagram are skipped. With `--loop` the capture starts again when it ends.
//!
//! Unlike a socket, a replay never drops: it waits for room in the engine's queue.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context, Result};
use crossbeam_channel::{SendTimeoutError, Sender};
use flowlens_wire::packet::{self, LinkType, WalkConfig};

use super::core::Input;
use super::ingest::Batch;
use crate::capture::{self, FileKind, Frame};

/// Longest single wait: how soon the thread sees the stop flag.
const STOP_CHECK: Duration = Duration::from_millis(200);

/// A capture to replay.
#[derive(Clone, Debug)]
pub(crate) struct Replay {
    /// The pcap or pcapng file.
    pub(crate) path: PathBuf,
    /// Start again at the end.
    pub(crate) looped: bool,
}

/// Why a pass over the capture ended early.
#[derive(Debug)]
struct Stopped;

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stopped")
    }
}

impl std::error::Error for Stopped {}

impl Replay {
    /// Checks that the file opens and is a capture (before any thread starts, so a wrong
    /// path is a one-line startup error).
    ///
    /// # Errors
    /// The file cannot be read or is not a pcap or pcapng capture.
    pub(crate) fn check(&self) -> Result<()> {
        use std::io::Read;
        let mut head = [0u8; 4];
        let mut f = std::fs::File::open(&self.path)
            .with_context(|| format!("cannot open replay file {}", self.path.display()))?;
        let n = f
            .read(&mut head)
            .with_context(|| format!("cannot read replay file {}", self.path.display()))?;
        if capture::file_kind(head.get(..n).unwrap_or(&[])) == FileKind::Payload {
            bail!(
                "replay file {} is not a pcap or pcapng capture",
                self.path.display()
            );
        }
        Ok(())
    }

    /// Starts the replay thread. It ends at the end of the capture (without `--loop`), when
    /// `stop` is set, or when the engine's channel closes; a read error is reported on
    /// standard error and ends it.
    ///
    /// # Errors
    /// The thread cannot be spawned.
    pub(crate) fn spawn(self, tx: Sender<Input>, stop: Arc<AtomicBool>) -> Result<JoinHandle<()>> {
        std::thread::Builder::new()
            .name("replay".into())
            .spawn(move || {
                let mut passes = 0u64;
                loop {
                    match pass(&self.path, &tx, &stop) {
                        Ok(()) => passes += 1,
                        Err(e) if e.is::<Stopped>() => return,
                        Err(e) => {
                            tracing::error!(replay = %self.path.display(), "replay: {e:#}");
                            return;
                        }
                    }
                    if !self.looped {
                        tracing::info!(
                            replay = %self.path.display(),
                            "replay of {} finished",
                            self.path.display()
                        );
                        return;
                    }
                    if passes == 1 {
                        tracing::info!(
                            replay = %self.path.display(),
                            "replay of {} looping",
                            self.path.display()
                        );
                    }
                }
            })
            .context("cannot start the replay thread")
    }
}

/// One pass over the capture at capture speed.
fn pass(path: &Path, tx: &Sender<Input>, stop: &AtomicBool) -> Result<()> {
    let cfg = WalkConfig::default();
    let start = Instant::now();
    let mut first: Option<SystemTime> = None;
    let mut last_offset = Duration::ZERO;
    capture::for_each_frame(path, |_, frame| {
        let Frame::Captured {
            linktype,
            time,
            data,
            ..
        } = frame
        else {
            return Ok(());
        };
        // Frames without a time (or going back in time) go out with the previous one.
        if let Some(t) = time {
            let t0 = *first.get_or_insert(t);
            last_offset = last_offset.max(t.duration_since(t0).unwrap_or(Duration::ZERO));
        }
        wait_until(start + last_offset, stop)?;
        let Some(link) = LinkType::from_pcap(linktype) else {
            return Ok(());
        };
        let walk = packet::walk(link, data, &cfg);
        if let Some(udp) = walk.outer_udp() {
            send(tx, udp.src_addr, udp.payload, stop)?;
        }
        Ok(())
    })
}

/// Sleeps until `due`, in steps short enough to notice `stop`.
fn wait_until(due: Instant, stop: &AtomicBool) -> Result<()> {
    loop {
        if stop.load(Ordering::Relaxed) {
            return Err(Stopped.into());
        }
        let left = due.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(());
        }
        std::thread::sleep(left.min(STOP_CHECK));
    }
}

/// Hands one datagram to the engine thread, waiting for room.
fn send(tx: &Sender<Input>, from: IpAddr, payload: &[u8], stop: &AtomicBool) -> Result<()> {
    let mut batch = Batch::with_capacity();
    batch.push(from, payload);
    loop {
        match tx.send_timeout(Input::Datagrams(batch), STOP_CHECK) {
            Ok(()) => return Ok(()),
            Err(SendTimeoutError::Timeout(b)) => {
                if stop.load(Ordering::Relaxed) {
                    return Err(Stopped.into());
                }
                let Input::Datagrams(b) = b else {
                    return Err(Stopped.into());
                };
                batch = b;
            }
            Err(SendTimeoutError::Disconnected(_)) => return Err(Stopped.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shipped demo capture (`testdata/PROVENANCE.md`).
    fn demo() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/sflow-ovs-br0.pcap")
    }

    #[test]
    fn checks_the_file_before_starting() {
        let ok = Replay {
            path: demo(),
            looped: false,
        };
        assert!(ok.check().is_ok());
        let not_capture = Replay {
            path: Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"),
            looped: false,
        };
        let e = not_capture.check().unwrap_err().to_string();
        assert!(e.contains("not a pcap"), "{e}");
        let missing = Replay {
            path: PathBuf::from("/nonexistent/x.pcap"),
            looped: false,
        };
        let e = missing.check().unwrap_err();
        assert!(
            format!("{e:#}").starts_with("cannot open replay file /nonexistent/x.pcap: "),
            "{e:#}"
        );
    }

    #[test]
    fn stops_when_asked() {
        let (tx, rx) = crossbeam_channel::bounded(1);
        let stop = Arc::new(AtomicBool::new(false));
        let r = Replay {
            path: demo(),
            looped: true,
        };
        let t = r.spawn(tx, Arc::clone(&stop)).unwrap();
        // The first datagram goes out at once (offset 0), from the capture's agent.
        let Input::Datagrams(b) = rx.recv_timeout(Duration::from_secs(10)).unwrap() else {
            panic!("a replay sends datagrams");
        };
        let (from, payload) = b.iter().next().unwrap();
        assert_eq!(from, IpAddr::from([127, 0, 0, 1]));
        assert!(flowlens_wire::sflow::is_sflow_v5(payload));
        stop.store(true, Ordering::Relaxed);
        t.join().unwrap();
    }
}
