//! What a parse reports besides the point: the pattern's stable name, source and
//! approximate flag, the precision of each form, and each refusal's stable code, text
//! and offline reason.

use super::*;

fn precision(link: &str) -> Option<f64> {
    parse(link)
        .unwrap_or_else(|e| panic!("{link:?}: {e}"))
        .precision_m
}

#[track_caller]
fn assert_metres(link: &str, metres: f64) {
    let got = precision(link).unwrap_or_else(|| panic!("{link:?}: no precision"));
    assert!((got - metres).abs() < metres * 1e-3, "{link:?}: {got} m");
}

#[test]
fn names_sources_and_flags_are_stable() {
    let table = [
        (Pattern::QueryParam, "query", "coordinates in link", false),
        (Pattern::Place, "place", "place pin", false),
        (Pattern::At, "at", "map centre", true),
        (Pattern::Q, "q", "coordinates in link", false),
        (Pattern::Ll, "ll", "coordinates in link", false),
        (Pattern::Geo, "geo", "coordinates in link", false),
        (
            Pattern::OsmMarker,
            "osm-marker",
            "coordinates in link",
            false,
        ),
        (Pattern::OsmMap, "osm-map", "map centre", true),
        (Pattern::Bing, "bing", "coordinates in link", false),
        (Pattern::BarePair, "pair", "coordinates in text", false),
        (Pattern::Dms, "dms", "coordinates in text", false),
        (
            Pattern::DecimalMinutes,
            "decimal-minutes",
            "coordinates in text",
            false,
        ),
        (
            Pattern::DecimalDegreesText,
            "decimal-degrees-text",
            "coordinates in text",
            false,
        ),
        (
            Pattern::SeparatedPair,
            "separated-pair",
            "coordinates in text",
            false,
        ),
        (Pattern::PlusCode, "plus-code", "plus code", false),
        (Pattern::Directions, "directions", "place pin", false),
        (Pattern::Search, "search", "coordinates in link", false),
        (Pattern::Embed, "embed", "map centre", true),
    ];
    assert_eq!(table.len(), Pattern::ALL.len());
    for source in Pattern::SOURCES {
        assert!(table.iter().any(|row| row.2 == source), "{source}");
    }
    for ((pattern, name, source, approximate), listed) in table.into_iter().zip(Pattern::ALL) {
        assert_eq!(pattern, listed);
        assert_eq!(pattern.as_str(), name);
        assert_eq!(pattern.source(), source, "{name}");
        assert!(Pattern::SOURCES.contains(&source), "{source}");
        assert_eq!(pattern.is_approximate(), approximate, "{name}");
    }
}

#[test]
fn precision_follows_the_written_form() {
    // Decimal degrees: 111,320 m per degree over 10 per decimal place, the coarser of
    // the two numbers deciding.
    assert_metres("https://maps.google.com/?q=-26.1076,28.0567", 11.132);
    assert_metres("https://maps.google.com/?q=-26.107612,28.05", 1113.2);
    assert_metres("-26.108204, 28.0527061", 0.11132);
    assert_metres("geo:37,-122", 111_320.0);
    assert_metres(
        "https://www.google.com/maps/place/X/@0,0,15z/data=!3d-33.9249!4d18.4241",
        11.132,
    );
    assert_metres("26.1081° S, 28.0502° E", 11.132);
    assert_metres("26° S, 28° E", 111_320.0);
    // Degrees-minutes-seconds: one step of the last part.
    assert_metres("26°06'29.5\"S 28°03'09.7\"E", 111_320.0 / 3600.0 / 10.0);
    assert_metres("26°06'29\"S 28°03'09\"E", 111_320.0 / 3600.0);
    assert_metres("S 26° 6.4917' E 28° 3.0117'", 111_320.0 / 60.0 / 10_000.0);
    // Plus codes: the larger side of the cell (height 0.000125°, width less than that
    // away from the equator; for 11 digits 0.000025° by 0.00003125°).
    assert_metres("5G5CVX5C+2V", 0.000125 * 111_320.0);
    assert_metres(
        "6FH32222+222",
        0.00003125 * 111_320.0 * (1.0000125f64).to_radians().cos(),
    );
    assert_metres("7FG49Q00+", 0.05 * 111_320.0);
}

#[test]
fn a_viewport_centre_has_no_precision() {
    for link in [
        "https://www.google.com/maps/@-33.9249,18.4241,15z",
        "https://www.openstreetmap.org/#map=15/51.5074/-0.1278",
        "https://www.google.com/maps/embed?pb=!1m18!1m12!1m3!1d3580.2!2d28.0567!3d-26.1076!2m3!1f0",
    ] {
        let parsed = parse(link).unwrap_or_else(|e| panic!("{link:?}: {e}"));
        assert!(parsed.pattern.is_approximate(), "{link:?}");
        assert_eq!(parsed.precision_m, None, "{link:?}");
    }
}

#[test]
fn every_refusal_has_a_stable_code() {
    let table = [
        (ParseError::NoCoordinates, "no_coordinates", true),
        (
            ParseError::LatitudeOutOfRange(91.0),
            "latitude_out_of_range",
            false,
        ),
        (
            ParseError::LongitudeOutOfRange(181.0),
            "longitude_out_of_range",
            false,
        ),
        (
            ParseError::MalformedNumber("1.2.3".into()),
            "malformed_number",
            false,
        ),
        (
            ParseError::BadMinutesOrSeconds("75' (minutes must be below 60)".into()),
            "bad_minutes_or_seconds",
            false,
        ),
        (
            ParseError::SignAndHemisphere {
                number: "-26.1".into(),
                letter: 'S',
            },
            "sign_and_hemisphere",
            false,
        ),
        (
            ParseError::ConflictingHemispheres('N', 'S'),
            "conflicting_hemispheres",
            false,
        ),
        (
            ParseError::ShortPlusCode("VX5C+2V".into()),
            "short_plus_code",
            true,
        ),
        (
            ParseError::InvalidPlusCode("8FWC2345+G".into()),
            "invalid_plus_code",
            false,
        ),
        (
            ParseError::PlaceWithoutCoordinates("cid 1".into()),
            "place_without_coordinates",
            true,
        ),
    ];
    assert_eq!(table.len(), ParseError::CODES.len());
    for ((err, code, online), listed) in table.into_iter().zip(ParseError::CODES) {
        assert_eq!(code, listed);
        assert_eq!(err.code(), code);
        assert_eq!(err.may_resolve_online(), online, "{code}");
    }
}

#[test]
fn refusal_texts_say_what_was_found_and_what_is_missing() {
    let text = |e: ParseError| (e.to_string(), e.offline_reason());
    // The original app's texts are unchanged (its clients read them), and offline they
    // are the reason as they are.
    assert_eq!(
        text(ParseError::NoCoordinates),
        (
            "Could not extract coordinates from URL".to_owned(),
            "Could not extract coordinates from URL".to_owned()
        )
    );
    assert_eq!(
        ParseError::LatitudeOutOfRange(91.0).to_string(),
        "Invalid latitude: 91.0 (must be between -90 and 90)"
    );
    assert_eq!(
        ParseError::BadMinutesOrSeconds("75' (minutes must be below 60)".into()).to_string(),
        "Invalid minutes or seconds: 75' (minutes must be below 60)"
    );
    assert_eq!(
        ParseError::SignAndHemisphere {
            number: "-26.1".into(),
            letter: 'S'
        }
        .to_string(),
        "Conflicting signs: -26.1 has a minus sign and the hemisphere letter S (write one or \
         the other)"
    );
    assert_eq!(
        ParseError::ConflictingHemispheres('N', 'S').to_string(),
        "Conflicting hemisphere letters: N and S (one coordinate must be N or S, the other \
         E or W)"
    );
    assert_eq!(
        text(ParseError::ShortPlusCode("VX5C+2V".into())),
        (
            "Short plus code VX5C+2V needs a reference location: only a full code (8 \
             characters before the +) can be decoded offline, so a place search must \
             resolve it"
                .to_owned(),
            "needs a Places API key: the short plus code VX5C+2V needs a reference location"
                .to_owned()
        )
    );
    assert_eq!(
        ParseError::InvalidPlusCode("8FWC2345+G".into()).to_string(),
        "Invalid plus code: 8FWC2345+G (not a valid Open Location Code)"
    );
    assert_eq!(
        text(ParseError::PlaceWithoutCoordinates("cid 1".into())),
        (
            "The link names a place (cid 1) but carries no coordinates: a place search \
             must resolve it"
                .to_owned(),
            "needs a Places API key: the link names a place but carries no coordinates".to_owned()
        )
    );
}
