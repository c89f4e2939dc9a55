//! Thresholds and events: sFlow-RT's `setThreshold(name, spec)` / `PUT /threshold/{name}/json`.
//!
//! | attribute | default | meaning |
//! |---|---|---|
//! | `metric` | required | a flow name or a counter metric (`load_one`, `ifinutilization`) |
//! | `value` | required | the threshold; an event fires when the metric reaches it (≥) |
//! | `byFlow` | false | flows only: one event for each flow key crossing (true), or only for the first key crossing at a data source (false) |
//! | `timeout` | 60 | seconds the value must stay below the threshold before it re-arms |
//! | `filter` | none | data-source filter `{attr:[values]}` (e.g. `{"os_name":["linux"]}`); for flows, `agent` and `dataSource` attributes |
//!
//! A threshold is *triggered* from the event until it re-arms: the value (of the flow key for
//! `byFlow`, of the data source otherwise) has stayed below `value` for `timeout` seconds.
//! [`crate::Engine::threshold_triggered`] reports that state (scripts use it to decide when to
//! release a mitigation).

use serde_json::{Map as JsonMap, Value as Json};

use crate::definition::validate_name;
use crate::error::{Error, Result};

/// A compiled threshold.
#[derive(Clone, Debug)]
pub struct Threshold {
    /// Its name (`thresholdID` in events).
    pub name: String,
    /// The metric it watches.
    pub metric: String,
    /// The threshold value.
    pub value: f64,
    /// One event per flow key.
    pub by_flow: bool,
    /// Re-arm delay, ms.
    pub timeout_ms: u64,
    /// Data-source filter: attribute → accepted values.
    pub filter: Vec<(String, Vec<String>)>,
    /// The definition as shown by `GET /threshold/{name}/json`.
    pub spec: Json,
}

fn number(obj: &JsonMap<String, Json>, field: &str) -> Result<Option<f64>> {
    match obj.get(field) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Number(n)) => Ok(n.as_f64()),
        Some(Json::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| Error::invalid("threshold", field, format!("`{s}` is not a number"))),
        Some(_) => Err(Error::invalid("threshold", field, "must be a number")),
    }
}

impl Threshold {
    /// Compiles a threshold from its JSON object. Errors: not an object, unknown attribute,
    /// missing `metric` or `value`, wrong types, negative timeout, larger than
    /// [`crate::definition::MAX_DEFINITION_BYTES`] as JSON.
    pub fn parse(name: &str, spec: &Json) -> Result<Threshold> {
        validate_name("threshold", name)?;
        let obj = spec
            .as_object()
            .ok_or_else(|| Error::invalid("threshold", name, "definition must be an object"))?;
        crate::definition::check_definition_size("threshold", spec)?;
        const ATTRS: &[&str] = &["metric", "value", "byFlow", "timeout", "filter", "name"];
        if let Some(k) = obj.keys().find(|k| !ATTRS.contains(&k.as_str())) {
            return Err(Error::invalid(
                "threshold",
                k.as_str(),
                format!("unknown attribute; expected one of {}", ATTRS.join(", ")),
            ));
        }
        let metric = match obj.get("metric") {
            Some(Json::String(m)) if !m.trim().is_empty() => m.trim().to_string(),
            _ => {
                return Err(Error::invalid(
                    "threshold",
                    "metric",
                    "is required (a flow or metric name)",
                ))
            }
        };
        let value = number(obj, "value")?
            .filter(|v| v.is_finite())
            .ok_or_else(|| Error::invalid("threshold", "value", "is required (a number)"))?;
        let by_flow = match obj.get("byFlow") {
            None | Some(Json::Null) => false,
            Some(Json::Bool(b)) => *b,
            Some(_) => {
                return Err(Error::invalid(
                    "threshold",
                    "byFlow",
                    "must be true or false",
                ))
            }
        };
        let timeout = number(obj, "timeout")?.unwrap_or(60.0);
        if !(0.0..=86_400.0).contains(&timeout) {
            return Err(Error::invalid(
                "threshold",
                "timeout",
                "must be 0..86400 seconds",
            ));
        }
        let mut filter = Vec::new();
        match obj.get("filter") {
            None | Some(Json::Null) => {}
            Some(Json::Object(f)) => {
                for (k, v) in f {
                    let vals = match v {
                        Json::Array(a) => a
                            .iter()
                            .map(|x| match x {
                                Json::String(s) => Ok(s.clone()),
                                Json::Number(n) => Ok(n.to_string()),
                                _ => Err(Error::invalid(
                                    "threshold",
                                    "filter",
                                    "values must be strings",
                                )),
                            })
                            .collect::<Result<Vec<_>>>()?,
                        Json::String(s) => vec![s.clone()],
                        Json::Number(n) => vec![n.to_string()],
                        _ => {
                            return Err(Error::invalid(
                                "threshold",
                                "filter",
                                "values must be lists of strings",
                            ))
                        }
                    };
                    filter.push((k.clone(), vals));
                }
            }
            Some(_) => {
                return Err(Error::invalid(
                    "threshold",
                    "filter",
                    "must be an object {attr:[values]}",
                ))
            }
        }
        let mut out = JsonMap::new();
        out.insert("metric".into(), Json::String(metric.clone()));
        out.insert("value".into(), Json::from(value));
        out.insert("byFlow".into(), Json::Bool(by_flow));
        out.insert("timeout".into(), Json::from(timeout));
        if let Some(f) = obj.get("filter") {
            out.insert("filter".into(), f.clone());
        }
        Ok(Threshold {
            name: name.to_string(),
            metric,
            value,
            by_flow,
            timeout_ms: (timeout * 1000.0) as u64,
            filter,
            spec: Json::Object(out),
        })
    }

    /// True when the filter accepts a data source whose attribute `attr` has value `get(attr)`.
    pub fn accepts(&self, get: impl Fn(&str) -> Option<String>) -> bool {
        self.filter
            .iter()
            .all(|(attr, vals)| get(attr).is_some_and(|v| vals.contains(&v)))
    }
}

/// A threshold event (sFlow-RT's event object).
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Increasing id (`eventID`).
    pub id: u64,
    /// Unix ms.
    pub timestamp_ms: u64,
    /// The threshold's name.
    pub threshold_id: String,
    /// The metric (flow or counter name).
    pub metric: String,
    /// The threshold value.
    pub threshold: f64,
    /// The value that crossed it.
    pub value: f64,
    /// Agent.
    pub agent: String,
    /// Data source name.
    pub data_source: String,
    /// The flow key (flows only).
    pub flow_key: Option<String>,
    /// The flow's `values[]` (flows with values only).
    pub values: Vec<f64>,
}

impl Event {
    /// sFlow-RT's JSON shape: `{eventID, timestamp, thresholdID, metric, threshold, value,
    /// agent, dataSource, flowKey?, values?}`.
    pub fn to_json(&self) -> Json {
        let mut o = JsonMap::new();
        o.insert("eventID".into(), Json::from(self.id));
        o.insert("timestamp".into(), Json::from(self.timestamp_ms));
        o.insert(
            "thresholdID".into(),
            Json::String(self.threshold_id.clone()),
        );
        o.insert("metric".into(), Json::String(self.metric.clone()));
        o.insert("threshold".into(), Json::from(self.threshold));
        o.insert("value".into(), Json::from(self.value));
        o.insert("agent".into(), Json::String(self.agent.clone()));
        o.insert("dataSource".into(), Json::String(self.data_source.clone()));
        if let Some(k) = &self.flow_key {
            o.insert("flowKey".into(), Json::String(k.clone()));
        }
        if !self.values.is_empty() {
            o.insert("values".into(), Json::from(self.values.clone()));
        }
        Json::Object(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_the_seed_thresholds() {
        let t = Threshold::parse(
            "ddos",
            &json!({"metric":"ddos","value":1000,"byFlow":true,"timeout":5}),
        )
        .unwrap();
        assert_eq!((t.value, t.by_flow, t.timeout_ms), (1000.0, true, 5000));
        let t =
            Threshold::parse("ddos", &json!({"metric":"ddos","value":1000,"byFlow":true})).unwrap();
        assert_eq!(t.timeout_ms, 60_000);
        let t = Threshold::parse(
            "l",
            &json!({"metric":"load_one","value":"2.5","filter":{"os_name":["linux"]}}),
        )
        .unwrap();
        assert!(t.accepts(|a| (a == "os_name").then(|| "linux".to_string())));
        assert!(!t.accepts(|_| Some("windows".to_string())));
        let r = Threshold::parse("x", &json!({"value":1}));
        assert!(
            matches!(&r, Err(Error::Invalid { what: "threshold", field, reason }) if field == "metric" && reason.contains("is required")),
            "{r:?}"
        );
        let r = Threshold::parse("x", &json!({"metric":"m"}));
        assert!(
            matches!(&r, Err(Error::Invalid { what: "threshold", field, reason }) if field == "value" && reason.contains("is required")),
            "{r:?}"
        );
        let r = Threshold::parse("x", &json!({"metric":"m","value":1,"bogus":1}));
        assert!(
            matches!(&r, Err(Error::Invalid { what: "threshold", field, reason }) if field == "bogus" && reason.contains("unknown attribute")),
            "{r:?}"
        );
    }
}
