//! The speaker: every configured neighbor, keyed by peer address, with a bounded count. The
//! binary's I/O glue holds one [`Speaker`] and runs each neighbor's connection.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde_json::{json, Value as Json};

use crate::error::{Error, Result};
use crate::session::{Config, Neighbor};

/// Most neighbors a speaker holds.
pub const MAX_NEIGHBORS: usize = 256;

/// All neighbors, plus removed ones whose final NOTIFICATION is still to be written.
#[derive(Debug, Default)]
pub struct Speaker {
    neighbors: BTreeMap<IpAddr, Neighbor>,
    retired: BTreeMap<IpAddr, Neighbor>,
}

impl Speaker {
    /// An empty speaker.
    pub fn new() -> Self {
        Speaker::default()
    }

    /// Adds a neighbor, or reconfigures one (sFlow-RT's `bgpAddNeighbor` on an existing peer):
    /// an unchanged configuration keeps the session; a changed one restarts it and keeps the
    /// pushed routes and flows that still fit its families.
    ///
    /// # Errors
    /// [`Error::Full`] beyond [`MAX_NEIGHBORS`].
    pub fn add_neighbor(&mut self, config: Config, now_ms: u64) -> Result<()> {
        if let Some(n) = self.neighbors.get(&config.peer) {
            if n.config() == &config {
                return Ok(());
            }
        } else if self.neighbors.len() >= MAX_NEIGHBORS {
            return Err(Error::Full("neighbors"));
        }
        let peer = config.peer;
        let mut fresh = Neighbor::new(config, now_ms);
        if let Some(mut old) = self.neighbors.remove(&peer) {
            for r in old.routes().cloned().collect::<Vec<_>>() {
                // Family rules may have changed; what no longer fits is dropped.
                let _ = fresh.add_route(now_ms, r);
            }
            for f in old.flows().cloned().collect::<Vec<_>>() {
                let _ = fresh.add_flow(now_ms, f);
            }
            old.shutdown(now_ms);
            if old.is_connected() {
                self.retired.insert(peer, old);
            }
        }
        self.neighbors.insert(peer, fresh);
        Ok(())
    }

    /// Removes a neighbor: a Cease NOTIFICATION is queued if connected (the glue writes it and
    /// closes, see [`Speaker::retired_mut`]). False when there was none.
    pub fn remove_neighbor(&mut self, peer: IpAddr, now_ms: u64) -> bool {
        let Some(mut n) = self.neighbors.remove(&peer) else {
            return false;
        };
        n.shutdown(now_ms);
        if n.is_connected() {
            self.retired.insert(peer, n);
        }
        true
    }

    /// A neighbor.
    pub fn get(&self, peer: &IpAddr) -> Option<&Neighbor> {
        self.neighbors.get(peer)
    }

    /// A neighbor, mutably.
    ///
    /// # Errors
    /// [`Error::UnknownNeighbor`].
    pub fn get_mut(&mut self, peer: &IpAddr) -> Result<&mut Neighbor> {
        self.neighbors
            .get_mut(peer)
            .ok_or(Error::UnknownNeighbor(*peer))
    }

    /// A removed neighbor still owing its final bytes; the glue drops it with
    /// [`Speaker::forget_retired`] once written.
    pub fn retired_mut(&mut self, peer: &IpAddr) -> Option<&mut Neighbor> {
        self.retired.get_mut(peer)
    }

    /// Drops a retired neighbor.
    pub fn forget_retired(&mut self, peer: &IpAddr) {
        self.retired.remove(peer);
    }

    /// The configured neighbors, by address.
    pub fn neighbors(&self) -> impl Iterator<Item = &Neighbor> {
        self.neighbors.values()
    }

    /// The configured neighbors, mutably.
    pub fn neighbors_mut(&mut self) -> impl Iterator<Item = &mut Neighbor> {
        self.neighbors.values_mut()
    }

    /// Runs every neighbor's timers.
    pub fn tick(&mut self, now_ms: u64) {
        for n in self.neighbors.values_mut() {
            n.tick(now_ms);
        }
    }

    /// `/bgp/json`: every neighbor's state and counters.
    pub fn to_json(&self, now_ms: u64) -> Json {
        json!({
            "neighbors": self.neighbors.values().map(|n| n.to_json(now_ms)).collect::<Vec<_>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn removal_queues_a_cease_and_readding_is_idempotent() {
        let mut s = Speaker::new();
        let peer: IpAddr = "127.0.0.2".parse().unwrap();
        let c = Config::new(peer, 65000, Ipv4Addr::new(10, 0, 0, 1));
        s.add_neighbor(c.clone(), 0).unwrap();
        assert!(s.get_mut(&peer).unwrap().connected(0));
        s.add_neighbor(c, 1).unwrap();
        assert!(
            s.get(&peer).unwrap().is_connected(),
            "same config keeps the session"
        );
        assert!(s.remove_neighbor(peer, 2));
        let r = s.retired_mut(&peer).unwrap();
        assert!(r.must_close());
        let out = r.take_output();
        // OPEN then NOTIFICATION 6/3.
        assert_eq!(&out[out.len() - 2..], &[6, 3]);
        assert!(!s.remove_neighbor(peer, 3));
        assert!(matches!(s.get_mut(&peer), Err(Error::UnknownNeighbor(_))));
    }
}
