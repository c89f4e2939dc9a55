//! Named value maps for `map:<key>:<map>`.
//!
//! A map gives each label a list of values, in the same JSON shape as group sets:
//! `{"web": ["80", "443"], "dns": ["53"]}` (`setMap(name, map)`, `PUT /map/{name}/json`; source:
//! sFlow-RT apps `ixp-metrics`, `scitags`). `map:tcpdestinationport:services` yields the label
//! whose list holds the key's value exactly (text comparison), or null. When a value appears
//! under two labels, the first label (object order) keeps it.

use core::fmt;
use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use crate::error::{Error, Result};
use flowlens_netflow::hash::{map, Map};

/// One named map: value → label.
#[derive(Clone)]
pub struct ValueMap {
    labels: Vec<Box<str>>,
    values: Vec<Vec<Box<str>>>,
    index: Map<Box<str>, u32>,
}

impl Default for ValueMap {
    fn default() -> Self {
        ValueMap {
            labels: Vec::new(),
            values: Vec::new(),
            index: map(),
        }
    }
}

impl ValueMap {
    /// From `{"label": ["v1", "v2"], …}`. Values may be strings or numbers (numbers are taken
    /// as their JSON text, `80` → `"80"`); a label may map to a single value.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] (`what` = `map`) when `v` is not an object of value lists.
    pub fn from_json(v: &Value) -> Result<ValueMap> {
        let obj = v.as_object().ok_or_else(|| {
            Error::invalid("map", "map", "must be an object of label: [value, …]")
        })?;
        let mut out = ValueMap::default();
        for (label, list) in obj {
            let items: &[Value] = match list {
                Value::Array(a) => a,
                other => core::slice::from_ref(other),
            };
            let mut texts = Vec::with_capacity(items.len());
            for item in items {
                let t = match item {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => {
                        return Err(Error::invalid(
                            "map",
                            label.as_str(),
                            "must be a list of strings or numbers",
                        ))
                    }
                };
                texts.push(t);
            }
            out.push(label, texts.iter().map(String::as_str))?;
        }
        Ok(out)
    }

    /// From `(label, values)` pairs, in order.
    ///
    /// # Errors
    ///
    /// [`Error::Limit`] beyond 2^32 labels.
    pub fn from_pairs<'a>(
        labels: impl IntoIterator<Item = (&'a str, Vec<&'a str>)>,
    ) -> Result<ValueMap> {
        let mut out = ValueMap::default();
        for (label, values) in labels {
            out.push(label, values.into_iter())?;
        }
        Ok(out)
    }

    fn push<'v>(&mut self, label: &str, values: impl Iterator<Item = &'v str>) -> Result<()> {
        let idx = u32::try_from(self.labels.len()).map_err(|_| Error::Limit {
            what: "map labels",
            limit: u32::MAX as usize,
        })?;
        let mut list = Vec::new();
        for v in values {
            self.index.entry(v.into()).or_insert(idx);
            list.push(v.into());
        }
        self.labels.push(label.into());
        self.values.push(list);
        Ok(())
    }

    /// The label whose list holds `value`.
    #[inline]
    pub fn lookup(&self, value: &str) -> Option<&str> {
        let i = *self.index.get(value)?;
        self.labels.get(i as usize).map(|l| &**l)
    }

    /// The map in the shape [`ValueMap::from_json`] reads (values as strings).
    pub fn to_json(&self) -> Value {
        let mut obj = serde_json::Map::with_capacity(self.labels.len());
        for (label, values) in self.labels.iter().zip(&self.values) {
            let list = values
                .iter()
                .map(|v| Value::String(v.to_string()))
                .collect();
            obj.insert(label.to_string(), Value::Array(list));
        }
        Value::Object(obj)
    }

    /// Number of distinct values.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// True when the map holds no value.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }
}

impl fmt::Debug for ValueMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValueMap")
            .field("labels", &self.labels.len())
            .field("values", &self.len())
            .finish()
    }
}

/// The registry of named value maps (`setMap(name, map)`).
#[derive(Clone, Debug, Default)]
pub struct Maps {
    maps: BTreeMap<Box<str>, Arc<ValueMap>>,
}

impl Maps {
    /// Adds or replaces the map `name`; takes effect for flows defined earlier.
    pub fn set(&mut self, name: &str, m: ValueMap) {
        self.maps.insert(name.into(), Arc::new(m));
    }

    /// Removes the map `name`; false when there was none.
    pub fn remove(&mut self, name: &str) -> bool {
        self.maps.remove(name).is_some()
    }

    /// The map `name`.
    #[inline]
    pub fn get(&self, name: &str) -> Option<&Arc<ValueMap>> {
        self.maps.get(name)
    }

    /// Names of the maps, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.maps.keys().map(|k| &**k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_and_first_label_wins() {
        let v = serde_json::json!({"web": ["80", 443], "alt": ["443", "8080"], "one": "53"});
        let m = ValueMap::from_json(&v).unwrap();
        assert_eq!(m.lookup("80"), Some("web"));
        assert_eq!(m.lookup("443"), Some("web"));
        assert_eq!(m.lookup("8080"), Some("alt"));
        assert_eq!(m.lookup("53"), Some("one"));
        assert_eq!(m.lookup("22"), None);
        assert_eq!(m.len(), 4);
        assert_eq!(
            m.to_json(),
            serde_json::json!({"web": ["80", "443"], "alt": ["443", "8080"], "one": ["53"]})
        );
        let r = ValueMap::from_json(&serde_json::json!([1]));
        assert!(
            matches!(&r, Err(Error::Invalid { what: "map", field, reason }) if field == "map" && reason.contains("must be an object")),
            "{r:?}"
        );
        let r = ValueMap::from_json(&serde_json::json!({"a": [{}]}));
        assert!(
            matches!(&r, Err(Error::Invalid { what: "map", field, reason }) if field == "a" && reason.contains("must be a list of strings or numbers")),
            "{r:?}"
        );
    }

    #[test]
    fn registry() {
        let mut r = Maps::default();
        r.set("b", ValueMap::default());
        r.set("a", ValueMap::default());
        assert_eq!(r.names().collect::<Vec<_>>(), ["a", "b"]);
        assert!(r.get("a").is_some());
        assert!(r.remove("a"));
        assert!(!r.remove("a"));
    }
}
