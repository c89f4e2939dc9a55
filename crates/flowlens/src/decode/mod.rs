//! `flowlens decode`: print every datagram, sample and record of capture or payload files.
//!
//! - [`capture`] reads pcap, pcapng and bare payload files into frames; [`listen`] receives
//!   them from a UDP socket;
//! - [`document`] decodes a frame into one JSON document: datagrams go through the same
//!   [`Collector::handle_datagram_with`] as `flowlens run`, whose hook hands over each view
//!   ([`netflow`] for NetFlow/IPFIX datagrams), with the value conversions of [`json`];
//! - [`text`] renders that document for people; `--format json` prints it as one line;
//! - [`stats`] counts everything and reports errors.

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use anyhow::{Context, Result};
use flowlens_engine::{Collector, Engine};
use flowlens_netflow::{Limits, NetflowSession, TemplateCache};
use flowlens_wire::packet::WalkConfig;

use crate::capture;
use crate::{DecodeArgs, Format};

mod document;
mod json;
mod listen;
mod netflow;
mod stats;
mod text;

/// Runs `flowlens decode`.
///
/// # Errors
/// A failure to write standard output, or (with `--listen`) to bind or read the socket;
/// unreadable files are reported and counted, and decoding continues with the next file.
pub(crate) fn run(args: &DecodeArgs) -> Result<ExitCode> {
    let mut printer = Printer {
        out: BufWriter::new(io::stdout().lock()),
        format: args.format,
        ctx: document::Ctx {
            cfg: WalkConfig::default(),
            stats: stats::Stats::default(),
            collector: Collector::new(Engine::default(), session(args)?),
        },
        write_error: None,
        flush_each: args.listen.is_some(),
    };
    if let Some(addr) = args.listen {
        let duration = args.duration.map(std::time::Duration::from_secs_f64);
        let name = format!("udp:{addr}");
        let res = listen::for_each_datagram(addr, args.count, duration, |n, frame| {
            printer.frame(&name, n, &frame)
        });
        printer.finish()?;
        res?;
    }
    for path in &args.files {
        printer.ctx.stats.files += 1;
        let file = path.display().to_string();
        let read =
            capture::for_each_frame(path, |packet, frame| printer.frame(&file, packet, &frame));
        if let Some(e) = printer.write_error.take() {
            return Err(anyhow::Error::from(e).context("cannot write output"));
        }
        if let Err(e) = read {
            printer.ctx.stats.unreadable_files += 1;
            printer.out.flush()?;
            eprintln!("flowlens: {e:#}");
        }
    }
    printer.out.flush()?;
    if let Some(path) = &args.templates {
        std::fs::write(path, printer.ctx.collector.session().snapshot())
            .with_context(|| format!("cannot write the template cache {}", path.display()))?;
    }
    let mut stats = printer.ctx.stats;
    stats.flow_export_pending = printer.ctx.collector.session().stats().pending.sets as u64;
    if !args.quiet {
        eprintln!("{}", stats.summary());
    }
    Ok(if stats.unreadable_files > 0 {
        ExitCode::from(2)
    } else if stats.errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The run's NetFlow/IPFIX session: templates from `--templates` when that file exists,
/// sampling overrides from `--sampling`.
fn session(args: &DecodeArgs) -> Result<NetflowSession> {
    let limits = Limits::default();
    let mut session = match &args.templates {
        Some(path) if path.exists() => {
            let bytes = std::fs::read(path)
                .with_context(|| format!("cannot read the template cache {}", path.display()))?;
            match TemplateCache::restore(&bytes, limits) {
                Ok(cache) => NetflowSession::with_templates(cache),
                Err(e) => {
                    eprintln!(
                        "flowlens: ignoring the template cache {}: {e}",
                        path.display()
                    );
                    NetflowSession::new(limits).context("NetFlow/IPFIX template limits")?
                }
            }
        }
        _ => NetflowSession::new(limits).context("NetFlow/IPFIX template limits")?,
    };
    for &(exporter, rate) in &args.sampling {
        session.set_sampling_override(exporter, Some(rate));
    }
    Ok(session)
}

/// Decodes frames into documents and writes them in the chosen format.
struct Printer<W: Write> {
    out: W,
    format: Format,
    ctx: document::Ctx,
    /// The first write error, kept so a broken pipe ends the run quietly.
    write_error: Option<io::Error>,
    /// Flush after every document (live input: whoever reads us sees each datagram at once).
    flush_each: bool,
}

impl<W: Write> Printer<W> {
    fn frame(&mut self, file: &str, packet: u64, frame: &capture::Frame<'_>) -> Result<()> {
        let origin = json::Origin { file, packet };
        let docs = document::frame_documents(origin, frame, &mut self.ctx);
        let written = docs.iter().try_for_each(|doc| match self.format {
            Format::Json => serde_json::to_writer(&mut self.out, doc)
                .map_err(io::Error::from)
                .and_then(|()| self.out.write_all(b"\n")),
            Format::Text => text::write_document(&mut self.out, doc),
        });
        let written = written.and_then(|()| {
            if self.flush_each {
                self.out.flush()
            } else {
                Ok(())
            }
        });
        written.map_err(|e| {
            let err = anyhow::anyhow!("cannot write output: {e}");
            self.write_error = Some(e);
            err
        })
    }

    /// Flushes, and turns a remembered write error into the run's error.
    fn finish(&mut self) -> Result<()> {
        if let Some(e) = self.write_error.take() {
            return Err(anyhow::Error::from(e).context("cannot write output"));
        }
        self.out.flush().context("cannot write output")
    }
}
