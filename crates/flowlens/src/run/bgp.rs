//! The BGP speaker's I/O (`--bgp ADDR:PORT`): the TCP side of `flowlens-bgp`'s sans-IO
//! [`Speaker`].
//!
//! One thread runs a single-threaded tokio runtime: the accept loop (a connection from a
//! configured neighbor's address is handed to that neighbor, any other is closed), one task per
//! connection (bytes in → [`flowlens_bgp::Neighbor::receive`], the neighbor's output → the
//! socket, woken by a [`Notify`] whenever a script or REST call queued an UPDATE), the timer
//! loop (every [`TICK`]: hold and keepalive timers, connection attempts of active neighbors).
//! The speaker sits behind one mutex, held only for sans-IO calls (never across IO).
//!
//! There is one speaker per process, reached by scripts (`bgp*` functions) and REST
//! (`/bgp/…`) through [`get`]; without `--bgp` it is absent and both say so.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use flowlens_bgp::{Config, FlowSpec, Prefix, Route, Speaker};
use serde_json::{json, Value as Json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;

/// How often timers run.
const TICK: Duration = Duration::from_millis(200);
/// How long an active neighbor's connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The default BGP port of active neighbors.
const BGP_PORT: u16 = 179;

/// The process's speaker, once `--bgp` started it.
static SPEAKER: OnceLock<Bgp> = OnceLock::new();

/// The speaker and the wake-ups of its connection tasks.
pub(crate) struct Bgp {
    speaker: Mutex<Speaker>,
    wakers: Mutex<HashMap<IpAddr, Arc<Notify>>>,
    listen: SocketAddr,
    /// Connections closed at once: not from a neighbor's address, or from a neighbor that
    /// already has one.
    unknown_peers: std::sync::atomic::AtomicU64,
}

/// The speaker, when `--bgp` is on.
pub(crate) fn get() -> Option<&'static Bgp> {
    SPEAKER.get()
}

/// The clock of the sessions: Unix milliseconds (event times are shown as such).
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Binds the listening socket (before any thread starts, so a failure is one line, exit 2).
///
/// # Errors
/// The address cannot be bound.
pub(crate) fn bind(addr: SocketAddr) -> Result<std::net::TcpListener> {
    let l = std::net::TcpListener::bind(addr)
        .with_context(|| format!("cannot listen for BGP on TCP {addr}"))?;
    l.set_nonblocking(true)
        .context("cannot configure the BGP socket")?;
    Ok(l)
}

/// Starts the speaker's thread on `listener`.
///
/// # Errors
/// The thread or its runtime cannot start.
pub(crate) fn start(listener: std::net::TcpListener) -> Result<()> {
    let listen = listener.local_addr().context("BGP socket address")?;
    let bgp = Bgp {
        speaker: Mutex::new(Speaker::new()),
        wakers: Mutex::new(HashMap::new()),
        listen,
        unknown_peers: 0.into(),
    };
    if SPEAKER.set(bgp).is_err() {
        anyhow::bail!("the BGP speaker is already running");
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the BGP runtime")?;
    std::thread::Builder::new()
        .name("bgp".into())
        .spawn(move || {
            runtime.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                    eprintln!("flowlens: cannot use the BGP socket");
                    return;
                };
                tokio::spawn(timers());
                accept(listener).await;
            });
        })
        .context("cannot start the BGP thread")?;
    eprintln!("flowlens: BGP speaker listening on TCP {listen}");
    Ok(())
}

fn canonical(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

async fn accept(listener: tokio::net::TcpListener) {
    let Some(bgp) = get() else { return };
    loop {
        let Ok((stream, from)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let ip = canonical(from.ip());
        if let Some(id) = take(bgp, ip) {
            tokio::spawn(connection(ip, id, stream));
        } else {
            bgp.unknown_peers
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

async fn timers() {
    let Some(bgp) = get() else { return };
    let mut every = tokio::time::interval(TICK);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        every.tick().await;
        let now = now_ms();
        let mut wake = Vec::new();
        let mut dial = Vec::new();
        {
            let mut s = bgp.lock();
            s.tick(now);
            for n in s.neighbors_mut() {
                let peer = n.config().peer;
                if n.has_output() || n.must_close() {
                    wake.push(peer);
                }
                if n.wants_connect(now) {
                    let port = n.config().connect_port.unwrap_or(BGP_PORT);
                    dial.push(SocketAddr::new(peer, port));
                }
            }
        }
        for peer in wake {
            bgp.wake(peer);
        }
        for addr in dial {
            tokio::spawn(async move {
                let c = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await;
                if let Ok(Ok(stream)) = c {
                    let ip = addr.ip();
                    if let Some(id) = get().and_then(|b| take(b, ip)) {
                        connection(ip, id, stream).await;
                    }
                }
            });
        }
    }
}

/// Hands a new connection to neighbor `ip`: its connection id, or `None` when `ip` is no
/// neighbor or already has a connection.
fn take(bgp: &Bgp, ip: IpAddr) -> Option<u64> {
    let mut s = bgp.lock();
    let n = s.get_mut(&ip).ok()?;
    n.connected(now_ms()).then(|| n.connection_id())
}

/// Output waiting for connection `id` of `ip` and whether to close it after writing (a
/// neighbor removed or reconfigured since: its final NOTIFICATION, then close).
fn pending(s: &mut Speaker, ip: &IpAddr, id: u64) -> (Vec<u8>, bool) {
    if let Ok(n) = s.get_mut(ip) {
        if n.is_connected() && n.connection_id() == id {
            return (n.take_output(), n.must_close());
        }
    }
    if let Some(r) = s.retired_mut(ip).filter(|r| r.connection_id() == id) {
        let out = r.take_output();
        s.forget_retired(ip);
        return (out, true);
    }
    (Vec::new(), true)
}

/// Runs connection `id` of neighbor `ip` until either side closes it.
async fn connection(ip: IpAddr, id: u64, stream: TcpStream) {
    let Some(bgp) = get() else { return };
    let _ = stream.set_nodelay(true);
    let notify = Arc::new(Notify::new());
    bgp.wakers_lock().insert(ip, Arc::clone(&notify));
    let (mut rd, mut wr) = stream.into_split();
    let mut buf = vec![0u8; 16 * 1024];
    let reason = loop {
        let (out, close) = pending(&mut bgp.lock(), &ip, id);
        if !out.is_empty() && wr.write_all(&out).await.is_err() {
            break "write failed";
        }
        if close {
            break "closed by flowlens";
        }
        tokio::select! {
            r = rd.read(&mut buf) => match r {
                Ok(0) => break "closed by the peer",
                Err(_) => break "read failed",
                Ok(n) => {
                    if let Ok(nb) = bgp.lock().get_mut(&ip) {
                        if nb.connection_id() == id {
                            nb.receive(now_ms(), buf.get(..n).unwrap_or(&[]));
                        }
                    }
                }
            },
            () = notify.notified() => {}
        }
    };
    let _ = wr.shutdown().await;
    {
        let mut w = bgp.wakers_lock();
        if w.get(&ip).is_some_and(|n| Arc::ptr_eq(n, &notify)) {
            w.remove(&ip);
        }
    }
    let mut s = bgp.lock();
    if let Ok(n) = s.get_mut(&ip) {
        if n.connection_id() == id {
            n.disconnected(now_ms(), reason);
        }
    }
}

impl Bgp {
    /// The speaker (a poisoned lock is taken over: the speaker's state stays consistent
    /// between calls).
    pub(crate) fn lock(&self) -> MutexGuard<'_, Speaker> {
        self.speaker
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn wakers_lock(&self) -> MutexGuard<'_, HashMap<IpAddr, Arc<Notify>>> {
        self.wakers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Wakes `peer`'s connection task to write what was queued.
    pub(crate) fn wake(&self, peer: IpAddr) {
        if let Some(n) = self.wakers_lock().get(&peer) {
            n.notify_one();
        }
    }

    /// `/bgp/json`.
    pub(crate) fn status(&self) -> Json {
        let mut doc = self.lock().to_json(now_ms());
        if let Some(o) = doc.as_object_mut() {
            o.insert("listen".into(), json!(self.listen.to_string()));
            o.insert(
                "unknownPeers".into(),
                json!(self
                    .unknown_peers
                    .load(std::sync::atomic::Ordering::Relaxed)),
            );
        }
        doc
    }

    /// Adds or replaces a route on `router`; `Ok(false)` when there is no such neighbor or its
    /// table is full.
    pub(crate) fn add_route(&self, router: IpAddr, r: Route) -> Result<bool, String> {
        let res = self
            .lock()
            .get_mut(&router)
            .and_then(|n| n.add_route(now_ms(), r));
        self.done(router, res)
    }

    /// Removes a route from `router`.
    pub(crate) fn remove_route(&self, router: IpAddr, p: &Prefix) -> bool {
        let r = self
            .lock()
            .get_mut(&router)
            .is_ok_and(|n| n.remove_route(now_ms(), p));
        self.wake(router);
        r
    }

    /// Adds or replaces a flow spec on `router`.
    pub(crate) fn add_flow(&self, router: IpAddr, f: FlowSpec) -> Result<bool, String> {
        let res = self
            .lock()
            .get_mut(&router)
            .and_then(|n| n.add_flow(now_ms(), f));
        self.done(router, res)
    }

    /// Removes a flow spec from `router`.
    pub(crate) fn remove_flow(&self, router: IpAddr, f: &FlowSpec) -> bool {
        let r = self
            .lock()
            .get_mut(&router)
            .is_ok_and(|n| n.remove_flow(now_ms(), f));
        self.wake(router);
        r
    }

    fn done(&self, router: IpAddr, res: flowlens_bgp::Result<()>) -> Result<bool, String> {
        self.wake(router);
        match res {
            Ok(()) => Ok(true),
            Err(flowlens_bgp::Error::UnknownNeighbor(_) | flowlens_bgp::Error::Full(_)) => {
                Ok(false)
            }
            Err(e) => Err(e.to_string()),
        }
    }
}

/// A JSON string or number as text.
fn text(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A router (neighbor) address argument.
pub(crate) fn router_arg(v: &Json) -> Result<IpAddr, String> {
    text(v)
        .and_then(|s| s.trim().parse::<IpAddr>().ok())
        .map(canonical)
        .ok_or_else(|| format!("router must be an IP address, not {v}"))
}

/// The script functions `bgp*` (sFlow-RT's arguments and results). `Err` is an argument
/// error (thrown in the script).
pub(crate) fn script_call(function: &str, args: &[Json]) -> Result<Json, String> {
    let bgp = get().ok_or("the BGP speaker is off (start flowlens run with --bgp ADDR:PORT)")?;
    let null = Json::Null;
    let arg = |i: usize| args.get(i).unwrap_or(&null);
    match function {
        "bgpAddNeighbor" => {
            let peer = router_arg(arg(0))?;
            let local_as: u32 = text(arg(1))
                .and_then(|s| s.trim().parse().ok())
                .ok_or("localAS must be an AS number")?;
            let id: Ipv4Addr = text(arg(2))
                .and_then(|s| s.trim().parse().ok())
                .ok_or("routerId must be an IPv4 address")?;
            let mut c = Config::new(peer, local_as, id);
            if let Some(o) = arg(3).as_object() {
                let flag = |k: &str| o.get(k).is_some_and(|v| v.as_bool().unwrap_or(false));
                c.ipv6 = flag("ipv6");
                c.flowspec = flag("flowspec");
                c.flowspec6 = flag("flowspec6");
                if let Some(h) = o.get("holdTime").and_then(Json::as_u64) {
                    c.hold_time = u16::try_from(h)
                        .ok()
                        .filter(|h| *h == 0 || *h >= 3)
                        .ok_or("holdTime must be 0 or 3 to 65535")?;
                }
                if flag("active") {
                    c.connect_port = Some(match o.get("port").and_then(Json::as_u64) {
                        Some(p) => u16::try_from(p).map_err(|_| "port must be 1 to 65535")?,
                        None => BGP_PORT,
                    });
                }
                if let Some(ms) = o.get("connectRetry").and_then(Json::as_f64) {
                    c.connect_retry_ms = (ms * 1000.0).clamp(100.0, 3_600_000.0) as u64;
                }
            }
            bgp.lock()
                .add_neighbor(c, now_ms())
                .map_err(|e| e.to_string())?;
            Ok(json!(true))
        }
        "bgpRemoveNeighbor" => {
            let peer = router_arg(arg(0))?;
            let r = bgp.lock().remove_neighbor(peer, now_ms());
            bgp.wake(peer);
            Ok(json!(r))
        }
        "bgpAddRoute" => {
            let router = router_arg(arg(0))?;
            let o = arg(1).as_object().ok_or("route must be an object")?;
            let r = Route::from_json(o, None).map_err(|e| e.to_string())?;
            bgp.add_route(router, r).map(Json::from)
        }
        "bgpRemoveRoute" => {
            let router = router_arg(arg(0))?;
            let p: Prefix = text(arg(1))
                .ok_or("prefix must be a string")?
                .parse()
                .map_err(|e: flowlens_bgp::Error| e.to_string())?;
            Ok(json!(bgp.remove_route(router, &p)))
        }
        "bgpAddFlow" => {
            let router = router_arg(arg(0))?;
            let f = FlowSpec::from_json(arg(1)).map_err(|e| e.to_string())?;
            bgp.add_flow(router, f).map(Json::from)
        }
        "bgpRemoveFlow" => {
            let router = router_arg(arg(0))?;
            let f = FlowSpec::from_json(arg(1)).map_err(|e| e.to_string())?;
            Ok(json!(bgp.remove_flow(router, &f)))
        }
        // The prelude's onOpen/onClose support: {peer: {up, established}} of `peers`.
        "bgpSessions" => {
            let s = bgp.lock();
            let mut out = serde_json::Map::new();
            for p in arg(0).as_array().into_iter().flatten() {
                let (Some(name), Ok(ip)) = (text(p), router_arg(p)) else {
                    continue;
                };
                if let Some(n) = s.get(&ip) {
                    out.insert(
                        name,
                        json!({
                            "up": n.state() == flowlens_bgp::State::Established,
                            "established": n.counters().established,
                        }),
                    );
                }
            }
            Ok(Json::Object(out))
        }
        "bgpRouteCount" | "bgpFlowCount" => {
            let router = router_arg(arg(0))?;
            let s = bgp.lock();
            let n = s.get(&router).map_or(0, |n| {
                if function == "bgpRouteCount" {
                    n.route_count()
                } else {
                    n.flow_count()
                }
            });
            Ok(json!(n))
        }
        _ => Err(format!("{function} is not a BGP function")),
    }
}
