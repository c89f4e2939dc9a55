//! Golden outputs of `flowlens decode` over every sFlow capture and payload and every raw
//! packet capture in `../shared/data`.
//!
//! Each golden file (`tests/golden/<path in shared/data>.txt`) holds the text output, then the
//! exit status and standard error (summary and error lines). The Open vSwitch and pmacct
//! exporter captures hold thousands of datagrams; their goldens keep the first
//! [`EXPORTER_DATAGRAMS`] datagrams and the full summary line, which counts every datagram,
//! sample and record of the file.
//!
//! Values in these outputs are checked independently: field by field against tshark
//! (`tshark_sflow.rs` here, `packet_walk.rs` in flowlens-wire) and against the specifications
//! (`sflow_decode.rs`). The goldens catch every other change to what a person reads.
//!
//! To accept a deliberate change: `UPDATE_GOLDEN=1 cargo test -p flowlens --test golden`,
//! then review the diff.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a panic is a failed test

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{data_dir, files_in};

/// Datagrams kept in the golden output of a large exporter capture.
const EXPORTER_DATAGRAMS: usize = 5;

fn inputs() -> Vec<PathBuf> {
    let data = data_dir();
    let mut v = files_in(&data.join("sflow"), |n| n.ends_with(".pcap"));
    v.extend(files_in(&data.join("exporters"), |n| {
        n.starts_with("sflow-")
    }));
    v.extend(files_in(&data.join("payloads/gopacket"), |_| true));
    v.extend(files_in(&data.join("payloads/goflow2"), |_| true));
    v.extend(files_in(&data.join("payloads/telegraf"), |n| {
        n.starts_with("sflow_")
    }));
    let mut dirs = files_in(&data.join("packets"), |_| true);
    dirs.sort();
    for d in dirs {
        v.extend(files_in(&d, |n| n.ends_with(".pcap")));
    }
    v
}

/// The text output of one input, as stored in its golden file.
fn render(rel: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_flowlens"))
        .current_dir(data_dir())
        .args(["decode", rel.to_str().unwrap()])
        .output()
        .unwrap();
    let mut stdout = String::from_utf8(out.stdout).unwrap();
    if rel.starts_with("exporters") {
        // Keep the first datagrams: each starts with an unindented header line.
        let mut starts = stdout.match_indices("\nsflow ").map(|(i, _)| i + 1);
        if let Some(cut) = starts.nth(EXPORTER_DATAGRAMS - 1) {
            stdout.truncate(cut);
            stdout.push_str(&format!(
                "(output after datagram {EXPORTER_DATAGRAMS} not kept)\n"
            ));
        }
    }
    format!(
        "{stdout}## exit status {}\n## stderr\n{}",
        out.status
            .code()
            .map_or("signal".to_string(), |c| c.to_string()),
        String::from_utf8(out.stderr).unwrap()
    )
}

#[test]
fn decode_output_matches_golden_files() {
    let data = data_dir();
    let golden_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let inputs = inputs();
    assert!(
        inputs.len() >= 100,
        "expected the full shared data set, found {}",
        inputs.len()
    );
    let mut failures = Vec::new();
    for input in &inputs {
        let rel = input.strip_prefix(&data).unwrap();
        let golden = golden_dir.join(rel).with_extension(format!(
            "{}.txt",
            rel.extension().and_then(|e| e.to_str()).unwrap_or("")
        ));
        let actual = render(rel);
        assert!(!actual.contains("panicked"), "{}: {actual}", rel.display());
        if update {
            std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
            std::fs::write(&golden, &actual).unwrap();
            continue;
        }
        let Ok(expected) = std::fs::read_to_string(&golden) else {
            failures.push(format!(
                "{}: no golden file {}",
                rel.display(),
                golden.display()
            ));
            continue;
        };
        if expected != actual {
            let (n, (e, a)) = expected
                .lines()
                .chain(std::iter::repeat("<end>"))
                .zip(actual.lines().chain(std::iter::repeat("<end>")))
                .enumerate()
                .find(|(_, (e, a))| e != a)
                .unwrap();
            failures.push(format!(
                "{}: line {}\n  golden: {e}\n  actual: {a}",
                rel.display(),
                n + 1
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} golden mismatches (UPDATE_GOLDEN=1 to accept, then review the diff):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
