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

#[tokio::test]
async fn every_answer_and_every_download_says_nosniff() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let id = completed_session(&app).await;
    for path in [
        format!("/api/v1/sessions/{id}/download"),
        format!("/api/v1/sessions/{id}/download?format=kml"),
        format!("/download/{id}"),
        format!("/api/v1/sessions/{id}"),
        "/".to_owned(),
        "/no-such-route".to_owned(),
    ] {
        let r = app.get(&path).await;
        assert_eq!(
            header(&r, reqwest::header::X_CONTENT_TYPE_OPTIONS),
            Some("nosniff"),
            "{path}: {}",
            r.status()
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn head_never_starts_a_run() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let created = app.upload_ok("points.csv", CSV.to_vec()).await;
    let id = created["session_id"].as_str().unwrap().to_owned();
    for _ in 0..3 {
        let r = app
            .client
            .head(app.url(&format!("/process-stream/{id}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 405);
        assert_eq!(header(&r, reqwest::header::ALLOW), Some("GET"));
    }
    let session: Value = app.session(&id).await.json().await.unwrap();
    assert_eq!(session["status"], "uploaded", "{session}");
    assert_eq!(session["attempt"], 0, "{session}");
    app.stop().await;
}

/// A CSV of about `bytes` bytes, with a map link in every row.
fn big_csv(bytes: usize) -> Vec<u8> {
    let mut csv = b"Name,Region,Maps\n".to_vec();
    let mut i = 0;
    while csv.len() < bytes {
        csv.extend_from_slice(format!("Store {i},Gauteng,\"-26.1{i:05},28.0{i:05}\"\n").as_bytes());
        i += 1;
    }
    csv
}

#[tokio::test]
async fn an_upload_past_the_memory_budget_goes_on_from_disk_and_succeeds() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.max_upload_memory_bytes = 16 * 1024).await;
    let csv = big_csv(400 * 1024);
    let rows = csv.iter().filter(|b| **b == b'\n').count() - 1;
    let before = spooled(&app).await;
    let created = app.upload_ok("big.csv", csv).await;
    assert_eq!(created["total_rows"], rows as u64);
    assert_eq!(spooled(&app).await, before + 1.0, "the upload went to disk");
    // The spool file had no name: nothing is left under the data directory's spool.
    let spool = app.data_dir().join("upload-spool");
    let left = std::fs::read_dir(&spool).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left, 0, "{spool:?}");
    app.stop().await;
}

/// `maplink_uploads_spooled_total` as the API's /metrics gives it.
async fn spooled(app: &TestApp) -> f64 {
    let text = app.get("/metrics").await.text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("maplink_uploads_spooled_total "))
        .and_then(|v| v.trim().parse().ok())
        .expect("maplink_uploads_spooled_total")
}

#[tokio::test]
async fn a_client_sends_at_most_its_share_of_uploads_at_once() {
    use tokio::io::AsyncWriteExt;
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.max_uploads_per_client = 1).await;
    // An upload that never finishes: the headers and part of the body.
    let mut unfinished = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /api/v1/sessions HTTP/1.1\r\nHost: {}\r\nContent-Type: multipart/form-data; boundary=XYZ\r\nContent-Length: 100000\r\n\r\n--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\nName,Region,Maps\n",
        app.addr
    );
    unfinished.write_all(head.as_bytes()).await.unwrap();
    unfinished.flush().await.unwrap();
    let refused = maplink_tests::eventually(
        Duration::from_secs(10),
        "the second upload refused",
        || async {
            let r = app.upload("b.csv", CSV.to_vec()).await;
            (r.status() == 429).then_some(r)
        },
    )
    .await;
    assert!(refused.headers().contains_key("retry-after"));
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "too_many_uploads", "{body}");
    // Once the first upload is gone, the client may upload again.
    drop(unfinished);
    maplink_tests::eventually(
        Duration::from_secs(10),
        "an upload accepted again",
        || async { (app.upload("c.csv", CSV.to_vec()).await.status() == 201).then_some(()) },
    )
    .await;
    app.stop().await;
}
