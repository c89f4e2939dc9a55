//! The flow keys flowlens produces, for warnings about definitions that name others.
//!
//! sFlow-RT accepts any key name in a definition (a key absent from a sample simply does not
//! match), so a typo (`value:'byts'`) leaves a flow empty forever without a hint. flowlens
//! accepts such a definition too, but [`Engine::flow_warnings`] names every key it reads that
//! flowlens never produces. The list is `docs/flow-keys.md` (compiled in): its tables'
//! first columns, which a test keeps equal to the decoders' own tables and to every key seen on
//! the shared captures. `ipfix:` keys are named from the IANA registry and always count as
//! known.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use serde_json::Value as Json;

use crate::definition::FlowDef;
use crate::engine::Engine;
use crate::keybuf::{Schema, Slot};

/// The key reference, compiled in.
const FLOW_KEYS_DOC: &str = include_str!("../../../docs/flow-keys.md");

/// The key names of `docs/flow-keys.md` (first column of its tables, in backquotes).
fn known() -> &'static BTreeSet<String> {
    static KNOWN: OnceLock<BTreeSet<String>> = OnceLock::new();
    KNOWN.get_or_init(|| {
        FLOW_KEYS_DOC
            .lines()
            .filter(|l| l.starts_with('|'))
            .filter_map(|l| l.split('|').nth(1))
            .flat_map(|cell| cell.split('`').skip(1).step_by(2))
            .filter(|k| !k.contains(['<', ' ']))
            .map(str::to_string)
            .collect()
    })
}

/// True when flowlens produces key `name` (without tunnel depth).
pub fn is_known(name: &str) -> bool {
    name.starts_with("ipfix:") || known().contains(name)
}

/// The keys definition `spec` reads that flowlens never produces, as warnings
/// (`` key `byts` is never produced by flowlens (see docs/flow-keys.md) ``); empty when the
/// definition does not parse (its error says why) or names only known keys.
pub fn warnings(spec: &Json) -> Vec<String> {
    let mut schema = Schema::default();
    if FlowDef::parse("warnings", spec, &mut schema).is_err() {
        return Vec::new();
    }
    (0..schema.len())
        .filter_map(|i| schema.name(Slot(u16::try_from(i).ok()?)))
        .filter(|k| !is_known(&k.name))
        .map(|k| {
            format!(
                "key `{}` is never produced by flowlens (see docs/flow-keys.md): \
                 the flow will stay empty where it needs it",
                k.name
            )
        })
        .collect()
}

impl Engine {
    /// Warnings about flow definition `name` (see the module docs); empty for an unknown
    /// name.
    pub fn flow_warnings(&self, name: &str) -> Vec<String> {
        self.flow(name).map(warnings).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn typos_are_named_and_real_keys_are_not() {
        assert!(is_known("ipsource") && is_known("inputifindex") && is_known("bytes"));
        assert!(is_known("ipfix:flowEndReason"));
        for k in [
            "reason",
            "dnsqname",
            "icmptype",
            "vlan",
            "bgpas",
            "tcpflags",
            "udpsourceport",
            "stack",
            "direction",
            "ipbytes",
            "outputifindex",
            "macdestination",
            "ip6nexthdr",
        ] {
            assert!(is_known(k), "{k}");
        }
        let w = warnings(&json!({"keys": "ipsource,group:ipdestination:ddos", "value": "byts"}));
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("`byts`"), "{w:?}");
        assert!(warnings(&json!({"keys": "ipsource.1,tcpflags", "value": "frames"})).is_empty());
        assert!(warnings(&json!({"keys": "ipsourc", "value": "avg:ipbytes"})).len() == 1);
    }
}
