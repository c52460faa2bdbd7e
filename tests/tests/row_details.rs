//! What a run says about each row beyond its coordinates, end to end through the real
//! API and its embedded worker: the reason's stable code, how the point was found and
//! how precise it is (rows API, `rows.jsonl`, events), the region check's warnings, and
//! the `Source`, `Precision` and `Check` columns a run adds when asked
//! (`?details=true`) — and nothing of this where the original app's clients look.

use std::time::Duration;

use calamine::Data;
use maplink::{events::EventKind, files::SessionFile};
use maplink_tests::{Backend, TestApp, eventually, sheets};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(30);

/// One row per format, each in the province its point is in.
fn mixed_formats() -> Vec<u8> {
    sheets::xlsx(&[
        vec!["Name", "Region", "Maps link"],
        vec!["Dropped pin", "Gauteng", r#"26°06'29.5"S 28°03'09.7"E"#],
        vec!["Plus code", "Mpumalanga", "5G5CVX5C+2V"],
        vec![
            "Place pin",
            "Gauteng",
            "https://www.google.com/maps/place/Sandton+City/@-26.1,28.05,15z/data=!4m5!3m4!1s0x0:0x0!8m2!3d-26.1076!4d28.0567",
        ],
        vec![
            "Map centre",
            "Western Cape",
            "https://www.google.com/maps/@-33.9249,18.4241,15z",
        ],
        vec![
            "Place by id",
            "Gauteng",
            "https://maps.google.com/?cid=14887290543960349143",
        ],
        vec![
            "Typo",
            "Gauteng",
            "https://maps.google.com/?q=-26.10.76,28.05",
        ],
        vec!["No link", "Gauteng", ""],
        vec!["Words", "Gauteng", "not a valid url"],
        vec!["Decimal degrees", "Gauteng", "26.1081° S, 28.0502° E"],
        vec!["Semicolon", "Gauteng", "-26.108204;28.0527061"],
    ])
}

/// Uploads `sheet` as `name`.
async fn upload(app: &TestApp, name: &str, sheet: Vec<u8>) -> String {
    let created = app.upload_ok(name, sheet).await;
    created["session_id"].as_str().unwrap().to_owned()
}

/// Runs the session (with the details columns when `details`) to completion.
async fn run(app: &TestApp, id: &str, details: bool) -> Value {
    let path = if details {
        format!("/api/v1/sessions/{id}/process?details=true")
    } else {
        format!("/api/v1/sessions/{id}/process")
    };
    assert_eq!(app.post(&path).await.status(), StatusCode::ACCEPTED);
    app.wait_for_status(id, "completed", WAIT).await
}

async fn rows(app: &TestApp, id: &str) -> Vec<Value> {
    let page: Value = app
        .get(&format!("/api/v1/sessions/{id}/rows?limit=1000"))
        .await
        .json()
        .await
        .unwrap();
    page["rows"].as_array().unwrap().clone()
}

/// The downloaded sheet's first sheet, every cell as text.
async fn download(app: &TestApp, id: &str) -> Vec<Vec<String>> {
    let r = app.download(id).await;
    assert_eq!(r.status(), StatusCode::OK);
    let book = sheets::read_xlsx(&r.bytes().await.unwrap());
    book[0]
        .1
        .iter()
        .map(|row| row.iter().map(Data::to_string).collect())
        .collect()
}

/// The `log` events of the session's last run.
async fn logs(app: &TestApp, id: &str) -> Vec<Value> {
    let events = app
        .events()
        .await
        .read_after(id.parse().unwrap(), None, 1000)
        .await
        .unwrap();
    let start = events
        .iter()
        .rposition(|e| e.kind == EventKind::Start)
        .unwrap();
    events[start..]
        .iter()
        .filter(|e| e.kind == EventKind::Log)
        .map(|e| e.data.clone())
        .collect()
}

/// A row's (status, code, source, precision_m, approximate, check, message).
fn summary(row: &Value) -> Value {
    json!([
        row["status"],
        row["code"],
        row["source"],
        row["precision_m"],
        row["approximate"],
        row["check"],
        row["message"]
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rows_api_gives_every_row_its_code_source_and_precision() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let id = upload(&app, "formats.xlsx", mixed_formats()).await;
    let done = run(&app, &id, false).await;
    assert_eq!(
        done["counts"],
        json!({"successful": 6, "failed": 3, "skipped": 1})
    );

    let rows = rows(&app, &id).await;
    let got: Vec<Value> = rows.iter().map(summary).collect();
    assert_eq!(
        got,
        [
            json!([
                "success",
                null,
                "coordinates in text",
                3.1,
                false,
                null,
                "Success"
            ]),
            json!(["success", null, "plus code", 14.0, false, null, "Success"]),
            json!(["success", null, "place pin", 11.0, false, null, "Success"]),
            json!(["success", null, "map centre", null, true, null, "Success"]),
            json!([
                "failed",
                "place_without_coordinates",
                null,
                null,
                false,
                null,
                "Failed after 1 attempt: needs a Places API key: the link names a place but \
                 carries no coordinates"
            ]),
            json!([
                "failed",
                "malformed_number",
                null,
                null,
                false,
                null,
                "Failed after 1 attempt: Malformed number: -26.10.76"
            ]),
            json!([
                "skipped",
                "no_link",
                null,
                null,
                false,
                null,
                "Skipped: No map link provided"
            ]),
            json!([
                "failed",
                "no_coordinates",
                null,
                null,
                false,
                null,
                "Failed after 1 attempt: no coordinates, plus code or map link found in the cell"
            ]),
            json!([
                "success",
                null,
                "coordinates in text",
                11.0,
                false,
                null,
                "Success"
            ]),
            json!([
                "success",
                null,
                "coordinates in text",
                0.11,
                false,
                null,
                "Success"
            ]),
        ]
    );
    assert_eq!(
        (rows[0]["lat"].as_f64(), rows[0]["lng"].as_f64()),
        (Some(-26.108_194_444_444_447), Some(28.052_694_444_444_445))
    );
    assert_eq!(rows[1]["method"], "parse:plus-code");

    // The per-row log keeps the same, leaving out what a row does not have.
    let log = app
        .files
        .read(id.parse().unwrap(), SessionFile::Rows)
        .await
        .unwrap();
    let lines: Vec<Value> = String::from_utf8(log.to_vec())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[3]["source"], "map centre");
    assert_eq!(lines[3]["approximate"], true);
    assert_eq!(lines[4]["code"], "place_without_coordinates");
    assert_eq!(lines[6]["code"], "no_link");
    assert!(lines[0].get("code").is_none() && lines[0].get("check").is_none());
    assert!(lines[0].get("approximate").is_none(), "false is left out");

    // Each failed row's line in the event log carries its row and code.
    let failed: Vec<(Value, Value)> = logs(&app, &id)
        .await
        .iter()
        .filter(|e| e["message"].as_str().unwrap().contains(": Failed after"))
        .map(|e| (e["row"].clone(), e["code"].clone()))
        .collect();
    assert_eq!(
        failed,
        [
            (json!(5), json!("place_without_coordinates")),
            (json!(6), json!("malformed_number")),
            (json!(8), json!("no_coordinates")),
        ]
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn details_add_source_precision_and_check_columns_only_to_the_run_that_asks() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let id = upload(&app, "formats.xlsx", mixed_formats()).await;

    run(&app, &id, false).await;
    let plain = download(&app, &id).await;
    assert_eq!(
        plain[0],
        ["Name", "Region", "Maps link", "LONG", "LATTs", "Comments"]
    );

    run(&app, &id, true).await;
    let detailed = download(&app, &id).await;
    assert_eq!(
        detailed[0],
        [
            "Name",
            "Region",
            "Maps link",
            "LONG",
            "LATTs",
            "Comments",
            "Source",
            "Precision",
            "Check"
        ]
    );
    assert_eq!(detailed.len(), plain.len(), "every row kept");
    for (with, without) in detailed.iter().zip(&plain) {
        assert_eq!(
            with[..6],
            without[..],
            "the details only add columns: {with:?}"
        );
    }
    let details: Vec<[&str; 3]> = detailed[1..]
        .iter()
        .map(|r| {
            let cell = |i: usize| r.get(i).map_or("", String::as_str);
            [cell(6), cell(7), cell(8)]
        })
        .collect();
    assert_eq!(
        details,
        [
            ["coordinates in text", "3.1", ""],
            ["plus code", "14", ""],
            ["place pin", "11", ""],
            ["map centre", "approximate", ""],
            ["", "", ""],
            ["", "", ""],
            ["", "", ""],
            ["", "", ""],
            ["coordinates in text", "11", ""],
            ["coordinates in text", "0.11", ""],
        ]
    );
    let failed = app
        .get(&format!("/api/v1/sessions/{id}/download?rows=failed"))
        .await;
    let failed = sheets::read_xlsx(&failed.bytes().await.unwrap());
    assert_eq!(failed[0].1[0].len(), 9, "the subsets have the same columns");

    // The option belongs to the run that asked: the next run is plain again.
    run(&app, &id, false).await;
    assert_eq!(download(&app, &id).await, plain);

    let r = app
        .post(&format!("/api/v1/sessions/{id}/process?details=maybe"))
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "invalid_query");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_original_apps_process_route_shows_its_own_fields_only() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let id = upload(&app, "formats.xlsx", mixed_formats()).await;
    let r = app.post(&format!("/process/{id}")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let done: Value = r.json().await.unwrap();
    for entry in done["processing_log"].as_array().unwrap() {
        let keys: Vec<&str> = entry
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "row", "name", "status", "reason", "lng", "lat", "attempts", "method", "link",
                "message"
            ]
        );
    }
    assert_eq!(
        done["processed_columns"],
        json!(["Name", "Region", "Maps link", "LONG", "LATTs", "Comments"])
    );
    app.stop().await;
}

/// Cape Town under Gauteng, three rows of a region the data does not know.
fn regions() -> Vec<u8> {
    sheets::xlsx(&[
        vec!["Name", "Region", "Maps link"],
        vec![
            "Sandton",
            "Gauteng",
            "https://maps.google.com/?q=-26.1076,28.0567",
        ],
        vec![
            "Cape Town",
            "Gauteng",
            "https://maps.google.com/?q=-33.9249,18.4241",
        ],
        vec!["A", "Atlantis", "https://maps.google.com/?q=-26.1,28.0"],
        vec!["B", "Atlantis", "https://maps.google.com/?q=-26.2,28.1"],
        vec!["C", "atlantis ", "https://maps.google.com/?q=-26.3,28.2"],
    ])
}

async fn a_point_outside_its_region_is_a_success_with_a_warning(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = upload(&app, "regions.xlsx", regions()).await;
    let done = run(&app, &id, true).await;
    assert_eq!(
        done["counts"],
        json!({"successful": 5, "failed": 0, "skipped": 0}),
        "a warning never fails a row"
    );
    const OUTSIDE: &str = "point is outside Gauteng (ZA-GP): it falls in Western Cape (ZA-WC)";

    let rows = rows(&app, &id).await;
    let checks: Vec<&Value> = rows.iter().map(|r| &r["check"]).collect();
    assert_eq!(
        checks,
        [
            &Value::Null,
            &json!(OUTSIDE),
            &Value::Null,
            &Value::Null,
            &Value::Null
        ]
    );
    assert_eq!(rows[1]["message"], "Success");

    let sheet = download(&app, &id).await;
    assert_eq!(sheet[0][8], "Check");
    assert_eq!(sheet[2][5], "Success");
    assert_eq!(sheet[2][8], OUTSIDE);
    assert_eq!(sheet[1].get(8).map_or("", String::as_str), "");

    let logs = logs(&app, &id).await;
    let warnings: Vec<&Value> = logs.iter().filter(|e| e["level"] == "warning").collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert_eq!(
        (
            warnings[0]["message"].as_str(),
            &warnings[0]["row"],
            &warnings[0]["code"]
        ),
        (
            Some(format!("Row 2 (Cape Town): check: {OUTSIDE}").as_str()),
            &json!(2),
            &json!("outside_region")
        )
    );
    assert_eq!(
        (
            warnings[1]["message"].as_str(),
            &warnings[1]["code"],
            &warnings[1]["regions"]
        ),
        (
            Some(
                "Region names the check does not know (their rows were not checked): \
                 \"Atlantis\""
            ),
            &json!("unknown_region"),
            &json!(["Atlantis"])
        ),
        "reported once for the three rows"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_point_outside_its_region_is_a_success_with_a_warning_on_sqlite() {
    a_point_outside_its_region_is_a_success_with_a_warning(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_point_outside_its_region_is_a_success_with_a_warning_on_redis() {
    a_point_outside_its_region_is_a_success_with_a_warning(Backend::Redis).await;
}

const OPS_TOKEN: &str = "ops-token-for-the-details-retry";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_dead_job_still_writes_the_details_its_run_asked_for() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.job_max_attempts = 1;
        s.ops_token = Some(OPS_TOKEN.into());
    })
    .await;
    let id = upload(&app, "regions.xlsx", regions()).await;
    // Without its upload the run fails, and with one attempt its job goes dead.
    let input = (
        id.parse().unwrap(),
        SessionFile::Input(maplink::domain::FileFormat::Xlsx),
    );
    app.files.remove_file(input.0, input.1).await.unwrap();
    let r = app
        .post(&format!("/api/v1/sessions/{id}/process?details=true"))
        .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    app.wait_for_status(&id, "failed", WAIT).await;
    // Operator actions are declared JSON.
    let ops = |method: Method, path: String| {
        app.client
            .request(method, app.url(&path))
            .bearer_auth(OPS_TOKEN)
            .header("content-type", "application/json")
            .send()
    };
    let task_id = eventually(WAIT, "the dead job", || async {
        let list: Value = ops(Method::GET, "/api/v1/ops/dead-jobs".into())
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        list["dead_jobs"][0]["task_id"].as_str().map(str::to_owned)
    })
    .await;

    app.files.write(input.0, input.1, regions()).await.unwrap();
    let r = ops(
        Method::POST,
        format!("/api/v1/ops/dead-jobs/{task_id}/retry"),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    app.wait_for_status(&id, "completed", WAIT).await;
    assert_eq!(
        download(&app, &id).await[0][6..],
        ["Source", "Precision", "Check"]
    );
    app.stop().await;
}
