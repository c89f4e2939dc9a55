//! What key functions and filters look values up in: groups, maps, the OUI table, geo data,
//! and the topology.

use core::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use crate::groups::Groups;
use crate::maps::Maps;
use crate::oui::OuiTable;
use crate::topology::Topology;

/// Lookup tables for key functions. Owned by the engine; changed by `setGroups`/`setMap`.
#[derive(Debug, Default)]
pub struct Env {
    /// Named CIDR group sets (`group:<key>:<set>`, and the legacy `sourcegroup`).
    pub groups: Groups,
    /// Named value maps (`map:<key>:<map>`).
    pub maps: Maps,
    /// MAC vendor table for `oui:<key>:name` (absent: `oui:<key>:name` yields no value).
    pub oui: Option<Arc<OuiTable>>,
    /// Country / AS number lookups for `country:` and `asn:` (absent: both yield no value).
    pub geo: Option<Arc<dyn GeoLookup>>,
    /// The network topology (`/topology/json`, `setTopology`): the `TOPOLOGY`/`EDGE`/`CORE`
    /// agent selectors and the `edge`/`core` aggregation modes read it.
    pub topology: Topology,
}

/// A source of country and AS data for addresses (for example a MaxMind database), used by
/// the `country:<key>` and `asn:<key>:<number|descr|both>` key functions.
pub trait GeoLookup: fmt::Debug + Send + Sync {
    /// The ISO 3166 two-letter country code of `ip` (`"US"`), if known.
    fn country(&self, ip: IpAddr) -> Option<String>;
    /// The origin AS number and its description (`(15169, "GOOGLE")`), if known.
    fn asn(&self, ip: IpAddr) -> Option<(u32, String)>;
}
