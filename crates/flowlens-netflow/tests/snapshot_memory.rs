//! Saving and restoring the template cache takes memory in proportion to the snapshot, not
//! many times it (issue 17 item 2: 73 MiB of templates took 3.2 GiB to save and 2 GiB to
//! restore). A counting global allocator (peak_alloc) measures the peak heap of each step
//! over a few thousand templates of many fields.
//!
//! One test function: the allocator is global to this test binary, and a second test running
//! in parallel would count in the peaks.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{BufReader, BufWriter, Write};
use std::net::{IpAddr, Ipv4Addr};

use flowlens_netflow::{Limits, Protocol, TemplateCache, TemplateKey};
use flowlens_wire::netflow::FieldSpec;
use peak_alloc::PeakAlloc;

#[global_allocator]
static HEAP: PeakAlloc = PeakAlloc;

/// Templates in the cache and fields in each.
const TEMPLATES: u32 = 4000;
const FIELDS: u16 = 128;

fn limits() -> Limits {
    Limits {
        max_templates: 8192,
        max_templates_per_exporter: 8192,
        max_fields_per_template: 512,
        ..Limits::default()
    }
}

fn cache() -> TemplateCache {
    let mut c = TemplateCache::new(limits()).unwrap();
    for i in 0..TEMPLATES {
        let key = TemplateKey {
            exporter: IpAddr::V4(Ipv4Addr::from(0xc000_0200 + i / 500)),
            protocol: Protocol::Ipfix,
            domain: i % 7,
            template_id: 256 + u16::try_from(i % 500).unwrap(),
        };
        let fields = (0..FIELDS)
            .map(|f| FieldSpec {
                id: 1 + f,
                length: 4,
                enterprise: if f % 3 == 0 { 29305 } else { 0 },
                scope: false,
            })
            .collect();
        c.insert(key, fields, 0, false, 1_700_000_000_000, 0)
            .unwrap();
    }
    assert_eq!(c.len(), TEMPLATES as usize);
    c
}

/// Runs `f` and returns its result with the peak heap above what was in use before, bytes.
fn peak_of<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = HEAP.current_usage();
    HEAP.reset_peak_usage();
    let out = f();
    (out, HEAP.peak_usage().saturating_sub(base))
}

#[test]
fn saving_and_restoring_templates_takes_memory_in_proportion() {
    let c = cache();
    let dir = std::env::temp_dir().join(format!("flowlens-snapmem-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("templates.bin");

    // The snapshot in one buffer: the buffer and little else.
    let (snap, peak) = peak_of(|| c.snapshot());
    let size = snap.len();
    assert!(
        size > 4 << 20,
        "snapshot of {size} bytes: make the test cache larger"
    );
    assert!(
        peak <= size + size / 8,
        "snapshot(): peak {peak} bytes for a {size}-byte snapshot"
    );

    // Streamed to a file: a write buffer's worth.
    let (written, peak) = peak_of(|| {
        let mut w = BufWriter::new(std::fs::File::create(&file).unwrap());
        c.write_snapshot(&mut w).unwrap();
        w.flush().unwrap();
    });
    let () = written;
    assert_eq!(std::fs::read(&file).unwrap(), snap);
    assert!(
        peak <= 256 << 10,
        "write_snapshot to a file: peak {peak} bytes for a {size}-byte snapshot"
    );
    drop(c);

    // Restored from the bytes, and from the file: the rebuilt cache (what stays allocated
    // afterwards) plus a small part of the snapshot.
    let (restored, peak) = peak_of(|| TemplateCache::restore(&snap, limits()));
    let restored = restored.unwrap();
    let kept = HEAP.current_usage();
    drop(restored);
    let kept = kept.saturating_sub(HEAP.current_usage());
    assert!(
        peak <= kept + size / 4,
        "restore(): peak {peak} bytes, {kept} kept, for a {size}-byte snapshot"
    );
    let (restored, peak) = peak_of(|| {
        let r = BufReader::new(std::fs::File::open(&file).unwrap());
        TemplateCache::restore_from(r, limits())
    });
    let restored = restored.unwrap();
    assert_eq!(restored.len(), TEMPLATES as usize);
    assert!(
        peak <= kept + size / 4,
        "restore_from(file): peak {peak} bytes, {kept} kept, for a {size}-byte snapshot"
    );
    assert_eq!(restored.snapshot(), snap);
    eprintln!("snapshot {size} bytes; restored cache {kept} bytes");
    std::fs::remove_dir_all(&dir).unwrap();
}
