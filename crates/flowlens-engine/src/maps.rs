//! (in progress)
/// stub
#[derive(Debug, Default)]
pub struct Maps;
