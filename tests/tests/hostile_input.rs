//! Hostile uploads: files built to make the service hold far more than they weigh, or
//! to reach arithmetic on impossible cell positions. Each is refused with a JSON error
//! that names the limit, and the service keeps serving.

use maplink_tests::{Backend, TestApp, hostile, sheets};
use serde_json::Value;

async fn refusal(app: &TestApp, attack: &hostile::Attack) -> (u16, String, String) {
    let r = app.upload(attack.filename, attack.bytes.clone()).await;
    let status = r.status().as_u16();
    let body: Value = r.json().await.expect("a JSON error");
    (
        status,
        body["code"].as_str().unwrap_or_default().to_owned(),
        body["error"].as_str().unwrap_or_default().to_owned(),
    )
}

/// The service still answers and still takes an ordinary upload.
async fn still_serving(app: &TestApp) {
    assert_eq!(app.get("/healthz").await.status(), 200);
    app.upload_ok("stores.xlsx", sheets::seed_example_xlsx())
        .await;
}

#[tokio::test]
async fn cell_positions_outside_the_xlsx_grid_are_refused_and_the_service_stays_up() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    for attack in [
        hostile::far_column(),
        hostile::far_row(),
        hostile::high_first_row(),
    ] {
        assert!(attack.bytes.len() < 4096, "{} is a small file", attack.name);
        let (status, code, message) = refusal(&app, &attack).await;
        assert_eq!(
            (status, code.as_str()),
            (413, "sheet_too_large"),
            "{message}"
        );
        assert!(
            message.starts_with("The sheet refers to a cell outside what an .xlsx sheet can hold"),
            "{}: {message}",
            attack.name
        );
        still_serving(&app).await;
    }
}

#[tokio::test]
async fn a_value_in_the_last_column_is_refused_by_the_column_limit() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (status, code, message) = refusal(&app, &hostile::wide(200)).await;
    assert_eq!((status, code.as_str()), (413, "sheet_too_large"));
    assert_eq!(
        message,
        "The sheet \"Sheet1\" has 16,384 columns; the limit is 1,024."
    );
    still_serving(&app).await;
}

#[tokio::test]
async fn a_sheet_over_the_row_limit_is_refused_with_its_real_size() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (status, code, message) = refusal(&app, &hostile::many_rows(1_100_000)).await;
    assert_eq!((status, code.as_str()), (413, "sheet_too_large"));
    assert_eq!(
        message,
        "The sheet has 1,100,001 rows; the limit is 1,048,576."
    );
}

#[tokio::test]
async fn a_workbook_over_the_cell_limit_is_refused_with_its_real_size() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.max_cells = 10_000).await;
    let (status, code, message) = refusal(&app, &hostile::dense(200, 100)).await;
    assert_eq!((status, code.as_str()), (413, "sheet_too_large"));
    assert_eq!(
        message,
        "The workbook has 20,003 cells; the limit is 10,000."
    );
}

#[tokio::test]
async fn a_shared_string_used_by_every_row_counts_once_per_row() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let attack = hostile::shared_string_fanout(20_000, 32_000);
    assert!(attack.bytes.len() < 200_000, "{} bytes", attack.bytes.len());
    let (status, code, message) = refusal(&app, &attack).await;
    assert_eq!((status, code.as_str()), (413, "sheet_too_large"));
    assert_eq!(
        message,
        "The workbook holds 611 MiB of text; the limit is 256 MiB."
    );
}

#[tokio::test]
async fn a_string_table_declaring_billions_of_strings_is_refused() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (status, code, message) = refusal(&app, &hostile::huge_string_count()).await;
    assert_eq!((status, code.as_str()), (400, "unreadable_file"));
    assert_eq!(
        message,
        "Error processing file: the file is not a valid .xlsx workbook (a part is damaged)"
    );
    still_serving(&app).await;
}

#[tokio::test]
async fn a_shared_string_table_too_large_to_hold_is_refused_before_it_is_read() {
    let app =
        TestApp::spawn_with(Backend::Sqlite, |s| s.max_unpacked_bytes = 16 * 1024 * 1024).await;
    let attack = hostile::tiny_shared_strings(600_000);
    assert!(attack.bytes.len() < 100_000, "{} bytes", attack.bytes.len());
    let (status, code, message) = refusal(&app, &attack).await;
    assert_eq!((status, code.as_str()), (413, "sheet_too_large"));
    assert_eq!(
        message,
        "The workbook's shared-string table holds 600,000 strings and needs about 33 MiB in memory; the limit is 10 MiB."
    );
}

#[tokio::test]
async fn thousands_of_duplicate_headers_get_distinct_names() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.max_columns = 16_384).await;
    let attack = hostile::duplicate_headers(4_000);
    let body = app.upload_ok(attack.filename, attack.bytes).await;
    let columns: Vec<&str> = body["preview_columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(columns.len(), 4_003);
    assert_eq!(columns[3..6], ["x", "x.1", "x.2"]);
    assert_eq!(columns[4_002], "x.3999");
}

#[tokio::test]
async fn the_waiting_answer_of_the_original_route_is_bounded() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    // 300 columns of 200-character names, 1,000 rows: the whole sheet as JSON objects
    // would be about 64 MiB.
    let attack = hostile::long_names(300, 1_000);
    let id = app.upload_ok(attack.filename, attack.bytes).await["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app.post(&format!("/process/{id}")).await;
    assert_eq!(r.status(), 200);
    let body = r.bytes().await.unwrap();
    assert!(body.len() < 12 * 1024 * 1024, "{} bytes", body.len());
    let body: Value = serde_json::from_slice(&body).unwrap();
    let inline = body["processed_data"].as_array().unwrap().len();
    assert!(inline > 0 && inline < 1_000, "{inline} rows inline");
    assert_eq!(body["total_rows"], 1_000);
    assert_eq!(body["processing_log"].as_array().unwrap().len(), 1_000);
}

#[tokio::test]
async fn uploads_beyond_the_session_quota_are_refused_until_room_is_made() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.max_sessions = 2).await;
    let first = app.upload_ok("a.xlsx", sheets::seed_example_xlsx()).await;
    app.upload_ok("b.xlsx", sheets::seed_example_xlsx()).await;
    let r = app.upload("c.xlsx", sheets::seed_example_xlsx()).await;
    assert_eq!(r.status(), 503);
    assert!(r.headers().contains_key("retry-after"));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "storage_full");
    // A deleted session makes room at once (the API that deletes a session takes it
    // off its kept count).
    let id = first["session_id"].as_str().unwrap();
    assert_eq!(app.delete(id).await.status(), 204);
    app.upload_ok("c.xlsx", sheets::seed_example_xlsx()).await;
}

#[tokio::test]
async fn uploads_beyond_the_storage_quota_are_refused() {
    let example = sheets::seed_example_xlsx();
    let quota = example.len() as u64 * 3 / 2;
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.max_stored_bytes = quota).await;
    app.upload_ok("a.xlsx", example.clone()).await;
    let r = app.upload("b.xlsx", example).await;
    assert_eq!(r.status(), 503);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "storage_full");
    // Nothing of the refused upload was kept.
    let sessions = std::fs::read_dir(app.data_dir().join("sessions"))
        .unwrap()
        .count();
    assert_eq!(sessions, 1);
}
