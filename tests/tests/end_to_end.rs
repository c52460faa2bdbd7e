//! Upload → process → download of the original app's worked example, on both backends.

use std::time::Duration;

use calamine::Data;
use maplink_tests::{Backend, TestApp, sheets};
use serde_json::Value;

async fn worked_example_round_trip(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let input = sheets::seed_example_xlsx();

    let created = app.upload_ok("test_input.xlsx", input).await;
    assert_eq!(created["total_rows"], 30);
    assert_eq!(created["map_column"], "Maps link");
    assert_eq!(created["status"], "uploaded");
    assert_eq!(
        created["preview_columns"],
        serde_json::json!(["Name", "Region", "Maps link", "LONG", "LATTs"])
    );
    assert_eq!(created["preview_data"].as_array().unwrap().len(), 10);
    assert_eq!(
        created["preview_data"][2]["Maps link"],
        Value::Null,
        "blank cells are null"
    );
    let id = created["session_id"].as_str().unwrap().to_owned();

    let r = app.process(&id).await;
    assert_eq!(r.status(), 202);
    let done = app
        .wait_for_status(&id, "completed", Duration::from_secs(20))
        .await;
    assert_eq!(
        done["counts"],
        serde_json::json!({"successful": 26, "failed": 2, "skipped": 2})
    );
    assert_eq!(done["progress"]["done"], 30);
    assert_eq!(done["progress"]["percent"], 100.0);

    let r = app.download(&id).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let disposition = r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.contains("filename=\"processed_test_input.xlsx\""),
        "{disposition}"
    );
    // Streamed from the file store with its length announced.
    let announced: usize = r.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let body = r.bytes().await.unwrap();
    assert_eq!(body.len(), announced);
    let output = sheets::read_xlsx(&body);

    assert_eq!(output.len(), 1);
    let (name, rows) = &output[0];
    assert_eq!(name, "Sites", "the sheet keeps its name");
    let header: Vec<String> = rows[0].iter().map(|c| c.to_string()).collect();
    assert_eq!(
        header,
        ["Name", "Region", "Maps link", "LONG", "LATTs", "Comments"]
    );

    let input_rows = sheets::csv_rows(sheets::SEED_EXAMPLE_CSV);
    let expected = sheets::seed_expected();
    assert_eq!(rows.len(), 31, "every row kept");
    for e in &expected {
        let row = &rows[e.row];
        let given = &input_rows[e.row];
        for (col, given) in given.iter().enumerate().take(3) {
            let cell = row.get(col).map(|c| c.to_string()).unwrap_or_default();
            assert_eq!(&cell, given, "row {} column {col} changed", e.row);
        }
        let number = |c: Option<&Data>| match c {
            Some(Data::Float(f)) => Some(*f),
            Some(Data::Int(i)) => Some(*i as f64),
            Some(Data::Empty) | None => None,
            Some(other) => panic!("row {}: coordinate cell holds {other:?}", e.row),
        };
        assert_eq!(number(row.get(3)), e.lng, "row {} LONG", e.row);
        assert_eq!(number(row.get(4)), e.lat, "row {} LATTs", e.row);
        let comment = row.get(5).map(|c| c.to_string()).unwrap_or_default();
        match e.status.as_str() {
            "success" => assert_eq!(comment, "Success", "row {}", e.row),
            "skipped" => assert_eq!(comment, "Skipped: No map link provided", "row {}", e.row),
            "failed" => assert!(
                comment.starts_with("Failed after "),
                "row {}: {comment}",
                e.row
            ),
            other => panic!("unexpected status {other}"),
        }
    }
    for (rows, names, suffix) in [
        (
            "failed",
            vec!["Bloemfontein (Central)", "PE Central"],
            "_failed",
        ),
        (
            "skipped",
            vec!["durban beachfront", "Kimberley: Big Hole"],
            "_skipped",
        ),
    ] {
        let r = app
            .get(&format!("/api/v1/sessions/{id}/download?rows={rows}"))
            .await;
        assert_eq!(r.status(), 200, "{rows}");
        let disposition = r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            disposition.contains(&format!("filename=\"processed_test_input{suffix}.xlsx\"")),
            "{disposition}"
        );
        let subset = sheets::read_xlsx(&r.bytes().await.unwrap());
        let got: Vec<String> = subset[0]
            .1
            .iter()
            .skip(1)
            .map(|r| r[0].to_string())
            .collect();
        assert_eq!(got, names, "{rows} rows");
        assert_eq!(
            subset[0].1[0].len(),
            6,
            "{rows}: same columns as the full output"
        );
    }
    let r = app
        .get(&format!("/api/v1/sessions/{id}/download?rows=some"))
        .await;
    assert_eq!(r.status(), 400);

    let rows_log = app
        .files
        .read(id.parse().unwrap(), maplink::files::SessionFile::Rows)
        .await
        .unwrap();
    assert_eq!(
        String::from_utf8(rows_log.to_vec())
            .unwrap()
            .lines()
            .count(),
        30,
        "one log line per row"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worked_example_round_trips_on_sqlite() {
    worked_example_round_trip(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worked_example_round_trips_on_redis() {
    worked_example_round_trip(Backend::Redis).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_upload_comes_back_as_csv() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let created = app
        .upload_ok("sites.csv", sheets::SEED_EXAMPLE_CSV.to_vec())
        .await;
    let id = created["session_id"].as_str().unwrap().to_owned();
    assert_eq!(app.process(&id).await.status(), 202);
    app.wait_for_status(&id, "completed", Duration::from_secs(20))
        .await;
    let r = app.download(&id).await;
    assert_eq!(r.headers()["content-type"], "text/csv; charset=utf-8");
    let rows = sheets::csv_rows(&r.bytes().await.unwrap());
    assert_eq!(
        rows[0],
        ["Name", "Region", "Maps link", "LONG", "LATTs", "Comments"]
    );
    assert_eq!(rows[1][3..], ["28.0567", "-26.1076", "Success"]);
    assert_eq!(
        rows[8][2], " https://maps.google.com/?q=-32.9783,27.8708 ",
        "spaces around a link stay"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_completed_session_can_run_again() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let created = app.upload_ok("a.xlsx", sheets::seed_example_xlsx()).await;
    let id = created["session_id"].as_str().unwrap().to_owned();
    app.process(&id).await;
    app.wait_for_status(&id, "completed", Duration::from_secs(20))
        .await;
    let r = app.process(&id).await;
    assert_eq!(r.status(), 202);
    let again: Value = r.json().await.unwrap();
    assert_eq!(again["attempt"], 2);
    let done = app
        .wait_for_status(&id, "completed", Duration::from_secs(20))
        .await;
    assert_eq!(done["counts"]["successful"], 26);
    app.stop().await;
}
