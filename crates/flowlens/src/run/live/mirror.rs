//! `--mirror ADDR`: receives GRE- and ERSPAN-encapsulated mirror copies sent to this host's
//! IPv4 address ADDR (an Open vSwitch mirror into a `type=gre` or `type=erspan` port, a
//! switch's RSPAN-over-GRE or ERSPAN session, Linux `tc mirred` into a gretap or erspan
//! device) and samples every mirrored frame.
//!
//! The socket is a raw IPv4 socket for IP protocol 47 (GRE) bound to ADDR, so it needs root
//! or `CAP_NET_RAW`; Linux hands it each GRE packet addressed to ADDR, IPv4 header included
//! and reassembled. [`flowlens_wire::packet::tunnel::mirror::strip`] removes the outer IPv4, GRE and ERSPAN headers;
//! what is not a mirrored frame is counted in `decodeErrors`, and what the kernel dropped on a
//! full receive buffer (`/proc/net/raw`'s `drops` of the socket, read every second) in
//! `kernelDrops`.
//!
//! Each sample's agent is the outer IPv4 source (the mirroring switch, as an sFlow agent is
//! the switch that samples) and its data source the mirror session: the GRE key or ERSPAN
//! session ID as a class-0 index (`"42"` for GRE key 42), at sampling rate 1 (a mirror
//! copies every packet).

use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use crossbeam_channel::Sender;
use flowlens_engine::DataSource;
use socket2::{Domain, Protocol, Socket, Type};

use super::{send, PacketBatch, SourceInfo, SourceStats, IDLE_WAIT};
use crate::run::core::Input;
use crate::run::ingest::raw_kernel_drops;
use flowlens_wire::packet::tunnel::mirror::{strip, IPPROTO_GRE};

/// Largest IPv4 packet.
const MAX_PACKET: usize = 65_535;
/// Receive buffer asked of the kernel, bytes (capped by `net.core.rmem_max`).
const RCVBUF: usize = 8 << 20;
/// How often the socket's kernel drops are read from `/proc/net/raw` (`kernelDrops`).
const DROPS_EVERY: Duration = Duration::from_secs(1);

/// The bound raw socket, before its thread starts.
#[derive(Debug)]
pub(crate) struct MirrorSource {
    addr: Ipv4Addr,
    socket: Socket,
}

impl MirrorSource {
    /// Opens a raw GRE socket bound to `addr`.
    ///
    /// # Errors
    /// No `CAP_NET_RAW` (not root), or `addr` is not an address of this host.
    pub(crate) fn open(addr: Ipv4Addr) -> Result<MirrorSource> {
        let open = || -> std::io::Result<Socket> {
            let s = Socket::new(
                Domain::IPV4,
                Type::RAW,
                Some(Protocol::from(i32::from(IPPROTO_GRE))),
            )?;
            let _ = s.set_recv_buffer_size(RCVBUF);
            s.bind(&SocketAddr::new(IpAddr::V4(addr), 0).into())?;
            s.set_read_timeout(Some(IDLE_WAIT))?;
            Ok(s)
        };
        let socket = open().with_context(|| {
            format!("--mirror {addr}: cannot receive GRE (needs root or CAP_NET_RAW, and an address of this host)")
        })?;
        Ok(MirrorSource { addr, socket })
    }

    /// This source as `/analyzer/json` lists it, with `stats` as its counters.
    pub(crate) fn info(&self, stats: Arc<SourceStats>) -> SourceInfo {
        SourceInfo {
            kind: "mirror",
            name: self.addr.to_string(),
            data_source: None,
            rate: 1,
            stats,
        }
    }

    /// Starts the receive thread; it stops when `stop` is set or the engine's channel closes.
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
            .name(format!("mirror-{}", self.addr))
            .spawn(move || self.run(&tx, &stats, &stop))
            .context("cannot start a mirror thread")
    }

    fn run(self, tx: &Sender<Input>, stats: &SourceStats, stop: &AtomicBool) {
        let mut buf = vec![0u8; MAX_PACKET];
        let mut batch = PacketBatch::new();
        let mut drops_read = Instant::now();
        while !stop.load(Ordering::Relaxed) {
            if drops_read.elapsed() >= DROPS_EVERY {
                drops_read = Instant::now();
                if let Some(d) = raw_kernel_drops(self.addr, IPPROTO_GRE) {
                    stats.kernel_drops.store(d, Ordering::Relaxed);
                }
            }
            // One read(2) is one datagram: the whole IPv4 packet.
            match (&self.socket).read(&mut buf) {
                Ok(n) => {
                    stats.received.fetch_add(1, Ordering::Relaxed);
                    match strip(buf.get(..n).unwrap_or(&[])) {
                        Ok(m) => {
                            stats.sampled.fetch_add(1, Ordering::Relaxed);
                            let ds = DataSource::new(IpAddr::V4(m.sender), 0, m.session);
                            let len = u32::try_from(m.frame.len()).unwrap_or(u32::MAX);
                            batch.push(ds, 1, m.link, m.frame, len);
                        }
                        Err(_) => {
                            stats.decode_errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    if batch.due() && !send(tx, stats, &mut batch) {
                        return;
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    if !send(tx, stats, &mut batch) {
                        return;
                    }
                }
                Err(_) => {
                    stats.errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        let _ = send(tx, stats, &mut batch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GRE packets sent to a raw socket that nobody reads, with a small receive buffer:
    /// the kernel's drops of that socket are what `raw_kernel_drops` reads.
    #[test]
    fn kernel_drops_of_a_full_raw_socket_are_read() {
        let addr = Ipv4Addr::new(127, 0, 0, 47);
        let Ok(source) = MirrorSource::open(addr) else {
            println!("SKIPPED kernel_drops_of_a_full_raw_socket_are_read: needs CAP_NET_RAW");
            return;
        };
        let _ = source.socket.set_recv_buffer_size(4096);
        assert_eq!(raw_kernel_drops(addr, IPPROTO_GRE), Some(0));
        let tx = Socket::new(
            Domain::IPV4,
            Type::RAW,
            Some(Protocol::from(i32::from(IPPROTO_GRE))),
        )
        .unwrap();
        let to: SocketAddr = SocketAddr::new(IpAddr::V4(addr), 0);
        // GRE header (no key) + 1,000 bytes: the buffer holds a few, the rest are dropped.
        let mut packet = vec![0u8; 1004];
        packet[2..4].copy_from_slice(&0x6558u16.to_be_bytes());
        for _ in 0..200 {
            tx.send_to(&packet, &to.into()).unwrap();
        }
        let drops = raw_kernel_drops(addr, IPPROTO_GRE).unwrap();
        assert!(drops > 100, "{drops}");
    }
}
