//! sFlow forwarding (sFlow-RT's `/forwarding` and `/tenant`, `setForward`/`clearForward`):
//! received sFlow datagrams copied unchanged to other collectors, and per-tenant slices
//! ([`tenant`]) re-encoded for the tenants' own collectors.
//!
//! It runs on a thread of its own and never slows ingest: while any target or tenant is set,
//! each receive thread hands it a copy of every batch it hands the engine, without waiting;
//! when its queue ([`QUEUE_BATCHES`]) is full the copy is dropped and its datagrams counted
//! (`forwardingDatagramsDropped` in `/analyzer/json`). With nothing set, a receive thread
//! pays one atomic load per batch. Sends are UDP from one unconnected socket per address
//! family; a failed send is counted per target, never retried.
//!
//! Targets and tenants are saved in the state directory (`forwarding.json`) before a change
//! is acknowledged, and restored at start.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use anyhow::{Context, Result};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};
use serde_json::{json, Value as Json};

use super::ingest::Batch;
use super::state::StateDir;

pub(crate) mod spec;
mod tenant;

use spec::{TargetSpec, TenantSpec, MAX_TARGETS, MAX_TENANTS};

/// Batches waiting for the forwarding thread at most; beyond it copies are dropped.
pub(crate) const QUEUE_BATCHES: usize = 256;
/// How soon the thread sees [`Forwarding::stop`].
const STOP_WAIT: std::time::Duration = std::time::Duration::from_millis(200);
/// File of the state directory holding targets and tenants.
pub(crate) const FORWARDING_FILE: &str = "forwarding.json";

/// Counters of one target or tenant.
#[derive(Debug, Default)]
pub(crate) struct SendStats {
    /// Datagrams sent.
    datagrams: AtomicU64,
    /// Bytes sent (UDP payload).
    bytes: AtomicU64,
    /// Samples sent (tenants only).
    samples: AtomicU64,
    /// Sends that failed.
    errors: AtomicU64,
}

impl SendStats {
    fn sent(&self, bytes: usize, samples: u32) {
        self.datagrams.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
        self.samples
            .fetch_add(u64::from(samples), Ordering::Relaxed);
    }

    fn add_to(&self, doc: &mut Json, with_samples: bool) {
        if let Some(o) = doc.as_object_mut() {
            let n = |a: &AtomicU64| json!(a.load(Ordering::Relaxed));
            o.insert("datagrams".into(), n(&self.datagrams));
            o.insert("bytes".into(), n(&self.bytes));
            if with_samples {
                o.insert("samples".into(), n(&self.samples));
            }
            o.insert("errors".into(), n(&self.errors));
        }
    }
}

/// A target with its counters (kept across a redefinition of the same name).
#[derive(Debug)]
struct Target {
    spec: TargetSpec,
    stats: Arc<SendStats>,
}

/// A tenant with its counters.
#[derive(Debug)]
struct Tenant {
    spec: TenantSpec,
    stats: Arc<SendStats>,
}

/// What is set, as the forwarding thread reads it (replaced whole on a change).
#[derive(Debug, Default)]
struct Config {
    targets: BTreeMap<String, Target>,
    tenants: BTreeMap<String, Tenant>,
}

impl Config {
    fn is_empty(&self) -> bool {
        self.targets.is_empty() && self.tenants.is_empty()
    }

    fn to_json(&self) -> Json {
        let targets: serde_json::Map<String, Json> = self
            .targets
            .iter()
            .map(|(k, t)| (k.clone(), t.spec.to_json()))
            .collect();
        let tenants: serde_json::Map<String, Json> = self
            .tenants
            .iter()
            .map(|(k, t)| (k.clone(), t.spec.to_json()))
            .collect();
        json!({"version": 1, "forwarding": targets, "tenants": tenants})
    }
}

/// Why a change was refused: the HTTP status it maps to and the message.
#[derive(Debug)]
pub(crate) enum Refused {
    /// A malformed body or a limit (400).
    Bad(String),
    /// No such target or tenant (404).
    NotFound(String),
    /// The change could not be saved (500); it was not applied.
    Unsaved(String),
}

/// The forwarding shared by the receive threads, the REST API and scripts.
#[derive(Debug)]
pub(crate) struct Forwarding {
    /// True while anything is set: receive threads offer copies only then.
    active: AtomicBool,
    tx: Sender<Batch>,
    config: Mutex<Arc<Config>>,
    /// Held while a change is applied and saved, so saves follow the order of changes.
    writer: Mutex<()>,
    /// Datagrams whose copy was dropped: the queue was full.
    dropped: AtomicU64,
    /// Set at shutdown: the thread ends.
    stop: AtomicBool,
    /// sFlow datagrams whose header did not parse, for tenants.
    errors: AtomicU64,
    /// Our own receive sockets' addresses: forwarding there would loop.
    own: Vec<SocketAddr>,
    state: StateDir,
}

impl Forwarding {
    /// Starts the forwarding thread with what `state` holds; `own` are the receive sockets'
    /// addresses (targets pointing back at them are refused).
    ///
    /// # Errors
    /// The sending sockets or the thread cannot be created.
    pub(crate) fn start(
        state: StateDir,
        own: Vec<SocketAddr>,
    ) -> Result<(Arc<Forwarding>, JoinHandle<()>)> {
        let (tx, rx) = crossbeam_channel::bounded(QUEUE_BATCHES);
        let f = Arc::new(Forwarding {
            active: AtomicBool::new(false),
            tx,
            config: Mutex::new(Arc::new(Config::default())),
            writer: Mutex::new(()),
            dropped: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            errors: AtomicU64::new(0),
            own,
            state,
        });
        f.restore();
        let v4 = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))
            .context("cannot open a UDP socket for forwarding")?;
        let v6 = UdpSocket::bind((Ipv6Addr::UNSPECIFIED, 0)).ok();
        let worker = Arc::clone(&f);
        let thread = std::thread::Builder::new()
            .name("forward".into())
            .spawn(move || worker.run(&rx, &v4, v6.as_ref()))
            .context("cannot start the forwarding thread")?;
        Ok((f, thread))
    }

    fn lock_config(&self) -> MutexGuard<'_, Arc<Config>> {
        self.config.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn current(&self) -> Arc<Config> {
        Arc::clone(&self.lock_config())
    }

    /// Offers a copy of `batch` (called by receive threads; never blocks).
    pub(crate) fn offer(&self, batch: &Batch) {
        if !self.active.load(Ordering::Relaxed) || batch.len() == 0 {
            return;
        }
        let n = batch.len() as u64;
        match self.tx.try_send(batch.clone()) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(n, Ordering::Relaxed);
            }
        }
    }

    /// Ends the forwarding thread (within [`STOP_WAIT`]); what is queued is dropped.
    pub(crate) fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// The forwarding thread.
    fn run(&self, rx: &Receiver<Batch>, v4: &UdpSocket, v6: Option<&UdpSocket>) {
        let mut slicer = tenant::Slicer::new();
        while !self.stop.load(Ordering::Relaxed) {
            let batch = match rx.recv_timeout(STOP_WAIT) {
                Ok(b) => b,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => break,
            };
            let config = self.current();
            if config.is_empty() {
                continue;
            }
            let send = |to: SocketAddr, bytes: &[u8]| {
                let sock = match to.ip() {
                    IpAddr::V4(_) => Some(v4),
                    IpAddr::V6(_) => v6,
                };
                sock.is_some_and(|s| s.send_to(bytes, to).is_ok())
            };
            let tenants: Vec<(&str, &TenantSpec)> = config
                .tenants
                .iter()
                .map(|(k, t)| (k.as_str(), &t.spec))
                .collect();
            let tenant_stats: Vec<&SendStats> =
                config.tenants.values().map(|t| &*t.stats).collect();
            for (_, payload) in batch.iter() {
                if !flowlens_wire::sflow::is_sflow_v5(payload) {
                    continue;
                }
                let agent = agent_address(payload);
                for t in config.targets.values() {
                    if !t.spec.agents.is_empty()
                        && !agent.is_some_and(|a| t.spec.agents.contains(&a))
                    {
                        continue;
                    }
                    if send(t.spec.to, payload) {
                        t.stats.sent(payload.len(), 0);
                    } else {
                        t.stats.errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                if tenants.is_empty() {
                    continue;
                }
                let r = slicer.slice(payload, &tenants, |s| {
                    let (Some((_, spec)), Some(stats)) =
                        (tenants.get(s.tenant), tenant_stats.get(s.tenant))
                    else {
                        return;
                    };
                    if send(spec.to, s.datagram) {
                        stats.sent(s.datagram.len(), s.samples);
                    } else {
                        stats.errors.fetch_add(1, Ordering::Relaxed);
                    }
                });
                if r.is_err() {
                    self.errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }

    /// Restores what the state directory holds (entries that no longer parse are reported
    /// and skipped; the file is kept aside then).
    fn restore(&self) {
        let Some(doc) = self.state.load_json(FORWARDING_FILE) else {
            return;
        };
        let mut c = Config::default();
        let mut bad = Vec::new();
        for (k, v) in doc
            .get("forwarding")
            .and_then(Json::as_object)
            .into_iter()
            .flatten()
        {
            match TargetSpec::parse(v) {
                Ok(spec) => {
                    c.targets.insert(
                        k.clone(),
                        Target {
                            spec,
                            stats: Arc::default(),
                        },
                    );
                }
                Err(e) => bad.push(format!("forwarding {k}: {e}")),
            }
        }
        for (k, v) in doc
            .get("tenants")
            .and_then(Json::as_object)
            .into_iter()
            .flatten()
        {
            match TenantSpec::parse(v) {
                Ok(spec) => {
                    c.tenants.insert(
                        k.clone(),
                        Tenant {
                            spec,
                            stats: Arc::default(),
                        },
                    );
                }
                Err(e) => bad.push(format!("tenant {k}: {e}")),
            }
        }
        if !bad.is_empty() {
            self.state.set_aside_file(FORWARDING_FILE, &bad.join("; "));
        }
        self.active.store(!c.is_empty(), Ordering::Relaxed);
        *self.lock_config() = Arc::new(c);
    }

    /// Applies `change` to a copy of the configuration, saves it, then puts it in place.
    fn change(
        &self,
        change: impl FnOnce(&mut Config) -> Result<(), Refused>,
    ) -> Result<(), Refused> {
        let _w = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let now = self.current();
        let mut next = Config {
            targets: now
                .targets
                .iter()
                .map(|(k, t)| {
                    (
                        k.clone(),
                        Target {
                            spec: t.spec.clone(),
                            stats: Arc::clone(&t.stats),
                        },
                    )
                })
                .collect(),
            tenants: now
                .tenants
                .iter()
                .map(|(k, t)| {
                    (
                        k.clone(),
                        Tenant {
                            spec: t.spec.clone(),
                            stats: Arc::clone(&t.stats),
                        },
                    )
                })
                .collect(),
        };
        change(&mut next)?;
        self.state
            .save_json(FORWARDING_FILE, &next.to_json())
            .map_err(|e| Refused::Unsaved(format!("{e:#}")))?;
        self.active.store(!next.is_empty(), Ordering::Relaxed);
        *self.lock_config() = Arc::new(next);
        Ok(())
    }

    fn check_not_own(&self, to: SocketAddr) -> Result<(), Refused> {
        let loops = self.own.iter().any(|o| {
            o.port() == to.port()
                && (o.ip() == to.ip()
                    || o.ip().is_unspecified()
                        && (to.ip().is_loopback() || to.ip().is_unspecified()))
        });
        if loops {
            return Err(Refused::Bad(format!(
                "{to} is one of this server's own receive sockets: forwarding there would loop"
            )));
        }
        Ok(())
    }

    /// Sets target `name` (`PUT /forwarding/{name}/json`, `setForward`).
    ///
    /// # Errors
    /// [`Refused::Bad`] for a target at one of our own sockets or beyond [`MAX_TARGETS`];
    /// [`Refused::Unsaved`].
    pub(crate) fn set_target(&self, name: &str, spec: TargetSpec) -> Result<(), Refused> {
        self.check_not_own(spec.to)?;
        self.change(|c| {
            if !c.targets.contains_key(name) && c.targets.len() >= MAX_TARGETS {
                return Err(Refused::Bad(format!(
                    "at most {MAX_TARGETS} forwarding targets"
                )));
            }
            let stats = c
                .targets
                .get(name)
                .map(|t| Arc::clone(&t.stats))
                .unwrap_or_default();
            c.targets.insert(name.to_string(), Target { spec, stats });
            Ok(())
        })
    }

    /// Removes target `name`.
    ///
    /// # Errors
    /// [`Refused::NotFound`], [`Refused::Unsaved`].
    pub(crate) fn clear_target(&self, name: &str) -> Result<(), Refused> {
        self.change(|c| {
            c.targets
                .remove(name)
                .map(|_| ())
                .ok_or_else(|| Refused::NotFound(format!("no forwarding target {name:?}")))
        })
    }

    /// Sets tenant `name` (`PUT /tenant/{name}/json`).
    ///
    /// # Errors
    /// As [`Forwarding::set_target`], with [`MAX_TENANTS`].
    pub(crate) fn set_tenant(&self, name: &str, spec: TenantSpec) -> Result<(), Refused> {
        self.check_not_own(spec.to)?;
        self.change(|c| {
            if !c.tenants.contains_key(name) && c.tenants.len() >= MAX_TENANTS {
                return Err(Refused::Bad(format!("at most {MAX_TENANTS} tenants")));
            }
            let stats = c
                .tenants
                .get(name)
                .map(|t| Arc::clone(&t.stats))
                .unwrap_or_default();
            c.tenants.insert(name.to_string(), Tenant { spec, stats });
            Ok(())
        })
    }

    /// Removes tenant `name`.
    ///
    /// # Errors
    /// [`Refused::NotFound`], [`Refused::Unsaved`].
    pub(crate) fn clear_tenant(&self, name: &str) -> Result<(), Refused> {
        self.change(|c| {
            c.tenants
                .remove(name)
                .map(|_| ())
                .ok_or_else(|| Refused::NotFound(format!("no tenant {name:?}")))
        })
    }

    /// `GET /forwarding/json` (`name` `None`) or `/forwarding/{name}/json`: each target's
    /// body with its counters (`datagrams`, `bytes`, `errors`).
    pub(crate) fn targets_json(&self, name: Option<&str>) -> Option<Json> {
        let c = self.current();
        let one = |t: &Target| {
            let mut d = t.spec.to_json();
            t.stats.add_to(&mut d, false);
            d
        };
        match name {
            Some(n) => c.targets.get(n).map(one),
            None => Some(Json::Object(
                c.targets.iter().map(|(k, t)| (k.clone(), one(t))).collect(),
            )),
        }
    }

    /// `GET /tenant/json` or `/tenant/{name}/json`: each tenant's body with its counters
    /// (`datagrams`, `bytes`, `samples`, `errors`).
    pub(crate) fn tenants_json(&self, name: Option<&str>) -> Option<Json> {
        let c = self.current();
        let one = |t: &Tenant| {
            let mut d = t.spec.to_json();
            t.stats.add_to(&mut d, true);
            d
        };
        match name {
            Some(n) => c.tenants.get(n).map(one),
            None => Some(Json::Object(
                c.tenants.iter().map(|(k, t)| (k.clone(), one(t))).collect(),
            )),
        }
    }

    /// Adds `forwardingDatagramsDropped` (queue full) and `forwardingErrors` (datagrams
    /// tenants could not parse) to an `/analyzer/json` document.
    pub(crate) fn add_to(&self, doc: &mut Json) {
        if let Some(o) = doc.as_object_mut() {
            o.insert(
                "forwardingDatagramsDropped".into(),
                json!(self.dropped.load(Ordering::Relaxed)),
            );
            o.insert(
                "forwardingErrors".into(),
                json!(self.errors.load(Ordering::Relaxed)),
            );
        }
    }
}

/// The `agent_address` of an sFlow v5 datagram, without parsing further.
fn agent_address(payload: &[u8]) -> Option<IpAddr> {
    flowlens_wire::sflow::Datagram::parse(payload)
        .ok()
        .map(|d| d.agent_address())
}
