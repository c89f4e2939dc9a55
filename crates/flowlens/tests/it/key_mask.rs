//! Key masks change nothing but speed: `flowlens top` over every capture (`../shared/data`,
//! else the repository's `testdata/captures`) answers the same with the decoders producing
//! only the keys the definitions read (the default) and with them producing every key
//! (`--full-visit`, hidden, for this test).
//!
//! Each definition runs alone (so its mask is as small as it gets) over all captures, for
//! both `--totals --json` (every key's total) and `--json` (sFlow-RT's activeflows at the
//! end); then all definitions together run capture by capture with `--totals`, also with 4
//! engine shards (`--engine-threads 4`), which must not change an answer either.

use crate::common;

use std::path::PathBuf;

use common::flowlens;

/// Definitions covering the packet walker's keys at two depths, sFlow sample keys,
/// NetFlow/IPFIX normalised and `ipfix:` keys, key functions, values over keys and filters.
const DEFS: &[&str] = &[
    "pair={keys:'ipsource,ipdestination,ipprotocol',value:'bytes'}",
    "ports={keys:'or:tcpsourceport:udpsourceport,or:tcpdestinationport:udpdestinationport,tcpflags',value:'frames'}",
    "v6={keys:'ip6source,ip6destination,ip6nexthdr,ip6dscpname',value:'bytes'}",
    "l2={keys:'macsource,macdestination,ethernetprotocol,null:vlan:none,isbroadcast',value:'frames'}",
    "inner={keys:'ipsource.1,ipdestination.1,stack,null:vxlanvni:-,null:grekey:-',value:'bytes'}",
    "ds={keys:'agent,datasource,inputifindex,outputifindex,null:direction:-,samplingrate',value:'bytes',filter:'ipprotocol=6,17|ip6nexthdr=6,17'}",
    "dns={keys:'dnsqname,dnsqtypename,dnsqr',value:'frames'}",
    "icmp={keys:'or:icmptype:icmp6type,or:icmpcode:icmp6code,null:icmpunreachableport:-',value:'frames'}",
    "fn={keys:'mask:ipsource:24,prefix:stack:.:2,concat:-:ipttl:ipdscp,range:ipbytes:0:576',value:'avg:ipbytes',filter:'tcpflags~.......1.|ipprotocol!=6'}",
    "nf={keys:'null:bgpsourceas:-,null:bgpdestinationas:-,null:ipsourcemaskbits:-,null:ipnexthoprouter:-',value:'frames',filter:'samplingrate!=null'}",
    "ipfix={keys:'null:ipfix:flowEndReason:-,null:ipfix:flowDirection:-,ipdestination',value:'bytes'}",
    "count={keys:'ipdestination',value:'count:ipsource'}",
    "sf={keys:'null:vlansource:-,null:bgpdestinationaspath:-,null:ipnexthoprouter:-,null:vni:-',value:'bytes',filter:'agent!=null'}",
    "flowtime={keys:'ipsource',value:'max:flowend_ms'}",
];

/// True for definitions whose value has a total (`--totals` refuses `avg:`, `max:`, `count:`).
fn has_total(def: &str) -> bool {
    def.contains("value:'bytes'") || def.contains("value:'frames'")
}

/// Each output line as JSON with its rows sorted: hash maps are seeded per process, so keys
/// of equal value come out in either order, and a key of equal value at several data
/// sources is reported at either (so `agent` and `dataSource` are left out: two runs of the
/// same command differ there; activeflows runs with `--agg-mode sum` so the numbers do not
/// depend on which data source is picked), and sums over data sources run in hash order
/// (numbers are compared to 10 significant digits).
fn normalized(out: &str) -> Vec<String> {
    out.lines()
        .map(|l| {
            let v: serde_json::Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON {l:?}: {e}"));
            let mut rows: Vec<String> = match &v {
                serde_json::Value::Array(a) => a
                    .iter()
                    .map(|r| {
                        let mut r = r.clone();
                        if let Some(o) = r.as_object_mut() {
                            o.remove("agent");
                            o.remove("dataSource");
                            // Summed over data sources in hash order: last-digit noise.
                            for f in ["value", "samples", "ci95"] {
                                if let Some(x) = o.get(f).and_then(serde_json::Value::as_f64) {
                                    o.insert(f.into(), format!("{x:.9e}").into());
                                }
                            }
                        }
                        r.to_string()
                    })
                    .collect(),
                serde_json::Value::Object(o) => o
                    .iter()
                    .map(|(k, r)| format!("{k}: {}", normalized(&r.to_string()).join("\n")))
                    .collect(),
                other => vec![other.to_string()],
            };
            rows.sort();
            rows.join("\n")
        })
        .collect()
}

fn top(args: &[&str], files: &[PathBuf], full: bool) -> Vec<String> {
    let mut a: Vec<&str> = vec![
        "top",
        "--quiet",
        "--json",
        "--max-flows",
        "100000",
        "--agg-mode",
        "sum",
    ];
    a.extend_from_slice(args);
    if full {
        a.push("--full-visit");
    }
    a.extend(files.iter().map(|f| f.to_str().unwrap()));
    let out = flowlens(&a);
    assert!(
        out.status.success(),
        "flowlens {a:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    normalized(&String::from_utf8(out.stdout).unwrap())
}

#[test]
fn masked_and_full_visits_answer_alike_on_every_capture() {
    let files = flowlens_testdata::corpus_files();
    assert!(files.len() > 100, "only {} captures", files.len());
    for def in DEFS {
        for totals in [true, false] {
            if totals && !has_total(def) {
                continue;
            }
            let mut args = vec!["--flow", def];
            if totals {
                args.push("--totals");
            }
            let masked = top(&args, &files, false);
            let full = top(&args, &files, true);
            assert!(!masked.is_empty(), "{def}: no output");
            assert_eq!(masked, full, "{def} (totals: {totals}) differs with a mask");
        }
    }
    let mut all = Vec::new();
    for def in DEFS.iter().filter(|d| has_total(d)) {
        all.extend(["--flow", def]);
    }
    all.push("--totals");
    let mut sharded = all.clone();
    sharded.extend(["--engine-threads", "4"]);
    for f in &files {
        let one = std::slice::from_ref(f);
        let masked = top(&all, one, false);
        assert_eq!(
            masked,
            top(&all, one, true),
            "{} differs with a mask",
            f.display()
        );
        assert_eq!(
            masked,
            top(&sharded, one, false),
            "{} differs with 4 engine shards",
            f.display()
        );
    }
}
