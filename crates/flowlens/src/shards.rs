//! The threads that feed the engine's shards (`flowlens run --engine-threads N`, `flowlens top
//! --engine-threads N`): a [`Threads`] is the engine's [`Fork`], running shard 0 on the
//! calling thread (the engine thread) and the others on a pool of N − 1 threads (rayon). Each
//! shard is lent whole to one thread for one batch, so the engine thread stays the owner of
//! all state between batches and no lock guards it.
//!
//! Waiting spins rather than sleeps, for [`KEEP_WARM`] at most: the calling thread for the
//! pool threads' end of a batch, and the pool threads, after a batch, for the next one.
//! Batches that follow each other closely (a busy fabric) then find every thread awake,
//! instead of paying for wake-ups (tens of microseconds each on a virtual machine) at the
//! start and end of every batch.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use flowlens_engine::{Fork, Shard};

/// How long a thread spins waiting (the caller for the pool's end of a batch, a pool thread
/// for the next batch) before it may sleep.
pub(crate) const KEEP_WARM: Duration = Duration::from_micros(200);

/// N − 1 pool threads beside the caller's, for an engine of N shards.
pub(crate) struct Threads {
    pool: Option<rayon::ThreadPool>,
    /// Batches handed over so far: a thread kept warm stops spinning when it changes.
    batches: Arc<AtomicU64>,
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
        Ok(Threads {
            pool,
            batches: Arc::new(AtomicU64::new(0)),
        })
    }
}

impl Fork for Threads {
    fn at_once(&self, shards: usize) -> bool {
        // One shard on the caller's thread, one on each pool thread; nothing else runs on
        // the pool but the keep-warm spins, which end as a batch starts.
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
        let batch = self.batches.fetch_add(1, Ordering::AcqRel) + 1;
        let done = AtomicUsize::new(0);
        let others = rest.len();
        pool.in_place_scope(|scope| {
            for s in rest {
                let done = &done;
                scope.spawn(move |_| {
                    f(s);
                    done.fetch_add(1, Ordering::Release);
                });
            }
            f(first);
            // The others usually end within microseconds of this one: spin for them rather
            // than sleep until the pool wakes this thread.
            let until = Instant::now() + KEEP_WARM;
            while done.load(Ordering::Acquire) < others && Instant::now() < until {
                std::hint::spin_loop();
            }
        });
        for _ in 0..pool.current_num_threads() {
            let batches = Arc::clone(&self.batches);
            pool.spawn(move || keep_warm(&batches, batch));
        }
    }
}

/// Spins until batch `after` is no longer the last one handed over, or for [`KEEP_WARM`].
fn keep_warm(batches: &AtomicU64, after: u64) {
    let until = Instant::now() + KEEP_WARM;
    while batches.load(Ordering::Acquire) == after && Instant::now() < until {
        std::hint::spin_loop();
    }
}
