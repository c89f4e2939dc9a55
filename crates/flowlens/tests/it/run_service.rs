//! `flowlens run` as a systemd service: readiness on `NOTIFY_SOCKET` once the sockets answer,
//! SIGHUP reading the config file again, the unit passing `systemd-analyze verify`, and
//! `--version` naming the commit.

use std::net::{SocketAddr, UdpSocket};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common;
use crate::run_support::logs::{json_lines, signal, wait_log, with_message, NotifySocket};
use crate::run_support::{http, temp_dir, Ports, Server};

/// True when `addr` is bound (binding it again fails with "in use").
fn udp_bound(addr: SocketAddr) -> bool {
    matches!(UdpSocket::bind(addr), Err(e) if e.kind() == std::io::ErrorKind::AddrInUse)
}

#[test]
fn ready_is_sent_once_every_socket_answers_then_reloading_and_stopping() {
    let dir = temp_dir("notify");
    let sock_path = dir.join("notify.sock");
    let notify = NotifySocket::bind(&sock_path);
    let ports = Ports::free();
    let mut child = Command::new(env!("CARGO_BIN_EXE_flowlens"))
        .args(ports.args(&dir.join("state")))
        .env("NOTIFY_SOCKET", &sock_path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let ready = notify.next(Duration::from_secs(20));
    // The moment READY=1 arrives, HTTP answers and every UDP address is bound.
    let answered = http(ports.http, "GET", "/version", None, "text/plain");
    let bound = [ports.sflow, ports.netflow, ports.ipfix].map(udp_bound);
    let pid = child.id();
    let check = || {
        assert_eq!(ready.as_deref(), Some(&["READY=1".to_string()][..]));
        assert_eq!(answered.as_ref().map(|r| r.status).ok(), Some(200));
        assert_eq!(bound, [true; 3]);
    };
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        check();
        // SIGHUP: RELOADING=1 (with the time systemd 253 wants), then READY=1 again.
        signal(pid, "HUP");
        let reloading = notify.next(Duration::from_secs(10)).unwrap();
        assert_eq!(reloading[0], "RELOADING=1", "{reloading:?}");
        assert!(
            reloading.iter().any(|l| l.starts_with("MONOTONIC_USEC=")),
            "{reloading:?}"
        );
        assert_eq!(
            notify.next(Duration::from_secs(10)),
            Some(vec!["READY=1".to_string()])
        );
        signal(pid, "TERM");
        assert_eq!(
            notify.next(Duration::from_secs(10)),
            Some(vec!["STOPPING=1".to_string()])
        );
    }));
    if outcome.is_err() {
        let _ = child.kill();
    }
    let status = child.wait().unwrap();
    if let Err(e) = outcome {
        std::panic::resume_unwind(e);
    }
    assert!(status.success(), "{status}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sighup_reloads_the_log_level_and_names_what_needs_a_restart() {
    let dir = temp_dir("reload");
    let config = dir.join("flowlens.toml");
    std::fs::write(&config, "log-level = \"warn\"\nloss-log-interval = 60\n").unwrap();
    let c = config.to_str().unwrap();
    let s = Server::start_with(&dir.join("state"), &["--config", c, "--log-format", "json"]);

    // A file that does not parse is said, and nothing changes.
    std::fs::write(&config, "log-level = \"info\"\nworkerz = 2\n").unwrap();
    signal(s.pid(), "HUP");
    let lines = wait_log(&s, |l| !with_message(l, "config not reloaded").is_empty());
    let bad = with_message(&lines, "config not reloaded")[0];
    assert_eq!(bad["level"], "ERROR", "{bad}");
    assert!(bad["message"].as_str().unwrap().contains("line 2"), "{bad}");
    assert_eq!(s.get("/version").status, 200);

    // Level and interval change at once; a new receive buffer waits for a restart.
    std::fs::write(
        &config,
        "log-level = \"info\"\nloss-log-interval = 5\nrcvbuf = 1048576\n",
    )
    .unwrap();
    signal(s.pid(), "HUP");
    let lines = wait_log(&s, |l| !with_message(l, "config reloaded").is_empty());
    let done = with_message(&lines, "config reloaded")[0];
    assert_eq!(done["level"], "INFO", "{done}");
    assert_eq!(done["reloaded"], "log-level, loss-log-interval", "{done}");
    assert_eq!(done["log_level"], "info", "{done}");
    assert_eq!(done["loss_log_interval"], 5, "{done}");
    let restart = with_message(&lines, "take effect at the next restart");
    assert_eq!(restart.len(), 1, "{lines:?}");
    assert_eq!(restart[0]["level"], "WARN");
    assert_eq!(restart[0]["restart_needed"], "rcvbuf", "{}", restart[0]);
    assert_eq!(s.get("/version").status, 200);
    let (status, stderr) = s.stop();
    assert!(status.success(), "{stderr}");
    let lines = json_lines(&stderr);
    // Started at warn: no start-up lines; at info since the reload: the stop is said.
    assert!(
        with_message(&lines, "listening on HTTP").is_empty(),
        "{stderr}"
    );
    assert_eq!(
        with_message(&lines, "stopped; state saved in").len(),
        1,
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_unit_passes_systemd_analyze_verify() {
    let Ok(out) = Command::new("systemd-analyze").arg("--version").output() else {
        eprintln!("SKIPPED the_unit_passes_systemd_analyze_verify: no systemd-analyze");
        return;
    };
    assert!(out.status.success());
    let root = common::workspace_dir();
    let unit = std::fs::read_to_string(root.join("packaging/flowlens.service")).unwrap();
    for needed in [
        "Type=notify",
        "User=flowlens",
        "StateDirectory=flowlens",
        "ConfigurationDirectory=flowlens",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "SystemCallFilter=@system-service",
        "SystemCallArchitectures=native",
        "MemoryDenyWriteExecute=yes",
        "\nAmbientCapabilities=\n",
    ] {
        assert!(unit.contains(needed), "the unit lacks {needed:?}");
    }
    // The unit's binary must exist for verify: a copy runs the one just built.
    let dir = temp_dir("unit");
    let copy = dir.join("flowlens.service");
    let exec = unit.replace(
        "ExecStart=/usr/bin/flowlens ",
        &format!("ExecStart={} ", env!("CARGO_BIN_EXE_flowlens")),
    );
    assert_ne!(exec, unit, "ExecStart=/usr/bin/flowlens … not found");
    std::fs::write(&copy, exec).unwrap();
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&copy)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    // Complaints about other units of this machine are theirs; none may be about ours.
    let ours: Vec<&str> = said
        .lines()
        .filter(|l| l.contains("flowlens.service"))
        .collect();
    assert!(ours.is_empty(), "{said}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn version_names_the_commit() {
    let root = common::workspace_dir();
    let out = Command::new(env!("CARGO_BIN_EXE_flowlens"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success());
    let version = String::from_utf8(out.stdout).unwrap();
    assert!(
        version.starts_with(&format!("flowlens {} ", env!("CARGO_PKG_VERSION")))
            || version.trim() == format!("flowlens {}", env!("CARGO_PKG_VERSION")),
        "{version}"
    );
    let git = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(&root)
        .output();
    match git {
        Ok(g) if g.status.success() => {
            let hash = String::from_utf8(g.stdout).unwrap();
            assert!(
                version.contains(&format!("({} ", hash.trim())),
                "{version} does not name {hash}"
            );
        }
        _ => eprintln!("SKIPPED the commit check of version_names_the_commit: no git checkout"),
    }
    assert_eq!(version.lines().count(), 1, "{version}");
}
