//! Input files for `flowlens decode`: pcap, pcapng and bare UDP payloads.
//!
//! Owns the file formats only; what is inside a frame is the caller's business. Capture files
//! are streamed block by block with `pcap-parser` (constant memory whatever the file size);
//! payload files are read whole, up to [`MAX_PAYLOAD_FILE_BYTES`].

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::time::{Duration, SystemTime};

use anyhow::{bail, Context, Result};
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{Block, PcapBlockOwned, PcapError};

/// Largest bare payload file accepted. One UDP datagram is at most 65,535 bytes; a few upstream
/// fixtures concatenate several, so allow generous room while keeping memory bounded.
pub(crate) const MAX_PAYLOAD_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Size of the streaming reader's buffer; it grows if a single block is larger.
const READ_BUFFER_BYTES: usize = 1 << 20;

/// Largest single capture block accepted (a 256 KiB snaplen frame plus headers).
const MAX_BLOCK_BYTES: usize = 4 << 20;

/// One unit of input handed to the decoder.
#[derive(Debug)]
pub(crate) enum Frame<'a> {
    /// A packet from a capture file.
    Captured {
        /// LINKTYPE_* value of the capture (or of the pcapng interface).
        linktype: u32,
        /// Capture timestamp, when the file records one.
        time: Option<SystemTime>,
        /// The captured bytes (at most the snap length).
        data: &'a [u8],
        /// Length of the packet on the wire, in bytes.
        original_len: u32,
    },
    /// A whole bare payload file.
    Payload {
        /// The file's bytes.
        data: &'a [u8],
    },
    /// A datagram received on a UDP socket (`--listen`).
    Received {
        /// When it was received.
        time: SystemTime,
        /// The sender.
        source: std::net::SocketAddr,
        /// The local address it arrived on.
        destination: std::net::SocketAddr,
        /// The UDP payload.
        data: &'a [u8],
    },
}

/// Kind of input file, recognised by its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FileKind {
    /// libpcap format, any byte order, micro- or nanosecond timestamps.
    Pcap,
    /// pcapng.
    PcapNg,
    /// Anything else: treated as one bare UDP payload.
    Payload,
}

/// Recognises a file by its magic number.
pub(crate) fn file_kind(head: &[u8]) -> FileKind {
    match head {
        [0xd4, 0xc3, 0xb2, 0xa1, ..]
        | [0xa1, 0xb2, 0xc3, 0xd4, ..]
        | [0x4d, 0x3c, 0xb2, 0xa1, ..]
        | [0xa1, 0xb2, 0x3c, 0x4d, ..] => FileKind::Pcap,
        [0x0a, 0x0d, 0x0d, 0x0a, ..] => FileKind::PcapNg,
        _ => FileKind::Payload,
    }
}

/// Reads `path` and calls `on_frame(n, frame)` for every frame, `n` counting from 1.
///
/// # Errors
/// The file cannot be opened or read, or its capture framing is corrupt (the error names the
/// packet number where reading stopped); or `on_frame` failed.
pub(crate) fn for_each_frame(
    path: &Path,
    mut on_frame: impl FnMut(u64, Frame<'_>) -> Result<()>,
) -> Result<()> {
    let mut file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut head = [0u8; 4];
    let n = file
        .read(&mut head)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let kind = file_kind(head.get(..n).unwrap_or(&[]));
    drop(file);
    match kind {
        FileKind::Payload => {
            let len = std::fs::metadata(path)
                .with_context(|| format!("cannot stat {}", path.display()))?
                .len();
            if len > MAX_PAYLOAD_FILE_BYTES {
                bail!(
                    "{}: {len} bytes is too large for a payload file (limit {MAX_PAYLOAD_FILE_BYTES})",
                    path.display()
                );
            }
            let data =
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            on_frame(1, Frame::Payload { data: &data })
        }
        FileKind::Pcap | FileKind::PcapNg => read_capture(path, &mut on_frame),
    }
}

/// Per-interface facts from a pcapng Interface Description Block.
#[derive(Clone, Copy, Debug)]
struct Interface {
    linktype: u32,
    ts_resolution: u64,
    ts_offset: i64,
}

fn read_capture(
    path: &Path,
    on_frame: &mut impl FnMut(u64, Frame<'_>) -> Result<()>,
) -> Result<()> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut reader = pcap_parser::create_reader(READ_BUFFER_BYTES, file)
        .map_err(|e| anyhow::anyhow!("{}: not a readable capture: {e:?}", path.display()))?;
    let mut legacy_linktype = 1u32;
    let mut legacy_nanos = false;
    let mut interfaces: Vec<Interface> = Vec::new();
    let mut packet = 0u64;
    loop {
        match reader.next() {
            Ok((consumed, block)) => {
                let frame = match block {
                    PcapBlockOwned::LegacyHeader(h) => {
                        legacy_linktype = linktype_u32(h.network.0);
                        legacy_nanos = h.is_nanosecond_precision();
                        None
                    }
                    PcapBlockOwned::Legacy(b) => {
                        let frac = if legacy_nanos {
                            Duration::from_nanos(u64::from(b.ts_usec))
                        } else {
                            Duration::from_micros(u64::from(b.ts_usec))
                        };
                        let time = SystemTime::UNIX_EPOCH
                            .checked_add(Duration::from_secs(u64::from(b.ts_sec)) + frac);
                        Some(Frame::Captured {
                            linktype: legacy_linktype,
                            time,
                            data: b.data,
                            original_len: b.origlen,
                        })
                    }
                    PcapBlockOwned::NG(Block::SectionHeader(_)) => {
                        interfaces.clear();
                        None
                    }
                    PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                        interfaces.push(Interface {
                            linktype: linktype_u32(idb.linktype.0),
                            ts_resolution: idb.ts_resolution().unwrap_or(1_000_000),
                            ts_offset: idb.ts_offset(),
                        });
                        None
                    }
                    PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                        let iface = interfaces.get(epb.if_id as usize).copied();
                        let Some(iface) = iface else {
                            bail!(
                                "{}: packet {}: refers to undeclared pcapng interface {}",
                                path.display(),
                                packet + 1,
                                epb.if_id
                            );
                        };
                        let caplen = (epb.caplen as usize).min(epb.data.len());
                        let (secs, frac) = epb
                            .decode_ts(iface.ts_offset.max(0).unsigned_abs(), iface.ts_resolution);
                        let nanos = u128::from(frac) * 1_000_000_000
                            / u128::from(iface.ts_resolution.max(1));
                        let time = SystemTime::UNIX_EPOCH.checked_add(
                            Duration::from_secs(u64::from(secs))
                                + Duration::from_nanos(u64::try_from(nanos).unwrap_or(0)),
                        );
                        Some(Frame::Captured {
                            linktype: iface.linktype,
                            time,
                            data: epb.data.get(..caplen).unwrap_or(epb.data),
                            original_len: epb.origlen,
                        })
                    }
                    PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                        let linktype = interfaces.first().map_or(1, |i| i.linktype);
                        Some(Frame::Captured {
                            linktype,
                            time: None,
                            data: spb.data,
                            original_len: spb.origlen,
                        })
                    }
                    PcapBlockOwned::NG(_) => None,
                };
                if let Some(frame) = frame {
                    packet += 1;
                    on_frame(packet, frame)?;
                }
                reader.consume(consumed);
            }
            Err(PcapError::Eof) => return Ok(()),
            Err(PcapError::Incomplete(_)) => {
                refill(&mut *reader, path, packet)?;
            }
            Err(PcapError::UnexpectedEof) => bail!(
                "{}: packet {}: capture file ends inside a packet record",
                path.display(),
                packet + 1
            ),
            Err(PcapError::BufferTooSmall) => {
                let size = reader
                    .data()
                    .len()
                    .saturating_mul(2)
                    .max(READ_BUFFER_BYTES * 2);
                if size > MAX_BLOCK_BYTES || !reader.grow(size) {
                    bail!(
                        "{}: packet {}: capture block exceeds the {MAX_BLOCK_BYTES}-byte limit",
                        path.display(),
                        packet + 1
                    );
                }
                refill(&mut *reader, path, packet)?;
            }
            Err(e) => bail!(
                "{}: packet {}: corrupt capture: {e:?}",
                path.display(),
                packet + 1
            ),
        }
    }
}

/// Reads more of the file into the reader's buffer; `packet` frames were read so far.
fn refill(reader: &mut dyn PcapReaderIterator, path: &Path, packet: u64) -> Result<()> {
    reader.refill().map_err(|e| {
        anyhow::anyhow!(
            "{}: packet {}: read error: {e:?}",
            path.display(),
            packet + 1
        )
    })
}

/// pcap-parser exposes link types as `i32`; the registry's values are all non-negative.
fn linktype_u32(v: i32) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_magic_numbers() {
        assert_eq!(file_kind(&[0xd4, 0xc3, 0xb2, 0xa1]), FileKind::Pcap);
        assert_eq!(file_kind(&[0x4d, 0x3c, 0xb2, 0xa1]), FileKind::Pcap);
        assert_eq!(file_kind(&[0x0a, 0x0d, 0x0d, 0x0a]), FileKind::PcapNg);
        assert_eq!(file_kind(&[0, 0, 0, 5]), FileKind::Payload);
        assert_eq!(file_kind(&[]), FileKind::Payload);
    }
}
