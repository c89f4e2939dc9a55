//! Where the workspace's test captures are, for the crates' integration tests (a
//! `dev-dependency` only; never published).
//!
//! Two places hold captures with the same layout (`sflow/`, `netflow-ipfix/`, `payloads/…`,
//! `packets/…`, `exporters/`):
//!
//! - `testdata/captures/` in the repository: the permissively licensed part of the set and
//!   the testbed's recordings (see its PROVENANCE.md);
//! - `../shared/data` beside the checkout: the full set, including the captures whose
//!   licences keep them out of the repository (AGPL, GPL, LGPL). A plain clone has no such
//!   folder.
//!
//! Files are taken from the repository first. A test that needs something that is in
//! neither place prints `SKIPPED <test>: <reason>` on standard output and returns: nextest
//! has no skip status, so that line is the record (`--no-capture` or the JUnit output shows
//! it).

use std::path::{Path, PathBuf};

/// The workspace root (two levels above this crate's manifest).
pub fn workspace_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `testdata/captures` in the repository.
pub fn repo_dir() -> PathBuf {
    workspace_dir().join("testdata/captures")
}

/// `../shared/data` beside the workspace when it is there (recognised by its PROVENANCE.md).
pub fn shared_dir() -> Option<PathBuf> {
    let dir = workspace_dir().join("../shared/data");
    dir.join("PROVENANCE.md").is_file().then_some(dir)
}

/// The folder to enumerate a whole corpus from: `../shared/data` when it is there (the full
/// set, a superset of the repository's copies, byte for byte), else `testdata/captures`.
/// Tests that list folders get the largest set available; the tables of expectations they
/// hold for files outside the repository are skipped with [`skip`] when it is the latter.
pub fn corpus_dir() -> PathBuf {
    shared_dir().unwrap_or_else(repo_dir)
}

/// Every capture and payload file (`.pcap`, `.pcapng`, `.bin`, `.dat`, `.raw`) under
/// [`corpus_dir`], recursively, sorted by path.
///
/// # Panics
/// A folder of the corpus cannot be read (the test using it then fails).
#[allow(clippy::panic)]
pub fn corpus_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![corpus_dir()];
    while let Some(d) = todo.pop() {
        let entries =
            std::fs::read_dir(&d).unwrap_or_else(|e| panic!("reading {}: {e}", d.display()));
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else if p
                .extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| matches!(x, "pcap" | "pcapng" | "bin" | "dat" | "raw"))
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Whether the full set (`../shared/data`) is available.
pub fn has_full_set() -> bool {
    shared_dir().is_some()
}

/// One capture by its path in the set (`sflow/tcpdump__sflow_expanded.pcap`,
/// `exporters/sflow-ovs-br0.pcap`, …): the repository's copy when it has one, else
/// `../shared/data/<rel>`, else `None`.
pub fn file(rel: &str) -> Option<PathBuf> {
    let local = repo_dir().join(rel);
    if local.exists() {
        return Some(local);
    }
    shared_dir().map(|d| d.join(rel)).filter(|p| p.exists())
}

/// [`file()`], printing `SKIPPED <test>: <reason>` when the capture is in neither place.
pub fn file_or_skip(test: &str, rel: &str) -> Option<PathBuf> {
    let found = file(rel);
    if found.is_none() {
        skip(
            test,
            &format!(
                "needs {rel}, which is only in ../shared/data (its licence keeps it out of \
                 the repository) and that is not beside this checkout"
            ),
        );
    }
    found
}

/// `../shared/data` for a test whose point needs the full set; `None` after printing
/// `SKIPPED <test>: <reason>` when it is absent.
pub fn shared_or_skip(test: &str) -> Option<PathBuf> {
    let dir = shared_dir();
    if dir.is_none() {
        skip(
            test,
            "needs the full capture set in ../shared/data (captures whose licences keep them \
             out of the repository), which is not beside this checkout",
        );
    }
    dir
}

/// `../shared/<rel>` (a helper tool or script outside the data set) when it exists; else
/// prints `SKIPPED <test>: <reason>` and gives `None`.
pub fn shared_file_or_skip(test: &str, rel: &str) -> Option<PathBuf> {
    let p = workspace_dir().join("../shared").join(rel);
    if p.exists() {
        return Some(p);
    }
    skip(
        test,
        &format!("needs ../shared/{rel}, which is not beside this checkout"),
    );
    None
}

/// Prints the record of a skipped test or part of a test: `SKIPPED <test>: <reason>`.
pub fn skip(test: &str, reason: &str) {
    println!("SKIPPED {test}: {reason}");
}

/// sFlow v5 datagrams as a fabric of `agents` switches would send them together: each
/// datagram again from agents `10.255.k.1`, k = 0..`agents` (an IPv4 `agent_address`,
/// bytes 8..12 of `sample_datagram_v5`, sFlow v5 spec, rewritten; other datagrams are
/// repeated unchanged), interleaved datagram by datagram. With `spread`, agent k sends only
/// every (k + 1)th datagram, so that no two agents' values tie. Each datagram keeps its tag
/// `S` (its UDP sender, or `()`).
pub fn fabric<S: Clone>(
    datagrams: impl IntoIterator<Item = (S, Vec<u8>)>,
    agents: u8,
    spread: bool,
) -> Vec<(S, Vec<u8>)> {
    let mut out = Vec::new();
    for (i, (tag, d)) in datagrams.into_iter().enumerate() {
        for k in 0..agents {
            if spread && i % (usize::from(k) + 1) != 0 {
                continue;
            }
            let mut d = d.clone();
            // sample_datagram_v5: version (4 bytes), address type (4; 1 = IPv4), address.
            if d.get(4..8) == Some(&[0, 0, 0, 1][..]) {
                if let Some(addr) = d.get_mut(8..12) {
                    addr.copy_from_slice(&[10, 255, k, 1]);
                }
            }
            out.push((tag.clone(), d));
        }
    }
    out
}

/// `v` with every floating-point number as text to 12 significant digits: values summed
/// over a table's keys, or over a key's data sources, add up in the tables' (seeded) order,
/// so their last digits differ from run to run; comparisons of answers use this.
pub fn rounded(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Number(n) => match n.as_f64() {
            Some(x) if n.is_f64() => Value::String(format!("{x:.11e}")),
            _ => Value::Number(n),
        },
        Value::Array(a) => Value::Array(a.into_iter().map(rounded).collect()),
        Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, rounded(v))).collect()),
        other => other,
    }
}
