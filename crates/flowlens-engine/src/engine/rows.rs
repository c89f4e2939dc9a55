//! The engine's answer rows and their sFlow-RT JSON: active flows (`/activeflows`), logged
//! flows (`/flows/json`), and the aggregation mode of merged answers.

use std::net::IpAddr;

use serde_json::Value as Json;

use crate::error::{Error, Result};
use crate::ring::Logged;
use crate::threshold::Event;

/// A completed (or started) flow record (sFlow-RT `/flows/json` item).
#[derive(Clone, Debug, PartialEq)]
pub struct LoggedFlow {
    /// Increasing id (`flowID`).
    pub id: u64,
    /// The definition's name.
    pub name: String,
    /// The joined key values.
    pub flow_keys: String,
    /// Total value over the record (scaled bytes/frames/…, not a rate).
    pub value: f64,
    /// First sample, Unix ms.
    pub start_ms: u64,
    /// Last sample, Unix ms.
    pub end_ms: u64,
    /// Agent.
    pub agent: String,
    /// Data source name.
    pub data_source: String,
}

impl Logged for LoggedFlow {
    fn set_id(&mut self, id: u64) {
        self.id = id;
    }
    fn id(&self) -> u64 {
        self.id
    }
}

impl Logged for Event {
    fn set_id(&mut self, id: u64) {
        self.id = id;
    }
    fn id(&self) -> u64 {
        self.id
    }
}

impl LoggedFlow {
    /// sFlow-RT's JSON shape `{flowID, name, flowKeys, value, start, end, agent, dataSource}`.
    pub fn to_json(&self) -> Json {
        serde_json::json!({
            "flowID": self.id, "name": self.name, "flowKeys": self.flow_keys,
            "value": self.value, "start": self.start_ms, "end": self.end_ms,
            "agent": self.agent, "dataSource": self.data_source,
        })
    }
}

/// How `/activeflows` merges a key seen at several data sources.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AggMode {
    /// The largest value (default; a flow crossing several switches counts once).
    #[default]
    Max,
    /// The sum over data sources.
    Sum,
    /// `edge`: the sum over the data sources of the topology's edge ports only (inferred: a
    /// flow enters the fabric at one edge port, where ingress sampling sees it once, so the
    /// sum counts it once; without a topology nothing is selected).
    Edge,
    /// `core`: the largest value over the data sources of the topology's core ports only
    /// (inferred: a flow crosses several inter-switch links, so the largest counts it once).
    Core,
}

impl AggMode {
    /// Parses `max`, `sum`, `edge`, `core` (case-insensitive).
    ///
    /// # Errors
    /// [`Error::Invalid`] for anything else.
    pub fn parse(s: &str) -> Result<AggMode> {
        match s.to_ascii_lowercase().as_str() {
            "max" => Ok(AggMode::Max),
            "sum" => Ok(AggMode::Sum),
            "edge" => Ok(AggMode::Edge),
            "core" => Ok(AggMode::Core),
            _ => Err(Error::invalid(
                "activeflows",
                "aggMode",
                format!("`{s}`: expected max, sum, edge or core"),
            )),
        }
    }

    /// True when values of a key at several data sources add up (`sum`, `edge`).
    pub const fn sums(self) -> bool {
        matches!(self, AggMode::Sum | AggMode::Edge)
    }
}

/// One active flow.
#[derive(Clone, Debug, PartialEq)]
pub struct ActiveFlow {
    /// The joined key values.
    pub key: String,
    /// The smoothed value (per second for rates).
    pub value: f64,
    /// `values[]`.
    pub values: Vec<f64>,
    /// Agent of the data source reporting the value (the largest, for `max`).
    pub agent: IpAddr,
    /// That data source's name.
    pub data_source: String,
    /// Decayed number of samples behind the value.
    pub samples: f64,
    /// Half-width of the value's 95 % confidence interval.
    pub ci95: f64,
}

impl ActiveFlow {
    /// `{key, value, values?, agent, dataSource, samples, ci95}`; `values` only when the
    /// definition has them.
    pub fn to_json(&self) -> Json {
        let mut o = serde_json::Map::new();
        o.insert("key".into(), Json::String(self.key.clone()));
        o.insert("value".into(), Json::from(self.value));
        if !self.values.is_empty() {
            o.insert("values".into(), Json::from(self.values.clone()));
        }
        o.insert("agent".into(), Json::String(self.agent.to_string()));
        o.insert("dataSource".into(), Json::String(self.data_source.clone()));
        o.insert("samples".into(), Json::from(self.samples));
        o.insert("ci95".into(), Json::from(self.ci95));
        Json::Object(o)
    }
}
