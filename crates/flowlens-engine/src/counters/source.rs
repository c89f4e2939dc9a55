//! One data source's state: the last raw counter values and the current metrics.
//!
//! Counters become per-second rates from the difference between consecutive samples over the
//! caller's clock (`now_ms`). The first sample of a counter only sets its base.
//!
//! * A 32-bit counter that went down wrapped when the wrapped difference is under 2³¹ (less
//!   than half the range); a 64-bit field whose old and new values both fit in 32 bits is
//!   treated as a 32-bit counter (many agents fill `ifInOctets` from 32-bit registers); a
//!   64-bit counter wrapped when the wrapped difference is under 2⁶³. Anything else is a
//!   counter reset: the new value becomes the base, no rate is reported for that sample
//!   (no spike) and `counter_resets` counts it.
//! * The all-ones value (`0xFFFFFFFF`, `0xFFFFFFFFFFFFFFFF`) means "unknown" in sFlow: the
//!   metric is removed and its base forgotten.
//! * Counter sample sequence numbers: a repeated number is a duplicate (ignored); a step
//!   back of at most 64 to a number of 16 or more is a reordered datagram (ignored); any
//!   other step back (to below 16, or far) is an agent restart (every base is forgotten,
//!   rate metrics are removed until the next sample).
//! * Several samples in the same millisecond keep the older base (no division by zero); a
//!   clock that went backwards rebases without a rate.

use super::names::{Obs, Observed};
use super::types::Metric;

/// Host CPU times (ms counters) turned into percentages of their sum.
const CPU_TIMES: [&str; 7] = [
    "cpu_user",
    "cpu_nice",
    "cpu_system",
    "cpu_idle",
    "cpu_wio",
    "cpu_intr",
    "cpu_sintr",
];

/// Counters of CPU milliseconds reported as percent of one CPU (ms/s ÷ 10).
const MS_PERCENT: [&str; 2] = ["app_usertime", "app_systemtime"];

/// Sequence numbers below this after a step back mean the agent restarted.
const RESTART_SEQ: u32 = 16;

/// A step back of at most this many sequence numbers (to a number not below
/// [`RESTART_SEQ`]) is a reordered datagram; a longer one is a restart.
const REORDER_WINDOW: i32 = 64;

/// What happened to a sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Applied.
    Applied,
    /// Same sequence number as the previous sample: ignored.
    Duplicate,
    /// Older sequence number: ignored.
    OutOfOrder,
    /// Sequence number restarted: bases reset, sample applied (gauges only).
    Restarted,
}

/// The last raw value of one counter.
#[derive(Clone, Copy, Debug)]
struct Base {
    name: &'static str,
    raw: u64,
    at_ms: u64,
}

/// One current metric.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    /// Metric name.
    pub(crate) name: &'static str,
    /// Current value.
    pub(crate) value: Metric,
    /// Time of the last update (caller's clock, ms).
    pub(crate) at_ms: u64,
    /// True for values computed from counter differences (removed at an agent restart).
    rate: bool,
}

/// A data source of an agent.
#[derive(Clone, Debug)]
pub(crate) struct Source {
    /// sFlow-RT name: `"3"` (ifIndex 3) or `"2.1"`.
    pub(crate) name: String,
    /// Time of the last applied sample.
    pub(crate) last_ms: u64,
    seq: Option<u32>,
    bases: Vec<Base>,
    /// Current metrics, sorted by name.
    values: Vec<Entry>,
}

impl Source {
    /// An empty data source called `name`.
    pub(crate) fn new(name: String, now_ms: u64) -> Self {
        Source {
            name,
            last_ms: now_ms,
            seq: None,
            bases: Vec::new(),
            values: Vec::new(),
        }
    }

    /// The current metrics, sorted by name.
    pub(crate) fn entries(&self) -> &[Entry] {
        &self.values
    }

    /// The current value of `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&Entry> {
        self.values
            .binary_search_by(|e| e.name.cmp(name))
            .ok()
            .and_then(|i| self.values.get(i))
    }

    /// Applies one sample's observations; adds the counter resets seen to `resets`.
    ///
    /// `fresh` is a buffer reused from sample to sample (emptied here): with it and `obs`, a
    /// sample whose metrics are all known and whose texts are unchanged allocates nothing.
    pub(crate) fn update(
        &mut self,
        now_ms: u64,
        seq: u32,
        obs: &Observed,
        fresh: &mut Vec<(&'static str, f64)>,
        resets: &mut u64,
    ) -> Outcome {
        let mut outcome = Outcome::Applied;
        if let Some(prev) = self.seq {
            let step = seq.wrapping_sub(prev) as i32;
            if step == 0 {
                return Outcome::Duplicate;
            }
            if step < 0 {
                if seq >= RESTART_SEQ && step >= -REORDER_WINDOW {
                    return Outcome::OutOfOrder;
                }
                self.bases.clear();
                self.values.retain(|e| !e.rate);
                outcome = Outcome::Restarted;
            }
        }
        self.seq = Some(seq);
        self.last_ms = self.last_ms.max(now_ms);
        fresh.clear();
        for (name, o) in &obs.items {
            let name = *name;
            match o {
                Obs::Num(v) if v.is_finite() => {
                    fresh.push((name, *v));
                    self.set(name, Metric::Num(*v), now_ms, false);
                }
                Obs::Num(_) => {}
                Obs::Text(r) => self.set_text(name, obs.text(r), now_ms),
                Obs::C32(v) => self.counter(name, u64::from(*v), false, now_ms, resets, fresh),
                Obs::C64(v) => self.counter(name, *v, true, now_ms, resets, fresh),
            }
        }
        self.derive(now_ms, fresh);
        outcome
    }

    /// One counter observation.
    fn counter(
        &mut self,
        name: &'static str,
        raw: u64,
        wide: bool,
        now_ms: u64,
        resets: &mut u64,
        fresh: &mut Vec<(&'static str, f64)>,
    ) {
        let pos = self.bases.iter().position(|b| b.name == name);
        let unknown = if wide { u64::MAX } else { u64::from(u32::MAX) };
        if raw == unknown {
            if let Some(p) = pos {
                self.bases.swap_remove(p);
            }
            self.remove(name);
            return;
        }
        let new = Base {
            name,
            raw,
            at_ms: now_ms,
        };
        let Some(b) = pos.and_then(|p| self.bases.get_mut(p)) else {
            self.bases.push(new);
            return;
        };
        if now_ms == b.at_ms {
            return;
        }
        let old = *b;
        *b = new;
        if now_ms < old.at_ms {
            return;
        }
        let Some(d) = delta(old.raw, raw, wide) else {
            *resets += 1;
            return;
        };
        let rate = d as f64 * 1000.0 / (now_ms - old.at_ms) as f64;
        fresh.push((name, rate));
        if CPU_TIMES.contains(&name) {
            return; // replaced by percentages in `derive`
        }
        let shown = if MS_PERCENT.contains(&name) {
            rate / 10.0
        } else {
            rate
        };
        self.set(name, Metric::Num(shown), now_ms, true);
    }

    /// Metrics computed from this sample's fresh values (see `names::DERIVED`).
    fn derive(&mut self, now_ms: u64, fresh: &[(&'static str, f64)]) {
        let f = |n: &str| fresh.iter().find(|x| x.0 == n).map(|x| x.1);
        // At most 17 derived metrics (4 interface, 8 CPU, 5 others): on the stack.
        let mut out: arrayvec::ArrayVec<(&'static str, f64), 24> = arrayvec::ArrayVec::new();
        for (dir, ucast, mcast, bcast, octets, util) in [
            (
                "ifinpkts",
                "ifinucastpkts",
                "ifinmulticastpkts",
                "ifinbroadcastpkts",
                "ifinoctets",
                "ifinutilization",
            ),
            (
                "ifoutpkts",
                "ifoutucastpkts",
                "ifoutmulticastpkts",
                "ifoutbroadcastpkts",
                "ifoutoctets",
                "ifoututilization",
            ),
        ] {
            if let Some(u) = f(ucast) {
                let _ = out.try_push((dir, u + f(mcast).unwrap_or(0.0) + f(bcast).unwrap_or(0.0)));
            }
            if let (Some(o), Some(speed)) = (f(octets), f("ifspeed")) {
                if speed > 0.0 {
                    let _ = out.try_push((util, o * 8.0 / speed * 100.0));
                }
            }
        }
        let mut cpu = [0.0; CPU_TIMES.len()];
        let all_cpu = CPU_TIMES
            .iter()
            .zip(cpu.iter_mut())
            .all(|(n, slot)| f(n).map(|v| *slot = v).is_some());
        if all_cpu {
            let total: f64 = cpu.iter().sum();
            if total > 0.0 {
                for (n, v) in CPU_TIMES.iter().zip(&cpu) {
                    let _ = out.try_push((n, v / total * 100.0));
                }
                let idle = cpu.get(3).copied().unwrap_or(0.0);
                let _ = out.try_push(("cpu_utilization", 100.0 - idle / total * 100.0));
            }
        }
        if let (Some(t), Some(free)) = (f("mem_total"), f("mem_free")) {
            if t > 0.0 {
                let used =
                    t - free - f("mem_buffers").unwrap_or(0.0) - f("mem_cached").unwrap_or(0.0);
                let _ = out.try_push(("mem_utilization", (used / t * 100.0).clamp(0.0, 100.0)));
            }
        }
        if let (Some(t), Some(free)) = (f("disk_total"), f("disk_free")) {
            if t > 0.0 {
                let _ = out.try_push((
                    "disk_utilization",
                    ((t - free) / t * 100.0).clamp(0.0, 100.0),
                ));
            }
        }
        if let Some(ms) = f("vir_cpu_time") {
            let _ = out.try_push(("vir_cpu_utilization", ms / 10.0));
        }
        if let (Some(used), Some(t)) = (f("vir_mem_used"), f("vir_mem_total")) {
            if t > 0.0 {
                let _ = out.try_push(("vir_mem_utilization", used / t * 100.0));
            }
        }
        if let (Some(h), Some(m)) = (f("ovs_dp_hits"), f("ovs_dp_misses")) {
            let all = h + m;
            let _ = out.try_push((
                "ovs_dp_missrate",
                if all > 0.0 { m / all * 100.0 } else { 0.0 },
            ));
        }
        for (n, v) in out {
            if v.is_finite() {
                self.set(n, Metric::Num(v), now_ms, true);
            }
        }
    }

    fn set(&mut self, name: &'static str, value: Metric, at_ms: u64, rate: bool) {
        let e = Entry {
            name,
            value,
            at_ms,
            rate,
        };
        match self.values.binary_search_by(|x| x.name.cmp(name)) {
            Ok(i) => {
                if let Some(slot) = self.values.get_mut(i) {
                    *slot = e;
                }
            }
            Err(i) => self.values.insert(i, e),
        }
    }

    /// Sets a text metric, reusing the stored text when it did not change (no allocation).
    fn set_text(&mut self, name: &'static str, text: &str, at_ms: u64) {
        if let Ok(i) = self.values.binary_search_by(|x| x.name.cmp(name)) {
            if let Some(e) = self.values.get_mut(i) {
                if matches!(&e.value, Metric::Text(t) if t == text) {
                    e.at_ms = at_ms;
                    e.rate = false;
                    return;
                }
            }
        }
        self.set(name, Metric::Text(text.to_string()), at_ms, false);
    }

    fn remove(&mut self, name: &str) {
        if let Ok(i) = self.values.binary_search_by(|x| x.name.cmp(name)) {
            self.values.remove(i);
        }
    }
}

/// The increase from `old` to `new`, with wraps; `None` for a reset.
pub(crate) fn delta(old: u64, new: u64, wide: bool) -> Option<u64> {
    if new >= old {
        return Some(new - old);
    }
    let u32_max = u64::from(u32::MAX);
    if !wide || (old <= u32_max && new <= u32_max) {
        let d = (u32_max - old) + new + 1;
        return (d < 1 << 31).then_some(d);
    }
    let d = (u64::MAX - old) + new + 1;
    (d < 1 << 63).then_some(d)
}

#[cfg(test)]
mod tests {
    use super::delta;

    #[test]
    fn wraps_and_resets() {
        assert_eq!(delta(10, 15, false), Some(5));
        assert_eq!(delta(u64::from(u32::MAX) - 9, 5, false), Some(15));
        assert_eq!(delta(1_000_000_000, 5, false), None);
        assert_eq!(delta(u64::MAX - 9, 5, true), Some(15));
        assert_eq!(delta(1 << 40, 5, true), None);
        // a 32-bit register in a 64-bit field
        assert_eq!(delta(u64::from(u32::MAX) - 9, 5, true), Some(15));
    }
}
