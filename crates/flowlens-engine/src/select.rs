//! Selecting agents in queries: sFlow-RT's `{agent}` path segment.

use std::net::IpAddr;

use crate::error::{Error, Result};
use crate::sample::DataSource;

/// Which agents (or data sources) a query covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AgentSel {
    /// `ALL`: every agent.
    All,
    /// A list of agent addresses (`10.0.0.1;10.0.0.2` or comma separated).
    List(Vec<IpAddr>),
    /// `TOPOLOGY`: the agents of the topology's nodes (resolved by
    /// [`Engine::resolve_agents`](crate::Engine::resolve_agents); unresolved it selects none).
    Topology,
    /// `EDGE`: the data sources of the topology's edge ports (ports no link ends at).
    Edge,
    /// `CORE`: the data sources of the topology's core ports (ports a link ends at).
    Core,
    /// Resolved `EDGE`/`CORE`: these `(agent, ifIndex)` data sources, sorted.
    Ports(Vec<(IpAddr, u32)>),
}

impl AgentSel {
    /// Parses `ALL`, `TOPOLOGY`, `EDGE`, `CORE` (any case) or a `;`/`,` separated list of
    /// addresses.
    ///
    /// # Errors
    /// [`Error::NotFound`] (`what` = `agent`) for a list item that is not an IP address.
    pub fn parse(text: &str) -> Result<AgentSel> {
        for (token, sel) in [
            ("ALL", AgentSel::All),
            ("TOPOLOGY", AgentSel::Topology),
            ("EDGE", AgentSel::Edge),
            ("CORE", AgentSel::Core),
        ] {
            if text.trim().eq_ignore_ascii_case(token) {
                return Ok(sel);
            }
        }
        text.split([';', ','])
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.trim().parse().map_err(|_| Error::NotFound {
                    what: "agent",
                    name: s.to_string(),
                })
            })
            .collect::<Result<Vec<_>>>()
            .map(AgentSel::List)
    }

    /// True when `agent` is selected (for [`AgentSel::Ports`]: when one of its data sources
    /// is).
    pub fn contains(&self, agent: IpAddr) -> bool {
        match self {
            AgentSel::All => true,
            AgentSel::List(l) => l.contains(&agent),
            AgentSel::Ports(p) => p.iter().any(|(a, _)| *a == agent),
            AgentSel::Topology | AgentSel::Edge | AgentSel::Core => false,
        }
    }

    /// True when data source `ds` is selected: its agent is, and for
    /// [`AgentSel::Ports`] it is one of the ports (an ifIndex data source).
    pub fn contains_ds(&self, ds: DataSource) -> bool {
        match self {
            AgentSel::Ports(p) => {
                ds.id >> 24 == 0 && p.binary_search(&(ds.agent, ds.id & 0x00ff_ffff)).is_ok()
            }
            other => other.contains(ds.agent),
        }
    }
}
