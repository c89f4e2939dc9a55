//! TEMPORARY stub (replaced by the expression module): plain keys only, filters match all.
use crate::{Env, KeyBuf, Result, Schema, Slot};

/// Compiled key expression (stub).
#[derive(Clone, Debug)]
pub struct KeyExpr {
    slot: Slot,
    src: String,
}
impl KeyExpr {
    /// Parses.
    pub fn parse(src: &str, schema: &mut Schema) -> Result<KeyExpr> {
        Ok(KeyExpr {
            slot: schema.intern(src)?,
            src: src.into(),
        })
    }
    /// Evaluates.
    pub fn eval(&self, keys: &KeyBuf, _env: &Env, out: &mut String) -> bool {
        match keys.text(self.slot) {
            Some(t) => {
                out.push_str(t);
                true
            }
            None => false,
        }
    }
    /// Source.
    pub fn source(&self) -> &str {
        &self.src
    }
}
/// Splits.
pub fn split_keys(src: &str) -> Vec<&str> {
    src.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}
/// Filter (stub).
#[derive(Clone, Debug)]
pub struct Filter {
    src: String,
}
impl Filter {
    /// Parses.
    pub fn parse(src: &str, _schema: &mut Schema) -> Result<Filter> {
        Ok(Filter { src: src.into() })
    }
    /// Matches.
    pub fn matches(&self, _keys: &KeyBuf, _env: &Env) -> bool {
        true
    }
    /// Source.
    pub fn source(&self) -> &str {
        &self.src
    }
}
