//! Which keys the producers (packet walker, sFlow sample and NetFlow/IPFIX record visitors)
//! are asked for, and filling the per-sample key buffer: only the keys the definitions read
//! ([`Engine::key_mask`]), except for every 64th sample, whose key names are all recorded for
//! [`Engine::flow_keys`].

use flowlens_netflow::hash::Map;
use flowlens_wire::packet::WalkConfig;
use flowlens_wire::{KeyId, KeyMask, KeyVisitor, Value};

use super::shard::{Ctx, Shard};
use super::Engine;
use crate::sample::Weight;

/// Records every key name it sees (for `/flowkeys/json`).
struct Seen<'m> {
    map: &'m mut Map<(&'static str, u8), u64>,
    now_ms: u64,
}

impl Seen<'_> {
    /// Records key `name` at `depth` as seen now: one look-up for a name seen before (the
    /// common case); a new one is added while the map holds fewer than 10,000.
    #[inline]
    fn record(&mut self, name: &'static str, depth: u8) {
        if let Some(at) = self.map.get_mut(&(name, depth)) {
            *at = self.now_ms;
        } else if self.map.len() < 10_000 {
            self.map.insert((name, depth), self.now_ms);
        }
    }
}

/// The collector and a [`Seen`] at once, asking for every key: the visitor of every 64th
/// sample. The other samples' keys go to the collector alone ([`Shard::collect`]), so its
/// per-key store inlines into the producers.
struct Tee<'a, 'b>(&'a mut crate::keybuf::Collector<'b>, Seen<'a>);

impl KeyVisitor for Tee<'_, '_> {
    #[inline]
    fn key(&mut self, name: &'static str, depth: u8, v: Value<'_>) {
        self.0.key(name, depth, v);
        self.1.record(name, depth);
    }

    #[inline]
    fn mask(&self) -> KeyMask {
        KeyMask::ALL
    }

    #[inline]
    fn key_id(&mut self, id: KeyId, depth: u8, v: Value<'_>) {
        self.0.key_id(id, depth, v);
        self.1.record(id.name(), depth);
    }
}

/// A sample's keys, produced into whichever visitor [`Shard::collect`] gives (the producers
/// are generic: a closure could take one visitor type only).
pub(super) trait SampleKeys {
    /// Calls `v` for the sample's keys (walking sampled headers with `cfg`), returning the
    /// sample's weight.
    fn visit(self, cfg: &WalkConfig, v: &mut impl KeyVisitor) -> Weight;
}

impl Engine {
    /// Asks the producers (packet walker, sFlow sample and NetFlow/IPFIX record visitors) for
    /// every key, not only those the definitions read ([`Engine::key_mask`]). The answers are
    /// the same either way, only slower: this exists so tests can show it.
    pub fn set_full_visit(&mut self, full: bool) {
        self.full_visit = full;
    }

    /// The keys the producers are asked for: those the flow definitions read (their
    /// [`FlowDef::reads`](crate::definition::FlowDef::reads)), or all with
    /// [`Engine::set_full_visit`].
    pub fn key_mask(&self) -> KeyMask {
        if self.full_visit {
            KeyMask::ALL
        } else {
            self.mask
        }
    }
}

impl Shard {
    /// Counts the sample and says whether to collect its keys: when a definition of this
    /// kind exists, and for every 64th sample anyway (key names for `flow_keys`).
    #[inline]
    pub(super) fn wants(&mut self, ctx: &Ctx<'_>, dropped: bool) -> bool {
        self.sample_tick = self.sample_tick.wrapping_add(1);
        (if dropped {
            ctx.any_dropped
        } else {
            ctx.any_flow
        }) || self.sample_tick % 64 == 1
    }

    /// Fills the key buffer through `keys`; every 64th sample (counted by [`Self::wants`])
    /// also records the key names seen.
    pub(super) fn collect(&mut self, ctx: &Ctx<'_>, now_ms: u64, keys: impl SampleKeys) -> Weight {
        self.buf.reset(ctx.schema);
        let mut c = self.buf.collector_masked(ctx.schema, ctx.mask);
        if self.sample_tick % 64 == 1 {
            let seen = Seen {
                map: &mut self.seen_keys,
                now_ms,
            };
            keys.visit(ctx.walk, &mut Tee(&mut c, seen))
        } else {
            keys.visit(ctx.walk, &mut c)
        }
    }
}
