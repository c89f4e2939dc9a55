//! Turns one input frame into the `flowlens decode` document (a JSON object).
//!
//! Both output formats render this one document, so text and JSON always carry the same
//! information. The schema is documented in `docs/decode-json.md`; field names inside
//! `fields` objects are the specification's own (sFlow structure members, RFC header fields),
//! and `keys` use sFlow-RT flow-key names.

use std::net::{IpAddr, SocketAddr};
use std::time::SystemTime;

use flowlens_engine::{Collector, DatagramHook};
use flowlens_wire::packet::{self, LinkType, Walk, WalkConfig};
use flowlens_wire::sflow::{CounterData, Datagram, FlowData, FlowRecord, Sample};
use flowlens_wire::sniff::{rejection, sniff, Export};
use flowlens_wire::Error;
use serde_json::{json, Map, Value as Json};

use super::json::{fields_of, FieldMap, KeyMap, Origin};
use super::netflow;
use super::stats::Stats;
use crate::capture::Frame;

/// What decoding a run needs besides the frame: walker configuration, counters, and the
/// collector whose NetFlow/IPFIX template state every frame of the run shares.
pub(crate) struct Ctx {
    /// Sampled-header walker configuration.
    pub(crate) cfg: WalkConfig,
    /// Counters and the error sink.
    pub(crate) stats: Stats,
    /// Takes every datagram, as in `flowlens run`; its session holds the template cache and
    /// sampling state for NetFlow v9 / IPFIX. No definitions: its engine only counts.
    pub(crate) collector: Collector,
}

/// Builds the documents for one frame (one, or one per datagram of a payload file that holds
/// several) and updates the counters.
pub(crate) fn frame_documents(
    origin: Origin<'_>,
    frame: &Frame<'_>,
    ctx: &mut Ctx,
) -> Vec<Map<String, Json>> {
    let mut base = Map::new();
    base.insert("file".into(), origin.file.into());
    base.insert("packet".into(), origin.packet.into());
    match *frame {
        Frame::Captured {
            linktype,
            time,
            data,
            original_len,
        } => {
            base.insert(
                "time".into(),
                time.map_or(Json::Null, |t| rfc3339(t).into()),
            );
            let now_ms = time.map_or(0, unix_ms);
            let Some(link) = LinkType::from_pcap(linktype) else {
                let mut doc = base;
                doc.insert("type".into(), "packet".into());
                doc.insert("length".into(), data.len().into());
                let msg = format!("capture: unsupported link type {linktype}");
                ctx.stats.report_error(origin, &msg);
                doc.insert("errors".into(), json!([{ "message": msg }]));
                return vec![doc];
            };
            let walk = packet::walk(link, data, &ctx.cfg);
            if let Some(udp) = walk.outer_udp() {
                let addrs = (
                    SocketAddr::new(udp.src_addr, udp.src_port),
                    SocketAddr::new(udp.dst_addr, udp.dst_port),
                );
                if let Some(docs) =
                    datagram_documents(origin, &base, now_ms, Some(addrs), udp.payload, ctx)
                {
                    return docs;
                }
            }
            let mut doc = base;
            doc.insert("type".into(), "packet".into());
            doc.insert("length".into(), data.len().into());
            doc.insert("original_length".into(), original_len.into());
            ctx.stats.packets += 1;
            walk_document(&walk, &mut doc);
            vec![doc]
        }
        Frame::Received {
            time,
            source,
            destination,
            data,
        } => {
            base.insert("time".into(), rfc3339(time).into());
            let addrs = Some((source, destination));
            datagram_documents(origin, &base, unix_ms(time), addrs, data, ctx).unwrap_or_else(
                || {
                    let msg = "datagram: not sFlow v5, NetFlow or IPFIX";
                    vec![unknown_document(
                        origin,
                        base,
                        data.len(),
                        msg,
                        &mut ctx.stats,
                    )]
                },
            )
        }
        Frame::Payload { data } => {
            base.insert("time".into(), Json::Null);
            if let Some(docs) = datagram_documents(origin, &base, 0, None, data, ctx) {
                return docs;
            }
            // Some fixtures hold a whole Ethernet frame carrying the datagram.
            let walk = packet::walk(LinkType::Ethernet, data, &ctx.cfg);
            if let Some(udp) = walk.outer_udp() {
                let addrs = (
                    SocketAddr::new(udp.src_addr, udp.src_port),
                    SocketAddr::new(udp.dst_addr, udp.dst_port),
                );
                if let Some(docs) =
                    datagram_documents(origin, &base, 0, Some(addrs), udp.payload, ctx)
                {
                    return docs;
                }
            }
            if let Some(why) = rejection(data) {
                let msg = format!("payload: not a valid datagram: {why}");
                return vec![unknown_document(
                    origin,
                    base,
                    data.len(),
                    &msg,
                    &mut ctx.stats,
                )];
            }
            let head: String = data.iter().take(8).map(|b| format!("{b:02x}")).collect();
            let msg = format!(
                "payload: not an sFlow v5, NetFlow or IPFIX datagram, nor an Ethernet frame \
                 carrying one (first bytes {head})"
            );
            vec![unknown_document(
                origin,
                base,
                data.len(),
                &msg,
                &mut ctx.stats,
            )]
        }
    }
}

/// The documents of a UDP payload that is sFlow, NetFlow or IPFIX; `None` for anything else.
fn datagram_documents(
    origin: Origin<'_>,
    base: &Map<String, Json>,
    now_ms: u64,
    addrs: Option<(SocketAddr, SocketAddr)>,
    payload: &[u8],
    ctx: &mut Ctx,
) -> Option<Vec<Map<String, Json>>> {
    let with_addrs = |mut doc: Map<String, Json>| {
        if let Some((src, dst)) = addrs {
            doc.insert("source".into(), src.to_string().into());
            doc.insert("destination".into(), dst.to_string().into());
        }
        doc
    };
    let exporter = addrs.map_or(netflow::PAYLOAD_EXPORTER, |(src, _)| src.ip());
    match sniff(payload)? {
        Export::Sflow => {
            let mut doc = with_addrs(base.clone());
            doc.insert("type".into(), "sflow".into());
            sflow_document(origin, now_ms, exporter, payload, ctx, &mut doc);
            return Some(vec![doc]);
        }
        Export::Netflow(_) => {}
    }
    let parts = netflow::split_datagrams(payload);
    let several = parts.len() > 1;
    let docs = parts
        .into_iter()
        .enumerate()
        .map(|(i, part)| {
            let mut doc = base.clone();
            if several {
                doc.insert("part".into(), (i + 1).into());
            }
            let mut doc = with_addrs(doc);
            netflow::datagram_document(
                origin,
                now_ms,
                exporter,
                part,
                &mut ctx.collector,
                &mut ctx.stats,
                &mut doc,
            );
            doc
        })
        .collect();
    Some(docs)
}

fn unknown_document(
    origin: Origin<'_>,
    mut doc: Map<String, Json>,
    len: usize,
    msg: &str,
    stats: &mut Stats,
) -> Map<String, Json> {
    doc.insert("type".into(), "unknown".into());
    doc.insert("length".into(), len.into());
    stats.report_error(origin, msg);
    doc.insert("errors".into(), json!([{ "message": msg }]));
    doc
}

/// Milliseconds since the Unix epoch (0 before it).
fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Hands an sFlow datagram to the collector from `exporter`, documenting what it parses.
fn sflow_document(
    origin: Origin<'_>,
    now_ms: u64,
    exporter: IpAddr,
    payload: &[u8],
    ctx: &mut Ctx,
    doc: &mut Map<String, Json>,
) {
    ctx.stats.datagrams += 1;
    doc.insert("length".into(), payload.len().into());
    let mut hook = SflowDoc {
        cfg: &ctx.cfg,
        stats: &mut ctx.stats,
        doc,
        errors: Vec::new(),
    };
    ctx.collector
        .handle_datagram_with(now_ms, exporter, payload, &mut hook);
    let SflowDoc {
        errors, stats, doc, ..
    } = hook;
    if !errors.is_empty() {
        for e in &errors {
            stats.report_error(origin, &e.to_string());
        }
        doc.insert(
            "errors".into(),
            Json::Array(errors.iter().map(error_json).collect()),
        );
    }
}

/// Documents the datagram the collector parsed (or the error it was rejected with).
struct SflowDoc<'a> {
    cfg: &'a WalkConfig,
    stats: &'a mut Stats,
    doc: &'a mut Map<String, Json>,
    errors: Vec<Error>,
}

impl DatagramHook for SflowDoc<'_> {
    fn sflow(&mut self, dgram: &Datagram<'_>) {
        self.doc.insert(
            "datagram".into(),
            Json::Object(fields_of(|v| dgram.visit_fields(v))),
        );
        let mut samples = Vec::new();
        for sample in dgram.samples() {
            match sample {
                Ok(s) => samples.push(sample_document(&s, self.cfg, self.stats, &mut self.errors)),
                Err(e) => self.errors.push(e),
            }
        }
        self.doc.insert("samples".into(), Json::Array(samples));
    }

    fn sflow_rejected(&mut self, error: &Error) {
        self.errors.push(*error);
    }
}

fn sample_document(
    sample: &Sample<'_>,
    cfg: &WalkConfig,
    stats: &mut Stats,
    errors: &mut Vec<Error>,
) -> Json {
    stats.count_sample(sample.name());
    let mut doc = Map::new();
    doc.insert("sample".into(), sample.name().into());
    doc.insert(
        "tag".into(),
        format!("{}:{}", sample.enterprise(), sample.format()).into(),
    );
    doc.insert("offset".into(), sample.offset().into());
    doc.insert(
        "fields".into(),
        Json::Object(fields_of(|v| sample.visit_fields(v))),
    );
    let mut records = Vec::new();
    match sample {
        Sample::Flow(s) => flow_records(s.records(), cfg, stats, errors, &mut records),
        Sample::Discard(s) => flow_records(s.records(), cfg, stats, errors, &mut records),
        Sample::Counter(s) => {
            for rec in s.records() {
                match rec {
                    Ok(r) => {
                        let unknown = matches!(r.data, CounterData::Unknown(_));
                        let d = record_document(
                            (r.name(), r.enterprise, r.format, r.offset),
                            unknown,
                            |v| r.visit_fields(v),
                            stats,
                        );
                        records.push(Json::Object(d));
                    }
                    Err(e) => errors.push(e),
                }
            }
        }
        Sample::Unknown(_) => stats.unknown_samples += 1,
    }
    if !matches!(sample, Sample::Unknown(_)) {
        doc.insert("records".into(), Json::Array(records));
    }
    Json::Object(doc)
}

fn flow_records<'a>(
    records: impl Iterator<Item = flowlens_wire::Result<FlowRecord<'a>>>,
    cfg: &WalkConfig,
    stats: &mut Stats,
    errors: &mut Vec<Error>,
    out: &mut Vec<Json>,
) {
    for rec in records {
        match rec {
            Ok(r) => {
                let unknown = matches!(r.data, FlowData::Unknown(_));
                let mut d = record_document(
                    (r.name(), r.enterprise, r.format, r.offset),
                    unknown,
                    |v| r.visit_fields(v),
                    stats,
                );
                if let FlowData::SampledHeader(h) = &r.data {
                    stats.headers += 1;
                    let mut p = Map::new();
                    match LinkType::from_sflow_header_protocol(h.header_protocol()) {
                        Some(link) => walk_document(&packet::walk(link, h.header(), cfg), &mut p),
                        None => {
                            p.insert(
                                "stopped".into(),
                                format!("header_protocol {} is not decoded", h.header_protocol())
                                    .into(),
                            );
                        }
                    }
                    d.insert("packet".into(), Json::Object(p));
                }
                out.push(Json::Object(d));
            }
            Err(e) => errors.push(e),
        }
    }
}

/// `record`, `tag`, `offset` and `fields` of one flow or counter record; counts it.
fn record_document(
    (name, enterprise, format, offset): (&str, u32, u32, usize),
    unknown: bool,
    visit: impl FnOnce(&mut FieldMap),
    stats: &mut Stats,
) -> Map<String, Json> {
    stats.records += 1;
    if unknown {
        stats.unknown_records += 1;
    }
    let mut d = Map::new();
    d.insert("record".into(), name.into());
    d.insert("tag".into(), format!("{enterprise}:{format}").into());
    d.insert("offset".into(), offset.into());
    d.insert("fields".into(), Json::Object(fields_of(visit)));
    d
}

/// Adds `stack`, `layers`, `keys` and (when the walk stopped early) `stopped` to `doc`.
/// Offsets in `layers` and `stopped` count from the first byte of the walked buffer.
fn walk_document(walk: &Walk<'_>, doc: &mut Map<String, Json>) {
    doc.insert("stack".into(), walk.stack().to_string().into());
    let layers: Vec<Json> = walk
        .layers()
        .iter()
        .map(|l| {
            let mut m = Map::new();
            m.insert("layer".into(), l.layer.name().into());
            m.insert("offset".into(), l.offset.into());
            m.insert("depth".into(), l.depth.into());
            if l.quoted {
                m.insert("quoted".into(), true.into());
            }
            m.insert(
                "fields".into(),
                Json::Object(fields_of(|v| l.visit_fields(v))),
            );
            Json::Object(m)
        })
        .collect();
    doc.insert("layers".into(), Json::Array(layers));
    let mut keys = KeyMap::default();
    walk.visit_keys(&mut keys);
    doc.insert("keys".into(), Json::Object(keys.0));
    if let Some(stop) = walk.stop() {
        doc.insert("stopped".into(), error_json(&stop));
    }
}

fn error_json(e: &Error) -> Json {
    json!({
        "layer": e.layer().name(),
        "offset": e.offset(),
        "kind": e.kind(),
        "message": e.to_string(),
    })
}

/// RFC 3339 UTC timestamp with nanoseconds, e.g. `2026-11-21T13:24:37.123456000Z`.
fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_nanos(t).to_string()
}
