//! NetFlow v5, NetFlow v9 (RFC 3954) and IPFIX (RFC 7011/7012): shared template machinery.
//!
//! NetFlow v9 and IPFIX data cannot be decoded without the template that describes it, and
//! templates are state: they arrive in earlier datagrams, per exporter and observation domain.
//! This crate keeps no state. It parses template definitions into [`FieldSpec`] lists, and
//! decodes data given such a list ([`data_records`]); the template cache that connects the two
//! lives in the sans-IO engine crate (`flowlens-flow`).

mod record;

pub use record::{data_records, DataRecord, DataRecords, FieldSpec, Fields, VARIABLE_LENGTH};
