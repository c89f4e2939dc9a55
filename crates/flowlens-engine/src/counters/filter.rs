//! Data-source filters: sFlow-RT's `{attr:[values]}` objects (threshold `filter`, the query
//! parameters of `/metric`, `/dump` and `/table`: `os_name=linux&os_name=windows&
//! host_name=*web.*`).
//!
//! A data source matches when, for every attribute, its value of that metric equals one of
//! the listed values. The value is looked up on the data source itself, else on the agent's
//! other data sources (so `{os_name:["linux"]}` selects the interfaces of Linux hosts, whose
//! `os_name` lives on data source `2.1`); the pseudo-attribute `agent` matches the agent
//! address. A value containing `*` is a wildcard pattern: `*` matches any run of characters
//! (`*web.*` matches `www.web.example`, `*` matches any value present); other characters are
//! literal. Numbers compare in their text form (`10000000000`, see
//! [`super::Metric::to_filter_text`]).

use serde_json::Value;

use crate::error::{Error, Result};

/// Most attributes and values a filter may hold (filters come from HTTP requests).
const MAX_TERMS: usize = 256;

/// A data-source filter; the default matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DsFilter {
    /// `(attribute, accepted values)`, in the order given.
    terms: Vec<(String, Vec<String>)>,
}

impl DsFilter {
    /// Parses `{"os_name":["linux","windows"], "ifspeed":["10000000000"]}`. Each member is an
    /// array of strings or numbers, or a single string or number. `null` and `{}` give the
    /// empty filter.
    ///
    /// # Errors
    /// [`Error::Invalid`] (`what` = `filter`) when `json` is not an object, a member is not a
    /// string/number/array of them, or the filter holds more than 256 values.
    pub fn from_json(json: &Value) -> Result<DsFilter> {
        let obj = match json {
            Value::Null => return Ok(DsFilter::default()),
            Value::Object(o) => o,
            _ => return Err(Error::invalid("filter", "", "must be an object")),
        };
        let mut terms = Vec::new();
        let mut count = 0usize;
        for (attr, v) in obj {
            let vals: Vec<String> = match v {
                Value::Array(a) => a.iter().map(|x| scalar(attr, x)).collect::<Result<_>>()?,
                x => vec![scalar(attr, x)?],
            };
            count += vals.len().max(1);
            if count > MAX_TERMS {
                return Err(Error::invalid("filter", attr.as_str(), "too many values"));
            }
            terms.push((attr.clone(), vals));
        }
        Ok(DsFilter { terms })
    }

    /// Adds one accepted value for `attr` (query-string form: `os_name=linux`).
    pub fn push(&mut self, attr: &str, value: &str) {
        match self.terms.iter_mut().find(|t| t.0 == attr) {
            Some(t) => t.1.push(value.to_string()),
            None => self.terms.push((attr.to_string(), vec![value.to_string()])),
        }
    }

    /// True when the filter has no attributes.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The attributes, in order.
    pub fn attrs(&self) -> impl Iterator<Item = &str> {
        self.terms.iter().map(|t| t.0.as_str())
    }

    /// True when the values (one per attribute, in [`DsFilter::attrs`] order; `None` when
    /// the data source and its agent lack the attribute) all match.
    pub(crate) fn matches(&self, values: &[Option<String>]) -> bool {
        self.terms.iter().enumerate().all(|(i, (_, accepted))| {
            values
                .get(i)
                .and_then(Option::as_deref)
                .is_some_and(|v| accepted.iter().any(|p| glob(p, v)))
        })
    }
}

/// The text of one filter value.
fn scalar(attr: &str, v: &Value) -> Result<String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(Error::invalid(
            "filter",
            attr,
            "values must be strings or numbers",
        )),
    }
}

/// Wildcard match: `*` matches any run of characters, everything else is literal. Linear
/// time (greedy with one backtrack point), so patterns from requests cannot blow up.
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
    if !pattern.contains('*') {
        return pattern == text;
    }
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(c) if Some(c) == t.get(ti) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..)
        .is_some_and(|rest| rest.iter().all(|&c| c == '*'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn globbing() {
        assert!(glob("*web.*", "www.web.example"));
        assert!(glob("*web.*", "web."));
        assert!(!glob("*web.*", "webserver"));
        assert!(glob("*", "anything"));
        assert!(glob("linux", "linux"));
        assert!(!glob("linux", "linux2"));
        assert!(glob("a*b*c", "aXXbYYc"));
        assert!(!glob("a*b*c", "aXXbYY"));
    }

    #[test]
    fn parse() {
        let f = DsFilter::from_json(&json!({"os_name":["linux"],"ifspeed":[10000000000u64]}));
        let f = f.ok().unwrap_or_default();
        // the workspace enables serde_json's preserve_order: attributes keep their order
        assert_eq!(f.attrs().collect::<Vec<_>>(), ["os_name", "ifspeed"]);
        assert!(f.matches(&[Some("linux".into()), Some("10000000000".into())]));
        assert!(!f.matches(&[None, Some("10000000000".into())]));
        let r = DsFilter::from_json(&json!([1]));
        assert!(
            matches!(&r, Err(Error::Invalid { what: "filter", field, reason }) if field == "" && reason.contains("must be an object")),
            "{r:?}"
        );
        let r = DsFilter::from_json(&json!({"a":[{"b":1}]}));
        assert!(
            matches!(&r, Err(Error::Invalid { what: "filter", field, reason }) if field == "a" && reason.contains("values must be strings or numbers")),
            "{r:?}"
        );
        assert!(DsFilter::from_json(&json!(null)).is_ok_and(|f| f.is_empty()));
    }
}
