//! `flowlens decode --listen`: datagrams from a UDP socket instead of files.
//!
//! A debugging aid in the spirit of `sflowtool -p`: one socket, one thread, blocking receives
//! with a short timeout so `--duration` is honoured. The collector proper (many sockets,
//! batched receives, bounded queues) is `flowlens run`.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result};

use crate::capture::Frame;

/// Largest UDP payload.
const MAX_DATAGRAM_BYTES: usize = 65_535;

/// Receives on `addr` and calls `on_frame(n, frame)` per datagram, `n` from 1, until `count`
/// datagrams or `duration` have passed (whichever first; neither = forever).
///
/// # Errors
/// The socket cannot be bound (address in use, no permission) or a receive fails; or
/// `on_frame` failed.
pub(crate) fn for_each_datagram(
    addr: SocketAddr,
    count: Option<u64>,
    duration: Option<Duration>,
    mut on_frame: impl FnMut(u64, Frame<'_>) -> Result<()>,
) -> Result<()> {
    let socket = UdpSocket::bind(addr).with_context(|| format!("cannot listen on UDP {addr}"))?;
    let local = socket.local_addr().context("local address")?;
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .context("socket timeout")?;
    // Tells a person (or a test) that datagrams can be sent now, and which port port 0 got.
    eprintln!("flowlens: listening on UDP {local}");
    let deadline = duration.map(|d| Instant::now() + d);
    let mut buf = vec![0u8; MAX_DATAGRAM_BYTES];
    let mut n = 0u64;
    while count.is_none_or(|c| n < c) && deadline.is_none_or(|d| Instant::now() < d) {
        match socket.recv_from(&mut buf) {
            Ok((len, source)) => {
                n += 1;
                let data = buf.get(..len).unwrap_or(&[]);
                let frame = Frame::Received {
                    time: SystemTime::now(),
                    source,
                    destination: local,
                    data,
                };
                on_frame(n, frame)?;
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err(e).with_context(|| format!("receive on {local}")),
        }
    }
    Ok(())
}
