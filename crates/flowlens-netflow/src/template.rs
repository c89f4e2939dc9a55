//! The NetFlow v9 / IPFIX template cache: bounded, LRU-evicted, persistable.
//!
//! Templates are keyed by [`TemplateKey`]: exporter address, protocol, source id / observation
//! domain and template id (RFC 3954 section 5.1 and RFC 7011 section 8 scope templates to the
//! exporter's transport session and observation domain; over UDP the exporter address stands in
//! for the session). Memory is bounded by [`Limits::max_templates`] (global) and
//! [`Limits::max_templates_per_exporter`]; when a cap is reached the least recently used
//! template (of that exporter, for the per-exporter cap) is evicted and counted in
//! [`CacheStats`]. Templates with more than [`Limits::max_fields_per_template`] fields, or
//! whose smallest record cannot fit a 65 535-byte datagram, are refused and counted.
//!
//! # Snapshot format (version 1)
//!
//! [`TemplateCache::snapshot`] writes UTF-8 JSON:
//!
//! ```text
//! {"format":"flowlens-template-cache","version":1,"checksum":"<16 hex digits>",
//!  "templates":[{"exporter":"192.0.2.1","protocol":"ipfix","domain":123,"template_id":256,
//!                "options":false,"scope_field_count":0,"learned_at_ms":1700000000000,
//!                "fields":[[id,length,enterprise],...]}, ...]}
//! ```
//!
//! `checksum` is the FNV-1a 64-bit hash of the compact JSON text of the `templates` array, so a
//! truncated or edited file is detected. Templates are listed least recently used first, so a
//! restore with smaller limits keeps the most recently used ones. [`TemplateCache::restore`]
//! rejects anything else (foreign format, unknown version, bad checksum, invalid fields) with
//! [`Error::Snapshot`]; it never panics.
//!
//! Both directions stream: [`TemplateCache::write_snapshot`] writes template by template to
//! any `Write` (hashing in a first pass, so the checksum can lead), and
//! [`TemplateCache::restore_from`] inserts each template as it is read from any `Read`, so
//! saving or restoring takes memory for one template beside the cache, not a copy of it.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use flowlens_wire::netflow::{FieldSpec, VARIABLE_LENGTH};
use std::io::Write;

use serde_json::Value as Json;

use crate::hash::{map, Map};
use crate::keys::Plan;
use crate::{Error, Protocol};

/// Snapshot format name (the `format` member).
pub const SNAPSHOT_FORMAT: &str = "flowlens-template-cache";
/// Snapshot format version written by this crate.
pub const SNAPSHOT_VERSION: u64 = 1;
/// Largest datagram a record must fit in (bytes): the UDP payload limit.
pub const MAX_DATAGRAM_LEN: usize = 65_535;

/// Where a template belongs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TemplateKey {
    /// Exporter address (the datagram's source).
    pub exporter: IpAddr,
    /// NetFlow v9 or IPFIX.
    pub protocol: Protocol,
    /// NetFlow v9 source id or IPFIX observation domain id.
    pub domain: u32,
    /// Template id (256..=65535).
    pub template_id: u16,
}

/// A cached template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    /// The fields in record order, scope fields first.
    pub fields: Vec<FieldSpec>,
    /// Number of scope fields (options templates; 0 otherwise).
    pub scope_field_count: u16,
    /// True for an options template.
    pub options: bool,
    /// When it was first learned (caller's clock, ms).
    pub learned_at_ms: u64,
    /// When it was last (re)announced (caller's clock, ms).
    pub refreshed_at_ms: u64,
}

impl Template {
    /// The smallest possible record, in bytes (variable-length fields count 1).
    pub fn min_record_len(&self) -> usize {
        min_record_len(&self.fields)
    }

    /// Approximate heap and table bytes this entry costs.
    pub fn cost_bytes(&self) -> usize {
        ENTRY_OVERHEAD + self.fields.len() * core::mem::size_of::<FieldSpec>()
    }
}

/// Per-entry bookkeeping cost counted on top of the fields (key, LRU indices, hash slots).
const ENTRY_OVERHEAD: usize = 160;

pub(crate) fn min_record_len(fields: &[FieldSpec]) -> usize {
    fields
        .iter()
        .map(|f| {
            if f.length == VARIABLE_LENGTH {
                1
            } else {
                usize::from(f.length)
            }
        })
        .sum()
}

/// Caps for the template cache and the pending-data buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most templates held in total.
    pub max_templates: usize,
    /// Most templates held per exporter address.
    pub max_templates_per_exporter: usize,
    /// Most fields a template may declare; larger ones are refused.
    pub max_fields_per_template: usize,
    /// Most bytes of not-yet-decodable data sets held in total.
    pub pending_max_bytes: usize,
    /// Most bytes of not-yet-decodable data sets held per exporter.
    pub pending_max_bytes_per_exporter: usize,
    /// How long a data set waits for its template (ms) before it is dropped and counted.
    pub pending_ttl_ms: u64,
    /// Most sampler entries (exporter, domain, sampler id) held.
    pub max_samplers: usize,
}

impl Default for Limits {
    /// 65 536 templates (256 per exporter), 512 fields per template, 4 MiB of pending data
    /// (256 KiB per exporter) kept for 60 s, 65 536 samplers.
    fn default() -> Self {
        Limits {
            max_templates: 65_536,
            max_templates_per_exporter: 256,
            max_fields_per_template: 512,
            pending_max_bytes: 4 << 20,
            pending_max_bytes_per_exporter: 256 << 10,
            pending_ttl_ms: 60_000,
            max_samplers: 65_536,
        }
    }
}

impl Limits {
    /// Checks the limits are usable.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |limit| Err(Error::InvalidLimits { limit });
        if self.max_templates == 0 {
            return bad("max_templates is 0");
        }
        if self.max_templates_per_exporter == 0
            || self.max_templates_per_exporter > self.max_templates
        {
            return bad("max_templates_per_exporter must be in 1..=max_templates");
        }
        if self.max_fields_per_template == 0 {
            return bad("max_fields_per_template is 0");
        }
        if self.pending_max_bytes_per_exporter > self.pending_max_bytes {
            return bad("pending_max_bytes_per_exporter exceeds pending_max_bytes");
        }
        if self.max_samplers == 0 {
            return bad("max_samplers is 0");
        }
        Ok(())
    }
}

/// Counters of the template cache. All counts since creation (not restored from snapshots).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStats {
    /// Templates currently held.
    pub templates: usize,
    /// Approximate bytes they cost ([`Template::cost_bytes`] summed).
    pub bytes: usize,
    /// New templates learned.
    pub learned: u64,
    /// Identical templates re-announced.
    pub refreshed: u64,
    /// Templates replaced by a different definition under the same key.
    pub replaced: u64,
    /// Templates withdrawn by the exporter (one per template removed).
    pub withdrawn: u64,
    /// Evicted because the global cap was reached.
    pub evicted_global_cap: u64,
    /// Evicted because the exporter's cap was reached.
    pub evicted_exporter_cap: u64,
    /// Refused: more fields than [`Limits::max_fields_per_template`].
    pub rejected_too_many_fields: u64,
    /// Refused: smallest record longer than a datagram can carry.
    pub rejected_too_long: u64,
    /// Refused: records would be empty (all fields of length 0).
    pub rejected_empty: u64,
}

/// What [`TemplateCache::insert`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TemplateChange {
    /// A template not held before.
    Learned,
    /// The identical template again.
    Refreshed,
    /// A different template under the same key.
    Replaced,
    /// Withdrawn (removed) by the exporter.
    Withdrawn,
    /// Refused (see [`Error::TemplateRejected`]).
    Rejected,
}

struct Entry {
    template: Template,
    /// The template compiled for key extraction.
    plan: Plan,
    /// When it was last used (LRU tick).
    tick: u64,
    /// Its position in the global LRU index (≤ `tick`: touches do not move it).
    lru_pos: u64,
    /// Its position in its exporter's LRU index (≤ `tick`).
    exp_pos: u64,
}

/// The bounded template cache. See the module docs.
pub struct TemplateCache {
    limits: Limits,
    entries: Map<TemplateKey, Entry>,
    /// Global LRU order: position → key. A touch only updates the entry's tick; an entry whose
    /// position is older than its tick is moved to its tick when it reaches the front during
    /// eviction (at most once per touch), so the victim is still the least recently used.
    lru: BTreeMap<u64, TemplateKey>,
    /// Per-exporter LRU order.
    per_exporter: Map<IpAddr, BTreeMap<u64, TemplateKey>>,
    /// Exporters by how many templates they hold: at the global cap the largest holder gives
    /// one up, so a flood of exporters cannot push out the templates of the others.
    by_count: BTreeSet<(usize, IpAddr)>,
    tick: u64,
    stats: CacheStats,
}

impl core::fmt::Debug for TemplateCache {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TemplateCache")
            .field("limits", &self.limits)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl TemplateCache {
    /// An empty cache with these limits.
    pub fn new(limits: Limits) -> Result<Self, Error> {
        limits.validate()?;
        Ok(TemplateCache {
            limits,
            entries: map(),
            lru: BTreeMap::new(),
            per_exporter: map(),
            by_count: BTreeSet::new(),
            tick: 0,
            stats: CacheStats::default(),
        })
    }

    /// The limits in force.
    pub const fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Counters, with the current entry count and bytes.
    pub fn stats(&self) -> CacheStats {
        self.stats
    }

    /// Number of templates held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no template is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Number of exporters with at least one template.
    pub fn exporters(&self) -> usize {
        self.per_exporter.len()
    }

    /// The template under `key`, without touching its LRU position.
    pub fn get(&self, key: &TemplateKey) -> Option<&Template> {
        self.entries.get(key).map(|e| &e.template)
    }

    /// Marks `key` as just used (LRU). Returns false if it is not held.
    pub fn touch(&mut self, key: &TemplateKey) -> bool {
        self.touch_get(key).is_some()
    }

    /// Marks `key` as just used (LRU) and returns its template and compiled plan.
    pub(crate) fn touch_get(&mut self, key: &TemplateKey) -> Option<(&Template, &Plan)> {
        let tick = self.next_tick();
        let e = self.entries.get_mut(key)?;
        e.tick = tick;
        Some((&e.template, &e.plan))
    }

    /// The least recently used template (of `exporter` when given), re-filing touched entries
    /// met on the way.
    fn lru_victim(&mut self, exporter: Option<IpAddr>) -> Option<TemplateKey> {
        let index = match exporter {
            Some(a) => self.per_exporter.get_mut(&a)?,
            None => &mut self.lru,
        };
        loop {
            let (&pos, &k) = index.first_key_value()?;
            let Some(e) = self.entries.get_mut(&k) else {
                index.remove(&pos);
                continue;
            };
            if e.tick == pos {
                return Some(k);
            }
            index.remove(&pos);
            index.insert(e.tick, k);
            match exporter {
                Some(_) => e.exp_pos = e.tick,
                None => e.lru_pos = e.tick,
            }
        }
    }

    /// All templates, least recently used first.
    pub fn iter(&self) -> impl Iterator<Item = (&TemplateKey, &Template)> + '_ {
        let mut all: Vec<_> = self.entries.iter().collect();
        all.sort_unstable_by_key(|(_, e)| e.tick);
        all.into_iter().map(|(k, e)| (k, &e.template))
    }

    fn next_tick(&mut self) -> u64 {
        self.tick += 1;
        self.tick
    }

    /// Refreshes template `key` when it is held with exactly these fields, scope field count
    /// and kind (an exporter's periodic re-send), as [`TemplateCache::insert`] would, without
    /// building a field list; false (nothing changed) when it is not held or differs.
    pub fn refresh_same(
        &mut self,
        key: &TemplateKey,
        fields: impl Iterator<Item = FieldSpec>,
        scope_field_count: u16,
        options: bool,
        now_ms: u64,
    ) -> bool {
        let Some(e) = self.entries.get_mut(key) else {
            return false;
        };
        let same = e.template.options == options
            && e.template.scope_field_count == scope_field_count
            && e.template.fields.iter().copied().eq(fields);
        if !same {
            return false;
        }
        e.template.refreshed_at_ms = now_ms;
        self.stats.refreshed += 1;
        self.touch(key);
        true
    }

    /// Learns (or refreshes, or replaces) a template at `now_ms`. `offset` is only used in the
    /// error. Absurd templates are refused, counted and reported as
    /// [`Error::TemplateRejected`].
    pub fn insert(
        &mut self,
        key: TemplateKey,
        fields: Vec<FieldSpec>,
        scope_field_count: u16,
        options: bool,
        now_ms: u64,
        offset: usize,
    ) -> Result<TemplateChange, Error> {
        let reject = |reason| Error::TemplateRejected {
            template_id: key.template_id,
            offset,
            reason,
        };
        if fields.len() > self.limits.max_fields_per_template {
            self.stats.rejected_too_many_fields += 1;
            return Err(reject("too many fields"));
        }
        let min = min_record_len(&fields);
        if min == 0 {
            self.stats.rejected_empty += 1;
            return Err(reject("records would be empty"));
        }
        if min > MAX_DATAGRAM_LEN {
            self.stats.rejected_too_long += 1;
            return Err(reject("record cannot fit a datagram"));
        }
        if let Some(e) = self.entries.get_mut(&key) {
            let same = e.template.fields == fields
                && e.template.options == options
                && e.template.scope_field_count == scope_field_count;
            let change = if same {
                e.template.refreshed_at_ms = now_ms;
                self.stats.refreshed += 1;
                TemplateChange::Refreshed
            } else {
                self.stats.bytes = self.stats.bytes.saturating_sub(e.template.cost_bytes());
                e.plan = Plan::compile(&fields, key.protocol == Protocol::NetflowV9);
                e.template = Template {
                    fields,
                    scope_field_count,
                    options,
                    learned_at_ms: now_ms,
                    refreshed_at_ms: now_ms,
                };
                self.stats.bytes += e.template.cost_bytes();
                self.stats.replaced += 1;
                TemplateChange::Replaced
            };
            self.touch(&key);
            return Ok(change);
        }
        // Make room: exporter cap first, then the global cap.
        let held = self
            .per_exporter
            .get(&key.exporter)
            .map_or(0, BTreeMap::len);
        if held >= self.limits.max_templates_per_exporter {
            if let Some(v) = self.lru_victim(Some(key.exporter)) {
                self.remove(&v);
                self.stats.evicted_exporter_cap += 1;
            }
        }
        while self.entries.len() >= self.limits.max_templates {
            // Fair shares: the least recently used template goes if its exporter is one of
            // the largest holders; otherwise a largest holder gives up its least recently
            // used one. A flood of spoofed exporters thus evicts among itself, while an
            // exporter holding fewer templates than the largest keeps its own.
            let Some(v) = self.fair_victim() else {
                break;
            };
            self.remove(&v);
            self.stats.evicted_global_cap += 1;
        }
        let template = Template {
            fields,
            scope_field_count,
            options,
            learned_at_ms: now_ms,
            refreshed_at_ms: now_ms,
        };
        self.put(key, template);
        self.stats.learned += 1;
        Ok(TemplateChange::Learned)
    }

    fn put(&mut self, key: TemplateKey, template: Template) {
        let tick = self.next_tick();
        self.stats.bytes += template.cost_bytes();
        let plan = Plan::compile(&template.fields, key.protocol == Protocol::NetflowV9);
        self.entries.insert(
            key,
            Entry {
                template,
                plan,
                tick,
                lru_pos: tick,
                exp_pos: tick,
            },
        );
        self.lru.insert(tick, key);
        let held = self.per_exporter.entry(key.exporter).or_default();
        let before = held.len();
        held.insert(tick, key);
        let after = held.len();
        self.recount(key.exporter, before, after);
        self.stats.templates = self.entries.len();
    }

    /// The template to evict at the global cap (see [`TemplateCache::insert`]).
    fn fair_victim(&mut self) -> Option<TemplateKey> {
        let lru = self.lru_victim(None)?;
        let &(most, largest) = self.by_count.last()?;
        let held = self
            .per_exporter
            .get(&lru.exporter)
            .map_or(0, BTreeMap::len);
        if held >= most {
            Some(lru)
        } else {
            self.lru_victim(Some(largest))
        }
    }

    /// Moves `exporter` in [`TemplateCache::by_count`] from `before` to `after` templates.
    fn recount(&mut self, exporter: IpAddr, before: usize, after: usize) {
        if before == after {
            return;
        }
        self.by_count.remove(&(before, exporter));
        if after > 0 {
            self.by_count.insert((after, exporter));
        }
    }

    fn remove(&mut self, key: &TemplateKey) -> Option<Template> {
        let e = self.entries.remove(key)?;
        self.lru.remove(&e.lru_pos);
        if let Some(m) = self.per_exporter.get_mut(&key.exporter) {
            let before = m.len();
            m.remove(&e.exp_pos);
            let after = m.len();
            if m.is_empty() {
                self.per_exporter.remove(&key.exporter);
            }
            self.recount(key.exporter, before, after);
        }
        self.stats.bytes = self.stats.bytes.saturating_sub(e.template.cost_bytes());
        self.stats.templates = self.entries.len();
        Some(e.template)
    }

    /// Counts a template refused before its fields were stored (more than
    /// [`Limits::max_fields_per_template`]) and returns the error to report.
    pub(crate) fn refuse_too_many_fields(&mut self, template_id: u16, offset: usize) -> Error {
        self.stats.rejected_too_many_fields += 1;
        Error::TemplateRejected {
            template_id,
            offset,
            reason: "too many fields",
        }
    }

    /// Withdraws one template (IPFIX field count 0, RFC 7011 section 8.1). Returns whether it
    /// was held.
    pub fn withdraw(&mut self, key: &TemplateKey) -> bool {
        let held = self.remove(key).is_some();
        if held {
            self.stats.withdrawn += 1;
        }
        held
    }

    /// Withdraws all templates (`options` false: template set id 2 "withdraw all templates";
    /// true: set id 3, all options templates) of one exporter's domain. Returns how many.
    pub fn withdraw_all(
        &mut self,
        exporter: IpAddr,
        protocol: Protocol,
        domain: u32,
        options: bool,
    ) -> usize {
        let victims: Vec<TemplateKey> = self
            .per_exporter
            .get(&exporter)
            .map(|m| {
                m.values()
                    .filter(|k| k.protocol == protocol && k.domain == domain)
                    .filter(|k| {
                        self.entries
                            .get(k)
                            .is_some_and(|e| e.template.options == options)
                    })
                    .copied()
                    .collect()
            })
            .unwrap_or_default();
        for v in &victims {
            self.withdraw(v);
        }
        victims.len()
    }

    /// Serialises every template (see the module docs for the format) into one buffer of
    /// exactly the snapshot's size. To write a file, prefer
    /// [`write_snapshot`](Self::write_snapshot), which needs no buffer.
    pub fn snapshot(&self) -> Vec<u8> {
        let mut n = Digest::default();
        // Neither sink can fail: counting, then a vector.
        let _ = self.write_snapshot(&mut n);
        let mut v = Vec::with_capacity(n.len);
        let _ = self.write_snapshot(&mut v);
        v
    }

    /// Streams the snapshot (see the module docs for the format) to `w`, template by
    /// template: no copy of the cache is built, whatever its size (the checksum comes from a
    /// first pass that only hashes). Byte for byte what [`snapshot`](Self::snapshot) returns.
    ///
    /// # Errors
    /// Those of `w`.
    pub fn write_snapshot<W: Write>(&self, mut w: W) -> std::io::Result<()> {
        let mut h = Digest::default();
        self.write_templates(&mut h)?;
        write!(
            w,
            r#"{{"format":"{SNAPSHOT_FORMAT}","version":{SNAPSHOT_VERSION},"checksum":"{:016x}","templates":"#,
            h.hash
        )?;
        self.write_templates(&mut w)?;
        w.write_all(b"}")
    }

    /// The `templates` array as compact JSON.
    fn write_templates<W: Write>(&self, w: &mut W) -> std::io::Result<()> {
        w.write_all(b"[")?;
        for (i, (k, t)) in self.iter().enumerate() {
            if i > 0 {
                w.write_all(b",")?;
            }
            let fields = t.fields.iter().map(|f| (f.id, f.length, f.enterprise));
            write_entry(
                w,
                &k.exporter.to_string(),
                k.protocol.name(),
                (k.domain, k.template_id, t.options),
                (t.scope_field_count, t.learned_at_ms),
                fields,
            )?;
        }
        w.write_all(b"]")
    }

    /// Rebuilds a cache from [`snapshot`](Self::snapshot) bytes, under `limits` (templates
    /// beyond them are evicted and counted as at run time).
    ///
    /// # Errors
    /// [`Error::Snapshot`] for anything but a snapshot this crate wrote, intact.
    pub fn restore(bytes: &[u8], limits: Limits) -> Result<Self, Error> {
        restore_with(serde_json::Deserializer::from_slice(bytes), limits)
    }

    /// [`restore`](Self::restore) from a reader (a buffered file, say), template by template:
    /// beside the cache being rebuilt, only one template's entry is held at a time.
    ///
    /// # Errors
    /// As [`restore`](Self::restore); a read error is [`Error::Snapshot`] too.
    pub fn restore_from<R: std::io::Read>(reader: R, limits: Limits) -> Result<Self, Error> {
        restore_with(serde_json::Deserializer::from_reader(reader), limits)
    }
}

/// One entry of the `templates` array as compact JSON, the same text serde_json writes for it
/// (so version-1 checksums stay valid).
fn write_entry<W: Write>(
    w: &mut W,
    exporter: &str,
    protocol: &str,
    (domain, template_id, options): (u32, u16, bool),
    (scope_field_count, learned_at_ms): (u16, u64),
    fields: impl Iterator<Item = (u16, u16, u32)>,
) -> std::io::Result<()> {
    w.write_all(br#"{"exporter":"#)?;
    json_string(w, exporter)?;
    w.write_all(br#","protocol":"#)?;
    json_string(w, protocol)?;
    write!(
        w,
        r#","domain":{domain},"template_id":{template_id},"options":{options},"scope_field_count":{scope_field_count},"learned_at_ms":{learned_at_ms},"fields":["#
    )?;
    for (i, (id, length, enterprise)) in fields.enumerate() {
        if i > 0 {
            w.write_all(b",")?;
        }
        write!(w, "[{id},{length},{enterprise}]")?;
    }
    w.write_all(b"]}")
}

/// A JSON string as serde_json writes it.
fn json_string<W: Write>(w: &mut W, s: &str) -> std::io::Result<()> {
    serde_json::to_writer(w, s).map_err(std::io::Error::other)
}

/// Counts and hashes (FNV-1a, 64 bits) what is written to it.
struct Digest {
    hash: u64,
    len: usize,
}

impl Default for Digest {
    fn default() -> Self {
        Digest {
            hash: FNV_OFFSET,
            len: 0,
        }
    }
}

impl Write for Digest {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.hash = fnv1a_from(self.hash, buf);
        self.len += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One entry of the `templates` array as read.
#[derive(serde::Deserialize)]
struct SnapEntry {
    exporter: String,
    protocol: String,
    domain: u32,
    template_id: u16,
    options: bool,
    scope_field_count: u16,
    learned_at_ms: u64,
    fields: Vec<(u16, u16, u32)>,
}

impl SnapEntry {
    /// Its parts, validated as at run time (before the cache's own checks).
    fn parts(&self) -> Option<EntryParts> {
        let exporter: IpAddr = self.exporter.parse().ok()?;
        let protocol = match self.protocol.as_str() {
            "netflow-v9" => Protocol::NetflowV9,
            "ipfix" => Protocol::Ipfix,
            _ => return None,
        };
        let scope = self.scope_field_count;
        if usize::from(scope) > self.fields.len() || self.template_id < 256 {
            return None;
        }
        let fields = self
            .fields
            .iter()
            .enumerate()
            .map(|(i, &(id, length, enterprise))| FieldSpec {
                id,
                length,
                enterprise,
                scope: i < usize::from(scope),
            })
            .collect();
        Some((
            TemplateKey {
                exporter,
                protocol,
                domain: self.domain,
                template_id: self.template_id,
            },
            fields,
            scope,
            self.options,
            self.learned_at_ms,
        ))
    }
}

type EntryParts = (TemplateKey, Vec<FieldSpec>, u16, bool, u64);

/// Reads a snapshot document, inserting each template as it is read and hashing its text;
/// checks format, version and checksum at the end.
fn restore_with<'de, R: serde_json::de::Read<'de>>(
    mut de: serde_json::Deserializer<R>,
    limits: Limits,
) -> Result<TemplateCache, Error> {
    use serde::de::DeserializeSeed;
    let bad = |reason: &str| Error::Snapshot {
        reason: reason.to_owned(),
    };
    let mut doc = Doc {
        cache: TemplateCache::new(limits)?,
        format: None,
        version: None,
        checksum: None,
        hash: None,
        failed: None,
    };
    let parsed = (&mut doc).deserialize(&mut de).and_then(|()| de.end());
    if let Some(e) = doc.failed.take() {
        return Err(e);
    }
    parsed.map_err(|e| Error::Snapshot {
        reason: format!("not a valid snapshot: {e}"),
    })?;
    if doc.format.as_deref() != Some(SNAPSHOT_FORMAT) {
        return Err(bad("not a flowlens template snapshot"));
    }
    if doc.version != Some(SNAPSHOT_VERSION) {
        return Err(Error::Snapshot {
            reason: format!("unsupported version {:?}", doc.version),
        });
    }
    let sum = doc.hash.ok_or_else(|| bad("no templates"))?;
    if doc.checksum.as_deref() != Some(format!("{sum:016x}").as_str()) {
        return Err(bad("checksum mismatch"));
    }
    let mut cache = doc.cache;
    cache.stats = CacheStats {
        templates: cache.stats.templates,
        bytes: cache.stats.bytes,
        evicted_global_cap: cache.stats.evicted_global_cap,
        evicted_exporter_cap: cache.stats.evicted_exporter_cap,
        ..CacheStats::default()
    };
    Ok(cache)
}

/// What [`restore_with`] gathers from the document.
struct Doc {
    cache: TemplateCache,
    format: Option<String>,
    /// `None` also when not a number.
    version: Option<u64>,
    checksum: Option<String>,
    /// FNV-1a of the `templates` array's compact text, once read.
    hash: Option<u64>,
    /// A template the cache refused (the error to report rather than serde's).
    failed: Option<Error>,
}

impl<'de> serde::de::DeserializeSeed<'de> for &mut Doc {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for &mut Doc {
    type Value = ();

    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("a flowlens template snapshot object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        use serde::de::IgnoredAny;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "format" => self.format = map.next_value::<Json>()?.as_str().map(str::to_owned),
                "version" => self.version = map.next_value::<Json>()?.as_u64(),
                "checksum" => {
                    self.checksum = map.next_value::<Json>()?.as_str().map(str::to_owned);
                }
                "templates" => map.next_value_seed(Templates(self))?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// The `templates` array: each entry hashed, checked and inserted as it is read.
struct Templates<'a>(&'a mut Doc);

impl<'de> serde::de::DeserializeSeed<'de> for Templates<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Templates<'_> {
    type Value = ();

    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("a list of templates")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        use serde::de::Error as _;
        let doc = self.0;
        let mut h = Digest::default();
        let io = |e: std::io::Error| A::Error::custom(e);
        h.write_all(b"[").map_err(io)?;
        let mut first = true;
        while let Some(e) = seq.next_element::<SnapEntry>()? {
            if !first {
                h.write_all(b",").map_err(io)?;
            }
            first = false;
            write_entry(
                &mut h,
                &e.exporter,
                &e.protocol,
                (e.domain, e.template_id, e.options),
                (e.scope_field_count, e.learned_at_ms),
                e.fields.iter().copied(),
            )
            .map_err(io)?;
            let Some((key, fields, scope, options, learned)) = e.parts() else {
                return Err(A::Error::custom("malformed template entry"));
            };
            drop(e);
            if let Err(err) = doc.cache.insert(key, fields, scope, options, learned, 0) {
                doc.failed = Some(err);
                return Err(A::Error::custom("template refused"));
            }
            if let Some(entry) = doc.cache.entries.get_mut(&key) {
                entry.template.learned_at_ms = learned;
            }
        }
        h.write_all(b"]").map_err(io)?;
        doc.hash = Some(h.hash);
        Ok(())
    }
}

/// FNV-1a 64-bit offset basis.
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a, 64 bits, continued from `h` over `bytes`.
fn fnv1a_from(h: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(h, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn key(e: u32, id: u16) -> TemplateKey {
        TemplateKey {
            exporter: IpAddr::V4(Ipv4Addr::from(e)),
            protocol: Protocol::Ipfix,
            domain: 1,
            template_id: id,
        }
    }
    fn fields(n: u16) -> Vec<FieldSpec> {
        (1..=n)
            .map(|id| FieldSpec {
                id,
                length: 4,
                enterprise: 0,
                scope: false,
            })
            .collect()
    }

    /// `by_count` lists each exporter with exactly the templates it holds.
    fn assert_counts(c: &TemplateCache) {
        let mut expected: BTreeSet<(usize, IpAddr)> = BTreeSet::new();
        for (a, m) in &c.per_exporter {
            expected.insert((m.len(), *a));
        }
        assert_eq!(c.by_count, expected);
    }

    /// At the global cap the largest holder gives a template up, so exporters that hold few
    /// keep theirs; the index of holders stays exact through inserts, evictions, withdrawals.
    #[test]
    fn the_largest_holder_pays_at_the_global_cap() {
        let limits = Limits {
            max_templates: 100,
            max_templates_per_exporter: 10,
            ..Limits::default()
        };
        let mut c = TemplateCache::new(limits).unwrap();
        c.insert(key(1, 256), fields(1), 0, false, 0, 0).unwrap();
        c.insert(key(1, 257), fields(1), 0, false, 0, 0).unwrap();
        // 30 exporters × 15 templates for the 98 other places: a fair share is over 3.
        for e in 100..130u32 {
            for id in 0..15u16 {
                c.insert(key(e, 256 + id), fields(1), 0, false, 1, 0)
                    .unwrap();
                assert_counts(&c);
            }
        }
        assert_eq!(c.len(), 100);
        assert!(c.get(&key(1, 256)).is_some() && c.get(&key(1, 257)).is_some());
        assert!(c.withdraw(&key(1, 256)));
        assert_counts(&c);
        let st = c.stats();
        assert_eq!(
            st.learned - st.evicted_exporter_cap - st.evicted_global_cap - st.withdrawn,
            c.len() as u64
        );
    }

    #[test]
    fn refresh_replace_withdraw_and_caps() {
        let limits = Limits {
            max_templates: 4,
            max_templates_per_exporter: 2,
            ..Limits::default()
        };
        let mut c = TemplateCache::new(limits).unwrap();
        assert_eq!(
            c.insert(key(1, 256), fields(3), 0, false, 0, 0).unwrap(),
            TemplateChange::Learned
        );
        assert_eq!(
            c.insert(key(1, 256), fields(3), 0, false, 5, 0).unwrap(),
            TemplateChange::Refreshed
        );
        assert_eq!(
            c.insert(key(1, 256), fields(4), 0, false, 6, 0).unwrap(),
            TemplateChange::Replaced
        );
        c.insert(key(1, 257), fields(1), 0, false, 7, 0).unwrap();
        c.touch(&key(1, 256));
        c.insert(key(1, 258), fields(1), 0, false, 8, 0).unwrap();
        // 257 was least recently used by exporter 1.
        assert!(c.get(&key(1, 257)).is_none());
        assert_eq!(c.stats().evicted_exporter_cap, 1);
        for e in 2..5 {
            c.insert(key(e, 300), fields(1), 0, false, 9, 0).unwrap();
        }
        assert_eq!(c.len(), 4);
        assert_eq!(c.stats().evicted_global_cap, 1);
        assert!(c.withdraw(&key(4, 300)));
        assert_eq!(c.stats().withdrawn, 1);
        assert!(matches!(
            c.insert(key(9, 256), fields(600), 0, false, 0, 0),
            Err(Error::TemplateRejected { .. })
        ));
        assert_eq!(c.stats().rejected_too_many_fields, 1);
    }

    #[test]
    fn touches_reorder_eviction_and_iteration() {
        let limits = Limits {
            max_templates: 3,
            max_templates_per_exporter: 3,
            ..Limits::default()
        };
        let mut c = TemplateCache::new(limits).unwrap();
        for e in 1..=3 {
            c.insert(key(e, 256), fields(1), 0, false, 0, 0).unwrap();
        }
        c.touch(&key(1, 256));
        c.insert(key(4, 256), fields(1), 0, false, 0, 0).unwrap();
        assert!(c.get(&key(2, 256)).is_none());
        c.touch(&key(3, 256));
        c.insert(key(5, 256), fields(1), 0, false, 0, 0).unwrap();
        assert!(c.get(&key(1, 256)).is_none());
        let order: Vec<_> = c.iter().map(|(k, _)| *k).collect();
        assert_eq!(order, [key(4, 256), key(3, 256), key(5, 256)]);
        assert_eq!(c.stats().evicted_global_cap, 2);
    }

    #[test]
    fn snapshot_round_trip_and_corruption() {
        let mut c = TemplateCache::new(Limits::default()).unwrap();
        c.insert(key(1, 256), fields(3), 0, false, 42, 0).unwrap();
        let mut of = fields(2);
        of[0].scope = true;
        c.insert(key(2, 300), of, 1, true, 43, 0).unwrap();
        let snap = c.snapshot();
        let r = TemplateCache::restore(&snap, Limits::default()).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r.get(&key(2, 300)), c.get(&key(2, 300)));
        let mut bad = snap.clone();
        let i = bad.len() / 2;
        bad[i] ^= 1;
        // The flipped bit breaks the document (here a field name) or, in a value, its checksum.
        let r = TemplateCache::restore(&bad, Limits::default());
        assert!(
            matches!(&r, Err(Error::Snapshot { reason }) if reason == "checksum mismatch" || reason.starts_with("not a valid snapshot: ")),
            "{:?}",
            r.as_ref().map(|_| ())
        );
        let r = TemplateCache::restore(&snap[..snap.len() - 3], Limits::default());
        assert!(
            matches!(&r, Err(Error::Snapshot { reason }) if reason.starts_with("not a valid snapshot: EOF")),
            "{:?}",
            r.as_ref().map(|_| ())
        );
        let r = TemplateCache::restore(b"{}", Limits::default());
        assert!(
            matches!(&r, Err(Error::Snapshot { reason }) if reason == "not a flowlens template snapshot"),
            "{:?}",
            r.as_ref().map(|_| ())
        );
        let r = TemplateCache::restore(&[0xff; 10], Limits::default());
        assert!(
            matches!(&r, Err(Error::Snapshot { reason }) if reason.starts_with("not a valid snapshot: expected value")),
            "{:?}",
            r.as_ref().map(|_| ())
        );
    }

    /// The streamed writer produces the version-1 text serde_json produced from a value tree
    /// (the format before streaming), so old snapshots restore and new ones are the same.
    #[test]
    fn streamed_snapshot_is_the_version_1_text() {
        use serde_json::json;
        let mut c = TemplateCache::new(Limits::default()).unwrap();
        c.insert(key(1, 256), fields(3), 0, false, 42, 0).unwrap();
        let mut k6 = key(2, 300);
        k6.exporter = "2001:db8::1".parse().unwrap();
        k6.protocol = Protocol::NetflowV9;
        let mut of = fields(2);
        of[0].scope = true;
        of[1].length = VARIABLE_LENGTH;
        c.insert(k6, of, 1, true, 43, 0).unwrap();
        let templates: Vec<Json> = c
            .iter()
            .map(|(k, t)| {
                json!({
                    "exporter": k.exporter.to_string(),
                    "protocol": k.protocol.name(),
                    "domain": k.domain,
                    "template_id": k.template_id,
                    "options": t.options,
                    "scope_field_count": t.scope_field_count,
                    "learned_at_ms": t.learned_at_ms,
                    "fields": t.fields.iter().map(|f| json!([f.id, f.length, f.enterprise])).collect::<Vec<_>>(),
                })
            })
            .collect();
        let templates = Json::Array(templates);
        let old = json!({
            "format": SNAPSHOT_FORMAT,
            "version": SNAPSHOT_VERSION,
            "checksum": format!("{:016x}", fnv1a_from(FNV_OFFSET, templates.to_string().as_bytes())),
            "templates": templates,
        })
        .to_string();
        let new = c.snapshot();
        assert_eq!(String::from_utf8(new.clone()).unwrap(), old);
        assert_eq!(new.len(), new.capacity());
        let mut streamed = Vec::new();
        c.write_snapshot(&mut streamed).unwrap();
        assert_eq!(streamed, new);
        let r = TemplateCache::restore_from(old.as_bytes(), Limits::default()).unwrap();
        assert_eq!(r.get(&k6), c.get(&k6));
        assert_eq!(r.len(), 2);
    }
}
