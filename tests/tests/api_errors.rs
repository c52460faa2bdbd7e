//! Every upload validation message, size limit, id and state error of the v1 API.

use std::{sync::Arc, time::Duration};

use maplink_tests::{Backend, RedisServer, TestApp, sheets};
use reqwest::{StatusCode, multipart};
use serde_json::Value;

const EXPIRED: &str =
    "Invalid session ID. Your session may have expired. Please upload the file again.";

async fn error_of(r: reqwest::Response) -> (StatusCode, String, String) {
    let status = r.status();
    let body: Value = r.json().await.expect("error bodies are JSON");
    (
        status,
        body["error"].as_str().unwrap_or_default().to_owned(),
        body["code"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn upload_validation_messages_first_failure_wins() {
    let app = TestApp::spawn(Backend::Sqlite).await;

    let form = multipart::Form::new().text("other", "x");
    let r = app
        .client
        .post(app.url("/api/v1/sessions"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_of(r).await,
        (
            StatusCode::BAD_REQUEST,
            "No file uploaded".into(),
            "no_file".into()
        )
    );

    let r = app.upload("", sheets::seed_example_xlsx()).await;
    assert_eq!(
        error_of(r).await,
        (
            StatusCode::BAD_REQUEST,
            "No file selected".into(),
            "no_file_selected".into()
        )
    );

    for name in ["sites.xls", "sites.txt", "sites", "xlsx"] {
        let r = app.upload(name, sheets::seed_example_xlsx()).await;
        assert_eq!(
            error_of(r).await,
            (
                StatusCode::BAD_REQUEST,
                "Only .xlsx or .csv files are allowed".into(),
                "unsupported_file_type".into()
            ),
            "{name}"
        );
    }
    // Extensions are case-insensitive.
    assert_eq!(
        app.upload("SITES.XLSX", sheets::seed_example_xlsx())
            .await
            .status(),
        201
    );

    let (status, msg, code) = error_of(
        app.upload("fake.xlsx", b"Name,Region,Maps\n".to_vec())
            .await,
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "unreadable_file")
    );
    assert_eq!(
        msg,
        "Error processing file: the file is not a valid .xlsx workbook (it is not a readable zip archive)"
    );

    let no_map = sheets::xlsx(&[vec!["Name", "Region", "Link"], vec!["a", "b", "c"]]);
    assert_eq!(
        error_of(app.upload("a.xlsx", no_map).await).await,
        (
            StatusCode::BAD_REQUEST,
            "Missing required map column. Looking for: \"Map link\" or \"Maps\" (case-insensitive). Found columns: \"Name\", \"Region\", \"Link\"".into(),
            "missing_columns".into()
        )
    );
    let only_map = sheets::xlsx(&[vec!["Maps"], vec!["x"]]);
    assert_eq!(
        error_of(app.upload("a.xlsx", only_map).await).await.1,
        "Missing required columns: Name, Region. Found columns: \"Maps\""
    );
    // The map check runs first.
    let nothing = sheets::xlsx(&[vec!["Foo"]]);
    assert!(
        error_of(app.upload("a.xlsx", nothing).await)
            .await
            .1
            .starts_with("Missing required map column")
    );
    app.stop().await;
}

#[tokio::test]
async fn uploads_over_the_limit_get_a_json_413() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.max_upload_bytes = 4096).await;
    let big = vec![b'a'; 5000];
    let (status, msg, code) = error_of(app.upload("big.csv", big).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );
    assert_eq!(msg, "File too large. The maximum upload size is 4 KiB.");

    // Far over the limit: the body limit itself trips, still as JSON.
    let huge = vec![b'a'; 300 * 1024];
    let (status, _, code) = error_of(app.upload("huge.csv", huge).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );

    // Just under the limit is fine.
    let mut ok = b"Name,Region,Maps\n".to_vec();
    ok.resize(4000, b' ');
    assert_eq!(app.upload("ok.csv", ok).await.status(), 201);
    app.stop().await;
}

#[tokio::test]
async fn non_multipart_uploads_get_415() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let r = app
        .client
        .post(app.url("/api/v1/sessions"))
        .json(&serde_json::json!({"file": "x"}))
        .send()
        .await
        .unwrap();
    let (status, _, code) = error_of(r).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
    );
    app.stop().await;
}

#[tokio::test]
async fn malformed_ids_are_400_and_unknown_ids_404_with_the_seed_message() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    for path in [
        "/api/v1/sessions/not-a-uuid",
        "/api/v1/sessions/..%2F..%2Fetc",
        "/api/v1/sessions/00000000-0000-0000-0000-000000000000/download",
        // Not UTF-8 once decoded: refused like any malformed id, as JSON.
        "/api/v1/sessions/%FF%FE",
        "/api/v1/sessions/%C3%28/rows",
    ] {
        let (status, _, code) = error_of(app.get(path).await).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::BAD_REQUEST, "invalid_session_id"),
            "{path}"
        );
    }
    let unknown = uuid::Uuid::new_v4();
    for r in [
        app.session(&unknown.to_string()).await,
        app.process(&unknown.to_string()).await,
        app.download(&unknown.to_string()).await,
        app.post(&format!("/api/v1/sessions/{unknown}/renew")).await,
        app.delete(&unknown.to_string()).await,
    ] {
        assert_eq!(
            error_of(r).await,
            (
                StatusCode::NOT_FOUND,
                EXPIRED.into(),
                "session_not_found".into()
            )
        );
    }
    // The original app's routes: a malformed id is an unknown one.
    assert_eq!(
        error_of(app.get("/download/%FF%FE").await).await,
        (
            StatusCode::NOT_FOUND,
            EXPIRED.into(),
            "session_not_found".into()
        )
    );
    let r = app
        .client
        .delete(app.url("/api/v1/ops/dead-jobs/%FF%FE"))
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(r).await.2, "dead_job_not_found");
    app.stop().await;
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    assert_eq!(
        error_of(app.get("/nope").await).await,
        (
            StatusCode::NOT_FOUND,
            "Not found".into(),
            "not_found".into()
        )
    );
    let r = app
        .client
        .put(app.url("/api/v1/sessions"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(r).await.0, StatusCode::METHOD_NOT_ALLOWED);
    app.stop().await;
}

#[tokio::test]
async fn state_conflicts_are_409() {
    // A Redis-backed API with no workers: a queued run stays queued.
    let redis = Arc::new(RedisServer::start());
    let app = TestApp::spawn_on(Some(redis), false, |_| {}).await;
    let created = app.upload_ok("a.xlsx", sheets::seed_example_xlsx()).await;
    let id = created["session_id"].as_str().unwrap();

    assert_eq!(
        error_of(app.download(id).await).await,
        (
            StatusCode::CONFLICT,
            "File has not been processed yet".into(),
            "not_processed".into()
        )
    );
    assert_eq!(app.process(id).await.status(), 202);
    assert_eq!(
        error_of(app.process(id).await).await,
        (
            StatusCode::CONFLICT,
            "File is already being processed".into(),
            "already_processing".into()
        )
    );
    assert_eq!(
        error_of(app.download(id).await).await.0,
        StatusCode::CONFLICT
    );
    app.stop().await;
}

#[tokio::test]
async fn renew_slides_the_expiry_and_delete_removes_everything() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let created = app.upload_ok("a.xlsx", sheets::seed_example_xlsx()).await;
    let id = created["session_id"].as_str().unwrap().to_owned();
    assert!((created["ttl_remaining_s"].as_f64().unwrap() - 7200.0).abs() <= 1.0);

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let renewed: Value = app
        .post(&format!("/api/v1/sessions/{id}/renew"))
        .await
        .json()
        .await
        .unwrap();
    assert!(renewed["expires_at"].as_str().unwrap() > created["expires_at"].as_str().unwrap());
    assert!(renewed["age_s"].as_f64().unwrap() >= 1.0);

    let sid: maplink::domain::SessionId = id.parse().unwrap();
    assert!(app.files.session_dir(sid).exists());
    let r = app.delete(&id).await;
    assert_eq!(r.status(), 204);
    assert!(!app.files.session_dir(sid).exists(), "files gone");
    assert_eq!(app.session(&id).await.status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn health_and_readiness() {
    let app = TestApp::spawn(Backend::Redis).await;
    let h: Value = app.get("/healthz").await.json().await.unwrap();
    assert_eq!(h["status"], "ok");
    let r = app.get("/readyz").await;
    assert_eq!(r.status(), 200);
    // With Redis gone, the API is alive but not ready.
    let redis = app.redis.clone().unwrap();
    let mut conn = redis.conn();
    let _: Result<(), _> = redis::cmd("SHUTDOWN").arg("NOSAVE").query(&mut conn);
    let r = app.get("/readyz").await;
    assert_eq!(r.status(), 503);
    assert_eq!(app.get("/healthz").await.status(), 200);
    drop(app);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_whose_job_never_reached_the_queue_is_taken_over() {
    let app = TestApp::spawn(Backend::Redis).await;
    let store = app.store().await;
    // Two sessions marked queued as if their request had died before pushing the job:
    // one just now (still within the grace), one a minute ago.
    let mut ids = Vec::new();
    for age_ms in [0u64, 60_000] {
        let created = app.upload_ok("a.xlsx", sheets::seed_example_xlsx()).await;
        let id = created["session_id"].as_str().unwrap().to_owned();
        let minted = chrono::Utc::now().timestamp_millis() as u64 - age_ms;
        let lost_job = ulid::Ulid::from_parts(minted, 42).to_string();
        let started = store
            .start_run(id.parse().unwrap(), &lost_job, None)
            .await
            .unwrap();
        assert!(matches!(started, maplink::session::StartRun::Started(_)));
        ids.push(id);
    }
    assert_eq!(
        error_of(app.process(&ids[0]).await).await.0,
        StatusCode::CONFLICT,
        "within the grace it may still be pushed"
    );
    assert_eq!(
        app.process(&ids[1]).await.status(),
        202,
        "a lost job's run is taken over"
    );
    let done = app
        .wait_for_status(&ids[1], "completed", Duration::from_secs(20))
        .await;
    assert_eq!(done["attempt"], 2);
    app.stop().await;
}
