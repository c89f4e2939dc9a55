//! NetFlow v5, NetFlow v9 and IPFIX datagrams in the `flowlens decode` document.
//!
//! Template state lives in one `flowlens_netflow::NetflowSession` for the whole run, so
//! templates learned from one packet (or one payload file) decode data in later ones, in the
//! order the input gives them; data that arrives first is held and printed, marked
//! `was_pending`, with the datagram whose template released it.

use std::net::{IpAddr, Ipv4Addr};

use flowlens_engine::{Collector, DatagramHook};
use flowlens_netflow::{DatagramInfo, NetflowRecord, TemplateChange, TemplateEvent};
use flowlens_wire::netflow::{ipfix, sniff, v5, v9, visit_data_record, Protocol};
use serde_json::{Map, Value as Json};

use super::json::{fields_of, KeyMap, Origin};
use super::stats::Stats;

/// Exporter address used for bare payload files, which carry none: every payload file of a
/// run shares it, so templates in one file decode data in the next.
pub(crate) const PAYLOAD_EXPORTER: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);

/// Splits a payload that holds several datagrams back to back (some fixtures were recorded
/// with `nc -k`) by the v5 record count or the IPFIX length field. v9 has no length field: a
/// v9 datagram takes the rest.
pub(crate) fn split_datagrams(mut buf: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    loop {
        let len = match sniff(buf) {
            Some(Protocol::NetflowV5) => v5::Packet::parse(buf).map_or(buf.len(), |p| p.len()),
            Some(Protocol::Ipfix) => ipfix::Message::parse(buf).map_or(buf.len(), |m| m.len()),
            _ => buf.len(),
        };
        let (first, rest) = buf.split_at(len.clamp(1, buf.len().max(1)).min(buf.len()));
        // Bytes after the last datagram that are not another datagram stay with it, so the
        // decoder sees (and reports) them.
        if rest.is_empty() || sniff(rest).is_none() {
            out.push(buf);
            return out;
        }
        out.push(first);
        buf = rest;
    }
}

/// Hands one datagram to `collector` (its session decodes it, as in `flowlens run`) and
/// documents what the session reports into `doc` (header, templates, records, errors).
pub(crate) fn datagram_document(
    origin: Origin<'_>,
    now_ms: u64,
    exporter: IpAddr,
    payload: &[u8],
    collector: &mut Collector,
    stats: &mut Stats,
    doc: &mut Map<String, Json>,
) {
    let protocol = sniff(payload);
    doc.insert(
        "type".into(),
        protocol.map_or("netflow", Protocol::name).into(),
    );
    doc.insert("length".into(), payload.len().into());
    let header = match protocol {
        Some(Protocol::NetflowV5) => v5::Packet::parse(payload)
            .ok()
            .map(|p| fields_of(|v| p.visit_fields(v))),
        Some(Protocol::NetflowV9) => v9::Packet::parse(payload)
            .ok()
            .map(|p| fields_of(|v| p.visit_fields(v))),
        Some(Protocol::Ipfix) => ipfix::Message::parse(payload)
            .ok()
            .map(|m| fields_of(|v| m.visit_fields(v))),
        None => None,
    };
    if let Some(h) = header {
        doc.insert("header".into(), Json::Object(h));
    }
    let mut sink = DocSink::default();
    collector.handle_datagram_with(now_ms, exporter, payload, &mut sink);
    stats.flow_export_datagrams += 1;
    // `netflow_done` always runs: the caller only hands over payloads `sniff` takes as
    // NetFlow/IPFIX, as the collector does.
    let Some(result) = sink.result.take() else {
        return;
    };
    if let Ok(info) = &result {
        stats.flow_export_records += info.records as u64;
        stats.flow_export_templates += info.templates as u64;
        doc.insert(
            "sets".into(),
            serde_json::json!({
                "held": info.sets_held,
                "released": info.sets_released,
                "refused": info.sets_refused,
                "skipped": info.sets_skipped,
            }),
        );
    }
    if let Err(e) = &result {
        sink.errors.push(e.to_string());
    }
    // RFC 3954 section 5.1: `count` is every template, options and data record of the
    // datagram. Many exporters count otherwise (softflowd, FortiOS and others count flowsets
    // or data records only), so a mismatch is noted, not an error.
    if let (Ok(info), Some(Protocol::NetflowV9)) = (&result, protocol) {
        let declared = v9::Packet::parse(payload).map_or(0, |p| usize::from(p.count()));
        let found = info.templates + info.records + info.options_records;
        if info.sets_held == 0 && info.sets_refused == 0 && declared != found {
            doc.insert(
                "note".into(),
                format!(
                    "header count {declared} but the datagram holds {found} records \
                     (RFC 3954 section 5.1; a common exporter quirk, records decoded anyway)"
                )
                .into(),
            );
        }
    }
    doc.insert("templates".into(), Json::Array(sink.templates));
    doc.insert("records".into(), Json::Array(sink.records));
    if !sink.errors.is_empty() {
        for e in &sink.errors {
            stats.report_error(origin, e);
        }
        let errors = sink
            .errors
            .into_iter()
            .map(|m| serde_json::json!({ "message": m }))
            .collect();
        doc.insert("errors".into(), Json::Array(errors));
    }
}

/// Collects what the session reports about one datagram.
#[derive(Default)]
struct DocSink {
    templates: Vec<Json>,
    records: Vec<Json>,
    errors: Vec<String>,
    result: Option<Result<DatagramInfo, flowlens_netflow::Error>>,
}

impl DocSink {
    fn push_record(&mut self, r: &NetflowRecord<'_, '_>, options: bool) {
        let mut d = Map::new();
        d.insert("template_id".into(), r.template_id.into());
        d.insert("offset".into(), r.data.offset().into());
        if options {
            d.insert("options".into(), true.into());
        }
        if r.was_pending {
            d.insert("was_pending".into(), true.into());
        }
        d.insert("sampling_rate".into(), r.sampling_rate.into());
        d.insert(
            "sampling_source".into(),
            format!("{:?}", r.sampling_source).to_lowercase().into(),
        );
        d.insert(
            "fields".into(),
            Json::Object(fields_of(|v| visit_data_record(&r.data, v))),
        );
        if !options {
            let mut keys = KeyMap::default();
            r.visit_keys(&mut keys);
            d.insert("keys".into(), Json::Object(keys.0));
        }
        self.records.push(Json::Object(d));
    }
}

impl DatagramHook for DocSink {
    fn netflow_record(&mut self, record: &NetflowRecord<'_, '_>) {
        self.push_record(record, false);
    }

    fn netflow_options(&mut self, record: &NetflowRecord<'_, '_>) {
        self.push_record(record, true);
    }

    fn netflow_template(&mut self, event: &TemplateEvent) {
        let change = match event.change {
            TemplateChange::Learned => "learned",
            TemplateChange::Refreshed => "refreshed",
            TemplateChange::Replaced => "replaced",
            TemplateChange::Withdrawn => "withdrawn",
            TemplateChange::Rejected => "rejected",
            _ => "changed",
        };
        self.templates.push(serde_json::json!({
            "template_id": event.key.template_id,
            "change": change,
            "options": event.options,
            "fields": event.field_count,
            "offset": event.offset,
        }));
    }

    fn netflow_error(&mut self, error: &flowlens_netflow::Error) {
        self.errors.push(error.to_string());
    }

    fn netflow_done(&mut self, result: &Result<DatagramInfo, flowlens_netflow::Error>) {
        self.result = Some(result.clone());
    }
}
