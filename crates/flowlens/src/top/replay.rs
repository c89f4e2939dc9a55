//! Feeds capture frames into the engine: sFlow, NetFlow/IPFIX datagrams by content, other
//! packets as raw 1-in-1 samples; ticks the engine once per second of capture time.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Result;
use flowlens_engine::Engine;
use flowlens_netflow::{Limits, NetflowRecord, NetflowSession, RecordSink};
use flowlens_wire::packet::{self, LinkType, WalkConfig};
use flowlens_wire::sflow::{self, Datagram};
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

/// Replays frames into an engine.
pub(super) struct Replayer<'e> {
    engine: &'e mut Engine,
    session: NetflowSession,
    cfg: WalkConfig,
    now_ms: u64,
    next_tick_ms: u64,
    sflow: u64,
    netflow: u64,
    packets: u64,
    errors: u64,
}

struct Sink<'a> {
    engine: &'a mut Engine,
    now_ms: u64,
    errors: u64,
}

impl RecordSink for Sink<'_> {
    fn record(&mut self, r: &NetflowRecord<'_, '_>) {
        self.engine.add_netflow_record(self.now_ms, r);
    }
    fn error(&mut self, _e: &flowlens_netflow::Error) {
        self.errors += 1;
    }
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_millis() as u64
}

impl<'e> Replayer<'e> {
    pub(super) fn new(engine: &'e mut Engine) -> Result<Replayer<'e>> {
        Ok(Replayer {
            engine,
            session: NetflowSession::new(Limits::default())
                .map_err(|e| anyhow::anyhow!("netflow session: {e}"))?,
            cfg: WalkConfig::default(),
            now_ms: 0,
            next_tick_ms: 0,
            sflow: 0,
            netflow: 0,
            packets: 0,
            errors: 0,
        })
    }

    /// Capture time of the last frame, Unix ms.
    pub(super) fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// `replayed N sFlow datagrams, N NetFlow/IPFIX datagrams, N packets; N errors`.
    pub(super) fn summary(&self) -> String {
        format!(
            "replayed {} sFlow datagrams, {} NetFlow/IPFIX datagrams, {} packets; {} errors",
            self.sflow, self.netflow, self.packets, self.errors
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
                    if !self.datagram(CAPTURE_AGENT, data) {
                        self.errors += 1;
                    }
                }
                Frame::Received { .. } => {}
            }
            at(self.engine, self.now_ms)
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
            self.engine.tick(t_ms - t_ms % 1000);
            self.next_tick_ms = t_ms - t_ms % 1000 + 1000;
        }
        while self.next_tick_ms <= t_ms {
            self.engine.tick(self.next_tick_ms);
            self.next_tick_ms += 1000;
        }
    }

    fn captured(&mut self, linktype: u32, data: &[u8], original_len: u32) {
        let Some(link) = LinkType::from_pcap(linktype) else {
            self.errors += 1;
            return;
        };
        let walk = packet::walk(link, data, &self.cfg);
        if let Some(udp) = walk.outer_udp() {
            if self.datagram(udp.src_addr, udp.payload) {
                return;
            }
        }
        self.packets += 1;
        self.engine
            .add_packet(self.now_ms, CAPTURE_AGENT, link, data, original_len);
    }

    /// Feeds a UDP payload that is sFlow or NetFlow/IPFIX; false when it is neither.
    fn datagram(&mut self, source: IpAddr, payload: &[u8]) -> bool {
        if sflow::is_sflow_v5(payload) {
            self.sflow += 1;
            match Datagram::parse(payload) {
                Ok(d) => self.engine.add_sflow(self.now_ms, &d),
                Err(_) => self.errors += 1,
            }
            return true;
        }
        if flowlens_netflow::sniff(payload).is_some() {
            self.netflow += 1;
            let mut sink = Sink {
                engine: self.engine,
                now_ms: self.now_ms,
                errors: 0,
            };
            if self
                .session
                .handle(self.now_ms, source, payload, &mut sink)
                .is_err()
            {
                self.errors += 1;
            }
            self.errors += sink.errors;
            return true;
        }
        false
    }
}
