//! The stateful NetFlow/IPFIX decoder: [`NetflowSession`].

use std::net::IpAddr;

use flowlens_wire::netflow::{data_records, ipfix, v5, v9, Set, Sets, TemplateDef, TemplateSet};
use flowlens_wire::Layer;

use crate::hash::{map, Map};
use crate::pending::{Pending, PendingStats};
use crate::record::{uint, ExportClock, NetflowRecord};
use crate::sampling::{v5_rate, SamplerTable, SamplingFields};
use crate::template::{CacheStats, Limits, TemplateCache, TemplateChange, TemplateKey};
use crate::{Error, Protocol, SamplingSource};

/// Receives what a [`NetflowSession`] decodes, in datagram order.
///
/// For each datagram: template events as template sets are read; data records (and options
/// records) as data sets are read, including sets released from the pending buffer right after
/// the template event that released them; errors where they are found (the rest of the
/// datagram is still decoded when its framing allows).
pub trait RecordSink {
    /// A flow data record.
    fn record(&mut self, record: &NetflowRecord<'_, '_>);

    /// A record of an options template (sampler tables, interface names, ...). Sampling
    /// options have already been applied to the session when this is called.
    fn options(&mut self, record: &NetflowRecord<'_, '_>) {
        let _ = record;
    }

    /// A template learned, refreshed, replaced, withdrawn or rejected.
    fn template(&mut self, event: &TemplateEvent) {
        let _ = event;
    }

    /// A decoding error inside the datagram (offset inside).
    fn error(&mut self, error: &Error) {
        let _ = error;
    }
}

/// What happened to one template.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TemplateEvent {
    /// The template's key.
    pub key: TemplateKey,
    /// Learned, refreshed, replaced, withdrawn or rejected.
    pub change: TemplateChange,
    /// True for an options template.
    pub options: bool,
    /// Field count (0 for withdrawals).
    pub field_count: usize,
    /// Offset of the template record in the datagram.
    pub offset: usize,
}

/// Summary of one datagram handled by [`NetflowSession::handle`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DatagramInfo {
    /// The datagram's protocol (`None` only in `Default`).
    pub protocol: Option<Protocol>,
    /// Source id / observation domain (v5: engine type and id).
    pub domain: u32,
    /// Header sequence number (v5/v9 flow or packet sequence, IPFIX sequence).
    pub sequence: u32,
    /// Export time, Unix seconds.
    pub unix_secs: u32,
    /// Flow records reported (including released pending ones).
    pub records: usize,
    /// Options records reported.
    pub options_records: usize,
    /// Template records read (learned, refreshed, replaced, withdrawn or rejected).
    pub templates: usize,
    /// Data sets held pending (no template yet).
    pub sets_held: usize,
    /// Pending data sets released by templates in this datagram.
    pub sets_released: usize,
    /// Data sets neither decodable nor held (pending buffer full).
    pub sets_refused: usize,
    /// Sets with a reserved id, skipped by their length.
    pub sets_skipped: usize,
    /// Errors reported to the sink.
    pub errors: usize,
}

/// Session counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionStats {
    /// Datagrams handled (including rejected ones).
    pub datagrams: u64,
    /// Datagrams rejected as a whole (unknown version, bad header).
    pub datagrams_rejected: u64,
    /// Flow records reported.
    pub records: u64,
    /// Options records reported.
    pub options_records: u64,
    /// Errors inside datagrams.
    pub errors: u64,
    /// Template cache counters.
    pub cache: CacheStats,
    /// Pending buffer counters.
    pub pending: PendingStats,
    /// Sampler entries held.
    pub samplers: usize,
    /// Sampler entries evicted (cap reached).
    pub samplers_evicted: u64,
}

/// Sets dropped by [`NetflowSession::expire`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Expired {
    /// Pending data sets dropped (waited longer than the TTL).
    pub sets: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// The non-template state: borrowed mutably while the template cache is borrowed shared.
struct State {
    samplers: SamplerTable,
    /// IPFIX `systemInitTimeMilliseconds` per (exporter, domain), from options data.
    init_times: SamplerTable,
    overrides: Map<IpAddr, u32>,
    stats: SessionStats,
}

/// The stateful NetFlow v5 / v9 / IPFIX decoder (sans-IO: the caller passes datagrams and the
/// time; nothing here reads a clock or a socket).
///
/// ```
/// use flowlens_netflow::{NetflowRecord, Limits, NetflowSession, RecordSink};
/// struct Count(usize);
/// impl RecordSink for Count {
///     fn record(&mut self, _: &NetflowRecord<'_, '_>) { self.0 += 1; }
/// }
/// let mut s = NetflowSession::new(Limits::default()).unwrap();
/// let mut sink = Count(0);
/// // A NetFlow v5 header announcing no records.
/// let mut dgram = [0u8; 24];
/// dgram[1] = 5;
/// let info = s.handle(1_000, "192.0.2.1".parse().unwrap(), &dgram, &mut sink).unwrap();
/// assert_eq!(info.records, 0);
/// ```
pub struct NetflowSession {
    templates: TemplateCache,
    pending: Pending,
    state: State,
}

impl core::fmt::Debug for NetflowSession {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("NetflowSession")
            .field("templates", &self.templates)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// What the session keeps of a datagram header, read from the wire decoders' packet views.
/// Owned: a data set held pending keeps its datagram's header until its template arrives.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Header {
    pub(crate) protocol: Protocol,
    /// v9 source id, IPFIX observation domain, v5 `engine_type << 8 | engine_id`.
    pub(crate) domain: u32,
    /// Export time, seconds since the Unix epoch.
    pub(crate) unix_secs: u32,
    /// v5 only: residual nanoseconds of the export time (0 otherwise).
    pub(crate) unix_nsecs: u32,
    /// v5/v9: exporter uptime at export, ms; `None` for IPFIX.
    pub(crate) sys_uptime_ms: Option<u32>,
    /// v5 flow sequence, v9 packet sequence, IPFIX data record sequence.
    pub(crate) sequence: u32,
}

/// A datagram as the wire decoders see it.
enum Datagram<'a> {
    V5(v5::Packet<'a>),
    V9(v9::Packet<'a>),
    Ipfix(ipfix::Message<'a>),
}

impl<'a> Datagram<'a> {
    /// Picks the decoder by the version field (5, 9, 10) and validates the header with it.
    fn parse(payload: &'a [u8]) -> Result<Self, Error> {
        let version = payload
            .get(..2)
            .and_then(|b| <[u8; 2]>::try_from(b).ok())
            .map_or(0, u16::from_be_bytes);
        Ok(match version {
            5 => Datagram::V5(v5::Packet::parse(payload)?),
            9 => Datagram::V9(v9::Packet::parse(payload)?),
            10 => Datagram::Ipfix(ipfix::Message::parse(payload)?),
            version => return Err(Error::UnknownVersion { version }),
        })
    }

    fn header(&self) -> Header {
        match self {
            Datagram::V5(p) => Header {
                protocol: Protocol::NetflowV5,
                domain: u32::from(p.engine_type()) << 8 | u32::from(p.engine_id()),
                unix_secs: p.unix_secs(),
                unix_nsecs: p.unix_nsecs(),
                sys_uptime_ms: Some(p.sys_uptime_ms()),
                sequence: p.flow_sequence(),
            },
            Datagram::V9(p) => Header {
                protocol: Protocol::NetflowV9,
                domain: p.source_id(),
                unix_secs: p.unix_secs(),
                unix_nsecs: 0,
                sys_uptime_ms: Some(p.sys_uptime_ms()),
                sequence: p.sequence_number(),
            },
            Datagram::Ipfix(m) => Header {
                protocol: Protocol::Ipfix,
                domain: m.observation_domain_id(),
                unix_secs: m.export_time(),
                unix_nsecs: 0,
                sys_uptime_ms: None,
                sequence: m.sequence_number(),
            },
        }
    }
}

struct Ctx {
    exporter: IpAddr,
    header: Header,
}

impl NetflowSession {
    /// A session with an empty template cache.
    pub fn new(limits: Limits) -> Result<Self, Error> {
        Ok(Self::with_templates(TemplateCache::new(limits)?))
    }

    /// A session starting from `templates` (e.g. [`TemplateCache::restore`]d from a
    /// snapshot); its limits apply.
    pub fn with_templates(templates: TemplateCache) -> Self {
        let l = *templates.limits();
        NetflowSession {
            pending: Pending::new(
                l.pending_max_bytes,
                l.pending_max_bytes_per_exporter,
                l.pending_ttl_ms,
            ),
            state: State {
                samplers: SamplerTable::new(l.max_samplers),
                init_times: SamplerTable::new(l.max_samplers),
                overrides: map(),
                stats: SessionStats::default(),
            },
            templates,
        }
    }

    /// Sets (or with `None` clears) a configured sampling rate for an exporter; it wins over
    /// anything the exporter says. A rate of 0 clears.
    pub fn set_sampling_override(&mut self, exporter: IpAddr, rate: Option<u32>) {
        match rate.filter(|&r| r > 0) {
            Some(r) => self.state.overrides.insert(exporter, r),
            None => self.state.overrides.remove(&exporter),
        };
    }

    /// The template cache.
    pub const fn templates(&self) -> &TemplateCache {
        &self.templates
    }

    /// The template cache's snapshot (see [`TemplateCache::snapshot`]).
    pub fn snapshot(&self) -> Vec<u8> {
        self.templates.snapshot()
    }

    /// Streams the template cache's snapshot to `w` (see [`TemplateCache::write_snapshot`]):
    /// saving a large cache needs no buffer of its size.
    ///
    /// # Errors
    /// Those of `w`.
    pub fn write_snapshot<W: std::io::Write>(&self, w: W) -> std::io::Result<()> {
        self.templates.write_snapshot(w)
    }

    /// Counters.
    pub fn stats(&self) -> SessionStats {
        SessionStats {
            cache: self.templates.stats(),
            pending: self.pending.stats,
            samplers: self.state.samplers.len(),
            samplers_evicted: self.state.samplers.evicted,
            ..self.state.stats
        }
    }

    /// Drops pending data sets that have waited longer than the TTL at `now_ms` (also done at
    /// the start of every [`handle`](Self::handle)).
    pub fn expire(&mut self, now_ms: u64) -> Expired {
        let (sets, bytes) = self.pending.expire(now_ms);
        Expired { sets, bytes }
    }

    /// Decodes one datagram received at `now_ms` (caller's clock, ms) from `exporter`.
    ///
    /// Returns `Err` only when the datagram is unusable as a whole (not NetFlow v5/v9/IPFIX,
    /// header truncated); errors inside it go to [`RecordSink::error`] and are counted in the
    /// returned [`DatagramInfo`].
    pub fn handle(
        &mut self,
        now_ms: u64,
        exporter: IpAddr,
        payload: &[u8],
        sink: &mut impl RecordSink,
    ) -> Result<DatagramInfo, Error> {
        self.expire(now_ms);
        self.state.stats.datagrams += 1;
        let datagram = match Datagram::parse(payload) {
            Ok(d) => d,
            Err(e) => {
                self.state.stats.datagrams_rejected += 1;
                return Err(e);
            }
        };
        let header = datagram.header();
        let mut info = DatagramInfo {
            protocol: Some(header.protocol),
            domain: header.domain,
            sequence: header.sequence,
            unix_secs: header.unix_secs,
            ..DatagramInfo::default()
        };
        let ctx = Ctx { exporter, header };
        match datagram {
            Datagram::V5(p) => self.handle_v5(&ctx, &p, sink, &mut info),
            Datagram::V9(p) => self.handle_sets(&ctx, p.sets(), now_ms, sink, &mut info),
            Datagram::Ipfix(m) => self.handle_sets(&ctx, m.sets(), now_ms, sink, &mut info),
        }
        self.state.stats.records += info.records as u64;
        self.state.stats.options_records += info.options_records as u64;
        Ok(info)
    }

    fn report(&mut self, sink: &mut impl RecordSink, info: &mut DatagramInfo, e: Error) {
        info.errors += 1;
        self.state.stats.errors += 1;
        sink.error(&e);
    }

    const fn key(&self, ctx: &Ctx, template_id: u16) -> TemplateKey {
        TemplateKey {
            exporter: ctx.exporter,
            protocol: ctx.header.protocol,
            domain: ctx.header.domain,
            template_id,
        }
    }

    fn handle_sets(
        &mut self,
        ctx: &Ctx,
        sets: Sets<'_>,
        now_ms: u64,
        sink: &mut impl RecordSink,
        info: &mut DatagramInfo,
    ) {
        for set in sets {
            match set {
                Err(e) => self.report(sink, info, Error::Wire(e)),
                Ok(Set::Reserved { .. }) => info.sets_skipped += 1,
                Ok(Set::Templates(ts) | Set::OptionsTemplates(ts)) => {
                    self.template_set(ctx, ts, now_ms, sink, info);
                }
                Ok(Set::Data(d)) => {
                    let key = self.key(ctx, d.template_id());
                    if self.decode_set(ctx, key, d.data(), d.offset(), false, sink, info) {
                        continue;
                    }
                    if self
                        .pending
                        .hold(key, d.data(), d.offset(), ctx.header, now_ms)
                    {
                        info.sets_held += 1;
                    } else {
                        info.sets_refused += 1;
                    }
                }
            }
        }
    }

    fn handle_v5(
        &mut self,
        ctx: &Ctx,
        packet: &v5::Packet<'_>,
        sink: &mut impl RecordSink,
        info: &mut DatagramInfo,
    ) {
        let h = &ctx.header;
        let (rate, source) = match (
            self.state.overrides.get(&ctx.exporter),
            v5_rate(packet.sampling_interval()),
        ) {
            (Some(&r), _) => (r, SamplingSource::Override),
            (None, Some(r)) => (r, SamplingSource::V5Header),
            (None, None) => (1, SamplingSource::Default1),
        };
        for data in crate::v5::records(packet) {
            let r = NetflowRecord {
                protocol: Protocol::NetflowV5,
                exporter: ctx.exporter,
                domain: h.domain,
                template_id: 0,
                options: false,
                was_pending: false,
                sampling_rate: rate,
                sampling_source: source,
                clock: clock(h, None),
                data,
                plan: Some(crate::v5::plan()),
            };
            sink.record(&r);
            info.records += 1;
        }
    }

    fn template_set(
        &mut self,
        ctx: &Ctx,
        set: TemplateSet<'_>,
        now_ms: u64,
        sink: &mut impl RecordSink,
        info: &mut DatagramInfo,
    ) {
        for t in set.templates() {
            let checked = t.and_then(|t| check_template(ctx.header.protocol, &t).map(|()| t));
            match checked {
                Ok(t) => self.apply_template(ctx, &t, now_ms, sink, info),
                Err(e) => self.report(sink, info, Error::Wire(e)),
            }
        }
    }

    fn apply_template(
        &mut self,
        ctx: &Ctx,
        t: &TemplateDef<'_>,
        now_ms: u64,
        sink: &mut impl RecordSink,
        info: &mut DatagramInfo,
    ) {
        info.templates += 1;
        let template_id = t.template_id();
        let key = self.key(ctx, template_id);
        let mut event = TemplateEvent {
            key,
            change: TemplateChange::Withdrawn,
            options: t.is_options(),
            field_count: usize::from(t.field_count()),
            offset: t.offset(),
        };
        if t.is_withdrawal() {
            // RFC 7011 section 8.1: id 2 (templates) / 3 (options) withdraws all of that kind.
            match template_id {
                2 | 3 => {
                    let all_options = template_id == 3;
                    self.templates.withdraw_all(
                        ctx.exporter,
                        ctx.header.protocol,
                        ctx.header.domain,
                        all_options,
                    );
                }
                _ => {
                    self.templates.withdraw(&key);
                }
            }
            sink.template(&event);
            return;
        }
        // Refused before its fields are collected: a flood of huge templates costs no memory.
        let result = if self.templates.refresh_same(
            &key,
            t.fields(),
            t.scope_field_count(),
            t.is_options(),
            now_ms,
        ) {
            Ok(TemplateChange::Refreshed)
        } else if event.field_count > self.templates.limits().max_fields_per_template {
            Err(self
                .templates
                .refuse_too_many_fields(template_id, t.offset()))
        } else {
            self.templates.insert(
                key,
                t.fields().collect(),
                t.scope_field_count(),
                t.is_options(),
                now_ms,
                t.offset(),
            )
        };
        match result {
            Ok(change) => {
                event.change = change;
                sink.template(&event);
                for p in self.pending.take(&key) {
                    info.sets_released += 1;
                    let pctx = Ctx {
                        exporter: ctx.exporter,
                        header: p.header,
                    };
                    self.decode_set(&pctx, key, &p.body, p.offset, true, sink, info);
                }
            }
            Err(e) => {
                event.change = TemplateChange::Rejected;
                sink.template(&event);
                self.report(sink, info, e);
            }
        }
    }

    /// Decodes a data set of template `key` (marking the template used); false when the
    /// template is not held.
    #[allow(clippy::too_many_arguments)]
    fn decode_set(
        &mut self,
        ctx: &Ctx,
        key: TemplateKey,
        body: &[u8],
        offset: usize,
        was_pending: bool,
        sink: &mut impl RecordSink,
        info: &mut DatagramInfo,
    ) -> bool {
        let Some((t, plan)) = self.templates.touch_get(&key) else {
            return false;
        };
        let st = &mut self.state;
        let h = &ctx.header;
        let sampling_fields = plan.sampling_fields;
        let init = st.init_times.get(ctx.exporter, h.domain, None);
        let clk = clock(h, init);
        let over = st.overrides.get(&ctx.exporter).copied();
        // Without per-record sampling fields every record of the set gets the same rate:
        // look it up once, not once per record.
        let set_rate = (!sampling_fields && !t.options).then(|| {
            if let Some(o) = over {
                (o, SamplingSource::Override)
            } else if let Some(rate) = st
                .samplers
                .get(ctx.exporter, h.domain, None)
                .and_then(|r| u32::try_from(r).ok())
            {
                (rate, SamplingSource::OptionsData)
            } else {
                (1, SamplingSource::Default1)
            }
        });
        let mut errors = Vec::new();
        for rec in data_records(&t.fields, body, offset) {
            let data = match rec {
                Ok(d) => d,
                Err(e) => {
                    errors.push(Error::Wire(e));
                    break;
                }
            };
            let mut sf = SamplingFields::default();
            let mut init_time = None;
            if sampling_fields || t.options {
                for (f, b) in data.fields() {
                    if f.scope && h.protocol == Protocol::NetflowV9 {
                        continue;
                    }
                    if let Some(v) = uint(b) {
                        sf.take(f.enterprise, f.id, v);
                        if f.enterprise == 0 && f.id == 160 {
                            init_time = Some(v);
                        }
                    }
                }
            }
            let mut r = NetflowRecord {
                protocol: h.protocol,
                exporter: ctx.exporter,
                domain: h.domain,
                template_id: key.template_id,
                options: t.options,
                was_pending,
                sampling_rate: 1,
                sampling_source: SamplingSource::Default1,
                clock: clk,
                data,
                plan: Some(plan),
            };
            if t.options {
                if let Some(rate) = sf.rate() {
                    st.samplers.set(
                        (ctx.exporter, h.domain, sf.sampler_id.unwrap_or(0)),
                        u64::from(rate),
                    );
                }
                if let Some(i) = init_time {
                    st.init_times.set((ctx.exporter, h.domain, 0), i);
                }
                if let Some(rate) = sf.rate() {
                    r.sampling_rate = rate;
                    r.sampling_source = SamplingSource::Record;
                }
                sink.options(&r);
                info.options_records += 1;
                continue;
            }
            let (rate, source) = if let Some(fixed) = set_rate {
                fixed
            } else if let Some(o) = over {
                (o, SamplingSource::Override)
            } else if let Some(rate) = sf.rate() {
                (rate, SamplingSource::Record)
            } else if let Some(rate) = st
                .samplers
                .get(ctx.exporter, h.domain, sf.sampler_id)
                .and_then(|r| u32::try_from(r).ok())
            {
                (rate, SamplingSource::OptionsData)
            } else {
                (1, SamplingSource::Default1)
            };
            r.sampling_rate = rate;
            r.sampling_source = source;
            sink.record(&r);
            info.records += 1;
        }
        for e in errors {
            self.report(sink, info, e);
        }
        true
    }
}

/// What the wire framing leaves to the session: which template records make sense to cache.
///
/// - IPFIX withdraw-all (RFC 7011 section 8.1) is template id 2 in a template set and 3 in an
///   options template set; the other pairing is an invalid template id.
/// - NetFlow v9 has no withdrawals (RFC 3954): a field count of 0 is invalid.
/// - NetFlow v9 (RFC 3954) has no variable-length fields, but some exporters (H3C NetStream)
///   use IPFIX's marker, length 65535 (RFC 7011 section 7), in v9 too; such a field is decoded
///   as IPFIX's (a 1-byte length, or 255 and a 2-byte length, then the value), as tshark does.
fn check_template(protocol: Protocol, t: &TemplateDef<'_>) -> Result<(), flowlens_wire::Error> {
    let invalid = |offset, field, value| flowlens_wire::Error::Invalid {
        layer: Layer::Template,
        offset,
        field,
        value,
    };
    let id = t.template_id();
    if t.is_withdrawal() {
        let all = if t.is_options() { 3 } else { 2 };
        if id < 256 && id != all {
            return Err(invalid(t.offset(), "template id", u64::from(id)));
        }
    } else if protocol == Protocol::NetflowV9 && t.field_count() == 0 {
        return Err(invalid(t.offset() + 2, "field count", 0));
    }
    Ok(())
}

fn clock(h: &Header, system_init_ms: Option<u64>) -> ExportClock {
    ExportClock {
        unix_secs: h.unix_secs,
        unix_nsecs: h.unix_nsecs,
        sys_uptime_ms: h.sys_uptime_ms,
        system_init_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Sink(Vec<TemplateEvent>, Vec<Error>);
    impl RecordSink for Sink {
        fn record(&mut self, _: &NetflowRecord<'_, '_>) {}
        fn template(&mut self, e: &TemplateEvent) {
            self.0.push(*e);
        }
        fn error(&mut self, e: &Error) {
            self.1.push(e.clone());
        }
    }

    fn invalid_field(e: &Error) -> Option<&'static str> {
        match e {
            Error::Wire(flowlens_wire::Error::Invalid { field, .. }) => Some(field),
            _ => None,
        }
    }

    /// The session's own template checks report an error and skip only the record at fault.
    #[test]
    fn session_template_checks() {
        let ip = IpAddr::from([192, 0, 2, 1]);
        let mut s = NetflowSession::new(Limits::default()).unwrap();
        // NetFlow v9 template set: 256 with no fields (invalid), 257 with a variable-length
        // field (accepted, as IPFIX's), 258 valid.
        let mut v9 = vec![0, 9, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        v9.extend_from_slice(&[0, 0, 0, 28, 1, 0, 0, 0, 1, 1, 0, 1, 0, 82, 0xff, 0xff]);
        v9.extend_from_slice(&[1, 2, 0, 2, 0, 8, 0, 4, 0, 12, 0, 4]);
        let mut sink = Sink::default();
        s.handle(0, ip, &v9, &mut sink).unwrap();
        let fields: Vec<_> = sink.1.iter().map(invalid_field).collect();
        assert_eq!(fields, [Some("field count")]);
        let ids: Vec<u16> = sink.0.iter().map(|e| e.key.template_id).collect();
        assert_eq!(ids, [257, 258]);
        // IPFIX options template set: withdraw-all must be id 3 there, not 2.
        let ipfix = [
            0, 10, 0, 28, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 3, 0, 12, 0, 2, 0, 0, 0, 3, 0, 0,
        ];
        let mut sink = Sink::default();
        s.handle(0, ip, &ipfix, &mut sink).unwrap();
        assert_eq!(
            sink.1.iter().map(invalid_field).collect::<Vec<_>>(),
            [Some("template id")]
        );
        assert_eq!(sink.0.len(), 1);
        assert_eq!(sink.0[0].key.template_id, 3);
    }
}
