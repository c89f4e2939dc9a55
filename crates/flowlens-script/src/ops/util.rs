//! The rest of the script API: logging (`logInfo`…), system properties, `include` (the
//! source is read here; the prelude evaluates it), `scriptdir`, baselines.

use serde_json::{json, Value as Json};

use super::{Args, Ops};
use crate::{Error, Result};

/// Largest file `include()` reads, bytes.
const MAX_INCLUDE_BYTES: u64 = 16 << 20;

pub(super) fn call(ops: &mut Ops, a: Args<'_>) -> Result<Json> {
    match a.function {
        "logFine" | "logInfo" | "logWarning" | "logSevere" => {
            let level = match a.function {
                "logFine" => "fine",
                "logInfo" => "info",
                "logWarning" => "warning",
                _ => "severe",
            };
            let text = match a.get(0) {
                Json::String(s) => s.clone(),
                v => v.to_string(),
            };
            ops.shared.log(level, &text);
            // The script's own log: its level, under the target `flowlens_script::log`.
            match level {
                "fine" => {
                    tracing::debug!(target: "flowlens_script::log", script = %ops.id, "script {}: {text}", ops.id)
                }
                "info" => {
                    tracing::info!(target: "flowlens_script::log", script = %ops.id, "script {}: {text}", ops.id)
                }
                "warning" => {
                    tracing::warn!(target: "flowlens_script::log", script = %ops.id, "script {}: {text}", ops.id)
                }
                _ => {
                    tracing::error!(target: "flowlens_script::log", script = %ops.id, "script {}: {text}", ops.id)
                }
            }
            Ok(Json::Null)
        }
        "getSystemProperty" => Ok(ops
            .config
            .properties
            .get(&a.str(0, "name")?)
            .map_or(Json::Null, |v| Json::from(v.clone()))),
        "getSystemPropertyNames" => Ok(Json::from(
            ops.config.properties.keys().cloned().collect::<Vec<_>>(),
        )),
        "scriptdir" => Ok(Json::from(ops.dir.display().to_string())),
        "include" => include(ops, a),
        "baselineCreate" => {
            let name = a.str(0, "name")?;
            let window = a.opt_f64(1, "window")?;
            let sensitivity = a.opt_f64(2, "sensitivity")?;
            let repeat = a.opt_f64(3, "repeat")?;
            if window.is_some_and(|w| w.is_nan() || w < 1.0)
                || repeat.is_some_and(|r| r.is_nan() || r < 0.0)
            {
                return Err(a.bad("window must be ≥ 1 and repeat ≥ 0"));
            }
            ops.baselines.create(
                &name,
                window.map(|w| w as usize),
                sensitivity,
                repeat.map(|r| r as u32),
            )?;
            Ok(Json::Null)
        }
        "baselineCheck" => {
            let name = a.str(0, "name")?;
            let v = a
                .opt_f64(1, "value")?
                .ok_or_else(|| a.bad("value must be a number"))?;
            Ok(Json::from(ops.baselines.check(&name, v)?.as_str()))
        }
        "baselineStatistics" => {
            let name = a.str(0, "name")?;
            Ok(
                match ops.baselines.get(&name).and_then(|b| b.statistics()) {
                    Some(s) => json!({
                        "mean": s.mean, "variance": s.variance, "sdev": s.sdev, "min": s.min, "max": s.max,
                    }),
                    None => Json::Null,
                },
            )
        }
        "formatNumber" => {
            let n = a
                .opt_f64(0, "number")?
                .ok_or_else(|| a.bad("number (argument 1) must be a number"))?;
            let pattern = a
                .opt_str(1, "pattern")?
                .unwrap_or_else(|| "#,##0.###".into());
            Ok(Json::from(format_number(n, &pattern)))
        }
        "md5" => {
            use md5::Digest;
            let text = a.str(0, "text")?;
            let digest = md5::Md5::digest(text.as_bytes());
            Ok(Json::from(
                digest
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>(),
            ))
        }
        "baselineReset" => Ok(Json::Bool(ops.baselines.reset(&a.str(0, "name")?))),
        "baselineDelete" => Ok(Json::Bool(ops.baselines.delete(&a.str(0, "name")?))),
        _ => Err(Error::Script(format!(
            "internal: unknown script API function `{}`",
            a.function
        ))),
    }
}

/// `formatNumber(n, pattern)`: the subset of Java's `DecimalFormat` patterns scripts use:
/// literal prefix and suffix text, `,` grouping (groups of three), `0` (a digit always shown)
/// and `#` (a digit shown when significant) before and after `.`, a trailing `%` (×100).
/// Rounded half to even, as Java's default. Not supported (printed literally): exponent
/// `E`, `¤`, `‰`, quoted text, and the `;negative` sub-pattern.
pub(crate) fn format_number(n: f64, pattern: &str) -> String {
    if !n.is_finite() {
        return if n.is_nan() {
            "NaN".into()
        } else if n > 0.0 {
            "∞".into()
        } else {
            "-∞".into()
        };
    }
    let is_digit = |c: char| matches!(c, '0' | '#' | ',' | '.');
    let start = pattern.find(is_digit).unwrap_or(pattern.len());
    let end = pattern.rfind(is_digit).map_or(start, |i| i + 1);
    let (prefix, number, suffix) = (
        pattern.get(..start).unwrap_or_default(),
        pattern.get(start..end).unwrap_or_default(),
        pattern.get(end..).unwrap_or_default(),
    );
    let scale = if suffix.contains('%') || prefix.contains('%') {
        100.0
    } else {
        1.0
    };
    let (int_pat, frac_pat) = number.split_once('.').unwrap_or((number, ""));
    let min_frac = frac_pat.chars().filter(|&c| c == '0').count();
    let max_frac = frac_pat.chars().filter(|&c| c == '0' || c == '#').count();
    let min_int = int_pat.chars().filter(|&c| c == '0').count();
    let grouping = int_pat.contains(',');
    let v = round_half_even(n.abs() * scale, max_frac);
    let text = format!("{v:.max_frac$}");
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let mut frac = frac.to_string();
    while frac.len() > min_frac && frac.ends_with('0') {
        frac.pop();
    }
    let mut int = int.trim_start_matches('0').to_string();
    while int.len() < min_int {
        int.insert(0, '0');
    }
    if grouping {
        let digits: Vec<char> = int.chars().collect();
        let mut g = String::new();
        for (i, c) in digits.iter().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                g.push(',');
            }
            g.push(*c);
        }
        int = g;
    }
    if int.is_empty() && frac.is_empty() {
        int.push('0');
    }
    let negative = n < 0.0
        && (int
            .chars()
            .chain(frac.chars())
            .any(|c| c.is_ascii_digit() && c != '0'));
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    out.push_str(prefix);
    out.push_str(&int);
    if !frac.is_empty() {
        out.push('.');
        out.push_str(&frac);
    }
    out.push_str(suffix);
    out
}

/// `v` rounded to `digits` decimals, ties to even.
fn round_half_even(v: f64, digits: usize) -> f64 {
    let m = 10f64.powi(i32::try_from(digits).unwrap_or(i32::MAX).min(300));
    let x = v * m;
    let r = x.round();
    let r = if (x - x.trunc()).abs() == 0.5 && r % 2.0 != 0.0 {
        r - x.signum()
    } else {
        r
    };
    r / m
}

/// `include(file)`: the source of `file` (relative to the script's directory), or `null` for
/// `extras/json2.js` when the script does not ship it (JSON is built into the runtime).
fn include(ops: &Ops, a: Args<'_>) -> Result<Json> {
    let file = a.str(0, "file")?;
    let path = ops.dir.join(&file);
    match std::fs::metadata(&path) {
        Ok(m) if m.len() > MAX_INCLUDE_BYTES => Err(a.bad(format!(
            "{} is larger than {MAX_INCLUDE_BYTES} bytes",
            path.display()
        ))),
        Ok(_) => std::fs::read_to_string(&path)
            .map(|src| Json::from(crate::source::rewrite_expression_closures(&src)))
            .map_err(|source| Error::Io {
                context: format!("include(): cannot read {}", path.display()),
                source,
            }),
        Err(_) if file.ends_with("json2.js") => Ok(Json::Null),
        Err(source) => Err(Error::Io {
            context: format!("include(): cannot read {}", path.display()),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::format_number;

    #[test]
    fn decimal_format_patterns() {
        assert_eq!(format_number(1_234_567.891, "#,###.##"), "1,234,567.89");
        assert_eq!(format_number(0.5, "0.00"), "0.50");
        assert_eq!(format_number(3.0, "#.##"), "3");
        assert_eq!(format_number(0.25, "#.#"), ".2");
        assert_eq!(format_number(0.256, "0.0%"), "25.6%");
        assert_eq!(format_number(-42.0, "000"), "-042");
        assert_eq!(format_number(12.5, "$#,##0.00 bps"), "$12.50 bps");
        assert_eq!(format_number(2.5, "0"), "2");
        assert_eq!(format_number(f64::NAN, "0"), "NaN");
    }
}
