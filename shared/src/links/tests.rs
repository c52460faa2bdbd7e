//! Table-driven tests of [`parse`]: one or more cases per link form, the precedence
//! between forms, the refusals, and the range boundaries.

use std::time::{Duration, Instant};

use super::*;

const PLACE_URL: &str = "https://www.google.com/maps/place/X/@-33.92,18.42,15z/data=!3m1!4b1!4m6!3m5!1s0x0:0x0!8m2!3d-33.9249!4d18.4241";

#[track_caller]
fn assert_cases(cases: &[(&str, f64, f64, Pattern)]) {
    for &(link, lat, lng, pattern) in cases {
        let parsed = parse(link).unwrap_or_else(|e| panic!("{link:?}: {e}"));
        let got = (
            parsed.coordinates.lat,
            parsed.coordinates.lng,
            parsed.pattern,
        );
        assert_eq!(got, (lat, lng, pattern), "{link:?}");
    }
}

#[test]
fn original_patterns_in_order() {
    assert_cases(&[
        (
            "https://www.google.com/maps/search/?api=1&query=-26.1076%2C28.0567",
            -26.1076,
            28.0567,
            Pattern::QueryParam,
        ),
        (
            "https://www.google.com/maps/search/?api=1&query=-26.1%2c28.2",
            -26.1,
            28.2,
            Pattern::QueryParam,
        ),
        (
            "https://www.google.com/maps/@-33.9249,18.4241,15z",
            -33.9249,
            18.4241,
            Pattern::At,
        ),
        (
            "https://www.google.com/maps/place/X/@-23,29,13z",
            -23.0,
            29.0,
            Pattern::At,
        ),
        (
            "https://maps.google.com/?q=-26.1076,28.0567",
            -26.1076,
            28.0567,
            Pattern::Q,
        ),
        (
            "https://maps.google.com/?hl=en&q=-26.1,28.0",
            -26.1,
            28.0,
            Pattern::Q,
        ),
        (
            "https://maps.google.com/?q=-26.1, 28",
            -26.1,
            28.0,
            Pattern::Q,
        ),
        ("-26.2041, 28.0473", -26.2041, 28.0473, Pattern::BarePair),
        (
            "https://example.com/loc/-26.2041%2C%2028.0473",
            -26.2041,
            28.0473,
            Pattern::BarePair,
        ),
        // A full stop after a pair in free text is punctuation, not a second decimal
        // point.
        ("Meet at -26.1, 28.0.", -26.1, 28.0, Pattern::BarePair),
        (
            "  https://maps.google.com/?q=-32.9783,27.8708 \n",
            -32.9783,
            27.8708,
            Pattern::Q,
        ),
    ]);
}

#[test]
fn forms_beyond_the_original() {
    assert_cases(&[
        (PLACE_URL, -33.9249, 18.4241, Pattern::Place),
        (
            "https://maps.apple.com/?ll=50.894967,4.341626&q=Atomium",
            50.894967,
            4.341626,
            Pattern::Ll,
        ),
        (
            "https://maps.apple.com/?q=Atomium&ll=50%2C4",
            50.0,
            4.0,
            Pattern::Ll,
        ),
        (
            "https://maps.google.com/maps?ll=-26.2041,28.0473&z=12",
            -26.2041,
            28.0473,
            Pattern::Ll,
        ),
        (
            "https://maps.apple.com/?q=50.89,4.34",
            50.89,
            4.34,
            Pattern::Q,
        ),
        (
            "geo:37.786971,-122.399677",
            37.786971,
            -122.399677,
            Pattern::Geo,
        ),
        ("geo:37.78,-122.39;u=35", 37.78, -122.39, Pattern::Geo),
        ("GEO:37,-122?z=11", 37.0, -122.0, Pattern::Geo),
        ("geo:0,0", 0.0, 0.0, Pattern::Geo),
        // Android's "no position, search for this": the q pair is the point, and the
        // `q` pattern, tried first, takes it.
        ("geo:0,0?q=37.78,-122.39(Label)", 37.78, -122.39, Pattern::Q),
        (
            "https://www.openstreetmap.org/?mlat=51.5074&mlon=-0.1278#map=15/51.5074/-0.1278",
            51.5074,
            -0.1278,
            Pattern::OsmMarker,
        ),
        (
            "https://www.openstreetmap.org/?mlon=-0.1278&mlat=51.5074",
            51.5074,
            -0.1278,
            Pattern::OsmMarker,
        ),
        (
            "https://www.openstreetmap.org/#map=15/51.5074/-0.1278",
            51.5074,
            -0.1278,
            Pattern::OsmMap,
        ),
        (
            "https://www.bing.com/maps?cp=47.6062~-122.3321&lvl=11",
            47.6062,
            -122.3321,
            Pattern::Bing,
        ),
        (
            "https://www.bing.com/maps?lvl=11&cp=47.6062%7E-122.3321",
            47.6062,
            -122.3321,
            Pattern::Bing,
        ),
        (
            "https://www.bing.com/maps?cp=47%7e-122",
            47.0,
            -122.0,
            Pattern::Bing,
        ),
    ]);
}

#[test]
fn dash_look_alikes_before_a_digit_are_minus_signs() {
    assert_cases(&[
        (
            "https://maps.google.com/?q=\u{2212}26.1076,28.0567",
            -26.1076,
            28.0567,
            Pattern::Q,
        ),
        (
            "https://maps.google.com/?q=26.1,\u{2013}28.5",
            26.1,
            -28.5,
            Pattern::Q,
        ),
        (
            "https://www.google.com/maps/@\u{2010}33.9,18.4,15z",
            -33.9,
            18.4,
            Pattern::At,
        ),
        (
            "https://maps.google.com/?q=%E2%88%9226.1,28.0",
            -26.1,
            28.0,
            Pattern::Q,
        ),
        (
            "https://example.com/%e2%80%9333.8688%2C151.2093",
            -33.8688,
            151.2093,
            Pattern::BarePair,
        ),
        (
            "\u{2212}33.8688, \u{FF0D}151.2093",
            -33.8688,
            -151.2093,
            Pattern::BarePair,
        ),
        ("geo:\u{2212}33.86,151.2", -33.86, 151.2, Pattern::Geo),
        // A dash that is punctuation is left alone.
        (
            "Cape Town \u{2013} 33.92, 18.42",
            33.92,
            18.42,
            Pattern::BarePair,
        ),
        (
            "Cape Town \u{2212} 33.92, 18.42",
            33.92,
            18.42,
            Pattern::BarePair,
        ),
    ]);
}

#[test]
fn a_plus_sign_is_accepted() {
    assert_cases(&[
        (
            "https://maps.google.com/?q=+26.1,+28.0",
            26.1,
            28.0,
            Pattern::Q,
        ),
        (
            "https://www.google.com/maps/@+1.5,2,3z",
            1.5,
            2.0,
            Pattern::At,
        ),
    ]);
}

#[test]
fn precedence() {
    assert_cases(&[
        // The place beats the viewport centre around it.
        (PLACE_URL, -33.9249, 18.4241, Pattern::Place),
        (
            "https://www.google.com/maps/place/X/data=!3d1.5!4d2.5/@3.5,4.5,10z",
            1.5,
            2.5,
            Pattern::Place,
        ),
        // `query=` keeps the original's first place, ahead of the place data too.
        (
            "https://www.google.com/maps/@1.5,2.5,10z?query=-3.5%2C4.5",
            -3.5,
            4.5,
            Pattern::QueryParam,
        ),
        (
            "https://www.google.com/maps/search/?api=1&query=1.5%2C2.5&data=!3d3.5!4d4.5",
            1.5,
            2.5,
            Pattern::QueryParam,
        ),
        // The original's order between `@` and `q`.
        (
            "https://www.google.com/maps/@1.5,2.5,10z?q=3.5,4.5",
            1.5,
            2.5,
            Pattern::At,
        ),
        // `q` before `ll`.
        (
            "https://maps.google.com/?ll=1.5,2.5&q=3.5,4.5",
            3.5,
            4.5,
            Pattern::Q,
        ),
        // A new form does not override what the original found with the bare pair.
        (
            "https://maps.google.com/?sll=1.5,2.5&ll=3.5,4.5",
            1.5,
            2.5,
            Pattern::BarePair,
        ),
        (
            "geo:151.2093,-33.8688",
            -33.8688,
            151.2093,
            Pattern::BarePair,
        ),
        // The OpenStreetMap marker beats the map view.
        (
            "https://www.openstreetmap.org/?mlat=1.5&mlon=2.5#map=15/3.5/4.5",
            1.5,
            2.5,
            Pattern::OsmMarker,
        ),
        // The swap rule of the bare pair: only when the first cannot be a latitude and
        // the second can.
        ("151.2093, -33.8688", -33.8688, 151.2093, Pattern::BarePair),
        ("45.5, 100.5", 45.5, 100.5, Pattern::BarePair),
        ("-90.5, 90.0", 90.0, -90.5, Pattern::BarePair),
    ]);
    // Neither number can be a latitude: no swap, and the first is refused.
    assert_eq!(
        parse("120.5, 100.5"),
        Err(ParseError::LatitudeOutOfRange(120.5))
    );
}

#[test]
fn ranges_are_inclusive() {
    assert_cases(&[
        ("https://maps.google.com/?q=90,180", 90.0, 180.0, Pattern::Q),
        (
            "https://maps.google.com/?q=-90,-180",
            -90.0,
            -180.0,
            Pattern::Q,
        ),
        ("https://maps.google.com/?q=0,0", 0.0, 0.0, Pattern::Q),
        ("https://maps.google.com/?q=-0,-0.0", 0.0, 0.0, Pattern::Q),
        (
            "https://www.google.com/maps/@90.0,-180.0,3z",
            90.0,
            -180.0,
            Pattern::At,
        ),
        ("geo:-90,180", -90.0, 180.0, Pattern::Geo),
        ("https://www.bing.com/maps?cp=0~0", 0.0, 0.0, Pattern::Bing),
        (
            "https://www.openstreetmap.org/#map=2/-90/-180",
            -90.0,
            -180.0,
            Pattern::OsmMap,
        ),
    ]);
}

#[test]
fn refusals() {
    let lat = |v| ParseError::LatitudeOutOfRange(v);
    let lng = |v| ParseError::LongitudeOutOfRange(v);
    let malformed = |n: &str| ParseError::MalformedNumber(n.to_owned());
    let cases = [
        ("https://maps.google.com/?q=999,28", lat(999.0)),
        ("https://maps.google.com/?q=90.000001,0", lat(90.000001)),
        ("https://maps.google.com/?q=-90.5,0", lat(-90.5)),
        ("https://www.google.com/maps/@10,180.5,3z", lng(180.5)),
        (
            "https://maps.google.com/?q=0,-180.0000001",
            lng(-180.0000001),
        ),
        ("https://www.google.com/maps/data=!3d91!4d0", lat(91.0)),
        ("https://www.bing.com/maps?cp=0~-181", lng(-181.0)),
        ("https://www.openstreetmap.org/#map=3/-91/0", lat(-91.0)),
        (
            "https://maps.google.com/?q=-26.10.76,28.05",
            malformed("-26.10.76"),
        ),
        (
            "https://maps.google.com/?q=-26.1,28.05.3",
            malformed("28.05.3"),
        ),
        ("https://maps.google.com/?q=1e2,5", malformed("1e2")),
        ("https://maps.google.com/?q=1.5,2.5E-3", malformed("2.5E-3")),
        ("-26.10.76,28.05", malformed("-26.10.76")),
        ("-26.1076,28.05e1", malformed("28.05e1")),
        (
            "https://www.google.com/maps/@-33.92.1,18.4,15z",
            malformed("-33.92.1"),
        ),
        (
            "https://www.google.com/maps/data=!3d1.2.3!4d4",
            malformed("1.2.3"),
        ),
        (
            "https://www.google.com/maps/?query=1E5%2C2",
            malformed("1E5"),
        ),
        ("geo:1e1,2", malformed("1e1")),
        ("https://maps.apple.com/?ll=1,2.0.0", malformed("2.0.0")),
        (
            "https://www.openstreetmap.org/?mlat=51.5.1&mlon=0.1",
            malformed("51.5.1"),
        ),
        (
            "https://www.bing.com/maps?cp=47.6~-122.3.3",
            malformed("-122.3.3"),
        ),
    ];
    let huge = format!("https://maps.google.com/?q={},0", "9".repeat(400));
    let cases = cases
        .into_iter()
        .chain([(huge.as_str(), lat(f64::INFINITY))]);
    for (link, expected) in cases {
        let err = parse(link).expect_err(link);
        assert_eq!(err, expected, "{link:?}");
        assert!(!err.may_resolve_online(), "{link:?}");
    }
}

#[test]
fn refusal_messages() {
    let message = |link: &str| parse(link).expect_err(link).to_string();
    assert_eq!(
        message("https://maps.google.com/?q=999,28"),
        "Invalid latitude: 999.0 (must be between -90 and 90)"
    );
    assert_eq!(
        message("https://www.google.com/maps/@10,180.5,3z"),
        "Invalid longitude: 180.5 (must be between -180 and 180)"
    );
    assert_eq!(
        message("https://maps.google.com/?q=-26.10.76,28.05"),
        "Malformed number: -26.10.76"
    );
    assert_eq!(
        message(&format!("?q={},1", "1.".repeat(1000) + "1")),
        "Malformed number: 1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.…"
    );
    assert_eq!(
        message("not a valid url"),
        "Could not extract coordinates from URL"
    );
}

#[test]
fn links_without_coordinates_are_for_the_network_tier() {
    for link in [
        "not a valid url",
        "",
        "   ",
        "\t\n",
        "https://goo.gl/maps/abc123",
        "https://maps.app.goo.gl/xyz",
        "https://maps.google.com/?q=Polokwane",
        "https://maps.google.com/?q=-26.1",
        "hello, world",
        "1, 2",
        "geo:",
        "@,",
        "!3d!4d",
        // `geo:0,0` with an address query is not the point 0,0.
        "geo:0,0?q=1600+Amphitheatre+Parkway",
        "https://www.openstreetmap.org/?mlat=51.5",
        "https://www.bing.com/maps?cp=47.6",
    ] {
        let err = parse(link).unwrap_err();
        assert_eq!(err, ParseError::NoCoordinates, "{link:?}");
        assert!(err.may_resolve_online());
    }
}

#[test]
fn pattern_names_are_stable() {
    let names = [
        (Pattern::QueryParam, "query"),
        (Pattern::Place, "place"),
        (Pattern::At, "at"),
        (Pattern::Q, "q"),
        (Pattern::Ll, "ll"),
        (Pattern::Geo, "geo"),
        (Pattern::OsmMarker, "osm-marker"),
        (Pattern::OsmMap, "osm-map"),
        (Pattern::Bing, "bing"),
        (Pattern::BarePair, "pair"),
    ];
    for (pattern, name) in names {
        assert_eq!(pattern.as_str(), name);
    }
}

/// 100 KB links built to provoke backtracking or rescanning each parse quickly. The
/// bound is loose (an unoptimised build on a busy machine: about 0.2 s is usual); a
/// quadratic pass over 100 KB would take minutes.
#[test]
fn long_links_stay_linear() {
    const SIZE: usize = 100_000;
    let fill = |unit: &str| unit.repeat(SIZE / unit.len());
    let links = [
        fill("1"),
        fill("1."),
        fill("1.1,"),
        fill("-"),
        fill("@1,"),
        fill("?q=1,"),
        fill("!3d1!4d"),
        fill("query=1%2C"),
        fill("%E2%88%92"),
        fill("\u{2212}1"),
        fill("geo:0,0?q="),
        fill("mlat=1&"),
        fill("#map=1/1/"),
        fill("1e1"),
        fill("1 ,"),
        fill("%"),
        fill("1°1'1\" "),
        fill("1 S "),
        fill("1;"),
        fill("5G5CVX5C+"),
        fill("VX5C+2V/"),
        fill("!1m9"),
        fill("!1m2!1d1!2d2"),
        fill("!1m99999!1d1"),
        format!(
            "https://www.google.com/maps/dir/data={}",
            fill("!1m5!2m2!1d1!2d2")
        ),
        format!(
            "https://www.google.com/maps/embed?pb={}",
            fill("!1m3!1d1!2d1")
        ),
        fill("place_id:"),
        fill("?cid="),
        fill("?q=1°+"),
    ];
    for link in &links {
        for link in [link.clone(), format!("{link}-26.1,28.0")] {
            let start = Instant::now();
            let _ = parse(&link);
            let elapsed = start.elapsed();
            let head: String = link.chars().take(16).collect();
            assert!(
                elapsed < Duration::from_secs(3),
                "{head}…: took {elapsed:?}"
            );
        }
    }
}
