//! The MAC vendor table behind `oui:<mackey>:name`.
//!
//! Loaded from the IEEE registry CSV files as Debian's `ieee-data` package ships them
//! (`/usr/share/ieee-data/oui.csv`; `mam.csv` and `oui36.csv` have the same columns):
//! `Registry,Assignment,Organization Name,Organization Address`, RFC 4180 quoting (quoted fields
//! may hold commas, doubled quotes and line breaks). `MA-L` assignments are 24-bit prefixes (6 hex
//! digits), `MA-M` 28-bit (7), `MA-S` and `IAB` 36-bit (9); a lookup returns the organisation of
//! the longest assignment containing the address.

use core::fmt;

use crate::error::{Error, Result};
use flowlens_netflow::hash::{map, Map};

/// MAC prefix → organisation name.
#[derive(Clone)]
pub struct OuiTable {
    names: Vec<Box<str>>,
    /// (prefix length in bits, prefix value) → index into `names`.
    index: Map<(u8, u64), u32>,
    /// Prefix lengths present, longest first.
    lengths: Vec<u8>,
}

impl Default for OuiTable {
    fn default() -> Self {
        OuiTable {
            names: Vec::new(),
            index: map(),
            lengths: Vec::new(),
        }
    }
}

impl OuiTable {
    /// Parses one or more IEEE registry CSV texts concatenated (each may start with the
    /// `Registry,…` header line). Rows with an unknown registry are skipped.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] (`what` = `oui`, field = `line N`) for a row whose assignment is not
    /// 6, 7 or 9 hex digits, a row with fewer than three fields, or an unterminated quote.
    pub fn parse_csv(text: &str) -> Result<OuiTable> {
        let mut table = OuiTable::default();
        let mut names: Map<Box<str>, u32> = map();
        for row in Rows::new(text) {
            let (line, fields) = row?;
            let registry = fields.first().map(|s| s.trim()).unwrap_or("");
            if registry.is_empty() || registry.eq_ignore_ascii_case("registry") {
                continue;
            }
            if !matches!(registry, "MA-L" | "MA-M" | "MA-S" | "IAB" | "CID") {
                continue;
            }
            let bad = |why: &str| Error::invalid("oui", format!("line {line}"), why.to_string());
            let (Some(assignment), Some(org)) = (fields.get(1), fields.get(2)) else {
                return Err(bad("expected Registry,Assignment,Organization Name,…"));
            };
            let hex = assignment.trim();
            let bits = match hex.len() {
                6 => 24,
                7 => 28,
                9 => 36,
                _ => return Err(bad("assignment must be 6, 7 or 9 hex digits")),
            };
            let value = u64::from_str_radix(hex, 16).map_err(|_| bad("assignment is not hex"))?;
            let org = org.trim();
            let idx = match names.get(org) {
                Some(i) => *i,
                None => {
                    let i = u32::try_from(table.names.len()).map_err(|_| Error::Limit {
                        what: "OUI organisations",
                        limit: u32::MAX as usize,
                    })?;
                    table.names.push(org.into());
                    names.insert(org.into(), i);
                    i
                }
            };
            table.index.insert((bits, value), idx);
            if !table.lengths.contains(&bits) {
                table.lengths.push(bits);
                table.lengths.sort_unstable_by(|a, b| b.cmp(a));
            }
        }
        Ok(table)
    }

    /// The organisation owning the longest registered prefix of `mac`.
    pub fn lookup(&self, mac: [u8; 6]) -> Option<&str> {
        let v = mac.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        self.lengths.iter().find_map(|&bits| {
            let i = self.index.get(&(bits, v >> (48 - u32::from(bits))))?;
            self.names.get(*i as usize).map(|n| &**n)
        })
    }

    /// Number of assignments.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// True when the table is empty.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }
}

impl fmt::Debug for OuiTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OuiTable")
            .field("assignments", &self.len())
            .finish()
    }
}

/// Parses a MAC address as sFlow-RT shows it (12 hex digits, `000c29a1b2c3`) or with `:`, `-`
/// or `.` separators.
pub fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    let mut n = 0usize;
    let mut hi: Option<u8> = None;
    for c in text.bytes() {
        if matches!(c, b':' | b'-' | b'.') {
            continue;
        }
        let d = (c as char).to_digit(16)? as u8;
        match hi.take() {
            None => hi = Some(d),
            Some(h) => {
                *out.get_mut(n)? = (h << 4) | d;
                n += 1;
            }
        }
    }
    (n == 6 && hi.is_none()).then_some(out)
}

/// RFC 4180 rows: yields (1-based line of the row start, fields).
struct Rows<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
}

impl<'a> Rows<'a> {
    fn new(text: &'a str) -> Self {
        Rows {
            text,
            pos: 0,
            line: 1,
        }
    }
}

impl Iterator for Rows<'_> {
    type Item = Result<(usize, Vec<String>)>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.text.get(self.pos..)?;
        if rest.is_empty() {
            return None;
        }
        let start_line = self.line;
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        let mut at_field_start = true;
        let mut chars = rest.char_indices().peekable();
        let mut consumed = rest.len();
        while let Some((i, c)) = chars.next() {
            if c == '\n' {
                self.line += 1;
            }
            if quoted {
                if c == '"' {
                    if chars.peek().map(|(_, c)| *c) == Some('"') {
                        chars.next();
                        field.push('"');
                    } else {
                        quoted = false;
                    }
                } else {
                    field.push(c);
                }
                continue;
            }
            match c {
                '"' if at_field_start => {
                    quoted = true;
                    at_field_start = false;
                }
                ',' => {
                    fields.push(core::mem::take(&mut field));
                    at_field_start = true;
                }
                '\r' => {}
                '\n' => {
                    consumed = i + 1;
                    break;
                }
                c => {
                    field.push(c);
                    at_field_start = false;
                }
            }
        }
        self.pos += consumed;
        if quoted {
            self.pos = self.text.len();
            return Some(Err(Error::invalid(
                "oui",
                format!("line {start_line}"),
                "unterminated quoted field",
            )));
        }
        fields.push(field);
        Some(Ok((start_line, fields)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "Registry,Assignment,Organization Name,Organization Address\r\n\
MA-L,F4BD9E,\"Cisco Systems, Inc\",80 West Tasman Drive San Jose CA US 94568 \r\n\
MA-L,5885E9,Realme Chongqing,\"No.24 Nichang Boulevard,\nChongqing CN 401120 \"\n\
MA-L,001BC5,IEEE Registration Authority,445 Hoes Lane\n\
MA-S,001BC5001,\"Quoted \"\"Name\"\"\",Somewhere\n\
MA-M,F4BD9E1,Longer Prefix Ltd,X\n";

    #[test]
    fn parses_quotes_and_multiline_fields() {
        let t = OuiTable::parse_csv(SAMPLE).unwrap();
        assert_eq!(t.len(), 5);
        assert_eq!(
            t.lookup([0xf4, 0xbd, 0x9e, 0x00, 0, 1]),
            Some("Cisco Systems, Inc")
        );
        assert_eq!(
            t.lookup([0x58, 0x85, 0xe9, 1, 2, 3]),
            Some("Realme Chongqing")
        );
        assert_eq!(
            t.lookup([0x00, 0x1b, 0xc5, 0x00, 0x1f, 0]),
            Some("Quoted \"Name\"")
        );
        assert_eq!(
            t.lookup([0x00, 0x1b, 0xc5, 0x00, 0x2f, 0]),
            Some("IEEE Registration Authority")
        );
        assert_eq!(
            t.lookup([0xf4, 0xbd, 0x9e, 0x1f, 0, 0]),
            Some("Longer Prefix Ltd")
        );
        assert_eq!(t.lookup([0, 0, 0, 0, 0, 0]), None);
    }

    #[test]
    fn bad_rows_name_their_line() {
        let e = OuiTable::parse_csv("Registry,Assignment\nMA-L,12345,X,Y\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "oui: invalid `line 2`: assignment must be 6, 7 or 9 hex digits"
        );
        let r = OuiTable::parse_csv("MA-L,123456,\"open,Y\n");
        assert!(
            matches!(&r, Err(Error::Invalid { what: "oui", field, reason }) if field == "line 1" && reason.contains("unterminated quoted field")),
            "{r:?}"
        );
        let r = OuiTable::parse_csv("MA-L,12345G,X,Y\n");
        assert!(
            matches!(&r, Err(Error::Invalid { what: "oui", field, reason }) if field == "line 1" && reason.contains("assignment is not hex")),
            "{r:?}"
        );
    }

    #[test]
    fn macs() {
        assert_eq!(
            parse_mac("000c29a1b2c3"),
            Some([0, 0x0c, 0x29, 0xa1, 0xb2, 0xc3])
        );
        assert_eq!(
            parse_mac("00:0C:29:A1:B2:C3"),
            Some([0, 0x0c, 0x29, 0xa1, 0xb2, 0xc3])
        );
        assert_eq!(parse_mac("000c29a1b2c"), None);
        assert_eq!(parse_mac("000c29a1b2c3d4"), None);
        assert_eq!(parse_mac("zz0c29a1b2c3"), None);
    }
}
