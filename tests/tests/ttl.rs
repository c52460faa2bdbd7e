//! The sliding TTL: idle sessions expire with their files; running jobs keep theirs.

use std::time::Duration;

use maplink::domain::{SessionId, SessionStatus};
use maplink_tests::{Backend, TestApp, eventually, sheets};
use serde_json::Value;

fn short_ttl(s: &mut maplink::config::Settings) {
    s.session_ttl_secs = 2;
    s.cleanup_interval_secs = 1;
    s.heartbeat_interval_secs = 1;
}

/// The default two-hour TTL, swept every second: tests pass the TTL by moving the
/// app's clock ahead, not by waiting.
fn sweep_every_second(s: &mut maplink::config::Settings) {
    s.cleanup_interval_secs = 1;
}

async fn idle_session_expires_with_its_files(backend: Backend) {
    let app = TestApp::spawn_with(backend, sweep_every_second).await;
    let ttl = app.settings.sessions().ttl;
    assert_eq!(ttl, Duration::from_secs(7200));
    let store = app.store().await;
    let created = app.upload_ok("a.xlsx", sheets::seed_example_xlsx()).await;
    let id = created["session_id"].as_str().unwrap().to_owned();
    let sid: SessionId = id.parse().unwrap();
    assert!(app.files.session_dir(sid).exists());

    // A minute short of the TTL the session stays.
    app.clock.advance(ttl - Duration::from_secs(60));
    let kept = store.get(sid).await.unwrap().expect("kept before its TTL");
    assert_eq!(kept.status, SessionStatus::Uploaded);
    app.clock.advance(Duration::from_secs(61));
    eventually(
        Duration::from_secs(8),
        "the idle session to be cleaned up",
        || async {
            (store.get(sid).await.unwrap().is_none() && !app.files.session_dir(sid).exists())
                .then_some(())
        },
    )
    .await;

    let r = app.session(&id).await;
    assert_eq!(r.status(), 404);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "session_expired");
    assert_eq!(
        body["error"],
        "Invalid session ID. Your session may have expired. Please upload the file again."
    );
    assert!(body["idle_minutes"].as_f64().unwrap() >= 120.0, "{body}");

    let history = app.ops().await.recent_cleanups(10).await.unwrap();
    let entry = history
        .iter()
        .flat_map(|r| &r.sessions)
        .find(|s| s.id == sid)
        .expect("cleanup recorded");
    assert!(entry.age_ms >= 7_200_000, "age {}", entry.age_ms);
    assert_eq!(entry.status, SessionStatus::Uploaded);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_session_expires_with_its_files_on_sqlite() {
    idle_session_expires_with_its_files(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_session_expires_with_its_files_on_redis() {
    idle_session_expires_with_its_files(Backend::Redis).await;
}

/// A job three times longer than the TTL: the heartbeat keeps the session alive while
/// nobody reads it, and the job completes.
async fn long_job_outlives_the_ttl(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        short_ttl(s);
        s.row_delay_ms = 220; // 30 rows ≈ 6.6 s ≥ 3 × TTL
    })
    .await;
    let store = app.store().await;
    let created = app.upload_ok("a.xlsx", sheets::seed_example_xlsx()).await;
    let id = created["session_id"].as_str().unwrap().to_owned();
    let sid: SessionId = id.parse().unwrap();
    let started = std::time::Instant::now();
    assert_eq!(app.process(&id).await.status(), 202);

    // Watch through the store (no touch): the session must exist at every look.
    let mut progress_seen = Vec::new();
    let done = loop {
        let s = store
            .get(sid)
            .await
            .unwrap()
            .expect("the session expired while its job ran");
        progress_seen.push(s.progress);
        if s.status == SessionStatus::Completed {
            break s;
        }
        assert_ne!(s.status, SessionStatus::Failed, "{s:?}");
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "job did not finish"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        started.elapsed() >= Duration::from_secs(6),
        "the job was not longer than 3 × TTL"
    );
    assert_eq!(
        (
            done.counts.successful,
            done.counts.failed,
            done.counts.skipped
        ),
        (26, 2, 2)
    );
    assert!(
        progress_seen.iter().any(|p| *p > 0 && *p < 30),
        "progress is reported while the job runs: {progress_seen:?}"
    );
    assert!(app.download(&id).await.status().is_success());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_job_outlives_the_ttl_on_sqlite() {
    long_job_outlives_the_ttl(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_job_outlives_the_ttl_on_redis() {
    long_job_outlives_the_ttl(Backend::Redis).await;
}

/// Deleting a session while its job runs stops the job; nothing is written back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_running_session_cancels_its_job() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.heartbeat_interval_secs = 1;
        s.row_delay_ms = 200;
    })
    .await;
    let store = app.store().await;
    let created = app.upload_ok("a.xlsx", sheets::seed_example_xlsx()).await;
    let id = created["session_id"].as_str().unwrap().to_owned();
    let sid: SessionId = id.parse().unwrap();
    app.process(&id).await;
    eventually(Duration::from_secs(5), "the job to start", || async {
        (store.get(sid).await.unwrap()?.progress > 0).then_some(())
    })
    .await;
    let r = app.delete(&id).await;
    assert_eq!(r.status(), 204);
    // Give the heartbeat time to notice and the job time to (not) write anything.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(store.get(sid).await.unwrap().is_none());
    assert!(
        !app.files.session_dir(sid).exists(),
        "the cancelled job wrote files back"
    );
    app.stop().await;
}

/// A session waiting in a backlog longer than its TTL is not expired while its job is
/// still on the queue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_session_survives_a_backlog_longer_than_the_ttl() {
    let redis = std::sync::Arc::new(maplink_tests::RedisServer::start());
    // An API with no workers: the job stays on the queue.
    let app = TestApp::spawn_on(Some(redis.clone()), false, sweep_every_second).await;
    let created = app.upload_ok("a.xlsx", sheets::seed_example_xlsx()).await;
    let id = created["session_id"].as_str().unwrap().to_owned();
    let sid: SessionId = id.parse().unwrap();
    assert_eq!(app.process(&id).await.status(), 202);
    // A session nobody uses, to see a sweep happen.
    let idle = app.upload_ok("b.xlsx", sheets::seed_example_xlsx()).await;
    let idle: SessionId = idle["session_id"].as_str().unwrap().parse().unwrap();
    // A worker process that only runs the cleanup schedule, on the app's clock.
    let cleaner =
        maplink_worker::Application::build_with_clock(app.settings.clone(), app.clock.clone())
            .await
            .unwrap()
            .with_roles(maplink_worker::runtime::Roles {
                convert: false,
                cleanup: true,
            });
    let (trigger, shutdown) = maplink::shutdown::Shutdown::new();
    let cleaner = tokio::spawn(cleaner.run_until_stopped(shutdown));

    let store = app.store().await;
    // Three TTLs without anyone looking; the sweep that removes the idle session
    // looks at the queued one too.
    app.clock.advance(app.settings.sessions().ttl * 3);
    eventually(Duration::from_secs(8), "a sweep", || async {
        store.get(idle).await.unwrap().is_none().then_some(())
    })
    .await;
    let s = store
        .get(sid)
        .await
        .unwrap()
        .expect("the queued session was expired");
    assert_eq!(s.status, SessionStatus::Queued);
    assert!(app.files.session_dir(sid).exists());
    trigger.trigger();
    let _ = cleaner.await;
    app.stop().await;
}
