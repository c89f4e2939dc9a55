//! The values queries return, in sFlow-RT's shapes (`Metric`/`Statistic` objects of the
//! RESTflow API) with their JSON forms.

use std::net::IpAddr;

use serde_json::{json, Map, Value};

/// One metric value.
#[derive(Clone, Debug, PartialEq)]
pub enum Metric {
    /// A number. Counters are per-second rates; gauges are as the agent sent them (bytes,
    /// bits per second, MHz, ...); utilisations are percent. Always finite.
    Num(f64),
    /// Text: `host_name`, `os_name` (`linux`), `ifadminstatus` (`up`), `iftype`, ...
    Text(String),
}

impl Metric {
    /// The number, for `Num`.
    pub fn num(&self) -> Option<f64> {
        match self {
            Metric::Num(v) => Some(*v),
            Metric::Text(_) => None,
        }
    }

    /// The text, for `Text`.
    pub fn text(&self) -> Option<&str> {
        match self {
            Metric::Text(s) => Some(s),
            Metric::Num(_) => None,
        }
    }

    /// The value as a filter compares it: text as is, integral numbers without a fraction
    /// (`10000000000`), other numbers in Rust's shortest form (`0.25`).
    pub fn to_filter_text(&self) -> String {
        match self {
            Metric::Text(s) => s.clone(),
            Metric::Num(v) if v.fract() == 0.0 && v.abs() < 1e18 => format!("{}", *v as i64),
            Metric::Num(v) => v.to_string(),
        }
    }

    /// JSON: a number (an integer when the value is integral and exactly representable) or a
    /// string.
    pub fn to_json(&self) -> Value {
        match self {
            Metric::Num(v) if v.fract() == 0.0 && v.abs() <= 9_007_199_254_740_992.0 => {
                json!(*v as i64)
            }
            Metric::Num(v) => json!(v),
            Metric::Text(s) => json!(s),
        }
    }
}

/// One metric of one data source: sFlow-RT's `Metric` object (`/dump`, `/table`,
/// `/metric/{agent}/json`).
#[derive(Clone, Debug, PartialEq)]
pub struct MetricValue {
    /// The agent (sFlow datagram agent address).
    pub agent: IpAddr,
    /// The data source: the ifIndex (`"3"`) for interface counters, `<class>.<index>` (`"2.1"`)
    /// otherwise.
    pub data_source: String,
    /// The metric name (`ifinoctets`, `load_one`).
    pub metric_name: String,
    /// The value.
    pub metric_value: Metric,
    /// Milliseconds since the value was last updated.
    pub last_update: u64,
}

impl MetricValue {
    /// `{agent, dataSource, metricName, metricValue, lastUpdate}`.
    pub fn to_json(&self) -> Value {
        json!({
            "agent": self.agent.to_string(),
            "dataSource": self.data_source,
            "metricName": self.metric_name,
            "metricValue": self.metric_value.to_json(),
            "lastUpdate": self.last_update,
        })
    }
}

/// A summary statistic of one metric across data sources: sFlow-RT's `Statistic` object
/// (`/metric/{agent}/{metrics}/json`).
#[derive(Clone, Debug, PartialEq)]
pub struct Statistic {
    /// Agent of the value picked by `max:`/`min:`/`any:`; `None` for computed statistics or
    /// when nothing matched.
    pub agent: Option<IpAddr>,
    /// Data source of the picked value, as for `agent`.
    pub data_source: Option<String>,
    /// The metric as asked, prefix included (`sum:load_one`).
    pub metric_name: String,
    /// The statistic; `None` when no data source carries the metric.
    pub metric_value: Option<Metric>,
    /// Number of values the statistic covers.
    pub metric_n: u32,
    /// Milliseconds since the update of the picked value (`max`/`min`/`any`), otherwise of the
    /// newest value; `None` when `metric_n` is 0.
    pub last_update: Option<u64>,
    /// Milliseconds since the update of the newest value.
    pub last_update_min: Option<u64>,
    /// Milliseconds since the update of the oldest value.
    pub last_update_max: Option<u64>,
}

impl Statistic {
    /// `{agent?, dataSource?, metricName, metricValue?, metricN, lastUpdate?, lastUpdateMin?,
    /// lastUpdateMax?}`: absent members are left out, as sFlow-RT does (so JavaScript reads
    /// `undefined`, e.g. `metric(...)[0].metricValue || 0`).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        if let Some(a) = self.agent {
            m.insert("agent".into(), json!(a.to_string()));
        }
        if let Some(ds) = &self.data_source {
            m.insert("dataSource".into(), json!(ds));
        }
        m.insert("metricName".into(), json!(self.metric_name));
        if let Some(v) = &self.metric_value {
            m.insert("metricValue".into(), v.to_json());
        }
        m.insert("metricN".into(), json!(self.metric_n));
        for (k, v) in [
            ("lastUpdate", self.last_update),
            ("lastUpdateMin", self.last_update_min),
            ("lastUpdateMax", self.last_update_max),
        ] {
            if let Some(v) = v {
                m.insert(k.into(), json!(v));
            }
        }
        Value::Object(m)
    }
}
