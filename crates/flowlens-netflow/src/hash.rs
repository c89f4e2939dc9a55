//! The seeded hash maps of flowlens's tables (this crate's and the flow engine's, which uses
//! this module rather than a copy of its own).
//!
//! Their keys (exporter addresses, domains, template and sampler ids, flow keys) come from the
//! network, so the hasher must be keyed: a fixed hash would let a sender pick colliding keys
//! and turn every lookup into a scan. `foldhash` is fast on these small keys and is keyed by a
//! seed; the seed comes from std's `RandomState` (the same source `HashMap::new` uses), so
//! nothing here reads new randomness. Iteration order is never exposed.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};

use foldhash::fast::FixedState;

/// A hash map with a seeded `foldhash` hasher.
pub type Map<K, V> = HashMap<K, V, FixedState>;

/// An empty [`Map`] with a fresh seed.
#[must_use]
pub fn map<K, V>() -> Map<K, V> {
    HashMap::with_hasher(FixedState::with_seed(RandomState::new().hash_one(0u8)))
}
