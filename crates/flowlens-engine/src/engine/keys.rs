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

impl KeyVisitor for Seen<'_> {
    fn key(&mut self, name: &'static str, depth: u8, _v: Value<'_>) {
        if self.map.len() < 10_000 || self.map.contains_key(&(name, depth)) {
            self.map.insert((name, depth), self.now_ms);
        }
    }
}

/// Both visitors at once. With a [`Seen`] it asks for every key, else for the collector's.
pub(super) struct Tee<'a, 'b>(&'a mut crate::keybuf::Collector<'b>, Option<Seen<'a>>);

impl KeyVisitor for Tee<'_, '_> {
    #[inline]
    fn key(&mut self, name: &'static str, depth: u8, v: Value<'_>) {
        self.0.key(name, depth, v);
        if let Some(s) = self.1.as_mut() {
            s.key(name, depth, v);
        }
    }

    #[inline]
    fn mask(&self) -> KeyMask {
        if self.1.is_some() {
            KeyMask::ALL
        } else {
            self.0.mask()
        }
    }

    #[inline]
    fn key_id(&mut self, id: KeyId, depth: u8, v: Value<'_>) {
        self.0.key_id(id, depth, v);
        if let Some(s) = self.1.as_mut() {
            s.key(id.name(), depth, v);
        }
    }
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

    /// Fills the key buffer through `visit`; every 64th sample (counted by [`Self::wants`])
    /// also records the key names seen.
    pub(super) fn collect(
        &mut self,
        ctx: &Ctx<'_>,
        now_ms: u64,
        visit: impl FnOnce(&WalkConfig, &mut Tee<'_, '_>) -> Weight,
    ) -> Weight {
        self.buf.reset(ctx.schema);
        let seen = (self.sample_tick % 64 == 1).then_some(Seen {
            map: &mut self.seen_keys,
            now_ms,
        });
        let mut c = self.buf.collector_masked(ctx.schema, ctx.mask);
        let mut tee = Tee(&mut c, seen);
        visit(ctx.walk, &mut tee)
    }
}
