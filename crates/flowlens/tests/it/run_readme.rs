//! README.md's `flowlens run` curl examples are real: each `$ curl …` line of the "Run it as a
//! collector" section is sent (as curl would send it) to a real server fed with the Open
//! vSwitch sFlow capture, and its answer must match the lines the README shows under it
//! (`...` stands for any text; no line shown means an empty answer).

use crate::run_support;

use run_support::{exporter_capture, http, send_all, temp_dir, udp_payloads, Server};

/// Splits a shell command line into words: double and single quotes group, nothing else is
/// special (enough for the README's curl lines).
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut in_word = false;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    assert!(quote.is_none(), "unbalanced quotes in {line:?}");
    if in_word {
        out.push(cur);
    }
    out
}

/// A curl command line as (method, path, body, content type).
fn curl(line: &str) -> (String, String, Option<String>, String) {
    let w = words(line);
    assert_eq!(w[0], "curl", "{line}");
    let (mut method, mut body, mut ctype, mut url) = (None, None, None, None);
    let mut i = 1;
    while i < w.len() {
        match w[i].as_str() {
            "-X" => {
                method = Some(w[i + 1].clone());
                i += 1;
            }
            "--data" | "-d" => {
                body = Some(w[i + 1].clone());
                i += 1;
            }
            "-H" => {
                let (k, v) = w[i + 1].split_once(':').unwrap();
                assert!(k.eq_ignore_ascii_case("content-type"), "{line}");
                ctype = Some(v.trim().to_string());
                i += 1;
            }
            "-s" => {}
            u if u.starts_with("http://") => url = Some(u.to_string()),
            other => panic!("README curl line uses {other:?}, which this test does not know"),
        }
        i += 1;
    }
    let url = url.expect("a URL");
    let path = url
        .strip_prefix("http://localhost:8008")
        .unwrap_or_else(|| panic!("{url}: the README talks to http://localhost:8008"));
    let method = method.unwrap_or_else(|| if body.is_some() { "POST" } else { "GET" }.into());
    let ctype = ctype.unwrap_or_else(|| "application/x-www-form-urlencoded".into());
    (method, path.to_string(), body, ctype)
}

/// True when `actual` matches `pattern`, in which `...` stands for any text.
fn matches(pattern: &str, actual: &str) -> bool {
    let parts: Vec<&str> = pattern.split("...").collect();
    let mut rest = actual;
    for (i, p) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(p) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(p);
        } else {
            match rest.find(p) {
                Some(at) => rest = &rest[at + p.len()..],
                None => return false,
            }
        }
    }
    rest.is_empty()
}

#[test]
fn readme_collector_curl_examples_work() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let section = readme
        .split("\n## ")
        .find(|s| s.starts_with("Run it as a collector"))
        .expect("README section `Run it as a collector`");
    // (command, expected lines) of the console blocks.
    let mut steps: Vec<(String, Vec<String>)> = Vec::new();
    let mut in_block = false;
    for line in section.lines() {
        if line.starts_with("```console") {
            in_block = true;
        } else if line.starts_with("```") {
            in_block = false;
        } else if in_block {
            match line.strip_prefix("$ ") {
                Some(cmd) => steps.push((cmd.to_string(), Vec::new())),
                None => steps.last_mut().unwrap().1.push(line.to_string()),
            }
        }
    }
    assert!(steps.len() >= 5, "found only {} curl examples", steps.len());

    let dir = temp_dir("readme");
    let s = Server::start(&dir);
    let payloads = udp_payloads(&exporter_capture("sflow-ovs-br0.pcap"));
    let mut replayed = false;
    for (cmd, expected) in &steps {
        let (method, path, body, ctype) = curl(cmd);
        if !replayed && method == "GET" && !path.starts_with("/flow/") {
            // The exporter's traffic arrives after the definitions.
            send_all(s.ports.sflow, &payloads, 100, |sent| {
                s.wait_for("/analyzer/json", |a| {
                    a["sFlowDatagramsReceived"].as_u64() == Some(sent as u64)
                });
            });
            replayed = true;
        }
        let r = http(s.ports.http, &method, &path, body.as_deref(), &ctype).unwrap();
        assert!(
            (200..300).contains(&r.status),
            "`{cmd}`: {} {}",
            r.status,
            r.body
        );
        let got: Vec<&str> = r.body.lines().collect();
        assert_eq!(got.len(), expected.len(), "`{cmd}`: answered {:?}", r.body);
        for (want, line) in expected.iter().zip(&got) {
            assert!(
                matches(want, line),
                "`{cmd}`:\n  README: {want}\n  actual: {line}"
            );
        }
    }
    assert!(replayed);
    drop(s);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn pattern_matching() {
    assert!(matches("a...c", "abbbc"));
    assert!(matches("[{...},{...}]", "[{x},{y}]"));
    assert!(!matches("a...c", "abbbd"));
    assert!(matches("exact", "exact"));
    assert!(!matches("exact", "exactly"));
    assert_eq!(
        words(r#"curl -X PUT --data "{keys:'a', value:'b'}" http://x"#),
        [
            "curl",
            "-X",
            "PUT",
            "--data",
            "{keys:'a', value:'b'}",
            "http://x"
        ]
    );
}
