//! The settings of `flowlens run`: built-in defaults, overridden by the TOML file given with
//! `--config`, overridden by flags.
//!
//! The file's keys are the flags' names without `--` (`http`, `sflow`, `netflow`, `ipfix`,
//! `state-dir`, `rcvbuf`, `workers`, `read-only`, `token-file`); an unknown key, a value of
//! the wrong type or a file that does not parse is a startup error (one line, exit status 2).
//! Relative paths in the file are taken relative to the file's directory.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::RunArgs;

/// Receive buffer asked for by default, bytes.
const DEFAULT_RCVBUF: usize = 8 << 20;
/// Most receive threads per address.
const MAX_WORKERS: u16 = 64;

/// The settings file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct File {
    http: Option<SocketAddr>,
    sflow: Option<SocketAddr>,
    netflow: Option<SocketAddr>,
    ipfix: Option<SocketAddr>,
    state_dir: Option<PathBuf>,
    rcvbuf: Option<usize>,
    workers: Option<u16>,
    read_only: Option<bool>,
    token_file: Option<PathBuf>,
}

/// Resolved settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Settings {
    /// REST API address.
    pub(crate) http: SocketAddr,
    /// sFlow UDP address.
    pub(crate) sflow: SocketAddr,
    /// NetFlow UDP address.
    pub(crate) netflow: SocketAddr,
    /// IPFIX UDP address.
    pub(crate) ipfix: SocketAddr,
    /// State directory (`None`: the user's data directory).
    pub(crate) state_dir: Option<PathBuf>,
    /// Receive buffer per socket, bytes.
    pub(crate) rcvbuf: usize,
    /// Receive threads per address.
    pub(crate) workers: usize,
    /// Refuse writes.
    pub(crate) read_only: bool,
    /// Bearer token file for writes.
    pub(crate) token_file: Option<PathBuf>,
}

impl Settings {
    /// Flags, then the `--config` file, then defaults.
    ///
    /// # Errors
    /// The file cannot be read or parsed, or a setting is out of range or contradicts another.
    pub(crate) fn resolve(args: &RunArgs) -> Result<Settings> {
        let file = match &args.config {
            Some(p) => load(p)?,
            None => File::default(),
        };
        let any = |port: u16| SocketAddr::from(([0, 0, 0, 0], port));
        let workers = args.workers.or(file.workers).unwrap_or(1);
        if !(1..=MAX_WORKERS).contains(&workers) {
            bail!("workers must be 1 to {MAX_WORKERS}, not {workers}");
        }
        let read_only = args.read_only || file.read_only.unwrap_or(false);
        let token_file = args.token_file.clone().or(file.token_file);
        if read_only && token_file.is_some() {
            bail!("read-only and token-file exclude each other");
        }
        Ok(Settings {
            http: args.http.or(file.http).unwrap_or_else(|| any(8008)),
            sflow: args.sflow.or(file.sflow).unwrap_or_else(|| any(6343)),
            netflow: args.netflow.or(file.netflow).unwrap_or_else(|| any(2055)),
            ipfix: args.ipfix.or(file.ipfix).unwrap_or_else(|| any(4739)),
            state_dir: args.state_dir.clone().or(file.state_dir),
            rcvbuf: args.rcvbuf.or(file.rcvbuf).unwrap_or(DEFAULT_RCVBUF),
            workers: usize::from(workers),
            read_only,
            token_file,
        })
    }
}

/// Reads and parses the settings file, making its relative paths relative to it.
fn load(path: &Path) -> Result<File> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config {}", path.display()))?;
    let mut file: File = toml::from_str(&text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text.get(..s.start).unwrap_or("").matches('\n').count() + 1);
        let msg = e.message().lines().next().unwrap_or("").trim().to_string();
        match line {
            Some(n) => anyhow::anyhow!("bad config {} line {n}: {msg}", path.display()),
            None => anyhow::anyhow!("bad config {}: {msg}", path.display()),
        }
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    for p in [&mut file.state_dir, &mut file.token_file]
        .into_iter()
        .flatten()
    {
        if p.is_relative() {
            *p = base.join(&*p);
        }
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(extra: &[&str]) -> RunArgs {
        let mut v = vec!["flowlens", "run"];
        v.extend_from_slice(extra);
        match crate::Cli::try_parse_from(v).unwrap().command {
            crate::Command::Run(a) => a,
            _ => unreachable!(),
        }
    }

    #[test]
    fn flags_override_the_file_which_overrides_defaults() {
        let dir = std::env::temp_dir().join(format!("flowlens-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cfg = dir.join("flowlens.toml");
        std::fs::write(
            &cfg,
            "http = \"127.0.0.1:9000\"\nsflow = \"127.0.0.1:9001\"\nstate-dir = \"state\"\n\
             workers = 2\n",
        )
        .unwrap();
        let c = cfg.to_str().unwrap();
        let s = Settings::resolve(&args(&["--config", c, "--sflow", "127.0.0.1:9002"])).unwrap();
        assert_eq!(s.http, "127.0.0.1:9000".parse().unwrap());
        assert_eq!(s.sflow, "127.0.0.1:9002".parse().unwrap());
        assert_eq!(s.netflow, "0.0.0.0:2055".parse().unwrap());
        assert_eq!(s.state_dir, Some(dir.join("state")));
        assert_eq!((s.workers, s.rcvbuf), (2, 8 << 20));

        std::fs::write(&cfg, "http = \"127.0.0.1:9000\"\nworkerz = 2\n").unwrap();
        let e = Settings::resolve(&args(&["--config", c]))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("bad config ") && e.contains("line 2"), "{e}");
        assert_eq!(e.lines().count(), 1, "{e}");
        std::fs::write(&cfg, "http = 8008\n").unwrap();
        assert!(Settings::resolve(&args(&["--config", c])).is_err());
        std::fs::write(&cfg, "workers = 0\n").unwrap();
        assert!(Settings::resolve(&args(&["--config", c])).is_err());
        std::fs::write(&cfg, "read-only = true\ntoken-file = \"t\"\n").unwrap();
        assert!(Settings::resolve(&args(&["--config", c])).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
