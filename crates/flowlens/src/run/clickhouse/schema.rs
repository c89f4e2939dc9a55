//! The tables flowlens writes, their schema version and migrations, and retention.
//!
//! `schema_version` (one row per migration applied: `version UInt32`, `applied DateTime`)
//! records what the database holds; at start the migrations past its highest version run in
//! order, and a database written by a newer flowlens is refused (clear error, no writes). The
//! DDL uses only what ClickHouse 18.16 (Debian 12) accepts: `MergeTree PARTITION BY … ORDER BY`,
//! plain types (`String` addresses, no `IPv4`/`LowCardinality`), and no `TTL` clause (added in
//! 19.6): retention drops whole day partitions older than the configured days ([`expire`]).

use super::client::{Client, Error};

/// The schema this flowlens writes.
pub(crate) const VERSION: u32 = 1;

/// The `flows` columns after `time` (see [`super::row::FlowRow`]).
const FLOW_COLUMNS: &str = "\
    agent String, datasource String, sampling_rate UInt32, samples UInt8, \
    frames UInt64, bytes UInt64, \
    inputifindex UInt32, outputifindex UInt32, direction String, \
    macsource String, macdestination String, vlan UInt16, ethernetprotocol UInt16, \
    ipsource String, ipdestination String, ip6source String, ip6destination String, \
    ipprotocol UInt8, ip6nexthdr UInt8, ipdscp UInt8, ip6dscp UInt8, \
    tcpsourceport UInt16, tcpdestinationport UInt16, \
    udpsourceport UInt16, udpdestinationport UInt16, tcpflags String, \
    icmptype UInt8, icmpcode UInt8, bgpsourceas UInt32, bgpdestinationas UInt32, \
    vxlanvni UInt32, \
    ipsource_1 String, ipdestination_1 String, ip6source_1 String, ip6destination_1 String, \
    ipprotocol_1 UInt8, tcpsourceport_1 UInt16, tcpdestinationport_1 UInt16, \
    udpsourceport_1 UInt16, udpdestinationport_1 UInt16";

/// The statements that bring tables of schema `version - 1` to `version` (none yet: 1 is the
/// first schema). A later schema adds its `ALTER TABLE … ADD COLUMN …` here and changes
/// [`create`] to match.
fn upgrade(_db: &str, _version: u32) -> Vec<String> {
    Vec::new()
}

/// The tables of the current schema, created when missing (so a table dropped by hand comes
/// back at the next attempt).
fn create(db: &str) -> Vec<String> {
    vec![
        format!(
            "CREATE TABLE IF NOT EXISTS {db}.flows (time DateTime, {FLOW_COLUMNS}) \
                 ENGINE = MergeTree PARTITION BY toYYYYMMDD(time) \
                 ORDER BY (time, agent, datasource)"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {db}.counters (time DateTime, agent String, \
                 datasource String, metric String, value Float64) \
                 ENGINE = MergeTree PARTITION BY toYYYYMMDD(time) \
                 ORDER BY (agent, datasource, metric, time)"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {db}.events (time DateTime, event_id UInt64, \
                 threshold_id String, metric String, agent String, datasource String, \
                 flow_key String, value Float64, threshold Float64) \
                 ENGINE = MergeTree PARTITION BY toYYYYMMDD(time) ORDER BY (time, threshold_id)"
        ),
    ]
}

/// The tables that hold rows, for retention.
pub(crate) const TABLES: [&str; 3] = ["flows", "counters", "events"];

/// Creates the database and the version table if missing, upgrades the tables of an older
/// recorded version, creates the missing tables and records the version. Returns the version
/// the database had (0: new).
///
/// # Errors
/// The server's or the transport's error; [`Error::Local`] when the database holds a newer
/// schema than [`VERSION`].
pub(crate) fn migrate(client: &Client, db: &str) -> Result<u32, Error> {
    client.query(&format!("CREATE DATABASE IF NOT EXISTS {db}"))?;
    client.query(&format!(
        "CREATE TABLE IF NOT EXISTS {db}.schema_version (version UInt32, applied DateTime) \
         ENGINE = TinyLog"
    ))?;
    let had = client
        .query(&format!("SELECT max(version) FROM {db}.schema_version"))?
        .trim()
        .parse::<u32>()
        .unwrap_or(0);
    if had > VERSION {
        return Err(Error::Local(format!(
            "database {db} has schema version {had}, newer than this flowlens writes \
             ({VERSION}); upgrade flowlens"
        )));
    }
    if had > 0 {
        for v in had + 1..=VERSION {
            for sql in upgrade(db, v) {
                client.query(&sql)?;
            }
        }
    }
    for sql in create(db) {
        client.query(&sql)?;
    }
    if had < VERSION {
        client.query(&format!(
            "INSERT INTO {db}.schema_version VALUES ({VERSION}, now())"
        ))?;
    }
    Ok(had)
}

/// Drops the day partitions of every table older than `days` days (server's clock). Returns
/// how many were dropped.
///
/// # Errors
/// The server's or the transport's error.
pub(crate) fn expire(client: &Client, db: &str, days: u32) -> Result<u64, Error> {
    let mut dropped = 0;
    for table in TABLES {
        let parts = client.query(&format!(
            "SELECT DISTINCT partition FROM system.parts WHERE database = '{db}' AND \
             table = '{table}' AND active AND toUInt32(partition) < \
             toYYYYMMDD(today() - {days})"
        ))?;
        for p in parts.lines().map(str::trim).filter(|p| !p.is_empty()) {
            if p.bytes().all(|b| b.is_ascii_digit()) {
                client.query(&format!("ALTER TABLE {db}.{table} DROP PARTITION {p}"))?;
                dropped += 1;
            }
        }
    }
    Ok(dropped)
}
