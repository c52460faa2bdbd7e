//! The map exports of a completed session — GeoJSON, KML, GPX — through the API, each
//! read back with its format's own reader: the worked example's 26 located rows with
//! the coordinates the original app produced, the 4 others left out and counted.

use std::{str::FromStr, time::Duration};

use maplink_tests::{Backend, TestApp, sheets};
use serde_json::Value;

async fn completed_worked_example(app: &TestApp, filename: &str, bytes: Vec<u8>) -> String {
    let created = app.upload_ok(filename, bytes).await;
    let id = created["session_id"].as_str().unwrap().to_owned();
    assert_eq!(app.process(&id).await.status(), 202);
    app.wait_for_status(&id, "completed", Duration::from_secs(20))
        .await;
    id
}

/// `GET …/download?format=<format>`: checks the headers every export has and returns
/// the body.
async fn export(app: &TestApp, id: &str, format: &str, content_type: &str, name: &str) -> String {
    let r = app
        .get(&format!("/api/v1/sessions/{id}/download?format={format}"))
        .await;
    assert_eq!(r.status(), 200, "{format}");
    let header = |h: &str| {
        r.headers()
            .get(h)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(header("content-type"), content_type);
    assert!(
        header("content-disposition").contains(&format!("filename=\"{name}\"")),
        "{}",
        header("content-disposition")
    );
    assert_eq!(
        header("maplink-unlocated-rows"),
        "4",
        "2 failed + 2 skipped"
    );
    let length: usize = header("content-length").parse().unwrap();
    let body = r.text().await.unwrap();
    assert_eq!(body.len(), length);
    body
}

/// RFC 7946: a FeatureCollection of Features with Point geometries of two numbers,
/// `[longitude, latitude]` in range; no `crs` member anywhere.
fn check_rfc_7946(raw: &Value) {
    assert_eq!(raw["type"], "FeatureCollection");
    assert!(raw.get("crs").is_none());
    for f in raw["features"].as_array().unwrap() {
        assert_eq!(f["type"], "Feature");
        assert!(f.get("crs").is_none());
        assert_eq!(f["geometry"]["type"], "Point");
        let c = f["geometry"]["coordinates"].as_array().unwrap();
        assert_eq!(c.len(), 2);
        let (lng, lat) = (c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
        assert!((-180.0..=180.0).contains(&lng) && (-90.0..=90.0).contains(&lat));
        // South Africa: a swapped pair would put latitude ~20 and longitude ~-30.
        assert!(lng > 15.0 && lat < -20.0, "[lng, lat] order: {c:?}");
    }
}

async fn worked_example_exports(backend: Backend, filename: &str, bytes: Vec<u8>) {
    let app = TestApp::spawn(backend).await;
    let id = completed_worked_example(&app, filename, bytes).await;
    let stem = filename.rsplit_once('.').unwrap().0;

    // GeoJSON, by the geojson crate and against the RFC's rules.
    let body = export(
        &app,
        &id,
        "geojson",
        "application/geo+json",
        &format!("processed_{stem}.geojson"),
    )
    .await;
    let raw: Value = serde_json::from_str(&body).unwrap();
    check_rfc_7946(&raw);
    let geojson::GeoJson::FeatureCollection(fc) = geojson::GeoJson::from_str(&body).unwrap() else {
        panic!("not a FeatureCollection");
    };
    let points: Vec<(u64, f64, f64)> = fc
        .features
        .iter()
        .map(|f| {
            let Some(geojson::GeometryValue::Point { coordinates }) =
                f.geometry.as_ref().map(|g| &g.value)
            else {
                panic!("not a point");
            };
            let row = f.properties.as_ref().unwrap()["row"].as_u64().unwrap();
            assert_eq!(f.id, Some(geojson::feature::Id::Number(row.into())));
            (row, coordinates[0], coordinates[1])
        })
        .collect();
    sheets::assert_seed_points("geojson", &points);
    let first = fc.features[0].properties.as_ref().unwrap();
    for column in ["Name", "Region", "Maps link", "LONG", "LATTs", "Comments"] {
        assert!(first.contains_key(column), "column {column} in {first:?}");
    }
    assert_eq!(first["status"], "success");
    assert_eq!(first["source"], "coordinates in link");
    assert!(first["precision_m"].as_f64().unwrap() > 0.0);
    let maplink = &raw["maplink"];
    assert_eq!(
        (
            maplink["located_rows"].as_u64(),
            maplink["unlocated_rows"].as_u64()
        ),
        (Some(26), Some(4))
    );
    assert_eq!(maplink["columns"]["name"], "Name");
    assert_eq!(maplink["columns"]["link"], "Maps link");

    // KML, by the kml crate: a Placemark per located row, named from the Name column.
    let body = export(
        &app,
        &id,
        "kml",
        "application/vnd.google-earth.kml+xml",
        &format!("processed_{stem}.kml"),
    )
    .await;
    let parsed = kml::Kml::<f64>::from_str(&body).unwrap();
    let mut placemarks = Vec::new();
    placemarks_of(&parsed, &mut placemarks);
    let points: Vec<(u64, f64, f64)> = placemarks
        .iter()
        .map(|p| {
            let Some(kml::types::Geometry::Point(point)) = &p.geometry else {
                panic!("no point in {p:?}");
            };
            let row = extended(p, "row").parse().unwrap();
            (row, point.coord.x, point.coord.y)
        })
        .collect();
    sheets::assert_seed_points("kml", &points);
    let names = sheets::csv_rows(sheets::SEED_EXAMPLE_CSV);
    assert_eq!(placemarks[0].name.as_deref(), Some(names[1][0].as_str()));
    assert_eq!(extended(&placemarks[0], "Region"), names[1][1]);
    assert!(body.contains("26 located rows; 4 rows without coordinates left out"));

    // GPX, by the gpx crate: a waypoint per located row.
    let body = export(
        &app,
        &id,
        "gpx",
        "application/gpx+xml",
        &format!("processed_{stem}.gpx"),
    )
    .await;
    let parsed = gpx::read(body.as_bytes()).unwrap();
    let rows = sheets::seed_expected_points().into_iter().map(|p| p.0);
    let points: Vec<(u64, f64, f64)> = parsed
        .waypoints
        .iter()
        .zip(rows)
        .map(|(w, row)| (row, w.point().x(), w.point().y()))
        .collect();
    sheets::assert_seed_points("gpx", &points);
    assert_eq!(
        parsed.waypoints[0].name.as_deref(),
        Some(names[1][0].as_str())
    );
    assert_eq!(
        parsed.metadata.unwrap().description.as_deref(),
        Some("26 located rows; 4 rows without coordinates left out")
    );
}

fn placemarks_of(k: &kml::Kml<f64>, out: &mut Vec<kml::types::Placemark<f64>>) {
    match k {
        kml::Kml::KmlDocument(d) => d.elements.iter().for_each(|e| placemarks_of(e, out)),
        kml::Kml::Document { elements, .. } => elements.iter().for_each(|e| placemarks_of(e, out)),
        kml::Kml::Placemark(p) => out.push(p.clone()),
        _ => {}
    }
}

/// The value of a placemark's `<Data name="…">` in its ExtendedData.
fn extended(p: &kml::types::Placemark<f64>, name: &str) -> String {
    p.children
        .iter()
        .filter(|c| c.name == "ExtendedData")
        .flat_map(|c| &c.children)
        .find(|d| d.attrs.get("name").map(String::as_str) == Some(name))
        .and_then(|d| d.children.first()?.content.clone())
        .unwrap_or_default()
}

#[tokio::test]
async fn worked_example_exports_from_an_xlsx_on_sqlite() {
    worked_example_exports(Backend::Sqlite, "stores.xlsx", sheets::seed_example_xlsx()).await;
}

#[tokio::test]
async fn worked_example_exports_from_a_csv_on_redis() {
    worked_example_exports(
        Backend::Redis,
        "stores.csv",
        sheets::SEED_EXAMPLE_CSV.to_vec(),
    )
    .await;
}

#[tokio::test]
async fn export_requests_that_cannot_be_met_are_refused_clearly() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let created = app
        .upload_ok("stores.xlsx", sheets::seed_example_xlsx())
        .await;
    let id = created["session_id"].as_str().unwrap().to_owned();
    let download = |query: &'static str| {
        let (app, id) = (&app, &id);
        async move {
            let r = app
                .get(&format!("/api/v1/sessions/{id}/download?{query}"))
                .await;
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap();
            (status, body["code"].as_str().unwrap_or_default().to_owned())
        }
    };
    // Not processed yet.
    assert_eq!(
        download("format=geojson").await,
        (409, "not_processed".into())
    );
    app.process(&id).await;
    app.wait_for_status(&id, "completed", Duration::from_secs(20))
        .await;
    assert_eq!(download("format=shp").await, (400, "invalid_format".into()));
    assert_eq!(
        download("format=GeoJSON").await,
        (400, "invalid_format".into())
    );
    assert_eq!(
        download("format=kml&rows=failed").await,
        (400, "invalid_query".into())
    );
    assert_eq!(
        download("rows=everything").await,
        (400, "invalid_rows".into())
    );
    // rows=all with a format is the export; the sheet's own downloads are unchanged.
    assert_eq!(
        app.get(&format!(
            "/api/v1/sessions/{id}/download?format=gpx&rows=all"
        ))
        .await
        .status(),
        200
    );
    let r = app
        .get(&format!("/api/v1/sessions/{id}/download?rows=failed"))
        .await;
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("maplink-unlocated-rows").is_none());
}

/// Every XML part of an .xlsx, parsed strictly.
fn assert_xlsx_parts_are_xml(xlsx: &[u8]) {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(xlsx)).unwrap();
    for i in 0..zip.len() {
        let mut part = zip.by_index(i).unwrap();
        let name = part.name().map(|n| n.to_string()).unwrap_or_default();
        if !name.ends_with(".xml") && !name.ends_with(".rels") {
            continue;
        }
        let mut text = String::new();
        part.read_to_string(&mut text).unwrap();
        if let Err(e) = roxmltree::Document::parse(&text) {
            panic!("{name} is not well-formed XML: {e}");
        }
    }
}

#[tokio::test]
async fn control_characters_in_cells_never_break_an_xml_export() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    // A line break pasted from Word (U+000B), a C0 control, a non-character.
    let names = [
        "Line\u{0B}break",
        "\u{01}Start",
        "Odd\u{FFFE}one",
        "Fine & <ok>",
    ];
    let rows: Vec<Vec<String>> =
        std::iter::once(vec!["Name".into(), "Region".into(), "Maps".into()])
            .chain(names.iter().enumerate().map(|(i, n)| {
                vec![
                    (*n).to_owned(),
                    "Gauteng\u{0C}".into(),
                    format!("-26.{i}1,28.{i}2"),
                ]
            }))
            .collect();
    let created = app
        .upload_ok("odd.xlsx", sheets::xlsx_named("Sheet1", &rows))
        .await;
    let id = created["session_id"].as_str().unwrap().to_owned();
    assert_eq!(app.process(&id).await.status(), 202);
    app.wait_for_status(&id, "completed", Duration::from_secs(20))
        .await;

    for format in ["kml", "gpx"] {
        let r = app
            .get(&format!("/api/v1/sessions/{id}/download?format={format}"))
            .await;
        assert_eq!(r.status(), 200);
        let text = r.text().await.unwrap();
        let doc = roxmltree::Document::parse(&text)
            .unwrap_or_else(|e| panic!("{format} is not well-formed XML: {e}"));
        let names: Vec<&str> = doc
            .descendants()
            .filter(|n| n.has_tag_name("name"))
            .filter_map(|n| n.text())
            .collect();
        for want in ["Line\nbreak", "Start", "Oddone", "Fine & <ok>"] {
            assert!(names.contains(&want), "{format}: {want:?} in {names:?}");
        }
    }
    let sheet = app.download(&id).await.bytes().await.unwrap();
    assert_xlsx_parts_are_xml(&sheet);
    app.stop().await;
}
