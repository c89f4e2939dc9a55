//! (in progress)
use std::net::IpAddr;
use std::sync::Arc;
/// stub
#[derive(Debug, Default)]
pub struct Groups;
/// stub
#[derive(Debug, Default)]
pub struct GroupSet;
impl GroupSet {
    /// stub
    pub fn lookup(&self, _ip: IpAddr) -> Option<&str> {
        None
    }
}
impl Groups {
    /// stub
    pub fn get(&self, _name: &str) -> Option<&Arc<GroupSet>> {
        None
    }
}
