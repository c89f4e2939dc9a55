//! sFlow version 5 datagrams (placeholder: filled in by the sFlow decoder work).
