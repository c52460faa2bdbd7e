//! The API while its Redis is down: every request that needs the store fails fast
//! with the JSON 503, readiness says so just as fast, and the API recovers by itself
//! once Redis is back.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use maplink_tests::{RedisServer, TestApp, eventually, sheets};
use reqwest::Response;
use serde_json::Value;

/// The most a request may take to answer 503 while Redis is down.
const FAIL_FAST: Duration = Duration::from_secs(1);

/// Runs `request`, asserting that it answers the JSON 503 within [`FAIL_FAST`].
async fn assert_fast_503<F>(what: &str, request: F)
where
    F: std::future::Future<Output = Response>,
{
    let started = Instant::now();
    let r = request.await;
    let took = started.elapsed();
    let status = r.status();
    let retry_after = r.headers().get("retry-after").cloned();
    let body: Value = r
        .json()
        .await
        .unwrap_or_else(|e| panic!("{what}: not JSON: {e}"));
    assert_eq!(status, 503, "{what}: {body}");
    assert!(
        took < FAIL_FAST,
        "{what} took {took:?} to answer 503 (at most {FAIL_FAST:?})"
    );
    assert_eq!(body["code"], "unavailable", "{what}: {body}");
    assert!(body["error"].is_string(), "{what}: {body}");
    assert!(retry_after.is_some(), "{what}: 503 without Retry-After");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_down_requests_fail_fast_and_the_api_recovers_when_it_returns() {
    // Arrange: an API (no in-process workers: this is about the API) on a Redis that
    // keeps its data across a restart, and one session.
    let redis = Arc::new(RedisServer::start_persistent());
    let app = TestApp::spawn_on(Some(redis.clone()), false, |_| {}).await;
    let created = app
        .upload_ok("sites.xlsx", sheets::seed_example_xlsx())
        .await;
    let id = created["session_id"].as_str().unwrap().to_owned();

    // Act: Redis dies.
    redis.kill9();

    // Assert: readiness, session reads and uploads answer 503 quickly, more than once
    // (the first request after the kill and the ones after it, which find no
    // connection at all).
    for _ in 0..2 {
        assert_fast_503("GET /readyz", app.get("/readyz")).await;
        assert_fast_503("GET /api/v1/sessions/{id}", app.session(&id)).await;
        assert_fast_503(
            "POST /api/v1/sessions",
            app.upload("sites.xlsx", sheets::seed_example_xlsx()),
        )
        .await;
    }

    // Act: Redis comes back on the same port, with its data.
    redis.restart();

    // Assert: the same API process is ready again and serves the session.
    eventually(Duration::from_secs(10), "readyz to answer 200", || async {
        (app.get("/readyz").await.status() == 200).then_some(())
    })
    .await;
    let r = app.session(&id).await;
    assert_eq!(r.status(), 200);
    let session: Value = r.json().await.unwrap();
    assert_eq!(session["session_id"], id.as_str(), "{session}");
    app.upload_ok("sites.xlsx", sheets::seed_example_xlsx())
        .await;
    app.stop().await;
}
