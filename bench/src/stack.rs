//! The processes a hostile-upload case runs against, as child processes killed on drop
//! (also when a case fails halfway): the release `maplink-api` alone (embedded mode, the
//! jobs run inside it), or with a private `redis-server` and one release `maplink-worker`
//! (distributed mode, the API only enqueues and the worker runs the jobs).
//!
//! The API and the worker get the same settings (limits, rate limits, which hosts the
//! jobs may fetch) and the same data directory: uploads and results pass between them
//! through its files. Everything listens on 127.0.0.1 on a free port.

use std::{
    fs::File,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use maplink_tests::RedisServer;
use serde_json::Value;

use crate::rss;

/// How long a process may take to say it is ready.
const START_TIMEOUT: Duration = Duration::from_secs(20);
const START_POLL: Duration = Duration::from_millis(20);

/// Where the jobs run.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// No Redis: the API hosts the workers, on SQLite.
    Embedded,
    /// A private Redis, the API that only enqueues, and one worker process.
    Distributed,
}

/// The release binaries, next to this executable.
pub struct Binaries {
    api: PathBuf,
    worker: PathBuf,
}

impl Binaries {
    pub fn find() -> anyhow::Result<Self> {
        Ok(Self {
            api: sibling("maplink-api")?,
            worker: sibling("maplink-worker")?,
        })
    }
}

/// A release binary next to this executable.
pub(crate) fn sibling(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let path = exe
        .parent()
        .ok_or_else(|| anyhow::anyhow!("no directory for {}", exe.display()))?
        .join(name);
    anyhow::ensure!(
        path.is_file(),
        "{} is missing: cargo build --release -p maplink-api -p maplink-worker -p maplink-bench",
        path.display()
    );
    Ok(path)
}

/// Whether `redis-server` can be run at all; distributed cases need it.
pub fn redis_installed() -> bool {
    Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A running API (and in distributed mode its Redis and worker) with its own data
/// directory.
pub struct Stack {
    // Fields drop in this order: the API stops first, so nothing new is enqueued while
    // the worker goes, and Redis goes last, under neither of them.
    pub api: Service,
    pub worker: Option<Service>,
    _redis: Option<RedisServer>,
    /// The API's address, `127.0.0.1:<port>`.
    pub addr: String,
    _dir: tempfile::TempDir,
}

impl Stack {
    pub fn start(binaries: &Binaries, mode: Mode) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let data = dir.path().join("data");
        let redis = (mode == Mode::Distributed).then(RedisServer::start);
        let mut env: Vec<(&str, String)> = vec![
            ("MAPLINK_DATA_DIR", data.display().to_string()),
            ("MAPLINK_RATE_LIMIT_UPLOADS_PER_MINUTE", "0".into()),
            ("MAPLINK_RATE_LIMIT_PROCESS_PER_MINUTE", "0".into()),
            // The jobs' network tier may only reach loopback: nothing leaves the machine.
            ("MAPLINK_RESOLVE_ALLOWED_HOSTS", "127.0.0.1".into()),
            ("MAPLINK_WORKER_METRICS_BIND", "127.0.0.1:0".into()),
            ("MAPLINK_LOG_FORMAT", "json".into()),
            ("RUST_LOG", "info".into()),
        ];
        if let Some(redis) = &redis {
            env.push(("MAPLINK_REDIS_URL", redis.url()));
        }
        // The worker first: a job the API enqueues is then claimed at once, as in a
        // running deployment.
        let worker = match redis {
            Some(_) => Some(Service::start(
                &binaries.worker,
                &env,
                &dir.path().join("worker.log"),
                "maplink worker started",
            )?),
            None => None,
        };
        env.push(("MAPLINK_BIND", "127.0.0.1:0".into()));
        let api = Service::start(
            &binaries.api,
            &env,
            &dir.path().join("api.log"),
            "maplink API listening",
        )?;
        let addr = api.ready["fields"]["addr"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("the API's listening line has no address"))?
            .to_owned();
        Ok(Self {
            api,
            worker,
            _redis: redis,
            addr,
            _dir: dir,
        })
    }
}

/// One child process with its JSON log in a file; killed on drop.
pub struct Service {
    child: Child,
    /// The log line that said it was ready.
    ready: Value,
}

impl Service {
    /// Starts `binary` with exactly `env` (plus PATH and HOME) and waits for a log line
    /// containing `ready`.
    fn start(
        binary: &Path,
        env: &[(&str, String)],
        log: &Path,
        ready: &str,
    ) -> anyhow::Result<Self> {
        let child = spawn_logged(binary, env, log)?;
        // From here on a failure drops `service`, which kills the child.
        let mut service = Self {
            child,
            ready: Value::Null,
        };
        let name = binary.file_name().unwrap_or_default().to_string_lossy();
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(line) = logged(log, ready) {
                service.ready = line;
                return Ok(service);
            }
            if let Ok(Some(status)) = service.child.try_wait() {
                anyhow::bail!(
                    "{name} exited ({status}): {}",
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "{name} did not log {ready:?} within {START_TIMEOUT:?}"
            );
            std::thread::sleep(START_POLL);
        }
    }

    /// Its peak RSS so far (`VmHWM`), NaN once it is gone.
    pub fn peak_mib(&self) -> f64 {
        rss::peak_of(self.child.id()).unwrap_or(f64::NAN)
    }

    /// Its resident memory now (`VmRSS`), NaN once it is gone.
    pub fn rss_mib(&self) -> f64 {
        rss::current_of(self.child.id()).unwrap_or(f64::NAN)
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `binary` with exactly `env` (plus PATH and HOME), its stderr (the log) into
/// the file `log`.
pub(crate) fn spawn_logged(
    binary: &Path,
    env: &[(&str, String)],
    log: &Path,
) -> anyhow::Result<Child> {
    Ok(Command::new(binary)
        .env_clear()
        .envs(std::env::vars().filter(|(k, _)| k == "PATH" || k == "HOME"))
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::null())
        .stderr(File::create(log)?)
        .spawn()?)
}

/// The first JSON log line whose message contains `needle`, once it is written.
pub(crate) fn logged(log: &Path, needle: &str) -> Option<Value> {
    let text = std::fs::read_to_string(log).ok()?;
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| {
            l["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.contains(needle))
        })
}
