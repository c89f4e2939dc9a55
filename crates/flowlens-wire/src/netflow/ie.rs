//! Information Elements: the IANA "IPFIX Information Elements" registry (RFC 7012 section 4),
//! RFC 5103 reverse elements, the vendor elements seen in real exports, and value decoding by
//! abstract data type (RFC 7011 section 6, RFC 7012 section 3.1, RFC 6313).
//!
//! The table is generated at build time by `build.rs` from `registry/ipfix-information-elements.csv`
//! (IANA registry columns) and `registry/vendor-elements.csv` (`PEN,id,name,type,units`).
//! Enterprise 0 holds the IANA elements and, above 32767 where IANA never assigns, the NetFlow
//! v9-only field types (Cisco NSEL). NetFlow v9 field types below 32768 coincide with IANA ids
//! (RFC 3954 section 8, RFC 7012 section 4).

use crate::value::Value;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Abstract data types of Information Elements (RFC 7012 section 3.1; lists: RFC 6313).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DataType {
    /// `octetArray`: opaque bytes.
    OctetArray,
    /// `unsigned8`.
    Unsigned8,
    /// `unsigned16`.
    Unsigned16,
    /// `unsigned32`.
    Unsigned32,
    /// `unsigned64`.
    Unsigned64,
    /// `signed8`.
    Signed8,
    /// `signed16`.
    Signed16,
    /// `signed32`.
    Signed32,
    /// `signed64`.
    Signed64,
    /// `float32` (IEEE 754 single precision).
    Float32,
    /// `float64` (IEEE 754 double precision).
    Float64,
    /// `boolean`: 1 true, 2 false (RFC 7011 section 6.1.5).
    Boolean,
    /// `macAddress`: 6 bytes, transmission order.
    MacAddress,
    /// `string`: UTF-8 text.
    String,
    /// `dateTimeSeconds`: u32 seconds since 1970-01-01 UTC.
    DateTimeSeconds,
    /// `dateTimeMilliseconds`: u64 milliseconds since 1970-01-01 UTC.
    DateTimeMilliseconds,
    /// `dateTimeMicroseconds`: 64-bit NTP timestamp (RFC 7011 section 6.1.9).
    DateTimeMicroseconds,
    /// `dateTimeNanoseconds`: 64-bit NTP timestamp (RFC 7011 section 6.1.10).
    DateTimeNanoseconds,
    /// `ipv4Address`.
    Ipv4Address,
    /// `ipv6Address`.
    Ipv6Address,
    /// `basicList` (RFC 6313 section 4.5.1).
    BasicList,
    /// `subTemplateList` (RFC 6313 section 4.5.2).
    SubTemplateList,
    /// `subTemplateMultiList` (RFC 6313 section 4.5.3).
    SubTemplateMultiList,
}

/// One Information Element of the registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InformationElement {
    /// Element id (15 bits for enterprise elements; NetFlow v9-only types may use 16).
    pub id: u16,
    /// Private Enterprise Number; 0 for IANA elements and NetFlow v9 field types.
    pub enterprise: u32,
    /// Name as the registry spells it (`octetDeltaCount`, `reverseOctetDeltaCount`).
    pub name: &'static str,
    /// Flow-key name (static, for [`crate::KeyVisitor`]): `ipfix:<name>` for IANA and RFC 5103
    /// reverse elements (`ipfix:flowEndReason`, `ipfix:reverseOctetDeltaCount`);
    /// `ipfix:<vendor>:<name>` for enterprise elements and NetFlow v9-only field types, with a
    /// short lowercase vendor tag (`ipfix:vmware:tunnelType`, `ipfix:cert:payloadEntropy`,
    /// `ipfix:cisco:NF_F_FW_EVENT`). Tags by PEN: 9 `cisco`, 2011 `huawei`, 2636 `juniper`,
    /// 6871 `cert`, 6876 `vmware`, 25461 `paloalto`, 35632 `ntop`.
    pub key: &'static str,
    /// Abstract data type.
    pub data_type: DataType,
    /// Units as the registry spells them (`octets`, `milliseconds`), or `""`.
    pub units: &'static str,
}

mod table {
    use super::{DataType, InformationElement};
    include!(concat!(env!("OUT_DIR"), "/ie_table.rs"));
}

use table::PEN0_INDEX;
pub use table::{IANA_COUNT, REVERSE_COUNT, TABLE, VENDOR_COUNT};

/// Private Enterprise Number of RFC 5103 reverse elements.
pub const REVERSE_PEN: u32 = 29305;

/// Looks an element up by enterprise number and id: a direct index for IANA elements with
/// small ids, else a binary search over [`TABLE`].
pub fn lookup(enterprise: u32, id: u16) -> Option<&'static InformationElement> {
    if enterprise == 0 {
        if let Some(&i) = PEN0_INDEX.get(usize::from(id)) {
            return TABLE.get(usize::from(i));
        }
    }
    TABLE
        .binary_search_by(|ie| (ie.enterprise, ie.id).cmp(&(enterprise, id)))
        .ok()
        .and_then(|i| TABLE.get(i))
}

/// Big-endian unsigned integer of 1 to 8 bytes (reduced-size encoding, RFC 7011 section 6.2).
pub fn be_uint(bytes: &[u8]) -> Option<u64> {
    if bytes.is_empty() || bytes.len() > 8 {
        return None;
    }
    Some(bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
}

/// Big-endian two's-complement integer of 1 to 8 bytes, sign-extended.
pub fn be_int(bytes: &[u8]) -> Option<i64> {
    let u = be_uint(bytes)?;
    let shift = 64 - 8 * bytes.len() as u32;
    Some(((u << shift) as i64) >> shift)
}

/// Decodes a value of type `data_type` from its field bytes.
///
/// - unsigned / signed types: reduced-size encoding of 1 to 8 bytes (RFC 7011 section 6.2) to
///   [`Value::U64`] / [`Value::I64`];
/// - `float32` (4 bytes) and `float64` (8 bytes, or 4 when reduced) to [`Value::F32`];
/// - `boolean`: 1 and 2 to [`Value::Bool`], other values to [`Value::U64`];
/// - addresses of the right length to [`Value::Ip`] / [`Value::Mac`];
/// - `string` to [`Value::Str`], without trailing NUL padding;
/// - `dateTime*` to [`Value::U64`] of the raw value (seconds, milliseconds, or the 64-bit NTP
///   timestamp; see [`datetime_unix_nanos`]);
/// - everything else, and any value of an impossible length, to [`Value::Hex`].
pub fn value(data_type: DataType, bytes: &[u8]) -> Value<'_> {
    use DataType as D;
    let hex = Value::Hex(bytes);
    match data_type {
        D::Unsigned8
        | D::Unsigned16
        | D::Unsigned32
        | D::Unsigned64
        | D::DateTimeSeconds
        | D::DateTimeMilliseconds
        | D::DateTimeMicroseconds
        | D::DateTimeNanoseconds => be_uint(bytes).map_or(hex, Value::U64),
        D::Signed8 | D::Signed16 | D::Signed32 | D::Signed64 => {
            be_int(bytes).map_or(hex, Value::I64)
        }
        D::Float32 | D::Float64 => match *bytes {
            [a, b, c, d] => Value::F32(f32::from_be_bytes([a, b, c, d])),
            [a, b, c, d, e, f, g, h] => {
                Value::F32(f64::from_be_bytes([a, b, c, d, e, f, g, h]) as f32)
            }
            _ => hex,
        },
        D::Boolean => match *bytes {
            [1] => Value::Bool(true),
            [2] => Value::Bool(false),
            _ => be_uint(bytes).map_or(hex, Value::U64),
        },
        D::MacAddress => match *bytes {
            [a, b, c, d, e, f] => Value::Mac([a, b, c, d, e, f]),
            _ => hex,
        },
        // Fixed-length string fields are NUL-padded by many exporters (Cisco WLC SSIDs, ASA
        // user names); the padding is not part of the text.
        D::String => {
            let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
            Value::Str(bytes.get(..end).unwrap_or(bytes))
        }
        D::Ipv4Address => match *bytes {
            [a, b, c, d] => Value::Ip(IpAddr::V4(Ipv4Addr::new(a, b, c, d))),
            _ => hex,
        },
        D::Ipv6Address => match <[u8; 16]>::try_from(bytes) {
            Ok(a) => Value::Ip(IpAddr::V6(Ipv6Addr::from(a))),
            Err(_) => hex,
        },
        D::OctetArray | D::BasicList | D::SubTemplateList | D::SubTemplateMultiList => hex,
    }
}

/// Seconds between the NTP era 0 epoch (1900-01-01) and the Unix epoch.
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

/// Converts a `dateTime*` value to nanoseconds since 1970-01-01 UTC.
///
/// `dateTimeSeconds` and `dateTimeMilliseconds` count from the Unix epoch (reduced sizes
/// accepted). `dateTimeMicroseconds` and `dateTimeNanoseconds` are 64-bit NTP timestamps
/// (RFC 7011 sections 6.1.9-6.1.10, RFC 5905 section 6): 32-bit seconds since 1900-01-01 and a
/// 32-bit binary fraction; for microseconds the low 11 bits of the fraction are ignored.
/// Returns `None` for other types, wrong lengths, times before 1970 or overflow.
pub fn datetime_unix_nanos(data_type: DataType, bytes: &[u8]) -> Option<u64> {
    match data_type {
        DataType::DateTimeSeconds => be_uint(bytes)?.checked_mul(1_000_000_000),
        DataType::DateTimeMilliseconds => be_uint(bytes)?.checked_mul(1_000_000),
        DataType::DateTimeMicroseconds | DataType::DateTimeNanoseconds => {
            let raw = u64::from_be_bytes(<[u8; 8]>::try_from(bytes).ok()?);
            let secs = (raw >> 32).checked_sub(NTP_UNIX_OFFSET)?;
            let mut frac = raw & 0xFFFF_FFFF;
            if data_type == DataType::DateTimeMicroseconds {
                frac &= !0x7FF;
            }
            let nanos = (frac * 1_000_000_000) >> 32;
            secs.checked_mul(1_000_000_000)?.checked_add(nanos)
        }
        _ => None,
    }
}

/// The header of an RFC 6313 structured-data value (the field bytes of a `basicList`,
/// `subTemplateList` or `subTemplateMultiList` element), with the list content after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListHeader<'a> {
    /// `basicList` (RFC 6313 section 4.5.1): `semantic` u8, `field id` u16 (enterprise bit
    /// 0x8000 then a u32 PEN follows), `element length` u16, then the elements.
    Basic {
        /// List semantic (RFC 6313 section 4.4: 0 noneOf, 1 exactlyOneOf, 2 oneOrMoreOf,
        /// 3 allOf, 4 ordered, 255 undefined).
        semantic: u8,
        /// Element id of the list members (enterprise bit stripped).
        id: u16,
        /// Element length in bytes, or 65535 for variable-length members.
        element_length: u16,
        /// Private Enterprise Number of the members, 0 for IANA.
        enterprise: u32,
        /// The encoded members.
        content: &'a [u8],
    },
    /// `subTemplateList` (RFC 6313 section 4.5.2): `semantic` u8, `template id` u16, then data
    /// records of that template.
    SubTemplate {
        /// List semantic.
        semantic: u8,
        /// Template of the records.
        template_id: u16,
        /// The encoded records.
        content: &'a [u8],
    },
    /// `subTemplateMultiList` (RFC 6313 section 4.5.3): `semantic` u8, then entries of
    /// (`template id` u16, `length` u16 including this 4-byte header, records).
    SubTemplateMulti {
        /// List semantic.
        semantic: u8,
        /// The entries.
        content: &'a [u8],
    },
}

/// Decodes the RFC 6313 header of a list value; `None` for a non-list type or a value too short
/// for its header.
pub fn list_header(data_type: DataType, bytes: &[u8]) -> Option<ListHeader<'_>> {
    match (data_type, bytes) {
        (DataType::BasicList, [semantic, h, l, rest @ ..]) => {
            let raw = u16::from_be_bytes([*h, *l]);
            let (enterprise, rest) = if raw & 0x8000 != 0 {
                match rest {
                    [el_h, el_l, a, b, c, d, content @ ..] => (
                        (u32::from_be_bytes([*a, *b, *c, *d]), [*el_h, *el_l]),
                        content,
                    ),
                    _ => return None,
                }
            } else {
                match rest {
                    [el_h, el_l, content @ ..] => ((0, [*el_h, *el_l]), content),
                    _ => return None,
                }
            };
            Some(ListHeader::Basic {
                semantic: *semantic,
                id: raw & 0x7FFF,
                element_length: u16::from_be_bytes(enterprise.1),
                enterprise: enterprise.0,
                content: rest,
            })
        }
        (DataType::SubTemplateList, [semantic, h, l, content @ ..]) => {
            Some(ListHeader::SubTemplate {
                semantic: *semantic,
                template_id: u16::from_be_bytes([*h, *l]),
                content,
            })
        }
        (DataType::SubTemplateMultiList, [semantic, content @ ..]) => {
            Some(ListHeader::SubTemplateMulti {
                semantic: *semantic,
                content,
            })
        }
        _ => None,
    }
}

/// Iterator over the entries of a `subTemplateMultiList` content: `(template id, records)`.
/// Ends at the end of the content, or at an entry whose length is below 4 or overruns it.
#[derive(Clone, Debug)]
pub struct MultiListEntries<'a> {
    rest: &'a [u8],
}

/// The entries of a `subTemplateMultiList` content (see [`ListHeader::SubTemplateMulti`]).
pub const fn multi_list_entries(content: &[u8]) -> MultiListEntries<'_> {
    MultiListEntries { rest: content }
}

impl<'a> Iterator for MultiListEntries<'a> {
    type Item = (u16, &'a [u8]);

    fn next(&mut self) -> Option<(u16, &'a [u8])> {
        let [a, b, c, d, rest @ ..] = self.rest else {
            self.rest = &[];
            return None;
        };
        let len = usize::from(u16::from_be_bytes([*c, *d]));
        let Some(body) = len.checked_sub(4).and_then(|n| rest.get(..n)) else {
            self.rest = &[];
            return None;
        };
        self.rest = rest.get(body.len()..).unwrap_or(&[]);
        Some((u16::from_be_bytes([*a, *b]), body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_sorted_and_lookups() {
        assert!(TABLE
            .windows(2)
            .all(|w| (w[0].enterprise, w[0].id) < (w[1].enterprise, w[1].id)));
        let ie = lookup(0, 1).unwrap();
        assert_eq!(
            (ie.name, ie.data_type),
            ("octetDeltaCount", DataType::Unsigned64)
        );
        assert_eq!(lookup(29305, 1).unwrap().name, "reverseOctetDeltaCount");
        assert_eq!(lookup(0, 136).unwrap().key, "ipfix:flowEndReason");
        assert_eq!(
            lookup(29305, 1).unwrap().key,
            "ipfix:reverseOctetDeltaCount"
        );
        assert_eq!(lookup(6876, 891).unwrap().key, "ipfix:vmware:tunnelType");
        assert_eq!(lookup(6871, 35).unwrap().key, "ipfix:cert:payloadEntropy");
        assert_eq!(lookup(35632, 118).unwrap().key, "ipfix:ntop:L7_PROTO");
        assert_eq!(lookup(0, 40005).unwrap().key, "ipfix:cisco:NF_F_FW_EVENT");
        assert_eq!(lookup(0, 56701).unwrap().key, "ipfix:paloalto:PAN_APP_ID");
        assert!(TABLE
            .iter()
            .all(|e| e.key.starts_with("ipfix:") && e.key.ends_with(e.name)));
        assert_eq!(lookup(0, 315).unwrap().name, "dataLinkFrameSection");
        assert!(lookup(1, 1).is_none());
    }

    #[test]
    fn reduced_size_and_times() {
        assert!(matches!(
            value(DataType::Unsigned64, &[1, 2]),
            Value::U64(258)
        ));
        assert!(matches!(
            value(DataType::Signed32, &[0xff, 0xfe]),
            Value::I64(-2)
        ));
        assert!(matches!(
            value(DataType::Ipv4Address, &[1, 2, 3]),
            Value::Hex(_)
        ));
        // 2016-04-01T00:00:00.5Z as NTP: secs 3_668_457_600, fraction 0x8000_0000
        let ntp = [0xDA, 0xA8, 0x38, 0x80, 0x80, 0, 0, 0];
        assert_eq!(
            datetime_unix_nanos(DataType::DateTimeNanoseconds, &ntp),
            Some(1_459_468_800_500_000_000)
        );
        assert_eq!(
            datetime_unix_nanos(DataType::DateTimeMilliseconds, &[0, 0, 1, 0]),
            Some(256_000_000)
        );
    }

    #[test]
    fn list_headers() {
        let b = [3, 0x80, 5, 0, 4, 0, 0, 0x72, 0x79, 9, 9, 9, 9];
        assert_eq!(
            list_header(DataType::BasicList, &b),
            Some(ListHeader::Basic {
                semantic: 3,
                id: 5,
                element_length: 4,
                enterprise: 29305,
                content: &[9, 9, 9, 9]
            })
        );
        let m = [255, 1, 0, 0, 6, 7, 7, 1, 1, 0, 4];
        let Some(ListHeader::SubTemplateMulti { content, .. }) =
            list_header(DataType::SubTemplateMultiList, &m)
        else {
            panic!()
        };
        let e: std::vec::Vec<_> = multi_list_entries(content).collect();
        assert_eq!(e, [(256, &[7u8, 7][..]), (257, &[][..])]);
    }
}
