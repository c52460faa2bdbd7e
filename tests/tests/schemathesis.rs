//! Schemathesis over `/api/v1/openapi.json` against the real API: no server errors, and
//! every status code, content type, header and body as the document describes it.
//!
//! Rate limits are raised far above what a run sends, so that a 429 never stands in
//! for the answer under test (the limits themselves are tested in `access.rs`).

use std::time::Duration;

use maplink::config::Settings;
use maplink_tests::{
    Backend, TestApp,
    schemathesis::{Run, SeededSessions, Tokens},
    sheets::seed_example_xlsx,
};
use reqwest::multipart;
use serde_json::Value;

const SUBMITTER_TOKEN: &str = "submitter-token-0123456789";
const OPS_TOKEN: &str = "ops-token-0123456789abcdef";

fn generous_rate_limits(s: &mut Settings) {
    s.rate_limit_uploads_per_minute = 1_000_000;
    s.rate_limit_process_per_minute = 1_000_000;
}

/// A request to `app`, with the submitter token when there is one.
fn request(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
) -> reqwest::RequestBuilder {
    let r = app.client.request(method, app.url(path));
    match token {
        Some(t) => r.bearer_auth(t),
        None => r,
    }
}

async fn upload_example(app: &TestApp, token: Option<&str>) -> String {
    let part = multipart::Part::bytes(seed_example_xlsx()).file_name("stores.xlsx");
    let r = request(app, reqwest::Method::POST, "/api/v1/sessions", token)
        .multipart(multipart::Form::new().part("file", part))
        .send()
        .await
        .expect("upload");
    assert_eq!(r.status(), 201);
    let body: Value = r.json().await.expect("json");
    body["session_id"].as_str().expect("session_id").to_owned()
}

/// The worked example three times: one processed to completion, one left uploaded,
/// one for `DELETE`.
async fn seed_sessions(app: &TestApp, token: Option<&str>) -> SeededSessions {
    let completed = upload_example(app, token).await;
    let r = request(
        app,
        reqwest::Method::POST,
        &format!("/api/v1/sessions/{completed}/process"),
        token,
    )
    .send()
    .await
    .expect("process");
    assert_eq!(r.status(), 202);
    maplink_tests::eventually(Duration::from_secs(60), "the example to complete", || {
        let r = request(
            app,
            reqwest::Method::GET,
            &format!("/api/v1/sessions/{completed}"),
            token,
        );
        async move {
            let v: Value = r.send().await.ok()?.json().await.ok()?;
            assert_ne!(v["status"], "failed", "{v}");
            (v["status"] == "completed").then_some(())
        }
    })
    .await;
    SeededSessions {
        completed,
        uploaded: upload_example(app, token).await,
        doomed: upload_example(app, token).await,
    }
}

fn assert_passed(result: Result<String, String>) {
    match result {
        Ok(output) => eprintln!("{output}"),
        Err(output) => panic!("schemathesis found problems:\n{output}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_or_undocumented_answer_in_embedded_mode() {
    let app = TestApp::spawn_with(Backend::Sqlite, generous_rate_limits).await;
    let sessions = seed_sessions(&app, None).await;

    let run = Run {
        sessions,
        tokens: None,
        store_down: false,
    };
    assert_passed(run.against(&app.url("")).await);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_or_undocumented_answer_on_redis_with_tokens() {
    let app = TestApp::spawn_with(Backend::Redis, |s| {
        generous_rate_limits(s);
        s.submitter_tokens = vec![SUBMITTER_TOKEN.to_owned()];
        s.ops_token = Some(OPS_TOKEN.to_owned());
    })
    .await;
    let sessions = seed_sessions(&app, Some(SUBMITTER_TOKEN)).await;

    // With the tokens: the session routes as their owner sees them, the ops data as an
    // operator does.
    let with_tokens = Run {
        sessions: sessions.clone(),
        tokens: Some(Tokens {
            submitter: SUBMITTER_TOKEN.to_owned(),
            ops: OPS_TOKEN.to_owned(),
        }),
        store_down: false,
    };
    assert_passed(with_tokens.against(&app.url("")).await);

    // Without: every refusal (401) as documented too.
    let without_tokens = Run {
        sessions,
        tokens: None,
        store_down: false,
    };
    assert_passed(without_tokens.against(&app.url("")).await);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_every_answer_documented_while_the_store_is_down() {
    let app = TestApp::spawn_with(Backend::Redis, generous_rate_limits).await;
    let sessions = seed_sessions(&app, None).await;
    let redis = app.redis.clone().expect("redis");

    // Every route that needs the store now answers 503 with Retry-After.
    redis.kill9();
    let run = Run {
        sessions,
        tokens: None,
        store_down: true,
    };
    let result = run.against(&app.url("")).await;
    redis.restart();
    assert_passed(result);
    app.stop().await;
}
