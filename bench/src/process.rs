//! `Process`: a child process of a benchmark with its JSON log in a file, waited on by
//! what it logs; killed on drop. Unlike `stack::Service`, `spawn` does not wait for it
//! to be ready, so a scenario can time a start-up or start a process mid-run.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command},
    sync::atomic::{AtomicUsize, Ordering},
    time::{Duration, Instant},
};

use serde_json::Value;

use crate::stack;

/// How often the log (or the exit status) is looked at while waiting.
const POLL: Duration = Duration::from_millis(10);

pub struct Process {
    child: Child,
    log: PathBuf,
    /// The log line that said it was ready (`Null` when not waited for).
    pub ready: Value,
}

impl Process {
    /// Starts `binary` with exactly `env` (plus PATH and HOME), logging to `log`.
    pub fn spawn(binary: &Path, env: &[(&str, String)], log: &Path) -> anyhow::Result<Self> {
        Ok(Self {
            child: stack::spawn_logged(binary, env, log)?,
            log: log.to_owned(),
            ready: Value::Null,
        })
    }

    /// [`spawn`](Self::spawn) with a log file of its own in `dir`.
    pub fn spawn_in(binary: &Path, env: &[(&str, String)], dir: &Path) -> anyhow::Result<Self> {
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let name = binary.file_name().unwrap_or_default().to_string_lossy();
        let n = STARTED.fetch_add(1, Ordering::Relaxed);
        Self::spawn(binary, env, &dir.join(format!("{name}-{n}.log")))
    }

    /// [`spawn_in`](Self::spawn_in), then waits up to `timeout` for a log line
    /// containing `ready`.
    pub fn start_in(
        binary: &Path,
        env: &[(&str, String)],
        dir: &Path,
        ready: &str,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        let mut p = Self::spawn_in(binary, env, dir)?;
        p.ready = p.wait_for(ready, timeout)?;
        Ok(p)
    }

    /// The first log line so far whose message contains `needle`.
    pub fn logged(&self, needle: &str) -> Option<Value> {
        stack::logged(&self.log, needle)
    }

    /// The exit status, if it has exited.
    pub fn try_exit(&mut self) -> std::io::Result<Option<std::process::ExitStatus>> {
        self.child.try_wait()
    }

    /// Waits for a log line whose message contains `needle`.
    pub fn wait_for(&mut self, needle: &str, timeout: Duration) -> anyhow::Result<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = self.logged(needle) {
                return Ok(line);
            }
            anyhow::ensure!(self.is_running(), "exited: {}", self.log_text());
            anyhow::ensure!(
                Instant::now() < deadline,
                "did not log {needle:?} within {timeout:?}"
            );
            std::thread::sleep(POLL);
        }
    }

    /// Sends a signal by name with `kill(1)`.
    pub fn signal(&self, name: &str) -> anyhow::Result<()> {
        let sent = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()?;
        anyhow::ensure!(sent.success(), "kill -{name} failed");
        Ok(())
    }

    pub fn wait_exit(&mut self, timeout: Duration) -> anyhow::Result<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_exit()? {
                return Ok(status);
            }
            anyhow::ensure!(Instant::now() < deadline, "still running after {timeout:?}");
            std::thread::sleep(POLL);
        }
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.try_exit(), Ok(None))
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
