//! The server process's own resource use, for `/analyzer/json` (`cpuTime`, `memoryResident`):
//! CPU time from `getrusage(2)`, resident memory from Linux's `/proc/self/status`.

use serde_json::{json, Map, Value as Json};

/// `cpuTime` (user + system CPU milliseconds since start; a client divides its change by the
/// change of `uptime` for a utilisation) and `memoryResident` (bytes; absent where
/// `/proc/self/status` is not available).
pub(crate) fn stats() -> Map<String, Json> {
    let mut o = Map::new();
    if let Ok(u) = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF) {
        use nix::sys::time::TimeValLike;
        let ms = u.user_time().num_milliseconds() + u.system_time().num_milliseconds();
        o.insert("cpuTime".into(), json!(ms));
    }
    if let Some(kb) = std::fs::read_to_string("/proc/self/status")
        .ok()
        .as_deref()
        .and_then(vm_rss_kb)
    {
        o.insert("memoryResident".into(), json!(kb * 1024));
    }
    o
}

/// The `VmRSS:` of a `/proc/<pid>/status` text, kB.
fn vm_rss_kb(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resident_memory_from_proc_status() {
        let text = "Name:\tflowlens\nVmPeak:\t  200 kB\nVmRSS:\t   12345 kB\nThreads:\t9\n";
        assert_eq!(vm_rss_kb(text), Some(12_345));
        assert_eq!(vm_rss_kb("Name:\tx\n"), None);
        let s = stats();
        assert!(s["cpuTime"].as_i64().is_some_and(|ms| ms >= 0));
        if std::path::Path::new("/proc/self/status").exists() {
            assert!(s["memoryResident"].as_u64().is_some_and(|b| b > 1 << 20));
        }
    }
}
