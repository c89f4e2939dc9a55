//! flowlens-netflow: the sans-IO flow engine's NetFlow v5 / v9 and IPFIX part.
//!
//! [`NetflowSession`] turns datagrams into records: it learns NetFlow v9 / IPFIX templates into
//! a bounded [`TemplateCache`], holds data that arrives before its template in a bounded
//! pending buffer (released when the template arrives, dropped and counted after a TTL),
//! applies the right sampling rate to every record ([`SamplingSource`] says where it came
//! from), and hands each record to a [`RecordSink`] as a [`NetflowRecord`]. [`visit_keys`] names a
//! record's contents with the same sFlow-RT flow keys the sFlow packet walker uses
//! ([`keys`] has the table).
//!
//! # Sans-IO
//!
//! Nothing here opens a socket, reads a file or a clock: every entry point takes the caller's
//! time (`now_ms`, milliseconds on any monotonic-enough clock the caller likes) and bytes.
//! Persistence is [`TemplateCache::snapshot`] / [`TemplateCache::restore`] over `Vec<u8>`; the
//! binary decides where the bytes live.
//!
//! # Bounded memory
//!
//! [`Limits`] caps templates (global, per exporter, fields per template), pending bytes
//! (global, per exporter, TTL) and sampler entries. Whatever does not fit is evicted or refused
//! and counted in [`SessionStats`]; nothing is dropped silently.
//!
//! # Errors
//!
//! One error type, [`Error`]; [`Error::is_peer_fault`] separates what exporters sent from local
//! faults. Network input never panics (fuzzed by `fuzz/fuzz_targets/netflow_session.rs`).

pub mod error;
pub mod hash;
pub mod keys;
mod pending;
pub mod record;
pub mod sampling;
pub mod session;
pub mod template;
mod v5;

pub use error::Error;
pub use keys::{ipfix_key_name, visit_keys, visit_keys_masked, KeyText, RecordCounts};
pub use pending::PendingStats;
pub use record::{ExportClock, NetflowRecord};
pub use sampling::{v5_rate, SamplingSource};
pub use session::{DatagramInfo, Expired, NetflowSession, RecordSink, SessionStats, TemplateEvent};
pub use template::{
    CacheStats, Limits, Template, TemplateCache, TemplateChange, TemplateKey, MAX_DATAGRAM_LEN,
    SNAPSHOT_FORMAT, SNAPSHOT_VERSION,
};

/// The flow-export protocol of a datagram (the wire crate's; `name()` gives `netflow-v5`,
/// `netflow-v9`, `ipfix`), and its content sniff ([`sniff`]: version 5, 9 or 10 with a
/// plausible header).
pub use flowlens_wire::netflow::{sniff, Protocol};
