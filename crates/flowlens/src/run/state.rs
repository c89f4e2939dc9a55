//! The state directory of `flowlens run`: what survives a restart.
//!
//! Two files, each written atomically (a temporary file in the same directory, flushed, then
//! renamed over the old one), so a crash leaves the old or the new version, never half of one:
//!
//! * `definitions.json`: the engine's definitions document (flows, thresholds, groups, maps;
//!   shape in `flowlens_engine::persist`), written at every REST write before it is
//!   acknowledged (a write that cannot be saved is undone and answered 500: see
//!   [`super::durable`]).
//! * `templates.bin`: the NetFlow v9/IPFIX template cache snapshot, written at shutdown (Open
//!   vSwitch resends IPFIX templates only every ten minutes).
//!
//! The directory itself is held locked (`flock` on its descriptor) while the server runs: a
//! second `flowlens run` on the same directory stops at startup (one line, exit status 2)
//! instead of overwriting the first one's definitions. No file in it is the lock, so deleting
//! files cannot let a second server in.
//!
//! A definitions document some of whose items no longer compile is restored without them and
//! copied, as read, to `definitions.json.unrestored-<unix-secs>` (the next save writes only
//! what was restored), so the operator can fix and re-apply them.
//!
//! A save that fails leaves the previous file in place and is remembered until a later save of
//! the same file succeeds; at shutdown, a file still unsaved makes `flowlens run` say so and
//! exit with status 1 ([`StateDir::unsaved`]).
//!
//! A file that cannot be parsed is reported in one line on standard error and renamed aside to
//! `<name>.corrupt-<unix-secs>`; the server starts without it. Only the directory itself
//! being unusable (cannot be created) is fatal, at startup.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use serde_json::Value as Json;

/// File name of the definitions document.
pub(crate) const DEFINITIONS_FILE: &str = "definitions.json";
/// File name of the template cache snapshot.
pub(crate) const TEMPLATES_FILE: &str = "templates.bin";

/// The state directory.
#[derive(Clone, Debug)]
pub(crate) struct StateDir {
    dir: PathBuf,
    /// What every clone has saved and failed to save.
    saves: std::sync::Arc<std::sync::Mutex<Saves>>,
    /// Held while the definitions document is written, so saves of successive versions
    /// happen one at a time and an older one never overwrites a newer one.
    definitions_writer: std::sync::Arc<std::sync::Mutex<u64>>,
    /// The version number the next snapshot of the definitions gets
    /// ([`StateDir::definitions_version`]).
    next_version: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// The directory, open and exclusively locked for as long as the server runs (released
    /// when the last clone is dropped or the process ends).
    _lock: std::sync::Arc<fs::File>,
}

/// The outcome of the saves so far.
#[derive(Debug, Default)]
struct Saves {
    /// The bytes of the definitions document last written successfully: saving the same
    /// document again writes nothing.
    definitions: Option<Vec<u8>>,
    /// Files whose last save failed, with the error.
    failed: std::collections::BTreeMap<&'static str, String>,
}

impl StateDir {
    /// Opens `dir` (creating it), or the default `<data dir>/flowlens` when `None`.
    ///
    /// # Errors
    /// No data directory is known for this user and none was given, or the directory cannot
    /// be created.
    pub(crate) fn open(dir: Option<&Path>) -> Result<StateDir> {
        let dir = match dir {
            Some(d) => d.to_path_buf(),
            None => dirs::data_dir()
                .context("no data directory known for this user: give --state-dir")?
                .join("flowlens"),
        };
        fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create state directory {}", dir.display()))?;
        // The directory itself is locked (flock on its descriptor), not a file in it: deleting
        // a lock file would let a second server in; the directory cannot be deleted and
        // recreated under a running server without that server's saves failing loudly.
        let lock = fs::File::open(&dir)
            .with_context(|| format!("cannot open state directory {}", dir.display()))?;
        // fs4's lock, not std's `File::try_lock` (Rust 1.89, newer than this crate's MSRV).
        match fs4::FileExt::try_lock(&lock) {
            Ok(()) => {}
            Err(fs4::TryLockError::WouldBlock) => anyhow::bail!(
                "state directory {} is in use by another flowlens run",
                dir.display()
            ),
            Err(fs4::TryLockError::Error(e)) => {
                return Err(e)
                    .with_context(|| format!("cannot lock state directory {}", dir.display()))
            }
        }
        Ok(StateDir {
            dir,
            saves: std::sync::Arc::default(),
            definitions_writer: std::sync::Arc::default(),
            next_version: std::sync::Arc::new(std::sync::atomic::AtomicU64::new(1)),
            _lock: std::sync::Arc::new(lock),
        })
    }

    /// The directory.
    pub(crate) fn path(&self) -> &Path {
        &self.dir
    }

    /// The definitions document, if there is a readable one. An unreadable or unparsable file
    /// is reported and set aside (see the module docs).
    pub(crate) fn load_definitions(&self) -> Option<Json> {
        self.load_json(DEFINITIONS_FILE)
    }

    /// The JSON object in file `name` of the directory, if there is a readable one; an
    /// unreadable or unparsable file is reported and set aside.
    pub(crate) fn load_json(&self, name: &str) -> Option<Json> {
        let path = self.dir.join(name);
        let bytes = self.read(&path)?;
        match serde_json::from_slice::<Json>(&bytes) {
            Ok(doc) if doc.is_object() => Some(doc),
            Ok(_) => {
                self.set_aside(&path, "not a JSON object");
                None
            }
            Err(e) => {
                self.set_aside(&path, &e.to_string());
                None
            }
        }
    }

    /// The template snapshot, buffered for reading, if the file exists and can be opened
    /// (restored template by template: the snapshot is never held whole in memory).
    pub(crate) fn open_templates(&self) -> Option<std::io::BufReader<fs::File>> {
        let path = self.dir.join(TEMPLATES_FILE);
        match fs::File::open(&path) {
            Ok(f) => Some(std::io::BufReader::new(f)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                tracing::error!(
                    file = %path.display(),
                    "cannot read {}: {e}; starting without it",
                    path.display()
                );
                None
            }
        }
    }

    /// Reports a file of the directory (`name`) that the caller could not use and renames it
    /// aside.
    pub(crate) fn set_aside_file(&self, name: &str, why: &str) {
        self.set_aside(&self.dir.join(name), why);
    }

    /// Keeps a copy of the file `name` as it is now, as `<name>.unrestored-<unix-secs>` (for a
    /// file some of whose items could not be used: the next save would drop them). A copy
    /// with the same bytes already there is reused. Returns the copy's path.
    ///
    /// # Errors
    /// The file cannot be read or the copy written.
    pub(crate) fn keep_copy(&self, name: &str) -> Result<PathBuf> {
        let path = self.dir.join(name);
        let bytes = fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let prefix = format!("{name}.unrestored-");
        let existing = fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
            .map(|e| e.path())
            .find(|p| fs::read(p).is_ok_and(|b| b == bytes));
        if let Some(p) = existing {
            return Ok(p);
        }
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let copy = format!("{prefix}{secs}");
        self.write_file(&copy, |w| w.write_all(&bytes))?;
        Ok(self.dir.join(copy))
    }

    /// Writes the definitions document atomically, unless it is the one last written.
    ///
    /// # Errors
    /// The temporary file cannot be written or renamed (it is removed then); the file's
    /// failure is remembered until a later save of it succeeds ([`StateDir::unsaved`]).
    pub(crate) fn save_definitions(&self, doc: &Json) -> Result<()> {
        self.save_definitions_version(self.definitions_version(), doc)
    }

    /// A version number for a snapshot of the definitions, taken where the snapshot is (on
    /// the engine thread, so versions follow the order of the changes).
    pub(crate) fn definitions_version(&self) -> u64 {
        self.next_version
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// Saves `doc`, the snapshot numbered `version`, unless a later snapshot is already saved
    /// (it holds this one's changes too). Blocking IO (a write and an fsync): call it off the
    /// engine thread. Saves are serialised.
    ///
    /// # Errors
    /// The file cannot be written (the previous one stays in place).
    pub(crate) fn save_definitions_version(&self, version: u64, doc: &Json) -> Result<()> {
        let mut saved = self
            .definitions_writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if version <= *saved {
            return Ok(());
        }
        self.write_definitions(doc)?;
        *saved = version;
        Ok(())
    }

    fn write_definitions(&self, doc: &Json) -> Result<()> {
        let mut text = serde_json::to_vec_pretty(doc).context("serialise definitions")?;
        text.push(b'\n');
        if self.saves().definitions.as_ref() == Some(&text) {
            return Ok(());
        }
        self.write_atomic(DEFINITIONS_FILE, &text)?;
        self.saves().definitions = Some(text);
        Ok(())
    }

    /// Writes `doc` to file `name` atomically (pretty JSON), as the definitions are. Blocking
    /// IO: call it off the engine thread and the async runtime's workers.
    ///
    /// # Errors
    /// As [`StateDir::save_definitions`].
    pub(crate) fn save_json(&self, name: &'static str, doc: &Json) -> Result<()> {
        let mut text = serde_json::to_vec_pretty(doc).context("serialise JSON")?;
        text.push(b'\n');
        self.write_atomic(name, &text)
    }

    /// Writes the template snapshot atomically.
    ///
    /// # Errors
    /// As [`StateDir::save_definitions`].
    pub(crate) fn save_templates(
        &self,
        write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> Result<()> {
        self.write_atomic_with(TEMPLATES_FILE, write)
    }

    /// The files whose last save failed, with the error (empty: everything asked to be saved
    /// is on disk).
    pub(crate) fn unsaved(&self) -> Vec<(&'static str, String)> {
        self.saves()
            .failed
            .iter()
            .map(|(k, v)| (*k, v.clone()))
            .collect()
    }

    fn saves(&self) -> std::sync::MutexGuard<'_, Saves> {
        // Plain data: a panic while holding the lock leaves it usable.
        self.saves
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn read(&self, path: &Path) -> Option<Vec<u8>> {
        match fs::read(path) {
            Ok(b) => Some(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                tracing::error!(
                    file = %path.display(),
                    "cannot read {}: {e}; starting without it",
                    path.display()
                );
                None
            }
        }
    }

    fn set_aside(&self, path: &Path, why: &str) {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut aside = path.as_os_str().to_owned();
        aside.push(format!(".corrupt-{secs}"));
        let aside = PathBuf::from(aside);
        match fs::rename(path, &aside) {
            Ok(()) => tracing::error!(
                file = %path.display(),
                aside = %aside.display(),
                "{} is corrupt ({why}); moved to {} and starting without it",
                path.display(),
                aside.display()
            ),
            Err(e) => tracing::error!(
                file = %path.display(),
                "{} is corrupt ({why}) and cannot be moved aside ({e}); starting without it",
                path.display()
            ),
        }
    }

    /// Writes `name` atomically and remembers whether it failed ([`StateDir::unsaved`]).
    fn write_atomic(&self, name: &'static str, bytes: &[u8]) -> Result<()> {
        self.write_atomic_with(name, |w| w.write_all(bytes))
    }

    /// [`StateDir::write_atomic`] with the contents streamed by `write` into a buffered file
    /// (a large template cache needs no buffer of its size).
    fn write_atomic_with(
        &self,
        name: &'static str,
        write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> Result<()> {
        match self.write_file(name, write) {
            Ok(()) => {
                self.saves().failed.remove(name);
                Ok(())
            }
            Err(e) => {
                self.saves().failed.insert(name, format!("{e:#}"));
                Err(e)
            }
        }
    }

    /// Writes `name` atomically: a temporary file in the directory, synced, renamed over it.
    fn write_file(
        &self,
        name: &str,
        contents: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> Result<()> {
        let path = self.dir.join(name);
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let write = || -> std::io::Result<()> {
            let mut w = std::io::BufWriter::new(fs::File::create(&tmp)?);
            contents(&mut w)?;
            let f = w
                .into_inner()
                .map_err(std::io::IntoInnerError::into_error)?;
            f.sync_all()?;
            fs::rename(&tmp, &path)
        };
        write().map_err(|e| {
            // A half-written temporary file only takes space (a full disk, most likely).
            let _ = fs::remove_file(&tmp);
            anyhow::Error::new(e).context(format!("cannot write {}", path.display()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("flowlens-state-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn round_trip_and_corrupt_file_is_set_aside() {
        let dir = temp_dir("unit");
        let s = StateDir::open(Some(&dir)).unwrap();
        assert!(s.load_definitions().is_none());
        let doc = serde_json::json!({"version": 1, "flows": {}});
        s.save_definitions(&doc).unwrap();
        assert_eq!(s.load_definitions(), Some(doc));
        fs::write(dir.join(DEFINITIONS_FILE), b"{not json").unwrap();
        assert!(s.load_definitions().is_none());
        assert!(!dir.join(DEFINITIONS_FILE).exists());
        let aside: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.starts_with("definitions.json.corrupt-"))
            .collect();
        assert_eq!(aside.len(), 1, "{aside:?}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
