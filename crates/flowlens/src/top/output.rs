//! `flowlens top` output: a table for people, or sFlow-RT's activeflows JSON.

use std::io::Write;

use anyhow::Result;
use flowlens_engine::definition::FlowDef;
use flowlens_engine::ActiveFlow;
use serde_json::{json, Value as Json};

/// The rows of one definition.
pub(super) enum Rows {
    /// Smoothed active flows.
    Active(Vec<ActiveFlow>),
    /// Totals over the capture: key, total, half-width of its 95 % confidence interval.
    Totals(Vec<(String, f64, f64)>),
}

/// JSON: sFlow-RT's `/activeflows` array `[{"key":…,"value":…}, …]` (with `values`, `agent`,
/// `dataSource`, `samples`, `ci95`); totals as `[{"key":…,"value":…,"ci95":…}]`. Several definitions
/// make one object `{name: array}`. One line per report.
pub(super) fn json(out: &mut impl Write, docs: &[(&str, &FlowDef, Rows)]) -> Result<()> {
    let arrays: Vec<(&str, Json)> = docs
        .iter()
        .map(|(name, _, rows)| {
            let a = match rows {
                Rows::Active(v) => Json::Array(v.iter().map(ActiveFlow::to_json).collect()),
                Rows::Totals(v) => Json::Array(
                    v.iter()
                        .map(|(k, x, c)| json!({"key": k, "value": x, "ci95": c}))
                        .collect(),
                ),
            };
            (*name, a)
        })
        .collect();
    let doc = match arrays.as_slice() {
        [(_, a)] => a.clone(),
        _ => Json::Object(
            arrays
                .into_iter()
                .map(|(n, a)| (n.to_string(), a))
                .collect(),
        ),
    };
    serde_json::to_writer(&mut *out, &doc)?;
    writeln!(out)?;
    Ok(())
}

/// A number for people: integers as integers, others with 3 significant decimals.
fn num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else if v.abs() >= 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

/// The table: one column per key, then the value (with `/s` for rates), the samples and the
/// 95 % interval; a header per definition when there are several.
pub(super) fn table(
    out: &mut impl Write,
    docs: &[(&str, &FlowDef, Rows)],
    headers: bool,
) -> Result<()> {
    for (i, (name, def, rows)) in docs.iter().enumerate() {
        if headers {
            if i > 0 {
                writeln!(out)?;
            }
            writeln!(out, "# {name}")?;
        }
        let mut head: Vec<String> = def.keys.iter().map(|k| k.source().to_string()).collect();
        if head.is_empty() {
            head.push("total".into());
        }
        let mut cells: Vec<Vec<String>> = Vec::new();
        let split = |key: &str| -> Vec<String> {
            if def.keys.len() <= 1 {
                vec![key.to_string()]
            } else {
                key.split(def.fs.as_str()).map(str::to_string).collect()
            }
        };
        match rows {
            Rows::Active(v) => {
                head.push(format!("{}/s", def.value.source));
                head.push("samples".into());
                head.push("±95%".into());
                for a in v {
                    let mut r = split(&a.key);
                    r.push(num(a.value));
                    r.push(format!("{:.0}", a.samples));
                    r.push(num(a.ci95));
                    cells.push(r);
                }
            }
            Rows::Totals(v) => {
                head.push(def.value.source.clone());
                head.push("±95%".into());
                for (k, x, c) in v {
                    let mut r = split(k);
                    r.push(num(*x));
                    r.push(num(*c));
                    cells.push(r);
                }
            }
        }
        let cols = head.len();
        let mut width: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
        for r in &cells {
            for (w, c) in width.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count());
            }
        }
        let keys = cols
            - if matches!(rows, Rows::Active(_)) {
                3
            } else {
                2
            };
        let line = |out: &mut dyn Write, r: &[String]| -> std::io::Result<()> {
            let mut s = String::new();
            for (j, (c, w)) in r.iter().zip(&width).enumerate() {
                if j > 0 {
                    s.push_str("  ");
                }
                if j < keys {
                    s.push_str(&format!("{c:<w$}"));
                } else {
                    s.push_str(&format!("{c:>w$}"));
                }
            }
            writeln!(out, "{}", s.trim_end())
        };
        line(out, &head)?;
        for r in &cells {
            line(out, r)?;
        }
        if cells.is_empty() {
            writeln!(out, "(no flows)")?;
        }
    }
    Ok(())
}
