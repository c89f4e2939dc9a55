//! The record view handed to a [`RecordSink`](crate::RecordSink), and its clock.

use std::net::IpAddr;

use flowlens_wire::netflow::{DataRecord, Fields};
use flowlens_wire::{KeyVisitor, Masked};

use crate::keys::{Plan, RecordCounts, Summary};
use crate::{Protocol, SamplingSource};

/// The export-time context of a datagram, needed to make relative record times absolute.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExportClock {
    /// Export time, seconds since the Unix epoch (v5/v9 `unix_secs`, IPFIX `exportTime`).
    pub unix_secs: u32,
    /// NetFlow v5 only: residual nanoseconds of the export time (0 otherwise).
    pub unix_nsecs: u32,
    /// NetFlow v5/v9: exporter uptime at export time, ms (`sysUpTime`); `None` for IPFIX.
    pub sys_uptime_ms: Option<u32>,
    /// IPFIX: the exporter's `systemInitTimeMilliseconds` (IE 160), Unix ms, when known from
    /// options data of the same exporter and domain.
    pub system_init_ms: Option<u64>,
}

impl ExportClock {
    /// Export time in Unix milliseconds.
    pub const fn export_ms(&self) -> u64 {
        self.unix_secs as u64 * 1000 + (self.unix_nsecs / 1_000_000) as u64
    }

    /// Converts an uptime-relative time (ms since exporter boot, IE 21/22 and v5
    /// `first`/`last`) to Unix ms. v5/v9 use the header's `sysUpTime` (wrap-around of the
    /// 32-bit counters handled); IPFIX needs `systemInitTimeMilliseconds`.
    pub fn uptime_to_unix_ms(&self, rel_ms: u32) -> Option<u64> {
        if let Some(up) = self.sys_uptime_ms {
            let age = u64::from(up.wrapping_sub(rel_ms));
            return self.export_ms().checked_sub(age);
        }
        self.system_init_ms
            .map(|init| init.saturating_add(u64::from(rel_ms)))
    }
}

/// One decoded flow (or options) record with its context. Borrowed: valid during the sink
/// call.
#[derive(Clone, Copy, Debug)]
pub struct NetflowRecord<'t, 'a> {
    /// NetFlow v5, v9 or IPFIX.
    pub protocol: Protocol,
    /// The exporter (datagram source address).
    pub exporter: IpAddr,
    /// v9 source id, IPFIX observation domain, v5 `engine_type << 8 | engine_id`.
    pub domain: u32,
    /// The template id; 0 for NetFlow v5 (fixed layout).
    pub template_id: u16,
    /// True for a record of an options template.
    pub options: bool,
    /// True when the set arrived before its template and was held pending.
    pub was_pending: bool,
    /// The 1-in-N sampling rate applied to this record (≥ 1).
    pub sampling_rate: u32,
    /// Where [`sampling_rate`](Self::sampling_rate) came from.
    pub sampling_source: SamplingSource,
    /// The datagram's export clock.
    pub clock: ExportClock,
    /// The record: its fields and bytes. For NetFlow v5 the fixed record is presented through
    /// a built-in template of IANA elements (8, 12, 15, 10, 14, 2, 1, 22, 21, 7, 11, 210, 6, 4,
    /// 5, 16, 17, 9, 13, 210), so every protocol reads the same way.
    pub data: DataRecord<'t, 'a>,
    /// The template compiled for key extraction (`None`: read field by field).
    pub(crate) plan: Option<&'t Plan>,
}

impl<'t, 'a> NetflowRecord<'t, 'a> {
    /// The record's `(spec, value bytes)` pairs in template order.
    pub fn fields(&self) -> Fields<'t, 'a> {
        self.data.fields()
    }

    /// The value of the first non-scope field with IANA id `id` (enterprise 0).
    pub fn field(&self, id: u16) -> Option<&'a [u8]> {
        self.fields()
            .find(|(f, _)| f.id == id && f.enterprise == 0 && !f.scope)
            .map(|(_, v)| v)
    }

    /// The record's `ingressInterface` (IE 10, the first non-scope one), as an unsigned
    /// integer of its encoded width (reduced-size encoding, RFC 7011 section 6.2); `None` when
    /// the record has none or it is longer than 8 bytes. The same value as
    /// `field(10).and_then(be_uint)`, read by offset when the template has a fixed layout.
    pub fn ingress_interface(&self) -> Option<u64> {
        let bytes = match self.plan.and_then(|p| p.ingress(self.data.bytes())) {
            Some(planned) => planned,
            None => self.field(10),
        };
        bytes.and_then(uint)
    }

    /// Normalised flow keys (see the crate's key table), and the record's counts from the
    /// same pass.
    pub fn visit_keys(&self, v: &mut impl KeyVisitor) -> RecordCounts {
        crate::keys::visit_keys(self, v)
    }

    /// [`NetflowRecord::visit_keys`] for a caller that already holds its visitor [`Masked`]
    /// (its mask is not checked twice per key).
    pub fn visit_keys_masked(&self, v: &mut Masked<'_, impl KeyVisitor>) -> RecordCounts {
        crate::keys::visit_keys_masked(self, v)
    }

    /// The record's counts (packets, octets, flow times, sampling rate) without its keys.
    pub fn counts(&self) -> RecordCounts {
        Summary::of(self).counts()
    }
}

/// Big-endian unsigned value of 1..=8 bytes (reduced-size encoding, RFC 7011 section 6.2):
/// [`be_uint`](flowlens_wire::netflow::ie::be_uint) with the common widths unrolled.
#[inline]
pub(crate) fn uint(b: &[u8]) -> Option<u64> {
    match *b {
        [x] => Some(u64::from(x)),
        [x0, x1] => Some(u64::from(u16::from_be_bytes([x0, x1]))),
        [x0, x1, x2, x3] => Some(u64::from(u32::from_be_bytes([x0, x1, x2, x3]))),
        [x0, x1, x2, x3, x4, x5, x6, x7] => {
            Some(u64::from_be_bytes([x0, x1, x2, x3, x4, x5, x6, x7]))
        }
        _ => flowlens_wire::netflow::ie::be_uint(b),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn uint_matches_the_wire_decoder() {
        let bytes: [u8; 10] = [0x81, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        for n in 0..=bytes.len() {
            let b = &bytes[..n];
            assert_eq!(
                super::uint(b),
                flowlens_wire::netflow::ie::be_uint(b),
                "{n}"
            );
        }
    }
}
