//! Template-driven data records: a list of [`FieldSpec`]s applied to the bytes of a data set.
//!
//! NetFlow v9 (RFC 3954 section 5.3) and IPFIX (RFC 7011 section 3.4.3) data records are the
//! concatenation of their fields' values in template order, with no per-record framing. IPFIX
//! adds variable-length fields (length 65535 in the template, RFC 7011 section 7): the value is
//! preceded by a one-byte length, or by 255 and a two-byte length. A data set ends with padding
//! shorter than the smallest possible record, which is not an error.

use crate::error::{Error, Layer, Result};

/// Template field length that marks an IPFIX variable-length field (RFC 7011 section 7).
pub const VARIABLE_LENGTH: u16 = 0xFFFF;

/// One field of a template: which Information Element, how long, whose.
///
/// `id` is the IANA Information Element identifier (RFC 7012 section 4; NetFlow v9 field type,
/// RFC 3954 section 8) or, with `enterprise != 0`, an enterprise-specific element of that
/// Private Enterprise Number (the template's enterprise bit already stripped from `id`).
/// `length` is in bytes, or [`VARIABLE_LENGTH`]. `scope` marks the scope fields of an options
/// template (for NetFlow v9, whose scope field types are a separate namespace: 1 System,
/// 2 Interface, 3 Line Card, 4 Cache, 5 Template).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FieldSpec {
    /// Information Element id (15 bits for IPFIX enterprise elements).
    pub id: u16,
    /// Field length in bytes, or [`VARIABLE_LENGTH`].
    pub length: u16,
    /// Private Enterprise Number; 0 for IANA elements.
    pub enterprise: u32,
    /// True for an options template's scope field.
    pub scope: bool,
}

impl FieldSpec {
    /// True for an IPFIX variable-length field.
    pub const fn is_variable(&self) -> bool {
        self.length == VARIABLE_LENGTH
    }
}

/// Decodes the data records of one data set (NetFlow v9 data flowset or IPFIX data set).
///
/// `fields` is the template; `data` the set's records (after the set header, padding
/// included); `offset` the absolute offset of `data[0]` in the datagram, for errors.
/// Iteration stops at the end of the data or when fewer bytes remain than the smallest possible
/// record (set padding, RFC 7011 section 3.3.1). A template whose records would be empty yields
/// nothing (RFC 3954 and RFC 7011 forbid it; decoding it would loop forever).
pub fn data_records<'t, 'a>(
    fields: &'t [FieldSpec],
    data: &'a [u8],
    offset: usize,
) -> DataRecords<'t, 'a> {
    let min_len = fields
        .iter()
        .map(|f| {
            if f.is_variable() {
                1
            } else {
                usize::from(f.length)
            }
        })
        .sum();
    DataRecords {
        fields,
        data,
        pos: 0,
        offset,
        min_len,
        fixed: !fields.iter().any(FieldSpec::is_variable),
        done: false,
    }
}

/// Iterator over the records of a data set; see [`data_records`]. After an `Err` (a
/// variable-length field running past the set) it yields `None`.
#[derive(Clone, Debug)]
pub struct DataRecords<'t, 'a> {
    fields: &'t [FieldSpec],
    data: &'a [u8],
    pos: usize,
    offset: usize,
    min_len: usize,
    /// No variable-length field: every record is `min_len` bytes.
    fixed: bool,
    done: bool,
}

impl<'t, 'a> Iterator for DataRecords<'t, 'a> {
    type Item = Result<DataRecord<'t, 'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.data.get(self.pos..).unwrap_or(&[]);
        if self.done || self.min_len == 0 || rest.len() < self.min_len {
            return None;
        }
        let start = self.pos;
        let mut pos = start;
        if self.fixed {
            // `rest` holds at least `min_len` bytes: the record is there, no field can fail.
            pos += self.min_len;
        } else {
            for f in self.fields {
                match field_extent(f, self.data, pos, self.offset) {
                    Ok((_, end)) => pos = end,
                    Err(e) => {
                        self.done = true;
                        return Some(Err(e));
                    }
                }
            }
        }
        self.pos = pos;
        let bytes = self.data.get(start..pos).unwrap_or(&[]);
        Some(Ok(DataRecord {
            fields: self.fields,
            bytes,
            offset: self.offset.saturating_add(start),
        }))
    }
}

/// Where the value of field `f` starting at `pos` lies: `(value_start, field_end)` in `data`.
fn field_extent(f: &FieldSpec, data: &[u8], pos: usize, base: usize) -> Result<(usize, usize)> {
    let truncated = |needed: usize| Error::Truncated {
        layer: Layer::FlowRecord,
        offset: base.saturating_add(pos),
        needed,
        available: data.len().saturating_sub(pos),
    };
    let (start, len) = if f.is_variable() {
        match data.get(pos).copied() {
            None => return Err(truncated(1)),
            Some(255) => {
                let hi = data.get(pos + 1).copied().ok_or_else(|| truncated(3))?;
                let lo = data.get(pos + 2).copied().ok_or_else(|| truncated(3))?;
                (pos + 3, usize::from(u16::from_be_bytes([hi, lo])))
            }
            Some(n) => (pos + 1, usize::from(n)),
        }
    } else {
        (pos, usize::from(f.length))
    };
    let end = start.checked_add(len).ok_or_else(|| truncated(len))?;
    if end > data.len() {
        return Err(truncated(end - pos));
    }
    Ok((start, end))
}

/// One data record: its template and its bytes.
#[derive(Clone, Copy, Debug)]
pub struct DataRecord<'t, 'a> {
    fields: &'t [FieldSpec],
    bytes: &'a [u8],
    offset: usize,
}

impl<'t, 'a> DataRecord<'t, 'a> {
    /// Absolute offset of the record in the datagram.
    pub const fn offset(&self) -> usize {
        self.offset
    }

    /// The record's bytes (all field values, variable-length prefixes included).
    pub const fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The fields with their values, in template order. A variable-length value excludes its
    /// length prefix.
    pub fn fields(&self) -> Fields<'t, 'a> {
        Fields {
            fields: self.fields.iter(),
            bytes: self.bytes,
            pos: 0,
        }
    }
}

/// Iterator over `(spec, value)` pairs of a [`DataRecord`].
#[derive(Clone, Debug)]
pub struct Fields<'t, 'a> {
    fields: core::slice::Iter<'t, FieldSpec>,
    bytes: &'a [u8],
    pos: usize,
}

impl<'t, 'a> Iterator for Fields<'t, 'a> {
    type Item = (FieldSpec, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let f = *self.fields.next()?;
        // The record was validated when it was cut out, so this cannot fail; stop if it does.
        let (start, end) = field_extent(&f, self.bytes, self.pos, 0).ok()?;
        self.pos = end;
        Some((f, self.bytes.get(start..end)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;
    use std::vec::Vec;

    const fn spec(id: u16, length: u16) -> FieldSpec {
        FieldSpec {
            id,
            length,
            enterprise: 0,
            scope: false,
        }
    }

    #[test]
    fn fixed_and_variable_fields_and_padding() {
        let fields = [spec(8, 4), spec(82, VARIABLE_LENGTH), spec(7, 2)];
        let data = [
            10, 0, 0, 1, 3, b'e', b't', b'h', 0, 80, // record 1: short-form length 3
            10, 0, 0, 2, 255, 0, 2, b'l', b'o', 1, 187, // record 2: long-form length 2
            0, 0, 0, // padding, shorter than the 7-byte minimum record
        ];
        let recs: Vec<_> = data_records(&fields, &data, 100).collect();
        assert_eq!(recs.len(), 2);
        let r1 = recs[0].as_ref().unwrap();
        assert_eq!(r1.offset(), 100);
        let v: Vec<_> = r1.fields().map(|(f, b)| (f.id, b.to_vec())).collect();
        assert_eq!(
            v,
            vec![
                (8, vec![10, 0, 0, 1]),
                (82, b"eth".to_vec()),
                (7, vec![0, 80])
            ]
        );
        let r2 = recs[1].as_ref().unwrap();
        assert_eq!(r2.offset(), 110);
        let names: Vec<_> = r2.fields().map(|(_, b)| b.to_vec()).collect();
        assert_eq!(names[1], b"lo".to_vec());
    }

    #[test]
    fn overrunning_variable_field_is_an_error_then_iteration_ends() {
        let fields = [spec(82, VARIABLE_LENGTH)];
        let data = [9, b'a', b'b'];
        let mut it = data_records(&fields, &data, 40);
        assert!(matches!(
            it.next(),
            Some(Err(Error::Truncated {
                layer: Layer::FlowRecord,
                offset: 40,
                ..
            }))
        ));
        assert!(it.next().is_none());
    }

    #[test]
    fn empty_templates_yield_nothing() {
        assert_eq!(data_records(&[], &[1, 2, 3], 0).count(), 0);
        let zero = [spec(1, 0)];
        assert_eq!(data_records(&zero, &[1, 2, 3], 0).count(), 0);
    }
}
