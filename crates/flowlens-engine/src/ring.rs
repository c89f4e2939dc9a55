//! A bounded ring of records with increasing ids (sFlow-RT's `flows.max` / `events.max`
//! logs, read by long-poll with "ids after N").

use std::collections::VecDeque;

/// A record that carries its ring id.
pub(crate) trait Logged {
    /// Sets the id the ring gives it.
    fn set_id(&mut self, id: u64);
    /// Its id.
    fn id(&self) -> u64;
}

/// The newest `cap` records; ids start at 1 and count every record ever pushed.
#[derive(Debug)]
pub(crate) struct Ring<T> {
    items: VecDeque<T>,
    cap: usize,
    last_id: u64,
}

impl<T: Logged> Ring<T> {
    /// An empty ring keeping at most `cap` records (at least 1).
    pub(crate) fn new(cap: usize) -> Ring<T> {
        Ring {
            items: VecDeque::new(),
            cap: cap.max(1),
            last_id: 0,
        }
    }

    /// Appends a record under the next id, dropping the oldest when full.
    pub(crate) fn push(&mut self, mut item: T) {
        self.last_id += 1;
        item.set_id(self.last_id);
        if self.items.len() >= self.cap {
            self.items.pop_front();
        }
        self.items.push_back(item);
    }

    /// Id of the newest record (0: none yet); also the number of records ever pushed.
    pub(crate) fn last_id(&self) -> u64 {
        self.last_id
    }

    /// Records with id > `after` that `keep` accepts, newest first, at most `max`.
    pub(crate) fn after(&self, after: u64, keep: impl Fn(&T) -> bool, max: usize) -> Vec<&T> {
        self.items
            .iter()
            .rev()
            .take_while(|r| r.id() > after)
            .filter(|r| keep(r))
            .take(max)
            .collect()
    }
}
