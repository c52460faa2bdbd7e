//! The real `maplink-api` and `maplink-worker` binaries as child processes, with their
//! JSON logs captured to a file, killed on drop.
//!
//! The binaries are the workspace's own build output (`target/<profile>/`), built by
//! the test command before the tests run (see README: Testing).

use std::{
    collections::HashMap,
    fs::File,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::Value;

/// `target/<profile>/<name>`, next to the test executable's `deps/` directory.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile> directory");
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "{} is missing: build it first (`cargo build --workspace --bins`; the README's test command does)",
        path.display()
    );
    path
}

/// The environment for a `maplink-worker` on `redis_url` sharing `data_dir`, with
/// quick queue heartbeats; `extra` overrides.
pub fn worker_env(
    redis_url: &str,
    data_dir: &Path,
    extra: &[(&str, &str)],
) -> HashMap<String, String> {
    let mut env: HashMap<String, String> = [
        ("MAPLINK_REDIS_URL", redis_url.to_owned()),
        ("MAPLINK_DATA_DIR", data_dir.display().to_string()),
        ("MAPLINK_QUEUE_HEARTBEAT_SECS", "2".to_owned()),
        ("MAPLINK_QUEUE_MISSED_HEARTBEATS", "2".to_owned()),
        // Several workers run side by side: each picks a free metrics port.
        ("MAPLINK_WORKER_METRICS_BIND", "127.0.0.1:0".to_owned()),
        // Tests never leave the machine: only loopback test servers may be fetched.
        ("MAPLINK_RESOLVE_ALLOWED_HOSTS", "127.0.0.1".to_owned()),
        ("MAPLINK_RESOLVE_PRIVATE_HOSTS", "127.0.0.1".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    for (k, v) in extra {
        env.insert((*k).to_owned(), (*v).to_owned());
    }
    env
}

/// Starts a worker and waits until it reports that it started.
pub fn start_worker(env: &HashMap<String, String>, log_dir: &Path) -> Proc {
    let p = Proc::start("maplink-worker", env, log_dir);
    p.wait_for_message("maplink worker started", Duration::from_secs(20));
    p
}

/// Starts `maplink-api` on a free port of 127.0.0.1 with `env` and waits until it
/// listens; returns it and its base URL (`http://127.0.0.1:<port>`).
pub fn start_api(env: &HashMap<String, String>, log_dir: &Path) -> (Proc, String) {
    let mut env = env.clone();
    env.insert("MAPLINK_BIND".into(), "127.0.0.1:0".into());
    let api = Proc::start("maplink-api", &env, log_dir);
    let started = api.wait_for_message("maplink API listening", Duration::from_secs(20));
    let addr = started["fields"]["addr"].as_str().expect("address logged");
    let base = format!("http://{addr}");
    (api, base)
}

pub struct Proc {
    child: Option<Child>,
    log: PathBuf,
}

impl Proc {
    /// Starts `name` with exactly `env` (plus PATH/HOME) and JSON logs at debug level
    /// for maplink crates.
    pub fn start(name: &str, env: &HashMap<String, String>, log_dir: &Path) -> Self {
        let log = log_dir.join(format!("{name}-{}.log", uuid::Uuid::new_v4().simple()));
        let file = File::create(&log).expect("log file");
        let mut cmd = Command::new(binary(name));
        cmd.env_clear()
            .envs(std::env::vars().filter(|(k, _)| k == "PATH" || k == "HOME"))
            .env("MAPLINK_LOG_FORMAT", "json")
            .env(
                "RUST_LOG",
                "info,maplink=debug,maplink_worker=debug,maplink_api=debug",
            )
            .envs(env)
            .stdout(Stdio::null())
            .stderr(Stdio::from(file));
        let child = cmd.spawn().expect("spawn binary");
        Self {
            child: Some(child),
            log,
        }
    }

    /// SIGKILL: no chance to clean up, as in a crash.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Sends a signal by name (`STOP`, `CONT`, …) with `kill(1)`.
    pub fn signal(&self, name: &str) {
        let pid = self.child.as_ref().expect("running").id();
        let ok = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(pid.to_string())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill -{name} {pid} failed");
    }

    /// SIGTERM, then wait up to `timeout` for the exit status.
    pub fn terminate(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let mut c = self.child.take()?;
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(c.id().to_string())
            .status();
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = c.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = c.kill();
        let _ = c.wait();
        None
    }

    /// Waits up to `timeout` for the process to exit by itself; its exit status, or
    /// `None` if it is still running (it is left running).
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.as_mut()?.try_wait().ok().flatten() {
                self.child = None;
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Log lines of `needle` messages about session `id`.
    pub fn session_messages(&self, needle: &str, id: &str) -> usize {
        self.messages_containing(needle)
            .iter()
            .filter(|l| {
                l["fields"]["session"].as_str() == Some(id)
                    || l["span"]["session"].as_str() == Some(id)
            })
            .count()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The JSON log lines so far.
    pub fn log_lines(&self) -> Vec<Value> {
        self.log_text()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Log lines whose message contains `needle`.
    pub fn messages_containing(&self, needle: &str) -> Vec<Value> {
        self.log_lines()
            .into_iter()
            .filter(|l| {
                l["fields"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains(needle))
            })
            .collect()
    }

    /// Waits for a log message containing `needle`, returning that line.
    pub fn wait_for_message(&self, needle: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(l) = self.messages_containing(needle).into_iter().next() {
                return l;
            }
            assert!(
                Instant::now() < deadline,
                "no log message containing {needle:?} within {timeout:?}; log:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
    }
}
