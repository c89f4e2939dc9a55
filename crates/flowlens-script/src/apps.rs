//! The set of running scripts of a server, and where they come from: `--script FILE` and
//! apps laid out as sFlow-RT's (`<apps dir>/<app>/scripts/*.js`, static files in
//! `<apps dir>/<app>/html/`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value as Json;

use crate::script::ScriptHandle;
use crate::state::{Globals, HttpReply, HttpRequest, ScriptSpec};
use crate::{Config, Error, Host, Result};

/// The scripts of the apps under `dir`: every `*.js` in `<dir>/<app>/scripts/`, apps and files
/// in name order. A missing `dir` has no apps.
///
/// # Errors
/// `dir` exists but cannot be read.
pub fn find_apps(dir: &Path) -> Result<Vec<ScriptSpec>> {
    let io = |source| Error::Io {
        context: format!("cannot read apps directory {}", dir.display()),
        source,
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(e)),
    };
    let mut apps: Vec<(String, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("scripts").is_dir())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .collect();
    apps.sort();
    let mut out = Vec::new();
    for (app, path) in apps {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path.join("scripts"))
            .map_err(io)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "js") && p.is_file())
            .collect();
        files.sort();
        out.extend(files.into_iter().map(|path| ScriptSpec {
            path,
            app: Some(app.clone()),
        }));
    }
    Ok(out)
}

/// The running scripts.
#[derive(Default)]
pub struct Scripts {
    list: Vec<ScriptHandle>,
}

impl Scripts {
    /// Starts every script of `specs`, each on its own thread.
    ///
    /// # Errors
    /// Two scripts with the same id, or a thread that cannot be spawned (scripts already
    /// started are stopped again).
    pub fn start(specs: Vec<ScriptSpec>, host: Arc<dyn Host>, config: Config) -> Result<Scripts> {
        let config = Arc::new(config);
        let globals = Arc::new(Globals::default());
        let mut scripts = Scripts::default();
        for spec in specs {
            let id = spec.id();
            if scripts.list.iter().any(|s| s.id() == id) {
                scripts.stop();
                return Err(Error::Script(format!(
                    "two scripts named {id}: rename one (scripts are found by file name)"
                )));
            }
            match ScriptHandle::start(spec, host.clone(), config.clone(), globals.clone()) {
                Ok(h) => scripts.list.push(h),
                Err(source) => {
                    scripts.stop();
                    return Err(Error::Io {
                        context: format!("cannot start a thread for script {id}"),
                        source,
                    });
                }
            }
        }
        Ok(scripts)
    }

    /// No scripts.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The scripts, in start order.
    pub fn iter(&self) -> impl Iterator<Item = &ScriptHandle> {
        self.list.iter()
    }

    /// Whether some script has an event handler for threshold `threshold_id`.
    pub fn wants_event(&self, threshold_id: &str) -> bool {
        self.list.iter().any(|s| s.wants_event(threshold_id))
    }

    /// Whether some script has a flow handler for flow `name`.
    pub fn wants_flow(&self, name: &str) -> bool {
        self.list.iter().any(|s| s.wants_flow(name))
    }

    /// Offers an event to every script whose handler takes its threshold.
    pub fn offer_event(&self, threshold_id: &str, event: &Json) {
        for s in self.list.iter().filter(|s| s.wants_event(threshold_id)) {
            s.offer_event(event.clone());
        }
    }

    /// Offers a logged flow to every script whose handler takes its definition.
    pub fn offer_flow(&self, name: &str, flow: &Json) {
        for s in self.list.iter().filter(|s| s.wants_flow(name)) {
            s.offer_flow(flow.clone());
        }
    }

    /// The script `/script/<file>/json` or `/app/<app>/scripts/<file>/…` names.
    pub fn find(&self, app: Option<&str>, file: &str) -> Option<&ScriptHandle> {
        self.list.iter().find(|s| {
            let spec = s.spec();
            spec.file() == file && (app.is_none() || spec.app.as_deref() == app)
        })
    }

    /// Runs the HTTP handler of the script named by `app` and `file`; 404 when there is no
    /// such script.
    pub fn http(
        &self,
        app: Option<&str>,
        file: &str,
        req: HttpRequest,
        timeout: Duration,
    ) -> HttpReply {
        match self.find(app, file) {
            Some(s) => s.http(req, timeout),
            None => HttpReply {
                status: 404,
                body: format!("no script {file}"),
            },
        }
    }

    /// `/scripts/json`: one status object per script.
    pub fn status_json(&self) -> Json {
        Json::Array(self.list.iter().map(ScriptHandle::status_json).collect())
    }

    /// Stops every script and waits for their threads.
    pub fn stop(&self) {
        for s in &self.list {
            s.stop();
        }
    }
}
