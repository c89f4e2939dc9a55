//! The `flowlens` binary's integration tests, one test crate (one binary to build and link)
//! with a module per area: decoding (`golden`, `tshark_sflow`, `netflow_cli`, `listen`,
//! `bad_input`), the flow engine through `flowlens top` (`top_*`), `flowlens run`
//! (`run_*`, with the shared server helpers in `run_support/`), scripts (`script_*`), the
//! documentation (`architecture`, `readme`, `flow_*_doc`), and the live Open vSwitch testbed
//! (`ovs_testbed`, `run_ovs_testbed`), operations (`package`: the Debian package installed with
//! dpkg; `dashboard`: the Grafana dashboard against the exported metrics). Shared helpers live
//! in `common/`.
//!
//! Tests may unwrap, index and panic: a panic there is a failed test, not a crash on network
//! input (the crate-wide lints forbid them elsewhere).
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;
mod run_support;

mod architecture;
mod bad_input;
mod bgp_peers;
mod dashboard;
mod flow_engine_doc;
mod flow_keys_doc;
mod golden;
mod key_mask;
mod listen;
mod netflow_cli;
mod ovs_testbed;
mod package;
mod readme;
mod run_api;
mod run_clickhouse;
mod run_forward;
mod run_inc;
mod run_ingest;
mod run_live_mirror;
mod run_live_pcap;
mod run_logs;
mod run_mtu;
mod run_ovs_testbed;
mod run_placement;
mod run_pmacct;
mod run_readme;
mod run_reliability;
mod run_replay;
mod run_service;
mod run_state;
mod run_tcp;
mod run_tenants;
mod run_ui;
mod script_api;
mod script_apps;
mod script_ddos_ovs;
mod script_dns;
mod script_graphite;
mod script_phish;
mod script_syslog;
mod top_cli;
mod top_keys;
mod top_totals;
mod tshark_sflow;
mod ui_browser;
