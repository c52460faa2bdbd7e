//! The `queue` scenario's end-to-end phase: one-row sessions through the release
//! binaries. The release `maplink-api` on a private Redis takes `SESSIONS` one-row CSV
//! uploads and a `process` request for each; then two release `maplink-worker`
//! processes (default settings) start, and the rate runs from their start until the
//! queue is empty; every session is then checked `completed`. Reported, not judged:
//! each job is the whole coordinates job, so the rate is the job's, not the queue's.

use std::time::{Duration, Instant};

use futures::{StreamExt, stream};
use maplink::{backend::Reconnect, config::Settings};
use maplink_tests::RedisServer;
use maplink_worker::app::open_backend;
use serde_json::Value;

use crate::{
    process::Process,
    queue::{PHASE_TIMEOUT, idle},
    stack,
};

const SESSIONS: usize = 500;
const SESSION_WORKERS: usize = 2;
/// Uploads (and process requests) in flight while the sessions are queued.
const UPLOADS_IN_FLIGHT: usize = 8;
const CSV: &str = "Name,Region,Maps\nA,B,\"1.5,2.5\"\n";
/// How long a process may take to say it is ready.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How often the phase asks, while the workers run.
const SESSIONS_POLL: Duration = Duration::from_millis(5);

/// `SESSIONS` one-row sessions through the release binaries: queued first, then two
/// workers start and take them all. Reported, not judged.
pub(crate) async fn sessions_end_to_end() -> anyhow::Result<()> {
    let api_binary = stack::sibling("maplink-api")?;
    let worker_binary = stack::sibling("maplink-worker")?;
    let redis = RedisServer::start();
    let dir = tempfile::tempdir()?;
    let env: Vec<(&str, String)> = vec![
        ("MAPLINK_REDIS_URL", redis.url()),
        (
            "MAPLINK_DATA_DIR",
            dir.path().join("data").display().to_string(),
        ),
        ("MAPLINK_RATE_LIMIT_UPLOADS_PER_MINUTE", "0".into()),
        ("MAPLINK_RATE_LIMIT_PROCESS_PER_MINUTE", "0".into()),
        ("MAPLINK_MAX_SESSIONS", (SESSIONS * 10).to_string()),
        // The jobs' network tier may only reach loopback (a one-row sheet of
        // coordinates needs no fetch at all).
        ("MAPLINK_RESOLVE_ALLOWED_HOSTS", "127.0.0.1".into()),
        ("MAPLINK_WORKER_METRICS_BIND", "127.0.0.1:0".into()),
        ("MAPLINK_LOG_FORMAT", "json".into()),
        ("RUST_LOG", "info".into()),
    ];
    let mut api_env = env.clone();
    api_env.push(("MAPLINK_BIND", "127.0.0.1:0".into()));
    let mut api = Process::spawn(&api_binary, &api_env, &dir.path().join("api.log"))?;
    let listening = api.wait_for("maplink API listening", START_TIMEOUT)?;
    let base = format!(
        "http://{}",
        listening["fields"]["addr"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("the API's listening line has no address"))?
    );
    maplink_worker::resolve::install_crypto_provider();
    let client = reqwest::Client::builder().no_proxy().build()?;

    let started = Instant::now();
    let ids = tokio::time::timeout(PHASE_TIMEOUT, queue_sessions(&client, &base)).await??;
    let queued_in = started.elapsed().as_secs_f64();
    let settings = Settings {
        redis_url: Some(redis.url()),
        ..Settings::default()
    };
    let (_, queue) = open_backend(&settings, Reconnect::WithBackoff).await?;
    let store = queue.store();
    let waiting = store.stats().await?.pending;
    anyhow::ensure!(
        waiting == SESSIONS as u64,
        "{waiting} jobs pending after {SESSIONS} process requests"
    );

    let started = Instant::now();
    let mut workers = (0..SESSION_WORKERS)
        .map(|i| {
            Process::spawn(
                &worker_binary,
                &env,
                &dir.path().join(format!("worker{i}.log")),
            )
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut ready: Vec<Option<f64>> = vec![None; SESSION_WORKERS];
    let deadline = started + PHASE_TIMEOUT;
    let drained_in = loop {
        for (w, at) in workers.iter_mut().zip(ready.iter_mut()) {
            if at.is_none() && w.logged("maplink worker started").is_some() {
                *at = Some(started.elapsed().as_secs_f64());
            }
            anyhow::ensure!(w.is_running(), "a worker exited: {}", w.log_text());
        }
        if idle(&store.stats().await?) {
            break started.elapsed().as_secs_f64();
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the workers did not empty the queue within {PHASE_TIMEOUT:?}: {:?}",
            store.stats().await?
        );
        tokio::time::sleep(SESSIONS_POLL).await;
    };
    let completed =
        tokio::time::timeout(PHASE_TIMEOUT, count_completed(&client, &base, &ids)).await??;
    anyhow::ensure!(api.is_running(), "the API exited: {}", api.log_text());

    let last_ready = ready.iter().flatten().copied().fold(0.0, f64::max);
    println!(
        "\n  one-row sessions end to end: the release maplink-api on a private Redis, \
         {SESSION_WORKERS} release maplink-worker processes (concurrency {} each)",
        Settings::default().worker_concurrency
    );
    println!(
        "    {:<34} {:>8.0} sessions/s  ({SESSIONS} uploads and process requests in {queued_in:.2} s, \
         {UPLOADS_IN_FLIGHT} in flight)",
        "queued (upload + process)",
        SESSIONS as f64 / queued_in
    );
    println!(
        "    {:<34} {:>8.0} sessions/s  ({SESSIONS} in {drained_in:.2} s from the workers' start; \
         both ready after {last_ready:.2} s; {completed} completed)",
        "processed, 2 workers",
        SESSIONS as f64 / drained_in
    );
    anyhow::ensure!(
        completed == SESSIONS,
        "only {completed} of {SESSIONS} sessions completed"
    );
    Ok(())
}

/// Uploads `SESSIONS` one-row sheets and asks to process each; the session ids.
async fn queue_sessions(client: &reqwest::Client, base: &str) -> anyhow::Result<Vec<String>> {
    let uploads = stream::iter(0..SESSIONS)
        .map(|i| async move {
            let part = reqwest::multipart::Part::bytes(CSV.as_bytes())
                .file_name(format!("one-row-{i}.csv"));
            let form = reqwest::multipart::Form::new().part("file", part);
            let response = client
                .post(format!("{base}/api/v1/sessions"))
                .multipart(form)
                .send()
                .await?;
            let status = response.status();
            let body: Value = response.json().await?;
            let id = match (status.as_u16(), body["session_id"].as_str()) {
                (201, Some(id)) => id.to_owned(),
                _ => anyhow::bail!("upload {i}: {status} {body}"),
            };
            let response = client
                .post(format!("{base}/api/v1/sessions/{id}/process"))
                .send()
                .await?;
            anyhow::ensure!(
                response.status() == 202,
                "process {id}: {} {}",
                response.status(),
                response.text().await.unwrap_or_default()
            );
            Ok(id)
        })
        .buffer_unordered(UPLOADS_IN_FLIGHT);
    uploads.collect::<Vec<_>>().await.into_iter().collect()
}

async fn count_completed(
    client: &reqwest::Client,
    base: &str,
    ids: &[String],
) -> anyhow::Result<usize> {
    let statuses = stream::iter(ids)
        .map(|id| async move {
            let body: Value = client
                .get(format!("{base}/api/v1/sessions/{id}"))
                .send()
                .await?
                .json()
                .await?;
            anyhow::Ok(body["status"] == "completed")
        })
        .buffer_unordered(UPLOADS_IN_FLIGHT);
    let mut completed = 0;
    for done in statuses.collect::<Vec<_>>().await {
        completed += usize::from(done?);
    }
    Ok(completed)
}
