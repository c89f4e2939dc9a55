//! Helpers shared by the wire crate's integration tests.

pub(crate) mod netflow;
pub(crate) mod sflow;
