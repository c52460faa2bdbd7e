//! The results map of the submitter page in headless Chromium against the real server:
//! a marker per located row from the session's GeoJSON export, tiles from the
//! configured server (or none), the bundled country outlines beneath them, the page's
//! image policy, and the link between markers and the results table.
//!
//! The browser resolves no host names (see `maplink_tests::browser`), so the default
//! tile server fails the way it does offline. Every wait has a deadline; nothing sleeps
//! for a fixed time.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{Router, http::header, response::IntoResponse, routing::get};
use base64::Engine;
use maplink_tests::{
    Backend, TestApp,
    api::{upload_and_process_at, wait_until_completed},
    binaries::start_api,
    browser::{Browser, artifact},
    sheets,
};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(30);

/// The worked example: 30 rows, 26 of them located, all in South Africa.
const LOCATED: u64 = 26;

/// A 256 × 256 tile: pale green with a darker top and left edge, so tiles show as a
/// grid in screenshots.
const TILE_PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAQAAAAEACAIAAADTED8xAAACDklEQVR42u3TAQ0AIAwDwfnPJCAECQiYCGQMATjYJVcDTT7WThgr3uoemEkACMARCAAEAAIAAYAAQAAgABAACAAEAAIAAYAAQAAgABAACAAEAAIAAYAAQAAgABAACAAEAAIAAYAAQAAgABAACAAEAAIAAYAAQAAgABAACAAEAAIAAYAAQAAgABAACAAEgAAEgABAACAAEAAIAAQAAgABgABAACAAEAAIAAQAAgABgABAACAAEAAIAAQAAgABgABAACAAEAAIAAQAAgABgABAACAAEAAIAAQAAgABgABAACAAEAAIAAQAAgABgABAACAABOAFBAACAAGAAEAAIAAQAAgABAACAAGAAEAAIAAQAAgABAACAAGAAEAAIAAQAAgABAACAAGAAEAAIAAQAAgABAACAAGAAEAAIAAQAAgABAACAAGAAEAAIAAQAAgABAACQAACQACOQAAgABAACAAEAAIAAYAAQAAgABAACAAEAAIAAYAAQAAgABAACAAEAAIAAYAAQAAgABAACAAEAAIAAYAAQAAgABAACAAEAAIAAYAAQAAgABAACAAEAAIAAYAAQAAgAAQgAAQAAgABgABAACAAEAAIAAQAAgABgABAACAAEAAIAAQAAgABgABAACAAEAAIAAQAAgABgABAACAAEAAIAAQAAgABgABAACAAEAAIAAQAAgABgABAACAA+Gny2d5DTGhxWQAAAABJRU5ErkJggg==";

/// A tile server on 127.0.0.1: the same PNG for any `/{z}/{x}/{y}.png`, counting
/// requests.
struct TileServer {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl TileServer {
    async fn start() -> Self {
        let png = base64::engine::general_purpose::STANDARD
            .decode(TILE_PNG)
            .unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        let app = Router::new().route(
            "/{z}/{x}/{y}",
            get(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                let png = png.clone();
                async move { ([(header::CONTENT_TYPE, "image/png")], png).into_response() }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { addr, hits, task }
    }

    fn template(&self) -> String {
        format!("http://{}/{{z}}/{{x}}/{{y}}.png", self.addr)
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

impl Drop for TileServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Opens the page on a finished session as a reload finds it: the page keeps the
/// session it works on in the tab's `sessionStorage` and picks it up on load.
async fn open_session(browser: &Browser, base: &str, id: &str) {
    open_session_with_token(browser, base, id, None).await;
}

/// [`open_session`] for a service with tokens: the page keeps the token the same way.
async fn open_session_with_token(browser: &Browser, base: &str, id: &str, token: Option<&str>) {
    browser.goto(&format!("{base}/")).await;
    browser
        .script_with(
            "sessionStorage.setItem('maplink-session', JSON.stringify({ id: arguments[0], columns: [], rows: [] }));
             if (arguments[1]) sessionStorage.setItem('maplink-token', arguments[1]);
             return true;",
            json!([id, token]),
        )
        .await;
    browser.goto(&format!("{base}/")).await;
}

/// Uploads `bytes` and processes them through the page itself, as a person would.
async fn process_through_the_page(browser: &Browser, base: &str, name: &str, bytes: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    browser.goto(&format!("{base}/")).await;
    browser
        .send_keys("#file", &path.display().to_string())
        .await;
    browser
        .wait_for("!document.getElementById('session').hidden", WAIT)
        .await;
    browser.click("#extract").await;
    browser
        .wait_for("!document.getElementById('results').hidden", WAIT)
        .await;
}

/// The worked example uploaded and processed through the page.
async fn process_worked_example(browser: &Browser, base: &str) {
    process_through_the_page(browser, base, "stores.xlsx", &sheets::seed_example_xlsx()).await;
}

/// Waits for the worked example's 26 markers and checks that they lie around South
/// Africa and that the view shows every one of them.
async fn wait_for_the_worked_example(browser: &Browser) {
    wait_for_markers(browser, LOCATED).await;
    let b = marker_bounds(browser).await;
    assert_eq!(b["n"], LOCATED, "{b}");
    let (south, north) = (b["south"].as_f64().unwrap(), b["north"].as_f64().unwrap());
    let (west, east) = (b["west"].as_f64().unwrap(), b["east"].as_f64().unwrap());
    assert!(
        south >= -35.0 && north <= -22.0,
        "latitudes {south} … {north}"
    );
    assert!(west >= 16.0 && east <= 33.0, "longitudes {west} … {east}");
    assert_eq!(b["all_in_view"], true, "the view fits every point: {b}");
}

/// Waits until the map holds `n` markers.
async fn wait_for_markers(browser: &Browser, n: u64) {
    browser
        .wait_for(
            &format!("document.getElementById('map').dataset.markers === '{n}'"),
            WAIT,
        )
        .await;
}

/// The markers' extent and whether the view shows all of them.
async fn marker_bounds(browser: &Browser) -> Value {
    browser
        .script(
            "const map = maplinkMap.leaflet; const pts = [];
             map.eachLayer((l) => { if (l instanceof L.CircleMarker && l.options.details) pts.push(l.getLatLng()); });
             return { n: pts.length,
                      south: Math.min(...pts.map((p) => p.lat)), north: Math.max(...pts.map((p) => p.lat)),
                      west: Math.min(...pts.map((p) => p.lng)), east: Math.max(...pts.map((p) => p.lng)),
                      all_in_view: pts.every((p) => map.getBounds().contains(p)) };",
        )
        .await
}

/// Drawn (non-transparent) pixels on the outlines' canvas: waits until there are some.
async fn wait_for_outlines(browser: &Browser) -> u64 {
    browser
        .wait_for(
            "(() => { const c = document.querySelector('.leaflet-outlines-pane canvas');
                      if (!c || !c.width) return 0;
                      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                      let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
                      return n; })()",
            WAIT,
        )
        .await
        .as_u64()
        .unwrap()
}

/// The `img-src` directive of a content security policy.
fn img_src(csp: &str) -> &str {
    csp.split(';')
        .map(str::trim)
        .find(|d| d.starts_with("img-src"))
        .expect("an img-src directive")
}

async fn csp_of(client: &reqwest::Client, url: &str) -> String {
    let r = client.get(url).send().await.unwrap();
    r.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned()
}

async fn screenshot_map(browser: &Browser, name: &str) {
    browser
        .script("document.getElementById('map').scrollIntoView({ block: 'center' }); return true;")
        .await;
    browser.screenshot(&artifact(name)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_run_the_map_shows_each_located_row_over_country_outlines_when_tiles_fail() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    assert_eq!(
        app.settings.map_tile_url, "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        "default settings"
    );
    let browser = Browser::start().await;

    process_worked_example(&browser, &app.url("")).await;
    wait_for_the_worked_example(&browser).await;
    // The tiles cannot load; the outlines are drawn instead of a grey box.
    browser
        .wait_for(
            "Number(document.getElementById('map').dataset.tileErrors || 0) > 0",
            WAIT,
        )
        .await;
    assert!(wait_for_outlines(&browser).await > 1000);
    assert_eq!(
        browser
            .script("return document.querySelectorAll('.leaflet-control-attribution a[href=\"https://www.openstreetmap.org/copyright\"]').length")
            .await,
        1,
        "the tiles' credit links to OpenStreetMap's copyright page"
    );
    let legend = browser.text("#map-legend").await;
    assert!(legend.contains("located ("), "{legend}");
    assert!(legend.contains("approximate"), "{legend}");
    let note = browser.text("#map-note").await;
    assert!(
        note.starts_with("26 rows on the map; 4 rows have no coordinates."),
        "{note}"
    );
    screenshot_map(&browser, "web-map-offline-tiles.png").await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiles_come_from_the_configured_server_whose_origin_alone_the_policy_adds() {
    let tiles = TileServer::start().await;
    let template = tiles.template();
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.map_tile_url = template.clone()).await;
    let id = upload_and_process_at(
        &app.client,
        &app.url(""),
        "stores.xlsx",
        sheets::seed_example_xlsx(),
    )
    .await;
    wait_until_completed(&app.client, &app.url(""), &id, WAIT).await;

    // The page's policy is the strict one with exactly the tile server's origin added.
    let page = csp_of(&app.client, &app.url("/")).await;
    let strict = csp_of(&app.client, &app.url("/ops")).await;
    let origin = format!("http://{}", tiles.addr);
    assert_eq!(img_src(&page), format!("img-src 'self' data: {origin}"));
    assert_eq!(page, strict.replace(img_src(&strict), img_src(&page)));

    let browser = Browser::start().await;
    open_session(&browser, &app.url(""), &id).await;
    wait_for_markers(&browser, LOCATED).await;
    browser
        .wait_for(
            "Number(document.getElementById('map').dataset.tilesLoaded || 0) > 0",
            WAIT,
        )
        .await;
    assert!(tiles.hits() > 0);
    let shown = browser
        .script_with(
            "return [...document.querySelectorAll('.leaflet-tile-pane img.leaflet-tile-loaded')]
                 .filter((img) => img.src.startsWith(arguments[0] + '/') && img.naturalWidth === 256).length;",
            json!([origin]),
        )
        .await;
    assert!(shown.as_u64().unwrap() > 0, "{shown}");
    assert_eq!(
        browser
            .script("return document.getElementById('map').dataset.tileErrors || '0'")
            .await,
        "0"
    );
    screenshot_map(&browser, "web-map-local-tiles.png").await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_an_empty_tile_url_the_map_draws_outlines_and_asks_for_no_tiles() {
    // The binary, configured through its environment as an operator would.
    let data = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let env: HashMap<String, String> = [
        ("MAPLINK_DATA_DIR", data.path().display().to_string()),
        ("MAPLINK_RESOLVE_ALLOWED_HOSTS", "127.0.0.1".to_owned()),
        ("MAPLINK_MAP_TILE_URL", String::new()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let (_api, base) = start_api(&env, logs.path());
    let client = maplink_tests::http_client();
    let id =
        upload_and_process_at(&client, &base, "stores.xlsx", sheets::seed_example_xlsx()).await;
    wait_until_completed(&client, &base, &id, WAIT).await;
    assert_eq!(
        img_src(&csp_of(&client, &format!("{base}/")).await),
        "img-src 'self' data:",
        "no tile origin"
    );

    let browser = Browser::start().await;
    open_session(&browser, &base, &id).await;
    wait_for_the_worked_example(&browser).await;
    assert!(wait_for_outlines(&browser).await > 1000);
    let images = browser
        .script(
            "return { tiles: document.querySelectorAll('.leaflet-tile').length,
                      requests: performance.getEntriesByType('resource').filter((e) => e.initiatorType === 'img').length };",
        )
        .await;
    assert_eq!(images, json!({ "tiles": 0, "requests": 0 }));
    screenshot_map(&browser, "web-map-no-tiles.png").await;
}

/// The row of the marker farthest from any other (so a click at its centre can only
/// hit it), with its pixel in the map.
const LONELY_MARKER: &str = "const map = maplinkMap.leaflet; const size = map.getSize(); const ms = [];
    map.eachLayer((l) => { if (l instanceof L.CircleMarker && l.options.details) ms.push(l); });
    let best = null;
    for (const m of ms) {
      const p = map.latLngToContainerPoint(m.getLatLng());
      // Clear of the zoom buttons and the attribution in the corners.
      if (p.x < 60 || p.y < 90 || p.x > size.x - 60 || p.y > size.y - 40) continue;
      let nearest = Infinity;
      for (const o of ms) if (o !== m) nearest = Math.min(nearest, p.distanceTo(map.latLngToContainerPoint(o.getLatLng())));
      if (!best || nearest > best.nearest) best = { row: m.options.details.row, name: m.options.details.name, x: p.x, y: p.y, nearest };
    }
    return best;";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clicked_marker_selects_its_table_row_and_a_clicked_row_opens_its_popup() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.map_tile_url = String::new()).await;
    let id = upload_and_process_at(
        &app.client,
        &app.url(""),
        "stores.xlsx",
        sheets::seed_example_xlsx(),
    )
    .await;
    wait_until_completed(&app.client, &app.url(""), &id, WAIT).await;
    let browser = Browser::start().await;
    open_session(&browser, &app.url(""), &id).await;
    wait_for_markers(&browser, LOCATED).await;

    // A real pointer click on the marker's pixel.
    let lonely = browser.script(LONELY_MARKER).await;
    assert!(lonely["nearest"].as_f64().unwrap() > 24.0, "{lonely}");
    let row = lonely["row"].as_u64().unwrap();
    let name = lonely["name"].as_str().unwrap();
    browser
        .click_within(
            "#map",
            lonely["x"].as_f64().unwrap(),
            lonely["y"].as_f64().unwrap(),
        )
        .await;
    browser
        .wait_for(
            &format!("document.querySelector('#rows tbody tr.selected')?.dataset.row === '{row}'"),
            WAIT,
        )
        .await;
    assert_eq!(
        browser
            .script("return document.getElementById('map').dataset.popupRow")
            .await,
        row.to_string()
    );
    let popup = browser.text(".leaflet-popup-content").await;
    assert!(popup.starts_with(name), "{popup}");
    // The pointer rests on the marker: its tooltip names the row.
    browser
        .wait_for(
            &format!(
                "(document.querySelector('.leaflet-tooltip') || {{}}).textContent?.startsWith({})",
                json!(name)
            ),
            WAIT,
        )
        .await;
    assert!(popup.contains("Coordinates"), "{popup}");
    assert_eq!(
        browser
            .text(&format!("#rows tbody tr[data-row='{row}'] td:nth-child(2)"))
            .await,
        name
    );
    screenshot_map(&browser, "web-map-marker-clicked.png").await;

    // Choosing another row in the table shows it on the map.
    let other = browser
        .script_with(
            "return [...document.querySelectorAll('#rows tbody tr')].map((tr) => Number(tr.dataset.row))
                 .find((r) => r !== arguments[0] && maplinkMap.marker(r));",
            json!([row]),
        )
        .await
        .as_u64()
        .unwrap();
    browser
        .click(&format!(
            "#rows tbody tr[data-row='{other}'] td:nth-child(2)"
        ))
        .await;
    browser
        .wait_for(
            &format!("document.getElementById('map').dataset.popupRow === '{other}'"),
            WAIT,
        )
        .await;
    let other_name = browser
        .text(&format!(
            "#rows tbody tr[data-row='{other}'] td:nth-child(2)"
        ))
        .await;
    assert!(
        browser
            .text(".leaflet-popup-content")
            .await
            .starts_with(&other_name)
    );
    let state = browser
        .script_with(
            "const m = maplinkMap.marker(arguments[0]);
             return { in_view: maplinkMap.leaflet.getBounds().contains(m.getLatLng()),
                      selected: document.querySelector('#rows tbody tr.selected').dataset.row };",
            json!([other]),
        )
        .await;
    assert_eq!(
        state,
        json!({ "in_view": true, "selected": other.to_string() })
    );

    // A row without coordinates has nothing to show: the popup closes.
    let unlocated = browser
        .script(
            "return [...document.querySelectorAll('#rows tbody tr')].map((tr) => Number(tr.dataset.row))
                 .find((r) => !maplinkMap.marker(r));",
        )
        .await
        .as_u64()
        .unwrap();
    browser
        .click(&format!(
            "#rows tbody tr[data-row='{unlocated}'] td:nth-child(2)"
        ))
        .await;
    browser
        .wait_for("!document.getElementById('map').dataset.popupRow", WAIT)
        .await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_of_a_finished_session_shows_the_map_again() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.map_tile_url = String::new()).await;
    let browser = Browser::start().await;
    process_worked_example(&browser, &app.url("")).await;
    wait_for_markers(&browser, LOCATED).await;

    browser.goto(&app.url("/")).await;
    browser
        .wait_for("!document.getElementById('results').hidden", WAIT)
        .await;
    wait_for_the_worked_example(&browser).await;
    assert!(wait_for_outlines(&browser).await > 1000);
    screenshot_map(&browser, "web-map-after-reload.png").await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cells_reach_the_map_as_text_and_markers_are_coloured_by_status_and_region_check() {
    // A sheet column named "status" moves maplink's own field to `maplink_status`;
    // the page reads it through the export's field names.
    let rows = vec![
        vec!["Name", "Region", "Maps link", "status"],
        vec![
            r#"<img src=x onerror="window.__xss = 1">"#,
            "Gauteng",
            "https://maps.google.com/?q=-26.1076,28.0567",
            "open",
        ],
        vec![
            "<script>window.__xss = 2</script>",
            "Gauteng",
            "https://maps.google.com/?q=-33.9249,18.4241",
            "open",
        ],
        vec![
            "Centre",
            "Western Cape",
            "https://www.google.com/maps/@-33.9249,18.4241,15z",
            "closed",
        ],
    ];
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.map_tile_url = String::new()).await;
    let id = upload_and_process_at(
        &app.client,
        &app.url(""),
        "hostile.xlsx",
        sheets::xlsx(&rows),
    )
    .await;
    wait_until_completed(&app.client, &app.url(""), &id, WAIT).await;
    let browser = Browser::start().await;
    open_session(&browser, &app.url(""), &id).await;
    wait_for_markers(&browser, 3).await;

    let colours = browser
        .script("return [1, 2, 3].map((r) => maplinkMap.marker(r).options.fillColor);")
        .await;
    assert_eq!(
        colours,
        json!(["#17803d", "#c62828", "#e08a00"]),
        "located, outside its region, approximate"
    );
    let legend = browser.text("#map-legend").await;
    assert!(
        legend.contains("outside the region its row names (1)"),
        "{legend}"
    );

    for (row, name) in [(1, rows[1][0]), (2, rows[2][0])] {
        browser
            .click(&format!("#rows tbody tr[data-row='{row}'] td:nth-child(2)"))
            .await;
        browser
            .wait_for(
                &format!("document.getElementById('map').dataset.popupRow === '{row}'"),
                WAIT,
            )
            .await;
        let popup = browser
            .script(
                "const c = document.querySelector('.leaflet-popup-content');
                 return { title: c.querySelector('strong').textContent,
                          elements: c.querySelectorAll('img, script').length,
                          check: (c.querySelector('.check-warning') || {}).textContent || null };",
            )
            .await;
        assert_eq!(popup["title"], name);
        assert_eq!(popup["elements"], 0);
        if row == 2 {
            assert!(
                popup["check"]
                    .as_str()
                    .unwrap()
                    .starts_with("point is outside Gauteng"),
                "{popup}"
            );
        }
    }
    assert_eq!(
        browser.script("return window.__xss === undefined").await,
        true
    );
    // Outside the map (whose tiles are images and whose credit has an SVG flag) the
    // page holds no image, SVG or script at all.
    assert_eq!(
        browser
            .script("return [...document.querySelectorAll('main img, main svg, main script')].filter((e) => !e.closest('#map')).length")
            .await,
        0
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_sheet_is_drawn_on_one_canvas_and_rows_beyond_the_table_still_show_their_popup() {
    const ROWS: usize = 1500;
    let mut rows = vec![vec![
        "Name".to_owned(),
        "Region".to_owned(),
        "Maps link".to_owned(),
    ]];
    for i in 0..ROWS {
        let lat = -23.5 - (i / 50) as f64 * 0.35;
        let lng = 17.5 + (i % 50) as f64 * 0.3;
        rows.push(vec![
            format!("Site {}", i + 1),
            String::new(),
            format!("https://maps.google.com/?q={lat:.4},{lng:.4}"),
        ]);
    }
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.map_tile_url = String::new()).await;
    let id = upload_and_process_at(
        &app.client,
        &app.url(""),
        "sites.xlsx",
        sheets::xlsx_named("Sites", &rows),
    )
    .await;
    wait_until_completed(&app.client, &app.url(""), &id, WAIT).await;
    let browser = Browser::start().await;
    open_session(&browser, &app.url(""), &id).await;
    wait_for_markers(&browser, ROWS as u64).await;

    // No element per marker: the markers and the outlines are two canvases.
    wait_for_outlines(&browser).await;
    let dom = browser
        .script(
            "return { canvases: document.querySelectorAll('#map canvas').length,
                      per_marker: document.querySelectorAll('#map .leaflet-pane svg, #map .leaflet-marker-icon').length,
                      table_rows: document.querySelectorAll('#rows tbody tr').length };",
        )
        .await;
    assert_eq!(
        dom,
        json!({ "canvases": 2, "per_marker": 0, "table_rows": 1000 })
    );

    // Row 1400 is on the map but not in the table: its marker still opens its popup.
    let at = browser
        .script(
            "const map = maplinkMap.leaflet; const m = maplinkMap.marker(1400);
             map.setView(m.getLatLng(), 12, { animate: false });
             const p = map.latLngToContainerPoint(m.getLatLng()); return [p.x, p.y];",
        )
        .await;
    browser
        .click_within("#map", at[0].as_f64().unwrap(), at[1].as_f64().unwrap())
        .await;
    browser
        .wait_for(
            "document.getElementById('map').dataset.popupRow === '1400'",
            WAIT,
        )
        .await;
    assert!(
        browser
            .text(".leaflet-popup-content")
            .await
            .starts_with("Site 1400")
    );
    assert_eq!(
        browser
            .script("return document.querySelectorAll('#rows tbody tr.selected').length")
            .await,
        0
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_tokens_the_map_asks_for_its_points_with_the_token_in_a_header() {
    const TOKEN: &str = "token-map-0123456789";
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.submitter_tokens = vec![TOKEN.into()];
        s.map_tile_url = String::new();
    })
    .await;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {TOKEN}").parse().unwrap(),
    );
    let client = reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap();
    let id = upload_and_process_at(
        &client,
        &app.url(""),
        "stores.xlsx",
        sheets::seed_example_xlsx(),
    )
    .await;
    wait_until_completed(&client, &app.url(""), &id, WAIT).await;
    let browser = Browser::start().await;
    open_session_with_token(&browser, &app.url(""), &id, Some(TOKEN)).await;
    wait_for_markers(&browser, LOCATED).await;
    assert!(
        wait_for_outlines(&browser).await > 1000,
        "the outlines need no token"
    );
    assert_eq!(
        browser
            .script_with(
                "return performance.getEntriesByType('resource').filter((e) => e.name.includes(arguments[0])).length;",
                json!([TOKEN]),
            )
            .await,
        0,
        "no request carries the token in its URL"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_map_data_buttons_save_the_located_rows_as_geojson_kml_and_gpx() {
    use std::str::FromStr;

    let app = TestApp::spawn(Backend::Sqlite).await;
    let browser = Browser::start().await;
    process_worked_example(&browser, &app.url("")).await;
    let expected: Vec<(f64, f64)> = sheets::seed_expected()
        .into_iter()
        .filter_map(|e| Some((e.lng?, e.lat?)))
        .collect();

    browser.click("#download-geojson").await;
    let bytes = browser.downloaded("processed_stores.geojson", WAIT).await;
    let fc = geojson::FeatureCollection::from_str(std::str::from_utf8(&bytes).unwrap()).unwrap();
    let points: Vec<(f64, f64)> = fc
        .features
        .iter()
        .map(|f| match f.geometry.as_ref().map(|g| &g.value) {
            Some(geojson::GeometryValue::Point { coordinates }) => (coordinates[0], coordinates[1]),
            other => panic!("not a point: {other:?}"),
        })
        .collect();
    assert_eq!(points, expected);

    browser.click("#download-kml").await;
    let kml = browser.downloaded("processed_stores.kml", WAIT).await;
    let kml = String::from_utf8(kml).unwrap();
    assert!(kml::Kml::<f64>::from_str(&kml).is_ok());
    assert_eq!(kml.matches("<Placemark>").count(), expected.len());

    browser.click("#download-gpx").await;
    let gpx = browser.downloaded("processed_stores.gpx", WAIT).await;
    let gpx = gpx::read(gpx.as_slice()).unwrap();
    let points: Vec<(f64, f64)> = gpx
        .waypoints
        .iter()
        .map(|w| (w.point().x(), w.point().y()))
        .collect();
    assert_eq!(points, expected);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_with_more_points_than_the_map_draws_points_to_the_geojson_instead() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.map_max_points = 25).await;
    let browser = Browser::start().await;
    process_worked_example(&browser, &app.url("")).await;
    browser
        .wait_for(
            "document.getElementById('map-note').textContent.includes('more than the 25')",
            WAIT,
        )
        .await;
    assert_eq!(
        browser.text("#map-note").await,
        "26 rows have coordinates, more than the 25 this map draws. Download the GeoJSON to see them all in a map tool."
    );
    let state = browser
        .script(
            "return { hidden: document.getElementById('map').hidden,
                      markers: document.getElementById('map').dataset.markers,
                      fetched: performance.getEntriesByType('resource')
                        .filter((e) => e.name.includes('format=geojson')).length };",
        )
        .await;
    assert_eq!(
        state,
        json!({ "hidden": true, "markers": "0", "fetched": 0 })
    );
    app.stop().await;
}
