//! NetFlow v5, NetFlow v9 (RFC 3954) and IPFIX (RFC 7011/7012): export packet decoders and the
//! shared template machinery.
//!
//! - [`sniff`] tells the three apart by their 16-bit version field (5, 9, 10).
//! - [`v5::Packet`]: fixed-format NetFlow v5 datagrams.
//! - [`v9::Packet`] and [`ipfix::Message`]: headers and [`Sets`] — template sets
//!   ([`TemplateSet`] → [`TemplateDef`] → [`FieldSpec`]s) and data sets ([`DataSet`]).
//! - [`data_records`] cuts a data set into [`DataRecord`]s given a template's field list;
//!   [`visit_data_record`] names and decodes their fields with the [`ie`] registry.
//!
//! NetFlow v9 and IPFIX data cannot be decoded without the template that describes it, and
//! templates are state: they arrive in earlier datagrams, per exporter and observation domain.
//! This crate keeps no state. It parses template definitions into [`FieldSpec`] lists, and
//! decodes data given such a list; the template cache that connects the two lives in the
//! sans-IO engine crate (`flowlens-netflow`).
//!
//! # Error policy
//!
//! All offsets are absolute from the start of the datagram. Header errors come from `parse`.
//! [`Sets`], [`Templates`] and [`DataRecords`] yield one `Err` for a structure that overruns its
//! container and then end (a broken length makes the rest unreadable). Zero bytes or fewer than
//! 4 bytes after the last set or template are padding, not errors. Nothing here allocates, and
//! every loop over a wire count is also bounded by the bytes available.

pub mod ie;
pub mod ipfix;
mod record;
mod set;
pub mod v5;
pub mod v9;

pub use record::{data_records, DataRecord, DataRecords, FieldSpec, Fields, VARIABLE_LENGTH};
pub use set::{DataSet, Set, Sets, TemplateDef, TemplateFields, TemplateSet, Templates};

use crate::error::{Layer, Result};
use crate::reader::Reader;
use crate::value::{FieldVisitor, Value};
use core::fmt;

impl FieldSpec {
    /// A non-scope field of IANA element `id` (enterprise 0), `length` bytes: the fields of
    /// fixed layouts (such as a NetFlow v5 record) written as a template.
    pub const fn iana(id: u16, length: u16) -> Self {
        FieldSpec {
            id,
            length,
            enterprise: 0,
            scope: false,
        }
    }
}

/// Big-endian reads the shared [`Reader`] lacks.
pub(crate) trait ReadExt {
    /// Reads a big-endian `u16`.
    fn u16(&mut self) -> Result<u16>;
}

impl ReadExt for Reader<'_> {
    fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_be_bytes(self.array()?))
    }
}

/// The flow-export protocols of this module.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// NetFlow version 5.
    NetflowV5,
    /// NetFlow version 9 (RFC 3954).
    NetflowV9,
    /// IPFIX (RFC 7011).
    Ipfix,
}

impl Protocol {
    /// The error [`Layer`] of this protocol's headers and sets.
    pub const fn layer(self) -> Layer {
        match self {
            Protocol::NetflowV5 => Layer::NetflowV5,
            Protocol::NetflowV9 => Layer::NetflowV9,
            Protocol::Ipfix => Layer::Ipfix,
        }
    }

    /// Short lowercase name, its layer's: `netflow-v5`, `netflow-v9`, `ipfix`.
    pub const fn name(self) -> &'static str {
        self.layer().name()
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Content sniff: which flow-export protocol `payload` claims to be, from its 16-bit version
/// field and a plausible header:
///
/// - 5: at least one 24-byte header plus 48 bytes per record of `count` (1 to 30 records,
///   Cisco's maximum; trailing bytes allowed);
/// - 9: at least the 20-byte header;
/// - 10: a `Length` field of at least 16 and at most the payload length.
///
/// sFlow v5 datagrams never match (their first 16 bits are 0). A match may still be malformed
/// further in: decode it and count the errors.
pub fn sniff(payload: &[u8]) -> Option<Protocol> {
    let [v0, v1, c0, c1, ..] = *payload else {
        return None;
    };
    let second = usize::from(u16::from_be_bytes([c0, c1]));
    match u16::from_be_bytes([v0, v1]) {
        5 if (1..=30).contains(&second)
            && v5::HEADER_LEN + v5::RECORD_LEN * second <= payload.len() =>
        {
            Some(Protocol::NetflowV5)
        }
        9 if payload.len() >= v9::HEADER_LEN => Some(Protocol::NetflowV9),
        10 if second >= ipfix::HEADER_LEN && second <= payload.len() => Some(Protocol::Ipfix),
        _ => None,
    }
}

/// Name of a NetFlow v9 scope field type (RFC 3954 section 6.1), or `None`.
pub const fn v9_scope_name(id: u16) -> Option<&'static str> {
    match id {
        1 => Some("scope_system"),
        2 => Some("scope_interface"),
        3 => Some("scope_line_card"),
        4 => Some("scope_cache"),
        5 => Some("scope_template"),
        _ => None,
    }
}

/// Display form of a field of an unknown element: `<pen>/<id>=<hex>`.
struct Unknown<'a> {
    spec: FieldSpec,
    bytes: &'a [u8],
}

impl fmt::Display for Unknown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}=", self.spec.enterprise, self.spec.id)?;
        for b in self.bytes {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// Visits the fields of one data record, in template order: one call per field.
///
/// The name is the registry name ([`ie::lookup`]) and the value is decoded by its data type
/// ([`ie::value`]). A scope field ([`FieldSpec::scope`]) with id 1 to 5 is taken as a NetFlow
/// v9 scope type and named `scope_system`, `scope_interface`, `scope_line_card`,
/// `scope_cache` or `scope_template` (value: unsigned integer, or hex beyond 8 bytes); IPFIX
/// scopes use ordinary element ids, and ids 1-5 (counters, protocol, class of service) are
/// never scopes in practice. Unknown elements are named `"unknown"` with a
/// [`Value::Display`] rendering `<pen>/<id>=<hex>`.
pub fn visit_data_record(record: &DataRecord<'_, '_>, v: &mut impl FieldVisitor) {
    for (spec, bytes) in record.fields() {
        if spec.scope && spec.enterprise == 0 {
            if let Some(name) = v9_scope_name(spec.id) {
                v.field(
                    name,
                    ie::be_uint(bytes).map_or(Value::Hex(bytes), Value::U64),
                );
                continue;
            }
        }
        match ie::lookup(spec.enterprise, spec.id) {
            Some(e) => v.field(e.name, ie::value(e.data_type, bytes)),
            None => v.field("unknown", Value::Display(&Unknown { spec, bytes })),
        }
    }
}

/// The raw frame bytes of a data record: the value of `dataLinkFrameSection` (IE 315,
/// RFC 7133) or `layer2FrameSection` (IE 104), whichever comes first. Walk them with
/// [`crate::packet::walk`] (usually [`crate::packet::LinkType::Ethernet`]).
pub fn frame_section<'a>(record: &DataRecord<'_, 'a>) -> Option<&'a [u8]> {
    record
        .fields()
        .find(|(s, _)| s.enterprise == 0 && !s.scope && (s.id == 315 || s.id == 104))
        .map(|(_, b)| b)
}
