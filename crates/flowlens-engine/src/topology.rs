//! The network topology an operator (or a script) describes: sFlow-RT's `/topology/json`
//! document and what the engine derives from it (sans-IO, no clock).
//!
//! Shape, as sFlow-RT's OpenAPI description gives it:
//!
//! ```json
//! {"nodes": {"leaf1": {"agent": "10.0.0.1", "dpid": "…", "tags": {…},
//!                      "ports": {"swp1": {"ifindex": "3", "ofport": "1", "dpid": "…"}}}},
//!  "links": {"l1": {"node1": "leaf1", "port1": "swp1", "node2": "spine1", "port2": "swp3"}}}
//! ```
//!
//! Each node names the sFlow `agent` that reports it; each port its `ifindex` at that agent
//! (a number or a string of digits). A port is a *core* port when a link ends at it and an
//! *edge* port otherwise (where hosts attach). The document is kept as given (`GET` answers
//! it unchanged, other attributes included) and indexed:
//!
//! * agent selectors `TOPOLOGY` (the agents of the nodes), `EDGE` (the data sources of edge
//!   ports) and `CORE` (those of core ports): [`Engine::resolve_agents`](crate::Engine::resolve_agents);
//! * the aggregation modes `edge` and `core` of `/activeflows` ([`crate::AggMode`]);
//! * the `link:<ifkey>` key function ([`Topology::link_name`]);
//! * host location ([`Topology::observe_sflow`]): the source MAC of each Ethernet frame
//!   sampled entering a topology agent at an edge interface (any interface of a node's agent
//!   that no link ends at) locates that host there (`topologyLocateHostMac`,
//!   `topologyLocatedHostMacs`). At most [`MAX_HOSTS`] hosts are kept; a location not seen for
//!   [`HOST_TTL_MS`] expires (inferred: sFlow-RT does not document how long it keeps one);
//! * the script functions `topologyInterfaceToLink`, `topologyInterfaceToPort`, ….
//!
//! Validation: `nodes` and `links` must be objects of objects; an `agent` must be an IP
//! address, an `ifindex` a non-negative integer below 2²⁴ (an sFlow data-source index), a
//! link's `node1`, `port1`, `node2`, `port2` strings. A link may name a node or port the
//! document does not define (sFlow-RT accepts link-only topologies); such a link end is simply
//! not resolved to an interface.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::IpAddr;

use flowlens_wire::sflow::{Datagram, FlowData, Interface, Sample};
use serde_json::{json, Map as JsonMap, Value as Json};

use crate::error::{Error, Result};
use crate::sample::DataSource;
use crate::select::AgentSel;

/// One node's port.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Port {
    ifindex: Option<u32>,
}

/// One node.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Node {
    agent: Option<IpAddr>,
    ports: BTreeMap<String, Port>,
}

/// One link between two node ports.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Link {
    node1: String,
    port1: String,
    node2: String,
    port2: String,
}

/// The topology and its indexes (empty until set).
#[derive(Clone, Debug, Default)]
pub struct Topology {
    /// The document as set.
    doc: Option<Json>,
    /// Bumped on every set (`topologyVersion()`).
    version: u64,
    nodes: BTreeMap<String, Node>,
    links: BTreeMap<String, Link>,
    /// `(agent, ifindex)` → `(node, port)`.
    ports: BTreeMap<(IpAddr, u32), (String, String)>,
    /// `(node, port)` → link name, for both ends of each link.
    link_ends: BTreeMap<(String, String), String>,
    /// The nodes' agents.
    agent_set: BTreeSet<IpAddr>,
    /// Where each host (source MAC) was last seen at an edge interface.
    hosts: BTreeMap<[u8; 6], Located>,
}

/// Most hosts located at once (new ones beyond are not located until others expire).
pub const MAX_HOSTS: usize = 100_000;

/// How long a host's location lasts without a new sample, milliseconds (30 minutes).
pub const HOST_TTL_MS: u64 = 30 * 60 * 1000;

/// Where a host was last seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Located {
    agent: IpAddr,
    ifindex: u32,
    last_ms: u64,
}

/// Which ports an `EDGE`/`CORE` selector or aggregation means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortRole {
    /// Ports no link ends at.
    Edge,
    /// Ports a link ends at.
    Core,
}

impl Topology {
    /// Replaces the topology with `doc` (see the module docs for the shape).
    ///
    /// # Errors
    /// [`Error::Invalid`] (`what` = `topology`) naming the offending node, port or link.
    pub fn set(&mut self, doc: &Json) -> Result<()> {
        let bad = |field: String, reason: &str| Error::invalid("topology", field, reason);
        let obj = doc
            .as_object()
            .ok_or_else(|| bad("document".into(), "must be an object"))?;
        let section = |name: &str| -> Result<JsonMap<String, Json>> {
            match obj.get(name) {
                None | Some(Json::Null) => Ok(JsonMap::new()),
                Some(Json::Object(o)) => Ok(o.clone()),
                Some(_) => Err(bad(name.into(), "must be an object")),
            }
        };
        let mut nodes = BTreeMap::new();
        for (name, n) in section("nodes")? {
            let n = n
                .as_object()
                .ok_or_else(|| bad(format!("nodes.{name}"), "must be an object"))?;
            let agent =
                match n.get("agent") {
                    None | Some(Json::Null) => None,
                    Some(Json::String(s)) => Some(s.trim().parse::<IpAddr>().map_err(|_| {
                        bad(format!("nodes.{name}.agent"), "must be an IP address")
                    })?),
                    Some(_) => return Err(bad(format!("nodes.{name}.agent"), "must be a string")),
                };
            let mut ports = BTreeMap::new();
            match n.get("ports") {
                None | Some(Json::Null) => {}
                Some(Json::Object(ps)) => {
                    for (pname, p) in ps {
                        let field = || format!("nodes.{name}.ports.{pname}");
                        let p = p
                            .as_object()
                            .ok_or_else(|| bad(field(), "must be an object"))?;
                        let ifindex = match p.get("ifindex") {
                            None | Some(Json::Null) => None,
                            Some(v) => Some(ifindex_of(v).ok_or_else(|| {
                                bad(
                                    format!("{}.ifindex", field()),
                                    "must be an integer from 0 to 16777215",
                                )
                            })?),
                        };
                        ports.insert(pname.clone(), Port { ifindex });
                    }
                }
                Some(_) => return Err(bad(format!("nodes.{name}.ports"), "must be an object")),
            }
            nodes.insert(name, Node { agent, ports });
        }
        let mut links = BTreeMap::new();
        for (name, l) in section("links")? {
            let l = l
                .as_object()
                .ok_or_else(|| bad(format!("links.{name}"), "must be an object"))?;
            let end = |k: &str| -> Result<String> {
                match l.get(k) {
                    Some(Json::String(s)) => Ok(s.clone()),
                    Some(Json::Number(n)) => Ok(n.to_string()),
                    _ => Err(bad(format!("links.{name}.{k}"), "must be a string")),
                }
            };
            links.insert(
                name.clone(),
                Link {
                    node1: end("node1")?,
                    port1: end("port1")?,
                    node2: end("node2")?,
                    port2: end("port2")?,
                },
            );
        }
        let mut ports = BTreeMap::new();
        for (nname, n) in &nodes {
            let Some(agent) = n.agent else { continue };
            for (pname, p) in &n.ports {
                if let Some(ifindex) = p.ifindex {
                    ports
                        .entry((agent, ifindex))
                        .or_insert_with(|| (nname.clone(), pname.clone()));
                }
            }
        }
        let mut link_ends = BTreeMap::new();
        for (lname, l) in &links {
            link_ends.insert((l.node1.clone(), l.port1.clone()), lname.clone());
            link_ends.insert((l.node2.clone(), l.port2.clone()), lname.clone());
        }
        let agent_set = nodes.values().filter_map(|n| n.agent).collect();
        let mut next = Topology {
            doc: Some(doc.clone()),
            version: self.version + 1,
            nodes,
            links,
            ports,
            link_ends,
            agent_set,
            hosts: BTreeMap::new(),
        };
        // Hosts stay located where the new topology still has an edge interface.
        next.hosts = std::mem::take(&mut self.hosts)
            .into_iter()
            .filter(|(_, l)| next.is_edge(l.agent, l.ifindex))
            .collect();
        *self = next;
        Ok(())
    }

    /// True when a topology was set (even an empty one).
    pub fn is_set(&self) -> bool {
        self.doc.is_some()
    }

    /// The document as set (`GET /topology/json`, `getTopology()`); `{}` before any.
    pub fn to_json(&self) -> Json {
        self.doc.clone().unwrap_or_else(|| json!({}))
    }

    /// How many times the topology was set (`topologyVersion()`); 0 before any.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The node names, sorted (`topologyNodeNames()`).
    pub fn node_names(&self) -> Vec<String> {
        self.nodes.keys().cloned().collect()
    }

    /// The link names, sorted (`topologyLinkNames()`).
    pub fn link_names(&self) -> Vec<String> {
        self.links.keys().cloned().collect()
    }

    /// Node `name` as the document gives it (`topologyNode(name)`).
    pub fn node(&self, name: &str) -> Option<Json> {
        self.doc.as_ref()?.get("nodes")?.get(name).cloned()
    }

    /// Link `name` as the document gives it (`topologyLink(name)`).
    pub fn link(&self, name: &str) -> Option<Json> {
        self.doc.as_ref()?.get("links")?.get(name).cloned()
    }

    /// The links with an end at node `node`, sorted (`topologyNodeLinks(node)`).
    pub fn node_links(&self, node: &str) -> Vec<String> {
        self.links
            .iter()
            .filter(|(_, l)| l.node1 == node || l.node2 == node)
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// The agent of node `node` (`topologyAgentForNode(node)`).
    pub fn agent_for_node(&self, node: &str) -> Option<IpAddr> {
        self.nodes.get(node)?.agent
    }

    /// The nodes reported by `agent`; with `ifindex`, only the node with that port
    /// (`topologyNodesForAgent(agent[, ds])`).
    pub fn nodes_for_agent(&self, agent: IpAddr, ifindex: Option<u32>) -> Vec<String> {
        self.nodes
            .iter()
            .filter(|(_, n)| n.agent == Some(agent))
            .filter(|(_, n)| ifindex.is_none_or(|i| n.ports.values().any(|p| p.ifindex == Some(i))))
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// The node and port of `agent`'s interface `ifindex` (`topologyInterfaceToPort`):
    /// `{node, port, …the port's own attributes (ifindex, ofport, dpid)}`; the node's `dpid`
    /// when the port has none.
    pub fn interface_to_port(&self, agent: IpAddr, ifindex: u32) -> Option<Json> {
        let (node, port) = self.ports.get(&(agent, ifindex))?;
        let mut o = JsonMap::new();
        let doc_node = self.node(node).unwrap_or(Json::Null);
        if let Some(Json::Object(attrs)) = doc_node.get("ports").and_then(|p| p.get(port)) {
            o.extend(attrs.clone());
        }
        if !o.contains_key("dpid") {
            if let Some(d) = doc_node.get("dpid") {
                o.insert("dpid".into(), d.clone());
            }
        }
        o.insert("node".into(), Json::from(node.as_str()));
        o.insert("port".into(), Json::from(port.as_str()));
        Some(Json::Object(o))
    }

    /// The link at `agent`'s interface `ifindex` (`topologyInterfaceToLink`): `{linkname,
    /// link (the same name, as older apps read it), localnode, localport, remotenode,
    /// remoteport}`; `None` at an edge port or an interface not in the topology.
    pub fn interface_to_link(&self, agent: IpAddr, ifindex: u32) -> Option<Json> {
        let (node, port) = self.ports.get(&(agent, ifindex))?;
        let name = self.link_ends.get(&(node.clone(), port.clone()))?;
        let l = self.links.get(name)?;
        let (rn, rp) = if l.node1 == *node && l.port1 == *port {
            (&l.node2, &l.port2)
        } else {
            (&l.node1, &l.port1)
        };
        Some(json!({
            "linkname": name, "link": name,
            "localnode": node, "localport": port,
            "remotenode": rn, "remoteport": rp,
        }))
    }

    /// The name of the link at `agent`'s interface `ifindex` (the `link:` key function).
    pub fn link_name(&self, agent: IpAddr, ifindex: u32) -> Option<&str> {
        let end = self.ports.get(&(agent, ifindex))?;
        self.link_ends.get(end).map(String::as_str)
    }

    /// True when `agent`'s interface `ifindex` is an edge interface: `agent` is a node's and
    /// no link ends at that interface.
    pub fn is_edge(&self, agent: IpAddr, ifindex: u32) -> bool {
        self.agent_set.contains(&agent)
            && self
                .ports
                .get(&(agent, ifindex))
                .is_none_or(|end| !self.link_ends.contains_key(end))
    }

    /// Locates hosts from the flow samples of datagram `d` received at `now_ms` (see the
    /// module docs). Cheap when `d`'s agent is not in the topology.
    pub fn observe_sflow(&mut self, now_ms: u64, d: &Datagram<'_>) {
        let agent = d.agent_address();
        if !self.agent_set.contains(&agent) {
            return;
        }
        for s in d.samples() {
            let fs = match s {
                Ok(Sample::Flow(fs)) => fs,
                Ok(_) => continue,
                Err(_) => break,
            };
            let Interface::Index(ifindex) = fs.input() else {
                continue;
            };
            if !self.is_edge(agent, ifindex) {
                continue;
            }
            for r in fs.records() {
                let Ok(r) = r else { break };
                let FlowData::SampledHeader(h) = r.data else {
                    continue;
                };
                // Ethernet (header_protocol 1): the source MAC is bytes 6..12; a group
                // address there is no host.
                let mac: Option<[u8; 6]> = (h.header_protocol() == 1)
                    .then(|| h.header().get(6..12)?.try_into().ok())
                    .flatten();
                if let Some(mac) = mac.filter(|m| m[0] & 1 == 0) {
                    self.locate(mac, agent, ifindex, now_ms);
                }
            }
        }
    }

    fn locate(&mut self, mac: [u8; 6], agent: IpAddr, ifindex: u32, now_ms: u64) {
        if self.hosts.len() >= MAX_HOSTS && !self.hosts.contains_key(&mac) {
            return;
        }
        self.hosts.insert(
            mac,
            Located {
                agent,
                ifindex,
                last_ms: now_ms,
            },
        );
    }

    /// Forgets host locations not seen for [`HOST_TTL_MS`].
    pub fn expire_hosts(&mut self, now_ms: u64) {
        self.hosts
            .retain(|_, l| now_ms.saturating_sub(l.last_ms) < HOST_TTL_MS);
    }

    /// Where host `mac` was last seen (`topologyLocateHostMac`): `{mac, agent, ifindex, node,
    /// port, lastUpdate}` (`node`/`port` when the interface is a node's port, else `null`;
    /// `lastUpdate` in ms ago; inferred shape).
    pub fn locate_mac(&self, now_ms: u64, mac: [u8; 6]) -> Option<Json> {
        let l = self.hosts.get(&mac)?;
        let end = self.ports.get(&(l.agent, l.ifindex));
        Some(json!({
            "mac": mac_text(mac),
            "agent": l.agent.to_string(),
            "ifindex": l.ifindex,
            "node": end.map(|e| e.0.as_str()),
            "port": end.map(|e| e.1.as_str()),
            "lastUpdate": now_ms.saturating_sub(l.last_ms),
        }))
    }

    /// The hosts (MACs as flow keys print them) located at `agent` (all: `None`) and
    /// interface `ifindex` (all: `None`), sorted (`topologyLocatedHostMacs([agent, ifIndex])`).
    pub fn located_macs(&self, agent: Option<IpAddr>, ifindex: Option<u32>) -> Vec<String> {
        self.hosts
            .iter()
            .filter(|(_, l)| agent.is_none_or(|a| a == l.agent))
            .filter(|(_, l)| ifindex.is_none_or(|i| i == l.ifindex))
            .map(|(m, _)| mac_text(*m))
            .collect()
    }

    /// The agents of the topology's nodes (`TOPOLOGY`).
    pub fn agents(&self) -> Vec<IpAddr> {
        self.agent_set.iter().copied().collect()
    }

    /// The role of the data source `ds` in the topology; `None` when it is not one of its
    /// ports (an ifIndex data source of a node's agent with a port of that ifindex).
    pub fn role(&self, ds: DataSource) -> Option<PortRole> {
        let (class, index) = (ds.id >> 24, ds.id & 0x00ff_ffff);
        if class != 0 || ds.id == DataSource::AGENT {
            return None;
        }
        let end = self.ports.get(&(ds.agent, index))?;
        Some(if self.link_ends.contains_key(end) {
            PortRole::Core
        } else {
            PortRole::Edge
        })
    }

    /// The data sources (`(agent, ifindex)`) of ports with `role`.
    pub fn ports_with(&self, role: PortRole) -> Vec<(IpAddr, u32)> {
        self.ports
            .iter()
            .filter(|(_, end)| self.link_ends.contains_key(*end) == (role == PortRole::Core))
            .map(|(k, _)| *k)
            .collect()
    }

    /// The links of a shortest path from node `from` to node `to`, in order
    /// (`topologyShortestPath(from, to)`; inferred: sFlow-RT documents only "array"): fewest
    /// links, ties broken by link name; `[]` from a node to itself; `None` when either node is
    /// unknown or no path joins them.
    pub fn shortest_path(&self, from: &str, to: &str) -> Option<Vec<String>> {
        let known = |n: &str| {
            self.nodes.contains_key(n) || self.links.values().any(|l| l.node1 == n || l.node2 == n)
        };
        if !known(from) || !known(to) {
            return None;
        }
        // BFS over nodes, remembering the link each node was reached by.
        let mut via: BTreeMap<&str, (&str, &str)> = BTreeMap::new();
        let mut queue = VecDeque::from([from]);
        let mut seen = BTreeSet::from([from]);
        while let Some(n) = queue.pop_front() {
            if n == to {
                break;
            }
            for (name, l) in &self.links {
                let other = if l.node1 == n {
                    l.node2.as_str()
                } else if l.node2 == n {
                    l.node1.as_str()
                } else {
                    continue;
                };
                if seen.insert(other) {
                    via.insert(other, (name.as_str(), n));
                    queue.push_back(other);
                }
            }
        }
        if !seen.contains(to) {
            return None;
        }
        let mut path = Vec::new();
        let mut at = to;
        while at != from {
            let (link, prev) = via.get(at)?;
            path.push((*link).to_string());
            at = prev;
        }
        path.reverse();
        Some(path)
    }

    /// The links of a minimum spanning tree (a forest when the topology is not connected),
    /// every link weighing the same: Kruskal's algorithm over the links in name order, so the
    /// answer is deterministic (`topologyMinimumSpanningTree()`; inferred shape: the link
    /// names, sorted).
    pub fn minimum_spanning_tree(&self) -> Vec<String> {
        let mut parent: BTreeMap<&str, &str> = BTreeMap::new();
        fn root<'n>(parent: &BTreeMap<&'n str, &'n str>, mut n: &'n str) -> &'n str {
            while let Some(p) = parent.get(n).filter(|p| **p != n) {
                n = p;
            }
            n
        }
        let mut tree = Vec::new();
        for (name, l) in &self.links {
            let (a, b) = (root(&parent, &l.node1), root(&parent, &l.node2));
            if a != b {
                parent.insert(a, b);
                tree.push(name.clone());
            }
        }
        tree
    }

    /// The largest number of links on a shortest path between two connected nodes
    /// (`topologyDiameter()`); 0 without links.
    pub fn diameter(&self) -> usize {
        let mut adj: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for l in self.links.values() {
            if l.node1 != l.node2 {
                adj.entry(&l.node1).or_default().insert(&l.node2);
                adj.entry(&l.node2).or_default().insert(&l.node1);
            }
        }
        let mut best = 0;
        for &start in adj.keys() {
            let mut dist: BTreeMap<&str, usize> = BTreeMap::from([(start, 0)]);
            let mut queue = VecDeque::from([start]);
            while let Some(n) = queue.pop_front() {
                let d = dist.get(n).copied().unwrap_or(0);
                best = best.max(d);
                for &m in adj.get(n).into_iter().flatten() {
                    if !dist.contains_key(m) {
                        dist.insert(m, d + 1);
                        queue.push_back(m);
                    }
                }
            }
        }
        best
    }
}

impl crate::Engine {
    /// Replaces the topology (`PUT /topology/json`, `setTopology(doc)`).
    ///
    /// # Errors
    /// As [`Topology::set`]; the previous topology stays.
    pub fn set_topology(&mut self, doc: &Json) -> Result<()> {
        self.env_mut().topology.set(doc)
    }

    /// `sel` with the topology's selectors resolved: `TOPOLOGY` as the list of its agents,
    /// `EDGE`/`CORE` as [`AgentSel::Ports`]; others unchanged.
    pub fn resolve_agents(&self, sel: &AgentSel) -> AgentSel {
        let t = &self.env().topology;
        match sel {
            AgentSel::Topology => AgentSel::List(t.agents()),
            AgentSel::Edge => AgentSel::Ports(t.ports_with(PortRole::Edge)),
            AgentSel::Core => AgentSel::Ports(t.ports_with(PortRole::Core)),
            other => other.clone(),
        }
    }
}

/// A MAC as flow keys print it: 12 lowercase hex digits.
fn mac_text(m: [u8; 6]) -> String {
    m.iter().map(|b| format!("{b:02x}")).collect()
}

/// An ifindex given as a number or a string of digits, within 24 bits.
pub fn ifindex_of(v: &Json) -> Option<u32> {
    let n = match v {
        Json::Number(n) => n.as_u64()?,
        Json::String(s) => s.trim().parse::<u64>().ok()?,
        _ => return None,
    };
    u32::try_from(n).ok().filter(|&i| i <= 0x00ff_ffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fabric() -> Topology {
        let mut t = Topology::default();
        t.set(&json!({
            "nodes": {
                "leaf1": {"agent": "10.0.0.1", "dpid": "0001",
                          "ports": {"s1-eth1": {"ifindex": "1", "ofport": "1"},
                                    "s1-eth3": {"ifindex": 3}}},
                "leaf2": {"agent": "10.0.0.2",
                          "ports": {"s2-eth1": {"ifindex": "1"}, "s2-eth3": {"ifindex": "3"}}},
                "spine": {"agent": "10.0.0.3",
                          "ports": {"s3-eth1": {"ifindex": "1"}, "s3-eth2": {"ifindex": "2"}}}
            },
            "links": {
                "l1": {"node1": "leaf1", "port1": "s1-eth3", "node2": "spine", "port2": "s3-eth1"},
                "l2": {"node1": "leaf2", "port1": "s2-eth3", "node2": "spine", "port2": "s3-eth2"}
            }
        }))
        .unwrap_or_else(|e| unreachable!("{e}"));
        t
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    #[test]
    fn lookups_follow_the_document() {
        let t = fabric();
        assert_eq!(t.version(), 1);
        assert_eq!(t.node_names(), ["leaf1", "leaf2", "spine"]);
        assert_eq!(t.node_links("spine"), ["l1", "l2"]);
        assert_eq!(t.agent_for_node("leaf2"), Some(ip("10.0.0.2")));
        assert_eq!(t.nodes_for_agent(ip("10.0.0.1"), Some(3)), ["leaf1"]);
        assert!(t.nodes_for_agent(ip("10.0.0.1"), Some(9)).is_empty());
        assert_eq!(
            t.interface_to_port(ip("10.0.0.1"), 1),
            Some(
                json!({"ifindex": "1", "ofport": "1", "dpid": "0001", "node": "leaf1", "port": "s1-eth1"})
            )
        );
        assert_eq!(t.interface_to_link(ip("10.0.0.1"), 1), None);
        let l = t.interface_to_link(ip("10.0.0.3"), 2).unwrap_or_default();
        assert_eq!(l["linkname"], "l2");
        assert_eq!(l["remotenode"], "leaf2");
        assert_eq!(t.diameter(), 2);
        assert_eq!(t.agents().len(), 3);
        assert_eq!(
            t.shortest_path("leaf1", "leaf2"),
            Some(vec!["l1".into(), "l2".into()])
        );
        assert_eq!(t.shortest_path("leaf2", "leaf2"), Some(vec![]));
        assert_eq!(t.shortest_path("leaf1", "nowhere"), None);
        assert_eq!(t.minimum_spanning_tree(), ["l1", "l2"]);
        let mut ring = Topology::default();
        ring.set(&json!({"links": {
            "ab": {"node1": "a", "port1": "1", "node2": "b", "port2": "1"},
            "bc": {"node1": "b", "port1": "2", "node2": "c", "port2": "1"},
            "ca": {"node1": "c", "port1": "2", "node2": "a", "port2": "2"}}}))
            .unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(ring.minimum_spanning_tree(), ["ab", "bc"]);
        assert_eq!(ring.shortest_path("a", "c"), Some(vec!["ca".into()]));
        assert_eq!(ring.diameter(), 1);
    }

    #[test]
    fn roles_of_data_sources() {
        let t = fabric();
        let ds = |a: &str, i: u32| DataSource::new(ip(a), 0, i);
        assert_eq!(t.role(ds("10.0.0.1", 1)), Some(PortRole::Edge));
        assert_eq!(t.role(ds("10.0.0.1", 3)), Some(PortRole::Core));
        assert_eq!(t.role(ds("10.0.0.9", 3)), None);
        assert_eq!(t.ports_with(PortRole::Edge).len(), 2);
        assert_eq!(t.ports_with(PortRole::Core).len(), 4);
    }

    #[test]
    fn hosts_are_located_at_edge_interfaces_and_expire() {
        let mut t = fabric();
        let (a, b) = ([0x02, 0, 0, 0, 0, 1], [0x02, 0, 0, 0, 0, 2]);
        t.locate(a, ip("10.0.0.1"), 1, 1_000);
        t.locate(b, ip("10.0.0.2"), 1, 2_000);
        assert_eq!(t.located_macs(None, None), ["020000000001", "020000000002"]);
        assert_eq!(
            t.located_macs(Some(ip("10.0.0.1")), Some(1)),
            ["020000000001"]
        );
        let at = t.locate_mac(3_000, a).unwrap_or_default();
        assert_eq!(at["node"], "leaf1");
        assert_eq!(at["port"], "s1-eth1");
        assert_eq!(at["lastUpdate"], 2_000);
        assert!(t.is_edge(ip("10.0.0.1"), 1) && t.is_edge(ip("10.0.0.1"), 77));
        assert!(!t.is_edge(ip("10.0.0.1"), 3) && !t.is_edge(ip("10.9.9.9"), 1));
        t.expire_hosts(1_000 + HOST_TTL_MS);
        assert_eq!(t.located_macs(None, None), ["020000000002"]);
        // A new topology keeps the hosts whose interface is still an edge one.
        let doc = t.to_json();
        t.set(&doc).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(t.located_macs(None, None), ["020000000002"]);
    }

    #[test]
    fn bad_documents_are_refused_with_the_place() {
        let mut t = Topology::default();
        let e = t
            .set(&json!({"nodes": {"a": {"agent": "nope"}}}))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("nodes.a.agent"), "{e}");
        let e = t
            .set(&json!({"nodes": {"a": {"ports": {"p": {"ifindex": -1}}}}}))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("nodes.a.ports.p.ifindex"), "{e}");
        let r = t.set(&json!({"links": {"x": {"node1": "a"}}}));
        assert!(
            matches!(&r, Err(Error::Invalid { what: "topology", field, reason }) if field == "links.x.port1" && reason.contains("must be a string")),
            "{r:?}"
        );
        let r = t.set(&json!([1]));
        assert!(
            matches!(&r, Err(Error::Invalid { what: "topology", field, reason }) if field == "document" && reason.contains("must be an object")),
            "{r:?}"
        );
        assert!(!t.is_set());
    }
}
