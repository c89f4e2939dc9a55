//! Compiles arbitrary text as a filter, a key expression, a flow value and (as JSON) a flow
//! definition and a threshold, then evaluates what compiled against an empty and a filled
//! key buffer. Expressions come from REST bodies and scripts: must never panic, and errors
//! must carry offsets inside the input.
#![no_main]

use flowlens_engine::definition::{FlowDef, ValueSpec};
use flowlens_engine::{Env, Error, Filter, KeyBuf, KeyExpr, Schema, Threshold};
use flowlens_wire::{KeyVisitor, Value};
use libfuzzer_sys::fuzz_target;

fn check(e: &Error, input: &str) {
    if let Error::Syntax { offset, .. } = e {
        assert!(
            *offset <= input.len(),
            "offset {offset} beyond {} bytes",
            input.len()
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut schema = Schema::default();
    let mut env = Env::default();
    let _ = env.groups.set(
        flowlens_engine::groups::LEGACY_SET,
        flowlens_engine::groups::GroupSet::from_pairs([
            ("external", vec!["0.0.0.0/0"]),
            ("internal", vec!["10.0.0.0/8"]),
        ])
        .unwrap_or_default(),
    );
    let filter = Filter::parse(&text, &mut schema)
        .map_err(|e| check(&e, &text))
        .ok();
    let key = KeyExpr::parse(&text, &mut schema)
        .map_err(|e| check(&e, &text))
        .ok();
    let _ = ValueSpec::parse(&text, &mut schema).map_err(|e| check(&e, &text));
    if let Ok(json) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = FlowDef::parse("f", &json, &mut schema);
        let _ = Threshold::parse("t", &json);
    }
    let mut buf = KeyBuf::default();
    buf.reset(&schema);
    let mut out = String::new();
    if let Some(f) = &filter {
        let _ = f.matches(&buf, &env);
    }
    if let Some(k) = &key {
        let _ = k.eval(&buf, &env, &mut out);
    }
    // Fill every interned key with a value derived from the input and evaluate again.
    buf.reset(&schema);
    {
        let mut c = buf.collector(&schema);
        for name in [
            "ipsource",
            "ipdestination",
            "tcpflags",
            "dnsqname",
            "bytes",
            "stack",
            "macsource",
        ] {
            c.key(name, 0, Value::Str(data));
        }
        c.key(
            "ipsource",
            1,
            Value::Ip(
                "10.1.2.3"
                    .parse()
                    .unwrap_or(std::net::Ipv4Addr::LOCALHOST.into()),
            ),
        );
        c.key("ipprotocol", 0, Value::U64(data.len() as u64));
    }
    if let Some(f) = &filter {
        let _ = f.matches(&buf, &env);
    }
    if let Some(k) = &key {
        let _ = k.eval(&buf, &env, &mut out);
    }
});
