//! Event streams cost bounded resources: open streams are limited per client and per
//! process, a stream with nothing left to follow ends by itself (and in any case after
//! its longest duration), and an open stream does not keep its session alive.

use std::time::Duration;

use maplink::domain::SessionId;
use maplink_tests::{Backend, TestApp, sheets, sse};
use reqwest::Response;
use serde_json::Value;

/// Uploads the worked example and leaves it queued for a run whose job never reached
/// the queue (a request that died between marking the run and queueing its job): a
/// run that stays "queued", so a stream on it has something to wait for, and nothing
/// but reads keeps the session alive.
async fn a_session_waiting_for_a_lost_job(app: &TestApp) -> SessionId {
    let created = app
        .upload_ok("sites.xlsx", sheets::seed_example_xlsx())
        .await;
    let id: SessionId = created["session_id"].as_str().unwrap().parse().unwrap();
    let started = app
        .store()
        .await
        .start_run(id, "a-job-that-was-never-queued", None)
        .await
        .unwrap();
    assert!(
        matches!(started, maplink::session::StartRun::Started(_)),
        "{started:?}"
    );
    id
}

/// Opens the v1 event stream of `id`, as the client at `client` if given (an address
/// the API believes when the test's loopback address is a trusted proxy).
async fn open_stream(app: &TestApp, id: SessionId, client: Option<&str>) -> Response {
    let mut request = app
        .client
        .get(app.url(&format!("/api/v1/sessions/{id}/events")));
    if let Some(client) = client {
        request = request.header("X-Forwarded-For", client);
    }
    request.send().await.expect("GET events")
}

async fn assert_refused(r: Response, status: u16, code: &str) {
    assert_eq!(r.status(), status);
    assert!(r.headers().contains_key("retry-after"), "no Retry-After");
    let body: Value = r.json().await.expect("JSON body");
    assert_eq!(body["code"], code, "{body}");
    assert!(body["error"].is_string(), "{body}");
}

/// Reads a stream to its end, which must come within `within`.
async fn read_to_end(r: Response, within: Duration) -> Vec<sse::SseMessage> {
    assert_eq!(r.status(), 200);
    tokio::time::timeout(within, sse::read(r, |_| false))
        .await
        .expect("the stream ends by itself")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_over_its_share_of_open_streams_gets_429_and_others_are_served() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.max_event_streams_per_client = 2;
        s.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await;
    let id = a_session_waiting_for_a_lost_job(&app).await;

    let first = open_stream(&app, id, Some("203.0.113.7")).await;
    let second = open_stream(&app, id, Some("203.0.113.7")).await;
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 200)
    );

    assert_refused(
        open_stream(&app, id, Some("203.0.113.7")).await,
        429,
        "too_many_streams",
    )
    .await;
    let compat = app
        .client
        .get(app.url(&format!("/process-stream/{id}")))
        .header("X-Forwarded-For", "203.0.113.7")
        .send()
        .await
        .unwrap();
    assert_refused(compat, 429, "too_many_streams").await;
    assert_eq!(
        open_stream(&app, id, Some("203.0.113.8")).await.status(),
        200,
        "another client has its own share"
    );

    // A client that closes a stream gets its place back.
    drop(first);
    maplink_tests::eventually(Duration::from_secs(20), "a freed stream slot", || async {
        let r = open_stream(&app, id, Some("203.0.113.7")).await;
        (r.status() == 200).then_some(r)
    })
    .await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_over_its_open_streams_answers_503() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.max_event_streams = 2;
        s.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await;
    let id = a_session_waiting_for_a_lost_job(&app).await;
    let _a = open_stream(&app, id, Some("203.0.113.1")).await;
    let _b = open_stream(&app, id, Some("203.0.113.2")).await;
    assert_eq!((_a.status().as_u16(), _b.status().as_u16()), (200, 200));
    assert_refused(
        open_stream(&app, id, Some("203.0.113.3")).await,
        503,
        "streams_full",
    )
    .await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_on_an_idle_session_sends_what_there_is_and_ends() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let created = app
        .upload_ok("sites.xlsx", sheets::seed_example_xlsx())
        .await;
    let id: SessionId = created["session_id"].as_str().unwrap().parse().unwrap();

    // Never processed: nothing to send.
    let events = read_to_end(open_stream(&app, id, None).await, Duration::from_secs(5)).await;
    assert!(events.is_empty(), "{events:?}");

    // Completed: the whole run, then the end.
    app.process(&id.to_string()).await;
    app.wait_for_status(&id.to_string(), "completed", Duration::from_secs(20))
        .await;
    let events = read_to_end(open_stream(&app, id, None).await, Duration::from_secs(5)).await;
    assert_eq!(events.first().unwrap().data["type"], "start");
    assert_eq!(events.last().unwrap().data["type"], "complete");

    // Resumed after the last event: nothing new, so it ends at once.
    let last = events.last().unwrap().id.clone().unwrap();
    let r = app
        .client
        .get(app.url(&format!("/api/v1/sessions/{id}/events")))
        .header("Last-Event-ID", last)
        .send()
        .await
        .unwrap();
    let rest = read_to_end(r, Duration::from_secs(5)).await;
    assert!(rest.is_empty(), "{rest:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_stream_does_not_keep_its_session_alive() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.session_ttl_secs = 6;
        s.heartbeat_interval_secs = 1;
        s.cleanup_interval_secs = 1;
    })
    .await;
    let id = a_session_waiting_for_a_lost_job(&app).await;

    // The stream waits for a run that never comes; the session expires under it and
    // the stream says so, then ends.
    let events = read_to_end(open_stream(&app, id, None).await, Duration::from_secs(30)).await;
    let last = events.last().expect("an event telling the session is gone");
    assert_eq!(last.data["type"], "error", "{:?}", last.data);
    let r = app.session(&id.to_string()).await;
    assert_eq!(r.status(), 404);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "session_expired", "{body}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_ends_after_its_longest_duration() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.event_stream_max_secs = 1).await;
    let id = a_session_waiting_for_a_lost_job(&app).await;
    let events = read_to_end(open_stream(&app, id, None).await, Duration::from_secs(10)).await;
    assert!(events.is_empty(), "{events:?}");
    app.stop().await;
}
