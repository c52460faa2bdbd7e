use super::*;

fn ok(link: &str) -> (f64, f64, Pattern) {
    let p = parse(link).unwrap_or_else(|e| panic!("{link:?}: {e}"));
    (p.coordinates.lat, p.coordinates.lng, p.pattern)
}

#[test]
fn seed_patterns_in_order() {
    let cases = [
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
        ("-26.2041, 28.0473", -26.2041, 28.0473, Pattern::BarePair),
        (
            "https://example.com/loc/-26.2041%2C%2028.0473",
            -26.2041,
            28.0473,
            Pattern::BarePair,
        ),
        (
            "  https://maps.google.com/?q=-32.9783,27.8708 ",
            -32.9783,
            27.8708,
            Pattern::Q,
        ),
        ("https://maps.google.com/?q=0,0", 0.0, 0.0, Pattern::Q),
    ];
    for (link, lat, lng, pattern) in cases {
        assert_eq!(ok(link), (lat, lng, pattern), "{link}");
    }
}

#[test]
fn query_param_wins_over_viewport() {
    let (lat, lng, p) = ok("https://www.google.com/maps/@1.5,2.5,10z?query=-3.5%2C4.5");
    assert_eq!((lat, lng, p), (-3.5, 4.5, Pattern::QueryParam));
}

#[test]
fn bare_pair_written_longitude_first_is_swapped() {
    assert_eq!(
        ok("151.2093, -33.8688"),
        (-33.8688, 151.2093, Pattern::BarePair)
    );
}

#[test]
fn ranges_are_inclusive_and_enforced() {
    assert_eq!(ok("https://maps.google.com/?q=90,180").0, 90.0);
    assert_eq!(ok("https://maps.google.com/?q=-90,-180").1, -180.0);
    assert_eq!(
        parse("https://maps.google.com/?q=999,28")
            .unwrap_err()
            .to_string(),
        "Invalid latitude: 999.0 (must be between -90 and 90)"
    );
    assert_eq!(
        parse("https://www.google.com/maps/@10,180.5,3z")
            .unwrap_err()
            .to_string(),
        "Invalid longitude: 180.5 (must be between -180 and 180)"
    );
}

#[test]
fn links_without_coordinates_are_for_the_network_tier() {
    for link in [
        "not a valid url",
        "",
        "   ",
        "https://goo.gl/maps/abc123",
        "https://maps.google.com/?q=Polokwane",
    ] {
        let err = parse(link).unwrap_err();
        assert_eq!(err, ParseError::NoCoordinates, "{link}");
        assert!(err.may_resolve_online());
        assert_eq!(err.to_string(), "Could not extract coordinates from URL");
    }
}
