//! The settings of `flowlens run`: built-in defaults, overridden by the TOML file given with
//! `--config`, overridden by flags.
//!
//! The file's keys are the flags' names without `--` (`http`, `sflow`, `netflow`, `ipfix`,
//! `state-dir`, `rcvbuf`, `workers`, `engine-threads`, `read-only`, `token-file`, `apps-dir`, `allow-run-cmd`,
//! `script-memory-mb`, `script-time-limit-ms`, `syslog-format`, `bgp`), plus `script = ["a.js"]`
//! (scripts, before those of `--script`), a `[properties]` table (`--property`) and a
//! `[clickhouse]` table (`url`, overridden by `--clickhouse`; `database`, `user`,
//! `password-file`, `batch-rows`, `batch-interval-ms`, `retention-days`, `spool-dir`,
//! `spool-max-mb`, `counter-interval-ms`: see [`super::clickhouse::Settings`]), and the log
//! settings `log-level`, `log-format`, `loss-log-interval`; an unknown key, a value of the
//! wrong type or a file that does not parse is a startup error (one line, exit status 2).
//! Relative paths in the file are taken relative to the file's directory.
//!
//! `packaging/flowlens.toml` shows every key, commented; a test keeps it complete.
//!
//! On SIGHUP the file is read again ([`Settings::resolve`] with the same flags) and
//! [`Settings::changes`] says which settings changed: `log-level` and `loss-log-interval`
//! take effect at once, the others at the next restart.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use flowlens::config_file::{self as cf, ClickHouseFile, ConfigError, File};

use crate::{LogFormat, RunArgs};

/// Receive buffer asked for by default, bytes.
const DEFAULT_RCVBUF: usize = 8 << 20;

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
    /// Engine shards, one thread each (`--engine-threads`).
    pub(crate) engine_threads: usize,
    /// Refuse writes.
    pub(crate) read_only: bool,
    /// Bearer token file for writes.
    pub(crate) token_file: Option<PathBuf>,
    /// Script files (`--script`; the file's list first).
    pub(crate) scripts: Vec<PathBuf>,
    /// Apps directory (`None`: `<state dir>/apps`).
    pub(crate) apps_dir: Option<PathBuf>,
    /// Settings of the script runtime.
    pub(crate) script: ScriptSettings,
    /// History in ClickHouse (`None`: off).
    pub(crate) clickhouse: Option<super::clickhouse::Settings>,
    /// Logging.
    pub(crate) log: LogSettings,
    /// BGP speaker's TCP address (`None`: off).
    pub(crate) bgp: Option<SocketAddr>,
    /// Built-in apps to run (the file's list first, then `--builtin-app`; no repeats).
    pub(crate) builtin_apps: Vec<String>,
    /// Live capture interfaces, `IFACE[:N]` (the file's list first, then `--pcap`).
    pub(crate) pcap: Vec<String>,
    /// Mirror receive addresses (the file's list first, then `--mirror`).
    pub(crate) mirror: Vec<std::net::Ipv4Addr>,
}

/// Settings of the logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LogSettings {
    /// `RUST_LOG`-style filter directives (`--log-level`, else `RUST_LOG`, else the file's
    /// `log-level`, else `info`).
    pub(crate) filter: String,
    /// Line format.
    pub(crate) format: LogFormat,
    /// Seconds between loss summaries.
    pub(crate) loss_interval_secs: u64,
}

/// Seconds between loss summaries by default.
const DEFAULT_LOSS_LOG_SECS: u64 = 60;

impl LogSettings {
    /// The log settings from the flags and `RUST_LOG` alone (when the file cannot be used).
    pub(crate) fn from_flags(args: &RunArgs) -> LogSettings {
        let filter = args
            .log_level
            .clone()
            .or_else(rust_log)
            .filter(|f| super::log::parse_filter(f).is_ok())
            .unwrap_or_else(|| "info".into());
        LogSettings {
            filter,
            format: args.log_format.unwrap_or_default(),
            loss_interval_secs: args.loss_log_interval.unwrap_or(DEFAULT_LOSS_LOG_SECS),
        }
    }
}

/// `RUST_LOG`, when set and not empty.
fn rust_log() -> Option<String> {
    std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty())
}

/// Settings of the script runtime.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ScriptSettings {
    /// `runCmd()` allowed.
    pub(crate) allow_run_cmd: bool,
    /// Heap limit per script, MiB.
    pub(crate) memory_mb: usize,
    /// Handler time limit, ms.
    pub(crate) time_limit_ms: u64,
    /// `syslog()` message format.
    pub(crate) syslog_rfc3164: bool,
    /// `getSystemProperty()` values.
    pub(crate) properties: std::collections::BTreeMap<String, String>,
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
        // The file's own values were checked by `parse`; the merged ones are checked again
        // because flags override them.
        let workers = args.workers.or(file.workers).unwrap_or(1);
        cf::check_workers(workers).map_err(anyhow::Error::msg)?;
        let engine_threads = args.engine_threads.or(file.engine_threads).unwrap_or(1);
        cf::check_engine_threads(engine_threads).map_err(anyhow::Error::msg)?;
        let read_only = args.read_only || file.read_only.unwrap_or(false);
        let token_file = args.token_file.clone().or(file.token_file);
        if read_only && token_file.is_some() {
            bail!(cf::READ_ONLY_WITH_TOKEN);
        }
        let mut properties = file.properties.unwrap_or_default();
        for p in &args.properties {
            let (k, v) = p
                .split_once('=')
                .filter(|(k, _)| !k.trim().is_empty())
                .ok_or_else(|| anyhow::anyhow!("property `{p}`: expected NAME=VALUE"))?;
            properties.insert(k.trim().to_string(), v.to_string());
        }
        let syslog_rfc3164 = cf::check_syslog_format(
            args.syslog_format
                .as_deref()
                .or(file.syslog_format.as_deref())
                .unwrap_or("rfc5424"),
        )
        .map_err(anyhow::Error::msg)?;
        let memory_mb = args
            .script_memory_mb
            .or(file.script_memory_mb)
            .unwrap_or(512);
        cf::check_script_memory_mb(memory_mb).map_err(anyhow::Error::msg)?;
        let time_limit_ms = args
            .script_time_limit_ms
            .or(file.script_time_limit_ms)
            .unwrap_or(10_000);
        cf::check_script_time_limit_ms(time_limit_ms).map_err(anyhow::Error::msg)?;
        let mut scripts = file.script.unwrap_or_default();
        scripts.extend(args.scripts.iter().cloned());
        let mut builtin_apps: Vec<String> = Vec::new();
        for a in file
            .builtin_apps
            .unwrap_or_default()
            .iter()
            .chain(&args.builtin_apps)
        {
            super::builtin_apps::check(a).map_err(anyhow::Error::msg)?;
            if !builtin_apps.contains(a) {
                builtin_apps.push(a.clone());
            }
        }
        let mut pcap = file.pcap.unwrap_or_default();
        pcap.extend(args.pcap.iter().cloned());
        let mut mirror = file.mirror.unwrap_or_default();
        mirror.extend(args.mirror.iter().copied());
        let clickhouse = clickhouse(args.clickhouse.clone(), file.clickhouse)?;
        let filter = args
            .log_level
            .clone()
            .or_else(rust_log)
            .or(file.log_level)
            .unwrap_or_else(|| "info".into());
        cf::check_log_level(&filter).map_err(anyhow::Error::msg)?;
        let loss_interval_secs = args
            .loss_log_interval
            .or(file.loss_log_interval)
            .unwrap_or(DEFAULT_LOSS_LOG_SECS);
        cf::check_loss_log_interval(loss_interval_secs).map_err(anyhow::Error::msg)?;
        Ok(Settings {
            log: LogSettings {
                filter,
                format: args.log_format.or(file.log_format).unwrap_or_default(),
                loss_interval_secs,
            },
            clickhouse,
            bgp: args.bgp.or(file.bgp),
            builtin_apps,
            pcap,
            mirror,
            scripts,
            apps_dir: args.apps_dir.clone().or(file.apps_dir),
            script: ScriptSettings {
                allow_run_cmd: args.allow_run_cmd || file.allow_run_cmd.unwrap_or(false),
                memory_mb,
                time_limit_ms,
                syslog_rfc3164,
                properties,
            },
            http: args.http.or(file.http).unwrap_or_else(|| any(8008)),
            sflow: args.sflow.or(file.sflow).unwrap_or_else(|| any(6343)),
            netflow: args.netflow.or(file.netflow).unwrap_or_else(|| any(2055)),
            ipfix: args.ipfix.or(file.ipfix).unwrap_or_else(|| any(4739)),
            state_dir: args.state_dir.clone().or(file.state_dir),
            rcvbuf: args.rcvbuf.or(file.rcvbuf).unwrap_or(DEFAULT_RCVBUF),
            workers: usize::from(workers),
            engine_threads: usize::from(engine_threads),
            read_only,
            token_file,
        })
    }
}

impl Settings {
    /// The settings that differ between `self` (in effect) and `new` (read again), by their
    /// config-file names: those that take effect at once (`log-level`, `loss-log-interval`)
    /// and those that need a restart.
    pub(crate) fn changes(&self, new: &Settings) -> (Vec<&'static str>, Vec<&'static str>) {
        let live = [
            ("log-level", self.log.filter != new.log.filter),
            (
                "loss-log-interval",
                self.log.loss_interval_secs != new.log.loss_interval_secs,
            ),
        ];
        let s = &self.script;
        let n = &new.script;
        let restart = [
            ("http", self.http != new.http),
            ("sflow", self.sflow != new.sflow),
            ("netflow", self.netflow != new.netflow),
            ("ipfix", self.ipfix != new.ipfix),
            ("state-dir", self.state_dir != new.state_dir),
            ("rcvbuf", self.rcvbuf != new.rcvbuf),
            ("workers", self.workers != new.workers),
            ("engine-threads", self.engine_threads != new.engine_threads),
            ("read-only", self.read_only != new.read_only),
            ("token-file", self.token_file != new.token_file),
            ("script", self.scripts != new.scripts),
            ("apps-dir", self.apps_dir != new.apps_dir),
            ("allow-run-cmd", s.allow_run_cmd != n.allow_run_cmd),
            ("script-memory-mb", s.memory_mb != n.memory_mb),
            ("script-time-limit-ms", s.time_limit_ms != n.time_limit_ms),
            ("syslog-format", s.syslog_rfc3164 != n.syslog_rfc3164),
            ("properties", s.properties != n.properties),
            ("clickhouse", self.clickhouse != new.clickhouse),
            ("bgp", self.bgp != new.bgp),
            ("builtin-apps", self.builtin_apps != new.builtin_apps),
            ("pcap", self.pcap != new.pcap),
            ("mirror", self.mirror != new.mirror),
            ("log-format", self.log.format != new.log.format),
        ];
        let pick = |v: &[(&'static str, bool)]| {
            v.iter()
                .filter(|(_, changed)| *changed)
                .map(|(k, _)| *k)
                .collect()
        };
        (pick(&live), pick(&restart))
    }
}

/// The export settings from `--clickhouse` and `[clickhouse]` (`None` without a URL).
fn clickhouse(
    flag: Option<String>,
    file: Option<ClickHouseFile>,
) -> Result<Option<super::clickhouse::Settings>> {
    let f = file.unwrap_or_default();
    let Some(url) = flag.or(f.url) else {
        if f.database.is_some() || f.user.is_some() || f.spool_dir.is_some() {
            bail!("[clickhouse] needs a url (or --clickhouse URL)");
        }
        return Ok(None);
    };
    let mut s = super::clickhouse::Settings::new(url);
    if let Some(v) = f.database {
        s.database = v;
    }
    s.user = f.user;
    s.password_file = f.password_file;
    if let Some(v) = f.batch_rows {
        s.batch_rows = v;
    }
    if let Some(v) = f.batch_interval_ms {
        s.batch_interval_ms = v;
    }
    if let Some(v) = f.retention_days {
        s.retention_days = v;
    }
    s.spool_dir = f.spool_dir;
    if let Some(v) = f.spool_max_mb {
        s.spool_max_bytes = v.saturating_mul(1 << 20);
    }
    if let Some(v) = f.counter_interval_ms {
        s.counter_interval_ms = v;
    }
    s.check()?;
    Ok(Some(s))
}

/// Reads and parses the settings file ([`flowlens::config_file::parse`]), making its relative
/// paths relative to it.
fn load(path: &Path) -> Result<File> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config {}", path.display()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    cf::parse(&text, base).map_err(|e| match e {
        ConfigError::Syntax {
            line: Some(n),
            message,
        } => anyhow::anyhow!("bad config {} line {n}: {message}", path.display()),
        ConfigError::Syntax {
            line: None,
            message,
        } => anyhow::anyhow!("bad config {}: {message}", path.display()),
        ConfigError::Invalid(m) => anyhow::Error::msg(m),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use std::collections::BTreeSet;

    fn args(extra: &[&str]) -> RunArgs {
        let mut v = vec!["flowlens", "run"];
        v.extend_from_slice(extra);
        match crate::Cli::try_parse_from(v).unwrap().command {
            crate::Command::Run(a) => a,
            _ => unreachable!(),
        }
    }

    /// The keys the parser accepts for `T`, from its own message about an unknown key.
    fn accepted<T: serde::de::DeserializeOwned + std::fmt::Debug>() -> BTreeSet<String> {
        let e = toml::from_str::<T>("no-such-key = 1\n").unwrap_err();
        let msg = e.message().to_string();
        let list = msg
            .split("expected one of")
            .nth(1)
            .unwrap_or_else(|| panic!("no key list in {msg:?}"));
        list.split('`')
            .skip(1)
            .step_by(2)
            .map(String::from)
            .collect()
    }

    /// The error of resolving `extra`, which must contain `cause`.
    #[track_caller]
    fn refused(extra: &[&str], cause: &str) {
        match Settings::resolve(&args(extra)) {
            Ok(s) => panic!("{extra:?} accepted: {s:?}"),
            Err(e) => assert!(format!("{e:#}").contains(cause), "{extra:?}: {e:#}"),
        }
    }

    fn keys(t: &toml::Table) -> BTreeSet<String> {
        t.keys().cloned().collect()
    }

    #[test]
    fn the_packaged_example_shows_every_key_and_each_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packaging/flowlens.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        // As shipped it is a working config.
        let p = path.to_str().unwrap();
        let s = Settings::resolve(&args(&["--config", p])).unwrap();
        assert_eq!(s.state_dir.as_deref(), Some(Path::new("/var/lib/flowlens")));
        assert_eq!(s.log.loss_interval_secs, DEFAULT_LOSS_LOG_SECS);
        // With every `#key = value` line (and `#[table]`) made a setting, the parser takes
        // every value, and the keys are exactly those it accepts.
        let all: Vec<&str> = text
            .lines()
            .map(|l| match l.strip_prefix('#') {
                Some(rest)
                    if rest.starts_with(|c: char| c.is_ascii_alphabetic() || "[\"".contains(c)) =>
                {
                    rest
                }
                _ => l,
            })
            .collect();
        let all = all.join("\n");
        let file: Result<File, _> = toml::from_str(&all);
        assert!(file.is_ok(), "{file:?}");
        // And every value shown passes the file's checks.
        if let Err(e) = cf::parse(&all, Path::new("/etc/flowlens")) {
            panic!("{e}");
        }
        let table: toml::Table = toml::from_str(&all).unwrap();
        assert_eq!(
            keys(&table),
            accepted::<File>(),
            "top-level keys of {}",
            path.display()
        );
        let ch = table["clickhouse"].as_table().unwrap();
        assert_eq!(
            keys(ch),
            accepted::<ClickHouseFile>(),
            "[clickhouse] of {}",
            path.display()
        );
        assert!(table["properties"].is_table());
        // And the defaults it shows are the defaults.
        let f = file.unwrap();
        assert_eq!(f.rcvbuf, Some(DEFAULT_RCVBUF));
        assert_eq!(f.loss_log_interval, Some(DEFAULT_LOSS_LOG_SECS));
        assert_eq!(f.log_level.as_deref(), Some("info"));
        assert_eq!(f.log_format, Some(LogFormat::Text));
    }

    #[test]
    fn builtin_apps_are_checked_and_given_once() {
        let s = Settings::resolve(&args(&[
            "--builtin-app",
            "tenants",
            "--builtin-app",
            "tenants",
        ]))
        .unwrap();
        assert_eq!(s.builtin_apps, ["tenants"]);
        refused(&["--builtin-app", "nope"], "no built-in app `nope`");
    }

    #[test]
    fn live_sources_of_the_file_come_first_then_the_flags() {
        let dir = std::env::temp_dir().join(format!("flowlens-cfg-live-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("flowlens.toml");
        std::fs::write(&path, "pcap = [\"eth1:100\"]\nmirror = [\"192.0.2.10\"]\n").unwrap();
        let p = path.to_str().unwrap();
        let s = Settings::resolve(&args(&[
            "--config",
            p,
            "--pcap",
            "eth2",
            "--mirror",
            "192.0.2.11",
        ]))
        .unwrap();
        assert_eq!(s.pcap, ["eth1:100", "eth2"]);
        assert_eq!(
            s.mirror,
            [
                std::net::Ipv4Addr::new(192, 0, 2, 10),
                std::net::Ipv4Addr::new(192, 0, 2, 11)
            ]
        );
        assert_eq!(
            Settings::resolve(&args(&[])).unwrap().changes(&s).1,
            ["pcap", "mirror"]
        );
        std::fs::write(&path, "mirror = [\"2001:db8::1\"]\n").unwrap();
        let e = Settings::resolve(&args(&["--config", p])).unwrap_err();
        assert!(format!("{e:#}").contains("line 1"), "{e:#}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn changes_split_what_reloads_from_what_needs_a_restart() {
        let a = Settings::resolve(&args(&[])).unwrap();
        let b = Settings::resolve(&args(&[
            "--log-level",
            "warn",
            "--loss-log-interval",
            "5",
            "--http",
            "127.0.0.1:1",
            "--workers",
            "2",
        ]))
        .unwrap();
        let (live, restart) = a.changes(&b);
        assert_eq!(live, ["log-level", "loss-log-interval"]);
        assert_eq!(restart, ["http", "workers"]);
        assert_eq!(a.changes(&a), (vec![], vec![]));
        refused(
            &["--loss-log-interval", "0"],
            "loss-log-interval must be 1 to 86400 seconds, not 0",
        );
        refused(
            &["--log-level", "flowlens=loud"],
            "log-level `flowlens=loud`: ",
        );
    }

    #[test]
    fn bgp_is_off_by_default_and_port_1179_when_the_flag_has_no_address() {
        assert_eq!(Settings::resolve(&args(&[])).unwrap().bgp, None);
        let s = Settings::resolve(&args(&["--bgp"])).unwrap();
        assert_eq!(s.bgp, Some("0.0.0.0:1179".parse().unwrap()));
        let s = Settings::resolve(&args(&["--bgp", "127.0.0.1:11790"])).unwrap();
        assert_eq!(s.bgp, Some("127.0.0.1:11790".parse().unwrap()));
        // `--bgp` before another flag does not swallow it.
        let s = Settings::resolve(&args(&["--bgp", "--read-only"])).unwrap();
        assert_eq!((s.bgp.map(|a| a.port()), s.read_only), (Some(1179), true));

        let dir = std::env::temp_dir().join(format!("flowlens-bgp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cfg = dir.join("flowlens.toml");
        std::fs::write(&cfg, "bgp = \"127.0.0.2:1179\"\n").unwrap();
        let c = cfg.to_str().unwrap();
        let from_file = Settings::resolve(&args(&["--config", c])).unwrap();
        assert_eq!(from_file.bgp, Some("127.0.0.2:1179".parse().unwrap()));
        let flag = Settings::resolve(&args(&["--config", c, "--bgp", "[::1]:179"])).unwrap();
        assert_eq!(flag.bgp, Some("[::1]:179".parse().unwrap()));
        assert_eq!(from_file.changes(&flag).1, ["bgp"]);
        std::fs::write(&cfg, "bgp = \"1179\"\n").unwrap();
        let e = Settings::resolve(&args(&["--config", c])).unwrap_err();
        assert!(format!("{e:#}").contains("bgp"), "{e:#}");
        std::fs::remove_dir_all(&dir).unwrap();
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

        // Script settings: the file's scripts first (relative to the file), then --script.
        std::fs::write(
            &cfg,
            "script = [\"a.js\"]\nallow-run-cmd = true\nscript-memory-mb = 64\n\
             syslog-format = \"rfc3164\"\n[properties]\n\"a.b\" = \"1\"\n",
        )
        .unwrap();
        let s = Settings::resolve(&args(&[
            "--config",
            c,
            "--script",
            "/x/b.js",
            "--property",
            "c=2",
        ]))
        .unwrap();
        assert_eq!(s.scripts, [dir.join("a.js"), PathBuf::from("/x/b.js")]);
        assert!(s.script.allow_run_cmd && s.script.syslog_rfc3164);
        assert_eq!((s.script.memory_mb, s.script.time_limit_ms), (64, 10_000));
        assert_eq!(s.script.properties.len(), 2);
        assert_eq!(s.script.properties["a.b"], "1");
        for (bad, cause) in [
            (
                "syslog-format = \"json\"\n",
                "syslog-format must be rfc5424 or rfc3164, not `json`",
            ),
            (
                "script-memory-mb = 1\n",
                "script-memory-mb must be 8 to 65536, not 1",
            ),
            (
                "script-time-limit-ms = 0\n",
                "script-time-limit-ms must be 10 to 3600000, not 0",
            ),
        ] {
            std::fs::write(&cfg, bad).unwrap();
            refused(&["--config", c], cause);
        }
        // Flags are checked like the file.
        refused(
            &["--script-memory-mb", "70000"],
            "script-memory-mb must be 8 to 65536, not 70000",
        );
        refused(&["--syslog-format", "x"], "syslog-format must be");
        refused(
            &["--property", "novalue"],
            "property `novalue`: expected NAME=VALUE",
        );

        // [clickhouse]: the flag's URL wins, relative paths follow the file, bad values fail.
        std::fs::write(
            &cfg,
            "[clickhouse]\nurl = \"http://a:8123\"\ndatabase = \"hist\"\nuser = \"u\"\n\
             password-file = \"pw\"\nbatch-rows = 10\nspool-max-mb = 2\nretention-days = 0\n",
        )
        .unwrap();
        let s = Settings::resolve(&args(&["--config", c])).unwrap();
        let ch = s.clickhouse.unwrap();
        assert_eq!(
            (ch.url.as_str(), ch.database.as_str()),
            ("http://a:8123", "hist")
        );
        assert_eq!(ch.user.as_deref(), Some("u"));
        assert_eq!(ch.password_file, Some(dir.join("pw")));
        assert_eq!(
            (ch.batch_rows, ch.spool_max_bytes, ch.retention_days),
            (10, 2 << 20, 0)
        );
        let s =
            Settings::resolve(&args(&["--config", c, "--clickhouse", "http://b:8123"])).unwrap();
        assert_eq!(s.clickhouse.unwrap().url, "http://b:8123");
        let s = Settings::resolve(&args(&["--clickhouse", "http://c:8123"])).unwrap();
        assert_eq!(s.clickhouse.unwrap().database, "flowlens");
        assert!(Settings::resolve(&args(&[])).unwrap().clickhouse.is_none());
        for (bad, cause) in [
            (
                "[clickhouse]\nurl = \"tcp://a:9000\"\n",
                "clickhouse url must start with http:// or https://",
            ),
            (
                "[clickhouse]\nurl = \"http://a\"\ndatabase = \"x; DROP\"\n",
                "clickhouse database must be letters, digits and _",
            ),
            (
                "[clickhouse]\nurl = \"http://a\"\nbatch-rows = 0\n",
                "clickhouse batch-rows must be 1 to 1000000, not 0",
            ),
            (
                "[clickhouse]\ndatabase = \"x\"\n",
                "[clickhouse] needs a url",
            ),
            (
                "[clickhouse]\nurl = \"http://a\"\nbatchrows = 1\n",
                "line 3: unknown field `batchrows`",
            ),
        ] {
            std::fs::write(&cfg, bad).unwrap();
            refused(&["--config", c], cause);
        }

        std::fs::write(&cfg, "http = \"127.0.0.1:9000\"\nworkerz = 2\n").unwrap();
        let e = Settings::resolve(&args(&["--config", c]))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("bad config ") && e.contains("line 2"), "{e}");
        assert_eq!(e.lines().count(), 1, "{e}");
        std::fs::write(&cfg, "http = 8008\n").unwrap();
        refused(&["--config", c], "line 1: invalid type: integer `8008`");
        std::fs::write(&cfg, "workers = 0\n").unwrap();
        refused(&["--config", c], "workers must be 1 to 64, not 0");
        refused(&["--workers", "65"], "workers must be 1 to 64, not 65");
        refused(
            &["--engine-threads", "0"],
            "engine-threads must be 1 to 64, not 0",
        );
        std::fs::write(&cfg, "read-only = true\ntoken-file = \"t\"\n").unwrap();
        refused(
            &["--config", c],
            "read-only and token-file exclude each other",
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
