//! JSON forms of what the wire crate reports, shared by the `flowlens decode` document
//! builders ([`super::document`], [`super::netflow`]) and the counters ([`super::stats`]):
//! field and flow-key collectors, value conversion, and a frame's origin. A leaf module: it
//! uses no other module of `decode`.

use flowlens_wire::{FieldVisitor, KeyVisitor, Value};
use serde_json::{Map, Value as Json};

/// Where a frame came from, for the document's header fields.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Origin<'a> {
    /// File name as given on the command line.
    pub(crate) file: &'a str,
    /// Frame number in the file, from 1.
    pub(crate) packet: u64,
}

/// Collects the fields a `visit_fields` call reports. A name reported more than once (e.g.
/// repeated AS-path segments) becomes an array of its values, in order.
pub(crate) fn fields_of(visit: impl FnOnce(&mut FieldMap)) -> Map<String, Json> {
    let mut m = FieldMap {
        map: Map::new(),
        repeated: Vec::new(),
    };
    visit(&mut m);
    m.map
}

/// The visitor behind [`fields_of`].
pub(crate) struct FieldMap {
    map: Map<String, Json>,
    /// Names already turned into arrays of repeated values.
    repeated: Vec<&'static str>,
}

impl FieldVisitor for FieldMap {
    fn field(&mut self, name: &'static str, value: Value<'_>) {
        let value = value_json(value);
        match self.map.get_mut(name) {
            None => {
                self.map.insert(name.to_string(), value);
            }
            Some(Json::Array(items)) if self.repeated.contains(&name) => items.push(value),
            Some(existing) => {
                let first = existing.take();
                *existing = Json::Array(vec![first, value]);
                self.repeated.push(name);
            }
        }
    }
}

/// Collects flow keys; a key at tunnel depth `d > 0` is named `name.d`.
#[derive(Default)]
pub(crate) struct KeyMap(pub(crate) Map<String, Json>);

impl KeyVisitor for KeyMap {
    fn key(&mut self, name: &'static str, depth: u8, value: Value<'_>) {
        let name = if depth == 0 {
            name.to_string()
        } else {
            format!("{name}.{depth}")
        };
        self.0.insert(name, value_json(value));
    }
}

/// JSON form of a field value: numbers and booleans as JSON scalars, `U32List` as an array of
/// numbers, everything else as its text form.
pub(crate) fn value_json(v: Value<'_>) -> Json {
    match v {
        Value::Bool(b) => Json::Bool(b),
        Value::U64(n) => Json::from(n),
        Value::I64(n) => Json::from(n),
        Value::F32(f) => {
            // Print the shortest decimal that round-trips through f32, not the f64 widening.
            f.to_string()
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map_or(Json::Null, Json::Number)
        }
        Value::U32List(bytes) => Json::Array(
            bytes
                .chunks_exact(4)
                .filter_map(|c| <[u8; 4]>::try_from(c).ok())
                .map(|w| Json::from(u32::from_be_bytes(w)))
                .collect(),
        ),
        other => Json::String(other.to_string()),
    }
}
