//! `storeGet/storeSet/storeDelete/storeKeys`: a script's persistent key/value store (one
//! JSON file per script under the store directory, rewritten atomically on every change, as
//! sFlow-RT's `script.store` keeps values across restarts); `sharedGet/sharedSet`: values
//! shared by every script of the process, in memory.

use std::path::PathBuf;

use serde_json::{Map, Value as Json};

use super::{Args, Ops};
use crate::{Error, Result};

/// Largest store of one script, bytes of JSON.
const MAX_STORE_BYTES: usize = 64 << 20;

/// A script's persistent store.
pub(crate) struct Store {
    path: Option<PathBuf>,
    values: Map<String, Json>,
}

impl Store {
    /// The store of script `id` under `dir` (loaded if it exists; a file that does not parse
    /// is set aside as `<file>.corrupt` and reported on standard error).
    pub(crate) fn open(dir: Option<&std::path::Path>, id: &str) -> Store {
        let Some(dir) = dir else {
            return Store {
                path: None,
                values: Map::new(),
            };
        };
        let file: String = id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let path = dir.join(format!("{file}.json"));
        let values = match std::fs::read(&path) {
            Ok(bytes) => match serde_json::from_slice::<Map<String, Json>>(&bytes) {
                Ok(m) => m,
                Err(e) => {
                    let aside = path.with_extension("json.corrupt");
                    tracing::error!(
                        store = %path.display(),
                        "script store {} does not parse ({e}); set aside as {}",
                        path.display(),
                        aside.display()
                    );
                    let _ = std::fs::rename(&path, &aside);
                    Map::new()
                }
            },
            Err(_) => Map::new(),
        };
        Store {
            path: Some(path),
            values,
        }
    }

    fn save(&self) -> Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let text = serde_json::to_string(&self.values).unwrap_or_default();
        if text.len() > MAX_STORE_BYTES {
            return Err(Error::Arguments {
                function: "storeSet".into(),
                reason: format!("the store would exceed {MAX_STORE_BYTES} bytes"),
            });
        }
        let io = |source| Error::Io {
            context: format!("cannot write script store {}", path.display()),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }
}

pub(super) fn call(ops: &mut Ops, a: Args<'_>) -> Result<Json> {
    match a.function {
        "storeGet" => Ok(ops
            .store
            .values
            .get(&a.str(0, "key")?)
            .cloned()
            .unwrap_or(Json::Null)),
        "storeSet" => {
            let key = a.str(0, "key")?;
            let old = ops.store.values.insert(key.clone(), a.get(1).clone());
            if let Err(e) = ops.store.save() {
                match old {
                    Some(v) => ops.store.values.insert(key, v),
                    None => ops.store.values.remove(&key),
                };
                return Err(e);
            }
            Ok(Json::Null)
        }
        "storeDelete" => {
            if ops.store.values.remove(&a.str(0, "key")?).is_some() {
                ops.store.save()?;
            }
            Ok(Json::Null)
        }
        "storeKeys" => Ok(Json::from(
            ops.store.values.keys().cloned().collect::<Vec<_>>(),
        )),
        "sharedGet" => Ok(ops.shared.global_get(&a.str(0, "key")?)),
        "sharedSet" => {
            ops.shared.global_set(a.str(0, "key")?, a.get(1).clone());
            Ok(Json::Null)
        }
        "sharedDelete" => {
            ops.shared.global_set(a.str(0, "key")?, Json::Null);
            Ok(Json::Null)
        }
        "sharedKeys" => Ok(Json::from(ops.shared.global_keys())),
        _ => Err(a.bad("not a store function")),
    }
}
