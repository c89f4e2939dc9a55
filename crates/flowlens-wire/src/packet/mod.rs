//! Packet-header walker (placeholder: filled in by the header-walker work).
