//! Each format written and read back with its own crate's reader.

use std::str::FromStr;

use super::*;
use crate::domain::RowStatus;

fn text(s: &str) -> Cell {
    Cell::Text(s.to_owned())
}

/// A processed sheet: two located rows (one with a warning, one approximate), one
/// failed and one skipped; a `status` column of the sheet's own, and a name with markup.
fn sample() -> (Sheet, Vec<RowOutcome>) {
    let rows = vec![
        vec![
            text("Name"),
            text("Region"),
            text("Map link"),
            text("status"),
            text("LONG"),
            text("LATTs"),
            text("Comments"),
        ],
        vec![
            text("Store <A> & \"B\""),
            text("Gauteng"),
            text("https://maps.google.com/?q=-33.9249,18.4241"),
            text("open"),
            Cell::Number(18.4241),
            Cell::Number(-33.9249),
            text("Success"),
        ],
        vec![
            text("Store B"),
            text("Western Cape"),
            text("bad"),
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
            text("Failed: no coordinates"),
        ],
        vec![text(""), text("KZN"), Cell::Empty],
        vec![
            text("Store D"),
            text("KZN"),
            text("https://www.google.com/maps/@-29.85,31.02,12z"),
            Cell::Number(3.0),
            Cell::Number(31.02),
            Cell::Number(-29.85),
            text("Success"),
        ],
    ];
    let sheet = Sheet {
        name: "Sheet1".into(),
        rows,
        first_row: 0,
    };
    let outcome = |row: u64, status: RowStatus, point: Option<(f64, f64)>| RowOutcome {
        row,
        name: String::new(),
        status,
        reason: None,
        lng: point.map(|p| p.0),
        lat: point.map(|p| p.1),
        attempts: 1,
        method: None,
        link: String::new(),
        code: None,
        source: point.map(|_| "coordinates in link".to_owned()),
        precision_m: point.map(|_| 11.0),
        approximate: false,
        check: None,
    };
    let mut outcomes = vec![
        outcome(1, RowStatus::Success, Some((18.4241, -33.9249))),
        outcome(2, RowStatus::Failed, None),
        outcome(3, RowStatus::Skipped, None),
        outcome(4, RowStatus::Success, Some((31.02, -29.85))),
    ];
    outcomes[0].check = Some("point is outside Gauteng (ZA-GP)".into());
    outcomes[3].approximate = true;
    outcomes[3].source = Some("map centre".into());
    (sheet, outcomes)
}

#[test]
fn formats_are_named_by_their_extension() {
    for f in ExportFormat::ALL {
        assert_eq!(ExportFormat::parse(f.name()), Some(f));
    }
    assert_eq!(ExportFormat::parse("shp"), None);
    assert_eq!(ExportFormat::parse("GeoJSON"), None);
}

#[test]
fn located_rows_are_paired_with_their_cells_and_the_rest_counted() {
    let (sheet, outcomes) = sample();
    let points = Points::new("t", &sheet, &outcomes);
    assert_eq!(points.located.len(), 2);
    assert_eq!(points.unlocated, 2);
    assert_eq!(points.located[0].name(&points), "Store <A> & \"B\"");
    assert_eq!(
        points.located[1].text(points.region).as_deref(),
        Some("KZN")
    );
    assert_eq!(
        points.summary(),
        "2 located rows; 2 rows without coordinates left out"
    );
    // The sheet's own `status` column keeps its name; maplink's is prefixed.
    assert!(
        points
            .fields
            .contains(&("status", "maplink_status".to_owned()))
    );
    assert!(points.fields.contains(&("source", "source".to_owned())));
}

#[test]
fn coordinates_out_of_range_are_not_located() {
    let (sheet, mut outcomes) = sample();
    outcomes[0].lat = Some(-133.9);
    outcomes[3].lng = Some(f64::NAN);
    let points = Points::new("t", &sheet, &outcomes);
    assert_eq!((points.located.len(), points.unlocated), (0, 4));
}

#[test]
fn geojson_follows_rfc_7946() {
    let (sheet, outcomes) = sample();
    let (bytes, unlocated) = export(ExportFormat::GeoJson, "t", &sheet, &outcomes).unwrap();
    assert_eq!(unlocated, 2);
    let text = String::from_utf8(bytes).unwrap();
    let parsed = ::geojson::GeoJson::from_str(&text).unwrap();
    let ::geojson::GeoJson::FeatureCollection(fc) = parsed else {
        panic!("not a FeatureCollection: {text}");
    };
    assert_eq!(fc.features.len(), 2);
    let first = &fc.features[0];
    // [longitude, latitude], in range.
    let Some(::geojson::GeometryValue::Point { coordinates }) =
        first.geometry.as_ref().map(|g| &g.value)
    else {
        panic!("not a Point");
    };
    assert_eq!(coordinates.as_slice(), [18.4241, -33.9249]);
    let props = first.properties.as_ref().unwrap();
    let keys: Vec<&str> = props.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "Name",
            "Region",
            "Map link",
            "status",
            "LONG",
            "LATTs",
            "Comments",
            "row",
            "maplink_status",
            "source",
            "precision_m",
            "approximate",
            "check"
        ]
    );
    assert_eq!(props["Name"], "Store <A> & \"B\"");
    assert_eq!(props["LONG"], 18.4241);
    assert_eq!(props["status"], "open");
    assert_eq!(props["maplink_status"], "success");
    assert_eq!(props["check"], "point is outside Gauteng (ZA-GP)");
    assert_eq!(first.id, Some(::geojson::feature::Id::Number(1.into())));
    let second = &fc.features[1];
    assert_eq!(second.properties.as_ref().unwrap()["approximate"], true);
    let maplink = &fc.foreign_members.as_ref().unwrap()["maplink"];
    assert_eq!(maplink["located_rows"], 2);
    assert_eq!(maplink["unlocated_rows"], 2);
    assert_eq!(maplink["columns"]["region"], "Region");
    assert_eq!(maplink["columns"]["comment"], "Comments");
    assert_eq!(maplink["fields"]["status"], "maplink_status");
    // No bbox, no crs member (RFC 7946 §4 removed it).
    let raw: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(raw.get("crs").is_none());
}

#[test]
fn kml_has_a_placemark_per_located_row() {
    let (sheet, outcomes) = sample();
    let (bytes, _) = export(
        ExportFormat::Kml,
        "processed_stores.xlsx",
        &sheet,
        &outcomes,
    )
    .unwrap();
    let text = String::from_utf8(bytes).unwrap();
    let parsed = ::kml::Kml::<f64>::from_str(&text).unwrap();
    let mut placemarks = Vec::new();
    collect_placemarks(&parsed, &mut placemarks);
    assert_eq!(placemarks.len(), 2, "{text}");
    let first = &placemarks[0];
    assert_eq!(first.name.as_deref(), Some("Store <A> & \"B\""));
    assert_eq!(first.description.as_deref(), Some("Success"));
    let Some(::kml::types::Geometry::Point(p)) = &first.geometry else {
        panic!("no point");
    };
    assert_eq!((p.coord.x, p.coord.y), (18.4241, -33.9249));
    let data = extended(first);
    assert!(
        data.contains(&("Region".into(), "Gauteng".into())),
        "{data:?}"
    );
    assert!(data.contains(&("maplink_status".into(), "success".into())));
    assert!(data.contains(&("precision_m".into(), "11.0".into())));
    assert!(text.contains(
        "<description>2 located rows; 2 rows without coordinates left out</description>"
    ));
    assert!(text.contains(r#"<Data name="unlocated_rows"><value>2</value></Data>"#));
}

fn collect_placemarks(k: &::kml::Kml<f64>, out: &mut Vec<::kml::types::Placemark<f64>>) {
    match k {
        ::kml::Kml::KmlDocument(d) => d.elements.iter().for_each(|e| collect_placemarks(e, out)),
        ::kml::Kml::Document { elements, .. } => {
            elements.iter().for_each(|e| collect_placemarks(e, out))
        }
        ::kml::Kml::Placemark(p) => out.push(p.clone()),
        _ => {}
    }
}

/// A placemark's `ExtendedData` as (name, value) pairs.
fn extended(p: &::kml::types::Placemark<f64>) -> Vec<(String, String)> {
    p.children
        .iter()
        .filter(|c| c.name == "ExtendedData")
        .flat_map(|c| &c.children)
        .map(|d| {
            let value = d.children.first().and_then(|v| v.content.clone());
            (d.attrs["name"].clone(), value.unwrap_or_default())
        })
        .collect()
}

#[test]
fn gpx_has_a_waypoint_per_located_row() {
    let (sheet, outcomes) = sample();
    let (bytes, _) = export(ExportFormat::Gpx, "t", &sheet, &outcomes).unwrap();
    let parsed = ::gpx::read(bytes.as_slice()).unwrap();
    assert_eq!(parsed.version, ::gpx::GpxVersion::Gpx11);
    assert_eq!(parsed.waypoints.len(), 2);
    let w = &parsed.waypoints[0];
    assert_eq!((w.point().x(), w.point().y()), (18.4241, -33.9249));
    assert_eq!(w.name.as_deref(), Some("Store <A> & \"B\""));
    assert_eq!(w.comment.as_deref(), Some("Success"));
    assert_eq!(w.type_.as_deref(), Some("outside region"));
    assert_eq!(
        w.links[0].href,
        "https://maps.google.com/?q=-33.9249,18.4241"
    );
    assert!(
        w.description
            .as_deref()
            .unwrap()
            .contains("Region: Gauteng")
    );
    assert_eq!(parsed.waypoints[1].type_.as_deref(), Some("approximate"));
    // A link that is not a web address is not a GPX link.
    assert_eq!(
        parsed.metadata.unwrap().description.as_deref(),
        Some("2 located rows; 2 rows without coordinates left out")
    );
}

#[test]
fn an_empty_run_exports_an_empty_collection() {
    let (sheet, _) = sample();
    for f in ExportFormat::ALL {
        let (bytes, unlocated) = export(f, "t", &sheet, &[]).unwrap();
        assert_eq!(unlocated, 0);
        assert!(!bytes.is_empty());
    }
    let (bytes, _) = export(ExportFormat::GeoJson, "t", &sheet, &[]).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(v["features"], serde_json::json!([]));
}
