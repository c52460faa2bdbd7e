//! The original app's routes: paths, status codes, field names and messages.

use std::{sync::Arc, time::Duration};

use maplink_tests::{Backend, RedisServer, TestApp, sheets, sse};
use reqwest::{StatusCode, multipart};
use serde_json::Value;

const EXPIRED: &str =
    "Invalid session ID. Your session may have expired. Please upload the file again.";

async fn seed_upload(app: &TestApp, name: &str, bytes: Vec<u8>) -> reqwest::Response {
    let form = multipart::Form::new().part(
        "file",
        multipart::Part::bytes(bytes).file_name(name.to_owned()),
    );
    app.client
        .post(app.url("/upload"))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

async fn json(r: reqwest::Response) -> (StatusCode, Value) {
    let status = r.status();
    let text = r.text().await.unwrap();
    assert!(!text.contains("NaN"), "bare NaN in JSON: {text}");
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}")),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_process_download_as_the_original_app_did() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (status, up) =
        json(seed_upload(&app, "test_input.xlsx", sheets::seed_example_xlsx()).await).await;
    assert_eq!(status, 200);
    for field in [
        "success",
        "session_id",
        "preview_data",
        "preview_columns",
        "total_rows",
        "map_column",
    ] {
        assert!(up.get(field).is_some(), "missing {field}: {up}");
    }
    assert_eq!(
        (
            up["success"].clone(),
            up["total_rows"].clone(),
            up["map_column"].clone()
        ),
        (true.into(), 30.into(), "Maps link".into())
    );
    assert_eq!(up["preview_data"][2]["Maps link"], Value::Null);
    let id = up["session_id"].as_str().unwrap().to_owned();

    let (status, body) = json(app.get(&format!("/download/{id}")).await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (
            StatusCode::BAD_REQUEST,
            Some("File has not been processed yet")
        )
    );

    let (status, done) = json(app.post(&format!("/process/{id}")).await).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["success"], true);
    assert_eq!(
        (
            done["total_rows"].clone(),
            done["successful"].clone(),
            done["failed"].clone(),
            done["skipped"].clone()
        ),
        (30.into(), 26.into(), 2.into(), 2.into())
    );
    let log = done["processing_log"].as_array().unwrap();
    assert_eq!(log.len(), 30);
    assert_eq!(log[4]["status"], "failed");
    assert!(
        log[4]["message"]
            .as_str()
            .unwrap()
            .starts_with("Failed after 1 attempt")
    );
    assert_eq!(
        done["processed_columns"],
        serde_json::json!(["Name", "Region", "Maps link", "LONG", "LATTs", "Comments"])
    );
    let data = done["processed_data"].as_array().unwrap();
    assert_eq!(data.len(), 30);
    assert_eq!(
        (
            data[0]["LONG"].clone(),
            data[0]["LATTs"].clone(),
            data[0]["Comments"].clone()
        ),
        (28.0567.into(), (-26.1076).into(), "Success".into())
    );
    assert_eq!(
        data[2]["LONG"],
        Value::Null,
        "blank cells are null, never NaN"
    );

    let r = app.get(&format!("/download/{id}")).await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("processed_test_input.xlsx")
    );
    assert_eq!(sheets::read_xlsx(&r.bytes().await.unwrap())[0].1.len(), 31);
    app.stop().await;
}

#[tokio::test]
async fn unknown_sessions_get_the_original_message() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    for id in [uuid::Uuid::new_v4().to_string(), "not-a-uuid".to_owned()] {
        let (status, body) = json(app.post(&format!("/process/{id}")).await).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some(EXPIRED)),
            "{id}"
        );
        let (status, body) = json(app.get(&format!("/download/{id}")).await).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::NOT_FOUND, Some(EXPIRED)),
            "{id}"
        );
        let (status, body) = json(app.get(&format!("/process-stream/{id}")).await).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some(EXPIRED)),
            "{id}"
        );
    }
    let (status, body) = json(app.get("/health").await).await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, serde_json::json!({"status": "healthy"}))
    );
    let (status, body) = json(seed_upload(&app, "notes.txt", b"x".to_vec()).await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (
            StatusCode::BAD_REQUEST,
            Some("Only .xlsx or .csv files are allowed")
        )
    );
    app.stop().await;
}

#[tokio::test]
async fn a_second_process_call_while_queued_is_refused() {
    let redis = Arc::new(RedisServer::start());
    let app = TestApp::spawn_on(Some(redis), false, |_| {}).await;
    let (_, up) = json(seed_upload(&app, "a.xlsx", sheets::seed_example_xlsx()).await).await;
    let id = up["session_id"].as_str().unwrap();
    let r = app
        .client
        .post(app.url(&format!("/process/{id}")))
        .header("Prefer", "respond-async")
        .send()
        .await
        .unwrap();
    let (status, body) = json(r).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::ACCEPTED, Some("queued"))
    );
    let (status, body) = json(app.post(&format!("/process/{id}")).await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (
            StatusCode::BAD_REQUEST,
            Some("File is already being processed")
        )
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn process_stream_runs_the_job_and_streams_its_story() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (_, up) = json(seed_upload(&app, "a.xlsx", sheets::seed_example_xlsx()).await).await;
    let id = up["session_id"].as_str().unwrap();
    let r = app.get(&format!("/process-stream/{id}")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    let events = tokio::time::timeout(Duration::from_secs(20), sse::read(r, |_| false))
        .await
        .expect("the stream ends");
    let types: Vec<&str> = events
        .iter()
        .map(|e| e.data["type"].as_str().unwrap())
        .collect();
    assert_eq!(types.first(), Some(&"start"), "{types:?}");
    assert!(
        types.contains(&"progress") && types.contains(&"log"),
        "{types:?}"
    );
    let complete = events
        .iter()
        .find(|e| e.data["type"] == "complete")
        .expect("complete");
    assert_eq!(complete.data["successful"], 26);
    assert!(
        events.iter().all(|e| e.id.is_none()),
        "the original stream had no ids"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_events_resume_after_a_reconnect_without_loss_or_repeats() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.row_delay_ms = 60).await;
    let created = app.upload_ok("a.xlsx", sheets::seed_example_xlsx()).await;
    let id = created["session_id"].as_str().unwrap().to_owned();
    assert_eq!(app.process(&id).await.status(), 202);

    // Read the first few events, then drop the connection mid-job.
    let first = sse::read(
        app.get(&format!("/api/v1/sessions/{id}/events")).await,
        |e| e.data["type"] == "progress",
    )
    .await;
    assert_eq!(first[0].data["type"], "start");
    let last_seen = first
        .last()
        .unwrap()
        .id
        .clone()
        .expect("v1 events carry ids");

    let r = app
        .client
        .get(app.url(&format!("/api/v1/sessions/{id}/events")))
        .header("Last-Event-ID", &last_seen)
        .send()
        .await
        .unwrap();
    let rest = tokio::time::timeout(Duration::from_secs(20), sse::read(r, |_| false))
        .await
        .expect("the stream ends");
    assert_eq!(
        rest.last().map(|e| e.data["type"].clone()),
        Some("complete".into()),
        "the stream ends with complete"
    );

    let seen: Vec<String> = first
        .iter()
        .chain(&rest)
        .map(|e| e.id.clone().unwrap())
        .collect();
    let log = app
        .events()
        .await
        .read_after(id.parse().unwrap(), None, 10_000)
        .await
        .unwrap();
    let all: Vec<String> = log.iter().map(|e| e.id.clone()).collect();
    assert_eq!(seen, all, "every event exactly once, in order");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_rows_are_filtered_and_paged() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let created = app.upload_ok("a.xlsx", sheets::seed_example_xlsx()).await;
    let id = created["session_id"].as_str().unwrap().to_owned();
    let (status, _) = json(app.get(&format!("/api/v1/sessions/{id}/rows")).await).await;
    assert_eq!(status, StatusCode::CONFLICT, "no rows before processing");
    app.process(&id).await;
    app.wait_for_status(&id, "completed", Duration::from_secs(20))
        .await;

    let (_, failed) = json(
        app.get(&format!("/api/v1/sessions/{id}/rows?status=failed"))
            .await,
    )
    .await;
    assert_eq!(failed["total"], 2);
    assert_eq!(
        failed["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["row"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [5, 20]
    );
    let (_, page) = json(
        app.get(&format!("/api/v1/sessions/{id}/rows?offset=25&limit=10"))
            .await,
    )
    .await;
    assert_eq!(
        (
            page["total"].clone(),
            page["rows"].as_array().unwrap().len()
        ),
        (30.into(), 5)
    );
    assert_eq!(page["rows"][0]["row"], 26);
    for field in [
        "row", "name", "status", "reason", "lng", "lat", "attempts", "method", "link", "message",
    ] {
        assert!(page["rows"][0].get(field).is_some(), "missing {field}");
    }
    let (status, body) = json(
        app.get(&format!("/api/v1/sessions/{id}/rows?status=maybe"))
            .await,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_query"))
    );
    app.stop().await;
}
