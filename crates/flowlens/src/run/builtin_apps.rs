//! The built-in apps: sFlow-RT-style apps (`<app>/scripts/*.js`, `<app>/html/…`) from the
//! repository's `apps/` folder, embedded in the binary and run, when asked for
//! (`--builtin-app NAME`, `builtin-apps = [...]`), exactly as apps of the apps directory are:
//! same script API, same REST paths (`/app/<app>/scripts/<file>/…/json`), same pages
//! (`/app/<app>/html/`), listed in `/apps/json`.
//!
//! At start the asked-for apps are written to `<state dir>/builtin-apps/` (emptied first, so
//! an upgrade's apps replace the last ones); an app of the same name in the apps directory
//! is the operator's own and runs instead.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rust_embed::RustEmbed;

/// The embedded files of `apps/`.
#[derive(RustEmbed)]
#[folder = "../../apps/"]
struct Embedded;

/// The names of the built-in apps (`apps/<name>/scripts/` in the repository).
pub(crate) fn names() -> BTreeSet<String> {
    Embedded::iter()
        .filter_map(|f| {
            let (app, rest) = f.split_once('/')?;
            rest.starts_with("scripts/").then(|| app.to_string())
        })
        .collect()
}

/// Refuses a name that is not a built-in app, naming those there are.
///
/// # Errors
/// `name` is not in [`names`].
pub(crate) fn check(name: &str) -> Result<(), String> {
    let all = names();
    if all.contains(name) {
        Ok(())
    } else {
        Err(format!(
            "builtin-apps: no built-in app `{name}` (built in: {})",
            all.into_iter().collect::<Vec<_>>().join(", ")
        ))
    }
}

/// Writes the files of the apps `wanted` under `<state>/builtin-apps/` (emptied first) and
/// returns that directory.
///
/// # Errors
/// The directory cannot be emptied or a file cannot be written.
pub(crate) fn install(state: &Path, wanted: &[String]) -> Result<PathBuf> {
    let root = state.join("builtin-apps");
    match std::fs::remove_dir_all(&root) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot empty {}", root.display())),
    }
    for file in Embedded::iter() {
        let Some((app, _)) = file.split_once('/') else {
            continue;
        };
        if !wanted.iter().any(|w| w == app) {
            continue;
        }
        let Some(content) = Embedded::get(&file) else {
            continue;
        };
        let path = root.join(file.as_ref());
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        std::fs::write(&path, content.data.as_ref())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenants_and_placement_are_built_in_and_unknown_names_are_refused() {
        assert!(names().contains("tenants"));
        assert!(names().contains("mtu"));
        assert!(names().contains("tcp"));
        assert!(names().contains("placement"));
        assert!(check("tenants").is_ok());
        let e = check("nope").unwrap_err();
        assert!(
            e.contains("no built-in app `nope`") && e.contains("tenants"),
            "{e}"
        );
    }

    #[test]
    fn install_writes_only_the_wanted_apps_and_replaces_the_last_ones() {
        let dir = std::env::temp_dir().join(format!("flowlens-builtin-{}", std::process::id()));
        let stale = dir.join("builtin-apps/old/scripts/old.js");
        std::fs::create_dir_all(stale.parent().unwrap()).unwrap();
        std::fs::write(&stale, "").unwrap();
        let root = install(&dir, &["tenants".into()]).unwrap();
        assert!(root.join("tenants/scripts/tenants.js").is_file());
        assert!(root.join("tenants/html/index.html").is_file());
        assert!(!stale.exists());
        let root = install(&dir, &[]).unwrap();
        assert!(!root.join("tenants").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
