//! `TestApp`: the real API on 127.0.0.1 with a random port and fresh stores; on Redis,
//! with in-process workers unless a test runs its own.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use maplink::{
    backend::Reconnect,
    clock::Clock,
    config::Settings,
    events::EventLog,
    files::FileStore,
    ops::OpsStore,
    session::SessionStore,
    shutdown::{Shutdown, ShutdownTrigger},
};
use maplink_api::Application;
use maplink_worker::{app::open_backend, queue::QueueBackend};
use reqwest::{Response, multipart};
use serde_json::Value;
use tokio::task::JoinHandle;

use crate::{RedisServer, eventually};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Redis,
}

pub struct TestApp {
    pub addr: SocketAddr,
    /// The clock the app, its workers and the handles below read: it runs with the
    /// system clock until a test moves it ahead (a TTL passes without the wait).
    pub clock: Clock,
    pub client: reqwest::Client,
    pub settings: Settings,
    pub files: FileStore,
    pub redis: Option<Arc<RedisServer>>,
    data_dir: tempfile::TempDir,
    trigger: ShutdownTrigger,
    tasks: Vec<JoinHandle<()>>,
}

/// Settings for a test: random port, its own data dir, quick polling.
pub fn test_settings(data_dir: &std::path::Path) -> Settings {
    Settings {
        bind: "127.0.0.1:0".into(),
        data_dir: data_dir.to_path_buf(),
        queue_heartbeat_secs: 2,
        queue_missed_heartbeats: 2,
        // In-process workers beside other tests' pick a free metrics port.
        worker_metrics_bind: "127.0.0.1:0".into(),
        // Tests never leave the machine: only loopback test servers may be fetched.
        resolve_allowed_hosts: vec!["127.0.0.1".into()],
        resolve_private_hosts: vec!["127.0.0.1".into()],
        resolve_timeout_ms: 2_000,
        resolve_backoff_ms: 50,
        ..Settings::default()
    }
}

/// The queue a worker with `settings` works on: on Redis at `redis_url`, else in
/// `<data_dir>/maplink.db`.
pub async fn open_queue(settings: &Settings) -> QueueBackend {
    let (_, queue) = open_backend(settings, Reconnect::WithBackoff)
        .await
        .expect("backend and queue");
    queue
}

/// `POST <base>/api/v1/sessions` with `bytes` as the `file` part: for an API started
/// by a test in-process or as a binary.
pub async fn upload_to(
    client: &reqwest::Client,
    base: &str,
    filename: &str,
    bytes: Vec<u8>,
) -> Response {
    let part = multipart::Part::bytes(bytes).file_name(filename.to_owned());
    let form = multipart::Form::new().part("file", part);
    client
        .post(format!("{base}/api/v1/sessions"))
        .multipart(form)
        .send()
        .await
        .expect("upload request")
}

/// Uploads `bytes` as `filename` to an API at `base` and asks for it to be processed
/// (both must succeed); returns the session id.
pub async fn upload_and_process_at(
    client: &reqwest::Client,
    base: &str,
    filename: &str,
    bytes: Vec<u8>,
) -> String {
    let r = upload_to(client, base, filename, bytes).await;
    assert_eq!(r.status(), 201, "upload");
    let created: Value = r.json().await.expect("upload answer");
    let id = created["session_id"]
        .as_str()
        .expect("session id")
        .to_owned();
    let r = client
        .post(format!("{base}/api/v1/sessions/{id}/process"))
        .send()
        .await
        .expect("process request");
    assert_eq!(r.status(), 202, "process");
    id
}

/// Checks that `r` is the API's 429: `Retry-After` of 1–60 s and the JSON error
/// `rate_limited`; returns the wait and the body.
pub async fn assert_rate_limited(r: Response) -> (u64, Value) {
    assert_eq!(r.status(), reqwest::StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "rate_limited");
    (wait, body)
}

/// `GET <url>`'s JSON body, whatever the status.
pub async fn get_json(client: &reqwest::Client, url: &str) -> Value {
    let r = client.get(url).send().await.expect("GET");
    r.json().await.expect("a JSON body")
}

/// Polls `GET <base>/api/v1/sessions/{id}` until the session is `completed`, for an
/// API started as a binary; returns the session.
pub async fn wait_until_completed(
    client: &reqwest::Client,
    base: &str,
    id: &str,
    timeout: Duration,
) -> Value {
    crate::eventually(timeout, "the session to complete", || async {
        let v: Value = client
            .get(format!("{base}/api/v1/sessions/{id}"))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        (v["status"] == "completed").then_some(v)
    })
    .await
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Spawns with settings adjusted by `tweak`. On Redis a worker runtime runs
    /// in-process too, so that jobs get processed.
    pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> Self {
        let redis = (backend == Backend::Redis).then(|| Arc::new(RedisServer::start()));
        Self::spawn_on(redis, true, tweak).await
    }

    /// Spawns on an existing Redis (or SQLite when `None`), with or without
    /// in-process Redis workers.
    pub async fn spawn_on(
        redis: Option<Arc<RedisServer>>,
        redis_workers: bool,
        tweak: impl FnOnce(&mut Settings),
    ) -> Self {
        crate::init_logs();
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut settings = test_settings(data_dir.path());
        settings.redis_url = redis.as_ref().map(|r| r.url());
        tweak(&mut settings);
        let clock = Clock::adjustable();
        let app = Application::build_with_clock(settings.clone(), clock.clone())
            .await
            .expect("build app");
        let addr = app.local_addr();
        let (trigger, shutdown) = Shutdown::new();
        let mut tasks = vec![tokio::spawn({
            let shutdown = shutdown.clone();
            async move {
                app.run_until_stopped(shutdown)
                    .await
                    .expect("app stopped with an error");
            }
        })];
        if settings.redis_url.is_some() && redis_workers {
            // The worker binary's application, in-process.
            let workers =
                maplink_worker::Application::build_with_clock(settings.clone(), clock.clone())
                    .await
                    .expect("build workers");
            tasks.push(tokio::spawn(async move {
                workers
                    .run_until_stopped(shutdown)
                    .await
                    .expect("workers stopped with an error");
            }));
        }
        let files = FileStore::open(&settings.data_dir).expect("files");
        Self {
            addr,
            clock,
            client: crate::http_client(),
            settings,
            files,
            redis,
            data_dir,
            trigger,
            tasks,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn data_dir(&self) -> &std::path::Path {
        self.data_dir.path()
    }

    /// An independent handle on the app's backend, opened as a worker opens it.
    pub async fn backend(&self) -> maplink::backend::Backend {
        maplink::backend::Backend::open(&self.settings, Reconnect::WithBackoff)
            .await
            .expect("backend")
    }

    /// An independent handle on the app's queue (on SQLite it does not wake the app's
    /// in-process workers: use it to look, not to enqueue).
    pub async fn queue(&self) -> QueueBackend {
        open_queue(&self.settings).await
    }

    /// An independent handle on the app's session store, for looking at sessions
    /// without refreshing them (API reads count as signs of life).
    pub async fn store(&self) -> Arc<dyn SessionStore> {
        self.backend()
            .await
            .sessions(&self.clock)
            .await
            .expect("session store")
    }

    /// An independent handle on the app's ops store (cleanup history, schedule ticks).
    pub async fn ops(&self) -> Arc<dyn OpsStore> {
        self.backend().await.ops().await.expect("ops store")
    }

    /// An independent handle on the app's event log.
    pub async fn events(&self) -> Arc<dyn EventLog> {
        self.backend().await.events().await.expect("event log")
    }

    /// Stops the app and its workers and waits for them.
    pub async fn stop(mut self) {
        self.trigger.trigger();
        for t in self.tasks.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(40), t).await;
        }
    }

    pub async fn upload(&self, filename: &str, bytes: Vec<u8>) -> Response {
        upload_to(&self.client, &self.url(""), filename, bytes).await
    }

    /// Uploads and returns the created session's JSON, asserting 201.
    pub async fn upload_ok(&self, filename: &str, bytes: Vec<u8>) -> Value {
        let r = self.upload(filename, bytes).await;
        let status = r.status();
        let body: Value = r.json().await.expect("json");
        assert_eq!(status, 201, "upload failed: {body}");
        body
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    pub async fn post(&self, path: &str) -> Response {
        self.client.post(self.url(path)).send().await.expect("POST")
    }

    pub async fn session(&self, id: &str) -> Response {
        self.get(&format!("/api/v1/sessions/{id}")).await
    }

    pub async fn process(&self, id: &str) -> Response {
        self.post(&format!("/api/v1/sessions/{id}/process")).await
    }

    pub async fn delete(&self, id: &str) -> Response {
        self.client
            .delete(self.url(&format!("/api/v1/sessions/{id}")))
            .send()
            .await
            .expect("DELETE")
    }

    pub async fn download(&self, id: &str) -> Response {
        self.get(&format!("/api/v1/sessions/{id}/download")).await
    }

    /// Polls the session until its status is `want`; panics on `failed` when waiting
    /// for something else, or after `timeout`.
    pub async fn wait_for_status(&self, id: &str, want: &str, timeout: Duration) -> Value {
        eventually(timeout, &format!("session {id} to be {want}"), || async {
            let r = self.session(id).await;
            if r.status() != 200 {
                panic!("session {id} lookup returned {}", r.status());
            }
            let v: Value = r.json().await.ok()?;
            let status = v["status"].as_str()?.to_owned();
            if status == want {
                return Some(v);
            }
            assert_ne!(status, "failed", "session failed: {v}");
            None
        })
        .await
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.trigger.trigger();
        for t in &self.tasks {
            t.abort();
        }
    }
}
