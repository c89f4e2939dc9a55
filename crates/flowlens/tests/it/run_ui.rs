//! The web UI's files as `flowlens run` serves them: every file of `ui/web/` at `/ui/…`,
//! byte for byte (so the binary embeds the whole module graph), the page at `/`, revalidation
//! by entity tag, and `/ui/config.json` telling the page what it may do.

use crate::run_support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};

use run_support::{temp_dir, Server};

/// The files under `dir`, relative paths with `/`.
fn files(dir: &Path, base: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, base, out);
        } else {
            out.push(p.strip_prefix(base).unwrap().to_path_buf());
        }
    }
}

/// A raw GET: status line and headers (lower-case names), and the body bytes.
fn raw_get(addr: SocketAddr, path: &str, extra: &str) -> (String, Vec<(String, String)>, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{extra}\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8(raw[..end].to_vec()).unwrap();
    let mut lines = head.lines();
    let status = lines.next().unwrap().to_string();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers, raw[end + 4..].to_vec())
}

fn header<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
    h.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

#[test]
fn every_ui_file_is_served_as_it_is_in_the_tree() {
    let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui/web");
    let mut all = Vec::new();
    files(&web, &web, &mut all);
    assert!(all.len() >= 12, "{all:?}");
    let dir = temp_dir("ui-files");
    let s = Server::start(&dir);
    let addr = s.ports.http;
    for rel in &all {
        let url = format!("/ui/{}", rel.to_str().unwrap());
        let (status, headers, body) = raw_get(addr, &url, "");
        assert!(status.contains(" 200 "), "{url}: {status}");
        assert_eq!(body, std::fs::read(web.join(rel)).unwrap(), "{url}");
        let ct = header(&headers, "content-type").unwrap_or("");
        let want = match rel.extension().and_then(|e| e.to_str()) {
            Some("js") => "javascript",
            Some("css") => "text/css",
            Some("html") => "text/html",
            _ => "",
        };
        assert!(ct.contains(want), "{url}: content-type {ct}");
    }
    // The page itself, at /, with the navigation the issue names.
    let (status, _, body) = raw_get(addr, "/", "");
    assert!(status.contains(" 200 "), "{status}");
    let page = String::from_utf8(body).unwrap();
    for label in ["Status", "Metrics", "Flows", "Events", "Apps", "API"] {
        assert!(page.contains(&format!(">{label}</a>")), "{label}");
    }
    // Revalidation: the entity tag answers 304, another one the file.
    let (_, headers, _) = raw_get(addr, "/ui/app.js", "");
    let etag = header(&headers, "etag").unwrap().to_string();
    let (status, _, body) = raw_get(addr, "/ui/app.js", &format!("If-None-Match: {etag}\r\n"));
    assert!(status.contains(" 304 ") && body.is_empty(), "{status}");
    let (status, _, _) = raw_get(addr, "/ui/app.js", "If-None-Match: \"other\"\r\n");
    assert!(status.contains(" 200 "), "{status}");
    let (status, _, _) = raw_get(addr, "/ui/nope.js", "");
    assert!(status.contains(" 404 "), "{status}");
    drop(s);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn config_tells_the_page_what_it_may_do() {
    let dir = temp_dir("ui-config");
    let token = dir.join("token.txt");
    std::fs::write(&token, "t0k3n\n").unwrap();
    for (extra, want) in [
        (vec![], "open"),
        (vec!["--read-only"], "read-only"),
        (vec!["--token-file", token.to_str().unwrap()], "token"),
    ] {
        let state = dir.join(want);
        let s = Server::start_with(&state, &extra);
        let c = s.get_json("/ui/config.json");
        assert_eq!(c["writes"], want, "{extra:?}");
        assert_eq!(c["version"], s.get("/version").body.trim());
        drop(s);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
