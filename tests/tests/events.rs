//! The session event log: one suite on both stores, and the events a real job emits.

use std::{sync::Arc, time::Duration};

use maplink::{
    domain::SessionId,
    events::{
        EventKind, EventLog, MAX_EVENT_BYTES, MAX_EVENT_LOG_BYTES, MAX_EVENTS_PER_SESSION,
        MAX_TEXT_CHARS, RedisEventLog, SqliteEventLog, payload,
    },
    session::open_pool,
};
use maplink_tests::{Backend, RedisServer, TestApp, sheets};
use serde_json::json;

async fn log_suite(log: Arc<dyn EventLog>) {
    let a = SessionId::random();
    let b = SessionId::random();
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(
            log.append(
                a,
                EventKind::Progress,
                &payload(EventKind::Progress, json!({"row": i})),
            )
            .await
            .unwrap(),
        );
    }
    log.append(b, EventKind::Start, &payload(EventKind::Start, json!({})))
        .await
        .unwrap();

    let all = log.read_after(a, None, 100).await.unwrap();
    assert_eq!(all.iter().map(|e| e.id.clone()).collect::<Vec<_>>(), ids);
    assert_eq!(all[1].data, json!({"type": "progress", "row": 1}));
    assert_eq!(all[0].kind, EventKind::Progress);

    let rest = log.read_after(a, Some(&ids[0]), 100).await.unwrap();
    assert_eq!(
        rest.iter()
            .map(|e| e.data["row"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        [1, 2],
        "resumes strictly after the given id"
    );
    assert!(
        log.read_after(a, Some(&ids[2]), 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        log.read_after(a, Some("not-an-id"), 100)
            .await
            .unwrap()
            .len(),
        3,
        "a malformed id reads from the start"
    );
    assert_eq!(log.read_after(a, None, 2).await.unwrap().len(), 2, "limit");

    log.delete(a).await.unwrap();
    assert!(log.read_after(a, None, 100).await.unwrap().is_empty());
    assert_eq!(
        log.read_after(b, None, 100).await.unwrap().len(),
        1,
        "other sessions untouched"
    );
}

#[tokio::test]
async fn event_log_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let pool = open_pool(&dir.path().join("e.db")).await.unwrap();
    log_suite(Arc::new(SqliteEventLog::open(pool).await.unwrap())).await;
}

#[tokio::test]
async fn event_log_on_redis() {
    let redis = RedisServer::start();
    log_suite(Arc::new(RedisEventLog::new(redis.async_conn().await))).await;
}

async fn a_job_tells_its_story(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let created = app
        .upload_ok("sites.xlsx", sheets::seed_example_xlsx())
        .await;
    let id = created["session_id"].as_str().unwrap().to_owned();
    app.process(&id).await;
    app.wait_for_status(&id, "completed", Duration::from_secs(20))
        .await;

    let log = app.events().await;
    let events = log
        .read_after(id.parse().unwrap(), None, 1000)
        .await
        .unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds.first(), Some(&"start"), "{kinds:?}");
    assert_eq!(
        events[0].data,
        json!({"type": "start", "total": 30, "filename": "sites.xlsx", "run": 1})
    );
    let complete = events
        .iter()
        .find(|e| e.kind == EventKind::Complete)
        .expect("complete event");
    assert_eq!(
        complete.data,
        json!({"type": "complete", "total_rows": 30, "successful": 26, "failed": 2, "skipped": 2, "run": 1})
    );
    let last_progress = events
        .iter()
        .rev()
        .find(|e| e.kind == EventKind::Progress)
        .expect("progress events");
    assert_eq!(
        (
            last_progress.data["row"].clone(),
            last_progress.data["percent"].clone()
        ),
        (json!(30), json!(100.0))
    );
    let warnings: Vec<&str> = events
        .iter()
        .filter(|e| e.kind == EventKind::Log && e.data["level"] == "warning")
        .map(|e| e.data["message"].as_str().unwrap())
        .collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[0].starts_with("Row 5 (Bloemfontein (Central)): Failed after 1 attempt: "),
        "{}",
        warnings[0]
    );
    assert_eq!(
        events.last().unwrap().kind,
        EventKind::Complete,
        "complete comes last"
    );
    let success = &events[events.len() - 2];
    assert_eq!(
        (success.kind, success.data["level"].as_str()),
        (EventKind::Log, Some("success"))
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_tells_its_story_on_sqlite() {
    a_job_tells_its_story(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_tells_its_story_on_redis() {
    a_job_tells_its_story(Backend::Redis).await;
}

/// Several jobs, each watched by a poller that reads the session's status (without
/// refreshing it) as fast as the store answers: the moment the status reads an end,
/// the log must already hold that run's ending.
async fn the_ending_is_logged_before_the_status_tells_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let store = app.store().await;
    let log = app.events().await;
    let mut ids: Vec<SessionId> = Vec::new();
    for _ in 0..4 {
        let created = app
            .upload_ok("sites.xlsx", sheets::seed_example_xlsx())
            .await;
        ids.push(created["session_id"].as_str().unwrap().parse().unwrap());
    }
    for run in 1..=2u64 {
        for id in &ids {
            let r = app.process(&id.to_string()).await;
            assert_eq!(r.status(), 202, "run {run}");
        }
        let watchers = ids.iter().map(|&id| {
            let (store, log) = (store.clone(), log.clone());
            async move {
                loop {
                    let session = store.get(id).await.unwrap().expect("session");
                    if session.status.is_active() {
                        tokio::task::yield_now().await;
                        continue;
                    }
                    let events = log.read_after(id, None, 10_000).await.unwrap();
                    let ending = events.iter().rev().find(|e| e.kind.is_final());
                    let ending = ending.unwrap_or_else(|| {
                        panic!(
                            "session {id} reads {:?} but its log has no ending",
                            session.status
                        )
                    });
                    assert_eq!(
                        (ending.kind, ending.data["run"].as_u64()),
                        (EventKind::Complete, Some(run)),
                        "session {id} reads {:?}: {:?}",
                        session.status,
                        ending.data
                    );
                    return;
                }
            }
        });
        tokio::time::timeout(Duration::from_secs(30), futures::future::join_all(watchers))
            .await
            .expect("every run ends");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ending_is_logged_before_the_status_tells_it_on_sqlite() {
    the_ending_is_logged_before_the_status_tells_it(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ending_is_logged_before_the_status_tells_it_on_redis() {
    the_ending_is_logged_before_the_status_tells_it(Backend::Redis).await;
}

/// A sheet of long names (four-byte characters) and long links that do not parse,
/// processed eight times (more events than a log keeps): the session's event log stays
/// within its byte budget, no
/// text in it is longer than the limit, and the failed rows of a run are reported up
/// to a limit, then summarised. Returns the app and the session for store-specific
/// measurements.
async fn a_huge_sheet_leaves_a_bounded_event_log(backend: Backend) -> (TestApp, SessionId) {
    let rows = 300;
    let mut sheet = vec![vec![
        "Name".to_owned(),
        "Region".to_owned(),
        "Maps link".to_owned(),
    ]];
    for i in 0..rows {
        sheet.push(vec![
            format!("{i} {}", "🗺".repeat(3_000)),
            "Gauteng".to_owned(),
            format!("not a valid url {i} {}", "x".repeat(2_000)),
        ]);
    }
    let app = TestApp::spawn(backend).await;
    let created = app
        .upload_ok("huge.xlsx", sheets::xlsx_named("Sites", &sheet))
        .await;
    let id_text = created["session_id"].as_str().unwrap().to_owned();
    for _ in 0..8 {
        assert_eq!(app.process(&id_text).await.status(), 202);
        app.wait_for_status(&id_text, "completed", Duration::from_secs(120))
            .await;
    }

    let id: SessionId = id_text.parse().unwrap();
    let events = app
        .events()
        .await
        .read_after(id, None, 100_000)
        .await
        .unwrap();
    let payload_bytes: usize = events.iter().map(|e| e.data.to_string().len()).sum();
    assert!(
        events.len() <= MAX_EVENTS_PER_SESSION,
        "{} events kept",
        events.len()
    );
    assert!(
        payload_bytes <= MAX_EVENT_LOG_BYTES,
        "{payload_bytes} bytes of events kept"
    );
    for e in &events {
        let data = e.data.to_string();
        assert!(
            data.len() <= MAX_EVENT_BYTES,
            "{} bytes: {data}",
            data.len()
        );
        for text in e
            .data
            .as_object()
            .unwrap()
            .values()
            .filter_map(|v| v.as_str())
        {
            assert!(text.chars().count() <= MAX_TEXT_CHARS, "{text}");
        }
    }
    let last_run = &events[events
        .iter()
        .rposition(|e| e.kind == EventKind::Start)
        .expect("the last run's start is kept")..];
    let count = |kind| last_run.iter().filter(|e| e.kind == kind).count();
    let warnings: Vec<&str> = last_run
        .iter()
        .filter(|e| e.kind == EventKind::Log && e.data["level"] == "warning")
        .map(|e| e.data["message"].as_str().unwrap())
        .collect();
    assert_eq!(warnings.len(), 101, "100 failed rows, then a summary");
    assert!(
        warnings[0].starts_with("Row 1 (0 🗺") && warnings[0].contains("…): Failed"),
        "{}",
        warnings[0]
    );
    assert!(
        warnings[100].contains("200 more failed rows"),
        "{}",
        warnings[100]
    );
    assert!(
        count(EventKind::Progress) <= 102,
        "{}",
        count(EventKind::Progress)
    );
    assert_eq!(last_run.last().unwrap().kind, EventKind::Complete);
    (app, id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_sheet_leaves_a_bounded_event_log_on_sqlite() {
    let (app, _) = a_huge_sheet_leaves_a_bounded_event_log(Backend::Sqlite).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_sheet_leaves_a_bounded_event_log_on_redis() {
    let (app, id) = a_huge_sheet_leaves_a_bounded_event_log(Backend::Redis).await;
    // What Redis itself spends on the stream, every entry counted.
    let memory: usize = redis::cmd("MEMORY")
        .arg("USAGE")
        .arg(format!("{{maplink}}:events:{id}"))
        .arg("SAMPLES")
        .arg(0)
        .query(&mut app.redis.as_ref().unwrap().conn())
        .unwrap();
    assert!(
        memory <= MAX_EVENT_LOG_BYTES,
        "the stream takes {memory} bytes in Redis"
    );
    app.stop().await;
}
