//! The threads that feed the engine's shards (`flowlens run --engine-threads N`, `flowlens top
//! --engine-threads N`): a [`Threads`] is the engine's [`Fork`], running shard 0 on the
//! calling thread (the engine thread) and the others on a pool of N − 1 threads (rayon). Each
//! shard is lent whole to one thread for one batch, so the engine thread stays the owner of
//! all state between batches and no lock guards it.

use anyhow::{Context, Result};
use flowlens_engine::{Fork, Shard};

/// N − 1 pool threads beside the caller's, for an engine of N shards.
pub(crate) struct Threads {
    pool: Option<rayon::ThreadPool>,
}

impl Threads {
    /// Threads for `shards` shards (none started for 1).
    ///
    /// # Errors
    /// The operating system refused a thread.
    pub(crate) fn new(shards: usize) -> Result<Threads> {
        let pool = if shards > 1 {
            Some(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(shards - 1)
                    .thread_name(|i| format!("flowlens-shard-{}", i + 1))
                    .build()
                    .context("starting the engine's shard threads")?,
            )
        } else {
            None
        };
        Ok(Threads { pool })
    }
}

impl Fork for Threads {
    fn at_once(&self, shards: usize) -> bool {
        // One shard on the caller's thread, one on each pool thread, and nothing else runs
        // on the pool.
        self.pool
            .as_ref()
            .is_some_and(|p| p.current_num_threads() + 1 >= shards)
    }

    fn each(&self, shards: &mut [Shard], f: &(dyn Fn(&mut Shard) + Sync)) {
        let (Some(pool), Some((first, rest))) = (&self.pool, shards.split_first_mut()) else {
            for s in shards {
                f(s);
            }
            return;
        };
        pool.in_place_scope(|scope| {
            for s in rest {
                scope.spawn(move |_| f(s));
            }
            f(first);
        });
    }
}
