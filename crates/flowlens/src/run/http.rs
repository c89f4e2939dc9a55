//! The HTTP server of `flowlens run`: accepts connections and serves the REST router on each
//! (hyper's HTTP/1.1), with the bounds a server facing untrusted clients needs.
//!
//! * **Header timeout** ([`HEADER_TIMEOUT`]): a connection that has not sent a whole request
//!   head within it is closed. The timer runs from the moment the server waits for a request,
//!   so it also closes idle keep-alive connections and slowloris clients (hyper's
//!   `header_read_timeout`). Bodies have their own deadline, in the router
//!   (`api::BODY_TIMEOUT`).
//! * **Connection cap** ([`connection_cap`]): at most half the process's descriptor limit
//!   (`RLIMIT_NOFILE`), between [`MIN_CONNECTIONS`] and [`MAX_CONNECTIONS`], so client
//!   connections never use up the descriptors the rest of the server needs. At the cap, a new
//!   connection closes the oldest one that has no request in progress (an idle or half-sent
//!   one); when every connection has a request in progress, the new one is closed at once.
//!   So idle connections cannot make the REST API unreachable.
//! * **Shutdown deadline** ([`SHUTDOWN_GRACE`]): when `stop` resolves, the server stops
//!   accepting, asks every connection to finish its current request and close, and closes
//!   whatever is still open after the deadline. So SIGTERM ends serving within it, whatever
//!   clients do.
//!
//! An `accept` error (out of descriptors, say) is counted and retried after
//! [`ACCEPT_BACKOFF`]; it never stops the server. Every connection closed or refused by these
//! bounds is counted in [`HttpStats`] (`/analyzer/json`, Prometheus).

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;
use tower::ServiceExt;

/// Longest wait for a whole request head (request line and headers), from the moment the
/// server waits for one: the first request of a connection or the next on a kept-alive one.
pub(crate) const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait, after the stop signal, for connections to finish their requests; then they
/// are closed.
pub(crate) const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Fewest connections served at once, whatever the descriptor limit.
pub(crate) const MIN_CONNECTIONS: usize = 16;
/// Most connections served at once, whatever the descriptor limit.
pub(crate) const MAX_CONNECTIONS: usize = 4096;
/// Wait before accepting again after `accept` failed.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Connections served at once: half the soft `RLIMIT_NOFILE`, within
/// [`MIN_CONNECTIONS`]..=[`MAX_CONNECTIONS`] (1,024 descriptors: 512 connections).
pub(crate) fn connection_cap() -> usize {
    let soft = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .map_or(1024, |(soft, _)| soft);
    usize::try_from(soft / 2)
        .unwrap_or(MAX_CONNECTIONS)
        .clamp(MIN_CONNECTIONS, MAX_CONNECTIONS)
}

/// What the HTTP server counted (`/analyzer/json`: `http…` fields).
#[derive(Debug, Default)]
pub(crate) struct HttpStats {
    /// Connections accepted.
    pub(crate) accepted: AtomicU64,
    /// Connections open now.
    pub(crate) open: AtomicUsize,
    /// Idle (or half-sent) connections closed to make room at the connection cap.
    pub(crate) closed_for_room: AtomicU64,
    /// New connections closed at once: at the cap with every connection busy.
    pub(crate) refused_at_cap: AtomicU64,
    /// Connections closed because no whole request head came within [`HEADER_TIMEOUT`].
    pub(crate) header_timeouts: AtomicU64,
    /// Requests whose body did not come within the body deadline (408).
    pub(crate) body_timeouts: AtomicU64,
    /// Requests whose body was over the size limit (413).
    pub(crate) bodies_too_large: AtomicU64,
    /// `accept` failures (e.g. out of descriptors).
    pub(crate) accept_errors: AtomicU64,
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// One open connection, as the accept loop sees it.
#[derive(Default)]
struct Conn {
    /// Requests in progress (0: idle, or still sending its request head).
    busy: AtomicUsize,
    /// Notified to close the connection at once.
    close: Notify,
}

/// Counts one request in progress on a connection for as long as it lives.
struct Busy(Arc<Conn>);

impl Busy {
    fn new(c: &Arc<Conn>) -> Busy {
        c.busy.fetch_add(1, Ordering::Relaxed);
        Busy(Arc::clone(c))
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The open connections by age (ids increase).
#[derive(Default)]
struct Conns(Mutex<BTreeMap<u64, Arc<Conn>>>);

impl Conns {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Arc<Conn>>> {
        // A panic while holding this lock leaves a plain map behind: still usable.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Makes room for one more connection under `cap`: closes the oldest idle connection
    /// when at the cap. False when at the cap and none is idle.
    fn make_room(&self, cap: usize, stats: &HttpStats) -> bool {
        let mut map = self.lock();
        if map.len() < cap {
            return true;
        }
        let idle = map
            .iter()
            .find(|(_, c)| c.busy.load(Ordering::Relaxed) == 0)
            .map(|(id, _)| *id);
        match idle.and_then(|id| map.remove(&id)) {
            Some(c) => {
                c.close.notify_one();
                bump(&stats.closed_for_room);
                true
            }
            None => {
                bump(&stats.refused_at_cap);
                false
            }
        }
    }
}

/// Serves `app` on `listener` until `stop` resolves, then drains connections for at most
/// [`SHUTDOWN_GRACE`] (see the module docs). `stopping` becomes true when `stop` has
/// resolved (the router's long-polls answer at once on it).
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    cap: usize,
    stats: Arc<HttpStats>,
    stop: impl Future<Output = ()>,
    stopping: watch::Sender<bool>,
) {
    let conns = Arc::new(Conns::default());
    let mut tasks = JoinSet::new();
    let mut next_id = 0u64;
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            biased;
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    bump(&stats.accepted);
                    if !conns.make_room(cap, &stats) {
                        drop(stream);
                        continue;
                    }
                    next_id += 1;
                    let conn = Arc::new(Conn::default());
                    conns.lock().insert(next_id, Arc::clone(&conn));
                    tasks.spawn(connection(
                        builder.clone(),
                        stream,
                        app.clone(),
                        conn,
                        stopping.subscribe(),
                        Registered {
                            conns: Arc::clone(&conns),
                            id: next_id,
                            stats: Arc::clone(&stats),
                        },
                    ));
                }
                Err(_) => {
                    bump(&stats.accept_errors);
                    tokio::select! {
                        () = &mut stop => break,
                        () = tokio::time::sleep(ACCEPT_BACKOFF) => {}
                    }
                }
            },
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    drop(listener);
    let _ = stopping.send(true);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tasks.shutdown().await;
    }
}

/// Where a connection is registered: the open set, its id there, the counters.
struct Registered {
    conns: Arc<Conns>,
    id: u64,
    stats: Arc<HttpStats>,
}

/// Serves one connection until it closes, is closed to make room, or is drained at shutdown.
async fn connection(
    builder: hyper::server::conn::http1::Builder,
    stream: TcpStream,
    app: Router,
    conn: Arc<Conn>,
    mut stopping: watch::Receiver<bool>,
    reg: Registered,
) {
    let Registered { conns, id, stats } = reg;
    stats.open.fetch_add(1, Ordering::Relaxed);
    let service = {
        let conn = Arc::clone(&conn);
        hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            let busy = Busy::new(&conn);
            let app = app.clone();
            async move {
                let r = app.oneshot(req.map(axum::body::Body::new)).await;
                // Busy until the answer is written whole (the guard goes with its body).
                r.map(|resp| {
                    resp.map(|b| {
                        axum::body::Body::new(http_body_util::BodyExt::map_frame(b, move |f| {
                            let _ = &busy;
                            f
                        }))
                    })
                })
            }
        })
    };
    let served = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(served);
    let mut draining = *stopping.borrow_and_update();
    if draining {
        served.as_mut().graceful_shutdown();
    }
    loop {
        tokio::select! {
            r = served.as_mut() => {
                if r.is_err_and(|e| e.is_timeout()) {
                    bump(&stats.header_timeouts);
                }
                break;
            }
            () = conn.close.notified() => break,
            _ = stopping.changed(), if !draining => {
                draining = true;
                served.as_mut().graceful_shutdown();
            }
        }
    }
    conns.lock().remove(&id);
    stats.open.fetch_sub(1, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_the_cap_the_oldest_idle_connection_makes_room() {
        let conns = Conns::default();
        let stats = HttpStats::default();
        let (a, b) = (Arc::new(Conn::default()), Arc::new(Conn::default()));
        conns.lock().insert(1, Arc::clone(&a));
        conns.lock().insert(2, Arc::clone(&b));
        assert!(conns.make_room(3, &stats), "under the cap");
        assert_eq!(conns.lock().len(), 2);
        // The oldest is busy: the next idle one goes.
        let busy = Busy::new(&a);
        assert!(conns.make_room(2, &stats));
        assert_eq!(conns.lock().keys().copied().collect::<Vec<_>>(), [1]);
        // Only busy connections left: no room.
        assert!(!conns.make_room(1, &stats));
        drop(busy);
        assert!(conns.make_room(1, &stats));
        assert!(conns.lock().is_empty());
        assert_eq!(stats.closed_for_room.load(Ordering::Relaxed), 2);
        assert_eq!(stats.refused_at_cap.load(Ordering::Relaxed), 1);
        assert!(MIN_CONNECTIONS <= connection_cap() && connection_cap() <= MAX_CONNECTIONS);
    }
}
