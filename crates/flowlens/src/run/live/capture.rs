//! `--pcap IFACE[:N]`: captures on a network interface through libpcap (the `pcap` crate)
//! and samples 1 in N of its packets ([`super::Sampler`], random as sFlow samples).
//!
//! The capture is opened at startup (so a missing interface or a missing `CAP_NET_RAW` is a
//! one-line startup error), promiscuous (a SPAN port's copies are addressed to other hosts),
//! in immediate mode (each packet is delivered as it arrives) and non-blocking: libpcap's
//! read timeout never ends a wait on an idle Linux interface, so the thread reads until
//! nothing is waiting, sends what it holds, and looks again after [`IDLE_POLL`] (so it also
//! sees the stop flag), with a snap length of
//! [`SNAPLEN`] bytes: enough for Ethernet, two VLAN tags, an IPv6 header with extension
//! headers, a tunnel and the inner headers, while the length on the wire still counts the
//! bytes. Both directions of the interface are captured, as `tcpdump -i` does.
//!
//! Each sample's agent is 0.0.0.0 ([`super::CAPTURE_AGENT`], as `flowlens top` names its
//! captures) and its data source the interface's ifIndex (sFlow data source class 0, as
//! Host sFlow's `pcap` module names the interfaces it samples), so `/activeflows` and
//! `/agents/json` show the interface as data source `"<ifIndex>"`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use anyhow::{bail, Context, Result};
use crossbeam_channel::Sender;
use flowlens_engine::DataSource;
use flowlens_wire::packet::LinkType;

use super::{send, PacketBatch, Sampler, SourceInfo, SourceStats, CAPTURE_AGENT};
use crate::run::core::Input;

/// Bytes of each packet captured.
pub(crate) const SNAPLEN: i32 = 256;
/// Kernel buffer asked of libpcap, bytes.
const BUFFER_BYTES: i32 = 4 << 20;
/// How long the thread rests when no packet is waiting (see the module docs): the most a
/// packet waits in the kernel after a quiet spell.
const IDLE_POLL: std::time::Duration = std::time::Duration::from_millis(5);
/// Packets between two reads of libpcap's drop counters while the interface is busy (they
/// are read whenever it goes quiet too).
const DROPS_EVERY: u64 = 1024;
/// Largest 1-in-N rate accepted.
const MAX_RATE: u32 = 1 << 24;

/// `IFACE` or `IFACE:N`, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PcapSpec {
    /// The interface name.
    pub(crate) iface: String,
    /// 1-in-N sampling (1: every packet).
    pub(crate) rate: u32,
}

impl PcapSpec {
    /// Parses `IFACE` or `IFACE:N` (N from 1 to 2^24).
    ///
    /// # Errors
    /// An empty interface name, or N not a number in range.
    pub(crate) fn parse(s: &str) -> Result<PcapSpec> {
        let (iface, rate) = match s.rsplit_once(':') {
            Some((i, n)) => {
                let rate: u32 = n
                    .parse()
                    .ok()
                    .filter(|r| (1..=MAX_RATE).contains(r))
                    .with_context(|| {
                        format!("--pcap {s}: sampling rate must be 1 to {MAX_RATE}, not {n:?}")
                    })?;
                (i, rate)
            }
            None => (s, 1),
        };
        if iface.is_empty() {
            bail!("--pcap {s}: no interface name");
        }
        Ok(PcapSpec {
            iface: iface.into(),
            rate,
        })
    }
}

/// An open capture, before its thread starts.
pub(crate) struct PcapSource {
    spec: PcapSpec,
    ifindex: u32,
    link: LinkType,
    cap: pcap::Capture<pcap::Active>,
}

impl std::fmt::Debug for PcapSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PcapSource")
            .field("spec", &self.spec)
            .field("ifindex", &self.ifindex)
            .finish_non_exhaustive()
    }
}

impl PcapSource {
    /// Opens the capture of `spec`.
    ///
    /// # Errors
    /// The interface does not exist, the capture cannot be opened (no `CAP_NET_RAW`), or its
    /// link type is not one the header walker reads; the message names the interface.
    pub(crate) fn open(spec: PcapSpec) -> Result<PcapSource> {
        let iface = &spec.iface;
        let ifindex = nix::net::if_::if_nametoindex(iface.as_str())
            .with_context(|| format!("--pcap {iface}: no such interface"))?;
        let cap = pcap::Capture::from_device(iface.as_str())
            .and_then(|c| {
                c.promisc(true)
                    .snaplen(SNAPLEN)
                    .immediate_mode(true)
                    .buffer_size(BUFFER_BYTES)
                    .open()
                    .and_then(pcap::Capture::setnonblock)
            })
            .with_context(|| {
                format!("--pcap {iface}: cannot capture (needs root or CAP_NET_RAW)")
            })?;
        let dlt = cap.get_datalink().0;
        let link = u32::try_from(dlt)
            .ok()
            .and_then(LinkType::from_pcap)
            .with_context(|| format!("--pcap {iface}: unsupported link type {dlt}"))?;
        Ok(PcapSource {
            spec,
            ifindex,
            link,
            cap,
        })
    }

    /// This source as `/analyzer/json` lists it, with `stats` as its counters.
    pub(crate) fn info(&self, stats: Arc<SourceStats>) -> SourceInfo {
        SourceInfo {
            kind: "pcap",
            name: self.spec.iface.clone(),
            data_source: Some(self.ifindex),
            rate: self.spec.rate,
            stats,
        }
    }

    /// Starts the capture thread; it stops when `stop` is set or the engine's channel closes.
    ///
    /// # Errors
    /// The thread cannot be spawned.
    pub(crate) fn spawn(
        self,
        tx: Sender<Input>,
        stats: Arc<SourceStats>,
        stop: Arc<AtomicBool>,
    ) -> Result<JoinHandle<()>> {
        std::thread::Builder::new()
            .name(format!("pcap-{}", self.spec.iface))
            .spawn(move || self.run(&tx, &stats, &stop))
            .context("cannot start a capture thread")
    }

    fn run(mut self, tx: &Sender<Input>, stats: &SourceStats, stop: &AtomicBool) {
        let ds = DataSource::new(CAPTURE_AGENT, 0, self.ifindex);
        let rate = self.spec.rate;
        let mut sampler = Sampler::new(rate, super::seed());
        let mut batch = PacketBatch::new();
        let mut received = 0u64;
        while !stop.load(Ordering::Relaxed) {
            match self.cap.next_packet() {
                Ok(p) => {
                    received += 1;
                    stats.received.fetch_add(1, Ordering::Relaxed);
                    if sampler.take() {
                        stats.sampled.fetch_add(1, Ordering::Relaxed);
                        batch.push(ds, rate, self.link, p.data, p.header.len);
                    }
                    if batch.due() && !send(tx, stats, &mut batch) {
                        return;
                    }
                    if received % DROPS_EVERY == 0 {
                        self.update_drops(stats);
                    }
                }
                // Non-blocking: nothing waiting.
                Err(pcap::Error::TimeoutExpired) => {
                    if !send(tx, stats, &mut batch) {
                        return;
                    }
                    self.update_drops(stats);
                    std::thread::sleep(IDLE_POLL);
                }
                Err(e) => {
                    stats.errors.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(interface = %self.spec.iface, "capture stopped: {e}");
                    break;
                }
            }
        }
        let _ = send(tx, stats, &mut batch);
    }

    /// Copies libpcap's kernel drop counters into `stats`.
    fn update_drops(&mut self, stats: &SourceStats) {
        if let Ok(s) = self.cap.stats() {
            stats.kernel_drops.store(
                u64::from(s.dropped) + u64::from(s.if_dropped),
                Ordering::Relaxed,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        assert_eq!(
            PcapSpec::parse("eth0").unwrap(),
            PcapSpec {
                iface: "eth0".into(),
                rate: 1
            }
        );
        assert_eq!(PcapSpec::parse("veth-a:100").unwrap().rate, 100);
        for (bad, why) in [
            ("", "no interface name"),
            (":10", "no interface name"),
            ("eth0:0", "sampling rate must be 1 to"),
            ("eth0:x", "sampling rate must be 1 to"),
            ("eth0:16777217", "sampling rate must be 1 to"),
        ] {
            let e = PcapSpec::parse(bad).unwrap_err().to_string();
            assert!(e.starts_with(&format!("--pcap {bad}: {why}")), "{bad}: {e}");
        }
    }
}
