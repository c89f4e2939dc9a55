//! `flowlens run`: the collector. Receives sFlow, NetFlow and IPFIX on UDP, feeds the flow
//! engine, answers sFlow-RT's REST API, and keeps definitions across restarts.
//!
//! Threads and data flow:
//!
//! ```text
//! UDP socket ─► recv thread ─┐ batches (bounded; full = counted drop)
//! UDP socket ─► recv thread ─┼──────────────────────────────► engine thread (Engine,
//! UDP socket ─► recv thread ─┤                                 NetflowSession, tick 1/s)
//! --pcap / --mirror ─► capture thread ─┘ packet samples (same channel)
//!                                jobs (closures, oneshot reply) ▲      │ rows (bounded; full =
//! HTTP (tokio, axum) ───────────────────────────────────────────┘      ▼ counted drop)
//!                                                   clickhouse thread (--clickhouse) ─► HTTP
//! ```
//!
//! * [`log`]: the logger (text or JSON on standard error, filter changed on SIGHUP);
//!   [`losses`]: the rate-limited summaries of dropped, refused and evicted input;
//!   [`reload`]: SIGHUP, reading the config file again;
//! * [`clickhouse`]: history in ClickHouse (an observer of the collector's input and an
//!   export thread, off the engine thread);
//! * [`config`]: settings from flags, `--config` and defaults; [`ingest`]: sockets and receive threads; [`core`]: the engine thread and the job
//!   channel; [`http`]: connections, their timeouts and cap; [`api`]: the REST endpoints;
//!   [`prometheus`]: their Prometheus text form; [`state`]: the state directory; [`replay`]:
//!   `--replay`, a capture fed in at capture speed like one more receive thread; [`live`]:
//!   `--pcap` and `--mirror`, live packet sources feeding samples the same way; [`process`]:
//!   the process's own CPU and memory.
//!
//! Startup binds every socket and opens the state directory before any thread starts, so each
//! startup error is one line and exit status 2; once everything is bound the start-up is
//! logged and systemd is told `READY=1` (when run with `NOTIFY_SOCKET`, `Type=notify`). SIGHUP
//! reads the config file again ([`reload`]). SIGINT or SIGTERM stops the HTTP server
//! (ending long-polls at once; connections get [`http::SHUTDOWN_GRACE`] to finish, then are
//! closed, see [`http`]), the receive threads, then the engine thread, which saves the
//! definitions and the NetFlow/IPFIX templates.

mod analyzer;
mod api;
mod bgp;
mod builtin_apps;
mod clickhouse;
mod config;
mod core;
mod durable;
mod forward;
mod http;
mod ingest;
pub(crate) use ingest::{Batch, BATCH_DATAGRAMS};
mod live;
mod log;
mod losses;
mod process;
mod prometheus;
mod reload;
mod replay;
mod scripts;
mod state;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use flowlens_engine::{Engine, Limits};
use flowlens_netflow::{NetflowSession, TemplateCache};
use tracing::{error, info, warn};

use self::api::{SocketInfo, Writes};
use self::config::{LogSettings, Settings};
use self::ingest::{Listener, SocketStats};
use self::state::{StateDir, DEFINITIONS_FILE, TEMPLATES_FILE};
use crate::RunArgs;

/// Batches waiting for the engine thread at most (each up to
/// [`ingest::BATCH_DATAGRAMS`] datagrams); beyond it receive threads drop and count.
const BATCH_QUEUE: usize = 1024;

/// Runs the collector until SIGINT or SIGTERM. Exit status 0 once the state is saved, 1 when
/// a state file could not be saved at shutdown (each error logged).
///
/// # Errors
/// A socket cannot be bound, the state directory cannot be created, or a thread or the async
/// runtime cannot start: with `--log-format text` the error is returned (and printed as one
/// `flowlens: …` line); with `json` it is logged as one error line and the exit status is 2.
pub(crate) fn run(args: &RunArgs) -> Result<ExitCode> {
    let settings = Settings::resolve(args);
    let log = match &settings {
        Ok(s) => s.log.clone(),
        Err(_) => LogSettings::from_flags(args),
    };
    let logs = log::init(log.format, &log.filter)?;
    match settings.and_then(|s| collect(args, s, &logs)) {
        Ok(code) => Ok(code),
        Err(e) if logs.format == crate::LogFormat::Json => {
            error!("{e:#}");
            Ok(ExitCode::from(2))
        }
        Err(e) => Err(e),
    }
}

/// [`run`] once the settings are known and the logger installed.
fn collect(cli: &RunArgs, settings: Settings, logs: &log::Logs) -> Result<ExitCode> {
    let replay = cli.replay.as_ref().map(|path| replay::Replay {
        path: path.clone(),
        looped: cli.replay_loop,
    });
    if let Some(r) = &replay {
        r.check()?;
    }
    let args = &settings;
    let bgp_addr = args.bgp;
    let state = StateDir::open(args.state_dir.as_deref())?;
    let writes = writes(args)?;
    let http = std::net::TcpListener::bind(args.http)
        .with_context(|| format!("cannot listen for HTTP on TCP {}", args.http))?;
    http.set_nonblocking(true)
        .context("cannot configure the HTTP socket")?;
    let http_local = http.local_addr().unwrap_or(args.http);
    let bgp_listener = bgp_addr.map(bgp::bind).transpose()?;
    let packet_sources = live::open(&args.pcap, &args.mirror)?;
    // The same address given for two protocols is one socket: every port takes every protocol.
    let mut asked: Vec<SocketAddr> = Vec::new();
    let mut listeners = Vec::new();
    for (name, addr) in [
        ("sflow", args.sflow),
        ("netflow", args.netflow),
        ("ipfix", args.ipfix),
    ] {
        if asked.contains(&addr) {
            continue;
        }
        asked.push(addr);
        listeners.extend(Listener::bind_group(name, addr, args.rcvbuf, args.workers)?);
    }

    let (mut engine, oui_note) = load_engine(&state);
    engine.set_shards(args.engine_threads);
    let threads = crate::shards::Threads::new(args.engine_threads)?;
    let session = load_session(&state)?;
    let apps = scripts::apps_dir(args, &state);
    let builtin = builtin_apps::install(state.path(), &args.builtin_apps)?;
    let specs = scripts::specs(args, &apps, &builtin)?;
    let script_slot = Arc::new(std::sync::OnceLock::new());
    let mut core =
        self::core::Core::new(engine, session, state.clone(), script_slot.clone(), threads);
    let mut export_thread = None;
    let mut export_stats = None;
    if let Some(ch) = &args.clickhouse {
        let spool = ch
            .spool_dir
            .clone()
            .unwrap_or_else(|| state.path().join("clickhouse-spool"));
        let e = clickhouse::start(ch, spool)?;
        core.set_export(e.observer, e.side);
        export_stats = Some(e.stats);
        export_thread = Some(e.thread);
    }
    let own: Vec<SocketAddr> = listeners.iter().map(|l| l.local).collect();
    let (forwarding, forward_thread) = forward::Forwarding::start(state.clone(), own)?;
    let (batch_tx, batch_rx) = crossbeam_channel::bounded(BATCH_QUEUE);
    let (handle, engine_thread) = self::core::spawn(core, batch_rx)?;
    let stats: Vec<Arc<SocketStats>> = listeners
        .iter()
        .map(|_| Arc::new(SocketStats::default()))
        .collect();
    let receive = Arc::new(analyzer::Receive {
        sockets: listeners
            .iter()
            .zip(&stats)
            .map(|(l, s)| SocketInfo::new(l, Arc::clone(s)))
            .collect(),
        polls: std::sync::atomic::AtomicUsize::new(0),
        http: Arc::default(),
        export: export_stats,
        forward: Some(Arc::clone(&forwarding)),
        packets: packet_sources.iter().map(live::Open::info).collect(),
    });
    if let Some(l) = bgp_listener {
        bgp::start(l)?;
    }
    scripts::start(
        specs,
        args,
        &state,
        handle.clone(),
        Arc::clone(&receive),
        &script_slot,
    )?;

    let stop = Arc::new(AtomicBool::new(false));
    let mut recv_threads = Vec::new();
    for (l, stats) in listeners.into_iter().zip(stats) {
        recv_threads.push(l.spawn(
            batch_tx.clone(),
            stats,
            Arc::clone(&stop),
            Arc::clone(&forwarding),
        )?);
    }
    let loss_interval = losses::Interval::new(args.log.loss_interval_secs);
    let loss_thread = losses::spawn(
        handle.clone(),
        Arc::clone(&receive),
        Arc::clone(&loss_interval),
        Arc::clone(&script_slot),
        Arc::clone(&stop),
    )?;
    if let Some(r) = &replay {
        recv_threads.push(r.clone().spawn(batch_tx.clone(), Arc::clone(&stop))?);
    }
    for s in packet_sources {
        recv_threads.push(s.spawn(batch_tx.clone(), Arc::clone(&stop))?);
    }
    drop(batch_tx);

    // Said once everything started, so a start-up failure stays one line.
    if let Some(r) = &replay {
        info!(replay = %r.path.display(), looped = r.looped, "replaying {} at capture speed", r.path.display());
    }
    oui_note.log();
    log_settings(args);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("http")
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let served = runtime.block_on(serve(
        http,
        http_local,
        api::Shared {
            core: handle.clone(),
            receive,
            writes,
            state: state.clone(),
            scripts: script_slot.clone(),
            apps,
        },
        &state,
        reload::Reload {
            cli: cli.clone(),
            settings: settings.clone(),
            logs: logs.clone(),
            loss_interval,
        },
    ));

    if let Some(s) = script_slot.get() {
        s.stop();
    }
    stop.store(true, Ordering::Relaxed);
    for t in recv_threads {
        let _ = t.join();
    }
    let _ = loss_thread.join();
    forwarding.stop();
    let _ = forward_thread.join();
    handle.shutdown();
    let _ = engine_thread.join();
    // The engine thread dropped its ends of the export: the last rows are sent or spooled.
    if let Some(t) = export_thread {
        let _ = t.join();
    }
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    served?;
    let unsaved = state.unsaved();
    if !unsaved.is_empty() {
        let files: Vec<&str> = unsaved.iter().map(|(f, _)| *f).collect();
        error!(
            state_dir = %state.path().display(),
            unsaved = %files.join(", "),
            "stopped; state NOT saved in {}: {} (see the errors above)",
            state.path().display(),
            files.join(", ")
        );
        return Ok(ExitCode::FAILURE);
    }
    info!(
        state_dir = %state.path().display(),
        "stopped; state saved in {}",
        state.path().display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Logs the settings in effect (one line; the token and password files by path only).
fn log_settings(s: &Settings) {
    info!(
        workers = s.workers,
        rcvbuf = s.rcvbuf,
        read_only = s.read_only,
        token_file = s.token_file.is_some(),
        scripts = s.scripts.len(),
        clickhouse = s.clickhouse.as_ref().map_or("off", |c| c.url.as_str()),
        log_level = %s.log.filter,
        loss_log_interval = s.log.loss_interval_secs,
        "configuration"
    );
}

/// How long the start-up line waits for scripts to load before counting them.
const SCRIPT_LOAD_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Serves HTTP until SIGINT/SIGTERM.
async fn serve(
    http: std::net::TcpListener,
    local: SocketAddr,
    shared: api::Shared,
    state: &StateDir,
    mut reload: reload::Reload,
) -> Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    // Registered before the ready line, so a signal right after it is handled.
    let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut hup = signal(SignalKind::hangup()).context("cannot handle SIGHUP")?;
    let listener = tokio::net::TcpListener::from_std(http).context("cannot use the HTTP socket")?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let udp: Vec<String> = shared
        .receive
        .sockets
        .iter()
        .map(|s| format!("{} UDP {} (rcvbuf {})", s.name, s.local, s.rcvbuf))
        .collect();
    info!(
        http = %local,
        state_dir = %state.path().display(),
        "listening on HTTP {local}, {}; state in {}",
        udp.join(", "),
        state.path().display()
    );
    reload::notify(&[sd_notify::NotifyState::Ready]);
    // Counts only scripts still alive once they have loaded (one that failed has already
    // said why), from a thread of its own so serving does not wait for slow loads.
    if shared.scripts.get().is_some_and(|s| !s.is_empty()) {
        let scripts = Arc::clone(&shared.scripts);
        std::thread::spawn(move || {
            let Some(s) = scripts.get() else { return };
            let deadline = std::time::Instant::now() + SCRIPT_LOAD_WAIT;
            let settled = s.iter().filter(|h| h.wait_loaded(deadline)).count();
            let alive = s.iter().filter(|h| h.alive()).count();
            let total = s.iter().count();
            let loading = total - settled;
            let stopped = total - alive;
            let running = alive - loading.min(alive);
            let mut line = format!("{running} script(s) running");
            if loading > 0 {
                line.push_str(&format!(", {loading} still loading"));
            }
            if stopped > 0 {
                line.push_str(&format!(", {stopped} stopped"));
            }
            if stopped > 0 {
                warn!(running, loading, stopped, "{line}; status at /scripts/json");
            } else {
                info!(running, loading, stopped, "{line}; status at /scripts/json");
            }
        });
    }
    let http_stats = Arc::clone(&shared.receive.http);
    let app = api::router(shared, stop_rx);
    let stop = async move {
        loop {
            tokio::select! {
                _ = int.recv() => break,
                _ = term.recv() => break,
                _ = hup.recv() => reload.reload(),
            }
        }
        info!("stopping");
        reload::notify(&[sd_notify::NotifyState::Stopping]);
    };
    http::serve(
        listener,
        app,
        http::connection_cap(),
        http_stats,
        stop,
        stop_tx,
    )
    .await;
    Ok(())
}

/// The write policy of `--read-only` / `--token-file`.
///
/// # Errors
/// The token file cannot be read or holds no token.
fn writes(args: &Settings) -> Result<Writes> {
    if args.read_only {
        return Ok(Writes::ReadOnly);
    }
    let Some(path) = &args.token_file else {
        return Ok(Writes::Open);
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read token file {}", path.display()))?;
    let token = text.trim();
    if token.is_empty() {
        anyhow::bail!("token file {} is empty", path.display());
    }
    if token.len() > api::MAX_TOKEN_BYTES {
        anyhow::bail!(
            "token file {}: token longer than {} bytes",
            path.display(),
            api::MAX_TOKEN_BYTES
        );
    }
    Ok(Writes::Token(token.into()))
}

/// A fresh engine with the saved definitions restored (items that fail are reported and the
/// file as read is kept beside it, since the next save drops them; a document that is not one
/// is set aside) and Debian's OUI table when installed, with a line saying whether `oui:`
/// keys have their table.
fn load_engine(state: &StateDir) -> (Engine, OuiNote) {
    let mut engine = Engine::new(Limits::default());
    let oui = std::path::Path::new(crate::top::DEBIAN_OUI);
    // `oui:<mac>:name` keys need the table: say so when it is missing, never stay silent.
    let note = match std::fs::read_to_string(oui) {
        Ok(text) => match flowlens_engine::oui::OuiTable::parse_csv(&text) {
            Ok(t) => {
                let note = OuiNote::Loaded(t.len());
                engine.env_mut().oui = Some(Arc::new(t));
                note
            }
            Err(e) => OuiNote::Bad(e.to_string()),
        },
        Err(e) => OuiNote::Missing(e.to_string()),
    };
    if let Some(doc) = state.load_definitions() {
        match engine.restore_definitions(&doc) {
            Ok(failed) => {
                for e in &failed {
                    warn!(
                        file = DEFINITIONS_FILE,
                        "{DEFINITIONS_FILE}: not restored: {e}"
                    );
                }
                // The next save writes only what was restored: keep the file as it was.
                if !failed.is_empty() {
                    let n = failed.len();
                    match state.keep_copy(DEFINITIONS_FILE) {
                        Ok(copy) => warn!(
                            file = DEFINITIONS_FILE,
                            not_restored = n,
                            kept = %copy.display(),
                            "{DEFINITIONS_FILE}: {n} item(s) not restored; the file as read is \
                             kept in {}",
                            copy.display()
                        ),
                        Err(e) => error!(
                            file = DEFINITIONS_FILE,
                            not_restored = n,
                            "{DEFINITIONS_FILE}: {n} item(s) not restored and the file cannot be \
                             kept ({e:#}); the next change will drop them"
                        ),
                    }
                }
            }
            Err(e) => state.set_aside_file(DEFINITIONS_FILE, &e.to_string()),
        }
    }
    (engine, note)
}

/// Whether `oui:` keys have their table (said at start, never silent).
enum OuiNote {
    /// Loaded, with this many vendors.
    Loaded(usize),
    /// The file is there but does not parse.
    Bad(String),
    /// No file.
    Missing(String),
}

impl OuiNote {
    fn log(&self) {
        let path = crate::top::DEBIAN_OUI;
        match self {
            OuiNote::Loaded(n) => info!(
                path,
                vendors = n,
                "OUI table {path} ({n} vendors) for oui: keys"
            ),
            OuiNote::Bad(e) => warn!(path, "{path}: {e}; oui: names unavailable"),
            OuiNote::Missing(e) => info!(
                path,
                "no OUI table at {path} ({e}): oui:<mac>:name keys stay empty (install \
                 Debian's ieee-data package)"
            ),
        }
    }
}

/// A NetFlow/IPFIX session with the saved templates, restored from the file template by
/// template (a snapshot that does not restore is set aside).
fn load_session(state: &StateDir) -> Result<NetflowSession> {
    let limits = flowlens_netflow::Limits::default();
    if let Some(file) = state.open_templates() {
        match TemplateCache::restore_from(file, limits) {
            Ok(cache) => return Ok(NetflowSession::with_templates(cache)),
            Err(e) => state.set_aside_file(TEMPLATES_FILE, &e.to_string()),
        }
    }
    NetflowSession::new(limits).map_err(|e| anyhow::anyhow!("NetFlow session: {e}"))
}
