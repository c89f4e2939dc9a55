//! Fixed-layout sFlow structures: the [`Wire`] scalar types and the `fixed_struct!` macro that
//! declares a zero-copy view, its accessors and its `visit_fields` from a field list.

use crate::error::Layer;
use crate::reader::Reader;
use crate::value::Value;
use core::net::{Ipv4Addr, Ipv6Addr};

/// A scalar XDR type that appears in fixed sFlow structures.
pub(crate) trait Wire: Sized + Copy {
    /// Encoded size in bytes (XDR pads everything to 4).
    const SIZE: usize;
    /// Decodes the value at `off`; callers guarantee `b` holds `off + SIZE` bytes (views are
    /// length-checked on construction), and a short slice yields a zero value, never a panic.
    fn read(b: &[u8], off: usize) -> Self;
    /// The value for a [`crate::FieldVisitor`].
    fn value(self) -> Value<'static>;
}

/// A reader positioned at `off` in `b` (at the end if `off` is out of range, so reads fail).
fn at(b: &[u8], off: usize) -> Reader<'_> {
    Reader::new(b.get(off..).unwrap_or(&[]), off, Layer::SflowCounterRecord)
}

/// `N` bytes at `off`, zeros if out of range.
fn take<const N: usize>(b: &[u8], off: usize) -> [u8; N] {
    at(b, off).array().unwrap_or([0; N])
}

impl Wire for u32 {
    const SIZE: usize = 4;
    fn read(b: &[u8], off: usize) -> Self {
        at(b, off).u32().unwrap_or(0)
    }
    fn value(self) -> Value<'static> {
        Value::U64(u64::from(self))
    }
}

impl Wire for u64 {
    const SIZE: usize = 8;
    fn read(b: &[u8], off: usize) -> Self {
        at(b, off).u64().unwrap_or(0)
    }
    fn value(self) -> Value<'static> {
        Value::U64(self)
    }
}

impl Wire for i32 {
    const SIZE: usize = 4;
    fn read(b: &[u8], off: usize) -> Self {
        i32::from_be_bytes(take(b, off))
    }
    fn value(self) -> Value<'static> {
        Value::I64(i64::from(self))
    }
}

impl Wire for f32 {
    const SIZE: usize = 4;
    fn read(b: &[u8], off: usize) -> Self {
        at(b, off).f32().unwrap_or(0.0)
    }
    fn value(self) -> Value<'static> {
        Value::F32(self)
    }
}

/// sFlow `mac`: XDR `opaque[6]`, padded to 8 bytes on the wire.
impl Wire for [u8; 6] {
    const SIZE: usize = 8;
    fn read(b: &[u8], off: usize) -> Self {
        take(b, off)
    }
    fn value(self) -> Value<'static> {
        Value::Mac(self)
    }
}

/// sFlow `ip_v4`: XDR `opaque[4]`.
impl Wire for Ipv4Addr {
    const SIZE: usize = 4;
    fn read(b: &[u8], off: usize) -> Self {
        Ipv4Addr::from(take::<4>(b, off))
    }
    fn value(self) -> Value<'static> {
        Value::Ip(self.into())
    }
}

/// sFlow `ip_v6`: XDR `opaque[16]`.
impl Wire for Ipv6Addr {
    const SIZE: usize = 16;
    fn read(b: &[u8], off: usize) -> Self {
        Ipv6Addr::from(take::<16>(b, off))
    }
    fn value(self) -> Value<'static> {
        Value::Ip(self.into())
    }
}

/// Declares a fixed-layout sFlow structure view.
///
/// ```text
/// fixed_struct! {
///     /// docs
///     Name, "spec_name", layer;
///     rust_name: u32 = "specName", "doc text",
///     ...
/// }
/// ```
///
/// generates `pub struct Name<'a>` over the record data, `SIZE`, `parse` (length check),
/// one accessor per field (offsets computed from the field types) and `visit_fields` (every
/// field, in wire order, under its spec name).
macro_rules! fixed_struct {
    (
        $(#[$meta:meta])*
        $name:ident, $spec:literal, $layer:expr;
        $( $field:ident : $ty:ty = $wire:literal, $doc:literal ),+ $(,)?
    ) => {
        $(#[$meta])*
        ///
        /// All fields are XDR big-endian; accessors decode on demand from the borrowed bytes.
        #[derive(Clone, Copy, Debug)]
        pub struct $name<'a> {
            data: &'a [u8],
        }

        impl<'a> $name<'a> {
            /// Size of the fixed structure in bytes.
            pub const SIZE: usize = 0 $(+ <$ty as $crate::sflow::fixed::Wire>::SIZE)+;
            /// Spec structure name.
            pub const NAME: &'static str = $spec;

            /// A view over `data` (the record data at absolute `offset`).
            ///
            /// # Errors
            /// [`crate::Error::Truncated`] if `data` is shorter than [`Self::SIZE`].
            pub(crate) fn parse(data: &'a [u8], offset: usize) -> $crate::Result<Self> {
                if data.len() < Self::SIZE {
                    return Err($crate::sflow::short($layer, offset, Self::SIZE, data.len()));
                }
                Ok(Self { data })
            }

            /// The record bytes this view reads (may be longer than [`Self::SIZE`] when an agent
            /// appends vendor extensions).
            pub fn data(&self) -> &'a [u8] {
                self.data
            }

            /// Calls `v` once per field, in wire order, under the spec member name.
            pub fn visit_fields(&self, v: &mut impl $crate::FieldVisitor) {
                $( v.field($wire, $crate::sflow::fixed::Wire::value(self.$field())); )+
            }
        }

        $crate::sflow::fixed::fixed_accessors!($name, 0usize; $( $field : $ty = $wire, $doc, )+);
    };
}

/// Accessor generator for `fixed_struct!`: walks the field list carrying the running offset.
macro_rules! fixed_accessors {
    ($name:ident, $off:expr;) => {};
    ($name:ident, $off:expr; $field:ident : $ty:ty = $wire:literal, $doc:literal, $($rest:tt)*) => {
        impl $name<'_> {
            #[doc = concat!("`", $wire, "`: ", $doc)]
            pub fn $field(&self) -> $ty {
                <$ty as $crate::sflow::fixed::Wire>::read(self.data, $off)
            }
        }
        $crate::sflow::fixed::fixed_accessors!(
            $name, $off + <$ty as $crate::sflow::fixed::Wire>::SIZE; $($rest)*
        );
    };
}

pub(crate) use fixed_accessors;
pub(crate) use fixed_struct;
