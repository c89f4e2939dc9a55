//! `flowlens run` under clients that misbehave and disks that fail (issue 17): HTTP timeouts,
//! the connection cap, shutdown whatever clients do, durable writes, definition size limits,
//! the state directory lock and the write guard's corners.

use crate::run_support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use run_support::{temp_dir, Server};

/// The server's header timeout (`run/http.rs` `HEADER_TIMEOUT`).
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// The server's body timeout (`run/api/mod.rs` `BODY_TIMEOUT`).
const BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// The server's shutdown grace (`run/http.rs` `SHUTDOWN_GRACE`).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s
}

/// Reads until the server closes the connection; returns what it sent and how long it took.
fn read_until_closed(s: &mut TcpStream) -> (String, Duration) {
    let start = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("connection not closed after {:?}: {e}", start.elapsed()),
        }
    }
    (String::from_utf8_lossy(&got).into_owned(), start.elapsed())
}

/// `GET /version` on a fresh connection, answered within `within`.
fn version_within(addr: SocketAddr, within: Duration) -> Result<String, String> {
    let mut s = TcpStream::connect_timeout(&addr, within).map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(within)).unwrap();
    s.write_all(b"GET /version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .map_err(|e| format!("write: {e}"))?;
    let mut got = String::new();
    s.read_to_string(&mut got)
        .map_err(|e| format!("read: {e}"))?;
    if got.starts_with("HTTP/1.1 200") {
        Ok(got)
    } else {
        Err(format!("answer: {got:?}"))
    }
}

#[test]
fn idle_and_half_sent_connections_are_closed() {
    let dir = temp_dir("rel-timeouts");
    let s = Server::start(&dir);
    let addr = s.ports.http;
    let mut silent = connect(addr);
    let mut half_head = connect(addr);
    half_head
        .write_all(b"GET /version HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let mut kept_alive = connect(addr);
    kept_alive
        .write_all(b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut half_body = connect(addr);
    half_body
        .write_all(b"PUT /flow/f/json HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{keys:")
        .unwrap();
    let bound = HEADER_TIMEOUT.max(BODY_TIMEOUT) + Duration::from_secs(5);
    for (what, conn) in [
        ("silent", &mut silent),
        ("half-sent head", &mut half_head),
        ("kept alive", &mut kept_alive),
    ] {
        let (_, took) = read_until_closed(conn);
        assert!(took < bound, "{what}: closed after {took:?}");
    }
    let (answer, took) = read_until_closed(&mut half_body);
    assert!(took < bound, "half-sent body: closed after {took:?}");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("not received within"), "{answer}");
    // Each is counted where operators look: three connections timed out waiting for a head
    // (the silent, half-sent and kept-alive ones), one body did not come.
    let a = s.get_json("/analyzer/json");
    assert!(a["httpHeaderTimeouts"].as_u64() >= Some(3), "{a}");
    assert_eq!(a["httpBodyTimeouts"], 1, "{a}");
    drop(s);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sigterm_ends_run_whatever_clients_do() {
    let dir = temp_dir("rel-sigterm");
    let s = Server::start(&dir);
    let r = s.put("/flow/kept/json", "{keys:'ipsource', value:'frames'}");
    assert_eq!(r.status, 204, "{}", r.body);
    let addr = s.ports.http;
    let mut held = Vec::new();
    for head in [
        &b""[..],
        b"GET /version HTTP/1.1\r\nHost: x\r\n",
        b"PUT /flow/f/json HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{keys:",
        b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /flows/json?after=-1&timeout=300 HTTP/1.1\r\nHost: x\r\n\r\n",
    ] {
        let mut c = connect(addr);
        c.write_all(head).unwrap();
        held.push(c);
    }
    // The long-poll and the kept-alive request are being served before the signal.
    s.wait_for("/analyzer/json", |a| a["longPollsWaiting"] == 1);
    let start = Instant::now();
    let (status, stderr) = s.stop();
    let took = start.elapsed();
    assert!(status.success(), "{status}: {stderr}");
    assert!(
        took < SHUTDOWN_GRACE + Duration::from_secs(3),
        "stopped after {took:?}"
    );
    assert!(stderr.contains("stopped; state saved"), "{stderr}");
    let saved = std::fs::read_to_string(dir.join("definitions.json")).unwrap();
    assert!(saved.contains("\"kept\""), "{saved}");
    drop(held);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn idle_connections_cannot_make_rest_unreachable() {
    // The server gets 1,024 descriptors; the test itself needs more than 1,100.
    let (soft, hard) =
        nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).unwrap();
    if soft < 2048 {
        nix::sys::resource::setrlimit(
            nix::sys::resource::Resource::RLIMIT_NOFILE,
            hard.min(4096),
            hard,
        )
        .unwrap();
    }
    let dir = temp_dir("rel-conn-cap");
    let s = Server::start_with_nofile(&dir, &[], 1024);
    let addr = s.ports.http;
    let mut idle = Vec::new();
    for _ in 0..1100 {
        if let Ok(c) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
            idle.push(c);
        }
    }
    let start = Instant::now();
    let answer = version_within(addr, Duration::from_secs(5));
    assert!(
        answer.is_ok(),
        "REST unreachable with {} idle connections after {:?}: {answer:?}; server said: {}",
        idle.len(),
        start.elapsed(),
        s.stderr()
    );
    // The server kept serving within its cap: a PUT and a GET still work.
    let r = s.put("/flow/f/json", "{keys:'ipsource', value:'frames'}");
    assert_eq!(r.status, 204, "{}", r.body);
    // The idle connections closed to make room are counted (about 1,100 − 512).
    let a = s.get_json("/analyzer/json");
    assert!(
        a["httpConnectionsClosedForRoom"].as_u64() >= Some(500),
        "{a}"
    );
    drop(idle);
    let (status, stderr) = s.stop();
    assert!(status.success(), "{status}: {stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn expect_100_continue_gets_413_before_the_body() {
    let dir = temp_dir("rel-expect");
    let s = Server::start(&dir);
    let mut c = connect(s.ports.http);
    c.write_all(
        b"PUT /flow/f/json HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\
          Content-Length: 20000000\r\n\r\n",
    )
    .unwrap();
    let mut got = vec![0u8; 4096];
    let n = c.read(&mut got).unwrap();
    let answer = String::from_utf8_lossy(&got[..n]).into_owned();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("body size limit"), "{answer}");
    drop(s);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A small tmpfs mounted for one test (unmounted when dropped); the tests run as root, as CI
/// does.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(tag: &str, size: &str) -> Tmpfs {
        let dir = temp_dir(tag);
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .status()
            .unwrap();
        assert!(ok.success(), "mount -t tmpfs on {} failed", dir.display());
        Tmpfs(dir)
    }

    /// Fills the file system with one file; returns its path.
    fn fill(&self) -> std::path::PathBuf {
        let path = self.0.join("filler");
        let mut f = std::fs::File::create(&path).unwrap();
        let block = vec![0u8; 4096];
        while f.write_all(&block).is_ok() {}
        // Partial blocks too, so not one byte is left.
        while f.write_all(&block[..1]).is_ok() {}
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn writes_on_a_full_disk_are_refused_and_undone() {
    let fs = Tmpfs::mount("rel-full-disk", "1m");
    let dir = fs.0.join("state");
    let s = Server::start(&dir);
    let flow = "{keys:'ipsource', value:'frames'}";
    assert_eq!(s.put("/flow/old/json", flow).status, 204);
    assert_eq!(s.put("/group/g/json", "{a:['10.0.0.0/8']}").status, 204);
    let saved = std::fs::read(dir.join("definitions.json")).unwrap();
    let filler = fs.fill();

    // Every kind of write: 500 with the reason, and the engine as before.
    let before = [
        s.get_json("/flow/json"),
        s.get_json("/group/json"),
        s.get_json("/threshold/json"),
        s.get_json("/map/json"),
    ];
    for (method, path, body) in [
        ("PUT", "/flow/new/json", Some(flow)),
        (
            "PUT",
            "/flow/old/json",
            Some("{keys:'ipdestination', value:'bytes'}"),
        ),
        ("DELETE", "/flow/old/json", None),
        ("PUT", "/threshold/t/json", Some("{metric:'old', value:10}")),
        ("PUT", "/group/g/json", Some("{b:['192.168.0.0/16']}")),
        ("PUT", "/group/json", Some("{x:['0.0.0.0/0']}")),
        ("DELETE", "/group/g/json", None),
        ("PUT", "/map/m/json", Some("{web:['80']}")),
    ] {
        let r = s.request(method, path, body);
        assert_eq!(r.status, 500, "{method} {path}: {}", r.body);
        assert!(
            r.body.contains("No space left on device") && r.body.contains("change undone"),
            "{method} {path}: {}",
            r.body
        );
    }
    let after = [
        s.get_json("/flow/json"),
        s.get_json("/group/json"),
        s.get_json("/threshold/json"),
        s.get_json("/map/json"),
    ];
    assert_eq!(before, after);
    assert_eq!(s.get_json("/analyzer/json")["stateWriteErrors"], 8);
    s.stderr_with(&["change refused and undone"]);
    assert_eq!(std::fs::read(dir.join("definitions.json")).unwrap(), saved);
    let stray: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");

    // Room again: writes are acknowledged and on disk.
    std::fs::remove_file(&filler).unwrap();
    assert_eq!(s.put("/flow/new/json", flow).status, 204);
    let on_disk = std::fs::read_to_string(dir.join("definitions.json")).unwrap();
    assert!(on_disk.contains("\"new\""), "{on_disk}");

    // Full again at shutdown: the template snapshot cannot be written; said so, exit 1.
    let _filler = fs.fill();
    let (status, stderr) = s.stop();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
    assert!(stderr.contains("state NOT saved"), "{stderr}");
    assert!(!stderr.contains("state saved"), "{stderr}");
}

#[test]
fn oversized_definitions_are_refused_naming_the_limit() {
    let dir = temp_dir("rel-def-limits");
    let s = Server::start(&dir);
    // 5,000 keys (issue 17's example): 400, the key-count or keys-length limit named.
    let keys: Vec<String> = (0..5000)
        .map(|i| format!("ipsource.{}", i % 8 + 1))
        .collect();
    let r = s.put(
        "/flow/many/json",
        &format!("{{keys:'{}', value:'frames'}}", keys.join(",")),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("MAX_KEYS"), "{}", r.body);
    let r = s.put(
        "/flow/many/json",
        &format!("{{keys:'{}', value:'frames'}}", keys[..40].join(",")),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body.contains("MAX_KEYS keys per definition"),
        "{}",
        r.body
    );
    // A long filter: 400 naming it.
    let filter = format!("ipsource={}", "1".repeat((1 << 20) + 10));
    let r = s.put(
        "/flow/f/json",
        &format!("{{value:'frames', filter:'{filter}'}}"),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("MAX_FILTER_BYTES"), "{}", r.body);
    // 15 MiB of keys: 413 before parsing, the body limit named.
    let huge = format!(
        "{{keys:'{}', value:'frames'}}",
        "ipsource,".repeat((15 << 20) / 9)
    );
    for path in ["/flow/huge/json", "/threshold/huge/json"] {
        let r = s.put(path, &huge);
        assert_eq!(r.status, 413, "{path}: {}", r.body);
        assert!(
            r.body.contains("MAX_DEFINITION_BYTES"),
            "{path}: {}",
            r.body
        );
    }
    // Nothing of it was kept.
    assert_eq!(s.get_json("/flow/json"), serde_json::json!({}));
    assert_eq!(s.get_json("/threshold/json"), serde_json::json!({}));
    drop(s);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_invalid_saved_item_is_kept_beside_the_definitions() {
    let dir = temp_dir("rel-invalid-item");
    let doc = serde_json::json!({
        "version": 1,
        "groups": {}, "maps": {}, "thresholds": {},
        "flows": {
            "good": {"keys": "ipsource", "value": "frames"},
            "broken": {"keys": "ipsource", "value": "avg:"},
        },
    });
    std::fs::write(dir.join("definitions.json"), doc.to_string()).unwrap();
    let s = Server::start(&dir);
    s.stderr_with(&[
        "not restored: flow: invalid `broken`",
        "the file as read is kept in",
    ]);
    // A write rewrites definitions.json without the broken item ...
    assert_eq!(s.put("/flow/new/json", "{value:'bytes'}").status, 204);
    let (status, stderr) = s.stop();
    assert!(status.success(), "{stderr}");
    let now = std::fs::read_to_string(dir.join("definitions.json")).unwrap();
    assert!(!now.contains("broken"), "{now}");
    // ... but the item is still there, as it was read, beside it.
    let kept: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("definitions.json.unrestored-")
        })
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    let kept: serde_json::Value = serde_json::from_str(&kept[0]).unwrap();
    assert_eq!(kept, doc);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn deleting_files_in_the_state_directory_does_not_defeat_its_lock() {
    let dir = temp_dir("rel-lock");
    let first = Server::start(&dir);
    // Whatever the first server keeps in the directory, the lock survives its deletion.
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::remove_file(&path).unwrap();
        }
    }
    let ports = run_support::Ports::free();
    let mut second = std::process::Command::new(env!("CARGO_BIN_EXE_flowlens"))
        .args(ports.args(&dir))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(s) = second.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > Duration::from_secs(10) {
            second.kill().unwrap();
            second.wait().unwrap();
            panic!("a second flowlens run started on the same state directory");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    second
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("is in use by another flowlens run"),
        "{stderr}"
    );
    let (status, stderr) = first.stop();
    assert!(status.success(), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// An app whose script counts the calls of its HTTP handler, plus `--script count.js`.
fn counting_scripts(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let handler = "var calls = 0;\n\
                   setHttpHandler(function(req) { calls++; return {calls: calls, method: req.method}; });\n";
    let apps = dir.join("apps");
    std::fs::create_dir_all(apps.join("hello/scripts")).unwrap();
    std::fs::write(apps.join("hello/scripts/hello.js"), handler).unwrap();
    let script = dir.join("count.js");
    std::fs::write(&script, handler).unwrap();
    (apps, script)
}

#[test]
fn options_and_head_do_not_reach_scripts_when_writes_are_guarded() {
    let dir = temp_dir("rel-guard-methods");
    let (apps, script) = counting_scripts(&dir);
    let token = dir.join("token");
    std::fs::write(&token, "s3cret\n").unwrap();
    for (guard, refused) in [
        (vec!["--read-only"], 403),
        (vec!["--token-file", token.to_str().unwrap()], 401),
    ] {
        let state = dir.join(format!("state-{refused}"));
        let mut args = vec![
            "--apps-dir",
            apps.to_str().unwrap(),
            "--script",
            script.to_str().unwrap(),
        ];
        args.extend(&guard);
        let s = Server::start_with(&state, &args);
        for path in [
            "/app/hello/scripts/hello.js/x/json",
            "/script/count.js/json",
        ] {
            for method in ["OPTIONS", "HEAD"] {
                let r = s.request(method, path, None);
                assert_eq!(r.status, refused, "{guard:?} {method} {path}: {}", r.body);
            }
            // The handler ran for the GET only.
            let r = s.get(path);
            assert_eq!(r.status, 200, "{guard:?} GET {path}: {}", r.body);
            assert_eq!(r.json()["calls"], 1, "{guard:?} {path}: {}", r.body);
        }
        // HEAD of other resources is still a read.
        assert_eq!(s.request("HEAD", "/version", None).status, 200);
        drop(s);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn symlinks_out_of_an_apps_html_are_not_followed() {
    let dir = temp_dir("rel-html-symlinks");
    let html = dir.join("apps/hello/html");
    std::fs::create_dir_all(&html).unwrap();
    std::fs::write(html.join("index.html"), "<h1>hello</h1>\n").unwrap();
    std::fs::write(dir.join("secret.txt"), "the secret\n").unwrap();
    std::fs::create_dir_all(dir.join("outside")).unwrap();
    std::fs::write(dir.join("outside/index.html"), "outside index\n").unwrap();
    std::fs::create_dir_all(html.join("sub")).unwrap();
    let link = std::os::unix::fs::symlink;
    link(dir.join("secret.txt"), html.join("leak.txt")).unwrap();
    link(dir.join("outside"), html.join("outdir")).unwrap();
    link(dir.join("outside/index.html"), html.join("sub/index.html")).unwrap();
    link(html.join("index.html"), html.join("alias.html")).unwrap();
    let apps = dir.join("apps");
    let s = Server::start_with(&dir.join("state"), &["--apps-dir", apps.to_str().unwrap()]);
    for path in [
        "/app/hello/html/leak.txt",
        "/app/hello/html/%6ceak.txt",
        "/app/hello/html/outdir/",
        "/app/hello/html/outdir/index.html",
        "/app/hello/html/sub/",
    ] {
        let r = s.get(path);
        assert_eq!(r.status, 404, "{path}: {}", r.body);
        assert!(
            !r.body.contains("secret") && !r.body.contains("outside"),
            "{path}: {}",
            r.body
        );
    }
    // Links that stay inside are served.
    let r = s.get("/app/hello/html/alias.html");
    assert_eq!((r.status, r.body.as_str()), (200, "<h1>hello</h1>\n"));
    assert_eq!(s.get("/app/hello/html/").status, 200);
    drop(s);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// An sFlow v5 datagram from IPv4 agent `agent` with one flow sample (no records) of data
/// source `0:index` (sFlow v5 spec, `sample_datagram_v5` and `flow_sample`).
fn spoofed_sflow(agent: [u8; 4], seq: u32, index: u32) -> Vec<u8> {
    let mut d = Vec::new();
    for w in [5u32, 1] {
        d.extend_from_slice(&w.to_be_bytes());
    }
    d.extend_from_slice(&agent);
    for w in [
        0u32,
        seq,
        1000,
        1,
        1,
        32,
        seq,
        index,
        100,
        seq * 100,
        0,
        1,
        2,
        0,
    ] {
        d.extend_from_slice(&w.to_be_bytes());
    }
    d
}

/// One sender claiming 3,000 agents (issue 17 item 1): it is held to its share (1,024
/// agents), and what was turned away shows in `/analyzer/json` and Prometheus.
#[test]
fn spoofed_agents_are_refused_and_counted_where_operators_look() {
    let dir = temp_dir("spoofed-agents");
    let server = Server::start(&dir);
    let payloads: Vec<Vec<u8>> = (0..3_000u32)
        .map(|i| {
            let b = i.to_be_bytes();
            spoofed_sflow([10, b[1], b[2], b[3]], 1, i)
        })
        .collect();
    let to = server.ports.sflow;
    run_support::send_all(to, &payloads, 500, |sent| {
        server.wait_for("/analyzer/json", |d| {
            d["sFlowDatagramsReceived"].as_u64() >= Some(sent as u64)
        });
    });
    let doc = server.get_json("/analyzer/json");
    assert_eq!(doc["sFlowAgents"], 1_024, "{doc}");
    assert_eq!(doc["sFlowAgentsRefused"], 3_000 - 1_024, "{doc}");
    assert_eq!(doc["sFlowDataSources"], 1_024, "{doc}");
    let agents = server.get_json("/agents/json");
    assert_eq!(agents.as_object().map(|o| o.len()), Some(1_024));
    let prom = server.get("/prometheus/analyzer/txt");
    assert!(
        prom.body
            .lines()
            .any(|l| l == "sflow_analyzer_agents_refused 1976.0"),
        "{}",
        prom.body
    );
    server.stop();
    let _ = std::fs::remove_dir_all(&dir);
}
