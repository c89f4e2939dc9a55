//! Generates the Information Element table of `netflow::ie` from the registry files:
//! `registry/ipfix-information-elements.csv` (IANA's own "IPFIX Information Elements" registry
//! file, unedited; columns located by header name, see `registry/README.md`) and
//! `registry/vendor-elements.csv` (`PEN,id,name,type,units` for enterprise-specific elements and
//! NetFlow v9-only field types, PEN 0; an optional sixth column `vendor` names the vendor of a
//! PEN 0 row). RFC 5103 reverse elements (PEN 29305) are derived from the IANA rows.
//!
//! IANA rows become elements when they have a single numeric id, a name and an abstract data
//! type; ranges (`105-127`, `530-32767`), `Reserved` / `Unassigned` / "Assigned for NetFlow v9
//! compatibility" rows and deprecated rows without a name or type (416, 419) are skipped.
//! Deprecated elements that still have a name and a type (`samplingInterval`, `engineId`, ...)
//! are kept: exporters still send them. An abstract data type the table does not know fails the
//! build (add it to [`variant`]) rather than silently dropping an element.
//!
//! Every element also gets a static flow-key name (`InformationElement::key`): `ipfix:<name>`
//! for IANA elements and RFC 5103 reverse elements (`ipfix:reverseOctetDeltaCount`),
//! `ipfix:<vendor>:<name>` for enterprise elements (vendor tag from [`vendor_tag`]) and for
//! NetFlow v9-only PEN 0 field types (vendor column).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// Splits CSV text into records of fields (RFC 4180: quoted fields may hold commas, doubled
/// quotes and line breaks; records end in CRLF or LF). A leading UTF-8 byte order mark is
/// ignored, and CRLF inside quoted fields is read as LF.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    field.push('"');
                    chars.next();
                }
                '"' => quoted = false,
                '\r' if chars.peek() == Some(&'\n') => {}
                _ => field.push(c),
            }
        } else {
            match c {
                '"' => quoted = true,
                ',' => row.push(std::mem::take(&mut field)),
                '\r' => {}
                '\n' => {
                    row.push(std::mem::take(&mut field));
                    rows.push(std::mem::take(&mut row));
                }
                _ => field.push(c),
            }
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

/// Maps an IANA abstract data type name (RFC 7012, RFC 6313, the "IPFIX Information Element
/// Data Types" registry) to the `DataType` variant.
fn variant(t: &str) -> Option<&'static str> {
    Some(match t.trim() {
        "octetArray" => "OctetArray",
        // 256-bit flag sets (ipv6ExtensionHeadersFull, tcpOptionsFull, udpSafeOptions), sent
        // with reduced-size encoding of up to 32 bytes: wider than any integer `DataType`, so
        // kept as bytes (hex) until `DataType` grows an `Unsigned256`.
        "unsigned256" => "OctetArray",
        "unsigned8" => "Unsigned8",
        "unsigned16" => "Unsigned16",
        "unsigned32" => "Unsigned32",
        "unsigned64" => "Unsigned64",
        "signed8" => "Signed8",
        "signed16" => "Signed16",
        "signed32" => "Signed32",
        "signed64" => "Signed64",
        "float32" => "Float32",
        "float64" => "Float64",
        "boolean" => "Boolean",
        "macAddress" => "MacAddress",
        "string" => "String",
        "dateTimeSeconds" => "DateTimeSeconds",
        "dateTimeMilliseconds" => "DateTimeMilliseconds",
        "dateTimeMicroseconds" => "DateTimeMicroseconds",
        "dateTimeNanoseconds" => "DateTimeNanoseconds",
        "ipv4Address" => "Ipv4Address",
        "ipv6Address" => "Ipv6Address",
        "basicList" => "BasicList",
        "subTemplateList" => "SubTemplateList",
        "subTemplateMultiList" => "SubTemplateMultiList",
        _ => return None,
    })
}

/// Short lowercase vendor tag of a Private Enterprise Number, used in flow-key names
/// (`ipfix:<tag>:<name>`). PEN 29305 (RFC 5103 reverse elements) has none: its elements are
/// keyed `ipfix:reverse<Name>` like the IANA elements they mirror.
fn vendor_tag(pen: u32) -> Option<&'static str> {
    Some(match pen {
        9 => "cisco",
        2011 => "huawei",
        2636 => "juniper",
        6871 => "cert",
        6876 => "vmware",
        25461 => "paloalto",
        35632 => "ntop",
        _ => return None,
    })
}

/// The flow-key name of an element: `ipfix:<name>` or `ipfix:<vendor>:<name>`.
fn key_name(vendor: Option<&str>, name: &str) -> String {
    match vendor {
        Some(v) => format!("ipfix:{v}:{name}"),
        None => format!("ipfix:{name}"),
    }
}

struct Ie {
    name: String,
    key: String,
    data_type: &'static str,
    units: String,
}

fn read(path: &Path) -> String {
    println!("cargo:rerun-if-changed={}", path.display());
    match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) => {
            println!("cargo:warning=cannot read {}: {e}", path.display());
            std::process::exit(1);
        }
    }
}

fn fail(msg: &str) -> ! {
    println!("cargo:warning={msg}");
    std::process::exit(1)
}

/// PEN 0 element ids below this are found by direct index.
const DIRECT_IDS: usize = 1024;

fn main() {
    // Read at run time: cargo sets it for the build script, and a build script compiled in
    // another checkout sharing the target directory must still read this checkout's files.
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .unwrap_or_else(|| fail("CARGO_MANIFEST_DIR is not set (run by cargo)"));
    let dir = Path::new(&manifest).join("registry");
    let mut table: BTreeMap<(u32, u16), Ie> = BTreeMap::new();

    // IANA registry.
    let iana = parse_csv(&read(&dir.join("ipfix-information-elements.csv")));
    let Some((header, rows)) = iana.split_first() else {
        fail("empty IANA registry file")
    };
    let col = |names: &[&str]| header.iter().position(|h| names.contains(&h.trim()));
    let (Some(c_id), Some(c_name), Some(c_type)) = (
        col(&["ElementID"]),
        col(&["Name"]),
        col(&["Abstract Data Type", "Data Type"]),
    ) else {
        fail("IANA registry: missing ElementID/Name/Abstract Data Type column")
    };
    let c_units = col(&["Units"]);
    let mut iana_count = 0usize;
    for row in rows {
        let get = |c: usize| row.get(c).map(|s| s.trim()).unwrap_or("");
        // Ranges ("105-127", "530-32767") are reserved or unassigned blocks: no element.
        let Ok(id) = get(c_id).parse::<u16>() else {
            if get(c_id).is_empty() || get(c_id).split('-').all(|n| n.parse::<u16>().is_ok()) {
                continue;
            }
            fail(&format!("IANA registry: bad ElementID {:?}", get(c_id)))
        };
        // Rows without a type are reserved ("Reserved", "Assigned for NetFlow v9
        // compatibility") or deprecated without a name (416, 419): no element. Deprecated
        // elements that keep a name and a type stay.
        let (name, data_type) = (get(c_name), get(c_type));
        if name.is_empty() || data_type.is_empty() {
            continue;
        }
        if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            fail(&format!(
                "IANA registry: element {id} has a bad name {name:?}"
            ))
        }
        let Some(data_type) = variant(data_type) else {
            fail(&format!(
                "IANA registry: element {id} ({name}) has unknown type {data_type:?} (add it to variant in build.rs)"
            ))
        };
        let units = c_units.map(|c| get(c).to_string()).unwrap_or_default();
        let ie = Ie {
            key: key_name(None, name),
            name: name.to_string(),
            data_type,
            units,
        };
        if table.insert((0, id), ie).is_some() {
            fail(&format!("IANA registry: duplicate element {id}"));
        }
        iana_count += 1;
    }

    // RFC 5103 reverse elements: (29305, n) is the reverse of IANA element n.
    let reverse: Vec<_> = table
        .iter()
        .filter(|((_, id), _)| *id < 0x8000)
        .map(|((_, id), ie)| {
            let mut name = String::from("reverse");
            let mut cs = ie.name.chars();
            if let Some(c) = cs.next() {
                name.extend(c.to_uppercase());
            }
            name.push_str(cs.as_str());
            (
                (29305u32, *id),
                Ie {
                    key: key_name(None, &name),
                    name,
                    data_type: ie.data_type,
                    units: ie.units.clone(),
                },
            )
        })
        .collect();
    let reverse_count = reverse.len();
    table.extend(reverse);

    // Vendor elements and NetFlow v9-only field types.
    let vendor = parse_csv(&read(&dir.join("vendor-elements.csv")));
    let mut vendor_count = 0usize;
    for row in vendor.iter().skip(1) {
        if row
            .first()
            .is_none_or(|f| f.trim().is_empty() || f.starts_with('#'))
        {
            continue;
        }
        let get = |c: usize| row.get(c).map(|s| s.trim()).unwrap_or("");
        let (Ok(pen), Ok(id)) = (get(0).parse::<u32>(), get(1).parse::<u16>()) else {
            fail(&format!("vendor-elements.csv: bad row {row:?}"))
        };
        let Some(data_type) = variant(get(3)) else {
            fail(&format!("vendor-elements.csv: bad type in {row:?}"))
        };
        let vendor = match (pen, get(5)) {
            (29305, "") => None,
            (0, "") => fail(&format!(
                "vendor-elements.csv: PEN 0 row without a vendor column: {row:?}"
            )),
            (_, "") => Some(vendor_tag(pen).unwrap_or_else(|| {
                fail(&format!(
                    "vendor-elements.csv: no vendor tag for PEN {pen} (add one to vendor_tag)"
                ))
            })),
            (_, v)
                if v.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()) =>
            {
                Some(v)
            }
            (_, v) => fail(&format!("vendor-elements.csv: bad vendor tag {v:?}")),
        };
        let ie = Ie {
            key: key_name(vendor, get(2)),
            name: get(2).to_string(),
            data_type,
            units: get(4).to_string(),
        };
        if table.insert((pen, id), ie).is_some() && pen != 29305 {
            fail(&format!("vendor-elements.csv: duplicate {pen}/{id}"));
        }
        vendor_count += 1;
    }

    let mut out = String::new();
    let _ = writeln!(
        out,
        "/// Number of IANA elements in the table.\npub const IANA_COUNT: usize = {iana_count};"
    );
    let _ = writeln!(
        out,
        "/// Number of derived RFC 5103 reverse elements (PEN 29305).\npub const REVERSE_COUNT: usize = {reverse_count};"
    );
    let _ = writeln!(
        out,
        "/// Number of vendor / NetFlow v9-only elements (registry/vendor-elements.csv).\npub const VENDOR_COUNT: usize = {vendor_count};"
    );
    let _ = writeln!(
        out,
        "/// Every known element, sorted by `(enterprise, id)`.\npub static TABLE: [InformationElement; {}] = [",
        table.len()
    );
    for ((pen, id), ie) in &table {
        let _ = writeln!(
            out,
            "    InformationElement {{ id: {id}, enterprise: {pen}, name: {:?}, key: {:?}, data_type: DataType::{}, units: {:?} }},",
            ie.name, ie.key, ie.data_type, ie.units
        );
    }
    out.push_str("];\n");
    // Direct index for the common case, IANA elements (PEN 0) with small ids: one array read
    // per field instead of a binary search.
    let mut index = vec![u16::MAX; DIRECT_IDS];
    for (i, ((pen, id), _)) in table.iter().enumerate() {
        if *pen == 0 {
            if let Some(slot) = index.get_mut(usize::from(*id)) {
                *slot = u16::try_from(i).unwrap_or(u16::MAX);
            }
        }
    }
    let _ = writeln!(
        out,
        "/// `TABLE` index of PEN 0 element `id` for ids below {DIRECT_IDS} (`u16::MAX`: none).\npub(crate) static PEN0_INDEX: [u16; {DIRECT_IDS}] = {index:?};"
    );
    let Some(out_dir) = std::env::var_os("OUT_DIR") else {
        fail("OUT_DIR not set")
    };
    if let Err(e) = std::fs::write(Path::new(&out_dir).join("ie_table.rs"), out) {
        fail(&format!("cannot write ie_table.rs: {e}"));
    }
}
