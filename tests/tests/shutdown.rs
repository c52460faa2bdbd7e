//! Stopping workers while they run jobs, with real `maplink-worker` and `maplink-api`
//! processes: SIGTERM with a grace shorter than the job (the job is handed back and
//! completes on another worker, without waiting for its lease), with a longer grace
//! (it finishes where it is), a worker paused with SIGSTOP in the middle of its stop,
//! and the embedded API stopped and started again.
//!
//! Jobs are the worked example's 30 rows, slowed down by `row_delay_ms`. The queue
//! lease is long where it matters (5 s × 4), so that a job that waited for it instead
//! of being handed back would miss every bound here by seconds.

use std::{
    collections::HashMap,
    path::Path,
    sync::Arc,
    time::{Duration, Instant},
};

use maplink::{
    domain::SessionId,
    events::{EventKind, EventLog, SqliteEventLog},
    session::open_pool,
};
use maplink_tests::{
    RedisServer, TestApp,
    api::{upload_and_process_at, wait_until_completed},
    binaries::{Proc, start_api, start_worker, worker_env},
    eventually, sheets,
};
use maplink_worker::hand_back::MOVED_MESSAGE;

const ROWS: u64 = 30;
/// A queue lease of 20 s: far longer than any bound below.
const LONG_LEASE: [(&str, &str); 2] = [
    ("MAPLINK_QUEUE_HEARTBEAT_SECS", "5"),
    ("MAPLINK_QUEUE_MISSED_HEARTBEATS", "4"),
];
const LEASE: Duration = Duration::from_secs(20);
/// What a stop may add to the grace before the process is gone.
const EXIT_SLACK: Duration = Duration::from_secs(1);
/// What a job may take beyond its rows' pacing (debug build, a busy machine): the
/// other worker's pickup, reading and writing the files, the session's updates.
const JOB_SLACK: Duration = Duration::from_secs(3);

async fn api_only() -> (Arc<RedisServer>, TestApp, tempfile::TempDir) {
    let redis = Arc::new(RedisServer::start());
    let app = TestApp::spawn_on(Some(redis.clone()), false, |_| {}).await;
    (redis, app, tempfile::tempdir().unwrap())
}

async fn upload_and_process(app: &TestApp) -> String {
    let created = app.upload_ok("a.xlsx", sheets::seed_example_xlsx()).await;
    let id = created["session_id"].as_str().unwrap().to_owned();
    assert_eq!(app.process(&id).await.status(), 202);
    id
}

fn env(redis: &RedisServer, app: &TestApp, extra: &[(&str, &str)]) -> HashMap<String, String> {
    worker_env(&redis.url(), app.data_dir(), extra)
}

fn completed_by(workers: &[&Proc], id: &str) -> usize {
    workers
        .iter()
        .map(|w| w.session_messages("job completed", id))
        .sum()
}

/// The session's events of `kind`, with their payloads.
async fn events_of(log: &dyn EventLog, id: &str, kind: EventKind) -> Vec<serde_json::Value> {
    let sid: SessionId = id.parse().unwrap();
    log.read_after(sid, None, 10_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == kind)
        .map(|e| e.data)
        .collect()
}

async fn moved_events(log: &dyn EventLog, id: &str) -> usize {
    events_of(log, id, EventKind::Log)
        .await
        .iter()
        .filter(|e| e["message"] == MOVED_MESSAGE)
        .count()
}

/// `GET /readyz` on a worker's metrics listener.
async fn worker_ready(worker: &Proc) -> u16 {
    let started = worker.wait_for_message("maplink worker started", Duration::from_secs(1));
    let addr = started["fields"]["metrics"].as_str().unwrap().to_owned();
    let r = maplink_tests::http_client()
        .get(format!("http://{addr}/readyz"))
        .send()
        .await
        .unwrap();
    r.status().as_u16()
}

/// A worker that has started the job of a new session (uploaded and processed through
/// `app`), and a second, idle worker; with the session id.
async fn two_workers_one_job_started(
    app: &TestApp,
    env: &HashMap<String, String>,
    logs: &Path,
) -> (Proc, Proc, String) {
    let stopping = start_worker(env, logs);
    let id = upload_and_process(app).await;
    eventually(Duration::from_secs(10), "the job to start", || async {
        (stopping.session_messages("job started", &id) == 1).then_some(())
    })
    .await;
    let other = start_worker(env, logs);
    (stopping, other, id)
}

/// SIGTERM with a 1 s grace, 1 s into a 7.5 s job: the stopping worker exits 0 within
/// the grace plus a second, and the job is handed back, so another worker completes it
/// within the grace + pickup + the job's own time, not after the 20 s lease. A hand-back
/// is not an attempt: with one attempt allowed, a counted one would fail the job.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_cut_short_by_a_stop_completes_on_another_worker_without_waiting_for_its_lease() {
    const GRACE: Duration = Duration::from_secs(1);
    const ROW_DELAY: Duration = Duration::from_millis(250);
    let (redis, app, logs) = api_only().await;
    let mut extra = vec![
        ("MAPLINK_ROW_DELAY_MS", "250"),
        ("MAPLINK_SHUTDOWN_TIMEOUT_SECS", "1"),
        ("MAPLINK_JOB_MAX_ATTEMPTS", "1"),
    ];
    extra.extend(LONG_LEASE);
    let env = env(&redis, &app, &extra);
    let (mut stopping, other, id) = two_workers_one_job_started(&app, &env, logs.path()).await;

    stopping.signal("TERM");
    let signalled = Instant::now();
    let status = stopping
        .wait_exit(GRACE + EXIT_SLACK)
        .unwrap_or_else(|| panic!("still running {:?} after SIGTERM", GRACE + EXIT_SLACK));
    let exited = signalled.elapsed();
    assert!(status.success(), "{status:?}\n{}", stopping.log_text());
    let done = app
        .wait_for_status(&id, "completed", Duration::from_secs(30))
        .await;
    let took = signalled.elapsed();
    eprintln!(
        "stop with a short grace: exit {exited:?} after SIGTERM; \
         the job completed elsewhere {took:?} after it"
    );
    let bound = GRACE + ROW_DELAY * ROWS as u32 + JOB_SLACK;
    assert!(
        took <= bound,
        "completed {took:?} after SIGTERM (bound {bound:?}, lease {LEASE:?})"
    );

    assert_eq!(
        done["counts"],
        serde_json::json!({"successful": 26, "failed": 2, "skipped": 2})
    );
    assert_eq!(stopping.session_messages("job handed back", &id), 1);
    assert_eq!(stopping.session_messages("job completed", &id), 0);
    assert_eq!(other.session_messages("job completed", &id), 1);
    let events = app.events().await;
    assert_eq!(
        moved_events(&*events, &id).await,
        1,
        "the session says the job moved"
    );
    assert_eq!(events_of(&*events, &id, EventKind::Complete).await.len(), 1);
    let output = sheets::read_xlsx(&app.download(&id).await.bytes().await.unwrap());
    assert_eq!(output[0].1.len(), 31, "the output is whole");
}

/// SIGTERM with a grace longer than what is left of the job: the worker stops taking
/// jobs (`/readyz` 503) but finishes this one, then exits 0; the other worker never
/// runs it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_ends_within_the_grace_finishes_on_the_stopping_worker_and_runs_once() {
    const ROW_DELAY: Duration = Duration::from_millis(100);
    let (redis, app, logs) = api_only().await;
    let mut extra = vec![
        ("MAPLINK_ROW_DELAY_MS", "100"),
        ("MAPLINK_SHUTDOWN_TIMEOUT_SECS", "30"),
    ];
    extra.extend(LONG_LEASE);
    let env = env(&redis, &app, &extra);
    let (mut stopping, other, id) = two_workers_one_job_started(&app, &env, logs.path()).await;
    assert_eq!(worker_ready(&stopping).await, 200);

    stopping.signal("TERM");
    let signalled = Instant::now();
    eventually(Duration::from_secs(5), "/readyz to say 503", || async {
        (worker_ready(&stopping).await == 503).then_some(())
    })
    .await;
    assert!(stopping.is_running(), "still finishing its job");
    // What was left of the job, at most, and the exit after it.
    let bound = ROW_DELAY * ROWS as u32 + JOB_SLACK + EXIT_SLACK;
    let status = stopping
        .wait_exit(bound)
        .unwrap_or_else(|| panic!("still running {bound:?} after SIGTERM"));
    let exited = signalled.elapsed();
    assert!(status.success(), "{status:?}\n{}", stopping.log_text());
    eprintln!("stop with a long grace: the job finished, exit {exited:?} after SIGTERM");

    let done = app
        .wait_for_status(&id, "completed", Duration::from_secs(1))
        .await;
    assert_eq!(done["counts"]["successful"], 26);
    assert_eq!(stopping.session_messages("job completed", &id), 1);
    assert_eq!(stopping.session_messages("job handed back", &id), 0);
    // The other worker is idle and would have started the job at once had it been
    // handed back: it never did.
    assert_eq!(other.session_messages("job started", &id), 0);
    assert_eq!(completed_by(&[&stopping, &other], &id), 1);
    let events = app.events().await;
    assert_eq!(moved_events(&*events, &id).await, 0);
    assert_eq!(events_of(&*events, &id, EventKind::Complete).await.len(), 1);
}

/// A worker paused (SIGSTOP) as its stop begins, before its grace is over, holds its job
/// through the pause; another worker takes the job when the lease lapses and completes
/// it. Resumed, the paused worker cancels, fences and hands back — a job that is no
/// longer its own — and exits 0: the job completed once, with one `complete` event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_paused_while_it_stops_does_not_complete_the_job_twice() {
    let (redis, app, logs) = api_only().await;
    let env = env(
        &redis,
        &app,
        &[
            ("MAPLINK_ROW_DELAY_MS", "100"),
            ("MAPLINK_SHUTDOWN_TIMEOUT_SECS", "2"),
            ("MAPLINK_QUEUE_HEARTBEAT_SECS", "1"),
            ("MAPLINK_QUEUE_MISSED_HEARTBEATS", "2"),
            ("MAPLINK_HEARTBEAT_INTERVAL_SECS", "1"),
        ],
    );
    let mut paused = start_worker(&env, logs.path());
    let id = upload_and_process(&app).await;
    eventually(Duration::from_secs(10), "the job to start", || async {
        (paused.session_messages("job started", &id) == 1).then_some(())
    })
    .await;
    let other = start_worker(&env, logs.path());

    paused.signal("TERM");
    paused.wait_for_message("shutdown signal received", Duration::from_secs(5));
    paused.signal("STOP");
    eventually(
        Duration::from_secs(20),
        "the other worker to take the job",
        || async { (other.session_messages("job started", &id) == 1).then_some(()) },
    )
    .await;
    app.wait_for_status(&id, "completed", Duration::from_secs(30))
        .await;
    paused.signal("CONT");
    let status = paused
        .wait_exit(Duration::from_secs(5))
        .unwrap_or_else(|| panic!("the resumed worker did not exit\n{}", paused.log_text()));
    assert!(status.success(), "{status:?}\n{}", paused.log_text());

    assert_eq!(completed_by(&[&paused, &other], &id), 1);
    assert_eq!(other.session_messages("job completed", &id), 1);
    // The job had moved on without it: the resumed worker claims no hand-back.
    assert_eq!(paused.session_messages("job handed back", &id), 0);
    let events = app.events().await;
    assert_eq!(moved_events(&*events, &id).await, 0);
    assert_eq!(events_of(&*events, &id, EventKind::Complete).await.len(), 1);
    let done = app
        .wait_for_status(&id, "completed", Duration::from_secs(1))
        .await;
    assert_eq!(done["counts"]["successful"], 26);
}

/// The embedded API stopped mid-job hands the job back to its SQLite queue and exits 0
/// within its grace plus a second; started again, it runs the job at once (not after
/// the 20 s lease) and completes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_api_stopped_mid_job_runs_it_again_at_its_next_start() {
    const GRACE: Duration = Duration::from_secs(1);
    const ROW_DELAY: Duration = Duration::from_millis(250);
    let data = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let mut env: HashMap<String, String> = [
        ("MAPLINK_DATA_DIR", data.path().display().to_string()),
        ("MAPLINK_ROW_DELAY_MS", "250".to_owned()),
        ("MAPLINK_SHUTDOWN_TIMEOUT_SECS", "1".to_owned()),
        ("MAPLINK_JOB_MAX_ATTEMPTS", "1".to_owned()),
        ("MAPLINK_RESOLVE_ALLOWED_HOSTS", "127.0.0.1".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    env.extend(
        LONG_LEASE
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let client = maplink_tests::http_client();
    let start = || start_api(&env, logs.path());

    let (mut first, base) = start();
    let id = upload_and_process_at(&client, &base, "sites.xlsx", sheets::seed_example_xlsx()).await;
    first.wait_for_message("job started", Duration::from_secs(10));
    first.signal("TERM");
    let status = first
        .wait_exit(GRACE + EXIT_SLACK)
        .unwrap_or_else(|| panic!("still running {:?} after SIGTERM", GRACE + EXIT_SLACK));
    assert!(status.success(), "{status:?}\n{}", first.log_text());
    assert_eq!(first.session_messages("job handed back", &id), 1);

    let restarted = Instant::now();
    let (second, base) = start();
    let done = wait_until_completed(&client, &base, &id, Duration::from_secs(30)).await;
    let took = restarted.elapsed();
    eprintln!("embedded restart: the handed-back job completed {took:?} after the restart");
    let bound = ROW_DELAY * ROWS as u32 + JOB_SLACK;
    assert!(
        took <= bound,
        "took {took:?} (bound {bound:?}, lease {LEASE:?})"
    );
    assert_eq!(done["counts"]["successful"], 26);
    assert_eq!(second.session_messages("job completed", &id), 1);

    let pool = open_pool(&data.path().join("maplink.db")).await.unwrap();
    let events = SqliteEventLog::open(pool).await.unwrap();
    assert_eq!(moved_events(&events, &id).await, 1);
    assert_eq!(events_of(&events, &id, EventKind::Complete).await.len(), 1);
}
