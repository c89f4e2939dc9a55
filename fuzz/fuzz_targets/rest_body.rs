//! A REST request body as a client sends it (`PUT /flow/{name}/json`, `/threshold/{name}/json`,
//! `/group/{name}/json`): parsed as JSON or JavaScript-object syntax, then, when it parses,
//! compiled as a flow definition, a threshold and a group set, as the server does. Bodies come
//! from any client: nothing may panic, and a refusal is an error value with a reason.
#![no_main]

use flowlens_engine::definition::FlowDef;
use flowlens_engine::groups::GroupSet;
use flowlens_engine::{Schema, Threshold};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let json = match flowlens_engine::body::parse(data) {
        Ok(json) => json,
        Err(e) => {
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    let mut schema = Schema::default();
    let _ = FlowDef::parse("f", &json, &mut schema);
    let _ = Threshold::parse("t", &json);
    let _ = GroupSet::from_json(&json);
});
