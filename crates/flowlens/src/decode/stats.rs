//! Counters for one `flowlens decode` run, and the error sink.
//!
//! Nothing is dropped silently: every datagram, sample and record decoded, skipped as unknown,
//! or rejected is counted here, and every rejection is reported on standard error with its
//! file, packet number, layer and byte offset.

use super::json::Origin;

/// What a decode run saw. Printed as one summary line on standard error.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    /// Input files given.
    pub(crate) files: u64,
    /// Input files that could not be read (or whose capture framing was corrupt).
    pub(crate) unreadable_files: u64,
    /// sFlow v5 datagrams.
    pub(crate) datagrams: u64,
    /// Flow samples (compact and expanded).
    pub(crate) flow_samples: u64,
    /// Counter samples (compact and expanded).
    pub(crate) counter_samples: u64,
    /// Discarded-packet samples.
    pub(crate) discard_samples: u64,
    /// Samples of an unknown enterprise/format, skipped by length.
    pub(crate) unknown_samples: u64,
    /// Flow and counter records.
    pub(crate) records: u64,
    /// Records of an unknown enterprise/format, skipped by length.
    pub(crate) unknown_records: u64,
    /// Sampled packet headers walked.
    pub(crate) headers: u64,
    /// Captured packets that carried no flow telemetry, printed with their layers and keys.
    pub(crate) packets: u64,
    /// NetFlow v5/v9 and IPFIX datagrams.
    pub(crate) flow_export_datagrams: u64,
    /// Template records they carried.
    pub(crate) flow_export_templates: u64,
    /// Flow records decoded from them (including records held until their template came).
    pub(crate) flow_export_records: u64,
    /// Data sets still waiting for a template at the end of the run.
    pub(crate) flow_export_pending: u64,
    /// Decoding errors (each one printed on standard error).
    pub(crate) errors: u64,
}

impl Stats {
    /// Counts a sample by its `Sample::name()`.
    pub(crate) fn count_sample(&mut self, name: &str) {
        match name {
            "flow_sample" | "expanded_flow_sample" => self.flow_samples += 1,
            "counter_sample" | "expanded_counter_sample" => self.counter_samples += 1,
            "discarded_packet" => self.discard_samples += 1,
            _ => self.unknown_samples += 1,
        }
    }

    /// Counts an error and reports it on standard error.
    pub(crate) fn report_error(&mut self, origin: Origin<'_>, message: &str) {
        self.errors += 1;
        eprintln!(
            "flowlens: {}: packet {}: {message}",
            origin.file, origin.packet
        );
    }

    /// One line for people, e.g. `decoded 2 files: 26 sFlow datagrams (…), 0 errors`. Kinds of
    /// input the run did not see are left out.
    pub(crate) fn summary(&self) -> String {
        let mut parts = Vec::new();
        if self.datagrams > 0 {
            let mut p = format!(
                "{} sFlow datagram{} ({} flow, {} counter, {} discard samples; {} records, {} \
                 sampled headers",
                self.datagrams,
                plural(self.datagrams),
                self.flow_samples,
                self.counter_samples,
                self.discard_samples,
                self.records,
                self.headers,
            );
            if self.unknown_samples + self.unknown_records > 0 {
                p.push_str(&format!(
                    "; skipped unknown: {} samples, {} records",
                    self.unknown_samples, self.unknown_records
                ));
            }
            p.push(')');
            parts.push(p);
        }
        if self.flow_export_datagrams > 0 {
            let mut p = format!(
                "{} NetFlow/IPFIX datagram{} ({} templates, {} records",
                self.flow_export_datagrams,
                plural(self.flow_export_datagrams),
                self.flow_export_templates,
                self.flow_export_records,
            );
            if self.flow_export_pending > 0 {
                p.push_str(&format!(
                    "; {} data set{} never got a template",
                    self.flow_export_pending,
                    plural(self.flow_export_pending)
                ));
            }
            p.push(')');
            parts.push(p);
        }
        if self.packets > 0 || parts.is_empty() {
            parts.push(format!(
                "{} other packet{}",
                self.packets,
                plural(self.packets)
            ));
        }
        parts.push(format!("{} error{}", self.errors, plural(self.errors)));
        if self.unreadable_files > 0 {
            parts.push(format!(
                "{} unreadable file{}",
                self.unreadable_files,
                plural(self.unreadable_files)
            ));
        }
        let source = if self.files == 0 {
            String::new()
        } else {
            format!(" {} file{}", self.files, plural(self.files))
        };
        format!("decoded{source}: {}", parts.join(", "))
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
