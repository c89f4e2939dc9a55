//! Sets (IPFIX, RFC 7011 section 3.3) and flowsets (NetFlow v9, RFC 3954 section 5.2), and the
//! template records they carry (RFC 7011 sections 3.4.1-3.4.2, RFC 3954 sections 5.2-6.1).
//!
//! Both protocols frame their payload the same way: a sequence of sets, each starting with a
//! 4-byte header (`set id` u16, `length` u16, big-endian, the length counting the header and any
//! padding). They differ in the set ids (NetFlow v9: 0 template, 1 options template, 2-255
//! reserved; IPFIX: 2 template, 3 options template, 0-1 and 4-255 reserved; both: 256 and above
//! data), in the options template layout, and in IPFIX's enterprise bit.

use super::record::FieldSpec;
use super::ReadExt;
use crate::error::{Error, Layer, Result};
use crate::reader::Reader;

/// Which protocol a set sequence belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// NetFlow v9 (RFC 3954).
    V9,
    /// IPFIX (RFC 7011).
    Ipfix,
}

impl Flavor {
    const fn layer(self) -> Layer {
        match self {
            Flavor::V9 => Layer::NetflowV9,
            Flavor::Ipfix => Layer::Ipfix,
        }
    }
}

/// True when `bytes` holds only zeros (or nothing): trailing padding.
fn all_zero(bytes: &[u8]) -> bool {
    bytes.iter().all(|&b| b == 0)
}

/// Iterator over the sets of a NetFlow v9 packet or an IPFIX message.
///
/// Yields `Ok(Set)` per set in wire order. Iteration ends cleanly at the end of the buffer, when
/// fewer than 4 bytes remain, or when the rest is all zero bytes (padding some exporters append
/// after the last set). A set whose `length` is below 4 or runs past the end of the message
/// yields one `Err` ([`Error::Invalid`] with field `"length"`, or [`Error::Truncated`]), after
/// which the iterator is fused and yields `None`.
#[derive(Clone, Debug)]
pub struct Sets<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
    flavor: Flavor,
    done: bool,
}

impl<'a> Sets<'a> {
    /// Sets in `buf`, whose first byte sits at absolute offset `base`.
    pub(crate) const fn new(buf: &'a [u8], base: usize, flavor: Flavor) -> Self {
        Sets {
            buf,
            pos: 0,
            base,
            flavor,
            done: false,
        }
    }
}

impl<'a> Iterator for Sets<'a> {
    type Item = Result<Set<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let rest = self.buf.get(self.pos..).unwrap_or(&[]);
        if rest.len() < 4 || all_zero(rest) {
            self.done = true;
            return None;
        }
        let at = self.base.saturating_add(self.pos);
        let mut r = Reader::new(rest, at, self.flavor.layer());
        let parsed = (|| {
            let id = r.u16()?;
            let len = r.u16()?;
            if len < 4 {
                return Err(r.invalid_at(at.saturating_add(2), "length", u64::from(len)));
            }
            let body_len = usize::from(len) - 4;
            let body_off = r.offset();
            let body = r.bytes(body_len).map_err(|_| Error::Truncated {
                layer: self.flavor.layer(),
                offset: at,
                needed: usize::from(len),
                available: rest.len(),
            })?;
            Ok((id, len, body, body_off))
        })();
        match parsed {
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
            Ok((id, len, body, body_off)) => {
                self.pos = self.pos.saturating_add(usize::from(len));
                Some(Ok(Set::classify(self.flavor, id, body, body_off, at)))
            }
        }
    }
}

impl core::iter::FusedIterator for Sets<'_> {}

/// One set (IPFIX) or flowset (NetFlow v9).
#[derive(Clone, Copy, Debug)]
pub enum Set<'a> {
    /// Template set: NetFlow v9 flowset id 0 (RFC 3954 section 5.2), IPFIX set id 2
    /// (RFC 7011 section 3.4.1).
    Templates(TemplateSet<'a>),
    /// Options template set: NetFlow v9 flowset id 1 (RFC 3954 section 6.1), IPFIX set id 3
    /// (RFC 7011 section 3.4.2.2).
    OptionsTemplates(TemplateSet<'a>),
    /// Data set: set id 256 and above, equal to the id of the template describing it
    /// (RFC 3954 section 5.3, RFC 7011 section 3.4.3).
    Data(DataSet<'a>),
    /// A set id reserved by the protocol (NetFlow v9: 2-255; IPFIX: 0, 1, 4-255). Its contents
    /// are skipped; `offset` is the absolute offset of its set header.
    Reserved {
        /// The set id.
        id: u16,
        /// Absolute offset of the set header.
        offset: usize,
    },
}

impl<'a> Set<'a> {
    fn classify(flavor: Flavor, id: u16, body: &'a [u8], body_off: usize, at: usize) -> Self {
        let tset = |options| TemplateSet {
            data: body,
            offset: body_off,
            flavor,
            options,
            set_id: id,
        };
        match (flavor, id) {
            (Flavor::V9, 0) | (Flavor::Ipfix, 2) => Set::Templates(tset(false)),
            (Flavor::V9, 1) | (Flavor::Ipfix, 3) => Set::OptionsTemplates(tset(true)),
            (_, 256..) => Set::Data(DataSet {
                template_id: id,
                data: body,
                offset: body_off,
            }),
            _ => Set::Reserved { id, offset: at },
        }
    }
}

/// A data set: records of the template whose id is the set id, to be decoded with
/// [`super::data_records`] once that template is known.
#[derive(Clone, Copy, Debug)]
pub struct DataSet<'a> {
    template_id: u16,
    data: &'a [u8],
    offset: usize,
}

impl<'a> DataSet<'a> {
    /// The set id, which is the id of the template describing the records (256-65535).
    pub const fn template_id(&self) -> u16 {
        self.template_id
    }

    /// The records, after the 4-byte set header, trailing padding included.
    pub const fn data(&self) -> &'a [u8] {
        self.data
    }

    /// Absolute offset of `data()[0]` in the datagram.
    pub const fn offset(&self) -> usize {
        self.offset
    }
}

/// A (options) template set: the template records after the set header.
#[derive(Clone, Copy, Debug)]
pub struct TemplateSet<'a> {
    data: &'a [u8],
    offset: usize,
    flavor: Flavor,
    options: bool,
    set_id: u16,
}

impl<'a> TemplateSet<'a> {
    /// True for an options template set.
    pub const fn is_options(&self) -> bool {
        self.options
    }

    /// The set id (NetFlow v9: 0 or 1; IPFIX: 2 or 3).
    pub const fn set_id(&self) -> u16 {
        self.set_id
    }

    /// Absolute offset of the first template record.
    pub const fn offset(&self) -> usize {
        self.offset
    }

    /// The template records of the set, in wire order.
    pub const fn templates(&self) -> Templates<'a> {
        Templates {
            data: self.data,
            pos: 0,
            base: self.offset,
            flavor: self.flavor,
            options: self.options,
            done: false,
        }
    }
}

/// Iterator over the template records of a [`TemplateSet`].
///
/// Record layouts (all fields u16, big-endian):
/// - NetFlow v9 template (RFC 3954 section 5.2): `template id`, `field count`, then per field
///   `type`, `length`.
/// - NetFlow v9 options template (RFC 3954 section 6.1): `template id`, `option scope length`,
///   `option length` (both in **bytes**, 4 per field), then the scope fields (types 1 System,
///   2 Interface, 3 Line Card, 4 Cache, 5 Template; marked [`FieldSpec::scope`]) and the option
///   fields. Lengths that are not multiples of 4 are rounded down, as Cisco exporters pad them.
/// - IPFIX template (RFC 7011 section 3.4.1): `template id`, `field count`, then per field
///   `E|element id`, `length`, and a u32 enterprise number when the E bit (0x8000) is set.
/// - IPFIX options template (RFC 7011 section 3.4.2.2): `template id`, `field count`,
///   `scope field count` (non-zero), then the fields, scope fields first.
/// - IPFIX withdrawals (RFC 7011 section 8.1): `template id`, field count 0 (4 bytes, no scope
///   count); template id 2 or 3 withdraws all (options) templates.
///
/// Fewer than 4 remaining bytes, or only zero bytes, end the iteration (set padding). A record
/// running past the set yields [`Error::Truncated`]; a template id below 256 (other than an
/// IPFIX withdraw-all) or an IPFIX scope count of 0 or above the field count yields
/// [`Error::Invalid`] (layer [`Layer::Template`]). The iterator is fused after an error.
#[derive(Clone, Debug)]
pub struct Templates<'a> {
    data: &'a [u8],
    pos: usize,
    base: usize,
    flavor: Flavor,
    options: bool,
    done: bool,
}

impl<'a> Templates<'a> {
    fn parse_one(&self, rest: &'a [u8]) -> Result<(TemplateDef<'a>, usize)> {
        let at = self.base.saturating_add(self.pos);
        let mut r = Reader::new(rest, at, Layer::Template);
        let template_id = r.u16()?;
        let (field_count, scope_field_count) = match (self.flavor, self.options) {
            (Flavor::V9, false) => (r.u16()?, 0),
            (Flavor::V9, true) => {
                let scope_len = r.u16()?;
                let opt_len = r.u16()?;
                let scope = scope_len / 4;
                (scope.saturating_add(opt_len / 4), scope)
            }
            (Flavor::Ipfix, false) => (r.u16()?, 0),
            (Flavor::Ipfix, true) => {
                let count = r.u16()?;
                if count == 0 {
                    (0, 0)
                } else {
                    let scope_off = r.offset();
                    let scope = r.u16()?;
                    if scope == 0 || scope > count {
                        return Err(r.invalid_at(scope_off, "scope field count", u64::from(scope)));
                    }
                    (count, scope)
                }
            }
        };
        let withdrawal = self.flavor == Flavor::Ipfix && field_count == 0;
        let withdraw_all = withdrawal && (template_id == 2 || template_id == 3);
        if template_id < 256 && !withdraw_all {
            return Err(r.invalid_at(at, "template id", u64::from(template_id)));
        }
        let fields_start = r.offset();
        let fields_pos = rest.len() - r.remaining();
        for _ in 0..field_count {
            let id = r.u16()?;
            r.skip(2)?;
            if self.flavor == Flavor::Ipfix && id & 0x8000 != 0 {
                r.skip(4)?;
            }
        }
        let end = rest.len() - r.remaining();
        let fields = rest.get(fields_pos..end).unwrap_or(&[]);
        Ok((
            TemplateDef {
                template_id,
                field_count,
                scope_field_count,
                fields,
                offset: at,
                fields_offset: fields_start,
                flavor: self.flavor,
                options: self.options,
            },
            end,
        ))
    }
}

impl<'a> Iterator for Templates<'a> {
    type Item = Result<TemplateDef<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let rest = self.data.get(self.pos..).unwrap_or(&[]);
        if rest.len() < 4 || all_zero(rest) {
            self.done = true;
            return None;
        }
        match self.parse_one(rest) {
            Ok((t, used)) => {
                self.pos = self.pos.saturating_add(used);
                Some(Ok(t))
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

impl core::iter::FusedIterator for Templates<'_> {}

/// One template or options template record, validated: its fields lie within the set.
#[derive(Clone, Copy, Debug)]
pub struct TemplateDef<'a> {
    template_id: u16,
    field_count: u16,
    scope_field_count: u16,
    fields: &'a [u8],
    offset: usize,
    fields_offset: usize,
    flavor: Flavor,
    options: bool,
}

impl<'a> TemplateDef<'a> {
    /// Template id (256-65535; or 2/3 for an IPFIX withdraw-all record).
    pub const fn template_id(&self) -> u16 {
        self.template_id
    }

    /// Number of fields, scope fields included.
    pub const fn field_count(&self) -> u16 {
        self.field_count
    }

    /// Number of scope fields (options templates only; 0 otherwise).
    pub const fn scope_field_count(&self) -> u16 {
        self.scope_field_count
    }

    /// True for an options template.
    pub const fn is_options(&self) -> bool {
        self.options
    }

    /// IPFIX template withdrawal (field count 0, RFC 7011 section 8.1). With
    /// [`template_id`](Self::template_id) 2 (template set) or 3 (options template set) it
    /// withdraws all templates of that kind. NetFlow v9 has no withdrawals: always false.
    pub const fn is_withdrawal(&self) -> bool {
        matches!(self.flavor, Flavor::Ipfix) && self.field_count == 0
    }

    /// Absolute offset of the template record.
    pub const fn offset(&self) -> usize {
        self.offset
    }

    /// Absolute offset of the first field specifier.
    pub const fn fields_offset(&self) -> usize {
        self.fields_offset
    }

    /// The field specifiers, in template order (scope fields first), enterprise bit stripped.
    pub fn fields(&self) -> TemplateFields<'a> {
        TemplateFields {
            bytes: self.fields,
            pos: 0,
            index: 0,
            scope_count: self.scope_field_count,
            flavor: self.flavor,
        }
    }
}

/// Iterator over the [`FieldSpec`]s of a [`TemplateDef`] (already bounds-checked).
#[derive(Clone, Debug)]
pub struct TemplateFields<'a> {
    bytes: &'a [u8],
    pos: usize,
    index: u16,
    scope_count: u16,
    flavor: Flavor,
}

impl Iterator for TemplateFields<'_> {
    type Item = FieldSpec;

    fn next(&mut self) -> Option<FieldSpec> {
        let mut r = Reader::new(self.bytes.get(self.pos..)?, 0, Layer::Template);
        let raw = r.u16().ok()?;
        let length = r.u16().ok()?;
        let (id, enterprise) = if self.flavor == Flavor::Ipfix && raw & 0x8000 != 0 {
            (raw & 0x7FFF, r.u32().ok()?)
        } else {
            (raw, 0)
        };
        self.pos = self
            .pos
            .saturating_add(self.bytes.get(self.pos..)?.len() - r.remaining());
        let scope = self.index < self.scope_count;
        self.index = self.index.saturating_add(1);
        Some(FieldSpec {
            id,
            length,
            enterprise,
            scope,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let rest = self.bytes.len().saturating_sub(self.pos);
        (0, Some(rest / 4))
    }
}

impl core::iter::FusedIterator for TemplateFields<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    #[test]
    fn ipfix_sets_padding_and_errors() {
        // template set with one template (id 256, one enterprise field), then 3 bytes padding
        let buf = [
            0, 2, 0, 16, 1, 0, 0, 1, 0x80, 5, 0, 4, 0, 0, 0x72, 0x79, 0, 0, 0,
        ];
        let sets: Vec<_> = Sets::new(&buf, 16, Flavor::Ipfix).collect();
        assert_eq!(sets.len(), 1);
        let Ok(Set::Templates(ts)) = sets[0] else {
            panic!("not a template set")
        };
        let t: Vec<_> = ts.templates().collect();
        assert_eq!(t.len(), 1);
        let t = t[0].unwrap();
        assert_eq!(t.template_id(), 256);
        assert_eq!(t.offset(), 20);
        let f: Vec<_> = t.fields().collect();
        assert_eq!(
            f,
            [FieldSpec {
                id: 5,
                length: 4,
                enterprise: 29305,
                scope: false
            }]
        );
        let bad = [0, 2, 0, 3, 0, 0];
        let mut it = Sets::new(&bad, 0, Flavor::Ipfix);
        assert!(matches!(
            it.next(),
            Some(Err(Error::Invalid {
                field: "length",
                offset: 2,
                ..
            }))
        ));
        assert!(it.next().is_none());
    }

    #[test]
    fn v9_options_template_scope_in_bytes() {
        // options template 257: scope length 4 (System, 4), option length 8 (34/4, 36/2)
        let body = [1, 1, 0, 4, 0, 8, 0, 1, 0, 4, 0, 34, 0, 4, 0, 36, 0, 2, 0, 0];
        let ts = TemplateSet {
            data: &body,
            offset: 24,
            flavor: Flavor::V9,
            options: true,
            set_id: 1,
        };
        let t: Vec<_> = ts.templates().collect();
        assert_eq!(t.len(), 1);
        let t = t[0].unwrap();
        assert_eq!(
            (t.template_id(), t.field_count(), t.scope_field_count()),
            (257, 3, 1)
        );
        let f: Vec<_> = t.fields().map(|f| (f.id, f.length, f.scope)).collect();
        assert_eq!(f, [(1, 4, true), (34, 4, false), (36, 2, false)]);
    }

    #[test]
    fn ipfix_options_templates_and_withdrawals() {
        // options template 258: 2 fields, 1 scope (observationDomainId 149/4), then 34/4;
        // then a withdrawal of 259 and a withdraw-all (id 3); then 2 bytes of padding.
        let body = [
            1, 2, 0, 2, 0, 1, 0, 149, 0, 4, 0, 34, 0, 4, 1, 3, 0, 0, 0, 3, 0, 0, 0, 0,
        ];
        let ts = TemplateSet {
            data: &body,
            offset: 20,
            flavor: Flavor::Ipfix,
            options: true,
            set_id: 3,
        };
        let t: Vec<_> = ts.templates().map(|t| t.unwrap()).collect();
        assert_eq!(t.len(), 3);
        assert_eq!(
            (
                t[0].template_id(),
                t[0].field_count(),
                t[0].scope_field_count()
            ),
            (258, 2, 1)
        );
        let f: Vec<_> = t[0].fields().map(|f| (f.id, f.scope)).collect();
        assert_eq!(f, [(149, true), (34, false)]);
        assert!(!t[0].is_withdrawal());
        assert!(t[1].is_withdrawal() && t[1].template_id() == 259);
        assert!(t[2].is_withdrawal() && t[2].template_id() == 3);
        assert_eq!(t[2].offset(), 20 + 18);
        // A scope count above the field count is invalid.
        let bad = [1, 2, 0, 1, 0, 2, 0, 8, 0, 4];
        let ts = TemplateSet { data: &bad, ..ts };
        assert!(matches!(
            ts.templates().next(),
            Some(Err(Error::Invalid {
                layer: Layer::Template,
                field: "scope field count",
                offset: 24,
                ..
            }))
        ));
    }
}
