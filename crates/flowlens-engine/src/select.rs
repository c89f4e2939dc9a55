//! Selecting agents in queries: sFlow-RT's `{agent}` path segment.

use std::net::IpAddr;

use crate::error::{Error, Result};

/// Which agents a query covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AgentSel {
    /// `ALL`: every agent.
    All,
    /// A list of agent addresses (`10.0.0.1;10.0.0.2` or comma separated).
    List(Vec<IpAddr>),
}

impl AgentSel {
    /// Parses `ALL` or a `;`/`,` separated list of addresses.
    pub fn parse(text: &str) -> Result<AgentSel> {
        if text.eq_ignore_ascii_case("ALL") {
            return Ok(AgentSel::All);
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

    /// True when `agent` is selected.
    pub fn contains(&self, agent: IpAddr) -> bool {
        match self {
            AgentSel::All => true,
            AgentSel::List(l) => l.contains(&agent),
        }
    }
}
