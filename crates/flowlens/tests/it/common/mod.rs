//! Helpers shared by the end-to-end tests: where the data is, how to run the binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `../shared/data` beside the workspace. Panics (failing the test) when it is missing: these
/// tests exist to run on the real captures, so a missing data set must not look like a pass.
pub(crate) fn data_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    assert!(
        dir.join("PROVENANCE.md").is_file(),
        "the shared captures are missing: expected {}",
        dir.display()
    );
    dir
}

/// The workspace root.
pub(crate) fn workspace_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs the built `flowlens` binary with `args`.
pub(crate) fn flowlens(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flowlens"))
        .args(args)
        .output()
        .expect("run flowlens")
}

/// Runs `flowlens decode --format json --quiet FILE` and parses every output line.
pub(crate) fn decode_json(file: &Path) -> (Output, Vec<serde_json::Value>) {
    let out = flowlens(&[
        "decode",
        "--format",
        "json",
        "--quiet",
        file.to_str().unwrap(),
    ]);
    let docs = String::from_utf8(out.stdout.clone())
        .expect("utf-8 output")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect();
    (out, docs)
}

/// Files under `dir` (one level) whose names satisfy `keep`, sorted.
pub(crate) fn files_in(dir: &Path, keep: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(&keep))
        .collect();
    v.sort();
    v
}

/// An exclusive lock on the shared testbed: `../shared/tools/nftestbed.sh` uses fixed network
/// namespace names (`nftb-h1`, ...), so tests (and test runs) that bring it up must take turns.
/// Blocks until the lock is free; released when the returned file is dropped.
pub(crate) fn testbed_lock() -> std::fs::File {
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open("/tmp/flowlens-nftestbed.lock")
        .expect("open the testbed lock file");
    fs4::FileExt::lock(&f).expect("lock the testbed");
    f
}

/// `../shared/tools/nftestbed.sh`.
pub(crate) fn testbed_script() -> PathBuf {
    workspace_dir().join("../shared/tools/nftestbed.sh")
}

/// The shared testbed for one test: holds [`testbed_lock`] and brings the testbed in
/// `NFTB_DIR` = `dir` down however the test ends (the lock is released after that).
pub(crate) struct Testbed {
    dir: String,
    /// Held until the testbed is down (fields drop after `Drop::drop`).
    _lock: std::fs::File,
}

impl Testbed {
    /// Waits for the testbed lock; `up` is left to the caller (its exporter targets vary).
    pub(crate) fn take(dir: &str) -> Testbed {
        Testbed {
            _lock: testbed_lock(),
            dir: dir.to_string(),
        }
    }
}

impl Drop for Testbed {
    fn drop(&mut self) {
        let _ = Command::new(testbed_script())
            .arg("down")
            .env("NFTB_DIR", &self.dir)
            .output();
    }
}

/// Runs `cmd`, failing the test with its output unless it succeeds; its standard output.
pub(crate) fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
