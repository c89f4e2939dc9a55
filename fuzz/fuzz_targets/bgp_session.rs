//! Feeds arbitrary bytes to the BGP speaker as a peer would send them: first through the
//! message framer and decoder alone, then into a connected session (in chunks whose size the
//! first byte picks, at most 64 chunks, one second of time per chunk), with pushed routes and
//! flow specs so the session's announcements run too. Must never panic, must keep its output
//! bounded, and a session that closed must accept a new connection.
#![no_main]

use flowlens_bgp::msg;
use flowlens_bgp::session::MAX_OUTPUT;
use flowlens_bgp::{Config, FlowSpec, Neighbor, Route};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    while let Ok(Some((len, _))) = msg::frame(rest) {
        let _ = msg::decode(&rest[..len]);
        rest = &rest[len..];
    }

    let config = Config {
        ipv6: true,
        flowspec: true,
        flowspec6: true,
        hold_time: 3,
        ..Config::new(
            "127.0.0.2".parse().unwrap(),
            65000,
            "10.0.0.1".parse().unwrap(),
        )
    };
    let mut n = Neighbor::new(config, 0);
    let route = serde_json::json!({"prefix": "192.0.2.7", "nexthop": "192.0.2.1",
        "communities": "65535:666"});
    n.add_route(
        0,
        Route::from_json(route.as_object().unwrap(), None).unwrap(),
    )
    .unwrap();
    let flow = serde_json::json!({"match": {"destination": "2001:db8::/32", "protocol": "6"},
        "then": {"traffic-rate": 0}});
    n.add_flow(0, FlowSpec::from_json(&flow).unwrap()).unwrap();
    assert!(n.connected(0));
    // At most 64 chunks: short inputs still arrive byte by byte, long ones stay cheap.
    let chunk = usize::from(data.first().copied().unwrap_or(1))
        .max(1)
        .max(data.len().div_ceil(64));
    let mut now = 0;
    for c in data.chunks(chunk) {
        now += 1000;
        n.receive(now, c);
        n.tick(now);
        assert!(n.take_output().len() <= MAX_OUTPUT + msg::MAX_MESSAGE);
        if n.must_close() {
            n.disconnected(now, "closed");
            assert!(n.connected(now));
        }
    }
    assert_eq!(n.route_count(), 1);
    assert_eq!(n.flow_count(), 1);
});
