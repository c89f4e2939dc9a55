//! Feeds capture frames into the engine: sFlow, NetFlow/IPFIX datagrams by content, other
//! packets as raw 1-in-1 samples; ticks the engine once per second of capture time.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Result;
use flowlens_engine::{Collector, Engine, Handled};
use flowlens_netflow::{Limits, NetflowSession};
use flowlens_wire::packet::LinkType;
use indicatif::{ProgressBar, ProgressStyle};

use crate::capture::{self, Frame};

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
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_millis() as u64
}

impl Replayer {
    pub(super) fn new(engine: Engine) -> Result<Replayer> {
        let session = NetflowSession::new(Limits::default())
            .map_err(|e| anyhow::anyhow!("netflow session: {e}"))?;
        Ok(Replayer {
            collector: Collector::new(engine, session),
            now_ms: 0,
            next_tick_ms: 0,
            unusable: 0,
        })
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

    /// Replays one file; `at(engine, now_ms)` runs after every frame (for periodic reports).
    pub(super) fn file(
        &mut self,
        path: &Path,
        progress: &Progress,
        mut at: impl FnMut(&Engine, u64) -> Result<()>,
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
                    let handled = self
                        .collector
                        .handle_datagram(self.now_ms, CAPTURE_AGENT, data);
                    if handled == Handled::Unknown {
                        self.unusable += 1;
                    }
                }
                Frame::Received { .. } => {}
            }
            at(self.collector.engine(), self.now_ms)
        })
    }

    /// Moves the clock forward (never back) and ticks the engine once per second crossed.
    fn advance(&mut self, t_ms: u64) {
        if t_ms <= self.now_ms {
            return;
        }
        self.now_ms = t_ms;
        if self.next_tick_ms == 0 {
            self.next_tick_ms = t_ms - t_ms % 1000 + 1000;
        }
        // A gap longer than a minute (captures taken years apart, a quiet hour) is crossed
        // with one tick: nothing happens between samples that a tick per second would see.
        if t_ms.saturating_sub(self.next_tick_ms) > 60_000 {
            self.collector.tick(t_ms - t_ms % 1000);
            self.next_tick_ms = t_ms - t_ms % 1000 + 1000;
        }
        while self.next_tick_ms <= t_ms {
            self.collector.tick(self.next_tick_ms);
            self.next_tick_ms += 1000;
        }
    }

    fn captured(&mut self, linktype: u32, data: &[u8], original_len: u32) {
        let Some(link) = LinkType::from_pcap(linktype) else {
            self.unusable += 1;
            return;
        };
        self.collector
            .handle_packet(self.now_ms, CAPTURE_AGENT, link, data, original_len);
    }
}
