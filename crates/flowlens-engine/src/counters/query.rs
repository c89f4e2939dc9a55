//! Queries: `metric()` (summary statistics), `dump()`, `table()`, `/metrics/json` and
//! `/metric/{agent}/json`.
//!
//! Rows and values come in a stable order: agents by address, data sources by
//! `(class, index)`, metrics as requested (or by name for `ALL`).

use std::cmp::Ordering;
use std::net::IpAddr;

use super::source::{Entry, Source};
use super::types::{Metric, MetricValue, Statistic};
use super::{Agent, Counters, DsFilter};
use crate::error::{Error, Result};
use crate::sample::DataSourceId;
use crate::select::AgentSel;
use crate::summary::Stat;
use flowlens_netflow::hash::{map, Map};

/// One selected data source.
struct Sel<'a> {
    agent: IpAddr,
    key: (u32, u32),
    src: &'a Source,
}

/// One value found for a statistic.
struct Item<'a> {
    agent: IpAddr,
    src: &'a Source,
    entry: &'a Entry,
}

/// A `table()` column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Col<'q> {
    /// A metric every row must carry.
    Required(&'q str),
    /// `null:<m>`: may be missing (the cell is `None`).
    Optional(&'q str),
}

impl Counters {
    /// The selected data sources that pass `filter`, in stable order.
    fn select(&self, agents: &AgentSel, filter: &DsFilter) -> Vec<Sel<'_>> {
        let mut out = Vec::new();
        let mut ips: Vec<(&IpAddr, &Agent)> = self
            .agents()
            .filter(|(ip, _)| agents.contains(**ip))
            .collect();
        ips.sort_unstable_by_key(|(ip, _)| **ip);
        let attrs: Vec<&str> = filter.attrs().collect();
        for (ip, a) in ips {
            let mut srcs: Vec<(&(u32, u32), &Source)> = a.sources.iter().collect();
            srcs.sort_unstable_by_key(|(k, _)| **k);
            // agent-level fallback value of each filter attribute (first data source having it)
            let fallback: Vec<Option<String>> = attrs
                .iter()
                .map(|attr| {
                    if *attr == "agent" {
                        return Some(ip.to_string());
                    }
                    srcs.iter()
                        .find_map(|(_, s)| s.get(attr))
                        .map(|e| e.value.to_filter_text())
                })
                .collect();
            for (key, src) in srcs {
                if !agents.contains_ds(crate::sample::DataSource::new(*ip, key.0, key.1)) {
                    continue;
                }
                if !filter.is_empty() {
                    let vals: Vec<Option<String>> = attrs
                        .iter()
                        .zip(&fallback)
                        .map(|(attr, fb)| match src.get(attr) {
                            Some(e) if *attr != "agent" => Some(e.value.to_filter_text()),
                            _ => fb.clone(),
                        })
                        .collect();
                    if !filter.matches(&vals) {
                        continue;
                    }
                }
                out.push(Sel {
                    agent: *ip,
                    key: *key,
                    src,
                });
            }
        }
        out
    }

    /// Summary statistics, one [`Statistic`] per requested metric, in order
    /// (`/metric/{agent}/{metrics}/json`, script `metric()`).
    ///
    /// Each metric may carry a [`Stat`] prefix (`sum:load_one`; none means `max:`) and a data
    /// source scope (`2.1.load_one`). Numbers are summarised over every selected data source
    /// carrying the metric; for text metrics only `max:`/`min:` (lexicographic) and `any:`
    /// give a value, the other statistics give none (`metricN` still counts the values).
    ///
    /// # Errors
    /// [`Error::Invalid`] (`what` = `metric`) for an unknown prefix or an empty name.
    pub fn metric(
        &self,
        now_ms: u64,
        agents: &AgentSel,
        metrics: &[&str],
        filter: &DsFilter,
    ) -> Result<Vec<Statistic>> {
        let sel = self.select(agents, filter);
        metrics
            .iter()
            .map(|m| {
                let (stat, name) = Stat::split(m)?;
                let (scope, metric) = split_scope(name);
                let mut items: Vec<Item<'_>> = sel
                    .iter()
                    .filter(|s| scope.is_none_or(|k| k == s.key))
                    .filter_map(|s| {
                        s.src.get(metric).map(|entry| Item {
                            agent: s.agent,
                            src: s.src,
                            entry,
                        })
                    })
                    .collect();
                // newest first: `any:` takes the most recent value
                items.sort_by_key(|i| std::cmp::Reverse(i.entry.at_ms));
                Ok(statistic(now_ms, stat, m, &items))
            })
            .collect()
    }

    /// Raw values per data source (`/dump/{agent}/{metrics}/json`, script `dump()`):
    /// for each selected data source, each requested metric it carries (`["ALL"]`: all of
    /// them, by name). Names may be scoped (`2.1.load_one`); unknown names match nothing.
    pub fn dump(
        &self,
        now_ms: u64,
        agents: &AgentSel,
        metrics: &[&str],
        filter: &DsFilter,
    ) -> Vec<MetricValue> {
        let all = metrics.iter().any(|m| m.eq_ignore_ascii_case("ALL"));
        let wanted: Vec<(Option<(u32, u32)>, &str)> =
            metrics.iter().map(|m| split_scope(m)).collect();
        let mut out = Vec::new();
        for s in self.select(agents, filter) {
            if all {
                out.extend(
                    s.src
                        .entries()
                        .iter()
                        .map(|e| value(now_ms, s.agent, s.src, e)),
                );
                continue;
            }
            for (scope, m) in &wanted {
                if scope.is_some_and(|k| k != s.key) {
                    continue;
                }
                if let Some(e) = s.src.get(m) {
                    out.push(value(now_ms, s.agent, s.src, e));
                }
            }
        }
        out
    }

    /// A table with one row per selected data source and one column per requested metric
    /// (`/table/{agent}/{metrics}/json`, script `table()`).
    ///
    /// A data source gives a row only when it carries every plain column; a `null:<m>`
    /// column may be missing (its cell is `None`). One column may be `sort:<m>:<n>`: rows are
    /// sorted by that metric, descending for negative `n`, ascending for positive `n`, and
    /// cut to `|n|` rows (`sort:<m>` or `n` = 0: descending, no cut). Numbers sort before
    /// text; ties keep agent/data-source order.
    ///
    /// # Errors
    /// [`Error::Invalid`] (`what` = `table`) for more than one `sort:` column, a `sort:` count
    /// that is not an integer, or an empty column name.
    pub fn table(
        &self,
        now_ms: u64,
        agents: &AgentSel,
        metrics: &[&str],
        filter: &DsFilter,
    ) -> Result<Vec<Vec<Option<MetricValue>>>> {
        let mut cols = Vec::with_capacity(metrics.len());
        let mut sort: Option<(usize, i64)> = None;
        for (i, m) in metrics.iter().enumerate() {
            let col = if let Some(rest) = m.strip_prefix("sort:") {
                let (name, n) = match rest.rsplit_once(':') {
                    Some((name, n)) => {
                        let n = n.parse::<i64>().map_err(|_| {
                            Error::invalid("table", *m, "sort count must be an integer")
                        })?;
                        (name, n)
                    }
                    None => (rest, 0),
                };
                if sort.replace((i, n)).is_some() {
                    return Err(Error::invalid("table", *m, "only one sort: column"));
                }
                Col::Required(name)
            } else if let Some(name) = m.strip_prefix("null:") {
                Col::Optional(name)
            } else {
                Col::Required(m)
            };
            if matches!(col, Col::Required("") | Col::Optional("")) {
                return Err(Error::invalid("table", *m, "empty metric name"));
            }
            cols.push(col);
        }
        let mut rows: Vec<Vec<Option<MetricValue>>> = Vec::new();
        'src: for s in self.select(agents, filter) {
            let mut row = Vec::with_capacity(cols.len());
            for c in &cols {
                let (Col::Required(name) | Col::Optional(name)) = *c;
                match (s.src.get(name), c) {
                    (Some(e), _) => row.push(Some(value(now_ms, s.agent, s.src, e))),
                    (None, Col::Optional(_)) => row.push(None),
                    (None, Col::Required(_)) => continue 'src,
                }
            }
            rows.push(row);
        }
        if let Some((i, n)) = sort {
            let key = |r: &Vec<Option<MetricValue>>| -> Option<Metric> {
                r.get(i)
                    .and_then(|c| c.as_ref())
                    .map(|c| c.metric_value.clone())
            };
            rows.sort_by(|a, b| {
                let o = cmp_metric(key(a).as_ref(), key(b).as_ref());
                if n > 0 {
                    o
                } else {
                    o.reverse()
                }
            });
            if n != 0 {
                rows.truncate(usize::try_from(n.unsigned_abs()).unwrap_or(usize::MAX));
            }
        }
        Ok(rows)
    }

    /// Active metric names and milliseconds since each was last updated anywhere
    /// (`/metrics/json`), sorted by name.
    pub fn names(&self, now_ms: u64) -> Vec<(String, u64)> {
        // A name updated in several parts: its latest update.
        let mut seen: Map<&'static str, u64> = map();
        for p in &self.parts {
            for (n, t) in &p.seen {
                let e = seen.entry(*n).or_insert(*t);
                *e = (*e).max(*t);
            }
        }
        let mut v: Vec<(String, u64)> = seen
            .iter()
            .map(|(n, t)| ((*n).to_string(), now_ms.saturating_sub(*t)))
            .collect();
        v.sort_unstable();
        v
    }

    /// Every current value of one agent (`/metric/{agent}/json`), by data source then name;
    /// `None` for an unknown agent (HTTP 404). Deviation from the brief: takes `now_ms`, which
    /// `lastUpdate` (ms ago) needs.
    pub fn agent_metrics(&self, now_ms: u64, agent: IpAddr) -> Option<Vec<MetricValue>> {
        self.agent(agent)?;
        Some(self.dump(
            now_ms,
            &AgentSel::List(vec![agent]),
            &["ALL"],
            &DsFilter::default(),
        ))
    }
}

/// `2.1.load_one` → (`Some((2, 1))`, `load_one`); an unscoped name → (`None`, name).
fn split_scope(name: &str) -> (Option<(u32, u32)>, &str) {
    match name.rsplit_once('.') {
        Some((ds, m)) if !m.is_empty() => match counter_ds(ds) {
            Some(k) => (Some(k), m),
            None => (None, name),
        },
        _ => (None, name),
    }
}

/// The `(class, index)` of a counter data source name (`"3"`, `"2.1"`; not `"agent"`).
fn counter_ds(name: &str) -> Option<(u32, u32)> {
    name.parse::<DataSourceId>()
        .ok()
        .filter(|d| *d != DataSourceId::AGENT)
        .map(DataSourceId::class_index)
}

/// A [`MetricValue`] for `e`.
fn value(now_ms: u64, agent: IpAddr, src: &Source, e: &Entry) -> MetricValue {
    MetricValue {
        agent,
        data_source: src.name.clone(),
        metric_name: e.name.to_string(),
        metric_value: e.value.clone(),
        last_update: now_ms.saturating_sub(e.at_ms),
    }
}

/// Numbers before text, numbers by value, text lexicographically, missing last.
fn cmp_metric(a: Option<&Metric>, b: Option<&Metric>) -> Ordering {
    match (a, b) {
        (Some(Metric::Num(x)), Some(Metric::Num(y))) => x.total_cmp(y),
        (Some(Metric::Text(x)), Some(Metric::Text(y))) => x.cmp(y),
        (Some(Metric::Num(_)), Some(Metric::Text(_))) => Ordering::Less,
        (Some(Metric::Text(_)), Some(Metric::Num(_))) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// The statistic `stat` of `items` (newest first), reported under `asked`.
fn statistic(now_ms: u64, stat: Stat, asked: &str, items: &[Item<'_>]) -> Statistic {
    let age = |i: &Item<'_>| now_ms.saturating_sub(i.entry.at_ms);
    let nums: Vec<(&Item<'_>, f64)> = items
        .iter()
        .filter_map(|i| i.entry.value.num().map(|v| (i, v)))
        .collect();
    let (value, picked, n) = if nums.is_empty() {
        let texts: Vec<&Item<'_>> = items
            .iter()
            .filter(|i| i.entry.value.text().is_some())
            .collect();
        let text_of = |i: &&Item<'_>| i.entry.value.text().unwrap_or_default().to_string();
        let picked = match stat {
            Stat::Any => texts.first().copied(),
            Stat::Max => texts.iter().max_by_key(|i| text_of(i)).copied(),
            Stat::Min => texts.iter().min_by_key(|i| text_of(i)).copied(),
            _ => None,
        };
        (picked.map(|i| i.entry.value.clone()), picked, texts.len())
    } else {
        let mut vals: Vec<f64> = nums.iter().map(|x| x.1).collect();
        let picked = stat.pick(&vals).and_then(|i| nums.get(i)).map(|x| x.0);
        let v = stat.compute(&mut vals).filter(|v| v.is_finite());
        (v.map(Metric::Num), picked, nums.len())
    };
    let used: Vec<&Item<'_>> = if nums.is_empty() {
        items
            .iter()
            .filter(|i| i.entry.value.text().is_some())
            .collect()
    } else {
        nums.iter().map(|x| x.0).collect()
    };
    let newest = used.iter().map(|i| age(i)).min();
    let oldest = used.iter().map(|i| age(i)).max();
    Statistic {
        agent: picked.filter(|_| stat.picks()).map(|i| i.agent),
        data_source: picked.filter(|_| stat.picks()).map(|i| i.src.name.clone()),
        metric_name: asked.to_string(),
        metric_value: value,
        metric_n: u32::try_from(n).unwrap_or(u32::MAX),
        last_update: picked.map(age).or(newest),
        last_update_min: newest,
        last_update_max: oldest,
    }
}

#[cfg(test)]
mod tests {
    use super::split_scope;

    #[test]
    fn scopes() {
        assert_eq!(split_scope("2.1.load_one"), (Some((2, 1)), "load_one"));
        assert_eq!(split_scope("3.ifinoctets"), (Some((0, 3)), "ifinoctets"));
        assert_eq!(split_scope("load_one"), (None, "load_one"));
        assert_eq!(split_scope("x.y"), (None, "x.y"));
    }
}
