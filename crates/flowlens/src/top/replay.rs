//! Feeds capture frames into the engine: sFlow, NetFlow/IPFIX datagrams by content, other
//! packets as raw 1-in-1 samples; ticks the engine once per second of capture time. With
//! several engine shards (`--engine-threads`), consecutive datagrams given the same engine
//! time go to the engine as one batch ([`Collector::handle_batch`]), so the answers are those
//! of one datagram at a time.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Result;
use flowlens_engine::{Collector, Engine, Handled};
use flowlens_netflow::{Limits, NetflowSession};
use flowlens_wire::packet::LinkType;
use indicatif::{ProgressBar, ProgressStyle};

use crate::capture::{self, Frame};
use crate::run::{Batch, BATCH_DATAGRAMS};
use crate::shards::Threads;

/// Agent of raw packets (a capture has none).
pub(super) const CAPTURE_AGENT: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);

/// A byte-count progress bar over all input files, drawn only on a terminal.
pub(super) struct Progress(Option<ProgressBar>);

impl Progress {
    pub(super) fn new(files: &[PathBuf], show: bool) -> Progress {
        if !show {
            return Progress(None);
        }
        let total: u64 = files
            .iter()
            .filter_map(|f| std::fs::metadata(f).ok())
            .map(|m| m.len())
            .sum();
        let bar = ProgressBar::new(total);
        if let Ok(style) =
            ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {elapsed} (eta {eta})")
        {
            bar.set_style(style);
        }
        Progress(Some(bar))
    }

    fn inc(&self, n: u64) {
        if let Some(b) = &self.0 {
            b.inc(n);
        }
    }

    pub(super) fn finish(&self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}

/// Replays frames into a [`Collector`], in capture time.
pub(super) struct Replayer {
    collector: Collector,
    now_ms: u64,
    next_tick_ms: u64,
    /// Frames of a link type the walker does not know, and payload files that are not
    /// flow-export datagrams.
    unusable: u64,
    /// The engine's clock is held at the first frame's time ([`Replayer::hold_clock`]).
    hold: bool,
    /// The first frame's capture time, Unix ms (0: none yet).
    first_ms: u64,
    /// Feeds the engine's shards; batches are only made with several.
    threads: Threads,
    /// Datagrams waiting for the shards (at most [`BATCH_DATAGRAMS`], `flowlens run`'s batch).
    pending: Batch,
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_millis() as u64
}

impl Replayer {
    /// A replayer into `engine`, feeding its shards ([`Engine::shards`]) on as many threads.
    pub(super) fn new(engine: Engine) -> Result<Replayer> {
        let session = NetflowSession::new(Limits::default())
            .map_err(|e| anyhow::anyhow!("netflow session: {e}"))?;
        let threads = Threads::new(engine.shards())?;
        Ok(Replayer {
            threads,
            pending: Batch::with_capacity(),
            collector: Collector::new(engine, session),
            now_ms: 0,
            next_tick_ms: 0,
            unusable: 0,
            hold: false,
            first_ms: 0,
        })
    }

    /// Holds the engine's clock at the first frame's time (ticks still run once per second of
    /// capture time, at that time): nothing decays, so each key's variance sum is undecayed,
    /// the error term of its total (`flowlens top --totals`). Smoothed values then mean
    /// nothing; totals do not depend on time.
    pub(super) fn hold_clock(&mut self) {
        self.hold = true;
    }

    /// The time the engine was last given, Unix ms.
    pub(super) fn engine_ms(&self) -> u64 {
        if self.hold {
            self.first_ms
        } else {
            self.now_ms
        }
    }

    /// The engine, for reports.
    pub(super) fn engine(&self) -> &Engine {
        self.collector.engine()
    }

    /// Capture time of the last frame, Unix ms.
    pub(super) fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// `replayed N sFlow datagrams, N NetFlow/IPFIX datagrams, N packets; N errors`.
    pub(super) fn summary(&self) -> String {
        let c = self.collector.stats();
        let errors = c.rejected_datagrams + c.netflow_record_errors + self.unusable;
        format!(
            "replayed {} sFlow datagrams, {} NetFlow/IPFIX datagrams, {} packets; {} errors",
            c.sflow_datagrams, c.netflow_datagrams, c.packets, errors
        )
    }

    /// Replays one file; `at(engine, now_ms, engine_ms)` runs after every frame (for periodic
    /// reports, with `reports`: the engine has then taken every frame so far; `now_ms` is
    /// capture time, `engine_ms` the engine's, see [`Replayer::hold_clock`]).
    pub(super) fn file(
        &mut self,
        path: &Path,
        progress: &Progress,
        reports: bool,
        mut at: impl FnMut(&Engine, u64, u64) -> Result<()>,
    ) -> Result<()> {
        capture::for_each_frame(path, |_, frame| {
            match frame {
                Frame::Captured {
                    linktype,
                    time,
                    data,
                    original_len,
                } => {
                    progress.inc(data.len() as u64 + 16);
                    if let Some(t) = time {
                        self.advance(unix_ms(t));
                    }
                    self.captured(linktype, data, original_len);
                }
                Frame::Payload { data } => {
                    progress.inc(data.len() as u64);
                    self.flush();
                    let now = self.engine_ms();
                    let handled = self.collector.handle_datagram(now, CAPTURE_AGENT, data);
                    if handled == Handled::Unknown {
                        self.unusable += 1;
                    }
                }
                Frame::Received { .. } => {}
            }
            if reports {
                self.flush();
            }
            at(self.collector.engine(), self.now_ms, self.engine_ms())
        })?;
        self.flush();
        Ok(())
    }

    /// Hands the waiting datagrams to the engine as one batch.
    fn flush(&mut self) {
        if self.pending.len() == 0 {
            return;
        }
        let now = self.engine_ms();
        self.collector
            .handle_batch(now, self.pending.iter(), &self.threads);
        self.pending.clear();
    }

    /// Moves the clock forward (never back) and ticks the engine once per second crossed.
    fn advance(&mut self, t_ms: u64) {
        if t_ms <= self.now_ms {
            return;
        }
        // A batch shares one engine time, and ticks see every datagram before them.
        if !self.hold || t_ms >= self.next_tick_ms {
            self.flush();
        }
        self.now_ms = t_ms;
        if self.first_ms == 0 {
            self.first_ms = t_ms;
        }
        if self.next_tick_ms == 0 {
            self.next_tick_ms = t_ms - t_ms % 1000 + 1000;
        }
        // A gap longer than a minute (captures taken years apart, a quiet hour) is crossed
        // with one tick: nothing happens between samples that a tick per second would see.
        if t_ms.saturating_sub(self.next_tick_ms) > 60_000 {
            let at = if self.hold {
                self.first_ms
            } else {
                t_ms - t_ms % 1000
            };
            self.collector.tick_with(at, &self.threads);
            self.next_tick_ms = t_ms - t_ms % 1000 + 1000;
        }
        while self.next_tick_ms <= t_ms {
            let at = if self.hold {
                self.first_ms
            } else {
                self.next_tick_ms
            };
            self.collector.tick_with(at, &self.threads);
            self.next_tick_ms += 1000;
        }
    }

    fn captured(&mut self, linktype: u32, data: &[u8], original_len: u32) {
        let Some(link) = LinkType::from_pcap(linktype) else {
            self.unusable += 1;
            return;
        };
        if self.threads_wanted() {
            if let Some((from, payload)) = self.collector.datagram_in(link, data) {
                self.pending.push(from, payload);
                if self.pending.len() >= BATCH_DATAGRAMS {
                    self.flush();
                }
                return;
            }
            self.flush();
        }
        let now = self.engine_ms();
        self.collector
            .handle_packet(now, CAPTURE_AGENT, link, data, original_len);
    }

    /// Whether datagrams wait for batches (several shards).
    fn threads_wanted(&self) -> bool {
        self.collector.engine().shards() > 1
    }
}
