//! sFlow v5 `interface` encodings of flow-sample input/output ports.

use crate::value::Value;
use core::fmt;

/// The low 30 bits of a compact interface, and the value that means "the agent itself".
const VALUE_MASK: u32 = 0x3FFF_FFFF;

/// An sFlow v5 flow-sample `input`/`output` interface (sFlow v5 spec, `interface` in
/// `flow_sample` and `interface_expanded` in `flow_sample_expanded`).
///
/// The compact form is one big-endian u32 whose top 2 bits are the format: 0 = ifIndex (0 means
/// unknown, `0x3FFFFFFF` means the packet was sourced by / delivered to the agent itself),
/// 1 = packet discarded (the low 30 bits are the reason, an ICMP unreachable code or 256..),
/// 2 = sent to multiple interfaces (the low 30 bits are the count, 0 = unknown count). The
/// expanded form carries the format and the value as two u32s.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Interface {
    /// Format 0: the SNMP ifIndex of the interface.
    Index(u32),
    /// Format 1: the packet was discarded; `reason` is the discard reason code.
    Discard {
        /// Discard reason (sFlow v5 spec: ICMP destination-unreachable code, or 256 + n).
        reason: u32,
    },
    /// Format 2: the packet was sent to several interfaces.
    Multiple {
        /// Number of interfaces (0 = unknown).
        count: u32,
    },
    /// Format 0 value `0x3FFFFFFF`: the packet came from, or was delivered to, the agent itself.
    Internal,
    /// Format 0 value 0: interface not known.
    Unknown,
    /// Format 3 (compact) or any format above 2 (expanded): reserved by the specification.
    Reserved {
        /// The format field.
        format: u32,
        /// The value field.
        value: u32,
    },
}

impl Interface {
    /// Decodes the compact (`flow_sample`) encoding.
    pub const fn from_compact(v: u32) -> Self {
        let (format, value) = Self::split_compact(v);
        Self::from_expanded(format, value)
    }

    /// The compact encoding's format (top 2 bits) and value (low 30 bits), as the expanded
    /// encoding carries them.
    pub(crate) const fn split_compact(v: u32) -> (u32, u32) {
        (v >> 30, v & VALUE_MASK)
    }

    /// Decodes the expanded (`flow_sample_expanded`, `interface_expanded`) encoding.
    pub const fn from_expanded(format: u32, value: u32) -> Self {
        match format {
            0 if value == 0 => Interface::Unknown,
            0 if value == VALUE_MASK => Interface::Internal,
            0 => Interface::Index(value),
            1 => Interface::Discard { reason: value },
            2 => Interface::Multiple { count: value },
            _ => Interface::Reserved { format, value },
        }
    }

    /// The compact 32-bit encoding (format in the top 2 bits). Expanded values wider than 30 bits
    /// only survive for format 0 (`Index`), which is returned unchanged.
    pub const fn raw(&self) -> u32 {
        match *self {
            Interface::Index(v) => v,
            Interface::Discard { reason } => (1 << 30) | (reason & VALUE_MASK),
            Interface::Multiple { count } => (2 << 30) | (count & VALUE_MASK),
            Interface::Internal => VALUE_MASK,
            Interface::Unknown => 0,
            Interface::Reserved { format, value } => ((format & 3) << 30) | (value & VALUE_MASK),
        }
    }

    /// The value for a visitor: the ifIndex as a number, otherwise sFlow-RT's names
    /// `"discard"`, `"multiple"`, `"internal"`, `"unknown"` (and `"reserved"`).
    pub const fn value(&self) -> Value<'static> {
        match *self {
            Interface::Index(v) => Value::U64(v as u64),
            Interface::Discard { .. } => Value::Name("discard"),
            Interface::Multiple { .. } => Value::Name("multiple"),
            Interface::Internal => Value::Name("internal"),
            Interface::Unknown => Value::Name("unknown"),
            Interface::Reserved { .. } => Value::Name("reserved"),
        }
    }
}

/// Same text as [`Interface::value`].
impl fmt::Display for Interface {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_encodings() {
        assert_eq!(Interface::from_compact(7), Interface::Index(7));
        assert_eq!(Interface::from_compact(0), Interface::Unknown);
        assert_eq!(Interface::from_compact(0x3FFF_FFFF), Interface::Internal);
        assert_eq!(
            Interface::from_compact(0x4000_0001),
            Interface::Discard { reason: 1 }
        );
        assert_eq!(
            Interface::from_compact(0x8000_0007),
            Interface::Multiple { count: 7 }
        );
        assert_eq!(
            Interface::from_compact(0xC000_0002),
            Interface::Reserved {
                format: 3,
                value: 2
            }
        );
        for raw in [7, 0, 0x3FFF_FFFF, 0x4000_0001, 0x8000_0007, 0xC000_0002] {
            assert_eq!(Interface::from_compact(raw).raw(), raw);
        }
        assert_eq!(
            Interface::from_expanded(0, 0x1234_5678),
            Interface::Index(0x1234_5678)
        );
        assert_eq!(
            Interface::from_expanded(2, 0),
            Interface::Multiple { count: 0 }
        );
        assert_eq!(
            Interface::from_expanded(9, 1),
            Interface::Reserved {
                format: 9,
                value: 1
            }
        );
        assert!(matches!(
            Interface::Internal.value(),
            Value::Name("internal")
        ));
        assert!(matches!(Interface::Index(3).value(), Value::U64(3)));
    }
}
