//! What every answer goes through: compression where it is safe, request ids.

use std::time::Duration;

use maplink_tests::{Backend, TestApp};
use reqwest::header::{ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE};
use serde_json::Value;

const CSV: &[u8] = b"Name,Region,Maps\nA,B,\"1.5,2.5\"\nC,D,\"3.5,4.5\"\n";

/// `GET path` asking for gzip (the test client does not ask, nor decode, by itself).
async fn get_gzip(app: &TestApp, path: &str) -> reqwest::Response {
    app.client
        .get(app.url(path))
        .header(ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .expect("GET")
}

fn header(r: &reqwest::Response, name: reqwest::header::HeaderName) -> Option<&str> {
    r.headers().get(name).and_then(|v| v.to_str().ok())
}

/// A processed session's id.
async fn completed_session(app: &TestApp) -> String {
    let created = app.upload_ok("points.csv", CSV.to_vec()).await;
    let id = created["session_id"].as_str().unwrap().to_owned();
    assert_eq!(app.process(&id).await.status(), 202);
    app.wait_for_status(&id, "completed", Duration::from_secs(30))
        .await;
    id
}

#[tokio::test]
async fn json_is_gzipped_when_asked_and_event_streams_and_sheet_downloads_never_are() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let id = completed_session(&app).await;

    let plain = app.get("/api/v1/openapi.json").await;
    assert_eq!(header(&plain, CONTENT_ENCODING), None, "not asked for");
    let plain = plain.bytes().await.unwrap();
    let gzipped = get_gzip(&app, "/api/v1/openapi.json").await;
    assert_eq!(gzipped.status(), 200);
    assert_eq!(header(&gzipped, CONTENT_ENCODING), Some("gzip"));
    assert!(
        header(&gzipped, reqwest::header::VARY)
            .is_some_and(|v| v.to_ascii_lowercase().contains("accept-encoding"))
    );
    let body = gzipped.bytes().await.unwrap();
    assert_eq!(&body[..2], [0x1f, 0x8b], "a gzip member");
    assert!(
        body.len() < plain.len() / 3,
        "{} of {}",
        body.len(),
        plain.len()
    );

    // Exports are built in memory: compressed too.
    let export = get_gzip(
        &app,
        &format!("/api/v1/sessions/{id}/download?format=geojson"),
    )
    .await;
    assert_eq!(export.status(), 200);
    assert_eq!(header(&export, CONTENT_ENCODING), Some("gzip"));

    // An event stream would be held back by a compressor's buffer.
    let events = get_gzip(&app, &format!("/api/v1/sessions/{id}/events")).await;
    assert_eq!(events.status(), 200);
    assert_eq!(header(&events, CONTENT_TYPE), Some("text/event-stream"));
    assert_eq!(header(&events, CONTENT_ENCODING), None);
    let text = events.text().await.unwrap();
    assert!(text.contains("\"type\":\"complete\""), "{text}");

    // A sheet streamed from the store keeps its announced length: that is how a
    // client sees a transfer cut short.
    for path in [
        format!("/api/v1/sessions/{id}/download"),
        format!("/download/{id}"),
    ] {
        let r = get_gzip(&app, &path).await;
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(header(&r, CONTENT_ENCODING), None, "{path}");
        let announced: usize = header(&r, CONTENT_LENGTH)
            .expect("Content-Length")
            .parse()
            .unwrap();
        let body = r.bytes().await.unwrap();
        assert_eq!(body.len(), announced, "{path}");
        assert!(body.starts_with(b"Name,Region,Maps"), "{path}");
    }
    app.stop().await;
}

#[tokio::test]
async fn every_answer_carries_a_request_id_and_a_callers_own_id_is_kept() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let first = app.get("/healthz").await;
    let second = app.get("/api/v1/sessions/not-an-id").await;
    let ids: Vec<String> = [&first, &second]
        .iter()
        .map(|r| {
            header(r, "x-request-id".parse().unwrap())
                .expect("x-request-id")
                .to_owned()
        })
        .collect();
    assert_ne!(ids[0], ids[1]);
    assert!(
        ids.iter().all(|id| uuid::Uuid::parse_str(id).is_ok()),
        "{ids:?}"
    );
    let error: Value = second.json().await.unwrap();
    assert_eq!(error["code"], "invalid_session_id");

    let r = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "trace-from-the-proxy-42")
        .send()
        .await
        .unwrap();
    assert_eq!(
        header(&r, "x-request-id".parse().unwrap()),
        Some("trace-from-the-proxy-42")
    );
    app.stop().await;
}
