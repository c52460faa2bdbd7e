//! Bad and unusual input: each gets a clear error or a clean per-row outcome, never a
//! crash or a hang, and nothing else in the sheet changes.

use std::{io::Write, time::Duration};

use calamine::Data;
use maplink_tests::{Backend, TestApp, sheets};
use rust_xlsxwriter::{ExcelDateTime, Format, Formula, Workbook};
use serde_json::Value;

async fn error_message(app: &TestApp, name: &str, bytes: Vec<u8>) -> (u16, String) {
    let r = app.upload(name, bytes).await;
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    (
        status,
        body["error"].as_str().unwrap_or_default().to_owned(),
    )
}

/// Uploads, processes and returns (session JSON when completed, output rows of the first sheet, all sheets).
async fn round_trip(
    app: &TestApp,
    name: &str,
    bytes: Vec<u8>,
) -> (Value, Vec<(String, Vec<Vec<Data>>)>) {
    let created = app.upload_ok(name, bytes).await;
    let id = created["session_id"].as_str().unwrap().to_owned();
    assert_eq!(app.process(&id).await.status(), 202);
    let done = app
        .wait_for_status(&id, "completed", Duration::from_secs(30))
        .await;
    let out = app.download(&id).await.bytes().await.unwrap();
    (done, sheets::read_xlsx(&out))
}

fn zip_with(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in entries {
        w.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

#[tokio::test]
async fn broken_containers_get_clear_errors() {
    let app =
        TestApp::spawn_with(Backend::Sqlite, |s| s.max_unpacked_bytes = 4 * 1024 * 1024).await;
    let good = sheets::seed_example_xlsx();

    let truncated = good[..good.len() / 2].to_vec();
    assert_eq!(
        error_message(&app, "t.xlsx", truncated).await,
        (400, "Error processing file: the file is not a valid .xlsx workbook (it is not a readable zip archive)".into())
    );

    let bomb = zip_with(&[
        ("[Content_Types].xml", b"<Types/>".to_vec()),
        ("xl/worksheets/sheet1.xml", vec![b'0'; 8 * 1024 * 1024]),
    ]);
    assert!(bomb.len() < 100_000, "the bomb is small on the wire");
    let (status, msg) = error_message(&app, "bomb.xlsx", bomb).await;
    assert_eq!(status, 400);
    assert_eq!(
        msg,
        "Error processing file: the workbook unpacks to more than 4 MiB (the limit); it may be a zip bomb"
    );

    let mut encrypted = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    encrypted.resize(4096, 0);
    let (status, msg) = error_message(&app, "secret.xlsx", encrypted).await;
    assert_eq!(status, 400);
    assert!(
        msg.starts_with("Error processing file: the workbook is password-protected"),
        "{msg}"
    );

    let not_a_workbook = zip_with(&[("hello.txt", b"hi".to_vec())]);
    let (status, msg) = error_message(&app, "odd.xlsx", not_a_workbook).await;
    assert_eq!(status, 400);
    assert!(
        msg.starts_with("Error processing file: the workbook could not be read"),
        "{msg}"
    );

    let (status, msg) = error_message(
        &app,
        "empty.xlsx",
        Workbook::new().save_to_buffer().unwrap(),
    )
    .await;
    assert_eq!(
        (status, msg.as_str()),
        (400, "Error processing file: the first worksheet is empty")
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_header_only_sheet_completes_with_nothing_to_do() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (done, out) = round_trip(
        &app,
        "h.xlsx",
        sheets::xlsx(&[vec!["Name", "Region", "Maps"]]),
    )
    .await;
    assert_eq!(done["total_rows"], 0);
    assert_eq!(
        done["counts"],
        serde_json::json!({"successful": 0, "failed": 0, "skipped": 0})
    );
    assert_eq!(out[0].1.len(), 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_headers_formulas_merges_numbers_dates_and_markup_survive() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut book = Workbook::new();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let ws = book.add_worksheet();
    ws.set_name("Sites 2024").unwrap();
    // Header: a number, a blank, duplicates; the first "Maps" is the map column.
    ws.write_string(0, 0, "Name").unwrap();
    ws.write_number(0, 1, 42).unwrap();
    ws.write_string(0, 3, "Region").unwrap();
    ws.write_string(0, 4, "Maps").unwrap();
    ws.write_string(0, 5, "Maps").unwrap();
    ws.write_string(0, 6, "Opened").unwrap();
    // Row 1: the link is a formula with a cached value.
    ws.write_string(1, 0, "<script>alert(1)</script>").unwrap();
    ws.write_number(1, 1, 3.25).unwrap();
    ws.write_string(1, 3, "<img src=x onerror=alert(2)>")
        .unwrap();
    ws.write_formula(
        1,
        4,
        Formula::new("=\"https://maps.google.com/?q=\"&\"-26.1,28.05\"")
            .set_result("https://maps.google.com/?q=-26.1,28.05"),
    )
    .unwrap();
    ws.write_string(1, 5, "ignored duplicate").unwrap();
    ws.write_datetime_with_format(1, 6, ExcelDateTime::from_ymd(2024, 2, 29).unwrap(), &date)
        .unwrap();
    // Rows 2-3: a merged name cell, a numeric link cell and a 100 KB-ish link.
    ws.merge_range(2, 0, 3, 0, "Merged name", &Format::new())
        .unwrap();
    ws.write_number(2, 4, 12.5).unwrap();
    ws.write_string(
        3,
        4,
        format!("https://maps.google.com/?q={}", "x".repeat(30_000)),
    )
    .unwrap();
    let other = book.add_worksheet();
    other.set_name("Notes").unwrap();
    other.write_string(0, 0, "keep me").unwrap();
    other.write_number(1, 0, 7).unwrap();

    let (done, out) = round_trip(&app, "odd.xlsx", book.save_to_buffer().unwrap()).await;
    assert_eq!(done["map_column"], "Maps");
    assert_eq!(
        done["counts"],
        serde_json::json!({"successful": 1, "failed": 2, "skipped": 0})
    );

    assert_eq!(
        out.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ["Sites 2024", "Notes"]
    );
    let rows = &out[0].1;
    assert_eq!(rows[0][7].to_string(), "LONG");
    assert_eq!(
        rows[1][0],
        Data::String("<script>alert(1)</script>".into()),
        "markup kept verbatim"
    );
    assert_eq!(
        rows[1][3],
        Data::String("<img src=x onerror=alert(2)>".into())
    );
    assert_eq!(rows[1][1], Data::Float(3.25), "numbers stay numbers");
    assert!(
        matches!(rows[1][6], Data::DateTime(_)),
        "dates stay dates: {:?}",
        rows[1][6]
    );
    assert_eq!(
        (rows[1][7].clone(), rows[1][8].clone()),
        (Data::Float(28.05), Data::Float(-26.1))
    );
    assert_eq!(rows[2][4], Data::Float(12.5), "a numeric link cell is kept");
    assert!(
        rows[2][9]
            .to_string()
            .starts_with("Failed after 1 attempt: "),
        "{}",
        rows[2][9]
    );
    assert!(
        rows[3][9]
            .to_string()
            .starts_with("Failed after 1 attempt: "),
        "{}",
        rows[3][9]
    );
    assert_eq!(
        out[1].1,
        vec![vec![Data::String("keep me".into())], vec![Data::Float(7.0)]],
        "other sheets kept"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preview_names_every_column_distinctly() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let bytes = sheets::xlsx(&[
        vec!["Name", "", "Region", "Maps", "Maps"],
        vec!["a", "b", "c", "d", "e"],
    ]);
    let created = app.upload_ok("p.xlsx", bytes).await;
    assert_eq!(
        created["preview_columns"],
        serde_json::json!(["Name", "Unnamed: 1", "Region", "Maps", "Maps.1"])
    );
    assert_eq!(created["preview_data"][0]["Maps.1"], "e");
    app.stop().await;
}
