//! flowlens-script: embedded JavaScript apps with sFlow-RT's script API.
//!
//! Work in progress; see the module docs.

pub mod actions;
mod error;

pub use error::{Error, Result};
