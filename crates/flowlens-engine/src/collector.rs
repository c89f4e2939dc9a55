//! [`Collector`]: the one entry point for "a datagram (or a captured packet) arrived".
//!
//! It owns the flow [`Engine`], the NetFlow/IPFIX [`NetflowSession`] (templates, held data,
//! sampling rates) and the datagram counters, and dispatches by content
//! ([`flowlens_wire::sniff`]): sFlow datagrams into [`Engine::add_sflow_from`], NetFlow/IPFIX
//! datagrams through the session into [`Engine::add_netflow_record`], other captured packets
//! into [`Engine::add_packet`]; packets of a live packet source (`flowlens run --pcap`,
//! `--mirror`), already sampled, into [`Engine::add_sampled_packet`] with their rate and data
//! source ([`Collector::handle_sampled_packet`]). `flowlens run` (live sockets), `flowlens top`
//! (capture replay) and `flowlens decode` (through [`Collector::handle_datagram_with`] and a
//! [`DatagramHook`]) each call it in one place, so they count and route exactly alike.
//!
//! Sans-IO like the rest of the crate: every entry point takes the caller's time (`now_ms`,
//! Unix milliseconds) and bytes; [`Collector::tick`] is the once-a-second housekeeping.

use std::net::IpAddr;

use flowlens_netflow::{DatagramInfo, NetflowRecord, NetflowSession, RecordSink, TemplateEvent};
use flowlens_wire::packet::{self, LinkType, WalkConfig};
use flowlens_wire::sflow::Datagram;
use flowlens_wire::sniff::{sniff, Export};
use serde_json::{json, Value as Json};

use crate::engine::Fork;
use crate::Engine;

/// What the collector counted of its input (`/analyzer/json`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CollectorStats {
    /// sFlow v5 datagrams (recognised by content).
    pub sflow_datagrams: u64,
    /// NetFlow v5/v9 and IPFIX datagrams (recognised by content).
    pub netflow_datagrams: u64,
    /// Datagrams that are neither.
    pub unknown_datagrams: u64,
    /// sFlow or NetFlow/IPFIX datagrams rejected as a whole (bad header).
    pub rejected_datagrams: u64,
    /// Errors inside NetFlow/IPFIX datagrams (records, templates).
    pub netflow_record_errors: u64,
    /// Captured packets fed as samples ([`Collector::handle_packet`],
    /// [`Collector::handle_sampled_packet`]).
    pub packets: u64,
}

/// How [`Collector::handle_datagram`] took a datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handled {
    /// sFlow v5 or NetFlow/IPFIX, decoded (errors inside it, if any, are counted).
    Decoded(Export),
    /// sFlow v5 or NetFlow/IPFIX by its first bytes, but its header is unusable.
    Rejected(Export),
    /// Not a flow-export datagram.
    Unknown,
}

/// Sees the decoded input beside the engine (e.g. the history export of `flowlens run`): set
/// with [`Collector::set_observer`]. Called on the caller's thread, so it must be quick and
/// never block; it gets the same views the engine gets, before the engine does.
pub trait Observer: Send {
    /// An sFlow v5 datagram that parsed, received at `now_ms` (Unix ms).
    fn sflow(&mut self, now_ms: u64, datagram: &Datagram<'_>);
    /// A NetFlow/IPFIX record (options records included: see
    /// [`NetflowRecord::options`]), received at `now_ms`.
    fn netflow_record(&mut self, now_ms: u64, record: &NetflowRecord<'_, '_>);
    /// Once a second, from [`Collector::tick`].
    fn tick(&mut self, now_ms: u64);
}

/// What [`Collector::handle_datagram_with`] reports of one datagram besides feeding the
/// engine: the views it decodes, in decoding order (`flowlens decode` prints them). Every
/// method does nothing by default; [`Collector::handle_datagram`] passes `()`, so the hook
/// costs nothing there (generic, no dynamic dispatch).
pub trait DatagramHook {
    /// An sFlow v5 datagram that parsed, before the engine takes it.
    fn sflow(&mut self, datagram: &Datagram<'_>) {
        let _ = datagram;
    }
    /// Why an sFlow v5 datagram (by its first bytes) did not parse.
    fn sflow_rejected(&mut self, error: &flowlens_wire::Error) {
        let _ = error;
    }
    /// A NetFlow/IPFIX data record ([`RecordSink::record`]), before the engine takes it.
    fn netflow_record(&mut self, record: &NetflowRecord<'_, '_>) {
        let _ = record;
    }
    /// A NetFlow/IPFIX options record ([`RecordSink::options`]).
    fn netflow_options(&mut self, record: &NetflowRecord<'_, '_>) {
        let _ = record;
    }
    /// A template learned, refreshed, replaced, withdrawn or rejected.
    fn netflow_template(&mut self, event: &TemplateEvent) {
        let _ = event;
    }
    /// An error inside a NetFlow/IPFIX datagram (counted in `netflow_record_errors`).
    fn netflow_error(&mut self, error: &flowlens_netflow::Error) {
        let _ = error;
    }
    /// What [`NetflowSession::handle`] returned for the datagram, after its records.
    fn netflow_done(&mut self, result: &Result<DatagramInfo, flowlens_netflow::Error>) {
        let _ = result;
    }
}

impl DatagramHook for () {}

/// The engine, the NetFlow/IPFIX session and the datagram counters (see the module docs).
pub struct Collector {
    engine: Engine,
    session: NetflowSession,
    stats: CollectorStats,
    /// Finds the UDP payload of captured frames.
    outer: WalkConfig,
    /// Sees the input beside the engine.
    observer: Option<Box<dyn Observer>>,
    /// A batch's sFlow datagrams and their input positions ([`Collector::handle_batch`]),
    /// emptied, kept for their capacity.
    spare_sflow: Vec<(Option<IpAddr>, Datagram<'static>)>,
    spare_seqs: Vec<u64>,
}

/// Carries NetFlow/IPFIX records from the session into the engine (and the hook).
struct Records<'a, H> {
    hook: &'a mut H,
    engine: &'a mut Engine,
    observer: Option<&'a mut (dyn Observer + 'static)>,
    now_ms: u64,
    errors: u64,
}

impl<H: DatagramHook> RecordSink for Records<'_, H> {
    fn record(&mut self, r: &NetflowRecord<'_, '_>) {
        self.hook.netflow_record(r);
        if let Some(o) = self.observer.as_deref_mut() {
            o.netflow_record(self.now_ms, r);
        }
        self.engine.add_netflow_record(self.now_ms, r);
    }
    fn options(&mut self, r: &NetflowRecord<'_, '_>) {
        self.hook.netflow_options(r);
    }
    fn template(&mut self, event: &TemplateEvent) {
        self.hook.netflow_template(event);
    }
    fn error(&mut self, e: &flowlens_netflow::Error) {
        self.hook.netflow_error(e);
        self.errors += 1;
    }
}

impl Collector {
    /// A collector over `engine` and `session`, with zero counters.
    #[must_use]
    pub fn new(engine: Engine, session: NetflowSession) -> Collector {
        Collector {
            engine,
            session,
            stats: CollectorStats::default(),
            outer: WalkConfig::default(),
            observer: None,
            spare_sflow: Vec::new(),
            spare_seqs: Vec::new(),
        }
    }

    /// Sets (or with `None` removes) the observer that sees every sFlow datagram and
    /// NetFlow/IPFIX record beside the engine.
    pub fn set_observer(&mut self, observer: Option<Box<dyn Observer>>) {
        self.observer = observer;
    }

    /// The flow engine (definitions, queries).
    #[must_use]
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The flow engine, to change definitions.
    pub fn engine_mut(&mut self) -> &mut Engine {
        &mut self.engine
    }

    /// The NetFlow/IPFIX session (templates, sampling rates).
    #[must_use]
    pub fn session(&self) -> &NetflowSession {
        &self.session
    }

    /// The NetFlow/IPFIX session, e.g. to set sampling-rate overrides.
    pub fn session_mut(&mut self) -> &mut NetflowSession {
        &mut self.session
    }

    /// The datagram counters.
    #[must_use]
    pub fn stats(&self) -> CollectorStats {
        self.stats
    }

    /// Handles one UDP payload received at `now_ms` from `from` (the UDP source address: the
    /// NetFlow/IPFIX exporter, and the sender listed in an sFlow agent's statistics),
    /// recognised by content. Never fails: what it cannot use is counted.
    pub fn handle_datagram(&mut self, now_ms: u64, from: IpAddr, payload: &[u8]) -> Handled {
        self.handle_datagram_with(now_ms, from, payload, &mut ())
    }

    /// [`Collector::handle_datagram`], reporting what it decodes to `hook` on the way.
    pub fn handle_datagram_with<H: DatagramHook>(
        &mut self,
        now_ms: u64,
        from: IpAddr,
        payload: &[u8],
        hook: &mut H,
    ) -> Handled {
        match sniff(payload) {
            Some(Export::Sflow) => match self.parse_sflow(now_ms, payload, hook) {
                Some(d) => {
                    self.engine.add_sflow_from(now_ms, Some(from), &d);
                    if self.engine.env().topology.is_set() {
                        self.engine.env_mut().topology.observe_sflow(now_ms, &d);
                    }
                    Handled::Decoded(Export::Sflow)
                }
                None => Handled::Rejected(Export::Sflow),
            },
            Some(export @ Export::Netflow(_)) => {
                self.stats.netflow_datagrams += 1;
                let mut records = Records {
                    hook: &mut *hook,
                    engine: &mut self.engine,
                    observer: self.observer.as_deref_mut(),
                    now_ms,
                    errors: 0,
                };
                let handled = self.session.handle(now_ms, from, payload, &mut records);
                self.stats.netflow_record_errors += records.errors;
                hook.netflow_done(&handled);
                if handled.is_err() {
                    self.stats.rejected_datagrams += 1;
                    Handled::Rejected(export)
                } else {
                    Handled::Decoded(export)
                }
            }
            None => {
                self.stats.unknown_datagrams += 1;
                Handled::Unknown
            }
        }
    }

    /// An sFlow datagram (by its first bytes), counted, parsed and shown to `hook` and the
    /// observer; `None` (counted) when it does not parse.
    fn parse_sflow<'p, H: DatagramHook>(
        &mut self,
        now_ms: u64,
        payload: &'p [u8],
        hook: &mut H,
    ) -> Option<Datagram<'p>> {
        self.stats.sflow_datagrams += 1;
        match Datagram::parse(payload) {
            Ok(d) => {
                hook.sflow(&d);
                if let Some(o) = self.observer.as_deref_mut() {
                    o.sflow(now_ms, &d);
                }
                Some(d)
            }
            Err(e) => {
                hook.sflow_rejected(&e);
                self.stats.rejected_datagrams += 1;
                None
            }
        }
    }

    /// Handles a batch of UDP payloads received at `now_ms`, each with its sender, as
    /// [`Collector::handle_datagram`] would one after the other, except that the flow samples
    /// of its sFlow datagrams go to the engine's shards through `fork` (which may run them on
    /// several threads: [`Engine::set_shards`]) after the rest of the batch, and the
    /// topology learns from the batch's sFlow datagrams after that. Events and flow records
    /// come out in input order whatever the number of shards.
    pub fn handle_batch<'p>(
        &mut self,
        now_ms: u64,
        batch: impl IntoIterator<Item = (IpAddr, &'p [u8])>,
        fork: &dyn Fork,
    ) {
        self.engine.begin_batch();
        let mut sflow: Vec<(Option<IpAddr>, Datagram<'p>)> =
            crate::engine::relabel(std::mem::take(&mut self.spare_sflow));
        let mut seqs = std::mem::take(&mut self.spare_seqs);
        seqs.clear();
        for (from, payload) in batch {
            if sniff(payload) == Some(Export::Sflow) {
                if let Some(d) = self.parse_sflow(now_ms, payload, &mut ()) {
                    // Its input position now, among the batch's NetFlow/IPFIX records.
                    seqs.push(self.engine.next_seq());
                    sflow.push((Some(from), d));
                }
            } else {
                self.handle_datagram(now_ms, from, payload);
            }
        }
        let seq = |k: usize| seqs.get(k).copied().unwrap_or(0);
        self.engine.add_sflow_batch_at(now_ms, &sflow, seq, fork);
        // The topology learns only when one is set.
        if self.engine.env().topology.is_set() {
            for (_, d) in &sflow {
                self.engine.env_mut().topology.observe_sflow(now_ms, d);
            }
        }
        self.spare_sflow = crate::engine::relabel(sflow);
        self.spare_seqs = seqs;
        self.engine.end_batch();
    }

    /// Handles one captured frame of link type `link` (`data` as captured, `original_len` its
    /// length on the wire): an sFlow/NetFlow/IPFIX datagram inside it (on any UDP port) is
    /// handled as [`Collector::handle_datagram`] from its IP source; any other packet is a
    /// 1-in-1 sample of `agent` (data source 0). Returns how a datagram was taken, `None` for
    /// a packet sample.
    pub fn handle_packet(
        &mut self,
        now_ms: u64,
        agent: IpAddr,
        link: LinkType,
        data: &[u8],
        original_len: u32,
    ) -> Option<Handled> {
        if let Some((from, payload)) = self.datagram_in(link, data) {
            return Some(self.handle_datagram(now_ms, from, payload));
        }
        self.stats.packets += 1;
        self.engine
            .add_packet(now_ms, agent, link, data, original_len);
        None
    }

    /// The sFlow/NetFlow/IPFIX datagram (recognised by content, on any UDP port) that a
    /// captured frame of link type `link` carries, with its IP source: what
    /// [`Collector::handle_packet`] hands to [`Collector::handle_datagram`]. `None` for any
    /// other packet.
    #[must_use]
    pub fn datagram_in<'d>(&self, link: LinkType, data: &'d [u8]) -> Option<(IpAddr, &'d [u8])> {
        let walk = packet::walk(link, data, &self.outer);
        let udp = walk.outer_udp()?;
        sniff(udp.payload)
            .is_some()
            .then_some((udp.src_addr, udp.payload))
    }

    /// Handles one packet sampled 1-in-`rate` by a live packet source of the caller's (an
    /// interface capture, a mirror session) at data source `ds`: always a packet sample, never
    /// looked into for sFlow/NetFlow/IPFIX datagrams (those reach the UDP sockets). `data` is
    /// the frame of link type `link` as captured (possibly cut at a snap length),
    /// `original_len` its length on the wire, bytes. Counted in `packetSamples`.
    pub fn handle_sampled_packet(
        &mut self,
        now_ms: u64,
        ds: crate::DataSource,
        rate: u32,
        link: LinkType,
        data: &[u8],
        original_len: u32,
    ) {
        self.stats.packets += 1;
        self.engine
            .add_sampled_packet(now_ms, ds, rate, link, data, original_len);
    }

    /// Once-a-second housekeeping at `now_ms`: the engine's smoothing, expiry, thresholds and
    /// flow logs, host locations of the topology not seen for their TTL, and NetFlow/IPFIX
    /// data held for a template longer than its TTL.
    pub fn tick(&mut self, now_ms: u64) {
        self.tick_with(now_ms, &crate::Sequential);
    }

    /// [`Collector::tick`] with the engine's shards scanned through `fork`
    /// ([`Engine::tick_with`]).
    pub fn tick_with(&mut self, now_ms: u64, fork: &dyn Fork) {
        self.engine.tick_with(now_ms, fork);
        self.engine.env_mut().topology.expire_hosts(now_ms);
        self.session.expire(now_ms);
        if let Some(o) = self.observer.as_deref_mut() {
            o.tick(now_ms);
        }
    }

    /// The collector's part of sFlow-RT's `/analyzer/json` (datagrams, samples, records, keys,
    /// events; JSON numbers): one builder for the REST API and for scripts' `analyzer()`. The
    /// server adds its own fields (version, uptime, sockets).
    ///
    /// Every class of input that a cap turned away or state that was evicted or forgotten is
    /// here, so loss is never silent: agents and data sources refused or expired
    /// (`sFlowAgentsRefused`, …), counter data sources refused (`counterDataSourcesRefused`),
    /// NetFlow/IPFIX templates evicted or refused (`netflowTemplatesEvicted`, …), data held
    /// for a template and dropped (`netflowDataExpired`, `netflowDataRefused`), flow keys
    /// evicted or refused (`keysEvicted`, `keysRefused`).
    #[must_use]
    pub fn analyzer_json(&self) -> Json {
        let s = self.engine.stats();
        let f = self.stats;
        let n = self.session.stats();
        let a = self.engine.agents().stats();
        let c = self.engine.counters().stats();
        let mut doc = json!({
            "sFlowAgentsRefused": a.agents_refused,
            "sFlowAgentsExpired": a.agents_expired,
            "sFlowDataSources": a.data_sources,
            "sFlowDataSourcesRefused": a.data_sources_refused,
            "sFlowDataSourcesExpired": a.data_sources_expired,
            "counterDataSources": c.data_sources,
            "counterDataSourcesRefused": c.refused_data_sources + c.refused_agents,
            "counterDataSourcesExpired": c.expired,
            "netflowTemplatesLearned": n.cache.learned,
            "netflowTemplatesEvicted": n.cache.evicted_global_cap + n.cache.evicted_exporter_cap,
            "netflowTemplatesRefused": n.cache.rejected_too_many_fields
                + n.cache.rejected_too_long
                + n.cache.rejected_empty,
            "netflowDataHeldSets": n.pending.sets,
            "netflowDataExpired": n.pending.expired,
            "netflowDataRefused": n.pending.refused,
            "netflowDataEvicted": n.pending.evicted,
            "netflowSamplersEvicted": n.samplers_evicted,
        });
        let rest = json!({
            "sFlowDatagramsReceived": f.sflow_datagrams,
            "sFlowAgents": self.engine.agents().list().len(),
            "netflowDatagramsReceived": f.netflow_datagrams,
            "unknownDatagrams": f.unknown_datagrams,
            "rejectedDatagrams": f.rejected_datagrams,
            "netflowRecordErrors": f.netflow_record_errors,
            "netflowTemplates": self.session.templates().len(),
            "netflowDataHeldBytes": n.pending.bytes,
            "packetSamples": f.packets,
            "flowSamples": s.flow_samples,
            "counterSamples": s.counter_samples,
            "discardSamples": s.discard_samples,
            "netflowRecords": s.records,
            "sampleErrors": s.sample_errors,
            "activeKeys": self.engine.active_keys(),
            "keysAdded": s.keys_added,
            "keysExpired": s.keys_expired,
            "keysEvicted": s.keys_evicted,
            "keysRefused": s.keys_refused,
            "flowsLogged": s.flows_logged,
            "events": s.events,
        });
        if let (Some(d), Json::Object(r)) = (doc.as_object_mut(), rest) {
            d.extend(r);
        }
        doc
    }
}
