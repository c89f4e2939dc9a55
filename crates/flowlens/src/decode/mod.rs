//! `flowlens decode`: print every datagram, sample and record of capture or payload files.
//!
//! - [`capture`] reads pcap, pcapng and bare payload files into frames;
//! - [`model`] decodes a frame with `flowlens-wire` into one JSON document;
//! - [`text`] renders that document for people; `--format json` prints it as one line;
//! - [`stats`] counts everything and reports errors.

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use anyhow::Result;
use flowlens_wire::packet::WalkConfig;

use crate::{DecodeArgs, Format};

mod capture;
mod model;
mod stats;
mod text;

/// Runs `flowlens decode`.
///
/// # Errors
/// Only a failure to write standard output; unreadable files are reported and counted, and
/// decoding continues with the next file.
pub(crate) fn run(args: &DecodeArgs) -> Result<ExitCode> {
    let mut out = BufWriter::new(io::stdout().lock());
    let mut stats = stats::Stats::default();
    let cfg = WalkConfig::default();
    for path in &args.files {
        stats.files += 1;
        let file = path.display().to_string();
        let mut write_error: Option<io::Error> = None;
        let read = capture::for_each_frame(path, |packet, frame| {
            let origin = model::Origin {
                file: &file,
                packet,
            };
            let doc = model::frame_document(origin, &frame, &cfg, &mut stats);
            let written = match args.format {
                Format::Json => serde_json::to_writer(&mut out, &doc)
                    .map_err(io::Error::from)
                    .and_then(|()| out.write_all(b"\n")),
                Format::Text => text::write_document(&mut out, &doc),
            };
            written.map_err(|e| {
                let err = anyhow::anyhow!("cannot write output: {e}");
                write_error = Some(e);
                err
            })
        });
        if let Some(e) = write_error {
            return Err(anyhow::Error::from(e).context("cannot write output"));
        }
        if let Err(e) = read {
            stats.unreadable_files += 1;
            out.flush()?;
            eprintln!("flowlens: {e:#}");
        }
    }
    out.flush()?;
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
