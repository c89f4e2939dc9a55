//! A visitor that renders every field and key, so lazily formatted values (DNS names, flag
//! strings, lists) are exercised too. Shared by the fuzz targets.

use flowlens_wire::{FieldVisitor, KeyVisitor, Value};

/// Accumulates rendered lengths so the work cannot be optimised away.
pub struct Sink(pub usize);

impl FieldVisitor for Sink {
    fn field(&mut self, name: &'static str, value: Value<'_>) {
        self.0 = self
            .0
            .wrapping_add(name.len())
            .wrapping_add(format!("{value}").len());
    }
}

impl KeyVisitor for Sink {
    fn key(&mut self, name: &'static str, depth: u8, value: Value<'_>) {
        self.0 = self
            .0
            .wrapping_add(name.len() + usize::from(depth) + format!("{value}").len());
    }
}
