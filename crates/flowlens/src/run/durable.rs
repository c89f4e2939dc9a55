//! Durable changes of definitions: a change made over REST takes effect only once the
//! definitions document holding it is saved; when the save fails, the change is undone and
//! the caller gets the reason (the API answers 500 with it).
//!
//! The change runs on the engine thread ([`change`]); the save, a write and an fsync, runs
//! off it (`tokio::task::spawn_blocking` in the REST handlers), so ingest never waits for the
//! disk; a failed save undoes the change in a second engine-thread job ([`undo`]).
//!
//! Undoing compares the definitions document before and after the change, item by item
//! (flows, thresholds, groups, maps): an item the change added is removed, an item it changed
//! or removed is set back to its definition before. Items the change did not touch keep their
//! tables.

use flowlens_engine::Engine;
use serde_json::{Map as JsonMap, Value as Json};

use super::state::StateDir;

/// Why a durable change did not happen.
#[derive(Debug)]
pub(crate) enum Refused<E> {
    /// The change itself failed (bad definition, not found); nothing changed.
    Change(E),
    /// The change was made but could not be saved, so it was undone; the save error.
    NotSaved(String),
}

/// A change made, waiting to be saved: the definitions before and after it, and the
/// snapshot's version ([`StateDir::definitions_version`]).
pub(crate) struct Unsaved {
    /// The definitions document before the change.
    pub(crate) before: Json,
    /// The definitions document after the change (what must be saved).
    pub(crate) after: Json,
    /// The version of `after`.
    pub(crate) version: u64,
}

/// Runs `change` on `engine` (on the engine thread) and returns what must be saved.
///
/// # Errors
/// `change`'s error; then nothing changed.
pub(crate) fn change<T, E>(
    engine: &mut Engine,
    state: &StateDir,
    change: impl FnOnce(&mut Engine) -> Result<T, E>,
) -> Result<(T, Unsaved), E> {
    let before = engine.definitions();
    let out = change(engine)?;
    let after = engine.definitions();
    let version = state.definitions_version();
    Ok((
        out,
        Unsaved {
            before,
            after,
            version,
        },
    ))
}

/// Section names of the definitions document, in the order they are restored (flows may
/// name groups and maps, thresholds name flows).
const SECTIONS: [&str; 4] = ["groups", "maps", "flows", "thresholds"];

/// Sets back every item that differs between `before` and `after`.
pub(crate) fn undo(engine: &mut Engine, before: &Json, after: &Json) {
    // The topology is one document: set back whole when the change touched it (an empty one
    // when there was none before).
    if before.get("topology") != after.get("topology") {
        let was = before
            .get("topology")
            .cloned()
            .unwrap_or_else(|| serde_json::json!({"nodes": {}, "links": {}}));
        let _ = engine.set_topology(&was);
    }
    let empty = JsonMap::new();
    let items = |doc: &'_ Json, section: &str| -> JsonMap<String, Json> {
        doc.get(section)
            .and_then(Json::as_object)
            .unwrap_or(&empty)
            .clone()
    };
    // Items changed or removed: set back, dependencies first.
    for section in SECTIONS {
        let (was, now) = (items(before, section), items(after, section));
        for (name, spec) in &was {
            if now.get(name) != Some(spec) {
                // The item compiled before the change, so it compiles again; an error here
                // would leave it as the change left it, which the save error already reports.
                let _ = match section {
                    "groups" => engine.set_groups(name, spec),
                    "maps" => engine.set_map(name, spec),
                    "flows" => engine.set_flow(name, spec),
                    _ => engine.set_threshold(name, spec),
                };
            }
        }
    }
    // Items added: removed, dependents first.
    for section in SECTIONS.iter().rev() {
        let (was, now) = (items(before, section), items(after, section));
        for name in now.keys().filter(|n| !was.contains_key(*n)) {
            match *section {
                "groups" => {
                    engine.env_mut().groups.remove(name);
                }
                "maps" => {
                    engine.env_mut().maps.remove(name);
                }
                "flows" => {
                    engine.clear_flow(name);
                }
                _ => {
                    engine.clear_threshold(name);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn undo_restores_every_kind_of_item() {
        let mut e = Engine::default();
        e.set_groups("g", &json!({"a":["10.0.0.0/8"]})).unwrap();
        e.set_map("m", &json!({"web":["80"]})).unwrap();
        e.set_flow("f", &json!({"keys":"ipsource","value":"frames"}))
            .unwrap();
        e.set_flow("gone", &json!({"keys":"ipsource","value":"bytes"}))
            .unwrap();
        e.set_threshold("t", &json!({"metric":"f","value":10}))
            .unwrap();
        let before = e.definitions();
        e.set_groups("g", &json!({"b":["192.168.0.0/16"]})).unwrap();
        e.set_groups("new", &json!({"c":["172.16.0.0/12"]}))
            .unwrap();
        e.env_mut().maps.remove("m");
        e.set_flow("f", &json!({"keys":"ipdestination","value":"bytes"}))
            .unwrap();
        e.clear_flow("gone");
        e.set_flow("added", &json!({"keys":"ipsource","value":"frames"}))
            .unwrap();
        e.set_threshold("t", &json!({"metric":"added","value":5}))
            .unwrap();
        let after = e.definitions();
        assert_ne!(before, after);
        undo(&mut e, &before, &after);
        assert_eq!(e.definitions(), before);
    }
}
