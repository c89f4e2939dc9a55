//! The tables flowlens writes, their schema version and migrations, and retention.
//!
//! `schema_version` (one row per version recorded: `version UInt32`, `applied DateTime`)
//! records what the database holds; at start the steps past its highest version run in
//! order, each recorded only once it succeeded, and a database written by a newer flowlens is
//! refused (clear error, no writes). A new database gets the current tables directly (the
//! same columns, in the same order, as an upgraded one) and records [`VERSION`] alone.
//!
//! | version | change |
//! |---|---|
//! | 1 | `flows`, `counters`, `events` |
//! | 2 | `flows` gains the MTU and fragmentation columns [`V2_FLOW_COLUMNS`] |
//!
//! A step only adds columns, so it is idempotent: ClickHouse 18.16 has no `ADD COLUMN IF NOT
//! EXISTS`, so each column is looked up in `system.columns` first and added when missing; when
//! the `ALTER` fails because another collector added the column meanwhile (two upgrading at
//! once), the column found afterwards with the right type counts as added. An interrupted
//! step (server gone half-way) leaves the version unrecorded, and the next start completes it.
//! A column already there with another type is an error ([`Error::Local`]): flowlens will not
//! write into a table it does not know.
//!
//! The DDL uses only what ClickHouse 18.16 (Debian 12) accepts: `MergeTree PARTITION BY …
//! ORDER BY`, plain types (`String` addresses, no `IPv4`/`LowCardinality`), and no `TTL`
//! clause (added in 19.6): retention drops whole day partitions older than the configured
//! days ([`expire`]).

use super::client::{Client, Error};

/// The schema this flowlens writes.
pub(crate) const VERSION: u32 = 2;

/// The `flows` columns of schema 1 after `time` (see [`super::row::FlowRow`]).
const V1_FLOW_COLUMNS: &str = "\
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

/// The `flows` columns schema 2 adds, `(name, type)`, in order, each named as the flow key it
/// holds (`flowlens_wire::packet::keys`, outermost header; 0 when the sample has no such
/// header): `ipbytes` (IPv4 total length, RFC 791), `ipttl`, `ipdontfragment` (the DF bit,
/// 1 set, 0 clear or no IPv4 header), `ipfragoffset` (8-byte units), `tunneloverhead_bytes`
/// (encapsulation bytes in front of the innermost IP header), `icmpnexthopmtu` (RFC 1191 /
/// RFC 4443 §3.2) and `tcpmss` (the SYN's MSS option).
pub(crate) const V2_FLOW_COLUMNS: [(&str, &str); 7] = [
    ("ipbytes", "UInt16"),
    ("ipttl", "UInt8"),
    ("ipdontfragment", "UInt8"),
    ("ipfragoffset", "UInt16"),
    ("tunneloverhead_bytes", "UInt16"),
    ("icmpnexthopmtu", "UInt16"),
    ("tcpmss", "UInt16"),
];

/// The columns version `version` adds to existing tables, as `(table, name, type)`.
fn added(version: u32) -> Vec<(&'static str, &'static str, &'static str)> {
    match version {
        2 => V2_FLOW_COLUMNS
            .iter()
            .map(|&(name, ty)| ("flows", name, ty))
            .collect(),
        _ => Vec::new(),
    }
}

/// The type of `db.table`'s column `name`, `None` when it has none.
fn column_type(
    client: &Client,
    db: &str,
    table: &str,
    name: &str,
) -> Result<Option<String>, Error> {
    let t = client.query(&format!(
        "SELECT type FROM system.columns WHERE database = '{db}' AND table = '{table}' \
         AND name = '{name}'"
    ))?;
    let t = t.trim();
    Ok((!t.is_empty()).then(|| t.to_string()))
}

/// Brings the tables of schema `version - 1` to `version`: adds each missing column (see the
/// module's notes on concurrent and interrupted upgrades).
///
/// # Errors
/// The server's or the transport's error; [`Error::Local`] when a column exists with
/// another type.
fn upgrade(client: &Client, db: &str, version: u32) -> Result<(), Error> {
    for (table, name, ty) in added(version) {
        let have = match column_type(client, db, table, name)? {
            Some(t) => t,
            None => match client.query(&format!("ALTER TABLE {db}.{table} ADD COLUMN {name} {ty}"))
            {
                Ok(_) => continue,
                // Added by another collector meanwhile (its type is checked below), or a
                // real failure.
                Err(e) => column_type(client, db, table, name)?.ok_or(e)?,
            },
        };
        if have != ty {
            return Err(Error::Local(format!(
                "{db}.{table}.{name} is {have}, schema version {version} wants {ty}; \
                 drop or rename that column"
            )));
        }
    }
    Ok(())
}

/// The `flows` columns of the current schema after `time`.
fn flow_columns() -> String {
    let mut s = V1_FLOW_COLUMNS.to_string();
    for (name, ty) in V2_FLOW_COLUMNS {
        s.push_str(&format!(", {name} {ty}"));
    }
    s
}

/// The tables of the current schema, created when missing (so a table dropped by hand comes
/// back at the next attempt).
fn create(db: &str) -> Vec<String> {
    let flow_columns = flow_columns();
    vec![
        format!(
            "CREATE TABLE IF NOT EXISTS {db}.flows (time DateTime, {flow_columns}) \
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

/// Creates the database and the version table if missing, creates the missing tables of the
/// current schema, brings older tables up to it step by step (recording each version once its
/// step succeeded) and records [`VERSION`] for a new database. Returns the version the
/// database had (0: new).
///
/// # Errors
/// The server's or the transport's error; [`Error::Local`] when the database holds a newer
/// schema than [`VERSION`], or a column flowlens adds exists with another type.
pub(crate) fn migrate(client: &Client, db: &str) -> Result<u32, Error> {
    client.query(&format!("CREATE DATABASE IF NOT EXISTS {db}"))?;
    client.query(&format!(
        "CREATE TABLE IF NOT EXISTS {db}.schema_version (version UInt32, applied DateTime) \
         ENGINE = TinyLog"
    ))?;
    let read = || -> Result<u32, Error> {
        Ok(client
            .query(&format!("SELECT max(version) FROM {db}.schema_version"))?
            .trim()
            .parse::<u32>()
            .unwrap_or(0))
    };
    let recorded = || tiny_log_retry(read);
    let had = recorded()?;
    if had > VERSION {
        return Err(Error::Local(format!(
            "database {db} has schema version {had}, newer than this flowlens writes \
             ({VERSION}); upgrade flowlens"
        )));
    }
    for sql in create(db) {
        client.query(&sql)?;
    }
    // A version another collector recorded meanwhile is not recorded twice (TinyLog takes
    // concurrent inserts badly; this narrows the window, it cannot close it).
    let record = |v: u32| {
        tiny_log_retry(|| {
            if read()? < v {
                client.query(&format!(
                    "INSERT INTO {db}.schema_version VALUES ({v}, now())"
                ))?;
            }
            Ok(())
        })
    };
    // The steps also run for a new database (the columns are there: nothing to do), so tables
    // a first start left unrecorded, at an older shape, are brought up too.
    for v in had.max(1) + 1..=VERSION {
        upgrade(client, db, v)?;
        if had > 0 {
            record(v)?;
        }
    }
    if had == 0 {
        record(VERSION)?;
    }
    Ok(had)
}

/// How often a `schema_version` statement is tried when the server answers with an error.
const TINY_LOG_ATTEMPTS: u32 = 6;

/// Runs `statement` (reads, or a read then an insert) on the `TinyLog` version table, trying
/// again (after 50, 100, 200, … ms) while the server answers with an error: TinyLog has no
/// locks, so a read that meets another collector's insert fails (`File not found: …/schema_version/sizes.json`, code
/// 1000) although the table is sound. Transport errors and the last server error are
/// returned as they are.
fn tiny_log_retry<T>(mut statement: impl FnMut() -> Result<T, Error>) -> Result<T, Error> {
    let mut attempt = 1;
    loop {
        match statement() {
            Err(Error::Server { .. }) if attempt < TINY_LOG_ATTEMPTS => {
                std::thread::sleep(std::time::Duration::from_millis(50 << (attempt - 1)));
                attempt += 1;
            }
            answer => return answer,
        }
    }
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
