//! flowlens binary.
fn main() {}
