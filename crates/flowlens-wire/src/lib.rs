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
#![no_std]
#![forbid(unsafe_code)]

#[cfg(test)]
extern crate std;

mod error;
mod reader;
mod value;

pub mod netflow;
pub mod packet;
pub mod sflow;

pub use error::{Error, Layer, Result};
pub use value::{FieldVisitor, KeyVisitor, Value};
