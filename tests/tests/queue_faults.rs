//! The Redis queue under faults, with real `maplink-worker` processes and a real
//! `redis-server`: workers killed, frozen past their lease, Redis restarted from its
//! append-only file, a dropped connection, 20,000 jobs at once, poison payloads, and
//! what is left in Redis once every session has expired.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use maplink::{
    config::Settings,
    domain::SessionId,
    events::EventKind,
    jobs::{CONVERT_QUEUE, ConvertJob},
};
use maplink_tests::{
    RedisServer, TestApp,
    binaries::{Proc, start_worker, worker_env},
    eventually, sheets,
};
use maplink_worker::queue::QueueBackend;

/// Held by the tests that load the machine (20,000 jobs, 300 sessions), so that one
/// does not skew another's timing on a small machine.
static EXCLUSIVE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// An API without in-process workers on `redis`, and a log dir for workers.
async fn api_only_on(
    redis: Arc<RedisServer>,
    tweak: impl FnOnce(&mut Settings),
) -> (TestApp, tempfile::TempDir) {
    let app = TestApp::spawn_on(Some(redis), false, tweak).await;
    (app, tempfile::tempdir().unwrap())
}

async fn api_only() -> (Arc<RedisServer>, TestApp, tempfile::TempDir) {
    let redis = Arc::new(RedisServer::start());
    let (app, logs) = api_only_on(redis.clone(), |_| {}).await;
    (redis, app, logs)
}

async fn upload_and_process(app: &TestApp) -> String {
    let created = app.upload_ok("a.xlsx", sheets::seed_example_xlsx()).await;
    let id = created["session_id"].as_str().unwrap().to_owned();
    assert_eq!(app.process(&id).await.status(), 202);
    id
}

async fn queue(redis: &RedisServer) -> QueueBackend {
    maplink_tests::api::open_queue(&Settings {
        redis_url: Some(redis.url()),
        ..Settings::default()
    })
    .await
}

/// `complete` events in a session's log.
async fn completions(app: &TestApp, id: &str) -> usize {
    let sid: SessionId = id.parse().unwrap();
    app.events()
        .await
        .read_after(sid, None, 10_000)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.kind == EventKind::Complete)
        .count()
}

fn completed_by(workers: &[&Proc], id: &str) -> usize {
    workers
        .iter()
        .map(|w| w.session_messages("job completed", id))
        .sum()
}

/// At the default lease (2 s renewals, 3 missed), a killed worker's job is running on
/// another worker within 10 s, and its output is whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_workers_job_runs_elsewhere_within_ten_seconds() {
    let (redis, app, logs) = api_only().await;
    let defaults = Settings::default();
    let env = worker_env(
        &redis.url(),
        app.data_dir(),
        &[
            ("MAPLINK_ROW_DELAY_MS", "250"),
            (
                "MAPLINK_QUEUE_HEARTBEAT_SECS",
                &defaults.queue_heartbeat_secs.to_string(),
            ),
            (
                "MAPLINK_QUEUE_MISSED_HEARTBEATS",
                &defaults.queue_missed_heartbeats.to_string(),
            ),
        ],
    );
    let mut first = start_worker(&env, logs.path());
    let id = upload_and_process(&app).await;
    eventually(
        Duration::from_secs(10),
        "the first worker to start the job",
        || async { (first.session_messages("job started", &id) == 1).then_some(()) },
    )
    .await;
    let second = start_worker(&env, logs.path());
    tokio::time::sleep(Duration::from_millis(800)).await;
    first.kill9();
    let killed = Instant::now();
    eventually(
        Duration::from_secs(20),
        "the second worker to start the job",
        || async { (second.session_messages("job started", &id) == 1).then_some(()) },
    )
    .await;
    let recovery = killed.elapsed();
    eprintln!("kill -9 recovery: job running elsewhere {recovery:?} after the kill");
    let bound = defaults.queue().lease + defaults.queue().heartbeat;
    assert!(
        recovery <= bound && recovery <= Duration::from_secs(10),
        "took {recovery:?} (lease {:?})",
        defaults.queue().lease
    );
    let done = app
        .wait_for_status(&id, "completed", Duration::from_secs(30))
        .await;
    assert_eq!(
        done["counts"],
        serde_json::json!({"successful": 26, "failed": 2, "skipped": 2})
    );
    let r = app.download(&id).await;
    let output = sheets::read_xlsx(&r.bytes().await.unwrap());
    assert_eq!(output[0].1.len(), 31, "the output is whole");
}

/// A worker frozen (SIGSTOP) past its lease loses the job to another worker; when it
/// is resumed it finds its run superseded and stops: the job completes once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_frozen_past_its_lease_does_not_complete_the_job_twice() {
    let (redis, app, logs) = api_only().await;
    let env = worker_env(
        &redis.url(),
        app.data_dir(),
        &[
            ("MAPLINK_ROW_DELAY_MS", "200"),
            ("MAPLINK_QUEUE_HEARTBEAT_SECS", "1"),
            ("MAPLINK_QUEUE_MISSED_HEARTBEATS", "2"),
            ("MAPLINK_HEARTBEAT_INTERVAL_SECS", "1"),
        ],
    );
    let frozen = start_worker(&env, logs.path());
    let id = upload_and_process(&app).await;
    eventually(Duration::from_secs(10), "the job to start", || async {
        (frozen.session_messages("job started", &id) == 1).then_some(())
    })
    .await;
    let other = start_worker(&env, logs.path());
    frozen.signal("STOP");
    eventually(
        Duration::from_secs(20),
        "the other worker to take the job",
        || async { (other.session_messages("job started", &id) == 1).then_some(()) },
    )
    .await;
    frozen.signal("CONT");
    app.wait_for_status(&id, "completed", Duration::from_secs(30))
        .await;
    // Give the resumed worker time to run into its refusals.
    frozen.wait_for_message("superseded", Duration::from_secs(10));
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(completed_by(&[&frozen, &other], &id), 1);
    assert_eq!(other.session_messages("job completed", &id), 1);
    assert_eq!(completions(&app, &id).await, 1, "one `complete` event");
}

/// Redis killed and restarted from its append-only file while jobs are queued and
/// running: every job completes, none completes twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_from_its_aof_loses_no_job_and_completes_none_twice() {
    let redis = Arc::new(RedisServer::start_persistent());
    let (app, logs) = api_only_on(redis.clone(), |_| {}).await;
    let env = worker_env(
        &redis.url(),
        app.data_dir(),
        &[
            ("MAPLINK_ROW_DELAY_MS", "40"),
            ("MAPLINK_WORKER_CONCURRENCY", "2"),
            ("MAPLINK_QUEUE_HEARTBEAT_SECS", "1"),
            ("MAPLINK_QUEUE_MISSED_HEARTBEATS", "2"),
        ],
    );
    let worker = start_worker(&env, logs.path());
    let mut ids = Vec::new();
    for _ in 0..6 {
        ids.push(upload_and_process(&app).await);
    }
    eventually(Duration::from_secs(10), "two jobs running", || async {
        let running = ids
            .iter()
            .filter(|id| worker.session_messages("job started", id) == 1)
            .count();
        (running >= 2).then_some(())
    })
    .await;
    // The append-only file is written every second (appendfsync everysec).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    redis.restart();
    for id in &ids {
        app.wait_for_status(id, "completed", Duration::from_secs(60))
            .await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    for id in &ids {
        assert_eq!(completed_by(&[&worker], id), 1, "session {id}");
        assert_eq!(completions(&app, id).await, 1, "session {id}");
    }
    let stats = queue(&redis).await.depth().await.unwrap();
    assert_eq!(
        (stats.pending, stats.running, stats.dead),
        (0, 0, 0),
        "{stats:?}"
    );
}

/// 20,000 jobs queued while no worker runs are all processed by one worker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_thousand_jobs_queued_at_once_are_all_processed() {
    const JOBS: usize = 20_000;
    let _exclusive = EXCLUSIVE.lock().await;
    let (redis, app, logs) = api_only().await;
    let store = queue(&redis).await.store();
    // Jobs for sessions that do not exist: each is a quick no-op.
    let jobs: Vec<(String, String)> = (0..JOBS)
        .map(|_| {
            let job = ConvertJob::new(SessionId::random(), 1);
            (
                maplink_worker::queue::producer::new_task_id(),
                serde_json::to_string(&job).unwrap(),
            )
        })
        .collect();
    for chunk in jobs.chunks(1000) {
        store.enqueue(chunk).await.unwrap();
    }
    assert_eq!(store.stats().await.unwrap().pending, JOBS as u64);
    let env = worker_env(
        &redis.url(),
        app.data_dir(),
        &[("MAPLINK_WORKER_CONCURRENCY", "32")],
    );
    let mut worker = start_worker(&env, logs.path());
    let started = Instant::now();
    eventually(Duration::from_secs(180), "every job to be done", || async {
        let s = store.stats().await.ok()?;
        (s.pending + s.running + s.scheduled == 0).then_some(())
    })
    .await;
    eprintln!("{JOBS} jobs processed in {:?}", started.elapsed());
    assert!(worker.is_running(), "the worker crashed");
    let stats = store.stats().await.unwrap();
    assert_eq!(stats.dead, 0);
    assert_eq!(
        stats.done,
        Settings::default().queue_keep_done_count.min(JOBS as u64),
        "done records are kept up to their bound"
    );
}

/// A dropped connection (its blocking read and the shared one) is replaced; the
/// worker keeps running and picks up new jobs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_redis_connection_does_not_end_a_worker() {
    let (redis, app, logs) = api_only().await;
    let env = worker_env(&redis.url(), app.data_dir(), &[]);
    let mut worker = start_worker(&env, logs.path());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let killed: usize = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("normal")
        .arg("SKIPME")
        .arg("yes")
        .query(&mut redis.conn())
        .unwrap();
    assert!(
        killed >= 2,
        "the reader and the shared connection were dropped"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        worker.is_running(),
        "the worker exited:\n{}",
        worker.log_text()
    );
    let id = upload_and_process(&app).await;
    app.wait_for_status(&id, "completed", Duration::from_secs(20))
        .await;
    assert!(worker.is_running());
}

/// A worker stopped with SIGTERM and another started at once: jobs keep flowing (the
/// stopped one's consumer is gone from the group).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_started_right_after_a_graceful_stop_processes_jobs() {
    let (redis, app, logs) = api_only().await;
    let env = worker_env(&redis.url(), app.data_dir(), &[]);
    let mut first = start_worker(&env, logs.path());
    let status = first
        .terminate(Duration::from_secs(20))
        .expect("stopped on SIGTERM");
    assert!(status.success(), "graceful stop exits 0, got {status:?}");
    let consumers: Vec<redis::Value> = redis::cmd("XINFO")
        .arg("CONSUMERS")
        .arg(format!("{{{CONVERT_QUEUE}}}:stream"))
        .arg("workers")
        .query(&mut redis.conn())
        .unwrap();
    assert!(consumers.is_empty(), "the stopped worker left its consumer");
    let mut second = start_worker(&env, logs.path());
    let id = upload_and_process(&app).await;
    app.wait_for_status(&id, "completed", Duration::from_secs(20))
        .await;
    assert!(second.is_running());
}

/// Payloads that do not decode go to the dead list; the worker keeps working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_payloads_go_to_the_dead_list_without_stopping_the_worker() {
    let (redis, app, logs) = api_only().await;
    let q = queue(&redis).await;
    q.store()
        .enqueue(&[
            ("wrong-shape".into(), r#"{"v": 1, "session": "x"}"#.into()),
            ("not-json".into(), "garbage".into()),
        ])
        .await
        .unwrap();
    let env = worker_env(&redis.url(), app.data_dir(), &[]);
    let mut worker = start_worker(&env, logs.path());
    let dead = eventually(Duration::from_secs(20), "both in the dead list", || async {
        let dead = q.store().dead(10).await.ok()?;
        (dead.len() == 2).then_some(dead)
    })
    .await;
    assert!(
        dead.iter()
            .all(|d| d.error.starts_with("undecodable payload")),
        "{dead:?}"
    );
    assert!(worker.is_running());
    let id = upload_and_process(&app).await;
    app.wait_for_status(&id, "completed", Duration::from_secs(20))
        .await;
    assert_eq!(worker.messages_containing("undecodable payload").len(), 2);
}

/// A job much longer than the lease keeps its lease (renewed beside the job) and runs
/// once, with a second worker idle beside it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_longer_than_its_lease_keeps_it_and_runs_once() {
    let (redis, app, logs) = api_only().await;
    let env = worker_env(
        &redis.url(),
        app.data_dir(),
        &[
            ("MAPLINK_QUEUE_HEARTBEAT_SECS", "1"),
            ("MAPLINK_QUEUE_MISSED_HEARTBEATS", "2"),
            ("MAPLINK_ROW_DELAY_MS", "250"),
        ],
    );
    let a = start_worker(&env, logs.path());
    let b = start_worker(&env, logs.path());
    let id = upload_and_process(&app).await;
    app.wait_for_status(&id, "completed", Duration::from_secs(40))
        .await;
    let runs = a.session_messages("job started", &id) + b.session_messages("job started", &id);
    assert_eq!(runs, 1, "the 7.5 s job ran {runs} times on a 2 s lease");
}

/// After 300 one-row sessions are processed and expire, Redis holds what it held
/// before, within a constant: no per-job (or per-worker) residue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_left_in_redis_once_the_sessions_expire() {
    const SESSIONS: usize = 300;
    let _exclusive = EXCLUSIVE.lock().await;
    let redis = Arc::new(RedisServer::start());
    let (app, logs) = api_only_on(redis.clone(), |s| {
        s.rate_limit_uploads_per_minute = 100_000;
        s.rate_limit_process_per_minute = 100_000;
        s.max_sessions = 10_000;
    })
    .await;
    let env = worker_env(
        &redis.url(),
        app.data_dir(),
        &[
            ("MAPLINK_SESSION_TTL_SECS", "3"),
            ("MAPLINK_HEARTBEAT_INTERVAL_SECS", "1"),
            ("MAPLINK_CLEANUP_INTERVAL_SECS", "1"),
            ("MAPLINK_TOMBSTONE_TTL_SECS", "1"),
            ("MAPLINK_QUEUE_KEEP_DONE_SECS", "1"),
            ("MAPLINK_WORKER_CONCURRENCY", "8"),
        ],
    );
    let worker = start_worker(&env, logs.path());
    let keys = |r: &RedisServer| -> Vec<String> {
        let mut k: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut r.conn()).unwrap();
        k.sort();
        k
    };
    let before = keys(&redis);
    let used_before = used_memory(&redis);
    for i in 0..SESSIONS {
        let csv = format!("Name,Region,Maps\nR{i},B,\"1.5,2.5\"\n");
        upload_and_process_csv(&app, csv).await;
    }
    // Sessions expire while others are still uploaded: count completions in the log.
    eventually(Duration::from_secs(120), "every job completed", || {
        let n = worker.messages_containing("job completed").len();
        async move { (n == SESSIONS).then_some(()) }
    })
    .await;
    // Sessions expire after 3 s idle; cleanup runs every second; done records go after
    // 1 s, trimmed every 10 s. What may remain is a fixed set of keys, whatever the
    // number of jobs: the schedule's recent ticks and the current minute's counters
    // (both expire on their own), the cleanup history and the per-method counts (both
    // bounded), and the empty done-record stream.
    let singletons = [
        "{maplink-convert}:done",
        "{maplink}:cleanups",
        "{maplink}:ops:minute",
        "{maplink}:ops:resolutions",
        "{maplink}:tick:cleanup",
    ];
    let new_keys = |now: &[String]| -> Vec<String> {
        now.iter()
            .filter(|k| !before.contains(k))
            .cloned()
            .collect()
    };
    let stray = |now: &[String]| -> Vec<String> {
        new_keys(now)
            .into_iter()
            .filter(|k| {
                let name = k
                    .trim_end_matches(|c: char| c.is_ascii_digit())
                    .trim_end_matches(':');
                !singletons.contains(&name)
            })
            .collect()
    };
    // Polled by hand (not `eventually`) so that a failure says what was left.
    let deadline = Instant::now() + Duration::from_secs(120);
    let after = loop {
        let now = keys(&redis);
        let done_left: u64 = redis::cmd("XLEN")
            .arg("{maplink-convert}:done")
            .query(&mut redis.conn())
            .unwrap_or(0);
        let left = stray(&now);
        if left.is_empty() && done_left == 0 {
            break now;
        }
        assert!(
            Instant::now() < deadline,
            "Redis not back to its keys from before: {} stray keys (e.g. {:?}), {done_left} done records",
            left.len(),
            &left[..left.len().min(10)]
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let used_after = used_memory(&redis);
    eprintln!(
        "keys before {}, after {} (new: {:?}); used memory before {used_before} B, after {used_after} B",
        before.len(),
        after.len(),
        new_keys(&after)
    );
    assert!(
        new_keys(&after).len() <= singletons.len() + 15,
        "{:?}",
        new_keys(&after)
    );
    assert!(
        used_after < used_before + 2 * 1024 * 1024,
        "Redis memory grew from {used_before} to {used_after} bytes"
    );
    drop(worker);
}

fn used_memory(redis: &RedisServer) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("memory")
        .query(&mut redis.conn())
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("used_memory in INFO")
}

async fn upload_and_process_csv(app: &TestApp, csv: String) -> String {
    let created = app.upload_ok("a.csv", csv.into_bytes()).await;
    let id = created["session_id"].as_str().unwrap().to_owned();
    assert_eq!(app.process(&id).await.status(), 202);
    id
}

/// A stopping worker takes no new job: while it finishes the one it runs, a job queued
/// meanwhile goes to another worker at once (not after a lease lapses), and the
/// running one completes on the stopping worker, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopping_worker_takes_no_new_job() {
    let (redis, app, logs) = api_only().await;
    let env = worker_env(
        &redis.url(),
        app.data_dir(),
        &[
            ("MAPLINK_ROW_DELAY_MS", "150"),
            ("MAPLINK_WORKER_CONCURRENCY", "2"),
            ("MAPLINK_QUEUE_MISSED_HEARTBEATS", "3"),
            ("MAPLINK_SHUTDOWN_TIMEOUT_SECS", "30"),
        ],
    );
    let mut stopping = start_worker(&env, logs.path());
    let first = upload_and_process(&app).await;
    eventually(
        Duration::from_secs(10),
        "the first job to start",
        || async { (stopping.session_messages("job started", &first) == 1).then_some(()) },
    )
    .await;
    stopping.signal("TERM");
    stopping.wait_for_message("shutdown signal received", Duration::from_secs(5));
    let other = start_worker(&env, logs.path());
    let queued = Instant::now();
    let second = upload_and_process(&app).await;
    eventually(
        Duration::from_secs(20),
        "the second job to start",
        || async { (other.session_messages("job started", &second) == 1).then_some(()) },
    )
    .await;
    let pickup = queued.elapsed();
    assert!(
        pickup < Duration::from_secs(3),
        "the second job waited {pickup:?} (a lease is 6 s)"
    );
    assert_eq!(stopping.session_messages("job started", &second), 0);
    app.wait_for_status(&first, "completed", Duration::from_secs(30))
        .await;
    let status = stopping
        .terminate(Duration::from_secs(20))
        .expect("the stopping worker exits");
    assert!(status.success());
    assert_eq!(completed_by(&[&stopping, &other], &first), 1);
    assert_eq!(stopping.session_messages("job completed", &first), 1);
}
