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
            eprintln!("flowlens: script {}: {level}: {text}", ops.id);
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
        "baselineReset" => Ok(Json::Bool(ops.baselines.reset(&a.str(0, "name")?))),
        "baselineDelete" => Ok(Json::Bool(ops.baselines.delete(&a.str(0, "name")?))),
        _ => Err(Error::Script(format!(
            "internal: unknown script API function `{}`",
            a.function
        ))),
    }
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
            .map(Json::from)
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
