//! Address search for rows with no link, end to end: the real API and its embedded
//! worker convert sheets against a Nominatim stand-in on 127.0.0.1.

use std::time::Duration;

use maplink::config::Settings;
use maplink_tests::{
    Backend, TestApp,
    link_server::BrokenServer,
    nominatim_server::{NominatimServer, place},
    sheets,
};
use serde_json::{Value, json};

const USER_AGENT: &str = "maplink-tests/1.0 (+https://example.org/contact)";

/// Geocoding on against `server`, paced fast enough for tests that do not time it.
fn geocoding_on(server: &NominatimServer) -> impl FnOnce(&mut Settings) {
    let url = server.url();
    move |s| {
        s.geocode_url = Some(url);
        s.geocode_user_agent = USER_AGENT.into();
        s.geocode_rate_per_sec = 50;
    }
}

/// Stores with no link: found by name and region, found by address, not found, one
/// with a link, one with nothing to search for.
fn stores() -> Vec<u8> {
    sheets::xlsx(&[
        vec!["Name", "Region", "Maps link", "Address"],
        vec!["Sandton City", "Gauteng", "", ""],
        vec!["Head office", "Gauteng", "", "83  Rivonia Rd, Sandton"],
        vec!["Nowhere", "Atlantis", "", ""],
        vec!["", "Gauteng", "", ""],
        vec![
            "Menlyn",
            "Gauteng",
            "https://maps.google.com/?q=-25.78,28.27",
            "",
        ],
    ])
}

/// Uploads `sheet`, runs the job to completion and returns the session and its rows.
async fn convert(app: &TestApp, sheet: Vec<u8>) -> (Value, Vec<Value>) {
    let created = app.upload_ok("stores.xlsx", sheet).await;
    let id = created["session_id"].as_str().unwrap().to_owned();
    assert_eq!(app.process(&id).await.status(), 202);
    let done = app
        .wait_for_status(&id, "completed", Duration::from_secs(30))
        .await;
    let page: Value = app
        .get(&format!("/api/v1/sessions/{id}/rows?limit=1000"))
        .await
        .json()
        .await
        .unwrap();
    (done, page["rows"].as_array().unwrap().clone())
}

fn point(row: &Value) -> (f64, f64) {
    (row["lat"].as_f64().unwrap(), row["lng"].as_f64().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_without_a_link_are_placed_by_an_address_search() {
    let server = NominatimServer::start().await;
    let on = geocoding_on(&server);
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        on(s);
        s.geocode_countrycodes = vec!["za".into()];
    })
    .await;

    let (done, rows) = convert(&app, stores()).await;

    assert_eq!(
        done["counts"],
        json!({"successful": 3, "failed": 1, "skipped": 1})
    );
    assert_eq!(point(&rows[0]), place("sandton city, gauteng"));
    assert_eq!(point(&rows[1]), place("83 rivonia rd, sandton"));
    for row in &rows[..2] {
        assert_eq!(
            (row["status"].as_str(), row["method"].as_str()),
            (Some("success"), Some("geocode"))
        );
    }
    assert_eq!(rows[2]["status"], "failed");
    assert_eq!(
        rows[2]["reason"],
        "address search found nothing for \"Nowhere, Atlantis\""
    );
    assert_eq!(
        rows[3]["message"], "Skipped: No map link provided",
        "no address and no name: skipped as before"
    );
    assert_eq!(rows[4]["method"], "parse:q", "links are not searched");

    let mut asked: Vec<String> = server.requests().iter().map(|r| r.q().to_owned()).collect();
    asked.sort();
    assert_eq!(
        asked,
        [
            "83 Rivonia Rd, Sandton",
            "Nowhere, Atlantis",
            "Sandton City, Gauteng"
        ]
    );
    for request in server.requests() {
        for (param, value) in [
            ("format", "jsonv2"),
            ("limit", "1"),
            ("addressdetails", "0"),
            ("countrycodes", "za"),
        ] {
            assert_eq!(request.params.get(param).map(String::as_str), Some(value));
        }
        assert_eq!(request.user_agent.as_deref(), Some(USER_AGENT));
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn address_searches_are_spaced_by_the_rate_limit() {
    let server = NominatimServer::start().await;
    let on = geocoding_on(&server);
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        on(s);
        s.geocode_rate_per_sec = 1;
    })
    .await;
    let sheet = sheets::xlsx(&[
        vec!["Name", "Region", "Maps link"],
        vec!["Sandton City", "Gauteng", ""],
        vec!["Menlyn Park", "Gauteng", ""],
        vec!["Union Buildings", "Pretoria", ""],
    ]);

    let (done, _) = convert(&app, sheet).await;

    assert_eq!(done["counts"]["successful"], 3);
    let mut times: Vec<_> = server.requests().iter().map(|r| r.at).collect();
    assert_eq!(times.len(), 3);
    times.sort();
    let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        gaps.iter().all(|g| *g >= Duration::from_millis(900)),
        "1 request per second, all rows of the job together: gaps {gaps:?}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_answers_address_searches_from_the_cache() {
    let server = NominatimServer::start().await;
    let app = TestApp::spawn_with(Backend::Sqlite, geocoding_on(&server)).await;
    let (first, _) = convert(&app, stores()).await;
    let searches = server.requests().len();
    assert_eq!(searches, 3);

    let (second, rows) = convert(&app, stores()).await;

    assert_eq!(server.requests().len(), searches, "no new searches");
    assert_eq!(second["counts"], first["counts"]);
    assert_eq!(rows[0]["method"], "geocode+cache");
    assert_eq!(point(&rows[0]), place("sandton city, gauteng"));
    assert_eq!(
        rows[2]["reason"], "address search found nothing for \"Nowhere, Atlantis\"",
        "nothing found is remembered too"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_geocoding_off_rows_without_a_link_are_skipped_as_before() {
    let server = NominatimServer::start().await;
    let app = TestApp::spawn(Backend::Sqlite).await;

    let (done, rows) = convert(&app, stores()).await;

    assert_eq!(
        done["counts"],
        json!({"successful": 1, "failed": 0, "skipped": 4})
    );
    for row in &rows[..4] {
        assert_eq!(
            (row["status"].as_str(), row["message"].as_str()),
            (Some("skipped"), Some("Skipped: No map link provided"))
        );
    }
    assert!(server.requests().is_empty());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worked_example_still_gives_26_2_2_with_geocoding_off() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (done, _) = convert(&app, sheets::seed_example_xlsx()).await;
    assert_eq!(
        done["counts"],
        json!({"successful": 26, "failed": 2, "skipped": 2})
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_address_search_fails_the_row_after_its_tries() {
    let closed = BrokenServer::closed_port_url().await;
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.geocode_url = Some(closed)).await;
    let sheet = sheets::xlsx(&[
        vec!["Name", "Region", "Maps link"],
        vec!["Sandton City", "Gauteng", ""],
    ]);

    let (_, rows) = convert(&app, sheet).await;

    assert_eq!(rows[0]["status"], "failed");
    assert_eq!(
        rows[0]["reason"],
        "address search failed: could not connect"
    );
    assert_eq!(rows[0]["attempts"], app.settings.resolve_attempts);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_search_on_an_internal_address_needs_the_private_hosts_setting() {
    let server = NominatimServer::start().await;
    let on = geocoding_on(&server);
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        on(s);
        s.resolve_private_hosts = Vec::new();
    })
    .await;
    let sheet = sheets::xlsx(&[
        vec!["Name", "Region", "Maps link"],
        vec!["Sandton City", "Gauteng", ""],
    ]);

    let (_, rows) = convert(&app, sheet).await;

    assert_eq!(
        rows[0]["reason"],
        "address search failed: refused to connect to internal address 127.0.0.1"
    );
    assert!(server.requests().is_empty());
    app.stop().await;
}
