//! What key functions and filters look values up in: groups, maps, the OUI table.

use std::sync::Arc;

use crate::groups::Groups;
use crate::maps::Maps;
use crate::oui::OuiTable;

/// Lookup tables for key functions. Owned by the engine; changed by `setGroups`/`setMap`.
#[derive(Debug, Default)]
pub struct Env {
    /// Named CIDR group sets (`group:<key>:<set>`, and the legacy `sourcegroup`).
    pub groups: Groups,
    /// Named value maps (`map:<key>:<map>`).
    pub maps: Maps,
    /// MAC vendor table for `oui:` (absent: `oui:` yields no value).
    pub oui: Option<Arc<OuiTable>>,
}
