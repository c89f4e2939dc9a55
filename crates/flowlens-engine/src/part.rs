//! Which part of a store partitioned by agent keeps an agent's state: the agents' statistics
//! ([`crate::agents::Agents`]) and the counter metrics ([`crate::counters::Counters`]) are
//! split into as many parts as the engine has shards, so that each shard's thread takes
//! whole datagrams of its agents ([`crate::Engine::add_sflow_batch`]) with no lock. An
//! agent's state is always in one part; queries read every part.

use std::hash::BuildHasher;
use std::net::IpAddr;

/// The part (`0..parts`) that keeps `agent`'s state; 0 for `parts` ≤ 1. Also the shard of a
/// data source while the shards are routed by agent (`aggMode:'agent'`).
#[inline]
pub(crate) fn of_agent(agent: IpAddr, parts: usize) -> usize {
    if parts <= 1 {
        return 0;
    }
    // The address hashed as the standard library does (its discriminant, then its bytes).
    let hash = foldhash::fast::FixedState::with_seed(0x5a4d).hash_one(agent);
    ((hash >> 32) as usize) % parts
}

/// `cap` shared by `parts` parts: each part's share, rounded up (a cap of 0 stays 0).
pub(crate) fn share(cap: usize, parts: usize) -> usize {
    cap.div_ceil(parts.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    /// A fabric's agents spread over the parts, each agent always to the same part.
    #[test]
    fn agents_spread_over_the_parts() {
        let agents: Vec<IpAddr> = (0..=255u8)
            .map(|k| IpAddr::V4(Ipv4Addr::new(10, 255, k, 1)))
            .collect();
        for parts in [2, 3, 4] {
            let mut held = vec![0usize; parts];
            for a in &agents {
                let p = of_agent(*a, parts);
                assert_eq!(p, of_agent(*a, parts));
                held[p] += 1;
            }
            let fair = agents.len() / parts;
            assert!(
                held.iter().all(|n| *n > fair * 3 / 4 && *n < fair * 5 / 4),
                "{held:?} over {parts} parts"
            );
        }
        assert_eq!(of_agent(agents[7], 1), 0);
        assert_eq!(of_agent(agents[7], 0), 0);
    }

    #[test]
    fn shares_round_up() {
        assert_eq!(share(10_000, 1), 10_000);
        assert_eq!(share(10_000, 3), 3_334);
        assert_eq!(share(0, 4), 0);
        assert_eq!(share(5, 0), 5);
    }
}
