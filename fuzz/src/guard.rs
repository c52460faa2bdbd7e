//! What the harness watches besides results: panics (including the ones maplink
//! catches and turns into a refusal), an input that runs too long, and the process's
//! memory.
//!
//! A panic hook records every panic of the process, on any thread: maplink's sheet
//! reader catches a parser's panic and answers "the file is damaged", and the job runs
//! its steps on blocking threads whose panics come back as errors, so neither would
//! surface as a panic to the caller. The hook sees them all.

use std::{
    path::PathBuf,
    sync::{
        Arc, Mutex,
        mpsc::{self, RecvTimeoutError},
    },
    time::{Duration, Instant},
};

/// Panics recorded since the last [`take_panics`].
static PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Records every panic (message and location) instead of printing it.
pub fn record_panics() {
    std::panic::set_hook(Box::new(|info| {
        let mut panics = PANICS.lock().unwrap_or_else(|e| e.into_inner());
        panics.push(info.to_string());
    }));
}

/// The panics recorded since the last call.
pub fn take_panics() -> Vec<String> {
    std::mem::take(&mut *PANICS.lock().unwrap_or_else(|e| e.into_inner()))
}

/// The input being run, for the watchdog.
#[derive(Default)]
struct Current {
    /// What the input is and how to rebuild it.
    label: String,
    started: Option<Instant>,
    bytes: Vec<u8>,
    file: PathBuf,
}

/// Ends the process if one input runs longer than its time: a hang is a finding, and
/// it would never return to the loop to be reported. Dropping the watchdog stops it.
pub struct Watchdog {
    current: Arc<Mutex<Current>>,
    stop: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watchdog {
    pub fn start(limit: Duration) -> Self {
        let current = Arc::new(Mutex::new(Current::default()));
        let (stop, stopped) = mpsc::channel::<()>();
        let watched = current.clone();
        let thread = std::thread::spawn(move || {
            // Why a timed receive: it wakes once a second to look at the clock, and at
            // once when the run ends (the sender is dropped).
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(Duration::from_secs(1))
            {
                let now = watched.lock().unwrap_or_else(|e| e.into_inner());
                if now.started.is_some_and(|s| s.elapsed() > limit) {
                    let saved = crate::report::save(&now.file, &now.bytes);
                    eprintln!(
                        "FINDING: {}: still running after {} s; input {saved}",
                        now.label,
                        limit.as_secs(),
                    );
                    std::process::exit(3);
                }
            }
        });
        Self {
            current,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// An input starts; `file` is where it is saved if it hangs.
    pub fn begin(&self, label: &str, bytes: &[u8], file: PathBuf) {
        let mut now = self.current.lock().unwrap_or_else(|e| e.into_inner());
        now.label.clear();
        now.label.push_str(label);
        now.started = Some(Instant::now());
        now.bytes.clear();
        now.bytes.extend_from_slice(bytes);
        now.file = file;
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.stop.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Peak resident and virtual memory of this process in KiB (`VmHWM`, `VmPeak`).
pub fn peak_memory_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmPeak:"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_that_is_caught_or_on_another_thread_is_still_recorded() {
        record_panics();
        take_panics();
        let caught = std::panic::catch_unwind(|| panic!("inside a reader"));
        assert!(caught.is_err());
        let joined = std::thread::spawn(|| panic!("on a blocking thread")).join();
        assert!(joined.is_err());
        let panics = take_panics();
        assert_eq!(panics.len(), 2, "{panics:?}");
        assert!(panics[0].contains("inside a reader"), "{panics:?}");
        assert!(take_panics().is_empty());
    }
}
