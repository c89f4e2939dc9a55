//! Helpers shared by the end-to-end tests: where the data is, how to run the binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `../shared/data` beside the workspace: the full capture set, with the captures whose
/// licences keep them out of the repository (AGPL, GPL, LGPL; see `testdata/PROVENANCE.md`).
/// Panics (failing the test) when it is missing; tests that can live without it use
/// [`shared_data_or_skip`] instead.
pub(crate) fn data_dir() -> PathBuf {
    shared_data().unwrap_or_else(|| {
        panic!(
            "the shared captures are missing: expected {}",
            shared_data_path().display()
        )
    })
}

fn shared_data_path() -> PathBuf {
    workspace_dir().join("../shared/data")
}

/// The folder to enumerate a whole corpus from, for the oracle tests (tshark comparisons,
/// which hold no per-file table): `../shared/data` when it is there (the full set), else the
/// repository's `testdata/captures` (same layout, its permissively licensed part).
pub(crate) fn corpus_dir() -> PathBuf {
    shared_data().unwrap_or_else(|| workspace_dir().join("testdata/captures"))
}

/// `../shared/data` when it is there.
pub(crate) fn shared_data() -> Option<PathBuf> {
    let dir = shared_data_path();
    dir.join("PROVENANCE.md").is_file().then_some(dir)
}

/// `../shared/data` for a test that needs the full set; without it (a plain clone of the
/// repository), prints `SKIPPED <test>: <reason>` and gives `None`, and the test returns
/// (nextest has no skip status: the line is the record).
pub(crate) fn shared_data_or_skip(test: &str) -> Option<PathBuf> {
    let dir = shared_data();
    if dir.is_none() {
        println!(
            "SKIPPED {test}: needs the full capture set in ../shared/data (captures whose \
             licences keep them out of the repository), which is not beside this checkout"
        );
    }
    dir
}

/// `../shared/<rel>` (the sFlow-RT article scripts in `sflow-rt-scripts/`: files whose
/// licences are not known, so they stay out of the repository) when it exists; else prints `SKIPPED <test>: <reason>` and gives
/// `None`.
pub(crate) fn shared_file_or_skip(test: &str, rel: &str) -> Option<PathBuf> {
    let p = workspace_dir().join("../shared").join(rel);
    if p.exists() {
        return Some(p);
    }
    println!("SKIPPED {test}: needs ../shared/{rel}, which is not beside this checkout");
    None
}

/// One capture by its path in the data set (`exporters/sflow-ovs-br0.pcap`,
/// `sflow/tcpdump__sflow_expanded.pcap`, ...): the repository's copy under
/// `testdata/captures/` (the permissively licensed captures and the testbed's recordings)
/// when it has one, else `../shared/data/<rel>`. Panics when neither exists.
pub(crate) fn data_file(rel: &str) -> PathBuf {
    let local = workspace_dir().join("testdata/captures").join(rel);
    if local.exists() {
        return local;
    }
    let shared = shared_data_path().join(rel);
    assert!(
        shared.exists(),
        "{rel}: neither in testdata/captures nor in {}",
        shared_data_path().display()
    );
    shared
}

/// [`data_file`] for a test whose capture may only be in `../shared/data`: `None` after
/// printing `SKIPPED <test>: <reason>` when it is in neither place.
pub(crate) fn data_file_or_skip(test: &str, rel: &str) -> Option<PathBuf> {
    let in_repo = workspace_dir().join("testdata/captures").join(rel).exists();
    if in_repo || shared_data_path().join(rel).exists() {
        return Some(data_file(rel));
    }
    println!(
        "SKIPPED {test}: needs {rel} from ../shared/data (its licence keeps it out of the \
         repository), which is not beside this checkout"
    );
    None
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

/// An exclusive lock on the Open vSwitch testbed: `scripts/testbed.sh` uses fixed network
/// namespace, link and bridge names (`nftb-h1`, ...), so tests (and test runs) that bring it up
/// must take turns.
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

/// `scripts/testbed.sh`, the Open vSwitch testbed (`up`, `down`; see its header).
pub(crate) fn testbed_script() -> PathBuf {
    workspace_dir().join("scripts/testbed.sh")
}

/// The Open vSwitch testbed for one test: holds [`testbed_lock`] and brings the testbed in
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
