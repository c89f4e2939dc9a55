//! The human-readable form of a `flowlens decode` document.
//!
//! One header line per datagram or packet, then indented `name value` lines in the spirit of
//! sflowtool: datagram fields, each sample with its fields, each record with its fields and,
//! for sampled headers, the protocol stack and flow keys.

use std::io::{self, Write};

use serde_json::{Map, Value as Json};

/// Writes `doc` as text.
///
/// # Errors
/// Write errors from `out`.
pub(crate) fn write_document(out: &mut impl Write, doc: &Map<String, Json>) -> io::Result<()> {
    let kind = str_of(doc, "type");
    write!(
        out,
        "{kind} {}#{}",
        str_of(doc, "file"),
        scalar(doc.get("packet"))
    )?;
    if let Some(Json::String(t)) = doc.get("time") {
        write!(out, " {t}")?;
    }
    if let (Some(Json::String(s)), Some(Json::String(d))) =
        (doc.get("source"), doc.get("destination"))
    {
        write!(out, " {s} > {d}")?;
    }
    if let Some(len) = doc.get("length") {
        write!(out, " {} bytes", scalar(Some(len)))?;
    }
    if let Some(part) = doc.get("part") {
        write!(out, " part {}", scalar(Some(part)))?;
    }
    if let Some(orig) = doc.get("original_length") {
        if doc.get("length") != Some(orig) {
            write!(out, " (on the wire {})", scalar(Some(orig)))?;
        }
    }
    writeln!(out)?;
    if let Some(Json::String(note)) = doc.get("note") {
        writeln!(out, "  note {note}")?;
    }
    if let Some(Json::Object(d)) = doc.get("datagram") {
        write_fields(out, 2, d)?;
    }
    if let Some(Json::Array(samples)) = doc.get("samples") {
        for (i, s) in samples.iter().enumerate() {
            let Json::Object(s) = s else { continue };
            writeln!(
                out,
                "  sample {} {} {} @{}",
                i + 1,
                str_of(s, "sample"),
                str_of(s, "tag"),
                scalar(s.get("offset"))
            )?;
            if let Some(Json::Object(f)) = s.get("fields") {
                write_fields(out, 4, f)?;
            }
            if let Some(Json::Array(records)) = s.get("records") {
                for (j, r) in records.iter().enumerate() {
                    let Json::Object(r) = r else { continue };
                    writeln!(
                        out,
                        "    record {} {} {} @{}",
                        j + 1,
                        str_of(r, "record"),
                        str_of(r, "tag"),
                        scalar(r.get("offset"))
                    )?;
                    if let Some(Json::Object(f)) = r.get("fields") {
                        write_fields(out, 6, f)?;
                    }
                    if let Some(Json::Object(p)) = r.get("packet") {
                        write_packet(out, 6, p, false)?;
                    }
                }
            }
        }
    }
    if kind == "packet" {
        write_packet(out, 2, doc, true)?;
    }
    write_flow_export(out, doc)?;
    if let Some(Json::Array(errors)) = doc.get("errors") {
        for e in errors {
            if let Json::Object(e) = e {
                writeln!(out, "  error {}", str_of(e, "message"))?;
            }
        }
    }
    Ok(())
}

/// NetFlow/IPFIX: header fields, template events, then each record's fields and flow keys.
fn write_flow_export(out: &mut impl Write, doc: &Map<String, Json>) -> io::Result<()> {
    if let Some(Json::Object(h)) = doc.get("header") {
        write_fields(out, 2, h)?;
    }
    for t in doc
        .get("templates")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
    {
        let Json::Object(t) = t else { continue };
        let kind = if t.get("options") == Some(&Json::Bool(true)) {
            "options template"
        } else {
            "template"
        };
        writeln!(
            out,
            "  {kind} {} {} ({} fields) @{}",
            scalar(t.get("template_id")),
            str_of(t, "change"),
            scalar(t.get("fields")),
            scalar(t.get("offset"))
        )?;
    }
    let records = doc.get("records").and_then(Json::as_array);
    for (i, r) in records.into_iter().flatten().enumerate() {
        let Json::Object(r) = r else { continue };
        let kind = if r.get("options") == Some(&Json::Bool(true)) {
            "options record"
        } else {
            "record"
        };
        let pending = if r.get("was_pending") == Some(&Json::Bool(true)) {
            " (held until its template arrived)"
        } else {
            ""
        };
        writeln!(
            out,
            "  {kind} {} template {} @{} sampling_rate {} ({}){pending}",
            i + 1,
            scalar(r.get("template_id")),
            scalar(r.get("offset")),
            scalar(r.get("sampling_rate")),
            str_of(r, "sampling_source"),
        )?;
        if let Some(Json::Object(f)) = r.get("fields") {
            write_fields(out, 4, f)?;
        }
        if let Some(Json::Object(k)) = r.get("keys") {
            writeln!(out, "    keys")?;
            write_fields(out, 6, k)?;
        }
    }
    Ok(())
}

/// Stack, optionally every layer's fields, then the flow keys and why the walk stopped.
fn write_packet(
    out: &mut impl Write,
    indent: usize,
    p: &Map<String, Json>,
    with_layers: bool,
) -> io::Result<()> {
    let pad = " ".repeat(indent);
    if let Some(Json::String(stack)) = p.get("stack") {
        writeln!(out, "{pad}stack {stack}")?;
    }
    if with_layers {
        if let Some(Json::Array(layers)) = p.get("layers") {
            for l in layers {
                let Json::Object(l) = l else { continue };
                writeln!(
                    out,
                    "{pad}layer {} @{} depth {}",
                    str_of(l, "layer"),
                    scalar(l.get("offset")),
                    scalar(l.get("depth"))
                )?;
                if let Some(Json::Object(f)) = l.get("fields") {
                    write_fields(out, indent + 2, f)?;
                }
            }
        }
        writeln!(out, "{pad}keys")?;
    }
    if let Some(Json::Object(keys)) = p.get("keys") {
        // `stack` is a key too; it was printed first.
        let mut keys = keys.clone();
        keys.shift_remove("stack");
        write_fields(out, if with_layers { indent + 2 } else { indent }, &keys)?;
    }
    match p.get("stopped") {
        Some(Json::Object(e)) => writeln!(out, "{pad}stopped {}", str_of(e, "message"))?,
        Some(Json::String(s)) => writeln!(out, "{pad}stopped {s}")?,
        _ => {}
    }
    Ok(())
}

fn write_fields(out: &mut impl Write, indent: usize, fields: &Map<String, Json>) -> io::Result<()> {
    for (name, value) in fields {
        writeln!(out, "{:indent$}{name} {}", "", scalar(Some(value)))?;
    }
    Ok(())
}

fn str_of<'a>(m: &'a Map<String, Json>, key: &str) -> &'a str {
    match m.get(key) {
        Some(Json::String(s)) => s,
        _ => "-",
    }
}

/// A JSON value as one token: strings bare, arrays space-separated (nested arrays bracketed).
fn scalar(v: Option<&Json>) -> String {
    match v {
        None | Some(Json::Null) => "-".to_string(),
        Some(Json::String(s)) => s.clone(),
        Some(Json::Array(items)) => items
            .iter()
            .map(|i| match i {
                Json::Array(_) => format!("[{}]", scalar(Some(i))),
                _ => scalar(Some(i)),
            })
            .collect::<Vec<_>>()
            .join(" "),
        Some(other) => other.to_string(),
    }
}
