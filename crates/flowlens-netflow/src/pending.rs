//! Data sets that arrived before their template, waiting for it (bounded, with a TTL).
//!
//! A set is copied (its body only) and held until a template with its key is learned, at
//! which point it is released and decoded as if it had just arrived (its records are marked
//! `was_pending`). A set is refused when holding it would exceed the global or the exporter's
//! byte cap, and dropped when it has waited longer than the TTL; both are counted, never
//! silent.

use std::collections::{BTreeSet, VecDeque};

use crate::hash::{map, Map};
use std::net::IpAddr;

use crate::session::Header;
use crate::template::TemplateKey;

/// Bytes counted per held set on top of its body (bookkeeping).
const SET_OVERHEAD: usize = 96;

/// Counters of the pending buffer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PendingStats {
    /// Sets currently held.
    pub sets: usize,
    /// Bytes currently held (bodies plus bookkeeping).
    pub bytes: usize,
    /// Sets held since creation.
    pub held: u64,
    /// Sets released to decoding when their template arrived.
    pub released: u64,
    /// Sets dropped after waiting longer than the TTL.
    pub expired: u64,
    /// Bytes of those.
    pub expired_bytes: u64,
    /// Sets refused because a byte cap was reached.
    pub refused: u64,
    /// Bytes of those.
    pub refused_bytes: u64,
    /// Sets dropped to make room for another exporter's at the global cap (the exporter
    /// holding the most bytes gives up its oldest: fair shares under a flood).
    pub evicted: u64,
    /// Bytes of those.
    pub evicted_bytes: u64,
}

pub(crate) struct PendingSet {
    pub(crate) key: TemplateKey,
    pub(crate) body: Vec<u8>,
    pub(crate) offset: usize,
    pub(crate) header: Header,
    id: u64,
}

impl PendingSet {
    fn cost(&self) -> usize {
        self.body.len() + SET_OVERHEAD
    }
}

pub(crate) struct Pending {
    max_bytes: usize,
    max_per_exporter: usize,
    ttl_ms: u64,
    by_key: Map<TemplateKey, VecDeque<PendingSet>>,
    /// Arrival order for expiry: (received_ms, key, id).
    order: VecDeque<(u64, TemplateKey, u64)>,
    per_exporter: Map<IpAddr, usize>,
    /// Exporters by bytes held (the largest gives up its oldest set at the global cap).
    by_bytes: BTreeSet<(usize, IpAddr)>,
    /// Each exporter's sets in arrival order: (key, id); stale entries (released or
    /// expired sets) are skipped when met.
    exporter_order: Map<IpAddr, VecDeque<(TemplateKey, u64)>>,
    /// Entries in `exporter_order`, live and stale (bounds them, as for `order`).
    exporter_order_len: usize,
    next_id: u64,
    pub(crate) stats: PendingStats,
}

impl Pending {
    pub(crate) fn new(max_bytes: usize, max_per_exporter: usize, ttl_ms: u64) -> Self {
        Pending {
            max_bytes,
            max_per_exporter,
            ttl_ms,
            by_key: map(),
            order: VecDeque::new(),
            per_exporter: map(),
            by_bytes: BTreeSet::new(),
            exporter_order: map(),
            exporter_order_len: 0,
            next_id: 0,
            stats: PendingStats::default(),
        }
    }

    /// Holds a copy of `body`; returns false (and counts) when refused for lack of room.
    pub(crate) fn hold(
        &mut self,
        key: TemplateKey,
        body: &[u8],
        offset: usize,
        header: Header,
        now_ms: u64,
    ) -> bool {
        let cost = body.len() + SET_OVERHEAD;
        let exp = self.per_exporter.get(&key.exporter).copied().unwrap_or(0);
        if exp + cost <= self.max_per_exporter {
            self.make_room(key.exporter, exp + cost, cost);
        }
        if self.stats.bytes + cost > self.max_bytes || exp + cost > self.max_per_exporter {
            self.stats.refused += 1;
            self.stats.refused_bytes += body.len() as u64;
            return false;
        }
        self.next_id += 1;
        let set = PendingSet {
            key,
            body: body.to_vec(),
            offset,
            header,
            id: self.next_id,
        };
        self.order.push_back((now_ms, key, set.id));
        self.exporter_order
            .entry(key.exporter)
            .or_default()
            .push_back((key, set.id));
        self.exporter_order_len += 1;
        self.by_key.entry(key).or_default().push_back(set);
        self.add_bytes(key.exporter, exp, exp + cost);
        self.stats.bytes += cost;
        self.stats.sets += 1;
        self.stats.held += 1;
        true
    }

    /// Sets `exporter`'s held bytes from `before` to `after`, keeping the indexes exact.
    fn add_bytes(&mut self, exporter: IpAddr, before: usize, after: usize) {
        self.by_bytes.remove(&(before, exporter));
        if after == 0 {
            self.per_exporter.remove(&exporter);
            if let Some(q) = self.exporter_order.remove(&exporter) {
                self.exporter_order_len -= q.len();
            }
        } else {
            self.per_exporter.insert(exporter, after);
            self.by_bytes.insert((after, exporter));
        }
    }

    /// At the global cap, drops the oldest sets of the exporter holding the most bytes while
    /// it holds more than `incoming` will after adding `cost` (so an exporter never evicts a
    /// smaller holder, nor itself), until `cost` more bytes fit.
    fn make_room(&mut self, incoming: IpAddr, incoming_after: usize, cost: usize) {
        while self.stats.bytes + cost > self.max_bytes {
            let Some(&(held, largest)) = self.by_bytes.last() else {
                return;
            };
            if largest == incoming || held <= incoming_after {
                return;
            }
            let Some(set) = self.pop_oldest_of(largest) else {
                return;
            };
            self.stats.evicted += 1;
            self.stats.evicted_bytes += set.body.len() as u64;
            self.account_removed(&set);
        }
    }

    /// Takes `exporter`'s oldest held set (the front of its key's queue).
    fn pop_oldest_of(&mut self, exporter: IpAddr) -> Option<PendingSet> {
        loop {
            let (key, id) = self.exporter_order.get_mut(&exporter)?.pop_front()?;
            self.exporter_order_len -= 1;
            let Some(q) = self.by_key.get_mut(&key) else {
                continue;
            };
            if q.front().is_some_and(|s| s.id == id) {
                let set = q.pop_front();
                if q.is_empty() {
                    self.by_key.remove(&key);
                }
                return set;
            }
        }
    }

    fn account_removed(&mut self, set: &PendingSet) {
        let cost = set.cost();
        self.stats.bytes = self.stats.bytes.saturating_sub(cost);
        self.stats.sets = self.stats.sets.saturating_sub(1);
        let exporter = set.key.exporter;
        if let Some(&b) = self.per_exporter.get(&exporter) {
            self.add_bytes(exporter, b, b.saturating_sub(cost));
        }
    }

    /// Takes every set waiting for `key`, oldest first.
    pub(crate) fn take(&mut self, key: &TemplateKey) -> Vec<PendingSet> {
        let Some(q) = self.by_key.remove(key) else {
            return Vec::new();
        };
        let sets: Vec<PendingSet> = q.into_iter().collect();
        for s in &sets {
            self.account_removed(s);
            self.stats.released += 1;
        }
        // Their `order` entries become stale and are skipped by `expire`.
        sets
    }

    /// Drops sets older than the TTL at `now_ms`; returns (sets, bytes) dropped now.
    pub(crate) fn expire(&mut self, now_ms: u64) -> (u64, u64) {
        let mut dropped = (0, 0);
        while let Some(&(t, key, id)) = self.order.front() {
            if now_ms.saturating_sub(t) <= self.ttl_ms {
                break;
            }
            self.order.pop_front();
            let Some(q) = self.by_key.get_mut(&key) else {
                continue;
            };
            if q.front().is_some_and(|s| s.id == id) {
                if let Some(s) = q.pop_front() {
                    if q.is_empty() {
                        self.by_key.remove(&key);
                    }
                    self.account_removed(&s);
                    self.stats.expired += 1;
                    self.stats.expired_bytes += s.body.len() as u64;
                    dropped.0 += 1;
                    dropped.1 += s.body.len() as u64;
                }
            }
        }
        // Stale entries (released sets) are dropped from the front as they age; bound the
        // queue so a long TTL cannot let them pile up.
        if self.order.len() > 4 * (self.stats.sets + 1024) {
            let by_key = &self.by_key;
            self.order
                .retain(|(_, k, id)| by_key.get(k).is_some_and(|q| q.iter().any(|s| s.id == *id)));
        }
        if self.exporter_order_len > 4 * (self.stats.sets + 1024) {
            let by_key = &self.by_key;
            let mut len = 0;
            for q in self.exporter_order.values_mut() {
                q.retain(|(k, id)| by_key.get(k).is_some_and(|q| q.iter().any(|s| s.id == *id)));
                len += q.len();
            }
            self.exporter_order_len = len;
        }
        dropped
    }
}
