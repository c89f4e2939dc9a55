//! The definitions an operator created (flows, thresholds, groups, maps) as one JSON
//! document, so the binary can keep them across restarts. Sans-IO: the caller stores the
//! bytes.
//!
//! Shape (`version` 1): `{"version":1,"groups":{name:{label:[cidr]}},"maps":{name:{label:
//! [value]}},"flows":{name:definition},"thresholds":{name:threshold},"topology":{…}}`, each
//! definition in the form `GET /flow/{name}/json` shows it; `topology` (the `/topology/json`
//! document) only once one was set. Restoring applies the topology, groups and maps first
//! (flows may name them), then flows, then thresholds; an item that no longer compiles is
//! skipped and reported, the others are restored.

use serde_json::{Map as JsonMap, Value as Json};

use crate::engine::Engine;
use crate::error::{Error, Result};

/// Version of the definitions document.
pub const DEFINITIONS_VERSION: u64 = 1;

impl Engine {
    /// Every flow, threshold, group set and map as one JSON document (see the module docs).
    pub fn definitions(&self) -> Json {
        let groups: JsonMap<String, Json> = self
            .env()
            .groups
            .names()
            .filter_map(|n| Some((n.to_string(), self.env().groups.get(n)?.to_json())))
            .collect();
        let maps: JsonMap<String, Json> = self
            .env()
            .maps
            .names()
            .filter_map(|n| Some((n.to_string(), self.env().maps.get(n)?.to_json())))
            .collect();
        let mut doc = serde_json::json!({
            "version": DEFINITIONS_VERSION,
            "groups": groups,
            "maps": maps,
            "flows": self.flows_json(),
            "thresholds": self.thresholds_json(),
        });
        if self.env().topology.is_set() {
            if let Some(o) = doc.as_object_mut() {
                o.insert("topology".into(), self.env().topology.to_json());
            }
        }
        doc
    }

    /// Restores a [`Engine::definitions`] document. Returns the items that failed (each
    /// error names the item); fails as a whole only when the document is not an object of a
    /// known version.
    pub fn restore_definitions(&mut self, doc: &Json) -> Result<Vec<Error>> {
        let obj = doc
            .as_object()
            .ok_or_else(|| Error::invalid("definitions", "document", "not a JSON object"))?;
        match obj.get("version").and_then(Json::as_u64) {
            Some(DEFINITIONS_VERSION) => {}
            v => {
                return Err(Error::invalid(
                    "definitions",
                    "version",
                    format!("{v:?}: expected {DEFINITIONS_VERSION}"),
                ))
            }
        }
        let mut failed = Vec::new();
        if let Some(t) = obj.get("topology") {
            if let Err(e) = self.set_topology(t) {
                failed.push(Error::invalid("topology", "topology", e.to_string()));
            }
        }
        let section = |name: &str| {
            obj.get(name)
                .and_then(Json::as_object)
                .cloned()
                .unwrap_or_default()
        };
        let mut apply = |kind: &'static str, items: JsonMap<String, Json>, engine: &mut Engine| {
            for (name, spec) in items {
                let r = match kind {
                    "group" => engine.set_groups(&name, &spec),
                    "map" => engine.set_map(&name, &spec),
                    "flow" => engine.set_flow(&name, &spec),
                    _ => engine.set_threshold(&name, &spec),
                };
                if let Err(e) = r {
                    failed.push(Error::invalid(kind, name, e.to_string()));
                }
            }
        };
        apply("group", section("groups"), self);
        apply("map", section("maps"), self);
        apply("flow", section("flows"), self);
        apply("threshold", section("thresholds"), self);
        Ok(failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn definitions_round_trip_and_bad_items_are_reported() {
        let mut e = Engine::default();
        e.set_legacy_groups(&json!({"external":["0.0.0.0/0"],"internal":["10.0.0.2/32"]}))
            .unwrap();
        e.set_map("svc", &json!({"web":["80","443"]})).unwrap();
        e.set_flow(
            "ddos",
            &json!({"keys":"ipsource","value":"frames","filter":"sourcegroup=external","t":2}),
        )
        .unwrap();
        e.set_flow(
            "svc",
            &json!({"keys":"map:tcpdestinationport:svc","value":"bytes"}),
        )
        .unwrap();
        e.set_threshold(
            "ddos",
            &json!({"metric":"ddos","value":1000,"byFlow":true,"timeout":5}),
        )
        .unwrap();
        e.set_topology(
            &json!({"nodes":{"s1":{"agent":"10.0.0.1","ports":{"p1":{"ifindex":"1"}}}},"links":{}}),
        )
        .unwrap();
        let doc = e.definitions();
        assert_eq!(doc["topology"]["nodes"]["s1"]["agent"], "10.0.0.1");
        let text = serde_json::to_string(&doc).unwrap();

        let mut r = Engine::default();
        let failed = r
            .restore_definitions(&serde_json::from_str(&text).unwrap())
            .unwrap();
        assert!(failed.is_empty(), "{failed:?}");
        assert_eq!(r.definitions(), doc);

        let mut bad = doc.clone();
        bad["flows"]["broken"] = json!({"keys":"ipsource","value":"avg:"});
        let failed = Engine::default().restore_definitions(&bad).unwrap();
        assert_eq!(failed.len(), 1);
        assert!(
            failed[0].to_string().starts_with("flow: invalid `broken`"),
            "{}",
            failed[0]
        );
        assert!(Engine::default()
            .restore_definitions(&json!({"version":9}))
            .is_err());
        let r = Engine::default().restore_definitions(&json!([]));
        assert!(
            matches!(&r, Err(Error::Invalid { what: "definitions", field, reason }) if field == "document" && reason.contains("not a JSON object")),
            "{r:?}"
        );
    }
}
