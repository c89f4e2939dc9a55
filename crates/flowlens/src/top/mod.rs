//! `flowlens top`: replays captures through the flow engine in capture time and prints the
//! largest flows.
//!
//! sFlow datagrams, NetFlow v5/v9 and IPFIX datagrams (recognised by content on any UDP port)
//! feed the engine as they would live; any other packet is a 1-in-1 sample of a pseudo-agent
//! `0.0.0.0` (data source 0). The engine's clock is the capture's timestamps, so smoothing,
//! thresholds and flow expiry behave as they did on the wire.

mod output;
mod replay;
#[cfg(test)]
mod shards_test;

use std::io::{self, BufWriter, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use flowlens_engine::{AgentSel, AggMode, Engine, FlowQuery, Limits};
use serde_json::Value as Json;

use crate::TopArgs;

/// One definition to report: its name and how it was written.
struct Def {
    name: String,
}

pub(crate) fn run(args: &TopArgs) -> Result<ExitCode> {
    let mut limits = Limits::default();
    if args.totals {
        // Totals need every key until the end: no idle expiry, room for a whole capture.
        limits.idle_factor = 0.0;
        limits.max_keys_per_table = usize::MAX;
        limits.keep_totals = true;
    }
    let mut engine = Engine::new(limits);
    engine.set_full_visit(args.full_visit);
    engine.set_shards(usize::from(args.engine_threads));
    lookups(&mut engine, args)?;
    let defs = define(&mut engine, args)?;
    let agg = AggMode::parse(&args.agg_mode).map_err(|e| anyhow::anyhow!("{e}"))?;
    if matches!(agg, AggMode::Edge | AggMode::Core) {
        anyhow::bail!(
            "aggMode `{}` needs a topology (PUT /topology/json to `flowlens run`); \
             `top` takes max or sum",
            args.agg_mode
        );
    }
    let out = io::stdout();
    let mut out = BufWriter::new(out.lock());
    let every_ms = args.every.map(|s| (s * 1000.0) as u64);
    let mut next_report = None::<u64>;
    let progress = replay::Progress::new(&args.files, io::stderr().is_terminal() && !args.quiet);
    let mut replayer = replay::Replayer::new(engine)?;
    if args.totals {
        // Undecayed variance sums: each total's 95 % interval.
        replayer.hold_clock();
    }
    for path in &args.files {
        replayer
            .file(
                path,
                &progress,
                every_ms.is_some(),
                |engine, now_ms, engine_ms| {
                    if let Some(every) = every_ms {
                        let due = *next_report.get_or_insert(now_ms + every);
                        if now_ms >= due {
                            report(engine, &defs, args, agg, (due, engine_ms), &mut out)?;
                            next_report = Some(due + every);
                        }
                    }
                    Ok(())
                },
            )
            .with_context(|| format!("{}", path.display()))?;
    }
    progress.finish();
    let now = (replayer.now_ms(), replayer.engine_ms());
    let summary = replayer.summary();
    let engine = replayer.engine();
    report(engine, &defs, args, agg, now, &mut out)?;
    out.flush()?;
    let st = engine.stats();
    if st.keys_refused > 0 || st.keys_evicted > 0 {
        // Loss is never silent: say what the key caps cost.
        eprintln!(
            "flowlens: {} new keys refused (active-key cap), {} evicted from full tables",
            st.keys_refused, st.keys_evicted
        );
    }
    if !args.quiet {
        eprintln!("{summary}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Half-widths of the 95 % confidence intervals of definition `name`'s totals per key, from
/// an engine whose clock was held ([`replay::Replayer::hold_clock`]): with nothing decayed,
/// a key's smoothed variance (summed over data sources, `aggMode` sum) is the variance of
/// its total, and the rate view's `ci95` times the time constant is the total's.
fn totals_ci95(
    engine: &Engine,
    name: &str,
    engine_ms: u64,
) -> Result<std::collections::HashMap<String, f64>> {
    let t = engine.flow_def(name).map_or(1.0, |d| d.t_secs);
    let rows = engine
        .active_flows(
            engine_ms,
            &FlowQuery {
                max_flows: usize::MAX,
                agg: AggMode::Sum,
                ..FlowQuery::new(&AgentSel::All, name)
            },
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(rows.into_iter().map(|a| (a.key, a.ci95 * t)).collect())
}

/// Prints the report at capture time `now_ms` (`engine_ms`: the engine's clock, held in
/// `--totals`).
fn report(
    engine: &Engine,
    defs: &[Def],
    args: &TopArgs,
    agg: AggMode,
    (now_ms, engine_ms): (u64, u64),
    out: &mut impl Write,
) -> Result<()> {
    let mut docs = Vec::new();
    for d in defs {
        let rows = if args.totals {
            let totals = engine
                .flow_totals(&AgentSel::All, &d.name)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let ci = totals_ci95(engine, &d.name, engine_ms)?;
            output::Rows::Totals(
                totals
                    .into_iter()
                    .take(args.max_flows)
                    .map(|(k, v)| {
                        let c = ci.get(&k).copied().unwrap_or(0.0);
                        (k, v, c)
                    })
                    .collect(),
            )
        } else {
            output::Rows::Active(
                engine
                    .active_flows(
                        now_ms,
                        &FlowQuery {
                            max_flows: args.max_flows,
                            agg,
                            ..FlowQuery::new(&AgentSel::All, &d.name)
                        },
                    )
                    .map_err(|e| anyhow::anyhow!("{e}"))?,
            )
        };
        let def = engine.flow_def(&d.name).context("definition vanished")?;
        docs.push((d.name.as_str(), def, rows));
    }
    if args.json {
        output::json(out, &docs)
    } else {
        if args.every.is_some() {
            let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(now_ms);
            writeln!(out, "-- {}", humantime::format_rfc3339_millis(t))?;
        }
        output::table(out, &docs, defs.len() > 1)?;
        if args.every.is_some() {
            writeln!(out)?;
        }
        Ok(())
    }
}

/// Debian's IEEE OUI table, used by default when installed (package ieee-data).
pub(crate) const DEBIAN_OUI: &str = "/usr/share/ieee-data/oui.csv";

/// Loads the key functions' lookup tables: MaxMind databases, the OUI table.
fn lookups(engine: &mut Engine, args: &TopArgs) -> Result<()> {
    let read = |p: &std::path::Path| {
        std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))
    };
    if args.geo_country.is_some() || args.geo_asn.is_some() {
        let country = args.geo_country.as_deref().map(read).transpose()?;
        let asn = args.geo_asn.as_deref().map(read).transpose()?;
        let geo = flowlens_engine::geo::MaxMindGeo::new(country, asn)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        engine.env_mut().geo = Some(std::sync::Arc::new(geo));
    }
    for (opt, items) in [("--group", &args.group), ("--map", &args.map)] {
        for text in items {
            let (name, body) = text
                .split_once('=')
                .with_context(|| format!("{opt} `{text}`: expected NAME={{…}}"))?;
            let spec: Json = json5::from_str(body)
                .with_context(|| format!("{opt} `{text}`: not a JavaScript/JSON object"))?;
            let r = if opt == "--group" {
                engine.set_groups(name.trim(), &spec)
            } else {
                engine.set_map(name.trim(), &spec)
            };
            r.map_err(|e| anyhow::anyhow!("{opt} `{text}`: {e}"))?;
        }
    }
    let oui = match &args.oui {
        Some(p) => Some(p.clone()),
        None => Some(std::path::PathBuf::from(DEBIAN_OUI)).filter(|p| p.is_file()),
    };
    if let Some(p) = oui {
        let text =
            std::fs::read_to_string(&p).with_context(|| format!("cannot read {}", p.display()))?;
        let table = flowlens_engine::oui::OuiTable::parse_csv(&text)
            .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
        engine.env_mut().oui = Some(std::sync::Arc::new(table));
    }
    Ok(())
}

fn define(engine: &mut Engine, args: &TopArgs) -> Result<Vec<Def>> {
    let mut defs = Vec::new();
    if args.flow.is_empty() {
        let mut spec = serde_json::Map::new();
        spec.insert(
            "keys".into(),
            Json::String(args.keys.clone().unwrap_or_default()),
        );
        spec.insert("value".into(), Json::String(args.value.clone()));
        if let Some(f) = &args.filter {
            spec.insert("filter".into(), Json::String(f.clone()));
        }
        spec.insert("t".into(), Json::from(args.t));
        spec.insert("n".into(), Json::from(args.n));
        engine
            .set_flow("top", &Json::Object(spec))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        defs.push(Def { name: "top".into() });
    } else {
        if args.keys.is_some() || args.filter.is_some() {
            bail!("--flow replaces --keys/--value/--filter/--t/--n; give one or the other");
        }
        for (i, text) in args.flow.iter().enumerate() {
            let (name, body) = split_named(text, i);
            let spec: Json = json5::from_str(body)
                .with_context(|| format!("--flow `{text}`: not a JavaScript/JSON object"))?;
            engine
                .set_flow(&name, &spec)
                .map_err(|e| anyhow::anyhow!("--flow `{text}`: {e}"))?;
            defs.push(Def { name });
        }
    }
    Ok(defs)
}

/// `NAME={…}` or just `{…}` (named `flowN`).
fn split_named(text: &str, i: usize) -> (String, &str) {
    let t = text.trim();
    match t.split_once('=') {
        Some((name, body)) if !t.starts_with('{') && body.trim_start().starts_with('{') => {
            (name.trim().to_string(), body)
        }
        _ => (format!("flow{}", i + 1), t),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn flow_names() {
        assert_eq!(super::split_named("{value:'bytes'}", 0).0, "flow1");
        assert_eq!(super::split_named("pair={value:'bytes'}", 3).0, "pair");
        assert_eq!(super::split_named("{filter:'a=b'}", 1).0, "flow2");
    }
}
