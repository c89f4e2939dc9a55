//! `flowlens`: real-time network traffic analytics.
//!
//! This binary is CLI and glue only: argument parsing, reading files, sockets and printing.
//! Protocol decoding lives in `flowlens-wire`, which does no IO; the flow engine is
//! `flowlens-engine`, which does none either.
//!
//! Exit codes: 0 success (for `run`: stopped by SIGINT/SIGTERM); 1 the input was read but some
//! of it could not be decoded (each failure is printed with file, packet, layer and byte
//! offset); 2 usage error, an input that could not be read at all, or (for `run`) a socket or
//! state directory that could not be opened; 70 (`run`) an internal error stopped the engine.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use flowlens::config_file::LogFormat;

mod capture;
mod decode;
mod generate;
mod run;
mod shards;
mod top;

/// `flowlens --version`: the package version and, when built from git, the commit and its
/// date (see `build.rs`).
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), env!("FLOWLENS_BUILD"));

/// Real-time network traffic analytics: sFlow, NetFlow and IPFIX.
#[derive(Debug, Parser)]
#[command(name = "flowlens", version = VERSION, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once at start: the size of the largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Command {
    /// Decode captures, datagram files or live datagrams and print every datagram, sample
    /// and record.
    ///
    /// Reads pcap and pcapng captures and bare UDP payload files (one sFlow datagram per
    /// file), or receives datagrams with `--listen`. sFlow is recognised by content, not port.
    /// For captures of ordinary traffic each packet's layers and flow keys are printed.
    Decode(DecodeArgs),
    /// Replay captures through the flow engine and print the largest flows.
    ///
    /// sFlow, NetFlow and IPFIX datagrams are recognised by content on any port; other
    /// packets count as 1-in-1 samples. Time is the capture's. Define the flow with
    /// `--keys/--value/--filter/--t/--n`, or with one or more sFlow-RT definitions (`--flow`).
    Top(TopArgs),
    /// Run the collector: receive sFlow, NetFlow and IPFIX on UDP and answer sFlow-RT's REST
    /// API over HTTP.
    ///
    /// Every UDP port accepts every protocol (recognised by content). Flow, threshold, group
    /// and map definitions made over REST are kept in the state directory and restored at the
    /// next start. Stops cleanly on SIGINT or SIGTERM.
    Run(RunArgs),
    /// Write the man page or shell completions generated from this command line (for
    /// packaging: `scripts/package` calls it).
    #[command(hide = true)]
    Generate(generate::GenerateArgs),
}

/// Arguments of `flowlens run`. Each setting comes from its flag, else from `--config`, else
/// from the default shown.
#[derive(Clone, Debug, clap::Args)]
struct RunArgs {
    /// TOML file with any of the settings below, named as the flags without `--`
    /// (`http = "127.0.0.1:8008"`, `state-dir = "/var/lib/flowlens"`, `workers = 2`); flags
    /// override it. Relative paths in it are relative to the file.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// HTTP address of the REST API. Default: 0.0.0.0:8008.
    #[arg(long, value_name = "ADDR:PORT")]
    http: Option<std::net::SocketAddr>,
    /// UDP address for sFlow (any protocol is accepted on any port). Default: 0.0.0.0:6343.
    #[arg(long, value_name = "ADDR:PORT")]
    sflow: Option<std::net::SocketAddr>,
    /// UDP address for NetFlow v5/v9. Default: 0.0.0.0:2055.
    #[arg(long, value_name = "ADDR:PORT")]
    netflow: Option<std::net::SocketAddr>,
    /// UDP address for IPFIX. Default: 0.0.0.0:4739.
    #[arg(long, value_name = "ADDR:PORT")]
    ipfix: Option<std::net::SocketAddr>,
    /// Directory for the state kept across restarts (definitions, NetFlow/IPFIX templates).
    /// Default: `<data dir>/flowlens`, e.g. `~/.local/share/flowlens`.
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Receive buffer to ask the kernel for on each UDP socket, bytes (Linux caps it at
    /// net.core.rmem_max; the size granted is printed at start). Default: 8388608.
    #[arg(long, value_name = "BYTES")]
    rcvbuf: Option<usize>,
    /// Receive threads per UDP address, 1 to 64 (each with its own socket, sharing the address
    /// with SO_REUSEPORT; one exporter's datagrams always reach the same thread). Default: 1.
    #[arg(long, value_name = "N")]
    workers: Option<u16>,
    /// Engine shards, 1 to 64, each fed by its own thread: the flow state is split by (agent,
    /// data source) so that N threads take sFlow flow samples at once (answers do not
    /// change). Default: 1.
    #[arg(long, value_name = "N")]
    engine_threads: Option<u16>,
    /// Refuse every change of definitions over REST (PUT/DELETE answer 403).
    #[arg(long, conflicts_with = "token_file")]
    read_only: bool,
    /// Accept changes of definitions only with `Authorization: Bearer <token>`, the token
    /// being this file's content (other writes answer 401; reads stay open).
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// A JavaScript app script with sFlow-RT's script API, run on its own thread (repeatable;
    /// its HTTP handler answers at `/script/<file>/json`).
    #[arg(long = "script", value_name = "FILE")]
    scripts: Vec<PathBuf>,
    /// Directory of apps laid out as sFlow-RT's: `<dir>/<app>/scripts/*.js` run at start,
    /// `<dir>/<app>/html/` served at `/app/<app>/html/`. Default: `<state dir>/apps`.
    #[arg(long, value_name = "DIR")]
    apps_dir: Option<PathBuf>,
    /// Let scripts run programs with `runCmd()` (e.g. `ovs-ofctl`); without it `runCmd()`
    /// throws.
    #[arg(long)]
    allow_run_cmd: bool,
    /// Heap limit of each script, MiB. Default: 512.
    #[arg(long, value_name = "MIB")]
    script_memory_mb: Option<usize>,
    /// Longest a script's handler may run JavaScript, milliseconds, before the script is
    /// stopped. Default: 10000.
    #[arg(long, value_name = "MS")]
    script_time_limit_ms: Option<u64>,
    /// Message format of scripts' `syslog()`: `rfc5424` or `rfc3164`. Default: rfc5424.
    #[arg(long, value_name = "FORMAT")]
    syslog_format: Option<String>,
    /// A property scripts read with `getSystemProperty(name)` (sFlow-RT's `-Dname=value`;
    /// repeatable).
    #[arg(long = "property", value_name = "NAME=VALUE")]
    properties: Vec<String>,
    /// Run this built-in app (repeatable): `tenants` (traffic and top flows per VXLAN VNI,
    /// NVGRE VSID or VLAN tenant), `mtu` (DF packets too big for their overlay, ICMP
    /// fragmentation needed with the next-hop MTU, fragments), `tcp` (SYN, SYN-ACK and RST
    /// rates per service, SYN floods, RST storms, connection-rate anomalies), `placement`
    /// (hosts ranked for the next workload from Host sFlow). Each has its page at
    /// `/app/NAME/html/` and its REST at `/app/NAME/scripts/NAME.js/…/json` (README: "Built-in
    /// apps"); an app of the same name in the apps directory replaces it. Config file:
    /// `builtin-apps = ["tenants"]`.
    #[arg(long = "builtin-app", value_name = "NAME")]
    builtin_apps: Vec<String>,
    /// Feed the UDP datagrams of this pcap or pcapng capture into the engine at capture
    /// speed, as if its exporters sent them now (alongside the UDP sockets). Flag only.
    #[arg(long, value_name = "FILE")]
    replay: Option<PathBuf>,
    /// With `--replay`: start the capture again when it ends.
    #[arg(long = "loop", requires = "replay")]
    replay_loop: bool,
    /// Capture on interface IFACE (libpcap, promiscuous, first 256 bytes of each packet) and
    /// feed 1 in N of its packets (randomly, as sFlow samples; N = 1 by default) as samples of
    /// agent 0.0.0.0, data source the interface's ifIndex. Repeatable. Needs root or
    /// CAP_NET_RAW. Config file: `pcap = ["eth1:100"]` (started first).
    #[arg(long = "pcap", value_name = "IFACE[:N]")]
    pcap: Vec<String>,
    /// Receive GRE and ERSPAN (type I, II, III) mirror copies sent to this host's IPv4
    /// address ADDR (a raw socket for IP protocol 47; needs root or CAP_NET_RAW) and feed
    /// each mirrored frame as a sample of agent = the sender, data source = the GRE key or
    /// ERSPAN session ID. Repeatable. Config file: `mirror = ["192.0.2.10"]` (started first).
    #[arg(long = "mirror", value_name = "ADDR")]
    mirror: Vec<std::net::Ipv4Addr>,
    /// Keep history in ClickHouse: every flow sample and record, counters and events are
    /// written to this server's HTTP interface (e.g. `http://127.0.0.1:8123`); the other
    /// export settings are in the config file's `[clickhouse]` table (see the README).
    #[arg(long, value_name = "URL")]
    clickhouse: Option<String>,
    /// Which log lines to write: a level (`error`, `warn`, `info`, `debug`, `trace`) or
    /// `RUST_LOG`-style directives (`info,flowlens::run::http=debug`). Overrides `RUST_LOG`,
    /// which overrides the config file. Default: info.
    #[arg(long, value_name = "LEVEL")]
    log_level: Option<String>,
    /// Log line format on standard error: `text` for people, `json` for one JSON object per
    /// line. Default: text.
    #[arg(long, value_enum, value_name = "FORMAT")]
    log_format: Option<LogFormat>,
    /// Seconds between the summary lines of dropped, refused and evicted input: each class
    /// with new losses gets one line per interval with the count since its last line.
    /// Default: 60.
    #[arg(long, value_name = "SECS")]
    loss_log_interval: Option<u64>,
    /// Run a BGP speaker for the scripts' `bgp*` functions and the `/bgp/...` REST API (RTBH
    /// routes, FlowSpec rules), listening on this TCP address; `--bgp` alone listens on
    /// 0.0.0.0:1179, sFlow-RT's BGP port. Default: off (as sFlow-RT's `bgp.start=no`).
    #[arg(long, value_name = "ADDR:PORT", num_args = 0..=1, default_missing_value = "0.0.0.0:1179")]
    bgp: Option<std::net::SocketAddr>,
}

/// Arguments of `flowlens top`.
#[derive(Debug, clap::Args)]
struct TopArgs {
    /// Flow keys, sFlow-RT syntax: comma-separated keys and key functions
    /// (e.g. `ipsource,ipdestination`, `group:ipsource:dc`). None: one total.
    #[arg(long, value_name = "KEYS")]
    keys: Option<String>,
    /// Flow value: `bytes`, `frames`, a numeric key, or `avg:`/`min:`/`max:`/`count:<key>`.
    #[arg(long, value_name = "VALUE", default_value = "bytes")]
    value: String,
    /// Filter expression, sFlow-RT syntax (e.g. `ipprotocol=6&tcpdestinationport=80`).
    #[arg(long, value_name = "EXPR")]
    filter: Option<String>,
    /// Smoothing time constant, seconds (0.2..600).
    #[arg(long, value_name = "SECS", default_value_t = 2.0)]
    t: f64,
    /// Largest flows kept per data source for `topKeys` (5..20).
    #[arg(long, value_name = "N", default_value_t = 5)]
    n: u32,
    /// An sFlow-RT flow definition in JavaScript-object or JSON syntax, optionally named:
    /// `--flow "pair={keys:'ipsource,ipdestination',value:'bytes'}"` (repeatable; replaces
    /// the single-flow options).
    #[arg(long, value_name = "DEFINITION")]
    flow: Vec<String>,
    /// Rows to print per definition.
    #[arg(long, value_name = "N", default_value_t = 20)]
    max_flows: usize,
    /// Merge a key seen at several data sources by `max` (sFlow-RT's default) or `sum`.
    #[arg(long, value_name = "MODE", default_value = "max")]
    agg_mode: String,
    /// Print each key's total (bytes, frames, ...) over the whole capture, with the half-width
    /// of its 95 % confidence interval, instead of its smoothed rate at the end.
    #[arg(long)]
    totals: bool,
    /// Also print a report every SECS seconds of capture time.
    #[arg(long, value_name = "SECS")]
    every: Option<f64>,
    /// Print sFlow-RT's /activeflows JSON (one line per report) instead of a table.
    #[arg(long)]
    json: bool,
    /// A group set for `group:<key>:NAME` (repeatable): `NAME={label:['cidr',…],…}` in
    /// JavaScript-object or JSON syntax. The set named `default` is also the one behind the
    /// legacy `sourcegroup`/`destinationgroup` keys.
    #[arg(long, value_name = "NAME=GROUPS")]
    group: Vec<String>,
    /// A value map for `map:<key>:NAME` (repeatable): `NAME={label:['value',…],…}`.
    #[arg(long, value_name = "NAME=MAP")]
    map: Vec<String>,
    /// MaxMind Country (or City) database for the `country:` key function.
    #[arg(long, value_name = "FILE")]
    geo_country: Option<PathBuf>,
    /// MaxMind ASN database for the `asn:` key function.
    #[arg(long, value_name = "FILE")]
    geo_asn: Option<PathBuf>,
    /// IEEE OUI table (CSV) for `oui:<mac>:name`; default Debian's
    /// /usr/share/ieee-data/oui.csv when present.
    #[arg(long, value_name = "FILE")]
    oui: Option<PathBuf>,
    /// Do not print the summary line and progress on standard error.
    #[arg(short, long)]
    quiet: bool,
    /// Have the decoders produce every flow key, not only those the definitions read (the
    /// answers are the same; the key-mask differential test compares the two).
    #[arg(long, hide = true)]
    full_visit: bool,
    /// Engine shards, 1 to 64, each fed by its own thread (the answers are the same).
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u16).range(1..=64))]
    engine_threads: u16,
    /// Captures (pcap, pcapng) or datagram payload files.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

/// Arguments of `flowlens decode`.
#[derive(Debug, clap::Args)]
struct DecodeArgs {
    /// Output format: `text` for people, `json` for one JSON object per datagram or packet.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Do not print the summary line on standard error.
    #[arg(short, long)]
    quiet: bool,
    /// Receive datagrams on this UDP address (e.g. `127.0.0.1:6343`) instead of reading files,
    /// like `sflowtool -p`. Stops after `--count` datagrams or `--duration` seconds.
    #[arg(long, value_name = "ADDR:PORT", conflicts_with = "files")]
    listen: Option<std::net::SocketAddr>,
    /// With `--listen`: stop after this many datagrams.
    #[arg(long, value_name = "N", requires = "listen")]
    count: Option<u64>,
    /// With `--listen`: stop after this many seconds (default: run until interrupted).
    #[arg(long, value_name = "SECS", requires = "listen")]
    duration: Option<f64>,
    /// NetFlow v9 / IPFIX template cache file: templates are loaded from it at start (when it
    /// exists) and the cache is written back at the end, so a later run can decode data whose
    /// templates were sent before it started. A corrupt file is reported and ignored.
    #[arg(long, value_name = "FILE")]
    templates: Option<PathBuf>,
    /// Sampling rate to apply to every NetFlow/IPFIX record from this exporter, overriding
    /// what the exporter reports (repeatable), e.g. `--sampling 192.0.2.1=1000`.
    #[arg(long, value_name = "ADDR=RATE", value_parser = parse_sampling)]
    sampling: Vec<(std::net::IpAddr, u32)>,
    /// Files to decode: .pcap, .pcapng, or a bare UDP payload.
    #[arg(required_unless_present = "listen", value_name = "FILE")]
    files: Vec<PathBuf>,
}

/// Output format of `flowlens decode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    /// Indented `name value` lines, in the spirit of sflowtool.
    Text,
    /// One JSON object per line (schema in docs/decode-json.md).
    Json,
}

/// Parses `ADDR=RATE` for `--sampling`.
fn parse_sampling(s: &str) -> Result<(std::net::IpAddr, u32), String> {
    let (addr, rate) = s.split_once('=').ok_or("expected ADDR=RATE")?;
    let addr = addr.parse().map_err(|e| format!("{addr}: {e}"))?;
    let rate: u32 = rate.parse().map_err(|e| format!("{rate}: {e}"))?;
    if rate == 0 {
        return Err("the sampling rate must be at least 1".into());
    }
    Ok((addr, rate))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Decode(args) => decode::run(&args),
        Command::Top(args) => top::run(&args),
        Command::Run(args) => run::run(&args),
        Command::Generate(args) => generate::run(&args, <Cli as clap::CommandFactory>::command()),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            let _ = io::stdout().flush();
            eprintln!("flowlens: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// True when the error chain ends in a closed stdout (e.g. `flowlens decode … | head`).
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}
