//! The dead list for operators (`/api/v1/ops/dead-jobs` and the `/ops` panel): a job
//! given up is listed with its attempts and error, can be retried once its cause is
//! fixed (the session then completes) or deleted, and only with the ops token.

use std::time::Duration;

use maplink::{
    domain::{FileFormat, SessionId},
    files::SessionFile,
};
use maplink_tests::{
    Backend, TestApp,
    browser::{Browser, artifact},
    eventually, sheets,
};
use reqwest::{Method, StatusCode};
use serde_json::Value;

const OPS_TOKEN: &str = "ops-token-for-the-dead-list";
const SUBMITTER_TOKEN: &str = "submitter-token-for-the-dead-list";
const WAIT: Duration = Duration::from_secs(30);

/// One attempt per job, so that a failing job goes straight to the dead list.
async fn spawn(backend: Backend) -> TestApp {
    TestApp::spawn_with(backend, |s| {
        s.job_max_attempts = 1;
        s.ops_token = Some(OPS_TOKEN.into());
    })
    .await
}

/// An operator's request with the token; actions (POST, DELETE) declared JSON, as the
/// API asks of them.
async fn ops(app: &TestApp, method: Method, path: &str) -> reqwest::Response {
    let mut req = app
        .client
        .request(method.clone(), app.url(path))
        .bearer_auth(OPS_TOKEN);
    if method != Method::GET {
        req = req.header("content-type", "application/json");
    }
    req.send().await.expect("ops request")
}

/// `POST /api/v1/ops/dead-jobs/{task_id}/retry` as an operator.
async fn retry(app: &TestApp, task_id: &str) -> reqwest::Response {
    ops(
        app,
        Method::POST,
        &format!("/api/v1/ops/dead-jobs/{task_id}/retry"),
    )
    .await
}

/// The handle the dead list shows for session `id`.
fn handle(id: &str) -> String {
    id.parse::<SessionId>().unwrap().handle()
}

async fn dead_list(app: &TestApp) -> Value {
    let r = ops(app, Method::GET, "/api/v1/ops/dead-jobs").await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

/// The listed dead job of session `id`, once it is there.
async fn dead_job_of(app: &TestApp, id: &str) -> Value {
    eventually(WAIT, "the job in the dead list", || async {
        dead_list(app).await["dead_jobs"]
            .as_array()?
            .iter()
            .find(|j| j["session"] == handle(id).as_str())
            .cloned()
    })
    .await
}

fn input(id: &str) -> (SessionId, SessionFile) {
    (id.parse().unwrap(), SessionFile::Input(FileFormat::Xlsx))
}

/// A session whose job was given up: its stored upload is taken away before it runs,
/// so the run fails and, with one attempt allowed, goes to the dead list. Returns the
/// session id and the dead job's task id.
async fn a_session_with_a_dead_job(app: &TestApp) -> (String, String) {
    let created = app.upload_ok("a.xlsx", sheets::seed_example_xlsx()).await;
    let id = created["session_id"].as_str().unwrap().to_owned();
    let (sid, file) = input(&id);
    app.files.remove_file(sid, file).await.unwrap();
    assert_eq!(app.process(&id).await.status(), StatusCode::ACCEPTED);
    app.wait_for_status(&id, "failed", WAIT).await;
    let job = dead_job_of(app, &id).await;
    (id, job["task_id"].as_str().unwrap().to_owned())
}

/// Puts the session's stored upload back: the cause of the failure is gone.
async fn fix(app: &TestApp, id: &str) {
    let (sid, file) = input(id);
    app.files
        .write(sid, file, sheets::seed_example_xlsx())
        .await
        .unwrap();
}

async fn assert_error(r: reqwest::Response, status: StatusCode, code: &str) {
    assert_eq!(r.status(), status, "expected {code}");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert!(!body["error"].as_str().unwrap().is_empty(), "{body}");
}

async fn a_dead_job_is_listed_and_once_fixed_a_retry_completes_its_session(backend: Backend) {
    let app = spawn(backend).await;
    let (id, task_id) = a_session_with_a_dead_job(&app).await;

    let list = dead_list(&app).await;
    assert_eq!(list["count"], 1, "{list}");
    let job = &list["dead_jobs"][0];
    assert_eq!(job["task_id"], task_id.as_str());
    assert_eq!(job["session"], handle(&id).as_str());
    assert!(
        !list.to_string().contains(&id),
        "the dead list never shows a session id: {list}"
    );
    assert_eq!(job["run"], 1);
    assert_eq!(job["attempts"], 1);
    let error = job["error"].as_str().unwrap();
    assert!(
        error.starts_with("Processing failed after 1 attempts"),
        "{error}"
    );
    chrono::DateTime::parse_from_rfc3339(job["died_at"].as_str().unwrap()).unwrap();
    let stats: Value = ops(&app, Method::GET, "/api/v1/ops/stats")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stats["queue"]["dead"], 1, "{stats}");
    assert!(
        stats["queue"]["oldest_pending_seconds"].is_number(),
        "{stats}"
    );

    fix(&app, &id).await;
    let r = retry(&app, &task_id).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let retried: Value = r.json().await.unwrap();
    assert_eq!(retried["session"], handle(&id).as_str());
    assert!(!retried.to_string().contains(&id), "{retried}");
    assert_eq!(retried["status"], "queued");
    assert_ne!(retried["task_id"], task_id.as_str(), "a retry is a new run");

    let done = app.wait_for_status(&id, "completed", WAIT).await;
    assert_eq!(done["attempt"], 2);
    let list = dead_list(&app).await;
    assert_eq!(list["dead_jobs"], serde_json::json!([]));
    assert_eq!(list["count"], 0);
    // The job left the dead list when it was retried: a second retry finds nothing.
    let again = retry(&app, &task_id).await;
    assert_error(again, StatusCode::NOT_FOUND, "dead_job_not_found").await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_job_is_listed_and_once_fixed_a_retry_completes_its_session_on_sqlite() {
    a_dead_job_is_listed_and_once_fixed_a_retry_completes_its_session(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_job_is_listed_and_once_fixed_a_retry_completes_its_session_on_redis() {
    a_dead_job_is_listed_and_once_fixed_a_retry_completes_its_session(Backend::Redis).await;
}

async fn unknown_task_ids_are_a_404_and_a_deleted_dead_job_is_gone(backend: Backend) {
    let app = spawn(backend).await;
    for (method, path) in [
        (Method::POST, "/api/v1/ops/dead-jobs/no-such-task/retry"),
        (Method::DELETE, "/api/v1/ops/dead-jobs/no-such-task"),
    ] {
        assert_error(
            ops(&app, method, path).await,
            StatusCode::NOT_FOUND,
            "dead_job_not_found",
        )
        .await;
    }

    let (_, task_id) = a_session_with_a_dead_job(&app).await;
    let path = format!("/api/v1/ops/dead-jobs/{task_id}");
    let r = ops(&app, Method::DELETE, &path).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(dead_list(&app).await["count"], 0);
    assert!(app.queue().await.store().dead(10).await.unwrap().is_empty());
    assert_error(
        ops(&app, Method::DELETE, &path).await,
        StatusCode::NOT_FOUND,
        "dead_job_not_found",
    )
    .await;
    assert_error(
        ops(&app, Method::POST, &format!("{path}/retry")).await,
        StatusCode::NOT_FOUND,
        "dead_job_not_found",
    )
    .await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_task_ids_are_a_404_and_a_deleted_dead_job_is_gone_on_sqlite() {
    unknown_task_ids_are_a_404_and_a_deleted_dead_job_is_gone(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_task_ids_are_a_404_and_a_deleted_dead_job_is_gone_on_redis() {
    unknown_task_ids_are_a_404_and_a_deleted_dead_job_is_gone(Backend::Redis).await;
}

async fn a_retry_is_refused_while_the_session_is_busy_or_once_it_is_gone(backend: Backend) {
    let app = spawn(backend).await;
    let (id, task_id) = a_session_with_a_dead_job(&app).await;
    let retry = format!("/api/v1/ops/dead-jobs/{task_id}/retry");

    // Another run is queued (its job id is on no queue, so nothing will take it).
    let sessions = app.store().await;
    let busy = sessions
        .start_run(id.parse().unwrap(), "a-run-started-elsewhere", None)
        .await
        .unwrap();
    assert!(matches!(busy, maplink::session::StartRun::Started(_)));
    assert_error(
        ops(&app, Method::POST, &retry).await,
        StatusCode::CONFLICT,
        "session_busy",
    )
    .await;

    assert_eq!(app.delete(&id).await.status(), StatusCode::NO_CONTENT);
    assert_error(
        ops(&app, Method::POST, &retry).await,
        StatusCode::CONFLICT,
        "session_gone",
    )
    .await;
    // Refused retries leave the job where it was, for the operator to delete.
    assert_eq!(dead_list(&app).await["dead_jobs"][0]["task_id"], task_id);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_is_refused_while_the_session_is_busy_or_once_it_is_gone_on_sqlite() {
    a_retry_is_refused_while_the_session_is_busy_or_once_it_is_gone(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_is_refused_while_the_session_is_busy_or_once_it_is_gone_on_redis() {
    a_retry_is_refused_while_the_session_is_busy_or_once_it_is_gone(Backend::Redis).await;
}

async fn retry_all_queues_what_it_can_says_why_it_left_the_rest_and_delete_all_clears(
    backend: Backend,
) {
    let app = spawn(backend).await;
    let (fixed, _) = a_session_with_a_dead_job(&app).await;
    let (gone, gone_task) = a_session_with_a_dead_job(&app).await;
    fix(&app, &fixed).await;
    assert_eq!(app.delete(&gone).await.status(), StatusCode::NO_CONTENT);

    let r = ops(&app, Method::POST, "/api/v1/ops/dead-jobs/retry").await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["retried"], 1, "{body}");
    assert_eq!(
        body["skipped"],
        serde_json::json!([{ "task_id": gone_task, "code": "session_gone" }])
    );
    app.wait_for_status(&fixed, "completed", WAIT).await;

    let r = ops(&app, Method::DELETE, "/api/v1/ops/dead-jobs").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["deleted"], 1);
    assert_eq!(dead_list(&app).await["count"], 0);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_all_queues_what_it_can_says_why_it_left_the_rest_and_delete_all_clears_on_sqlite() {
    retry_all_queues_what_it_can_says_why_it_left_the_rest_and_delete_all_clears(Backend::Sqlite)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_all_queues_what_it_can_says_why_it_left_the_rest_and_delete_all_clears_on_redis() {
    retry_all_queues_what_it_can_says_why_it_left_the_rest_and_delete_all_clears(Backend::Redis)
        .await;
}

/// Every dead-job route, with a task id where it takes one.
fn routes() -> [(Method, &'static str); 5] {
    [
        (Method::GET, "/api/v1/ops/dead-jobs"),
        (Method::DELETE, "/api/v1/ops/dead-jobs"),
        (Method::POST, "/api/v1/ops/dead-jobs/retry"),
        (Method::POST, "/api/v1/ops/dead-jobs/some-task/retry"),
        (Method::DELETE, "/api/v1/ops/dead-jobs/some-task"),
    ]
}

async fn the_dead_list_needs_the_ops_token(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.submitter_tokens = vec![SUBMITTER_TOKEN.into()];
        s.ops_token = Some(OPS_TOKEN.into());
    })
    .await;
    for (method, path) in routes() {
        for (what, token) in [
            ("no token", None),
            ("a submitter token", Some(SUBMITTER_TOKEN)),
        ] {
            let mut req = app.client.request(method.clone(), app.url(path));
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            let r = req.send().await.unwrap();
            assert_eq!(
                r.status(),
                StatusCode::UNAUTHORIZED,
                "{method} {path} with {what}"
            );
            assert_eq!(r.headers()["www-authenticate"], "Bearer");
            assert_eq!(r.json::<Value>().await.unwrap()["code"], "unauthorized");
        }
    }
    assert_eq!(
        ops(&app, Method::GET, "/api/v1/ops/dead-jobs")
            .await
            .status(),
        StatusCode::OK
    );
    app.stop().await;
}

#[tokio::test]
async fn the_dead_list_needs_the_ops_token_on_sqlite() {
    the_dead_list_needs_the_ops_token(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dead_list_needs_the_ops_token_on_redis() {
    the_dead_list_needs_the_ops_token(Backend::Redis).await;
}

#[tokio::test]
async fn the_dead_list_is_closed_when_only_submitter_tokens_are_set() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.submitter_tokens = vec![SUBMITTER_TOKEN.into()];
    })
    .await;
    for (method, path) in routes() {
        let r = app
            .client
            .request(method.clone(), app.url(path))
            .bearer_auth(SUBMITTER_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{method} {path}");
        assert_eq!(r.json::<Value>().await.unwrap()["code"], "forbidden");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undecodable_payload_is_listed_without_a_session_and_cannot_be_retried() {
    let app = spawn(Backend::Redis).await;
    let store = app.queue().await.store();
    store
        .enqueue(&[("bad".into(), "garbage".into())])
        .await
        .unwrap();

    let job = eventually(WAIT, "the undecodable job in the dead list", || async {
        dead_list(&app).await["dead_jobs"]
            .as_array()?
            .iter()
            .find(|j| j["task_id"] == "bad")
            .cloned()
    })
    .await;
    assert!(job["session"].is_null(), "{job}");
    assert!(job["run"].is_null(), "{job}");
    let error = job["error"].as_str().unwrap();
    assert!(error.starts_with("undecodable payload"), "{error}");

    assert_error(
        ops(&app, Method::POST, "/api/v1/ops/dead-jobs/bad/retry").await,
        StatusCode::CONFLICT,
        "not_retryable",
    )
    .await;
    let r = ops(&app, Method::POST, "/api/v1/ops/dead-jobs/retry").await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({ "retried": 0, "skipped": [{ "task_id": "bad", "code": "not_retryable" }] })
    );
    let r = ops(&app, Method::DELETE, "/api/v1/ops/dead-jobs/bad").await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(dead_list(&app).await["count"], 0);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ops_page_lists_a_dead_job_and_its_retry_button_completes_the_session() {
    let app = spawn(Backend::Sqlite).await;
    let (id, _) = a_session_with_a_dead_job(&app).await;

    let browser = Browser::start().await;
    browser.goto(&app.url("/ops")).await;
    // The data is behind the ops token: the page asks for it.
    browser
        .wait_for("!document.getElementById('token-box').hidden", WAIT)
        .await;
    browser.send_keys("#token", OPS_TOKEN).await;
    browser.click("#token-form button").await;

    let retry = "#dead-jobs tbody button[data-action='retry']";
    browser
        .wait_for(&format!("document.querySelector(\"{retry}\")"), WAIT)
        .await;
    let listed = browser.text("#dead-jobs tbody tr").await;
    assert!(
        listed.starts_with(&handle(&id))
            && listed.contains("Processing failed after 1 attempts")
            && !listed.contains(&id[..8]),
        "the page shows the session's handle, never its id: {listed}"
    );
    assert_eq!(browser.text("#q-dead").await, "1");
    let wait = browser.text("#q-wait").await;
    assert!(wait.ends_with(" s"), "oldest pending wait: {wait:?}");
    browser
        .script("document.getElementById('dead-panel').scrollIntoView(); return true")
        .await;
    browser.screenshot(&artifact("ops-dead-jobs.png")).await;

    fix(&app, &id).await;
    browser.click(retry).await;
    browser
        .wait_for(
            "document.getElementById('dead-status').textContent.includes('queued again')",
            WAIT,
        )
        .await;
    browser
        .wait_for(
            "document.querySelector('#dead-jobs tbody').textContent === 'no dead jobs'",
            WAIT,
        )
        .await;
    app.wait_for_status(&id, "completed", WAIT).await;
    browser.script("window.scrollTo(0, 0); return true").await;
    browser
        .screenshot(&artifact("ops-dead-jobs-retried.png"))
        .await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stats_say_how_long_the_oldest_pending_job_has_waited() {
    // No workers: the job stays pending.
    let redis = std::sync::Arc::new(maplink_tests::RedisServer::start());
    let app = TestApp::spawn_on(Some(redis), false, |_| {}).await;
    let created = app.upload_ok("a.xlsx", sheets::seed_example_xlsx()).await;
    app.process(created["session_id"].as_str().unwrap()).await;

    let queue = eventually(WAIT, "the pending job to have waited", || async {
        let stats: Value = app.get("/api/v1/ops/stats").await.json().await.ok()?;
        let queue = stats["queue"].clone();
        (queue["oldest_pending_seconds"].as_f64()? >= 0.3).then_some(queue)
    })
    .await;
    assert_eq!(queue["pending"], 1, "{queue}");
    assert!(
        queue.get("oldest_pending_ms").is_none(),
        "one unit: {queue}"
    );
    app.stop().await;
}

async fn a_session_is_retried_from_the_dead_list_three_times_at_most(backend: Backend) {
    let app = spawn(backend).await;
    // The cause is never fixed: every retry dies again.
    let (id, mut task_id) = a_session_with_a_dead_job(&app).await;
    for n in 1..=3 {
        let r = retry(&app, &task_id).await;
        assert_eq!(r.status(), StatusCode::ACCEPTED, "retry {n}");
        let new_task = r.json::<Value>().await.unwrap()["task_id"]
            .as_str()
            .unwrap()
            .to_owned();
        task_id = eventually(WAIT, "the retried run in the dead list", || async {
            let job = dead_job_of(&app, &id).await;
            (job["task_id"] == new_task.as_str()).then(|| new_task.clone())
        })
        .await;
    }
    let r = retry(&app, &task_id).await;
    assert_error(r, StatusCode::CONFLICT, "retries_exhausted").await;
    let r = ops(&app, Method::POST, "/api/v1/ops/dead-jobs/retry").await;
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        serde_json::json!({ "retried": 0, "skipped": [{ "task_id": task_id, "code": "retries_exhausted" }] })
    );
    let session: Value = app.session(&id).await.json().await.unwrap();
    assert_eq!(session["status"], "failed", "{session}");
    assert_eq!(session["attempt"], 4, "{session}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_is_retried_from_the_dead_list_three_times_at_most_on_sqlite() {
    a_session_is_retried_from_the_dead_list_three_times_at_most(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_is_retried_from_the_dead_list_three_times_at_most_on_redis() {
    a_session_is_retried_from_the_dead_list_three_times_at_most(Backend::Redis).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_list_retries_count_against_the_callers_processing_limit() {
    // Two processing requests a minute: the first run, then one retry.
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.job_max_attempts = 1;
        s.ops_token = Some(OPS_TOKEN.into());
        s.rate_limit_process_per_minute = 2;
    })
    .await;
    let (id, task_id) = a_session_with_a_dead_job(&app).await;
    let r = retry(&app, &task_id).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let job = eventually(WAIT, "the retried run dead again", || async {
        let job = dead_job_of(&app, &id).await;
        (job["task_id"] != task_id.as_str()).then_some(job)
    })
    .await;
    let again = format!(
        "/api/v1/ops/dead-jobs/{}/retry",
        job["task_id"].as_str().unwrap()
    );
    let r = ops(&app, Method::POST, &again).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "rate_limited");
    let r = ops(&app, Method::POST, "/api/v1/ops/dead-jobs/retry").await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["retried"], 0, "{body}");
    assert_eq!(body["skipped"][0]["code"], "rate_limited", "{body}");
    // Nothing was started: the session is still failed, on its second run.
    let session: Value = app.session(&id).await.json().await.unwrap();
    assert_eq!(
        (session["status"].as_str(), session["attempt"].as_u64()),
        (Some("failed"), Some(2))
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_actions_from_another_sites_page_are_refused_whatever_cors_says() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.job_max_attempts = 1;
        s.ops_token = Some(OPS_TOKEN.into());
        s.cors_allowed_origins = vec!["*".into()];
    })
    .await;
    let (id, task_id) = a_session_with_a_dead_job(&app).await;
    let retry = format!("/api/v1/ops/dead-jobs/{task_id}/retry");
    let action = |method: Method, path: &str| {
        app.client
            .request(method, app.url(path))
            .bearer_auth(OPS_TOKEN)
    };
    // A form another site's page posts: no JSON, its origin.
    let r = action(Method::POST, &retry)
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("x=1")
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::FORBIDDEN, "cross_site").await;
    // A script on another origin that declares JSON.
    for method in [Method::POST, Method::DELETE] {
        let path = if method == Method::POST {
            retry.as_str()
        } else {
            "/api/v1/ops/dead-jobs"
        };
        let r = action(method.clone(), path)
            .header("origin", "https://evil.example")
            .header("content-type", "application/json")
            .send()
            .await
            .unwrap();
        assert_error(r, StatusCode::FORBIDDEN, "cross_site").await;
    }
    // The same form from no browser at all still is not JSON.
    let r = action(Method::DELETE, "/api/v1/ops/dead-jobs")
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_error(
        r,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    // CORS never opens the operator routes: the preflight gets no allow headers.
    let r = app
        .client
        .request(Method::OPTIONS, app.url("/api/v1/ops/dead-jobs"))
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "DELETE")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .unwrap();
    assert!(
        !r.headers()
            .keys()
            .any(|h| h.as_str().starts_with("access-control-")),
        "{:?}",
        r.headers()
    );
    // While the session routes keep their CORS.
    let r = app
        .client
        .request(Method::OPTIONS, app.url("/api/v1/sessions"))
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    // Nothing was retried or deleted.
    assert_eq!(dead_job_of(&app, &id).await["task_id"], task_id.as_str());
    assert_eq!(dead_list(&app).await["count"], 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_ops_token_the_dead_list_answers_this_machine_only() {
    // The defaults: no token of any kind.
    let app = TestApp::spawn(Backend::Sqlite).await;
    // From this machine (the test's client is on loopback) the list answers.
    let r = app.get("/api/v1/ops/dead-jobs").await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app.get("/metrics").await;
    assert_eq!(r.status(), StatusCode::OK);
    // A page whose own name resolves to 127.0.0.1 (DNS rebinding) is not local.
    for path in ["/api/v1/ops/dead-jobs", "/api/v1/ops/stats", "/metrics"] {
        let r = app
            .client
            .get(app.url(path))
            .header("host", format!("rebind.example:{}", app.addr.port()))
            .send()
            .await
            .unwrap();
        assert_error(r, StatusCode::FORBIDDEN, "forbidden").await;
    }
    // An action from the service's own page on this machine passes the checks.
    let r = app
        .client
        .post(app.url("/api/v1/ops/dead-jobs/retry"))
        .header("origin", format!("http://{}", app.addr))
        .header("sec-fetch-site", "same-origin")
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    app.stop().await;
}
