//! A private `redis-server` per test: random port, temp dir, nothing saved (unless a
//! test asks for an append-only file, to restart it), killed on drop.

use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
    sync::Mutex,
    time::{Duration, Instant},
};

pub struct RedisServer {
    /// Behind a lock so that a test holding the server in an `Arc` can kill and
    /// restart it.
    child: Mutex<Child>,
    port: u16,
    /// Whether writes go to an append-only file (fsync'd on every write).
    persistent: bool,
    dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    // Bind to port 0 to learn a free port, then release it for redis-server. Another
    // process could take it in between; `start` retries on a different port if so.
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

impl RedisServer {
    pub fn start() -> Self {
        Self::start_with(false)
    }

    /// A server whose data survives [`RedisServer::kill9`] and
    /// [`RedisServer::restart`]: every write is appended and fsync'd, as a production
    /// Redis with AOF would (modulo the fsync policy).
    pub fn start_persistent() -> Self {
        Self::start_with(true)
    }

    fn start_with(persistent: bool) -> Self {
        for _ in 0..5 {
            if let Some(s) = Self::try_start(persistent) {
                return s;
            }
        }
        panic!("could not start redis-server (is it installed? see README: Testing)");
    }

    fn spawn(port: u16, dir: &std::path::Path, persistent: bool) -> Child {
        let aof: &[&str] = if persistent {
            &["--appendonly", "yes", "--appendfsync", "always"]
        } else {
            &["--appendonly", "no"]
        };
        Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .args(aof)
            .arg("--dir")
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (see README: Testing)")
    }

    fn try_start(persistent: bool) -> Option<Self> {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let child = Self::spawn(port, dir.path(), persistent);
        let server = Self {
            child: Mutex::new(child),
            port,
            persistent,
            dir,
        };
        server.wait_until_up().then_some(server)
    }

    /// Waits for the server to answer PING; false if it exited (most likely the port
    /// was taken) or did not answer within 10 s.
    fn wait_until_up(&self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child().try_wait() {
                return false;
            }
            if let Ok(client) = redis::Client::open(self.url())
                && let Ok(mut conn) = client.get_connection()
                && redis::cmd("PING").query::<String>(&mut conn).is_ok()
            {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    fn child(&self) -> std::sync::MutexGuard<'_, Child> {
        self.child.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Kills the server with SIGKILL (no shutdown, no final save) and waits for it to
    /// be gone.
    pub fn kill9(&self) {
        let mut child = self.child();
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Starts the server again on the same port and directory (a persistent server
    /// loads its append-only file) and waits until it answers.
    pub fn restart(&self) {
        self.kill9();
        *self.child() = Self::spawn(self.port, self.dir.path(), self.persistent);
        assert!(
            self.wait_until_up(),
            "redis-server did not come back on port {}",
            self.port
        );
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// A plain synchronous connection for assertions.
    pub fn conn(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .and_then(|c| c.get_connection())
            .expect("connect to test redis")
    }

    pub async fn async_conn(&self) -> redis::aio::ConnectionManager {
        redis::Client::open(self.url())
            .expect("client")
            .get_connection_manager()
            .await
            .expect("connect to test redis")
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill9();
    }
}
