//! The submitter page in headless Chromium against the real server.

use std::time::Duration;

use maplink_tests::{
    Backend, TestApp,
    browser::{Browser, artifact},
    sheets,
};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(30);

/// Uploads the worked example through the page's file input and waits for the preview.
async fn upload_worked_example(browser: &Browser, dir: &std::path::Path) {
    browser
        .send_keys(
            "#file",
            &write_input(dir, "stores.xlsx", &sheets::seed_example_xlsx()),
        )
        .await;
    browser
        .wait_for("!document.getElementById('session').hidden", WAIT)
        .await;
}

fn write_input(dir: &std::path::Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_preview_extract_results_and_download() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.row_delay_ms = 40).await;
    let browser = Browser::start().await;
    let files = tempfile::tempdir().unwrap();
    browser.goto(&app.url("/")).await;
    assert_eq!(browser.text("h1").await, "maplink");

    upload_worked_example(&browser, files.path()).await;
    assert_eq!(browser.text("#rowcount").await, "30");
    assert_eq!(browser.text("#mapcol").await, "Maps link");
    assert_eq!(
        browser
            .text("#preview tbody tr:first-child td:first-child")
            .await,
        "Sandton City Mall"
    );
    let countdown = browser.text("#expires").await;
    assert!(
        countdown.starts_with("Session expires in 1 h 59 min")
            || countdown.starts_with("Session expires in 2 h"),
        "{countdown}"
    );

    browser.click("#extract").await;
    // The bar moves while the job runs (about 1.2 s with the row delay).
    let mid: f64 = browser
        .wait_for("(() => { const v = Number(document.getElementById('bar').getAttribute('aria-valuenow')); return v > 0 && v < 100 ? v : 0; })()", WAIT)
        .await
        .as_f64()
        .unwrap();
    assert!(mid > 0.0 && mid < 100.0);
    browser
        .wait_for("!document.getElementById('results').hidden", WAIT)
        .await;
    assert_eq!(browser.text("#bar").await, "");
    assert_eq!(
        browser
            .script("return document.getElementById('bar').getAttribute('aria-valuenow')")
            .await,
        "100"
    );
    assert_eq!(browser.text("#stat-total").await, "30");
    assert_eq!(browser.text("#stat-successful").await, "26");
    assert_eq!(browser.text("#stat-failed").await, "2");
    assert_eq!(browser.text("#stat-skipped").await, "2");
    let log = browser.text("#log").await;
    assert!(
        log.contains("Started: 30 rows")
            && log.contains("Done: 26 successful, 2 failed, 2 skipped"),
        "{log}"
    );
    assert_eq!(
        browser
            .script("return document.querySelectorAll('#rows tbody tr').length")
            .await,
        30
    );
    assert_eq!(
        browser
            .text("#rows tbody tr:nth-child(5) td:nth-child(3)")
            .await,
        "failed"
    );

    browser
        .script("document.getElementById('results').scrollIntoView(); return true")
        .await;
    browser.screenshot(&artifact("web-page-results.png")).await;

    browser.click("#download-all").await;
    let downloaded = browser.downloaded("processed_stores.xlsx", WAIT).await;
    let output = sheets::read_xlsx(&downloaded);
    assert_eq!(output[0].1.len(), 31);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticking_the_details_box_adds_source_precision_and_check_columns() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let browser = Browser::start().await;
    let files = tempfile::tempdir().unwrap();
    browser.goto(&app.url("/")).await;
    upload_worked_example(&browser, files.path()).await;
    assert_eq!(
        browser
            .script("return document.getElementById('details').checked")
            .await,
        false,
        "off unless asked for"
    );

    browser.click("#details").await;
    browser.click("#extract").await;
    browser
        .wait_for("!document.getElementById('results').hidden", WAIT)
        .await;
    // The results table shows how each point was found.
    assert_eq!(
        browser
            .text("#rows tbody tr:nth-child(2) td:nth-child(7)")
            .await,
        "map centre (approximate)"
    );

    browser.click("#download-all").await;
    let bytes = browser.downloaded("processed_stores.xlsx", WAIT).await;
    let rows = &sheets::read_xlsx(&bytes)[0].1;
    let text = |r: usize, c: usize| rows[r].get(c).map(|d| d.to_string()).unwrap_or_default();
    assert_eq!(
        (6..9).map(|c| text(0, c)).collect::<Vec<_>>(),
        ["Source", "Precision", "Check"]
    );
    assert_eq!(
        (text(1, 6), text(1, 7), text(1, 8)),
        ("coordinates in link".into(), "11".into(), String::new()),
        "Sandton City Mall, a q= link with four decimals"
    );
    assert_eq!(
        (text(2, 6), text(2, 7)),
        ("map centre".into(), "approximate".into()),
        "Cape Town CBD, an @ map view"
    );
    assert_eq!(rows.len(), 31);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cell_markup_is_shown_as_text_and_never_runs() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let browser = Browser::start().await;
    let files = tempfile::tempdir().unwrap();
    let script = "<script>window.__pwned = 1</script>";
    let img = "<img src=x onerror=\"window.__pwned = 2\">";
    let sheet = sheets::xlsx(&[
        vec!["Name", "Region", "Maps"],
        vec![script, img, "https://maps.google.com/?q=-26.1,28.0"],
        vec![img, script, "<svg onload=\"window.__pwned = 3\">"],
    ]);
    browser.goto(&app.url("/")).await;
    browser
        .send_keys("#file", &write_input(files.path(), "xss.xlsx", &sheet))
        .await;
    browser
        .wait_for("!document.getElementById('session').hidden", WAIT)
        .await;
    assert_eq!(
        browser
            .text("#preview tbody tr:first-child td:first-child")
            .await,
        script
    );
    assert_eq!(
        browser
            .text("#preview tbody tr:first-child td:nth-child(2)")
            .await,
        img
    );
    browser.click("#extract").await;
    browser
        .wait_for("!document.getElementById('results').hidden", WAIT)
        .await;
    assert_eq!(
        browser
            .text("#rows tbody tr:nth-child(2) td:nth-child(2)")
            .await,
        img
    );
    assert_eq!(
        browser
            // The map's own tiles and Leaflet's icons are the page's; cells' markup is
            // checked everywhere else (and inside the map by web_map.rs).
            .script("return [...document.querySelectorAll('main img, main svg, main script')].filter((e) => !e.closest('#map')).length")
            .await,
        0
    );
    assert_eq!(
        browser.script("return window.__pwned === undefined").await,
        Value::Bool(true)
    );
    browser.screenshot(&artifact("web-page-markup.png")).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_large_files_and_expired_sessions_get_friendly_messages() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.max_upload_bytes = 2048).await;
    let browser = Browser::start().await;
    let files = tempfile::tempdir().unwrap();
    browser.goto(&app.url("/")).await;

    let mut big = b"Name,Region,Maps\n".to_vec();
    big.resize(10_000, b'x');
    browser
        .send_keys("#file", &write_input(files.path(), "big.csv", &big))
        .await;
    browser
        .wait_for("!document.getElementById('message').hidden", WAIT)
        .await;
    assert_eq!(
        browser.text("#message").await,
        "File too large. The maximum upload size is 2 KiB."
    );

    let small = b"Name,Region,Maps\nA,B,\"1.5,2.5\"\n";
    browser
        .send_keys("#file", &write_input(files.path(), "small.csv", small))
        .await;
    browser
        .wait_for("!document.getElementById('session').hidden", WAIT)
        .await;
    assert!(
        browser
            .script("return document.getElementById('message').hidden")
            .await
            == Value::Bool(true)
    );
    // The session goes away behind the page's back.
    let id = browser
        .script("return document.querySelector('#filename') && window.location.href")
        .await;
    assert!(id.is_string());
    let sessions = app.store().await;
    for expired in sessions.list_expired(-1_000_000).await.unwrap() {
        sessions.delete(expired).await.unwrap();
    }
    browser.click("#extract").await;
    browser
        .wait_for("!document.getElementById('message').hidden", WAIT)
        .await;
    assert_eq!(
        browser.text("#message").await,
        "Invalid session ID. Your session may have expired. Please upload the file again."
    );
    browser.screenshot(&artifact("web-page-expired.png")).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_fits_a_phone_and_works_from_the_keyboard() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let browser = Browser::start().await;
    let files = tempfile::tempdir().unwrap();
    browser.resize(390, 844).await;
    browser.goto(&app.url("/")).await;
    upload_worked_example(&browser, files.path()).await;
    // Wide tables scroll inside their own box; the page itself does not scroll sideways.
    let overflow = browser
        .script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
        )
        .await;
    assert!(
        overflow.as_i64().unwrap() <= 0,
        "the page is {overflow} px wider than a phone"
    );
    // After an upload the Extract button has the focus, and Enter presses it.
    assert_eq!(
        browser.script("return document.activeElement.id").await,
        "extract"
    );
    browser.send_keys("#extract", "\u{E007}").await; // the Enter key
    browser
        .wait_for("!document.getElementById('results').hidden", WAIT)
        .await;
    assert_eq!(browser.text("#stat-successful").await, "26");
    browser.screenshot(&artifact("web-page-phone.png")).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_file_is_uploaded_and_the_session_can_be_renewed() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let browser = Browser::start().await;
    browser.goto(&app.url("/")).await;
    // What a drag from the desktop delivers: a drop event carrying a file.
    browser
        .script(
            "const dt = new DataTransfer();
             dt.items.add(new File(['Name,Region,Maps\\nDropped Site,Gauteng,\"-26.1,28.0\"\\n'], 'dropped.csv', { type: 'text/csv' }));
             const drop = document.getElementById('drop');
             drop.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
             drop.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
             return true;",
        )
        .await;
    browser
        .wait_for("!document.getElementById('session').hidden", WAIT)
        .await;
    assert_eq!(browser.text("#filename").await, "dropped.csv");
    assert_eq!(
        browser
            .text("#preview tbody tr:first-child td:first-child")
            .await,
        "Dropped Site"
    );

    browser.click("#renew").await;
    browser
        .wait_for("!document.getElementById('message').hidden", WAIT)
        .await;
    let message = browser.text("#message").await;
    assert!(
        message.starts_with("Your session will be kept for another "),
        "{message}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_during_a_run_picks_the_session_up_again() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.row_delay_ms = 80).await;
    let browser = Browser::start().await;
    let files = tempfile::tempdir().unwrap();
    browser.goto(&app.url("/")).await;
    upload_worked_example(&browser, files.path()).await;
    browser.click("#extract").await;
    browser
        .wait_for(
            "Number(document.getElementById('bar').getAttribute('aria-valuenow')) > 0",
            WAIT,
        )
        .await;

    browser.goto(&app.url("/")).await; // the user reloads mid-run
    browser
        .wait_for("!document.getElementById('progress-card').hidden", WAIT)
        .await;
    assert_eq!(browser.text("#filename").await, "stores.xlsx");
    assert_eq!(
        browser
            .text("#preview tbody tr:first-child td:first-child")
            .await,
        "Sandton City Mall"
    );
    browser
        .wait_for("!document.getElementById('results').hidden", WAIT)
        .await;
    assert_eq!(browser.text("#stat-successful").await, "26");

    browser.goto(&app.url("/")).await; // and once more after it finished
    browser
        .wait_for("!document.getElementById('results').hidden", WAIT)
        .await;
    assert_eq!(browser.text("#stat-failed").await, "2");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_token_downloads_send_it_in_a_header_and_never_in_a_url() {
    const TOKEN: &str = "token-browser-0123456789";
    let app =
        TestApp::spawn_with(Backend::Sqlite, |s| s.submitter_tokens = vec![TOKEN.into()]).await;
    let browser = Browser::start().await;
    let files = tempfile::tempdir().unwrap();
    browser.goto(&app.url("/")).await;

    // Without a token the upload is refused and the page asks for one.
    browser
        .send_keys(
            "#file",
            &write_input(files.path(), "stores.xlsx", &sheets::seed_example_xlsx()),
        )
        .await;
    browser
        .wait_for("!document.getElementById('token-box').hidden", WAIT)
        .await;
    browser.send_keys("#token", TOKEN).await;
    browser.click("#token-form button[type=submit]").await;
    upload_worked_example(&browser, files.path()).await;
    browser.click("#extract").await;
    browser
        .wait_for("!document.getElementById('results').hidden", WAIT)
        .await;

    let links = browser
        .script("return [...document.querySelectorAll('.downloads a')].map(a => a.href)")
        .await;
    let links: Vec<&str> = links
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        links.len(),
        6,
        "the sheet, its failed and skipped rows, three map formats"
    );
    assert!(
        links.iter().all(|l| !l.contains(TOKEN)),
        "a download link carries the token: {links:?}"
    );

    // The name comes from Content-Disposition; the rows are the two that failed.
    browser.click("#download-failed").await;
    let failed = browser
        .downloaded("processed_stores_failed.xlsx", WAIT)
        .await;
    assert_eq!(sheets::read_xlsx(&failed)[0].1.len(), 3);
    browser.click("#download-all").await;
    let all = browser.downloaded("processed_stores.xlsx", WAIT).await;
    assert_eq!(sheets::read_xlsx(&all)[0].1.len(), 31);
    browser.click("#download-kml").await;
    let kml = browser.downloaded("processed_stores.kml", WAIT).await;
    assert_eq!(
        String::from_utf8_lossy(&kml).matches("<Placemark>").count(),
        26
    );
    assert!(
        browser
            .script("return document.getElementById('message').hidden")
            .await
            == Value::Bool(true),
        "{}",
        browser.text("#message").await
    );

    // Only the event stream, which EventSource opens without headers, had the token
    // in its URL.
    let requested = browser
        .script("return performance.getEntriesByType('resource').map(e => e.name)")
        .await;
    let with_token: Vec<&str> = requested
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .filter(|u| u.contains(TOKEN))
        .collect();
    assert!(
        with_token.iter().all(|u| u.contains("/events?")),
        "the token was sent in a URL: {with_token:?}"
    );
    app.stop().await;
}
