//! The parts of `flowlens` reachable from outside the binary: the settings file's schema and
//! its parser ([`config_file`]), so that the fuzz targets (`fuzz/`) can drive the parser the
//! binary uses. Everything else lives in the binary (`main.rs`).

pub mod config_file;
