//! One flow definition's table for one data source: every active key with its smoothed value.
//!
//! # Smoothing
//!
//! A rate value (`bytes`, `frames`, numeric keys) is an exponentially weighted sum: each sample
//! adds its scaled value `x` (value × sampling rate) and the sum decays by `e^(-Δt/t)`. The rate
//! at time `now` is `sum × e^(-(now-last)/t) / t`: a steady rate `R` converges to `R`, and a
//! step follows with time constant `t` (sFlow-RT's "smoothing factor"; a 30 s square wave is
//! followed closely with t = 1 and flattened to its mean with t = 500).
//!
//! # Confidence interval
//!
//! With 1-in-N random sampling (sFlow v5 §4.2), a sampled packet of size `x` stands for `N·x`
//! with variance `x²·N·(N−1)`; estimated from the sample itself that is `(N·x)²·(1−1/N)`. The
//! smoothed rate is a weighted sum of such terms with weights `e^(-Δt/t)/t`, so its variance is
//! the sum of the terms weighted by `e^(-2Δt/t)/t²`. The 95 % interval is the rate ± 1.96 × the
//! standard deviation. A NetFlow/IPFIX record of `p` sampled packets contributes `x²(1−1/N)/p`.
//! With N = 1 (unsampled) the interval is exact. The `samples` of a flow are its decayed sample
//! count (about the number of samples in the last `t` seconds).

use crate::definition::{ValueKind, ValueSpec, MAX_DISTINCT};
use crate::keybuf::KeyBuf;
use crate::sample::Weight;
use crate::Env;
use flowlens_netflow::hash::{map, Map};

/// `e^(-Δt/t)` for `dt_ms` milliseconds and time constant `t_secs`.
#[inline]
pub(crate) fn decay(dt_ms: u64, t_secs: f64) -> f64 {
    if dt_ms == 0 {
        1.0
    } else {
        (-(dt_ms as f64) / (1000.0 * t_secs)).exp()
    }
}

/// The state of one non-main value.
#[derive(Debug)]
pub(crate) enum ValState {
    /// Decayed sum of scaled values and of variance terms.
    Rate { sum: f64, var: f64 },
    /// Decayed weight and weighted sum (mean = wx / w).
    Avg { w: f64, wx: f64 },
    /// Extreme value and when it was seen.
    Extreme { v: f64, at_ms: u64 },
    /// Last time each distinct value (hashed) was seen.
    Count { seen: Map<u64, u64> },
}

impl ValState {
    fn new(kind: &ValueKind) -> ValState {
        match kind {
            ValueKind::Bytes | ValueKind::Frames | ValueKind::Rate(_) => {
                ValState::Rate { sum: 0.0, var: 0.0 }
            }
            ValueKind::Avg(_) => ValState::Avg { w: 0.0, wx: 0.0 },
            ValueKind::Min(_) | ValueKind::Max(_) => ValState::Extreme {
                v: f64::NAN,
                at_ms: 0,
            },
            ValueKind::Count(_) => ValState::Count { seen: map() },
        }
    }
}

/// What logging needs of an entry.
#[derive(Debug, Default)]
pub(crate) struct LogState {
    /// Start of the current record, Unix ms.
    pub record_start_ms: u64,
    /// `Entry::total` when the record started.
    pub total_at_start: f64,
}

/// Rarely needed parts of an entry, boxed so plain entries stay small: 16 bytes, so that
/// keeping totals (`Limits::keep_totals`, every key of `flowlens top --totals`) costs little.
#[derive(Debug, Default)]
pub(crate) struct More {
    /// Undecayed total of the main value since the entry was created (rate kinds), kept only
    /// when asked for ([`Entry::new`]'s `total`): totals, flow logs and flow starts.
    pub total: f64,
    /// See [`States`].
    pub states: Option<Box<States>>,
}

/// The states of definitions with more than a rate: non-rate main values, `values[]`, logs.
#[derive(Debug, Default)]
pub(crate) struct States {
    /// State of the main value when it is not a rate.
    pub main: Option<ValState>,
    /// State of `values[]`.
    pub values: Vec<ValState>,
    /// Logging state (definitions with `log`).
    pub log: Option<LogState>,
}

/// One active key: 40 bytes, so that a table's hash-map slot (this and the key's
/// `Box<str>`) is 56 bytes; what only some definitions need is in [`More`].
#[derive(Debug)]
pub(crate) struct Entry {
    /// Time of the last sample, Unix ms.
    pub last_ms: u64,
    /// Decayed sample count (f32: a count needs no more).
    pub n: f32,
    /// Decayed sum of the main value (rate kinds).
    pub sum: f64,
    /// Decayed sum of variance terms (rate kinds).
    pub var: f64,
    /// See [`More`].
    pub more: Option<Box<More>>,
}

/// Per-sample inputs of an update.
pub(crate) struct Input<'a> {
    pub now_ms: u64,
    pub weight: Weight,
    pub keys: &'a KeyBuf,
    pub env: &'a Env,
    /// Reused text buffer for `count:` values (no allocation per sample).
    pub scratch: &'a std::cell::RefCell<String>,
}

impl Entry {
    /// A new entry for a definition with this main value and these values; `log` keeps the
    /// state of flow-log records, `total` the undecayed total ([`Entry::total`]).
    pub(crate) fn new(
        now_ms: u64,
        main: &ValueSpec,
        values: &[ValueSpec],
        log: bool,
        total: bool,
    ) -> Entry {
        let needs_states = !main.kind.is_rate() || !values.is_empty() || log;
        let states = needs_states.then(|| {
            Box::new(States {
                main: (!main.kind.is_rate()).then(|| ValState::new(&main.kind)),
                values: values.iter().map(|v| ValState::new(&v.kind)).collect(),
                log: log.then_some(LogState {
                    record_start_ms: now_ms,
                    total_at_start: 0.0,
                }),
            })
        });
        Entry {
            last_ms: now_ms,
            n: 0.0,
            sum: 0.0,
            var: 0.0,
            more: (needs_states || total).then(|| Box::new(More { total: 0.0, states })),
        }
    }

    /// Adds one sample. Samples older than the entry's last one count as of its last time.
    #[inline]
    pub(crate) fn update(
        &mut self,
        t_secs: f64,
        main: &ValueSpec,
        values: &[ValueSpec],
        i: &Input<'_>,
    ) {
        let now = i.now_ms.max(self.last_ms);
        let d = decay(now - self.last_ms, t_secs);
        self.last_ms = now;
        self.n = (f64::from(self.n) * d + i.weight.frames.max(1.0)) as f32;
        if main.kind.is_rate() {
            if let Some((x, vc)) = rate_term(&main.kind, i) {
                self.sum = self.sum * d + x;
                self.var = self.var * d * d + vc;
                if let Some(more) = self.more.as_deref_mut() {
                    more.total += x;
                }
            } else {
                self.sum *= d;
                self.var *= d * d;
            }
        }
        if let Some(states) = self.states_mut() {
            if let Some(st) = states.main.as_mut() {
                update_state(st, &main.kind, d, t_secs, i);
            }
            for (st, spec) in states.values.iter_mut().zip(values) {
                update_state(st, &spec.kind, d, t_secs, i);
            }
        }
    }

    /// See [`States`].
    pub(crate) fn states(&self) -> Option<&States> {
        self.more.as_deref().and_then(|m| m.states.as_deref())
    }

    /// See [`States`].
    pub(crate) fn states_mut(&mut self) -> Option<&mut States> {
        self.more
            .as_deref_mut()
            .and_then(|m| m.states.as_deref_mut())
    }

    /// The undecayed total of the main value since the entry was created (rate kinds), when
    /// the entry keeps one (see [`Entry::new`]).
    pub(crate) fn total(&self) -> Option<f64> {
        self.more.as_deref().map(|m| m.total)
    }

    /// The main value at `now_ms`.
    pub(crate) fn value(&self, now_ms: u64, t_secs: f64, main: &ValueSpec) -> f64 {
        match self.states().and_then(|s| s.main.as_ref()) {
            Some(st) => state_value(st, &main.kind, now_ms, self.last_ms, t_secs),
            None => self.sum * decay(now_ms.saturating_sub(self.last_ms), t_secs) / t_secs,
        }
    }

    /// Half-width of the 95 % confidence interval of the main value at `now_ms` (0 for values
    /// that are not rates).
    pub(crate) fn ci95(&self, now_ms: u64, t_secs: f64, main: &ValueSpec) -> f64 {
        if !main.kind.is_rate() {
            return 0.0;
        }
        let d = decay(now_ms.saturating_sub(self.last_ms), t_secs);
        1.96 * (self.var * d * d).max(0.0).sqrt() / t_secs
    }

    /// The decayed sample count at `now_ms`.
    pub(crate) fn samples(&self, now_ms: u64, t_secs: f64) -> f64 {
        f64::from(self.n) * decay(now_ms.saturating_sub(self.last_ms), t_secs)
    }

    /// The `values[]` at `now_ms`.
    pub(crate) fn values(&self, now_ms: u64, t_secs: f64, values: &[ValueSpec]) -> Vec<f64> {
        match self.states() {
            Some(m) => m
                .values
                .iter()
                .zip(values)
                .map(|(st, spec)| state_value(st, &spec.kind, now_ms, self.last_ms, t_secs))
                .collect(),
            None => Vec::new(),
        }
    }
}

/// The scaled value and variance term a sample adds to a rate value; `None` when the sample
/// lacks the key.
fn rate_term(kind: &ValueKind, i: &Input<'_>) -> Option<(f64, f64)> {
    let w = &i.weight;
    let rate = f64::from(w.rate.max(1));
    let raw = match kind {
        ValueKind::Bytes => w.bytes,
        ValueKind::Frames => w.frames,
        ValueKind::Rate(slot) => i.keys.num(*slot)?,
        _ => return None,
    };
    let x = raw * rate;
    let vc = x * x * (1.0 - 1.0 / rate) / w.frames.max(1.0);
    Some((x, vc))
}

fn update_state(st: &mut ValState, kind: &ValueKind, d: f64, t_secs: f64, i: &Input<'_>) {
    match (st, kind) {
        (ValState::Rate { sum, var }, _) => match rate_term(kind, i) {
            Some((x, vc)) => {
                *sum = *sum * d + x;
                *var = *var * d * d + vc;
            }
            None => {
                *sum *= d;
                *var *= d * d;
            }
        },
        (ValState::Avg { w, wx }, ValueKind::Avg(slot)) => {
            *w *= d;
            *wx *= d;
            if let Some(x) = i.keys.num(*slot) {
                *w += 1.0;
                *wx += x;
            }
        }
        (ValState::Extreme { v, at_ms }, ValueKind::Min(slot) | ValueKind::Max(slot)) => {
            if let Some(x) = i.keys.num(*slot) {
                let window = (t_secs * 1000.0) as u64;
                let stale = v.is_nan() || i.now_ms.saturating_sub(*at_ms) > window;
                let better = match kind {
                    ValueKind::Min(_) => x <= *v,
                    _ => x >= *v,
                };
                if stale || better {
                    *v = x;
                    *at_ms = i.now_ms;
                }
            }
        }
        (ValState::Count { seen }, ValueKind::Count(expr)) => {
            let mut s = i.scratch.borrow_mut();
            s.clear();
            if expr.eval(i.keys, i.env, &mut s) {
                let h = {
                    use std::hash::{BuildHasher, Hasher};
                    let mut hs = foldhash::fast::FixedState::with_seed(0x5eed).build_hasher();
                    hs.write(s.as_bytes());
                    hs.finish()
                };
                let window = count_window_ms(t_secs);
                if seen.len() >= MAX_DISTINCT && !seen.contains_key(&h) {
                    seen.retain(|_, at| i.now_ms.saturating_sub(*at) <= window);
                }
                if seen.len() < MAX_DISTINCT || seen.contains_key(&h) {
                    seen.insert(h, i.now_ms);
                }
            }
        }
        _ => {}
    }
}

fn count_window_ms(t_secs: f64) -> u64 {
    (t_secs.max(1.0) * 1000.0) as u64
}

fn state_value(st: &ValState, kind: &ValueKind, now_ms: u64, last_ms: u64, t_secs: f64) -> f64 {
    match st {
        ValState::Rate { sum, .. } => sum * decay(now_ms.saturating_sub(last_ms), t_secs) / t_secs,
        ValState::Avg { w, wx } => {
            if *w > 0.0 {
                wx / w
            } else {
                0.0
            }
        }
        ValState::Extreme { v, at_ms } => {
            if v.is_nan() || now_ms.saturating_sub(*at_ms) > (t_secs * 1000.0) as u64 {
                0.0
            } else {
                *v
            }
        }
        ValState::Count { seen } => {
            let _ = kind;
            let window = count_window_ms(t_secs);
            seen.values()
                .filter(|at| now_ms.saturating_sub(**at) <= window)
                .count() as f64
        }
    }
}

/// All active keys of one definition at one data source.
#[derive(Debug)]
pub(crate) struct Table {
    /// Entries by stored key ([`crate::flow_key`]: typed components, hashed as bytes).
    pub entries: Map<Box<[u8]>, Entry>,
}

impl Default for Table {
    fn default() -> Self {
        Table { entries: map() }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn entry_stays_small() {
        // 8 (last) + 4 (n) + 2 × 8 (sum, var) + 8 (more), padded; with the key's `Box<str>` a
        // hash-map slot of 56 bytes: the memory per active key in BENCHMARKS.md depends on it.
        assert_eq!(core::mem::size_of::<super::Entry>(), 40);
        assert_eq!(core::mem::size_of::<(Box<str>, super::Entry)>(), 56);
    }

    #[test]
    fn more_is_what_keep_totals_documents() {
        // `Limits::keep_totals` gives every key a boxed `More`: "16 more bytes".
        assert_eq!(core::mem::size_of::<super::More>(), 16);
    }
}
