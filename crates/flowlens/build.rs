//! Names the commit in `flowlens --version`: sets `FLOWLENS_BUILD` to ` (<short hash>
//! <commit date>)` when built from a git checkout with git installed, to ` (<value>)` when
//! `FLOWLENS_COMMIT` is set (builds from a tarball), else to nothing.

use std::path::PathBuf;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (out.status.success() && !text.is_empty()).then(|| text.to_string())
}

fn main() {
    println!("cargo:rerun-if-env-changed=FLOWLENS_COMMIT");
    let build = if let Some(c) = std::env::var("FLOWLENS_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
    {
        format!(" ({})", c.trim())
    } else if let Some(hash) = git(&["rev-parse", "--short", "HEAD"]) {
        // Build again when HEAD moves: HEAD itself, the branch it names, packed refs.
        if let Some(dir) = git(&["rev-parse", "--git-dir"]).map(PathBuf::from) {
            println!("cargo:rerun-if-changed={}", dir.join("HEAD").display());
        }
        for r in [
            git(&["rev-parse", "--git-path", "packed-refs"]),
            git(&["symbolic-ref", "-q", "HEAD"])
                .and_then(|r| git(&["rev-parse", "--git-path", &r])),
        ]
        .into_iter()
        .flatten()
        {
            println!("cargo:rerun-if-changed={r}");
        }
        match git(&["log", "-1", "--format=%cs", "HEAD"]) {
            Some(date) => format!(" ({hash} {date})"),
            None => format!(" ({hash})"),
        }
    } else {
        String::new()
    };
    println!("cargo:rustc-env=FLOWLENS_BUILD={build}");
}
