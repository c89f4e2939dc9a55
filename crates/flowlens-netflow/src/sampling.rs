//! Sampling rates: which 1-in-N applies to a record, and where N came from.
//!
//! Order of precedence for a record (first match wins):
//!
//! 1. [`SamplingSource::Override`]: a rate configured for the exporter address.
//! 2. [`SamplingSource::Record`]: the record itself carries IE 34 `samplingInterval`, IE 50
//!    `samplerRandomInterval`, or IE 305/306 `samplingPacketInterval`/`samplingPacketSpace`
//!    (rate = (interval + space) / interval), or IE 309/310 `samplingSize`/`samplingPopulation`
//!    (random n-out-of-N, RFC 5477: rate = population / size; wins over 305/306, which Cisco
//!    sends as interval 1 alongside).
//! 3. [`SamplingSource::OptionsData`]: options data from the same exporter and domain carried
//!    a rate for the record's sampler (IE 48 `flowSamplerId` or IE 302 `selectorId` in the
//!    record; a record without one uses sampler id 0, which is also where options data without
//!    a sampler id is stored; a record whose sampler is unknown falls back to sampler 0).
//! 4. [`SamplingSource::V5Header`]: NetFlow v5 header `sampling_interval`, low 14 bits (the top
//!    two bits are the sampling mode).
//! 5. [`SamplingSource::Default1`]: unsampled, rate 1.
//!
//! A rate of 0 anywhere means "not given" and is skipped.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::hash::{map, Map};

/// Where a record's sampling rate came from. See the module docs for the precedence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum SamplingSource {
    /// Configured per exporter.
    Override,
    /// Carried in the record itself (IE 34, 50, 305/306).
    Record,
    /// Learned from options data (sampler / selector tables).
    OptionsData,
    /// NetFlow v5 header `sampling_interval`.
    V5Header,
    /// Nothing said: 1 (unsampled).
    Default1,
}

impl SamplingSource {
    /// Short lowercase label (`override`, `record`, `options-data`, `v5-header`, `default`).
    pub const fn name(self) -> &'static str {
        match self {
            SamplingSource::Override => "override",
            SamplingSource::Record => "record",
            SamplingSource::OptionsData => "options-data",
            SamplingSource::V5Header => "v5-header",
            SamplingSource::Default1 => "default",
        }
    }
}

/// The rate read from NetFlow v5 `sampling_interval`: its low 14 bits, `None` when 0.
pub const fn v5_rate(sampling_interval: u16) -> Option<u32> {
    let n = sampling_interval & 0x3fff;
    if n == 0 {
        None
    } else {
        Some(n as u32)
    }
}

/// Sampling-related values found in one record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SamplingFields {
    pub(crate) interval: Option<u64>,
    pub(crate) packet_interval: Option<u64>,
    pub(crate) packet_space: Option<u64>,
    pub(crate) sampler_id: Option<u64>,
    pub(crate) size: Option<u64>,
    pub(crate) population: Option<u64>,
}

impl SamplingFields {
    /// Looks at one field; returns whether it was a sampling field.
    pub(crate) fn take(&mut self, enterprise: u32, id: u16, value: u64) -> bool {
        if enterprise != 0 {
            return false;
        }
        match id {
            34 | 50 => self.interval = Some(value),
            305 => self.packet_interval = Some(value),
            306 => self.packet_space = Some(value),
            48 | 302 => self.sampler_id = Some(value),
            309 => self.size = Some(value),
            310 => self.population = Some(value),
            _ => return false,
        }
        true
    }

    /// The rate these fields state, if any.
    pub(crate) fn rate(&self) -> Option<u32> {
        if let Some(i) = self.interval.filter(|&i| i > 0) {
            return Some(u32::try_from(i).unwrap_or(u32::MAX));
        }
        if let (Some(n), Some(big_n)) = (self.size.filter(|&n| n > 0), self.population) {
            let r = (big_n / n).max(1);
            return Some(u32::try_from(r).unwrap_or(u32::MAX));
        }
        let i = self.packet_interval.filter(|&i| i > 0)?;
        let s = self.packet_space.unwrap_or(0);
        let r = i.saturating_add(s) / i;
        Some(u32::try_from(r.max(1)).unwrap_or(u32::MAX))
    }
}

type SamplerKey = (IpAddr, u32, u64);

/// Values learned from options data (rates, init times), per (exporter, domain, sampler id);
/// bounded, least recently set evicted first.
#[derive(Debug)]
pub(crate) struct SamplerTable {
    cap: usize,
    rates: Map<SamplerKey, (u64, u64)>,
    order: BTreeMap<u64, SamplerKey>,
    tick: u64,
    pub(crate) evicted: u64,
}

impl SamplerTable {
    pub(crate) fn new(cap: usize) -> Self {
        SamplerTable {
            cap: cap.max(1),
            rates: map(),
            order: BTreeMap::new(),
            tick: 0,
            evicted: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.rates.len()
    }

    pub(crate) fn set(&mut self, key: SamplerKey, rate: u64) {
        self.tick += 1;
        if let Some((r, t)) = self.rates.get_mut(&key) {
            self.order.remove(t);
            *r = rate;
            *t = self.tick;
            self.order.insert(self.tick, key);
            return;
        }
        while self.rates.len() >= self.cap {
            let Some((_, victim)) = self.order.pop_first() else {
                break;
            };
            self.rates.remove(&victim);
            self.evicted += 1;
        }
        self.rates.insert(key, (rate, self.tick));
        self.order.insert(self.tick, key);
    }

    pub(crate) fn get(&self, exporter: IpAddr, domain: u32, sampler: Option<u64>) -> Option<u64> {
        let id = sampler.unwrap_or(0);
        let found = self.rates.get(&(exporter, domain, id));
        let found = match found {
            None if id != 0 => self.rates.get(&(exporter, domain, 0)),
            f => f,
        };
        found.map(|&(r, _)| r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_from_fields() {
        let mut f = SamplingFields::default();
        f.take(0, 305, 1);
        f.take(0, 306, 99);
        assert_eq!(f.rate(), Some(100));
        f.take(0, 34, 0);
        assert_eq!(f.rate(), Some(100));
        f.take(0, 50, 512);
        assert_eq!(f.rate(), Some(512));
        let mut g = SamplingFields::default();
        g.take(0, 305, 1);
        g.take(0, 309, 1);
        g.take(0, 310, 256);
        assert_eq!(g.rate(), Some(256));
        assert_eq!(v5_rate(0x4000 | 100), Some(100));
        assert_eq!(v5_rate(0x8000), None);
    }
}
