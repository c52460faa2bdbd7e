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

async fn ops(app: &TestApp, method: Method, path: &str) -> reqwest::Response {
    app.client
        .request(method, app.url(path))
        .bearer_auth(OPS_TOKEN)
        .send()
        .await
        .expect("ops request")
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
            .find(|j| j["session_id"] == id)
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
    assert_eq!(job["session_id"], id.as_str());
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
    let r = ops(
        &app,
        Method::POST,
        &format!("/api/v1/ops/dead-jobs/{task_id}/retry"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let retried: Value = r.json().await.unwrap();
    assert_eq!(retried["session_id"], id.as_str());
    assert_eq!(retried["status"], "queued");
    assert_ne!(retried["task_id"], task_id.as_str(), "a retry is a new run");

    let done = app.wait_for_status(&id, "completed", WAIT).await;
    assert_eq!(done["attempt"], 2);
    let list = dead_list(&app).await;
    assert_eq!(list["dead_jobs"], serde_json::json!([]));
    assert_eq!(list["count"], 0);
    // The job left the dead list when it was retried: a second retry finds nothing.
    let again = ops(
        &app,
        Method::POST,
        &format!("/api/v1/ops/dead-jobs/{task_id}/retry"),
    )
    .await;
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
    assert!(job["session_id"].is_null(), "{job}");
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
        listed.starts_with(&format!("{}…", &id[..8]))
            && listed.contains("Processing failed after 1 attempts"),
        "{listed}"
    );
    assert_eq!(
        browser
            .script("return document.querySelector('#dead-jobs tbody td').title")
            .await,
        id.as_str()
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
