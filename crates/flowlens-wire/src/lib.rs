//! Zero-copy, panic-free decoders for flow telemetry and sampled packet headers.
//!
//! This crate is flowlens's `wire` layer. It turns bytes into named, typed fields and nothing
//! else:
//!
//! - [`sflow`]: sFlow version 5 datagrams (sFlow v5 specification, sflow.org structure
//!   registry): flow, counter, expanded and discard samples and their records.
//! - [`packet`]: a layer walker over sampled or captured packet headers, from Ethernet, VLAN and
//!   MPLS through IPv4/IPv6, TCP/UDP/ICMP and DNS, descending through GRE, NVGRE, ERSPAN, VXLAN,
//!   Geneve, GRE-in-UDP, IP-in-IP, Teredo, GTP-U and STT tunnels, and the flow keys derived from
//!   it in sFlow-RT naming.
//!
//! # Invariants
//!
//! - **No IO, no clock, no allocation.** The crate is `no_std` and does not link `alloc`.
//! - **No panics on input.** Every read is bounds-checked; malformed input yields an
//!   [`Error`] naming the layer, byte offset and field. `cargo fuzz` targets exercise this.
//! - **Zero copy.** Decoded structures borrow from the input; values are computed on access.
//!
//! # Example
//!
//! ```
//! use flowlens_wire::packet::{walk, LinkType, WalkConfig};
//!
//! // An Ethernet/IPv4/UDP frame cut after the UDP header, as an sFlow agent samples it.
//! let frame = [
//!     0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00, // Ethernet II, IPv4
//!     0x45, 0, 0, 28, 0, 1, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, // IPv4, DF, UDP
//!     0x30, 0x39, 0x00, 0x35, 0, 8, 0, 0, // UDP 12345 -> 53
//! ];
//! let w = walk(LinkType::Ethernet, &frame, &WalkConfig::default());
//! assert_eq!(w.stack().to_string(), "eth.ip.udp");
//! assert!(w.stop().is_none());
//! let udp = w.outer_udp().expect("a UDP layer");
//! assert_eq!(udp.dst_port, 53);
//! ```
#![no_std]
#![forbid(unsafe_code)]

#[cfg(test)]
extern crate std;

mod error;
mod key_id;
mod reader;
mod value;

pub mod netflow;
pub mod packet;
pub mod sflow;
pub mod sniff;

pub use error::{Error, Layer, Result};
pub use key_id::{KeyId, KeyMask};
pub use value::{FieldVisitor, KeyVisitor, Masked, Value};
