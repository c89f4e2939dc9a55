//! Summary statistics over many data sources' values of one metric: sFlow-RT's metric
//! prefixes (`/metric/{agent}/{metrics}/json`: `max:` (default), `min:`, `sum:`, `avg:`,
//! `var:`, `sdev:`, `med:`, `q1:`, `q2:`, `q3:`, `iqr:`, `any:`).
//!
//! Definitions (sFlow-RT does not document them; these are the choices, fixed by tests):
//! `var` is the sample variance (divisor n − 1; 0 for a single value), `sdev` its square
//! root; quantiles interpolate linearly between the order statistics (`h = (n − 1)·p`, the
//! definition spreadsheets and NumPy use by default), `med` = `q2`, `iqr` = `q3 − q1`.
//! Non-finite values never reach here (the counter store drops them).

use core::cmp::Ordering;

use crate::error::{Error, Result};

/// A summary statistic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stat {
    /// `any:` an arbitrary value (the most recently updated one).
    Any,
    /// `avg:` arithmetic mean.
    Avg,
    /// `iqr:` inter-quartile range, `q3 − q1`.
    Iqr,
    /// `max:` largest value (the default when a metric has no prefix).
    Max,
    /// `med:` median (same as `q2:`).
    Med,
    /// `min:` smallest value.
    Min,
    /// `q1:` first quartile.
    Q1,
    /// `q2:` second quartile (median).
    Q2,
    /// `q3:` third quartile.
    Q3,
    /// `sdev:` sample standard deviation.
    Sdev,
    /// `sum:` sum.
    Sum,
    /// `var:` sample variance.
    Var,
}

impl Stat {
    /// All statistics, in prefix order of the sFlow-RT documentation.
    pub const ALL: [Stat; 12] = [
        Stat::Max,
        Stat::Min,
        Stat::Sum,
        Stat::Avg,
        Stat::Var,
        Stat::Sdev,
        Stat::Med,
        Stat::Q1,
        Stat::Q2,
        Stat::Q3,
        Stat::Iqr,
        Stat::Any,
    ];

    /// The prefix without its colon: `max`, `min`, ...
    pub const fn name(self) -> &'static str {
        match self {
            Stat::Any => "any",
            Stat::Avg => "avg",
            Stat::Iqr => "iqr",
            Stat::Max => "max",
            Stat::Med => "med",
            Stat::Min => "min",
            Stat::Q1 => "q1",
            Stat::Q2 => "q2",
            Stat::Q3 => "q3",
            Stat::Sdev => "sdev",
            Stat::Sum => "sum",
            Stat::Var => "var",
        }
    }

    /// Splits `max:load_one` into `(Max, "load_one")`; no prefix means `Max`.
    ///
    /// # Errors
    /// [`Error::Invalid`] (`what` = `metric`) for an unknown prefix (`foo:load_one`) or an
    /// empty metric name.
    pub fn split(text: &str) -> Result<(Stat, &str)> {
        let (stat, name) = match text.split_once(':') {
            None => (Stat::Max, text),
            Some((p, name)) => {
                let stat = Stat::ALL
                    .into_iter()
                    .find(|s| s.name() == p)
                    .ok_or_else(|| Error::invalid("metric", text, "unknown statistic prefix"))?;
                (stat, name)
            }
        };
        if name.is_empty() {
            return Err(Error::invalid("metric", text, "empty metric name"));
        }
        Ok((stat, name))
    }

    /// True when the result is one of the values (`max`, `min`, `any`), so that its agent and
    /// data source can be reported.
    pub const fn picks(self) -> bool {
        matches!(self, Stat::Max | Stat::Min | Stat::Any)
    }

    /// The statistic of `values`; `None` when `values` is empty. `Any` returns the first
    /// value (callers order the newest first). Sorts `values` for the order statistics.
    pub fn compute(self, values: &mut [f64]) -> Option<f64> {
        let n = values.len();
        let first = *values.first()?;
        let sum: f64 = values.iter().sum();
        let mean = sum / n as f64;
        Some(match self {
            Stat::Any => first,
            Stat::Max => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            Stat::Min => values.iter().copied().fold(f64::INFINITY, f64::min),
            Stat::Sum => sum,
            Stat::Avg => mean,
            Stat::Var => variance(values, mean),
            Stat::Sdev => variance(values, mean).sqrt(),
            Stat::Med | Stat::Q2 => quantile(values, 0.5),
            Stat::Q1 => quantile(values, 0.25),
            Stat::Q3 => quantile(values, 0.75),
            Stat::Iqr => quantile(values, 0.75) - quantile(values, 0.25),
        })
    }

    /// The index of the value `max`/`min` pick (first of equals); `Any` picks index 0;
    /// `None` for the other statistics or no values.
    pub fn pick(self, values: &[f64]) -> Option<usize> {
        let better = |a: f64, b: f64| match self {
            Stat::Max => a.total_cmp(&b) == Ordering::Greater,
            _ => a.total_cmp(&b) == Ordering::Less,
        };
        match self {
            Stat::Any if !values.is_empty() => Some(0),
            Stat::Max | Stat::Min => {
                let mut best: Option<(usize, f64)> = None;
                for (i, &v) in values.iter().enumerate() {
                    if best.is_none_or(|(_, b)| better(v, b)) {
                        best = Some((i, v));
                    }
                }
                best.map(|(i, _)| i)
            }
            _ => None,
        }
    }
}

/// Sample variance (n − 1); 0 for fewer than two values.
fn variance(values: &[f64], mean: f64) -> f64 {
    if values.len() < 2 {
        return 0.0;
    }
    let ss: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
    ss / (values.len() - 1) as f64
}

/// Linear-interpolation quantile `p` of `values` (sorted in place).
fn quantile(values: &mut [f64], p: f64) -> f64 {
    values.sort_unstable_by(f64::total_cmp);
    let h = (values.len().saturating_sub(1)) as f64 * p;
    let lo = h.floor();
    let at = |i: f64| values.get(i as usize).copied().unwrap_or(0.0);
    at(lo) + (h - lo) * (at(h.ceil()) - at(lo))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: Stat, v: &[f64]) -> f64 {
        s.compute(&mut v.to_vec()).unwrap_or(f64::NAN)
    }

    #[test]
    fn prefixes() {
        assert_eq!(Stat::split("load_one").ok(), Some((Stat::Max, "load_one")));
        assert_eq!(
            Stat::split("sum:load_one").ok(),
            Some((Stat::Sum, "load_one"))
        );
        assert_eq!(Stat::split("iqr:x").ok(), Some((Stat::Iqr, "x")));
        let r = Stat::split("foo:load_one");
        assert!(
            matches!(&r, Err(Error::Invalid { what: "metric", field, reason }) if field == "foo:load_one" && reason.contains("unknown statistic prefix")),
            "{r:?}"
        );
        let r = Stat::split("sum:");
        assert!(
            matches!(&r, Err(Error::Invalid { what: "metric", field, reason }) if field == "sum:" && reason.contains("empty metric name")),
            "{r:?}"
        );
    }

    #[test]
    fn values() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(c(Stat::Sum, &v), 10.0);
        assert_eq!(c(Stat::Avg, &v), 2.5);
        assert_eq!(c(Stat::Max, &v), 4.0);
        assert_eq!(c(Stat::Min, &v), 1.0);
        assert!((c(Stat::Var, &v) - 5.0 / 3.0).abs() < 1e-12);
        assert_eq!(c(Stat::Med, &v), 2.5);
        assert_eq!(c(Stat::Q1, &v), 1.75);
        assert_eq!(c(Stat::Q3, &v), 3.25);
        assert_eq!(c(Stat::Iqr, &v), 1.5);
        assert_eq!(c(Stat::Var, &[7.0]), 0.0);
        assert_eq!(Stat::Sum.compute(&mut []), None);
        assert_eq!(Stat::Max.pick(&[1.0, 5.0, 5.0]), Some(1));
        assert_eq!(Stat::Min.pick(&[3.0, 1.0]), Some(1));
        assert_eq!(Stat::Sum.pick(&[3.0]), None);
    }
}
