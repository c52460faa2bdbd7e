//! The `shutdown` scenario: what stopping a worker costs the job it is running, as a
//! scale-down or a rolling deploy stops it.
//!
//! Per run, on a private `redis-server` (random port, nothing saved) with fresh
//! processes: the release `maplink-api` (it only enqueues) and one release
//! `maplink-worker` with `MAPLINK_SHUTDOWN_TIMEOUT_SECS=3` and a queue lease of 5 s × 4
//! (`queue_heartbeat_secs`, `queue_missed_heartbeats`), both with the worked example's
//! 30 rows paced at 250 ms a row (`row_delay_ms`). The worker starts the job; 1 s after
//! it logged the start it gets SIGTERM, and a second worker (same settings) is started
//! right after. Measured from the signal: when the first worker exits (and its exit
//! status), when the second starts the job (its log, polled every 10 ms), and when the
//! session reads `completed` (polled every 10 ms through the API); the job's own
//! running time is the second worker's, from its start to `completed`. Targets: the
//! stopping worker exits 0 within its grace + 1 s, and the job completes on the second
//! worker within the grace + 0.5 s (hand-back and pickup) + its own running time: the
//! lease does not come into it. Three runs, each judged.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use maplink_tests::{RedisServer, sheets};
use serde_json::Value;

use crate::{process::Process, stack};

const RUNS: usize = 3;
const GRACE_SECS: u64 = 3;
const ROW_DELAY_MS: u64 = 250;
const ROWS: u64 = 30;
const HEARTBEAT_SECS: u64 = 5;
const MISSED_HEARTBEATS: u64 = 4;
/// How long into the job the first worker is stopped.
const SIGNAL_AFTER: Duration = Duration::from_secs(1);
/// Bounds on a process's start and on one run.
const START_TIMEOUT: Duration = Duration::from_secs(20);
const RUN_TIMEOUT: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(10);
/// What the hand-back and the second worker's pickup may add to the grace.
const PICKUP_ALLOWANCE: Duration = Duration::from_millis(500);

/// One run's figures, from the SIGTERM.
struct Stop {
    exited: Duration,
    exit_ok: bool,
    picked_up: Duration,
    completed: Duration,
    completed_by_second: bool,
}

pub async fn shutdown() -> anyhow::Result<bool> {
    let api = stack::sibling("maplink-api")?;
    let worker = stack::sibling("maplink-worker")?;
    let grace = Duration::from_secs(GRACE_SECS);
    let job_time = Duration::from_millis(ROWS * ROW_DELAY_MS);
    println!(
        "\nshutdown: SIGTERM {SIGNAL_AFTER:?} into a {ROWS}-row job paced at {ROW_DELAY_MS} ms \
         a row (~{job_time:?}), shutdown_timeout_secs = {GRACE_SECS}, lease {HEARTBEAT_SECS} s × \
         {MISSED_HEARTBEATS}; a second worker started right after the signal"
    );
    let mut met = true;
    for i in 1..=RUNS {
        let stop = tokio::time::timeout(RUN_TIMEOUT, one_run(&api, &worker)).await??;
        let own_time = stop.completed.saturating_sub(stop.picked_up);
        let done_target = grace + PICKUP_ALLOWANCE + own_time;
        let exit_met = stop.exit_ok && stop.exited <= grace + Duration::from_secs(1);
        let done_met = stop.completed_by_second && stop.completed <= done_target;
        met &= exit_met && done_met;
        println!(
            "  run {i}: the stopping worker exited {:.2} s after SIGTERM ({}; target ≤ {:.0} s, {}); \
             the second worker started the job after {:.2} s and completed it after {:.2} s \
             ({:.2} s of its own; target ≤ {:.2} s, {}{})",
            stop.exited.as_secs_f64(),
            if stop.exit_ok { "exit 0" } else { "NOT exit 0" },
            (grace + Duration::from_secs(1)).as_secs_f64(),
            verdict(exit_met),
            stop.picked_up.as_secs_f64(),
            stop.completed.as_secs_f64(),
            own_time.as_secs_f64(),
            done_target.as_secs_f64(),
            verdict(done_met),
            if stop.completed_by_second {
                ""
            } else {
                ", NOT by the second worker"
            },
        );
    }
    Ok(met)
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "MISSED" }
}

async fn one_run(api_binary: &Path, worker_binary: &Path) -> anyhow::Result<Stop> {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir()?;
    let env: Vec<(&str, String)> = vec![
        ("MAPLINK_REDIS_URL", redis.url()),
        (
            "MAPLINK_DATA_DIR",
            dir.path().join("data").display().to_string(),
        ),
        ("MAPLINK_SHUTDOWN_TIMEOUT_SECS", GRACE_SECS.to_string()),
        ("MAPLINK_ROW_DELAY_MS", ROW_DELAY_MS.to_string()),
        ("MAPLINK_QUEUE_HEARTBEAT_SECS", HEARTBEAT_SECS.to_string()),
        (
            "MAPLINK_QUEUE_MISSED_HEARTBEATS",
            MISSED_HEARTBEATS.to_string(),
        ),
        // The job's network tier may only reach loopback: nothing leaves the machine.
        ("MAPLINK_RESOLVE_ALLOWED_HOSTS", "127.0.0.1".into()),
        ("MAPLINK_WORKER_METRICS_BIND", "127.0.0.1:0".into()),
        ("MAPLINK_LOG_FORMAT", "json".into()),
        ("RUST_LOG", "info".into()),
    ];
    let mut api_env = env.clone();
    api_env.push(("MAPLINK_BIND", "127.0.0.1:0".into()));
    let api = Process::start_in(
        api_binary,
        &api_env,
        dir.path(),
        "maplink API listening",
        START_TIMEOUT,
    )?;
    let base = format!(
        "http://{}",
        api.ready["fields"]["addr"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("the API's listening line has no address"))?
    );
    let mut first = Process::start_in(
        worker_binary,
        &env,
        dir.path(),
        "maplink worker started",
        START_TIMEOUT,
    )?;

    maplink_worker::resolve::install_crypto_provider();
    let client = reqwest::Client::builder().no_proxy().build()?;
    let id = upload_and_process(&client, &base).await?;
    first.wait_for("job started", START_TIMEOUT)?;
    tokio::time::sleep(SIGNAL_AFTER).await;

    first.signal("TERM")?;
    let signalled = Instant::now();
    let mut second = Process::spawn_in(worker_binary, &env, dir.path())?;
    let (mut exited, mut exit_ok, mut picked_up) = (None, false, None);
    let completed = loop {
        if exited.is_none()
            && let Some(status) = first.try_exit()?
        {
            exited = Some(signalled.elapsed());
            exit_ok = status.success();
        }
        if picked_up.is_none() && second.logged("job started").is_some() {
            picked_up = Some(signalled.elapsed());
        }
        if status(&client, &base, &id).await? == "completed" {
            break signalled.elapsed();
        }
        anyhow::ensure!(
            signalled.elapsed() < RUN_TIMEOUT,
            "the job did not complete within {RUN_TIMEOUT:?}"
        );
        tokio::time::sleep(POLL).await;
    };
    // The first worker may still be stopping (it outlived its grace before).
    let exited = match exited {
        Some(at) => at,
        None => {
            let status = first.wait_exit(RUN_TIMEOUT)?;
            exit_ok = status.success();
            signalled.elapsed()
        }
    };
    anyhow::ensure!(second.is_running(), "the second worker exited");
    Ok(Stop {
        exited,
        exit_ok,
        picked_up: picked_up.unwrap_or(completed),
        completed,
        completed_by_second: second.logged("job completed").is_some(),
    })
}

async fn upload_and_process(client: &reqwest::Client, base: &str) -> anyhow::Result<String> {
    let part = reqwest::multipart::Part::bytes(sheets::seed_example_xlsx()).file_name("sites.xlsx");
    let form = reqwest::multipart::Form::new().part("file", part);
    let response = client
        .post(format!("{base}/api/v1/sessions"))
        .multipart(form)
        .send()
        .await?;
    let body: Value = response.json().await?;
    let id = body["session_id"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("upload refused: {body}"))?
        .to_owned();
    let response = client
        .post(format!("{base}/api/v1/sessions/{id}/process"))
        .send()
        .await?;
    anyhow::ensure!(response.status() == 202, "process: {}", response.status());
    Ok(id)
}

async fn status(client: &reqwest::Client, base: &str, id: &str) -> anyhow::Result<String> {
    let body: Value = client
        .get(format!("{base}/api/v1/sessions/{id}"))
        .send()
        .await?
        .json()
        .await?;
    Ok(body["status"].as_str().unwrap_or_default().to_owned())
}
