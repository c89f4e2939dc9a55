//! `flowlens run`: the collector. Receives sFlow, NetFlow and IPFIX on UDP, feeds the flow
//! engine, answers sFlow-RT's REST API, and keeps definitions across restarts.
//!
//! Threads and data flow:
//!
//! ```text
//! UDP socket ─► recv thread ─┐ batches (bounded; full = counted drop)
//! UDP socket ─► recv thread ─┼──────────────────────────────► engine thread (Engine,
//! UDP socket ─► recv thread ─┘                                 NetflowSession, tick 1/s)
//!                                jobs (closures, oneshot reply) ▲
//! HTTP (tokio, axum) ───────────────────────────────────────────┘
//! ```
//!
//! * [`config`]: settings from flags, `--config` and defaults; [`ingest`]: sockets and receive threads; [`core`]: the engine thread and the job
//!   channel; [`api`]: the REST endpoints; [`prometheus`]: their Prometheus text form;
//!   [`state`]: the state directory; [`replay`]: `--replay`, a capture fed in at capture speed
//!   like one more receive thread.
//!
//! Startup binds every socket and opens the state directory before any thread starts, so each
//! startup error is one line and exit status 2. SIGINT or SIGTERM stops the HTTP server
//! (ending long-polls at once), the receive threads, then the engine thread, which saves the
//! definitions and the NetFlow/IPFIX templates.

mod api;
mod config;
mod core;
mod ingest;
mod prometheus;
mod replay;
mod scripts;
mod state;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use flowlens_engine::{Engine, Limits};
use flowlens_flow::{NetflowSession, TemplateCache};

use self::api::{SocketInfo, Writes};
use self::config::Settings;
use self::ingest::{Listener, SocketStats};
use self::state::{StateDir, DEFINITIONS_FILE, TEMPLATES_FILE};
use crate::RunArgs;

/// Batches waiting for the engine thread at most (each up to
/// [`ingest::BATCH_DATAGRAMS`] datagrams); beyond it receive threads drop and count.
const BATCH_QUEUE: usize = 1024;

/// Runs the collector until SIGINT or SIGTERM.
///
/// # Errors
/// A socket cannot be bound, the state directory cannot be created, or a thread or the async
/// runtime cannot start.
pub(crate) fn run(args: &RunArgs) -> Result<ExitCode> {
    let replay = args.replay.as_ref().map(|path| replay::Replay {
        path: path.clone(),
        looped: args.replay_loop,
    });
    if let Some(r) = &replay {
        r.check()?;
    }
    let args = &Settings::resolve(args)?;
    let state = StateDir::open(args.state_dir.as_deref())?;
    let writes = writes(args)?;
    let http = std::net::TcpListener::bind(args.http)
        .with_context(|| format!("cannot listen for HTTP on TCP {}", args.http))?;
    http.set_nonblocking(true)
        .context("cannot configure the HTTP socket")?;
    let http_local = http.local_addr().unwrap_or(args.http);
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

    let engine = load_engine(&state);
    let session = load_session(&state)?;
    let apps = scripts::apps_dir(args, &state);
    let specs = scripts::specs(args, &apps)?;
    let script_slot = Arc::new(std::sync::OnceLock::new());
    let core = self::core::Core::new(engine, session, state.clone(), script_slot.clone());
    let (batch_tx, batch_rx) = crossbeam_channel::bounded(BATCH_QUEUE);
    let (handle, engine_thread) = self::core::spawn(core, batch_rx)?;
    scripts::start(specs, args, &state, handle.clone(), &script_slot)?;

    let stop = Arc::new(AtomicBool::new(false));
    let mut sockets = Vec::new();
    let mut recv_threads = Vec::new();
    for l in listeners {
        let stats = Arc::new(SocketStats::default());
        sockets.push(SocketInfo::new(&l, Arc::clone(&stats)));
        recv_threads.push(l.spawn(batch_tx.clone(), stats, Arc::clone(&stop))?);
    }
    if let Some(r) = replay {
        eprintln!("flowlens: replaying {} at capture speed", r.path.display());
        recv_threads.push(r.spawn(batch_tx.clone(), Arc::clone(&stop))?);
    }
    drop(batch_tx);

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
            sockets,
            writes,
            scripts: script_slot.clone(),
            apps,
        },
        &state,
    ));

    if let Some(s) = script_slot.get() {
        s.stop();
    }
    stop.store(true, Ordering::Relaxed);
    for t in recv_threads {
        let _ = t.join();
    }
    handle.shutdown();
    let _ = engine_thread.join();
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    served?;
    eprintln!(
        "flowlens: stopped; state saved in {}",
        state.path().display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Serves HTTP until SIGINT/SIGTERM.
async fn serve(
    http: std::net::TcpListener,
    local: SocketAddr,
    shared: api::Shared,
    state: &StateDir,
) -> Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    // Registered before the ready line, so a signal right after it is handled.
    let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let listener = tokio::net::TcpListener::from_std(http).context("cannot use the HTTP socket")?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let udp: Vec<String> = shared
        .sockets
        .iter()
        .map(|s| format!("{} UDP {} (rcvbuf {})", s.name, s.local, s.rcvbuf))
        .collect();
    eprintln!(
        "flowlens: listening on HTTP {local}, {}; state in {}",
        udp.join(", "),
        state.path().display()
    );
    let scripts = shared.scripts.get().map_or(0, |s| s.iter().count());
    if scripts > 0 {
        eprintln!("flowlens: {scripts} script(s) running; status at /scripts/json");
    }
    let app = api::router(shared, stop_rx);
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            let _ = stop_tx.send(true);
        })
        .await
        .context("HTTP server")
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
    Ok(Writes::Token(token.into()))
}

/// A fresh engine with the saved definitions restored (items that fail are reported; a
/// document that is not one is set aside) and Debian's OUI table when installed.
fn load_engine(state: &StateDir) -> Engine {
    let mut engine = Engine::new(Limits::default());
    let oui = std::path::Path::new(crate::top::DEBIAN_OUI);
    if let Ok(text) = std::fs::read_to_string(oui) {
        match flowlens_engine::oui::OuiTable::parse_csv(&text) {
            Ok(t) => engine.env_mut().oui = Some(Arc::new(t)),
            Err(e) => eprintln!("flowlens: {}: {e}; oui: names unavailable", oui.display()),
        }
    }
    if let Some(doc) = state.load_definitions() {
        match engine.restore_definitions(&doc) {
            Ok(failed) => {
                for e in failed {
                    eprintln!("flowlens: {DEFINITIONS_FILE}: not restored: {e}");
                }
            }
            Err(e) => state.set_aside_file(DEFINITIONS_FILE, &e.to_string()),
        }
    }
    engine
}

/// A NetFlow/IPFIX session with the saved templates (a snapshot that does not restore is set
/// aside).
fn load_session(state: &StateDir) -> Result<NetflowSession> {
    let limits = flowlens_flow::Limits::default();
    if let Some(bytes) = state.load_templates() {
        match TemplateCache::restore(&bytes, limits) {
            Ok(cache) => return Ok(NetflowSession::with_templates(cache)),
            Err(e) => state.set_aside_file(TEMPLATES_FILE, &e.to_string()),
        }
    }
    NetflowSession::new(limits).map_err(|e| anyhow::anyhow!("NetFlow session: {e}"))
}
