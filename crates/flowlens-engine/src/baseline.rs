//! Temporal baselines for anomaly detection: sFlow-RT's `baselineCreate`, `baselineCheck`,
//! `baselineStatistics`, `baselineReset`, `baselineDelete` (blog.sflow.com, "Real-time
//! baseline anomaly detection", 2018-04).
//!
//! A baseline learns from the first `window` values ("learning"), then answers each new value
//! with "normal", "high" or "low": a value beyond mean ± `sensitivity` standard deviations of
//! the last `window` accepted values counts as outside; `repeat` successive values outside on
//! the same side flag the anomaly. Values inside the limits join the window (the oldest
//! leaves); values outside do not, so a sustained anomaly does not become the new normal
//! (*flowlens*: the article does not say). Memory: `window` numbers per baseline, at most
//! [`MAX_BASELINES`] baselines.

use std::collections::VecDeque;

use crate::error::{Error, Result};
use flowlens_netflow::hash::{map, Map};

/// Most baselines an engine keeps.
pub const MAX_BASELINES: usize = 10_000;
/// Largest window.
pub const MAX_WINDOW: usize = 100_000;

/// A baseline's answer to one value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Fewer than `window` values seen yet.
    Learning,
    /// Within the limits (or not yet `repeat` times outside).
    Normal,
    /// `repeat` successive values above the upper limit.
    High,
    /// `repeat` successive values below the lower limit.
    Low,
}

impl Status {
    /// `learning`, `normal`, `high`, `low` (the strings scripts compare against).
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Learning => "learning",
            Status::Normal => "normal",
            Status::High => "high",
            Status::Low => "low",
        }
    }
}

/// Statistics of a baseline's window.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Statistics {
    /// Mean.
    pub mean: f64,
    /// Population variance.
    pub variance: f64,
    /// Standard deviation.
    pub sdev: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
}

/// One baseline.
#[derive(Clone, Debug)]
pub struct Baseline {
    window: usize,
    sensitivity: f64,
    repeat: u32,
    values: VecDeque<f64>,
    above: u32,
    below: u32,
}

impl Baseline {
    /// A baseline over `window` values (1..=100,000), limits at `sensitivity` (> 0) standard
    /// deviations, flagging after `repeat` (≥ 1) successive values outside.
    pub fn new(window: usize, sensitivity: f64, repeat: u32) -> Result<Baseline> {
        if !(1..=MAX_WINDOW).contains(&window) {
            return Err(Error::invalid("baseline", "window", "must be 1..100000"));
        }
        if !(sensitivity.is_finite() && sensitivity > 0.0) {
            return Err(Error::invalid(
                "baseline",
                "sensitivity",
                "must be a positive number",
            ));
        }
        if repeat == 0 {
            return Err(Error::invalid("baseline", "repeat", "must be at least 1"));
        }
        Ok(Baseline {
            window,
            sensitivity,
            repeat,
            values: VecDeque::with_capacity(window.min(1024)),
            above: 0,
            below: 0,
        })
    }

    /// Checks (and learns from) one value. Non-finite values are ignored (answered with the
    /// current state).
    pub fn check(&mut self, v: f64) -> Status {
        if !v.is_finite() {
            return if self.values.len() < self.window {
                Status::Learning
            } else {
                Status::Normal
            };
        }
        if self.values.len() < self.window {
            self.values.push_back(v);
            return Status::Learning;
        }
        let Some(s) = self.statistics() else {
            return Status::Learning;
        };
        let (hi, lo) = (
            s.mean + self.sensitivity * s.sdev,
            s.mean - self.sensitivity * s.sdev,
        );
        if v > hi {
            self.above += 1;
            self.below = 0;
        } else if v < lo {
            self.below += 1;
            self.above = 0;
        } else {
            self.above = 0;
            self.below = 0;
            self.values.pop_front();
            self.values.push_back(v);
        }
        if self.above >= self.repeat {
            Status::High
        } else if self.below >= self.repeat {
            Status::Low
        } else {
            Status::Normal
        }
    }

    /// The window's statistics; `None` while learning.
    pub fn statistics(&self) -> Option<Statistics> {
        if self.values.len() < self.window || self.values.is_empty() {
            return None;
        }
        let n = self.values.len() as f64;
        let mean = self.values.iter().sum::<f64>() / n;
        let variance = self
            .values
            .iter()
            .map(|x| (x - mean) * (x - mean))
            .sum::<f64>()
            / n;
        let (min, max) = self
            .values
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
                (a.min(*x), b.max(*x))
            });
        Some(Statistics {
            mean,
            variance,
            sdev: variance.sqrt(),
            min,
            max,
        })
    }

    /// Forgets everything: learning again.
    pub fn reset(&mut self) {
        self.values.clear();
        self.above = 0;
        self.below = 0;
    }
}

/// Named baselines.
#[derive(Debug)]
pub struct Baselines {
    map: Map<String, Baseline>,
}

impl Default for Baselines {
    fn default() -> Self {
        Baselines { map: map() }
    }
}

impl Baselines {
    /// Creates (or replaces) baseline `name`. Defaults when absent: window 100, sensitivity
    /// 3, repeat 3 (*flowlens*'s choice; the article gives no defaults).
    pub fn create(
        &mut self,
        name: &str,
        window: Option<usize>,
        sensitivity: Option<f64>,
        repeat: Option<u32>,
    ) -> Result<()> {
        let b = Baseline::new(
            window.unwrap_or(100),
            sensitivity.unwrap_or(3.0),
            repeat.unwrap_or(3),
        )?;
        if !self.map.contains_key(name) && self.map.len() >= MAX_BASELINES {
            return Err(Error::Limit {
                what: "baselines",
                limit: MAX_BASELINES,
            });
        }
        self.map.insert(name.to_string(), b);
        Ok(())
    }

    /// Checks a value against baseline `name`.
    pub fn check(&mut self, name: &str, v: f64) -> Result<Status> {
        self.map
            .get_mut(name)
            .map(|b| b.check(v))
            .ok_or_else(|| Error::NotFound {
                what: "baseline",
                name: name.to_string(),
            })
    }

    /// Baseline `name`, if it exists.
    pub fn get(&self, name: &str) -> Option<&Baseline> {
        self.map.get(name)
    }

    /// Resets baseline `name`; false when absent.
    pub fn reset(&mut self, name: &str) -> bool {
        self.map.get_mut(name).map(Baseline::reset).is_some()
    }

    /// Deletes baseline `name`; false when absent.
    pub fn delete(&mut self, name: &str) -> bool {
        self.map.remove(name).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_then_flags_high_and_low_after_repeat() {
        let mut b = Baseline::new(10, 2.0, 2).unwrap();
        // 100 ± 1 alternating: mean 100, sdev 1, limits 98..102.
        for i in 0..10 {
            assert_eq!(
                b.check(if i % 2 == 0 { 99.0 } else { 101.0 }),
                Status::Learning
            );
        }
        let s = b.statistics().unwrap();
        assert_eq!((s.mean, s.sdev, s.min, s.max), (100.0, 1.0, 99.0, 101.0));
        assert_eq!(b.check(101.5), Status::Normal);
        assert_eq!(b.check(150.0), Status::Normal); // first outside
        assert_eq!(b.check(150.0), Status::High); // repeat reached
        assert_eq!(b.check(150.0), Status::High);
        // The anomaly did not join the window.
        assert!(b.statistics().unwrap().max < 102.0);
        assert_eq!(b.check(100.0), Status::Normal);
        assert_eq!(b.check(10.0), Status::Normal);
        assert_eq!(b.check(10.0), Status::Low);
        b.reset();
        assert_eq!(b.check(100.0), Status::Learning);
        assert!(b.statistics().is_none());
    }

    #[test]
    fn registry_and_errors() {
        let mut r = Baselines::default();
        let missing = r.check("x", 1.0);
        assert!(
            matches!(&missing, Err(Error::NotFound { what: "baseline", name }) if name == "x"),
            "{missing:?}"
        );
        r.create("x", Some(2), None, Some(1)).unwrap();
        assert_eq!(r.check("x", 1.0).unwrap().as_str(), "learning");
        let bad = Baseline::new(0, 1.0, 1);
        assert!(
            matches!(&bad, Err(Error::Invalid { what: "baseline", field, reason }) if field == "window" && reason.contains("must be 1..100000")),
            "{bad:?}"
        );
        let bad = Baseline::new(5, 0.0, 1);
        assert!(
            matches!(&bad, Err(Error::Invalid { what: "baseline", field, reason }) if field == "sensitivity" && reason.contains("must be a positive number")),
            "{bad:?}"
        );
        let bad = Baseline::new(5, 1.0, 0);
        assert!(
            matches!(&bad, Err(Error::Invalid { what: "baseline", field, reason }) if field == "repeat" && reason.contains("must be at least 1")),
            "{bad:?}"
        );
        assert!(r.reset("x") && r.delete("x") && !r.delete("x"));
    }
}
