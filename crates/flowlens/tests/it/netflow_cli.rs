//! `flowlens decode` on NetFlow v9: templates carried across files and across runs through
//! `--templates`, and `--sampling` overrides.

use crate::common;

use common::{data_dir, flowlens};

fn json_lines(out: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn records(docs: &[serde_json::Value]) -> Vec<&serde_json::Value> {
    docs.iter()
        .flat_map(|d| d["records"].as_array().into_iter().flatten())
        .collect()
}

#[test]
fn templates_persist_across_runs_and_sampling_overrides_apply() {
    if common::shared_data_or_skip(
        "netflow_cli::templates_persist_across_runs_and_sampling_overrides_apply",
    )
    .is_none()
    {
        return;
    }
    let data = data_dir().join("netflow-ipfix");
    let tpl = data.join("akvorado__nfv9-template.pcap");
    let dat = data.join("akvorado__nfv9-data.pcap");
    let dir = std::env::temp_dir().join(format!("flowlens-templates-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cache = dir.join("templates.json");
    let (tpl, dat, cache_s) = (
        tpl.to_str().unwrap(),
        dat.to_str().unwrap(),
        cache.to_str().unwrap(),
    );

    // Data alone: its set waits for a template that never comes, and says so.
    let alone = flowlens(&["decode", "--format", "json", dat]);
    let docs = json_lines(&alone.stdout);
    assert!(records(&docs).is_empty());
    assert_eq!(docs[0]["sets"]["held"], 1);
    assert!(String::from_utf8_lossy(&alone.stderr).contains("1 data set never got a template"));

    // Template and data in one run, in that order: 4 records.
    let both = flowlens(&["decode", "--format", "json", "-q", tpl, dat]);
    let expected = records(&json_lines(&both.stdout)).len();
    assert_eq!(expected, 4);

    // Template in one run, saved; data in the next run, with the cache: the same records.
    let first = flowlens(&["decode", "-q", "--templates", cache_s, tpl]);
    assert_eq!(first.status.code(), Some(0));
    assert!(std::fs::read_to_string(&cache)
        .unwrap()
        .contains("\"template_id\""));
    let second = flowlens(&[
        "decode",
        "--format",
        "json",
        "-q",
        "--templates",
        cache_s,
        dat,
    ]);
    let second_docs = json_lines(&second.stdout);
    let recs = records(&second_docs);
    assert_eq!(recs.len(), expected);
    assert_eq!(recs[0]["keys"]["ipsource"], "198.38.121.178");
    assert_eq!(recs[0]["sampling_source"], "default1");

    // A per-exporter sampling override scales bytes and frames.
    let over = flowlens(&[
        "decode",
        "--format",
        "json",
        "-q",
        "--sampling",
        "192.0.2.100=1000",
        tpl,
        dat,
    ]);
    let over_docs = json_lines(&over.stdout);
    let r = records(&over_docs)[0];
    assert_eq!(r["sampling_rate"], 1000);
    assert_eq!(r["sampling_source"], "override");
    assert_eq!(r["keys"]["frames"], 1000);
    assert_eq!(r["keys"]["bytes"], 1_500_000);

    // A corrupt cache is reported and set aside; the run goes on.
    std::fs::write(&cache, b"{ not a template cache").unwrap();
    let corrupt = flowlens(&[
        "decode",
        "--format",
        "json",
        "--templates",
        cache_s,
        tpl,
        dat,
    ]);
    assert_eq!(corrupt.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&corrupt.stderr).contains("ignoring the template cache"));
    assert_eq!(records(&json_lines(&corrupt.stdout)).len(), expected);
    std::fs::remove_dir_all(&dir).ok();
}
