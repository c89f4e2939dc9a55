//! Live packet sources of `flowlens run`: `--pcap IFACE[:N]` ([`capture`], libpcap through
//! the `pcap` crate) and `--mirror ADDR` ([`mirror`], GRE/ERSPAN mirror copies on a raw
//! socket, decapsulated by [`flowlens_wire::packet::tunnel::mirror::strip`]).
//!
//! Each source has one thread of its own. It turns packets into samples (a frame, its link
//! type, its length on the wire, its sampling rate and its [`DataSource`]) in a
//! [`PacketBatch`] and hands full batches to the engine thread over the channel the UDP
//! receive threads use ([`super::core::Input::Packets`]), so there is still one engine. Like
//! the receive threads it never blocks on the engine: a batch that finds the queue full is
//! dropped and counted ([`SourceStats::dropped`]). The engine thread feeds each sample to
//! [`flowlens_engine::Collector::handle_sampled_packet`].
//!
//! Every source's counters ([`SourceStats`]) are in `/analyzer/json` (`packetSources`, and
//! totals) and `/prometheus/analyzer/txt`.

pub(crate) mod capture;
pub(crate) mod mirror;

use std::net::IpAddr;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Sender, TrySendError};
use flowlens_engine::DataSource;
use flowlens_wire::packet::LinkType;
use serde_json::{json, Value as Json};

use super::core::Input;

/// Samples per batch at most.
const BATCH_PACKETS: usize = 64;
/// The longest a sample waits in a batch for more before the batch is sent.
const BATCH_WAIT: Duration = Duration::from_millis(2);
/// How long a source's receive call waits for a packet: how soon its thread notices the stop
/// flag and sends a batch held while the source went quiet.
const IDLE_WAIT: Duration = Duration::from_millis(100);

/// One packet sample of a [`PacketBatch`].
#[derive(Clone, Debug)]
struct Item {
    ds: DataSource,
    rate: u32,
    link: LinkType,
    /// Extent of the frame in the batch's buffer.
    range: Range<usize>,
    /// The frame's length on the wire, bytes.
    original_len: u32,
}

/// Packet samples of one source, in arrival order: the frames back to back in one buffer.
#[derive(Debug)]
pub(crate) struct PacketBatch {
    data: Vec<u8>,
    items: Vec<Item>,
    /// When the first sample went in.
    first_at: Option<Instant>,
}

/// A packet sample as the engine thread takes it from a [`PacketBatch`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sample<'a> {
    /// Agent and data source.
    pub(crate) ds: DataSource,
    /// 1-in-`rate` sampling.
    pub(crate) rate: u32,
    /// Link type of `frame`.
    pub(crate) link: LinkType,
    /// The frame as captured (possibly cut at the snap length).
    pub(crate) frame: &'a [u8],
    /// Its length on the wire, bytes.
    pub(crate) original_len: u32,
}

impl PacketBatch {
    fn new() -> PacketBatch {
        PacketBatch {
            data: Vec::with_capacity(BATCH_PACKETS * 256),
            items: Vec::with_capacity(BATCH_PACKETS),
            first_at: None,
        }
    }

    fn push(&mut self, ds: DataSource, rate: u32, link: LinkType, frame: &[u8], original_len: u32) {
        let start = self.data.len();
        self.data.extend_from_slice(frame);
        self.items.push(Item {
            ds,
            rate,
            link,
            range: start..self.data.len(),
            original_len,
        });
        self.first_at.get_or_insert_with(Instant::now);
    }

    /// Samples in the batch.
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// When the first sample was pushed (`None` while empty): the time the samples count at.
    pub(crate) fn received_at(&self) -> Option<Instant> {
        self.first_at
    }

    /// The samples.
    pub(crate) fn iter(&self) -> impl Iterator<Item = Sample<'_>> + '_ {
        self.items.iter().map(|i| Sample {
            ds: i.ds,
            rate: i.rate,
            link: i.link,
            frame: self.data.get(i.range.clone()).unwrap_or(&[]),
            original_len: i.original_len,
        })
    }

    /// Full, or its first sample waited [`BATCH_WAIT`].
    fn due(&self) -> bool {
        self.items.len() >= BATCH_PACKETS
            || self.first_at.is_some_and(|t| t.elapsed() >= BATCH_WAIT)
    }
}

/// What one packet source counted (read by `/analyzer/json` while it runs).
#[derive(Debug, Default)]
pub(crate) struct SourceStats {
    /// Packets received from the kernel (all of them, before sampling).
    pub(crate) received: AtomicU64,
    /// Packets taken as samples (1 in N of those received).
    pub(crate) sampled: AtomicU64,
    /// Samples dropped because the engine's queue was full.
    pub(crate) dropped: AtomicU64,
    /// Packets the kernel dropped before the source could read them (libpcap's `ps_drop`,
    /// plus `ps_ifdrop` where the driver reports it); 0 for a mirror, whose socket drops show
    /// in `/proc/net/snmp` only.
    pub(crate) kernel_drops: AtomicU64,
    /// Packets that are not a usable sample: a mirror packet that is not GRE/ERSPAN or whose
    /// headers are malformed, a capture of an unsupported link type.
    pub(crate) decode_errors: AtomicU64,
    /// Receive errors of the socket or capture.
    pub(crate) errors: AtomicU64,
}

/// One packet source as `/analyzer/json` lists it.
#[derive(Debug)]
pub(crate) struct SourceInfo {
    /// `pcap` or `mirror`.
    pub(crate) kind: &'static str,
    /// The interface (`pcap`) or the bound address (`mirror`).
    pub(crate) name: String,
    /// The data source samples get: the ifIndex of the interface; a mirror's is per packet.
    pub(crate) data_source: Option<u32>,
    /// 1-in-N sampling.
    pub(crate) rate: u32,
    /// Its live counters.
    pub(crate) stats: std::sync::Arc<SourceStats>,
}

impl SourceInfo {
    /// This source's entry of `packetSources`.
    pub(crate) fn to_json(&self) -> Json {
        let s = &self.stats;
        let n = |c: &AtomicU64| c.load(Ordering::Relaxed);
        json!({
            "type": self.kind,
            "name": self.name,
            "dataSource": self.data_source.map(|d| d.to_string()),
            "samplingRate": self.rate,
            "packetsReceived": n(&s.received),
            "packetsSampled": n(&s.sampled),
            "packetsDropped": n(&s.dropped),
            "kernelDrops": n(&s.kernel_drops),
            "decodeErrors": n(&s.decode_errors),
            "receiveErrors": n(&s.errors),
        })
    }
}

/// The totals over `sources` and each source's entry, added to an `/analyzer/json` object:
/// `packetsReceived`, `packetsSampled`, `packetsDropped` (engine queue full),
/// `packetKernelDrops`, `packetDecodeErrors` and `packetSources`.
pub(crate) fn add_to(sources: &[SourceInfo], doc: &mut Json) {
    let total = |f: fn(&SourceStats) -> &AtomicU64| -> u64 {
        sources
            .iter()
            .map(|s| f(&s.stats).load(Ordering::Relaxed))
            .sum()
    };
    if let Some(o) = doc.as_object_mut() {
        o.insert("packetsReceived".into(), json!(total(|s| &s.received)));
        o.insert("packetsSampled".into(), json!(total(|s| &s.sampled)));
        o.insert("packetsDropped".into(), json!(total(|s| &s.dropped)));
        o.insert(
            "packetKernelDrops".into(),
            json!(total(|s| &s.kernel_drops)),
        );
        o.insert(
            "packetDecodeErrors".into(),
            json!(total(|s| &s.decode_errors)),
        );
        o.insert(
            "packetSources".into(),
            Json::Array(sources.iter().map(SourceInfo::to_json).collect()),
        );
    }
}

/// 1-in-N random sampling as sFlow specifies it (sFlow v5, section 4.2.2 "Sampling"): after
/// each sample the number of packets to skip is drawn afresh, uniformly from 1 to 2N − 1 (mean
/// N), so the sampled packets follow no pattern of the traffic. N = 1 takes every packet.
#[derive(Debug)]
pub(crate) struct Sampler {
    rate: u32,
    skip: u32,
    /// xorshift64* state: sampling needs no cryptographic randomness.
    state: u64,
}

impl Sampler {
    /// A sampler of 1 in `rate` (0 is taken as 1), seeded from `seed`.
    pub(crate) fn new(rate: u32, seed: u64) -> Sampler {
        let mut s = Sampler {
            rate: rate.max(1),
            skip: 0,
            state: seed | 1,
        };
        s.skip = s.next_skip();
        s
    }

    fn next_skip(&mut self) -> u32 {
        if self.rate == 1 {
            return 1;
        }
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        let r = self.state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32;
        let span = 2 * u64::from(self.rate) - 1;
        // r < 2^32, so the result is at most span.
        u32::try_from(1 + r % span).unwrap_or(self.rate)
    }

    /// Whether to take the next packet.
    pub(crate) fn take(&mut self) -> bool {
        self.skip -= 1;
        if self.skip == 0 {
            self.skip = self.next_skip();
            true
        } else {
            false
        }
    }
}

/// A seed for a [`Sampler`]: the clock's nanoseconds and the thread.
fn seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

/// Hands `batch` to the engine thread without waiting (a full queue drops it, counted in
/// `stats`); false when the engine is gone.
fn send(tx: &Sender<Input>, stats: &SourceStats, batch: &mut PacketBatch) -> bool {
    if batch.len() == 0 {
        return true;
    }
    let full = std::mem::replace(batch, PacketBatch::new());
    let n = full.len() as u64;
    match tx.try_send(Input::Packets(full)) {
        Ok(()) => true,
        Err(TrySendError::Full(_)) => {
            stats.dropped.fetch_add(n, Ordering::Relaxed);
            true
        }
        Err(TrySendError::Disconnected(_)) => false,
    }
}

/// A packet source opened at startup, before its thread starts, with its counters.
#[derive(Debug)]
pub(crate) enum Open {
    /// `--pcap`.
    Pcap(capture::PcapSource, std::sync::Arc<SourceStats>),
    /// `--mirror`.
    Mirror(mirror::MirrorSource, std::sync::Arc<SourceStats>),
}

impl Open {
    /// The source as `/analyzer/json` lists it.
    pub(crate) fn info(&self) -> SourceInfo {
        match self {
            Open::Pcap(p, s) => p.info(std::sync::Arc::clone(s)),
            Open::Mirror(m, s) => m.info(std::sync::Arc::clone(s)),
        }
    }

    /// Starts the source's thread; it stops when `stop` is set or the engine's channel
    /// closes.
    ///
    /// # Errors
    /// The thread cannot be spawned.
    pub(crate) fn spawn(
        self,
        tx: Sender<Input>,
        stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    ) -> anyhow::Result<std::thread::JoinHandle<()>> {
        match self {
            Open::Pcap(p, s) => p.spawn(tx, s, stop),
            Open::Mirror(m, s) => m.spawn(tx, s, stop),
        }
    }
}

/// Opens every `--pcap` (`IFACE[:N]`) and `--mirror` source, in that order.
///
/// # Errors
/// A spec does not parse, or a capture or socket cannot be opened (one line naming it).
pub(crate) fn open(pcap: &[String], mirror: &[std::net::Ipv4Addr]) -> anyhow::Result<Vec<Open>> {
    let mut out = Vec::new();
    for spec in pcap {
        let spec = capture::PcapSpec::parse(spec)?;
        out.push(Open::Pcap(
            capture::PcapSource::open(spec)?,
            Default::default(),
        ));
    }
    for addr in mirror {
        out.push(Open::Mirror(
            mirror::MirrorSource::open(*addr)?,
            Default::default(),
        ));
    }
    Ok(out)
}

/// The agent of interface captures: 0.0.0.0, as `flowlens top` names its captures (this
/// host itself, never a real exporter's address).
pub(crate) const CAPTURE_AGENT: IpAddr = IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_in_one_takes_all() {
        let mut s = Sampler::new(1, 7);
        assert!((0..1000).all(|_| s.take()));
    }

    #[test]
    fn one_in_n_mean_and_spread() {
        let mut s = Sampler::new(10, 12345);
        let n = 100_000;
        let taken = (0..n).filter(|_| s.take()).count();
        // Mean skip 10: 10,000 expected; the skips' variance gives a standard deviation of
        // about 55 samples, so ±500 is far outside chance.
        assert!((9_500..=10_500).contains(&taken), "{taken}");
        // Random, not every 10th: gaps other than 10 occur.
        let mut s = Sampler::new(10, 99);
        let mut gaps = std::collections::BTreeSet::new();
        let mut last = 0;
        for i in 1..10_000 {
            if s.take() {
                gaps.insert(i - last);
                last = i;
            }
        }
        assert!(
            gaps.len() > 10 && gaps.iter().all(|g| (1..=19).contains(g)),
            "{gaps:?}"
        );
    }
}
