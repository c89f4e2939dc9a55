//! The wire crate's integration tests, one test crate with a module per area: sFlow
//! decoding against tshark and the specification (`sflow_decode`), NetFlow/IPFIX decoding
//! (`netflow_decode`, `netflow_tshark`), the header walker (`packet_walk`), and robustness
//! under truncation and byte flips (`*_robustness`). The real captures they read are in
//! `../shared/data`; helpers to find and split them are in `common/`.
//!
//! Tests may unwrap, index and panic: a panic there is a failed test.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

mod netflow_decode;
mod netflow_robustness;
mod netflow_tshark;
mod packet_walk;
mod sflow_decode;
mod sflow_robustness;
