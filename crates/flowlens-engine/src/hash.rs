//! The hash maps of the engine's tables.
//!
//! Their keys (exporter addresses, domains, template and sampler ids) come from the network,
//! so the hasher must be keyed: a fixed hash would let a sender pick colliding keys and turn
//! every lookup into a scan. `foldhash` is fast on these small keys and is keyed by a seed;
//! the seed comes from std's `RandomState` (the same source `HashMap::new` used before), so
//! this crate reads no new randomness. Iteration order is never exposed.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};

use foldhash::fast::FixedState;

/// A hash map with a seeded `foldhash` hasher.
pub(crate) type Map<K, V> = HashMap<K, V, FixedState>;

/// An empty [`Map`] with a fresh seed.
pub(crate) fn map<K, V>() -> Map<K, V> {
    HashMap::with_hasher(FixedState::with_seed(RandomState::new().hash_one(0u8)))
}
