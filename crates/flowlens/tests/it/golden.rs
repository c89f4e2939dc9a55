//! Golden outputs of `flowlens decode` over every capture and payload in `../shared/data`:
//! sFlow, NetFlow v5/v9, IPFIX and raw packets.
//!
//! Each golden file (`tests/golden/<path in shared/data>.txt`) holds the text output of the
//! file decoded alone, then the exit status and standard error (summary and error lines).
//! NetFlow v9 / IPFIX sequences that need templates from another file are also decoded
//! together in feed order (`tests/golden/sequences/`). The exporter captures hold thousands of
//! datagrams (their whole outputs are 50 MB): their goldens cover the whole output by its
//! line count, size and digest, keep the first [`EXPORTER_DATAGRAMS`] datagrams verbatim for
//! review, and the full summary line, which counts every datagram, sample and record.
//!
//! Values in these outputs are checked independently: field by field against tshark
//! (`tshark_sflow.rs` here, `packet_walk.rs` in flowlens-wire) and against the specifications
//! (`sflow_decode.rs`). The goldens catch every other change to what a person reads.
//!
//! To accept a deliberate change: `UPDATE_GOLDEN=1 cargo test -p flowlens --test golden`,
//! then review the diff.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{data_dir, files_in};

/// Datagrams kept in the golden output of a large exporter capture.
const EXPORTER_DATAGRAMS: usize = 5;

/// One golden: a name (its path under `tests/golden/`, without `.txt`) and the files decoded
/// together, in order, in one run.
struct Case {
    name: String,
    files: Vec<PathBuf>,
}

fn single(data: &Path, path: PathBuf) -> Case {
    let rel = path
        .strip_prefix(data)
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    Case {
        name: rel,
        files: vec![path],
    }
}

fn cases() -> Vec<Case> {
    let data = data_dir();
    let mut files = files_in(&data.join("sflow"), |n| n.ends_with(".pcap"));
    files.extend(files_in(&data.join("exporters"), |n| n.ends_with(".pcap")));
    files.extend(files_in(&data.join("payloads/gopacket"), |_| true));
    files.extend(files_in(&data.join("payloads/goflow2"), |_| true));
    files.extend(files_in(&data.join("payloads/telegraf"), |_| true));
    files.extend(files_in(
        &data.join("payloads/logstash-codec-netflow"),
        |_| true,
    ));
    files.extend(files_in(&data.join("netflow-ipfix"), |n| {
        n.ends_with(".pcap")
    }));
    for d in files_in(&data.join("packets"), |_| true) {
        files.extend(files_in(&d, |n| n.ends_with(".pcap")));
    }
    // Every file alone, as a person would first run it (data-only NetFlow/IPFIX files show
    // their sets held for a template that never comes)...
    let mut cases: Vec<Case> = files.into_iter().map(|f| single(&data, f)).collect();
    // ...and every multi-file NetFlow/IPFIX sequence in the order that gives templates first.
    cases.extend(sequences(&data));
    cases
}

/// Multi-file sequences: Logstash's (PROVENANCE.md "sequence:" lines), Telegraf's test cases
/// (files of one case in name order) and akvorado's template/data pairs (options templates,
/// options data, templates, then data).
fn sequences(data: &Path) -> Vec<Case> {
    let mut out = Vec::new();
    let provenance = std::fs::read_to_string(data.join("PROVENANCE.md")).unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for part in provenance.split("sequence: ").skip(1) {
        let seq = part.split(['<', '|', '\n']).next().unwrap().trim();
        if !seen.insert(seq.to_string()) {
            continue;
        }
        let dir = data.join("payloads/logstash-codec-netflow");
        let files: Vec<PathBuf> = seq
            .split(" → ")
            .map(|f| dir.join(f.trim()))
            // One upstream file was not kept: it is byte-identical to netflow9_test_valid01.dat.
            .map(|p| {
                if p.exists() {
                    p
                } else {
                    dir.join("netflow9_test_valid01.dat")
                }
            })
            .collect();
        let first = seq.split(" → ").next().unwrap().trim().to_string();
        out.push(Case {
            name: format!("sequences/logstash/{first}"),
            files,
        });
    }
    let mut telegraf: std::collections::BTreeMap<String, Vec<PathBuf>> = Default::default();
    for f in files_in(&data.join("payloads/telegraf"), |_| true) {
        let name = f.file_name().unwrap().to_str().unwrap();
        let case = name.split("__").next().unwrap().to_string();
        telegraf.entry(case).or_default().push(f);
    }
    for (case, files) in telegraf.into_iter().filter(|(_, f)| f.len() > 1) {
        out.push(Case {
            name: format!("sequences/telegraf/{case}"),
            files,
        });
    }
    let mut akvorado: std::collections::BTreeMap<String, Vec<(u8, PathBuf)>> = Default::default();
    for f in files_in(&data.join("netflow-ipfix"), |n| n.starts_with("akvorado__")) {
        let name = f
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .trim_end_matches(".pcap");
        let roles = [
            ("-options-template", 0),
            ("-options-data", 1),
            ("-templates", 2),
            ("-template", 2),
            ("-data", 3),
        ];
        if let Some((stem, rank)) = roles
            .iter()
            .find_map(|(suffix, r)| name.strip_suffix(suffix).map(|s| (s, *r)))
        {
            akvorado
                .entry(stem.to_string())
                .or_default()
                .push((rank, f.clone()));
        }
    }
    for (stem, mut files) in akvorado.into_iter().filter(|(_, f)| f.len() > 1) {
        files.sort();
        let files = files.into_iter().map(|(_, f)| f).collect();
        out.push(Case {
            name: format!("sequences/akvorado/{stem}"),
            files,
        });
    }
    out
}

/// FNV-1a, 64-bit: a stable digest of a whole exporter capture's output (a change anywhere in
/// it changes the golden; not a security hash).
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The text output of one case, as stored in its golden file.
fn render(case: &Case) -> String {
    let data = data_dir();
    let rels: Vec<String> = case
        .files
        .iter()
        .map(|f| f.strip_prefix(&data).unwrap().to_str().unwrap().to_string())
        .collect();
    let out = Command::new(env!("CARGO_BIN_EXE_flowlens"))
        .current_dir(&data)
        .arg("decode")
        .args(&rels)
        .output()
        .unwrap();
    let mut stdout = String::from_utf8(out.stdout).unwrap();
    if case.name.starts_with("exporters") {
        // The whole output is guarded by its size and digest; the first datagrams are kept
        // verbatim for review (each starts with an unindented header line).
        let whole = format!(
            "whole output: {} lines, {} bytes, FNV-1a-64 {:016x}",
            stdout.lines().count(),
            stdout.len(),
            fnv1a64(stdout.as_bytes())
        );
        let mut starts = stdout
            .match_indices('\n')
            .filter(|(i, _)| stdout[i + 1..].chars().next().is_some_and(|c| c != ' '))
            .map(|(i, _)| i + 1);
        if let Some(cut) = starts.nth(EXPORTER_DATAGRAMS - 1) {
            stdout.truncate(cut);
            stdout.push_str(&format!(
                "(output after datagram {EXPORTER_DATAGRAMS} not kept verbatim)\n"
            ));
        }
        stdout.push_str(&format!("## {whole}\n"));
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
    if common::shared_data_or_skip("golden::decode_output_matches_golden_files").is_none() {
        return;
    }
    let golden_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    // Goldens guard formatting only (values come from the oracle tests); they are rewritten
    // only on an explicit UPDATE_GOLDEN=1 outside CI, and a run that rewrites them fails, so a
    // regenerated golden can never pass unseen.
    let update = match std::env::var("UPDATE_GOLDEN").as_deref() {
        Ok("1") => true,
        Ok(other) => panic!("UPDATE_GOLDEN={other}: set it to 1 to rewrite the golden files"),
        Err(_) => false,
    };
    assert!(
        !(update && std::env::var_os("CI").is_some()),
        "golden files are never rewritten in CI"
    );
    let mut rewritten = 0;
    let cases = cases();
    assert!(
        cases.len() >= 250,
        "expected the full shared data set, found {} cases",
        cases.len()
    );
    let mut failures = Vec::new();
    for case in &cases {
        let golden = golden_dir.join(format!("{}.txt", case.name));
        let actual = render(case);
        assert!(!actual.contains("panicked"), "{}: {actual}", case.name);
        if update {
            std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
            if std::fs::read_to_string(&golden).ok().as_deref() != Some(actual.as_str()) {
                std::fs::write(&golden, &actual).unwrap();
                rewritten += 1;
            }
            continue;
        }
        let Ok(expected) = std::fs::read_to_string(&golden) else {
            failures.push(format!(
                "{}: no golden file {}",
                case.name,
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
                case.name,
                n + 1
            ));
        }
    }
    assert!(
        rewritten == 0,
        "UPDATE_GOLDEN=1 rewrote {rewritten} golden files: review them with git diff, then run \
         again without UPDATE_GOLDEN"
    );
    assert!(
        failures.is_empty(),
        "{} golden mismatches (UPDATE_GOLDEN=1 to accept, then review the diff):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
