//! flowlens-engine: the sans-IO flow engine, with sFlow-RT semantics.
//!
//! Operators define flows (`{keys:'ipsource,ipdestination', value:'bytes', filter:'…', t:2}`)
//! and read the largest ones, counter metrics and threshold events in real time. This crate
//! holds all of that state and nothing else: it never opens a socket, reads a file or a
//! clock. Every entry point takes the caller's time (`now_ms`, Unix milliseconds) and bytes or
//! decoded views.
//!
//! * [`Collector`] ([`collector`]): the entry point for input: one datagram or captured packet
//!   at a time (`handle_datagram`, `handle_packet`,
//!   `handle_sampled_packet` for live packet sources, `tick`), routed by content into the engine
//!   and the NetFlow/IPFIX session, counted.
//! * [`Engine`] ([`engine`]): the flow engine: definitions, input (`add_sflow`,
//!   `add_netflow_record`, `add_packet`), housekeeping (`tick`) and queries (`active_flows`,
//!   `events`, `logged_flows`, ...). [`Limits`] bounds its memory.
//! * [`api`]: sFlow-RT's read API as typed [`api::Query`]s with their JSON answers, shared by
//!   the REST handlers and the script functions.
//! * [`definition`], [`threshold`]: flow definitions and thresholds as sFlow-RT writes them.
//! * [`sample`]: keys of sFlow samples themselves (agent, interfaces, direction, routing).
//! * [`keybuf`]: key names (`ipsource.1`), the [`Schema`] of interned keys and the
//!   per-sample [`KeyBuf`].
//! * [`expr`]: the key-function and filter grammar (`group:ipsource:dc`, `a=1,2&b~^x`).
//! * [`groups`], [`maps`], [`oui`]: the tables key functions look things up in ([`Env`]).
//! * [`counters`], [`summary`]: counter metrics from sFlow counter samples and their summary
//!   statistics.
//! * [`topology`]: the network topology (`/topology/json`) behind the `TOPOLOGY`, `EDGE` and
//!   `CORE` agent selectors and the `edge`/`core` aggregation modes.
//! * [`agents`], [`persist`], [`baseline`], [`geo`]: per-agent session statistics, the
//!   definitions document for restarts, temporal baselines, MaxMind lookups.
//! * [`body`]: REST request bodies (JSON or JavaScript-object syntax).
//!
//! # Errors
//!
//! One error type, [`Error`]. Network input never produces one: a sample lacking a key simply
//! does not match a definition that needs it.

pub mod agents;
pub mod api;
pub mod baseline;
pub mod body;
pub mod collector;
pub mod counters;
pub mod definition;
pub mod engine;
pub mod env;
pub mod error;
pub mod expr;
mod flow_key;
pub mod geo;
pub mod groups;
mod json_query;
pub mod keybuf;
pub mod known_keys;
pub mod maps;
pub mod oui;
mod part;
pub mod persist;
mod ring;
pub mod sample;
pub mod select;
pub mod summary;
mod table;
pub mod threshold;
pub mod topology;

pub use collector::{Collector, CollectorStats, DatagramHook, Handled, Observer};
pub use engine::{
    ActiveFlow, AggMode, Engine, EngineStats, FlowQuery, Fork, Limits, LoggedFlow, Sequential,
    Shard, DEFAULT_MAX_FLOWS,
};
pub use env::Env;
pub use error::{Error, ExprKind, Result};
pub use expr::{Filter, KeyExpr};
pub use keybuf::{KeyBuf, KeyName, Schema, Slot};
pub use sample::{DataSource, DataSourceId};
pub use select::AgentSel;
pub use threshold::{Event, Threshold};
pub use topology::Topology;
