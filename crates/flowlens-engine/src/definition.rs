//! Flow definitions: sFlow-RT's `setFlow(name, spec)` / `PUT /flow/{name}/json` body.
//!
//! | attribute | default | meaning (sFlow-RT "Defining Flows", define_flow.php) |
//! |---|---|---|
//! | `keys` | none (one total) | comma list (or array) of keys / key functions |
//! | `value` | required | `bytes`, `frames`, any numeric key (scaled rate), or `rate:<key>`, `avg:<key>`, `min:<key>`, `max:<key>`, `count:<key>` |
//! | `values` | none | more values of the same forms, reported as `values[]` |
//! | `filter` | none | filter expression (see [`crate::expr`]) |
//! | `t` | 2 | smoothing time constant, seconds, clamped to 0.2..=600 |
//! | `n` | 5 | largest flows kept per data source for `topKeys`, clamped to 5..=20 |
//! | `fs` | `,` | separator joining key values |
//! | `log` | false | log completed flows (`/flows/json`, flow handlers) |
//! | `flowStart` | false | log when a flow starts instead of when it ends |
//! | `activeTimeout` | 60 | seconds after which a long-lived logged flow is flushed |
//! | `dropped` | false | build the flow from dropped-packet notifications (adds `reason`) |
//! | `aggMode` | none | `agent`: one table per agent instead of per data source (sFlow-RT 3.1 `AGENT`) |
//! | `ipfixCollectors` | none | accepted and kept; IPFIX export of flows is not implemented |
//!
//! Value semantics (also in docs/flow-engine.md): `bytes`, `frames`, numeric
//! keys and `rate:<key>` are per-second rates of the sampled values scaled by the sampling
//! rate and smoothed with time constant `t`; `avg:<key>` is the sample-weighted mean of the key
//! (not scaled), smoothed the same way; `min:`/`max:` are the extreme value seen within the
//! last `t` seconds; `count:<key>` is the number of distinct values of the key among samples
//! of the flow within the last `max(t, 1)` seconds (saturating at [`MAX_DISTINCT`], 256).
//!
//! Size limits (a definition is compiled into every sample's path and saved at every write,
//! so its size is bounded whatever a client sends; beyond a limit the definition is refused
//! with an error naming the limit, 400 over REST):
//!
//! | limit | value | what |
//! |---|---|---|
//! | [`MAX_KEYS`] | 32 | key expressions in `keys` |
//! | [`MAX_KEYS_BYTES`] | 4,096 | the `keys` attribute, bytes (list items and separators) |
//! | [`MAX_VALUES`] | 16 | entries in `values` |
//! | [`MAX_EXPR_BYTES`] | 1,024 | one key expression, `value`, one `values` entry or `fs`, bytes |
//! | [`MAX_FILTER_BYTES`] | 1,048,576 | `filter`, bytes (room for a feed of tens of thousands of names, as phish.js sets) |
//! | [`MAX_DEFINITION_BYTES`] | 1,114,112 | a flow or threshold definition as sent (1 MiB + 64 KiB; the REST body, 413 beyond it) |

use serde_json::{Map as JsonMap, Value as Json};

use crate::error::{Error, ExprKind, Result};
use crate::expr::{split_keys, Filter, KeyExpr};
use crate::keybuf::{Schema, Slot};
use flowlens_wire::KeyMask;

/// Distinct values a `count:` value tracks per flow before it saturates (16 bytes each: at
/// most 4 KiB per flow key, whatever an attacker sends).
pub const MAX_DISTINCT: usize = 256;

/// Most key expressions in a definition's `keys`.
pub const MAX_KEYS: usize = 32;
/// Longest `keys` attribute, bytes (a string, or an array's items and one separator each).
pub const MAX_KEYS_BYTES: usize = 4096;
/// Most entries in a definition's `values`.
pub const MAX_VALUES: usize = 16;
/// Longest key expression, `value`, `values` entry or `fs`, bytes.
pub const MAX_EXPR_BYTES: usize = 1024;
/// Longest `filter`, bytes.
pub const MAX_FILTER_BYTES: usize = 1 << 20;
/// Largest flow or threshold definition as sent (the REST request body), bytes.
pub const MAX_DEFINITION_BYTES: usize = (1 << 20) + (64 << 10);

/// What a value measures.
#[derive(Clone, Debug)]
pub enum ValueKind {
    /// `bytes`: frame bytes × sampling rate, per second.
    Bytes,
    /// `frames`: frames × sampling rate, per second.
    Frames,
    /// A numeric key (or `rate:<key>`) × sampling rate, per second.
    Rate(Slot),
    /// `avg:<key>`: smoothed mean of the key.
    Avg(Slot),
    /// `min:<key>`: smallest value within `t`.
    Min(Slot),
    /// `max:<key>`: largest value within `t`.
    Max(Slot),
    /// `count:<key>`: distinct values within `max(t, 1)` s.
    Count(Box<KeyExpr>),
}

impl ValueKind {
    /// True for the additive, sampling-scaled kinds (they carry a confidence interval).
    pub const fn is_rate(&self) -> bool {
        matches!(
            self,
            ValueKind::Bytes | ValueKind::Frames | ValueKind::Rate(_)
        )
    }
}

/// One value of a definition.
#[derive(Clone, Debug)]
pub struct ValueSpec {
    /// As written (`count:ipsource`).
    pub source: String,
    /// Its meaning.
    pub kind: ValueKind,
}

impl ValueSpec {
    /// Parses a value, interning the keys it reads.
    pub fn parse(src: &str, schema: &mut Schema) -> Result<ValueSpec> {
        let src = src.trim();
        let (op, arg) = match src.split_once(':') {
            Some((op, arg)) if matches!(op, "rate" | "avg" | "min" | "max" | "count") => (op, arg),
            _ => ("", src),
        };
        if src.is_empty() {
            return Err(Error::syntax(
                ExprKind::Value,
                src,
                0,
                "empty value; expected e.g. bytes",
            ));
        }
        if arg.is_empty() {
            return Err(Error::syntax(
                ExprKind::Value,
                src,
                src.len(),
                "expected a key after the prefix",
            ));
        }
        let numeric = |schema: &mut Schema| -> Result<Slot> {
            schema.intern(arg).map_err(|e| match e {
                Error::Syntax { offset, reason, .. } => {
                    Error::syntax(ExprKind::Value, src, offset + src.len() - arg.len(), reason)
                }
                e => e,
            })
        };
        let kind = match (op, arg) {
            ("" | "rate", "bytes") => ValueKind::Bytes,
            ("" | "rate", "frames") => ValueKind::Frames,
            ("" | "rate", _) => ValueKind::Rate(numeric(schema)?),
            ("avg", _) => ValueKind::Avg(numeric(schema)?),
            ("min", _) => ValueKind::Min(numeric(schema)?),
            ("max", _) => ValueKind::Max(numeric(schema)?),
            _ => ValueKind::Count(Box::new(KeyExpr::parse(arg, schema)?)),
        };
        Ok(ValueSpec {
            source: src.to_string(),
            kind,
        })
    }
}

/// A compiled flow definition.
#[derive(Clone, Debug)]
pub struct FlowDef {
    /// Its name.
    pub name: String,
    /// Key expressions, in order.
    pub keys: Vec<KeyExpr>,
    /// The main value (ranks flows, drives thresholds).
    pub value: ValueSpec,
    /// Extra values.
    pub values: Vec<ValueSpec>,
    /// Filter, if any.
    pub filter: Option<Filter>,
    /// Smoothing time constant, seconds.
    pub t_secs: f64,
    /// Top-N size per data source.
    pub n: usize,
    /// Key separator.
    pub fs: String,
    /// Log completed flows.
    pub log: bool,
    /// Log at flow start.
    pub flow_start: bool,
    /// Active timeout, seconds.
    pub active_timeout_secs: u64,
    /// From dropped-packet notifications.
    pub dropped: bool,
    /// One table per agent.
    pub agg_agent: bool,
    /// The definition as sFlow-RT shows it (`GET /flow/{name}/json`).
    pub spec: Json,
    /// The keys its keys, values and filter read (the producers' [`KeyMask`]).
    pub reads: KeyMask,
}

const ATTRS: &[&str] = &[
    "keys",
    "value",
    "values",
    "filter",
    "t",
    "n",
    "fs",
    "log",
    "flowStart",
    "activeTimeout",
    "dropped",
    "aggMode",
    "ipfixCollectors",
    "name",
];

fn num(spec: &JsonMap<String, Json>, field: &str) -> Result<Option<f64>> {
    match spec.get(field) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Number(n)) => n
            .as_f64()
            .map(Some)
            .ok_or_else(|| Error::invalid("flow", field, "must be a number")),
        Some(Json::String(s)) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .map(Some)
            .ok_or_else(|| Error::invalid("flow", field, format!("`{s}` is not a number"))),
        Some(_) => Err(Error::invalid("flow", field, "must be a number")),
    }
}

fn boolean(spec: &JsonMap<String, Json>, field: &str) -> Result<bool> {
    match spec.get(field) {
        None | Some(Json::Null) => Ok(false),
        Some(Json::Bool(b)) => Ok(*b),
        Some(Json::String(s)) if s == "true" || s == "false" => Ok(s == "true"),
        Some(_) => Err(Error::invalid("flow", field, "must be true or false")),
    }
}

fn text<'j>(spec: &'j JsonMap<String, Json>, field: &str) -> Result<Option<&'j str>> {
    match spec.get(field) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) => Ok(Some(s)),
        Some(_) => Err(Error::invalid("flow", field, "must be a string")),
    }
}

/// Refuses a definition (`what`: `flow`, `threshold`) whose JSON text would be longer than
/// [`MAX_DEFINITION_BYTES`], whoever sends it (REST checks the body before parsing; scripts
/// reach the engine directly).
///
/// # Errors
/// [`Error::Invalid`] naming the limit.
pub fn check_definition_size(what: &'static str, spec: &Json) -> Result<()> {
    /// Counts bytes, stopping at the limit.
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0 = self.0.saturating_add(b.len());
            if self.0 > MAX_DEFINITION_BYTES {
                return Err(std::io::Error::other("too large"));
            }
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut n = Count(0);
    if serde_json::to_writer(&mut n, spec).is_err() {
        return Err(Error::invalid(
            what,
            "definition",
            format!("larger than {MAX_DEFINITION_BYTES} bytes as JSON (MAX_DEFINITION_BYTES)"),
        ));
    }
    Ok(())
}

/// Refuses `field` longer than `limit` bytes, naming the limit (`name`).
fn bounded(field: &str, len: usize, limit: usize, name: &str) -> Result<()> {
    if len > limit {
        return Err(Error::invalid(
            "flow",
            field,
            format!("{len} bytes; the limit is {limit} bytes ({name})"),
        ));
    }
    Ok(())
}

/// Refuses a list `field` of more than `limit` items, naming the limit (`name`).
fn counted(field: &str, n: usize, limit: usize, name: &str) -> Result<()> {
    if n > limit {
        return Err(Error::invalid(
            "flow",
            field,
            format!("{n} entries; the limit is {limit} ({name})"),
        ));
    }
    Ok(())
}

/// A string list given as `"a,b"` or `["a","b"]`, at most `max_bytes` long in all (items
/// plus one separator each) and each item at most [`MAX_EXPR_BYTES`].
fn list<'j>(
    spec: &'j JsonMap<String, Json>,
    field: &str,
    max_bytes: usize,
    limit_name: &str,
) -> Result<Vec<&'j str>> {
    let total = match spec.get(field) {
        Some(Json::String(s)) => s.len(),
        Some(Json::Array(a)) => a
            .iter()
            .map(|v| v.as_str().map_or(0, str::len).saturating_add(1))
            .sum(),
        _ => 0,
    };
    bounded(field, total, max_bytes, limit_name)?;
    let items = list_items(spec, field)?;
    for item in &items {
        bounded(
            field,
            item.len(),
            MAX_EXPR_BYTES,
            "MAX_EXPR_BYTES per entry",
        )?;
    }
    Ok(items)
}

fn list_items<'j>(spec: &'j JsonMap<String, Json>, field: &str) -> Result<Vec<&'j str>> {
    match spec.get(field) {
        None | Some(Json::Null) => Ok(Vec::new()),
        Some(Json::String(s)) => Ok(split_keys(s)),
        Some(Json::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::trim)
                    .ok_or_else(|| Error::invalid("flow", field, "list items must be strings"))
            })
            .collect(),
        Some(_) => Err(Error::invalid(
            "flow",
            field,
            "must be a comma-separated string or an array of strings",
        )),
    }
}

impl FlowDef {
    /// Compiles a definition from its JSON object.
    ///
    /// Errors: not an object, an unknown attribute, a missing `value`, a value/key/filter that
    /// does not parse, an attribute of the wrong type. `t` and `n` out of range are clamped, as
    /// sFlow-RT does.
    pub fn parse(name: &str, spec: &Json, schema: &mut Schema) -> Result<FlowDef> {
        validate_name("flow", name)?;
        let obj = spec
            .as_object()
            .ok_or_else(|| Error::invalid("flow", name, "definition must be an object"))?;
        check_definition_size("flow", spec)?;
        if let Some(k) = obj.keys().find(|k| !ATTRS.contains(&k.as_str())) {
            return Err(Error::invalid(
                "flow",
                k.as_str(),
                format!("unknown attribute; expected one of {}", ATTRS.join(", ")),
            ));
        }
        schema.start_reads();
        let keys: Vec<&str> = list(obj, "keys", MAX_KEYS_BYTES, "MAX_KEYS_BYTES")?
            .into_iter()
            .filter(|k| !k.is_empty())
            .collect();
        counted("keys", keys.len(), MAX_KEYS, "MAX_KEYS keys per definition")?;
        let keys = keys
            .into_iter()
            .map(|k| KeyExpr::parse(k, schema))
            .collect::<Result<Vec<_>>>()?;
        let value = match obj.get("value") {
            Some(Json::String(v)) => {
                bounded("value", v.len(), MAX_EXPR_BYTES, "MAX_EXPR_BYTES")?;
                ValueSpec::parse(v, schema)?
            }
            Some(_) => return Err(Error::invalid("flow", "value", "must be a string")),
            None => {
                return Err(Error::invalid(
                    "flow",
                    "value",
                    "is required (e.g. 'bytes')",
                ))
            }
        };
        let values = list(
            obj,
            "values",
            MAX_VALUES * (MAX_EXPR_BYTES + 1),
            "MAX_VALUES × MAX_EXPR_BYTES",
        )?;
        counted("values", values.len(), MAX_VALUES, "MAX_VALUES")?;
        let values = values
            .into_iter()
            .map(|v| ValueSpec::parse(v, schema))
            .collect::<Result<Vec<_>>>()?;
        if let Some(f) = text(obj, "filter")? {
            bounded("filter", f.len(), MAX_FILTER_BYTES, "MAX_FILTER_BYTES")?;
        }
        if let Some(fs) = text(obj, "fs")? {
            bounded("fs", fs.len(), MAX_EXPR_BYTES, "MAX_EXPR_BYTES")?;
        }
        let filter = match text(obj, "filter")?.map(str::trim) {
            Some(f) if !f.is_empty() => Some(Filter::parse(f, schema)?),
            _ => None,
        };
        let t_secs = num(obj, "t")?.unwrap_or(2.0).clamp(0.2, 600.0);
        let n = num(obj, "n")?.unwrap_or(5.0).clamp(5.0, 20.0) as usize;
        let fs = text(obj, "fs")?.unwrap_or(",").to_string();
        let log = boolean(obj, "log")?;
        let flow_start = boolean(obj, "flowStart")?;
        let active_timeout = num(obj, "activeTimeout")?.unwrap_or(60.0);
        if !(1.0..=86_400.0).contains(&active_timeout) {
            return Err(Error::invalid(
                "flow",
                "activeTimeout",
                "must be 1..86400 seconds",
            ));
        }
        let dropped = boolean(obj, "dropped")?;
        let agg_agent = match text(obj, "aggMode")? {
            None => false,
            Some(m) if m.eq_ignore_ascii_case("agent") => true,
            Some(m) => {
                return Err(Error::invalid(
                    "flow",
                    "aggMode",
                    format!("`{m}`: the only definition aggMode is 'agent'"),
                ))
            }
        };
        let mut out = JsonMap::new();
        out.insert(
            "keys".into(),
            Json::String(
                keys.iter()
                    .map(KeyExpr::source)
                    .collect::<Vec<_>>()
                    .join(","),
            ),
        );
        out.insert("value".into(), Json::String(value.source.clone()));
        if !values.is_empty() {
            out.insert(
                "values".into(),
                Json::Array(
                    values
                        .iter()
                        .map(|v| Json::String(v.source.clone()))
                        .collect(),
                ),
            );
        }
        if let Some(f) = &filter {
            out.insert("filter".into(), Json::String(f.source().to_string()));
        }
        out.insert("t".into(), Json::from(t_secs));
        out.insert("n".into(), Json::from(n));
        out.insert("fs".into(), Json::String(fs.clone()));
        out.insert("log".into(), Json::Bool(log));
        out.insert("flowStart".into(), Json::Bool(flow_start));
        out.insert("activeTimeout".into(), Json::from(active_timeout as u64));
        out.insert("dropped".into(), Json::Bool(dropped));
        if agg_agent {
            out.insert("aggMode".into(), Json::String("agent".into()));
        }
        if let Some(c) = obj.get("ipfixCollectors") {
            out.insert("ipfixCollectors".into(), c.clone());
        }
        Ok(FlowDef {
            reads: schema.take_reads(),
            name: name.to_string(),
            keys,
            value,
            values,
            filter,
            t_secs,
            n,
            fs,
            log,
            flow_start,
            active_timeout_secs: active_timeout as u64,
            dropped,
            agg_agent,
            spec: Json::Object(out),
        })
    }
}

/// Names of flows, thresholds, groups and maps: 1..=128 characters, no `/`, no control
/// characters (they appear in REST paths).
pub fn validate_name(what: &'static str, name: &str) -> Result<()> {
    if name.is_empty() || name.len() > 128 || name.chars().any(|c| c == '/' || c.is_control()) {
        return Err(Error::invalid(
            what,
            "name",
            format!("`{name}`: 1..128 characters, no '/'"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Json) -> Result<FlowDef> {
        FlowDef::parse("f", &v, &mut Schema::default())
    }

    #[test]
    fn defaults_and_clamps() {
        let d = parse(json!({"keys":"ipsource,ipdestination","value":"bytes"})).unwrap();
        assert_eq!((d.t_secs, d.n, d.fs.as_str(), d.log), (2.0, 5, ",", false));
        assert_eq!(d.keys.len(), 2);
        let d = parse(json!({"value":"frames","t":0.01,"n":100})).unwrap();
        assert_eq!((d.t_secs, d.n), (0.2, 20));
        assert!(d.keys.is_empty());
        let d = parse(json!({"value":"frames","t":"1000"})).unwrap();
        assert_eq!(d.t_secs, 600.0);
        let d = parse(json!({"keys":["ipsource","icmpunreachableport"],"value":"frames","values":["count:ipsource","avg:ipbytes"]})).unwrap();
        assert_eq!(d.values.len(), 2);
        assert!(matches!(d.values[0].kind, ValueKind::Count(_)));
        assert!(matches!(d.values[1].kind, ValueKind::Avg(_)));
    }

    #[test]
    fn precise_errors() {
        let e = parse(json!({"keys":"ipsource"})).unwrap_err();
        assert_eq!(
            e.to_string(),
            "flow: invalid `value`: is required (e.g. 'bytes')"
        );
        let e = parse(json!({"value":"bytes","filtr":"x=1"})).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("flow: invalid `filtr`: unknown attribute"),
            "{e}"
        );
        let e = parse(json!({"value":"bytes","t":"soon"})).unwrap_err();
        assert_eq!(e.to_string(), "flow: invalid `t`: `soon` is not a number");
        let e = parse(json!({"value":"avg:"})).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Syntax {
                    kind: ExprKind::Value,
                    offset: 4,
                    ..
                }
            ),
            "{e}"
        );
        let e = parse(json!({"value":"bytes","log":"yes"})).unwrap_err();
        assert_eq!(e.to_string(), "flow: invalid `log`: must be true or false");
        let r = parse(json!("bytes"));
        assert!(
            matches!(&r, Err(Error::Invalid { what: "flow", field, reason }) if field == "f" && reason.contains("definition must be an object")),
            "{r:?}"
        );
        let r = FlowDef::parse("a/b", &json!({"value":"bytes"}), &mut Schema::default());
        assert!(
            matches!(&r, Err(Error::Invalid { what: "flow", field, reason }) if field == "name" && reason.contains("no '/'")),
            "{r:?}"
        );
    }

    #[test]
    fn size_limits_are_enforced_and_named() {
        let many: Vec<String> = (0..=MAX_KEYS).map(|i| format!("ipsource.{i}")).collect();
        let e = parse(json!({"keys": many.join(","), "value":"frames"})).unwrap_err();
        assert!(e.to_string().contains("MAX_KEYS"), "{e}");
        let e = parse(json!({"keys": many, "value":"frames"})).unwrap_err();
        assert!(e.to_string().contains("MAX_KEYS"), "{e}");
        let long = "ipsource,".repeat(MAX_KEYS_BYTES / 9 + 1);
        let e = parse(json!({"keys": long, "value":"frames"})).unwrap_err();
        assert!(e.to_string().contains("MAX_KEYS_BYTES"), "{e}");
        let key = format!("ipsource{}", "x".repeat(MAX_EXPR_BYTES));
        let e = parse(json!({"keys": [key], "value":"frames"})).unwrap_err();
        assert!(e.to_string().contains("MAX_EXPR_BYTES"), "{e}");
        let filter = format!("ipsource={}", "1".repeat(MAX_FILTER_BYTES));
        let e = parse(json!({"value":"frames", "filter": filter})).unwrap_err();
        assert!(e.to_string().contains("MAX_FILTER_BYTES"), "{e}");
        let values = vec!["bytes"; MAX_VALUES + 1];
        let e = parse(json!({"value":"frames", "values": values})).unwrap_err();
        assert!(e.to_string().contains("MAX_VALUES"), "{e}");
        let big = vec!["x".repeat(1000); 1200];
        let e = parse(json!({"value":"frames", "ipfixCollectors": big})).unwrap_err();
        assert!(e.to_string().contains("MAX_DEFINITION_BYTES"), "{e}");
        // At the limits: accepted.
        let at: Vec<String> = (0..MAX_KEYS)
            .map(|i| format!("ipsource.{}", i % 8 + 1))
            .collect();
        assert_eq!(
            parse(json!({"keys": at, "value":"frames"}))
                .unwrap()
                .keys
                .len(),
            MAX_KEYS
        );
    }
}
