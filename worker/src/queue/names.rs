//! Worker names.
//!
//! apalis rejects registering a name whose heartbeat is still fresh, and a graceful
//! stop does not deregister (its cleanup removes the wrong member). So a fixed name
//! (a hostname, a StatefulSet pod) makes a quick restart fail. Every process start
//! therefore gets a unique name, and every in-process restart a new suffix.

use ulid::Ulid;

/// `<host>-<pid>-<ulid>`: unique per process start, still readable in dashboards.
pub fn process_name(role: &str) -> String {
    let host = gethostname::gethostname().to_string_lossy().into_owned();
    let host: String = host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .take(40)
        .collect();
    format!(
        "{role}-{host}-{}-{}",
        std::process::id(),
        Ulid::generate().to_string().to_lowercase()
    )
}

/// The name for the `restarts`-th (re)start of a worker of this process.
pub fn worker_name(process: &str, restarts: usize) -> String {
    format!("{process}-r{restarts}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_per_start_and_per_restart() {
        let a = process_name("worker");
        let b = process_name("worker");
        assert_ne!(a, b);
        assert!(
            !a.contains(':'),
            "':' would confuse apalis-redis channel parsing"
        );
        assert_ne!(worker_name(&a, 0), worker_name(&a, 1));
    }
}
