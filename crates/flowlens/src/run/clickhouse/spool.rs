//! Batches kept on disk while ClickHouse is unreachable: one file per batch,
//! `<seq>-<table>.jsonl` (the `JSONEachRow` body as it would have been sent), written to a
//! temporary name and renamed, so a file present is whole. Bounded: a batch that would take
//! the directory past its cap is refused (the caller drops and counts its rows). Files left
//! by an earlier run are sent first when the server is back.

use std::path::{Path, PathBuf};

use super::client::Error;

/// The spool directory and what it holds.
pub(crate) struct Spool {
    dir: PathBuf,
    cap: u64,
    /// Bytes in the spool files.
    bytes: u64,
    /// Sequence number of the next file.
    next: u64,
    /// The files, oldest first, with their sizes.
    files: std::collections::VecDeque<(PathBuf, u64)>,
}

/// A spooled batch, read back.
pub(crate) struct Spooled {
    /// The table (`flows`, `counters`, `events`).
    pub(crate) table: String,
    /// The rows.
    pub(crate) body: Vec<u8>,
}

impl Spool {
    /// Opens (creating) `dir`, capped at `cap` bytes, and takes in the batches already there.
    ///
    /// # Errors
    /// [`Error::Local`] when the directory cannot be created or listed.
    pub(crate) fn open(dir: &Path, cap: u64) -> Result<Spool, Error> {
        let local =
            |e: std::io::Error| Error::Local(format!("spool directory {}: {e}", dir.display()));
        std::fs::create_dir_all(dir).map_err(local)?;
        let mut found = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(local)? {
            let Ok(entry) = entry else { continue };
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".tmp") {
                let _ = std::fs::remove_file(&path);
                continue;
            }
            let Some(seq) = parse_name(&name).map(|(s, _)| s) else {
                continue;
            };
            let len = entry.metadata().map(|m| m.len()).unwrap_or(0);
            found.push((seq, path, len));
        }
        found.sort();
        let next = found.last().map_or(0, |(s, _, _)| s + 1);
        Ok(Spool {
            dir: dir.to_path_buf(),
            cap,
            bytes: found.iter().map(|(_, _, l)| l).sum(),
            next,
            files: found.into_iter().map(|(_, p, l)| (p, l)).collect(),
        })
    }

    /// Bytes held.
    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }

    /// True when nothing is held.
    pub(crate) fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Keeps `body` for `table`.
    ///
    /// # Errors
    /// [`Error::Local`] when the batch would pass the cap or cannot be written.
    pub(crate) fn push(&mut self, table: &str, body: &[u8]) -> Result<(), Error> {
        let len = body.len() as u64;
        if self.bytes.saturating_add(len) > self.cap {
            return Err(Error::Local(format!(
                "spool {} full ({} of {} bytes)",
                self.dir.display(),
                self.bytes,
                self.cap
            )));
        }
        let path = self.dir.join(format!("{:016}-{table}.jsonl", self.next));
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, body)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                Error::Local(format!("cannot write spool file {}: {e}", path.display()))
            })?;
        self.next += 1;
        self.bytes += len;
        self.files.push_back((path, len));
        Ok(())
    }

    /// The oldest batch (an unreadable file is removed and skipped).
    pub(crate) fn oldest(&mut self) -> Option<Spooled> {
        while let Some((path, len)) = self.files.front().cloned() {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let table = parse_name(&name).map(|(_, t)| t.to_string());
            match (std::fs::read(&path), table) {
                (Ok(body), Some(table)) => return Some(Spooled { table, body }),
                _ => {
                    let _ = std::fs::remove_file(&path);
                    self.files.pop_front();
                    self.bytes = self.bytes.saturating_sub(len);
                }
            }
        }
        None
    }

    /// Moves the oldest batch out of the spool to `rejected-last.jsonl` (replacing the one
    /// set aside before, so at most one is kept) and returns that path.
    pub(crate) fn set_aside_oldest(&mut self) -> PathBuf {
        let kept = self.dir.join("rejected-last.jsonl");
        if let Some((path, len)) = self.files.pop_front() {
            if std::fs::rename(&path, &kept).is_err() {
                let _ = std::fs::remove_file(&path);
            }
            self.bytes = self.bytes.saturating_sub(len);
        }
        kept
    }

    /// Forgets the oldest batch (sent).
    pub(crate) fn remove_oldest(&mut self) {
        if let Some((path, len)) = self.files.pop_front() {
            let _ = std::fs::remove_file(path);
            self.bytes = self.bytes.saturating_sub(len);
        }
    }
}

/// `<seq>-<table>.jsonl` → (seq, table).
fn parse_name(name: &str) -> Option<(u64, &str)> {
    let stem = name.strip_suffix(".jsonl")?;
    let (seq, table) = stem.split_once('-')?;
    let table = super::schema::TABLES.into_iter().find(|t| *t == table)?;
    Some((seq.parse().ok()?, table))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_batches_in_order_within_the_cap_and_across_reopen() {
        let dir = std::env::temp_dir().join(format!("flowlens-spool-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut s = Spool::open(&dir, 10).unwrap();
        assert!(s.is_empty());
        s.push("flows", b"{\"a\":1}\n").unwrap();
        // 8 + 8 > 10: refused, nothing written.
        let e = s.push("events", b"{\"b\":2}\n").unwrap_err();
        assert!(e.to_string().contains("full"), "{e}");
        assert_eq!(s.bytes(), 8);
        std::fs::write(dir.join("junk.txt"), "x").unwrap();
        std::fs::write(dir.join("0000000000000009-flows.tmp"), "half").unwrap();
        // A restart takes the batch back; junk is ignored, a half-written file removed.
        let mut s = Spool::open(&dir, 100).unwrap();
        assert_eq!(s.bytes(), 8);
        s.push("counters", b"{}\n").unwrap();
        let b = s.oldest().unwrap();
        assert_eq!(
            (b.table.as_str(), b.body.as_slice()),
            ("flows", &b"{\"a\":1}\n"[..])
        );
        s.remove_oldest();
        assert_eq!(s.oldest().unwrap().table, "counters");
        s.remove_oldest();
        assert!(s.is_empty() && s.bytes() == 0);
        assert!(!dir.join("0000000000000009-flows.tmp").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
