//! sFlow version 5 datagrams: header, samples, flow records and counter records.
//!
//! This module owns the decoding of one sFlow v5 UDP payload (`sample_datagram_v5` in the
//! sFlow v5 specification, <https://sflow.org/sflow_version_5.txt>) into zero-copy views. It does
//! not decode the packet headers carried in `sampled_header` records; [`SampledHeader::header`]
//! hands those bytes (and their absolute offset) to [`crate::packet`].
//!
//! Structure layouts and member names follow the sFlow v5 specification and the sflow.org
//! structure registry:
//!
//! - sFlow v5 (`flow_sample`, `counter_sample`, their expanded forms, formats 1..=4 / 1001..=1012
//!   flow records, 1..=5 / 1001 counter records),
//! - Host sFlow (<https://sflow.org/sflow_host.txt>, counter formats 2000..=2010, 2100..=2104),
//! - application structures (<https://sflow.org/sflow_application.txt>, 2203),
//! - tunnel structures (<https://sflow.org/sflow_tunnels.txt>, 1021..=1030),
//! - dropped-packet notifications (<https://sflow.org/sflow_drops.txt>, sample format 5 and
//!   records 1036..=1040),
//! - 802.11, LAG, OpenFlow and Open vSwitch registry entries (6, 7, 1002, 1004, 1005, 2207).
//!
//! Every multi-byte field is XDR (RFC 4506): big-endian, padded to 4 bytes. All offsets reported
//! by this module (in errors and by `offset()` accessors) are absolute byte offsets from the start
//! of the datagram.
//!
//! # Error policy
//!
//! - [`Datagram::parse`] validates the datagram header only.
//! - [`Samples`] yields one `Err` for a sample envelope that overruns the datagram
//!   (`Invalid { field: "length" }`), a sample whose header is shorter than its structure
//!   (`Truncated`), or data that ends before the declared sample count (`Truncated`), and then
//!   ends: a broken envelope makes the rest unreadable.
//! - [`FlowRecords`] / [`CounterRecords`] yield `Err(Error::Truncated { .. })` (or `Invalid` for
//!   an impossible inner count) for a record whose declared length is shorter than its structure
//!   or whose variable part overruns it, and **continue with the next record**: the record
//!   length is known, so skipping is safe. A record envelope that overruns its sample
//!   (`Invalid { field: "length" }`), or data that ends before the declared record count
//!   (`Truncated`), yields one `Err` and the iterator ends.
//! - Bytes after the declared number of samples (or records) are ignored, as tshark and
//!   sflowtool do; real test vectors pad datagrams this way.
//! - Unknown sample or record types are not errors: they are returned as `Unknown` views carrying
//!   their bytes. Records longer than their structure (vendor extensions) decode the known prefix.
//! - An XDR string that ends a record without its final padding is accepted (the record length
//!   is authoritative).
//!
//! Nothing here allocates, and no loop runs on a wire count without also being bounded by the
//! bytes available.

mod counter_record;
mod datagram;
mod encode;
mod envelope;
mod fixed;
mod flow_record;
mod interface;
mod sample;

pub use counter_record::{
    counter_record_name, AppResources, CounterData, CounterRecord, CounterRecords,
    EthernetCounters, HostAdapter, HostAdapters, HostAdaptersIter, HostCpu, HostDescr, HostDiskIo,
    HostMemory, HostNetIo, HostParent, Ieee80211Counters, IfCounters, LagPortStats, Mib2Icmp,
    Mib2Ip, Mib2Tcp, Mib2Udp, OfPort, OvsDpStats, PortName, ProcessorCounters, RadioUtilization,
    TokenRingCounters, VgCounters, VirtCpu, VirtDiskIo, VirtMemory, VirtNetIo, VirtNode,
    VlanCounters,
};
pub use datagram::{is_sflow_v5, Datagram, Samples};
pub use encode::{sample_record_bytes, DatagramHeader};
pub use flow_record::{
    flow_record_name, AsPathSegment, AsPathSegments, ExtendedAcl, ExtendedDecapsulate,
    ExtendedEgressQueue, ExtendedFunction, ExtendedGateway, ExtendedMpls, ExtendedMplsFtn,
    ExtendedMplsLdpFec, ExtendedMplsTunnel, ExtendedMplsVc, ExtendedNat, ExtendedNatPort,
    ExtendedQueue, ExtendedRouter, ExtendedSwitch, ExtendedTransit, ExtendedUrl, ExtendedUser,
    ExtendedVlanTunnel, ExtendedVni, FlowData, FlowRecord, FlowRecords, SampledEthernet,
    SampledHeader, SampledIpv4, SampledIpv6,
};
pub use interface::Interface;
pub use sample::{
    drop_reason_name, CounterSample, DiscardSample, FlowSample, Sample, UnknownSample,
};

use crate::error::{Error, Layer, Result};
use crate::reader::Reader;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Reads an sFlow `address` (sFlow v5 spec: `address_type` u32, 1 = IPv4 followed by 4 bytes,
/// 2 = IPv6 followed by 16 bytes, 0 = unknown with no bytes). Returns `None` for type 0.
fn read_address(r: &mut Reader<'_>, field: &'static str) -> Result<Option<IpAddr>> {
    let at = r.offset();
    match r.u32()? {
        0 => Ok(None),
        1 => Ok(Some(IpAddr::V4(Ipv4Addr::from(r.array::<4>()?)))),
        2 => Ok(Some(IpAddr::V6(Ipv6Addr::from(r.array::<16>()?)))),
        t => Err(r.unsupported_at(at, field, u64::from(t))),
    }
}

/// Reads an XDR `unsigned int <>` array (AS path segment, communities, label stack) as raw bytes
/// whose length is a multiple of 4. The count is checked against the bytes left before anything
/// is taken.
fn read_u32_array<'a>(r: &mut Reader<'a>, field: &'static str) -> Result<&'a [u8]> {
    let at = r.offset();
    let n = r.u32()?;
    let bytes = usize::try_from(n)
        .ok()
        .and_then(|n| n.checked_mul(4))
        .filter(|&b| b <= r.remaining())
        .ok_or_else(|| r.invalid_at(at, field, u64::from(n)))?;
    r.bytes(bytes)
}

/// Reads an XDR `string<max>` / `opaque<max>`: length u32, the bytes, then padding to 4 bytes.
/// Missing padding at the very end of the record is tolerated (some agents and test vectors end
/// a record on an unpadded string; the record length is authoritative).
fn read_string<'a>(r: &mut Reader<'a>, field: &'static str, max: usize) -> Result<&'a [u8]> {
    let mut strict = *r;
    match strict.xdr_opaque(field, max) {
        Ok(data) => {
            *r = strict;
            Ok(data)
        }
        Err(e) => {
            // retry without the padding: only the final padding may be missing
            let at = r.offset();
            let len = r.u32()?;
            let n = usize::try_from(len).map_err(|_| e)?;
            if n > max {
                return Err(r.invalid_at(at, field, u64::from(len)));
            }
            let data = r.bytes(n)?;
            if r.remaining() >= crate::reader::xdr_pad(n) {
                return Err(e);
            }
            r.skip(r.remaining())?;
            Ok(data)
        }
    }
}

/// A truncation error for a record whose data (`len` bytes at absolute `offset`) is shorter than
/// the `needed` bytes of its fixed structure.
const fn short(layer: Layer, offset: usize, needed: usize, len: usize) -> Error {
    Error::Truncated {
        layer,
        offset,
        needed,
        available: len,
    }
}

#[cfg(test)]
mod tests;
