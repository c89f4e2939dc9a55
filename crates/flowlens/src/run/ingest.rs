//! UDP ingest of `flowlens run`: one socket and one receive thread per listening address, or
//! `--workers` of them sharing the address with `SO_REUSEPORT`.
//!
//! Each thread receives datagrams into a [`Batch`] (one contiguous buffer plus the sender and
//! extent of each datagram) and hands full batches to the engine thread over a bounded
//! channel. It never blocks on the engine: when the channel is full the batch is dropped and
//! its datagrams are counted in [`SocketStats::dropped`], so loss is visible in
//! `/analyzer/json` instead of silent. Nothing here looks inside a datagram. While sFlow
//! forwarding is set, each batch is also offered, without waiting, to [`Forwarding`].
//!
//! Receiving is batched too: one `recvmmsg(2)` takes every datagram waiting, up to a batch
//! ([`Receiver`]).
//!
//! Batching: a receive waits at most [`IDLE_WAIT`] while the batch is empty (so the thread
//! notices shutdown), and at most [`BATCH_WAIT`] once it holds a datagram; a batch is sent when
//! it holds [`BATCH_DATAGRAMS`] datagrams or when the socket goes quiet for [`BATCH_WAIT`].

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use std::io::IoSliceMut;

use anyhow::{Context, Result};
use crossbeam_channel::{Sender, TrySendError};
use nix::sys::socket::{recvmmsg, MsgFlags, MultiHeaders, SockaddrStorage};
use socket2::{Domain, Protocol, Socket, Type};

use super::core::Input;
use super::forward::Forwarding;

/// Largest UDP payload.
const MAX_DATAGRAM_BYTES: usize = 65_535;
/// Datagrams per batch at most.
pub(crate) const BATCH_DATAGRAMS: usize = 64;
/// Receive timeout while the batch is empty: how soon a thread sees the stop flag.
const IDLE_WAIT: Duration = Duration::from_millis(200);
/// Receive timeout once the batch holds a datagram: the most a datagram waits in a batch
/// after the socket went quiet.
const BATCH_WAIT: Duration = Duration::from_millis(2);

/// Datagrams received on one socket, in arrival order.
#[derive(Clone, Debug, Default)]
pub(crate) struct Batch {
    /// The payloads, back to back.
    data: Vec<u8>,
    /// Sender and extent in `data` of each datagram.
    items: Vec<(IpAddr, Range<usize>)>,
    /// When its first datagram was taken from the socket (the samples' time).
    first_at: Option<Instant>,
}

impl Batch {
    /// An empty batch with room for a full batch of typical (MTU-sized) datagrams.
    pub(crate) fn with_capacity() -> Batch {
        Batch {
            data: Vec::with_capacity(BATCH_DATAGRAMS * 1500),
            items: Vec::with_capacity(BATCH_DATAGRAMS),
            first_at: None,
        }
    }

    /// Appends one datagram from `from`; the first one stamps the batch with the time now.
    pub(crate) fn push(&mut self, from: IpAddr, payload: &[u8]) {
        let start = self.data.len();
        self.data.extend_from_slice(payload);
        self.items.push((from, start..self.data.len()));
        self.first_at.get_or_insert_with(Instant::now);
    }

    /// Empties the batch, keeping its room.
    pub(crate) fn clear(&mut self) {
        self.data.clear();
        self.items.clear();
        self.first_at = None;
    }

    /// When the first datagram was pushed (`None` while empty): the time its samples count
    /// at, however long the batch then waits for the engine thread.
    pub(crate) fn received_at(&self) -> Option<Instant> {
        self.first_at
    }

    /// Datagrams in the batch.
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// Each datagram's sender and payload.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (IpAddr, &[u8])> + '_ {
        self.items
            .iter()
            .map(|(ip, r)| (*ip, self.data.get(r.clone()).unwrap_or(&[])))
    }
}

/// What one receive thread counted (read by `/analyzer/json` while it runs).
#[derive(Debug, Default)]
pub(crate) struct SocketStats {
    /// Datagrams received.
    pub(crate) datagrams: AtomicU64,
    /// Payload bytes received.
    pub(crate) bytes: AtomicU64,
    /// Datagrams dropped because the engine's queue was full.
    pub(crate) dropped: AtomicU64,
    /// Receive errors other than timeouts.
    pub(crate) errors: AtomicU64,
}

/// One bound UDP socket, before its thread starts.
#[derive(Debug)]
pub(crate) struct Listener {
    /// What the operator called it (`sflow`, `netflow`, `ipfix`).
    pub(crate) name: &'static str,
    /// The bound address.
    pub(crate) local: SocketAddr,
    /// The receive buffer the kernel granted, bytes.
    pub(crate) rcvbuf: usize,
    socket: UdpSocket,
}

impl Listener {
    /// Binds `workers` sockets to `addr` (with `SO_REUSEPORT` when more than one, so the
    /// kernel spreads exporters over them, each exporter's datagrams staying on one socket
    /// and so in order), each with a receive buffer of (at most) `rcvbuf` bytes.
    ///
    /// # Errors
    /// The address cannot be bound (in use, no permission, not local); the message names the
    /// listener and address in one line.
    pub(crate) fn bind_group(
        name: &'static str,
        addr: SocketAddr,
        rcvbuf: usize,
        workers: usize,
    ) -> Result<Vec<Listener>> {
        let reuse = workers > 1;
        let first = Listener::bind(name, addr, rcvbuf, reuse)?;
        // Port 0 picked a port: the others join that one.
        let addr = first.local;
        let mut group = vec![first];
        for _ in 1..workers {
            group.push(Listener::bind(name, addr, rcvbuf, reuse)?);
        }
        Ok(group)
    }

    /// Binds `addr` with a receive buffer of (at most) `rcvbuf` bytes.
    ///
    /// # Errors
    /// The address cannot be bound (in use, no permission, not local); the message names the
    /// listener and address in one line.
    pub(crate) fn bind(
        name: &'static str,
        addr: SocketAddr,
        rcvbuf: usize,
        reuse_port: bool,
    ) -> Result<Listener> {
        let bind = || -> std::io::Result<(UdpSocket, usize)> {
            let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
            if reuse_port {
                socket.set_reuse_port(true)?;
            }
            // A buffer the kernel refuses to grow is not fatal: the granted size is reported.
            let _ = socket.set_recv_buffer_size(rcvbuf);
            let granted = socket.recv_buffer_size().unwrap_or(0);
            socket.bind(&addr.into())?;
            let socket: UdpSocket = socket.into();
            socket.set_read_timeout(Some(IDLE_WAIT))?;
            Ok((socket, granted))
        };
        let (socket, granted) =
            bind().with_context(|| format!("cannot listen for {name} on UDP {addr}"))?;
        let local = socket.local_addr().unwrap_or(addr);
        Ok(Listener {
            name,
            local,
            rcvbuf: granted,
            socket,
        })
    }

    /// Starts the receive thread. It stops when `stop` is set or the engine's channel closes.
    ///
    /// # Errors
    /// The thread cannot be spawned.
    pub(crate) fn spawn(
        self,
        tx: Sender<Input>,
        stats: Arc<SocketStats>,
        stop: Arc<AtomicBool>,
        forward: Arc<Forwarding>,
    ) -> Result<JoinHandle<()>> {
        std::thread::Builder::new()
            .name(format!("recv-{}", self.name))
            .spawn(move || {
                let out = Out {
                    tx: &tx,
                    stats: &stats,
                    forward: &forward,
                };
                receive(&self.socket, &out, &stop);
            })
            .context("cannot start a receive thread")
    }
}

/// Where a receive thread's batches go: the engine, and a copy to the forwarding.
struct Out<'a> {
    tx: &'a Sender<Input>,
    stats: &'a SocketStats,
    forward: &'a Forwarding,
}

/// The receive loop (see the module docs).
fn receive(socket: &UdpSocket, out: &Out<'_>, stop: &AtomicBool) {
    let stats = out.stats;
    let mut rx = Receiver::new();
    let mut batch = Batch::with_capacity();
    let mut waiting_short = false;
    while !stop.load(Ordering::Relaxed) {
        let wait = if batch.len() == 0 {
            IDLE_WAIT
        } else {
            BATCH_WAIT
        };
        if waiting_short != (wait == BATCH_WAIT) {
            waiting_short = wait == BATCH_WAIT;
            if socket.set_read_timeout(Some(wait)).is_err() {
                stats.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
        let room = BATCH_DATAGRAMS.saturating_sub(batch.len()).max(1);
        match rx.receive(socket, room, &mut batch) {
            Ok(n) => {
                stats.datagrams.fetch_add(n.datagrams, Ordering::Relaxed);
                stats.bytes.fetch_add(n.bytes, Ordering::Relaxed);
                if batch.len() >= BATCH_DATAGRAMS && !send(out, &mut batch) {
                    return;
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                if batch.len() > 0 && !send(out, &mut batch) {
                    return;
                }
            }
            Err(_) => {
                // ICMP errors surfacing on the socket, interrupted calls: count and go on.
                stats.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    let _ = send(out, &mut batch);
}

/// What one receive call took off the socket.
#[derive(Clone, Copy, Debug, Default)]
struct Received {
    datagrams: u64,
    bytes: u64,
}

/// Batched receiving: one `recvmmsg(2)` call (nix's safe wrapper) takes up to
/// [`BATCH_DATAGRAMS`] datagrams, blocking (up to the socket's read timeout) only for the
/// first (`MSG_WAITFORONE`). Each datagram has its own [`MAX_DATAGRAM_BYTES`] buffer, so
/// none is truncated.
struct Receiver {
    bufs: Vec<u8>,
    headers: MultiHeaders<SockaddrStorage>,
    got: Vec<(usize, Option<IpAddr>)>,
}

impl Receiver {
    fn new() -> Receiver {
        Receiver {
            bufs: vec![0u8; BATCH_DATAGRAMS * MAX_DATAGRAM_BYTES],
            headers: MultiHeaders::preallocate(BATCH_DATAGRAMS, None),
            got: Vec::with_capacity(BATCH_DATAGRAMS),
        }
    }

    /// Receives up to `room` datagrams into `batch`.
    ///
    /// # Errors
    /// The socket's: `WouldBlock`/`TimedOut` when nothing arrived within its read timeout.
    fn receive(
        &mut self,
        socket: &UdpSocket,
        room: usize,
        batch: &mut Batch,
    ) -> std::io::Result<Received> {
        use std::os::fd::AsRawFd;
        self.got.clear();
        {
            let mut slices: Vec<[IoSliceMut<'_>; 1]> = self
                .bufs
                .chunks_mut(MAX_DATAGRAM_BYTES)
                .take(room.min(BATCH_DATAGRAMS))
                .map(|c| [IoSliceMut::new(c)])
                .collect();
            let results = recvmmsg(
                socket.as_raw_fd(),
                &mut self.headers,
                slices.iter_mut(),
                MsgFlags::MSG_WAITFORONE,
                None,
            )
            .map_err(std::io::Error::from)?;
            for r in results {
                let from = r.address.and_then(|a| {
                    a.as_sockaddr_in()
                        .map(|v4| IpAddr::V4(v4.ip()))
                        .or_else(|| a.as_sockaddr_in6().map(|v6| IpAddr::V6(v6.ip())))
                });
                self.got.push((r.bytes, from));
            }
        }
        let mut n = Received::default();
        for (i, &(len, from)) in self.got.iter().enumerate() {
            let start = i * MAX_DATAGRAM_BYTES;
            let payload = self
                .bufs
                .get(start..start + len.min(MAX_DATAGRAM_BYTES))
                .unwrap_or(&[]);
            let from = from.unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
            batch.push(from, payload);
            n.datagrams += 1;
            n.bytes += len as u64;
        }
        Ok(n)
    }
}

/// Datagrams the kernel dropped on UDP sockets bound to `local` because their receive buffer
/// was full (the `drops` column of Linux's `/proc/net/udp` or `/proc/net/udp6`, summed over
/// the sockets bound there); `None` where that is not available.
pub(crate) fn kernel_drops(local: SocketAddr) -> Option<u64> {
    let (file, addr) = match local.ip() {
        IpAddr::V4(ip) => (
            "/proc/net/udp",
            format!("{:08X}", u32::from_ne_bytes(ip.octets())),
        ),
        IpAddr::V6(ip) => (
            "/proc/net/udp6",
            ip.octets()
                .chunks_exact(4)
                .map(|c| {
                    let word = <[u8; 4]>::try_from(c).map_or(0, u32::from_ne_bytes);
                    format!("{word:08X}")
                })
                .collect(),
        ),
    };
    let text = std::fs::read_to_string(file).ok()?;
    proc_net_drops(&text, &format!("{addr}:{:04X}", local.port()))
}

/// Packets the kernel dropped on raw IPv4 sockets for IP protocol `protocol` bound to `addr`
/// because their receive buffer was full (the `drops` column of `/proc/net/raw`, whose
/// "port" is the protocol number, summed over those sockets); `None` where that is not
/// available.
pub(crate) fn raw_kernel_drops(addr: std::net::Ipv4Addr, protocol: u8) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/net/raw").ok()?;
    let want = format!("{:08X}:{:04X}", u32::from_ne_bytes(addr.octets()), protocol);
    proc_net_drops(&text, &want)
}

/// The summed `drops` of the `/proc/net/udp` (or `raw`) lines whose local address is `want`.
fn proc_net_drops(text: &str, want: &str) -> Option<u64> {
    let mut found = None;
    for line in text.lines().skip(1) {
        let mut fields = line.split_whitespace();
        if fields.nth(1) != Some(want) {
            continue;
        }
        let drops: u64 = fields.last()?.parse().ok()?;
        found = Some(found.unwrap_or(0) + drops);
    }
    found
}

/// Offers the forwarding a copy, then hands the batch to the engine, neither waiting; false
/// when the engine is gone.
fn send(out: &Out<'_>, batch: &mut Batch) -> bool {
    if batch.len() == 0 {
        return true;
    }
    out.forward.offer(batch);
    let full = std::mem::replace(batch, Batch::with_capacity());
    let n = full.len() as u64;
    match out.tx.try_send(Input::Datagrams(full)) {
        Ok(()) => true,
        Err(TrySendError::Full(_)) => {
            out.stats.dropped.fetch_add(n, Ordering::Relaxed);
            true
        }
        Err(TrySendError::Disconnected(_)) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A batch is stamped by its first datagram and keeps that time; cleared, it has none.
    #[test]
    fn a_batch_is_stamped_by_its_first_datagram() {
        let from = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
        let mut b = Batch::with_capacity();
        assert_eq!(b.received_at(), None);
        let before = Instant::now();
        b.push(from, b"one");
        let first = b.received_at().expect("stamped");
        assert!(first >= before);
        b.push(from, b"two");
        assert_eq!(b.received_at(), Some(first));
        b.clear();
        assert_eq!(b.received_at(), None);
        b.push(from, b"three");
        assert!(b.received_at() >= Some(first));
    }

    #[test]
    fn drops_from_proc_net_udp() {
        let text =
            "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   \
                    uid  timeout inode ref pointer drops\n\
            1: 0100007F:18BF 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        \
            0 12345 2 0000000000000000 17\n\
            2: 00000000:0807 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        \
            0 12346 2 0000000000000000 0\n";
        assert_eq!(proc_net_drops(text, "0100007F:18BF"), Some(17));
        assert_eq!(proc_net_drops(text, "00000000:0807"), Some(0));
        assert_eq!(proc_net_drops(text, "00000000:18BF"), None);
    }

    #[test]
    fn own_socket_is_found() {
        let l = Listener::bind("t", "127.0.0.1:0".parse().unwrap(), 1 << 16, false).unwrap();
        if std::path::Path::new("/proc/net/udp").exists() {
            assert_eq!(kernel_drops(l.local), Some(0));
        }
    }
}
