//! The Debian package, end to end on this (Debian 12) machine: `scripts/package` builds it,
//! `dpkg -i` installs it, and the test checks what an operator gets: the binary, the systemd
//! unit (`systemd-analyze verify`), the example config as a conffile, the man pages
//! (`man -w`), the bash/zsh/fish completions, the `flowlens` system user and its state
//! directory, the unit enabled. `dpkg --remove` must keep the state and the config;
//! `dpkg --purge` must delete both. A leftover install from an earlier, failed run is purged
//! first. Needs root (dpkg); it installs into the real root file system, so it is one test
//! holding the package from start to end.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::common;

const STATE: &str = "/var/lib/flowlens";
const CONFIG: &str = "/etc/flowlens/flowlens.toml";
const UNIT: &str = "/lib/systemd/system/flowlens.service";

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"))
}

fn text(out: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `dpkg ARGS`, waiting (up to two minutes) while another dpkg or apt holds the lock.
fn dpkg(args: &[&str]) -> Output {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let out = run("dpkg", args);
        let locked = String::from_utf8_lossy(&out.stderr).contains("lock");
        if out.status.success() || !locked || Instant::now() > deadline {
            return out;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn package_status() -> Option<String> {
    let out = run("dpkg-query", &["-W", "-f=${Status}", "flowlens"]);
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Purges any flowlens package, its state and the user, so the install below starts clean.
fn purge_leftovers() {
    if package_status().is_some_and(|s| !s.contains("not-installed")) {
        let out = dpkg(&["--purge", "flowlens"]);
        assert!(
            out.status.success(),
            "purging a leftover install: {}",
            text(&out)
        );
    }
    if run("getent", &["passwd", "flowlens"]).status.success() {
        let out = run("userdel", &["flowlens"]);
        assert!(out.status.success(), "userdel flowlens: {}", text(&out));
    }
    let _ = std::fs::remove_dir_all(STATE);
}

fn assert_file(path: &str) -> std::fs::Metadata {
    let m = std::fs::metadata(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert!(m.is_file() && m.len() > 0, "{path}: not a non-empty file");
    m
}

#[test]
fn debian_package_installs_removes_and_purges() {
    assert_eq!(
        nix_uid(),
        0,
        "installing the package needs root (as .ci/run runs the tests)"
    );
    purge_leftovers();

    // Build.
    let root = common::workspace_dir();
    let out = Command::new(root.join("scripts/package"))
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(out.status.success(), "scripts/package: {}", text(&out));
    let deb = PathBuf::from(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .expect("scripts/package prints the package path")
            .trim(),
    );
    let deb = if deb.is_absolute() {
        deb
    } else {
        root.join(deb)
    };
    assert!(
        deb.starts_with(root.join("target/debian"))
            || std::env::var_os("CARGO_TARGET_DIR").is_some(),
        "{}",
        deb.display()
    );
    assert!(deb.is_file(), "{}", deb.display());
    let deb = deb.to_str().unwrap().to_string();
    let fields = run(
        "dpkg-deb",
        &["-f", &deb, "Package", "Architecture", "Depends"],
    );
    let fields = String::from_utf8_lossy(&fields.stdout).into_owned();
    assert!(fields.contains("Package: flowlens"), "{fields}");

    // Install.
    let out = dpkg(&["-i", &deb]);
    assert!(out.status.success(), "dpkg -i: {}", text(&out));
    assert_eq!(package_status().as_deref(), Some("install ok installed"));

    // Files.
    let bin = assert_file("/usr/bin/flowlens");
    assert_eq!(bin.permissions().mode() & 0o777, 0o755);
    let unit = std::fs::read_to_string(UNIT).unwrap();
    assert!(unit.contains("User=flowlens"), "{unit}");
    assert!(unit.contains("ExecStart=/usr/bin/flowlens run"), "{unit}");
    let config = std::fs::read_to_string(CONFIG).unwrap();
    assert!(config.contains(STATE), "{config}");
    let conffiles = run("dpkg-query", &["-W", "-f=${Conffiles}", "flowlens"]);
    assert!(
        String::from_utf8_lossy(&conffiles.stdout).contains(CONFIG),
        "{CONFIG} is not a conffile: {}",
        text(&conffiles)
    );
    let man = run("man", &["-w", "flowlens"]);
    assert!(man.status.success(), "man -w flowlens: {}", text(&man));
    assert_eq!(
        String::from_utf8_lossy(&man.stdout).trim(),
        "/usr/share/man/man1/flowlens.1.gz"
    );
    for sub in ["decode", "top", "run"] {
        assert_file(&format!("/usr/share/man/man1/flowlens-{sub}.1.gz"));
    }
    assert!(
        !Path::new("/usr/share/man/man1/flowlens-generate.1.gz").exists(),
        "the hidden generate subcommand has no page"
    );
    for (path, needle) in [
        (
            "/usr/share/bash-completion/completions/flowlens",
            "complete -F",
        ),
        (
            "/usr/share/zsh/vendor-completions/_flowlens",
            "#compdef flowlens",
        ),
        (
            "/usr/share/fish/vendor_completions.d/flowlens.fish",
            "complete -c flowlens",
        ),
    ] {
        assert_file(path);
        let s = std::fs::read_to_string(path).unwrap();
        assert!(s.contains(needle), "{path}: no {needle:?}");
        assert!(s.contains("state-dir"), "{path}: `run`'s flags are missing");
    }
    for doc in ["README.md", "LICENSE-MIT", "LICENSE-APACHE", "copyright"] {
        assert_file(&format!("/usr/share/doc/flowlens/{doc}"));
    }

    // The user and the state directory.
    let pw = run("getent", &["passwd", "flowlens"]);
    assert!(pw.status.success(), "no flowlens user: {}", text(&pw));
    let pw = String::from_utf8_lossy(&pw.stdout).trim().to_string();
    let f: Vec<&str> = pw.split(':').collect();
    assert_eq!(f.get(5).copied(), Some(STATE), "{pw}");
    assert_eq!(f.get(6).copied(), Some("/usr/sbin/nologin"), "{pw}");
    let uid: u32 = f[2].parse().unwrap();
    assert!(uid < 1000, "not a system user: {pw}");
    let state = std::fs::metadata(STATE).unwrap();
    assert!(state.is_dir());
    assert_eq!(state.uid(), uid, "{STATE} owner");
    assert_eq!(state.mode() & 0o777, 0o750, "{STATE} mode");

    // The unit: enabled, and valid for systemd.
    let wants = Path::new("/etc/systemd/system/multi-user.target.wants/flowlens.service");
    assert_eq!(
        std::fs::read_link(wants).unwrap_or_else(|e| panic!("{}: {e}", wants.display())),
        Path::new(UNIT)
    );
    if Path::new("/usr/bin/systemd-analyze").exists() {
        let out = run("systemd-analyze", &["verify", UNIT]);
        assert!(
            out.status.success(),
            "systemd-analyze verify: {}",
            text(&out)
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("flowlens.service:"),
            "systemd-analyze verify complains about the unit: {stderr}"
        );
    } else {
        println!("systemd-analyze is not installed: the unit was not verified");
    }

    // The installed binary.
    let v = run("/usr/bin/flowlens", &["--version"]);
    assert!(v.status.success(), "{}", text(&v));
    let v = String::from_utf8_lossy(&v.stdout).into_owned();
    assert!(
        v.starts_with(&format!("flowlens {}", env!("CARGO_PKG_VERSION"))),
        "{v}"
    );
    let help = run("/usr/bin/flowlens", &["run", "--help"]);
    assert!(help.status.success(), "{}", text(&help));

    // Remove keeps the state and the config; purge deletes them.
    let marker = Path::new(STATE).join("definitions.json");
    std::fs::write(&marker, "{}").unwrap();
    let out = dpkg(&["--remove", "flowlens"]);
    assert!(out.status.success(), "dpkg --remove: {}", text(&out));
    assert!(
        !Path::new("/usr/bin/flowlens").exists(),
        "the binary stayed"
    );
    assert!(!Path::new(UNIT).exists(), "the unit stayed");
    assert!(marker.is_file(), "dpkg --remove deleted the state");
    assert!(
        Path::new(CONFIG).is_file(),
        "dpkg --remove deleted the conffile"
    );
    let out = dpkg(&["--purge", "flowlens"]);
    assert!(out.status.success(), "dpkg --purge: {}", text(&out));
    assert!(!Path::new(STATE).exists(), "dpkg --purge kept {STATE}");
    assert!(!Path::new(CONFIG).exists(), "dpkg --purge kept {CONFIG}");
    assert!(!wants.exists(), "dpkg --purge left the unit enabled");
    let status = package_status();
    assert!(
        status
            .as_deref()
            .is_none_or(|s| s.contains("not-installed")),
        "after --purge: {status:?}"
    );
}

/// The real user id.
fn nix_uid() -> u32 {
    let out = run("id", &["-u"]);
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}
