//! Peak resident memory (`VmHWM`, the high-water mark the kernel keeps for a process's
//! whole life) and resident memory now (`VmRSS`) from `/proc/<pid>/status` (Linux).

/// The value of `key` (a `kB` field) in `/proc/<pid>/status`, in MiB.
fn status_mib(pid: &str, key: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// The peak RSS of this process in MiB, if known.
pub fn peak_mib() -> Option<f64> {
    status_mib("self", "VmHWM:")
}

/// The peak RSS of process `pid` so far in MiB, if it is still running.
pub fn peak_of(pid: u32) -> Option<f64> {
    status_mib(&pid.to_string(), "VmHWM:")
}

/// The resident memory of process `pid` now in MiB, if it is still running.
pub fn current_of(pid: u32) -> Option<f64> {
    status_mib(&pid.to_string(), "VmRSS:")
}
