//! Table tests of coordinates written as text: degrees-minutes-seconds, degrees and
//! decimal minutes, decimal degrees with hemisphere letters or marks, and pairs with
//! other separators than the bare pair's comma; their refusals; and where they stand
//! against the bare pair.

use super::{test_support::assert_near, *};

/// The dropped pin of issue 11's table, `26°06'29.5"S 28°03'09.7"E`.
const DMS_LAT: f64 = -(26.0 + 6.0 / 60.0 + 29.5 / 3600.0);
const DMS_LNG: f64 = 28.0 + 3.0 / 60.0 + 9.7 / 3600.0;
/// `S 26° 6.4917' E 28° 3.0117'`.
const DM_LAT: f64 = -(26.0 + 6.4917 / 60.0);
const DM_LNG: f64 = 28.0 + 3.0117 / 60.0;

#[test]
fn degrees_minutes_seconds_in_every_spelling() {
    let dms = |text| (text, DMS_LAT, DMS_LNG, Pattern::Dms);
    assert_near(&[
        // What Google Maps shows and copies for a dropped pin.
        dms("26°06'29.5\"S 28°03'09.7\"E"),
        dms("26°06\u{2032}29.5\u{2033}S 28°03\u{2032}09.7\u{2033}E"),
        dms("26\u{BA}06\u{2019}29.5\u{201D}S 28\u{BA}03\u{2019}09.7\u{201D}E"),
        dms("26\u{2DA}06'29.5''S 28\u{2DA}03'09.7''E"),
        dms("26\u{B0}06\u{B4}29.5\u{2033}S 28\u{B0}03\u{B4}09.7\u{2033}E"),
        dms("26° 06' 29.5\" S, 28° 03' 09.7\" E"),
        dms("26°06'29.5\"S\u{A0}28°03'09.7\"E"),
        dms("26°06'29.5\"S\t28°03'09.7\"E"),
        dms("26°06'29.5\"S; 28°03'09.7\"E"),
        dms("S 26° 06' 29.5\" E 28° 03' 09.7\""),
        dms("S26°06'29.5\" E28°03'09.7\""),
        dms("26°6'29.5\" South, 28°3'9.7\" east"),
        // Longitude first: the letters put it right.
        dms("28°03'09.7\"E 26°06'29.5\"S"),
        // GPS units leave the marks out when letters say which is which.
        dms("26 06 29.5 S 28 03 09.7 E"),
        dms("S 26 06 29.5, E 28 03 09.7"),
        // No letters: signs, latitude first.
        dms("-26°06'29.5\", 28°03'09.7\""),
        dms("\u{2212}26°06'29.5\" 28°03'09.7\""),
        // The degree mark left out before marked minutes.
        dms("26 06' 29.5\" S 28 03' 09.7\" E"),
        (
            "40°42'46.1\"N 74°00'21.6\"W",
            40.0 + 42.0 / 60.0 + 46.1 / 3600.0,
            -(74.0 + 21.6 / 3600.0),
            Pattern::Dms,
        ),
        ("0°0'0.0\"N 0°0'0.0\"E", 0.0, 0.0, Pattern::Dms),
    ]);
}

#[test]
fn degrees_and_decimal_minutes() {
    let dm = |text| (text, DM_LAT, DM_LNG, Pattern::DecimalMinutes);
    assert_near(&[
        dm("S 26° 6.4917' E 28° 3.0117'"),
        dm("26°6.4917'S 28°3.0117'E"),
        dm("26° 6.4917\u{2032} S, 28° 3.0117\u{2032} E"),
        dm("S26 6.4917 E28 3.0117"),
        dm("S 26 06.4917; E 28 03.0117"),
        dm("-26° 6.4917', 28° 3.0117'"),
        dm("E 28° 3.0117' S 26° 6.4917'"),
    ]);
}

#[test]
fn decimal_degrees_with_letters_or_marks() {
    let text = |text, lat, lng| (text, lat, lng, Pattern::DecimalDegreesText);
    assert_near(&[
        text("26.1081° S, 28.0502° E", -26.1081, 28.0502),
        text("26.1081°S 28.0502°E", -26.1081, 28.0502),
        text("26.1081 S 28.0502 E", -26.1081, 28.0502),
        text("S 26.1081, E 28.0502", -26.1081, 28.0502),
        text("S26.1081 E28.0502", -26.1081, 28.0502),
        text("N 40.7128, W 74.0060", 40.7128, -74.006),
        text("40.7128° N, 74.0060° W", 40.7128, -74.006),
        text("40.7128 north 74.0060 WEST", 40.7128, -74.006),
        text("28.0502° E, 26.1081° S", -26.1081, 28.0502),
        // A letter on one coordinate places the other as well.
        text("26.1081 S, 28.0502", -26.1081, 28.0502),
        text("28.0502 E, -26.1081", -26.1081, 28.0502),
        // Marks without letters: signs, latitude first.
        text("-26.1081°, 28.0502°", -26.1081, 28.0502),
        text("-26.1081° 28.0502°", -26.1081, 28.0502),
        text("26° S, 28° E", -26.0, 28.0),
        text("+26.1 N, +28.0 E", 26.1, 28.0),
        // Letters the bare pair would ignore decide (the one change to its answers).
        text("40.7128, 74.0060 W", 40.7128, -74.006),
    ]);
}

#[test]
fn pairs_with_other_separators() {
    let sep = |text, lat, lng| (text, lat, lng, Pattern::SeparatedPair);
    assert_near(&[
        // Issue 11: spaces around the comma, as the original app accepted.
        sep("  -26.108204  ,  28.0527061  ", -26.108204, 28.0527061),
        sep("-26.108204 ,28.0527061", -26.108204, 28.0527061),
        sep("-26.108204;28.0527061", -26.108204, 28.0527061),
        sep("-26.108204 ; 28.0527061", -26.108204, 28.0527061),
        sep("-26.108204\t28.0527061", -26.108204, 28.0527061),
        sep("-26.108204 \t 28.0527061", -26.108204, 28.0527061),
        sep("-26.108204 28.0527061", -26.108204, 28.0527061),
        sep("-26.108204\u{2009}28.0527061", -26.108204, 28.0527061),
        sep("\u{2212}26.108204 ; 28.0527061", -26.108204, 28.0527061),
        // The bare pair's swap rule, as for a comma.
        sep("151.2093 ; -33.8688", -33.8688, 151.2093),
        // Decimal commas, from a spreadsheet in a European locale.
        sep("-26,108204;28,0527061", -26.108204, 28.0527061),
        sep("-26,108204 ; 28,0527061", -26.108204, 28.0527061),
    ]);
    assert_near(&[(
        "26,1081° S; 28,0502° E",
        -26.1081,
        28.0502,
        Pattern::DecimalDegreesText,
    )]);
    // Only with one semicolon and no full stop: elsewhere a comma separates.
    assert_eq!(parse("-26,1,28,0"), Err(ParseError::NoCoordinates));
    assert_eq!(parse("-26,1;28.0"), Err(ParseError::NoCoordinates));
}

#[test]
fn what_the_bare_pair_reads_stays_the_bare_pair_s() {
    assert_near(&[
        ("-26.2041, 28.0473", -26.2041, 28.0473, Pattern::BarePair),
        ("-26.2041,28.0473", -26.2041, 28.0473, Pattern::BarePair),
        ("-26.2041,\t28.0473", -26.2041, 28.0473, Pattern::BarePair),
        ("151.2093, -33.8688", -33.8688, 151.2093, Pattern::BarePair),
        ("Meet at -26.1, 28.0.", -26.1, 28.0, Pattern::BarePair),
    ]);
}

#[test]
fn text_that_is_not_two_coordinates_is_for_the_network_tier() {
    for text in [
        "26°06'29.5\"S",
        "S 26.1",
        "26.1 28.0 32.1",
        "Sandton 26.1 28.0",
        "26 28",
        "1 ; 2",
        "26.1 ; 28",
        "26.1 S; 28.0 E; 3.0",
        // A lone lower-case letter is not a hemisphere (`e` is an exponent's, `s` a
        // second's).
        "26.1 s, 28.0 e",
        "26.1° S 28.0° E and more",
        "26°06'29.5\"S 28°03'09.7\"E 12°",
        "S 26.1 28.0 E",
        "26° 30",
        "'26 28'",
        "°, °",
    ] {
        assert_eq!(parse(text), Err(ParseError::NoCoordinates), "{text:?}");
    }
}

#[test]
fn refusals_of_coordinates_in_text() {
    let bad = |detail: &str| ParseError::BadMinutesOrSeconds(detail.to_owned());
    let sign = |number: &str, letter| ParseError::SignAndHemisphere {
        number: number.to_owned(),
        letter,
    };
    let cases = [
        (
            "26°60'00\"S 28°03'09.7\"E",
            bad("60' (minutes must be below 60)"),
        ),
        (
            "26°06'60\"S 28°03'09.7\"E",
            bad("60\" (seconds must be below 60)"),
        ),
        (
            "26°06'29.5\"S 28°03'75.2\"E",
            bad("75.2\" (seconds must be below 60)"),
        ),
        (
            "S 26° 60.5' E 28° 3'",
            bad("60.5' (minutes must be below 60)"),
        ),
        (
            "26.5° 30' S 28° E",
            bad("26.5° is followed by a smaller part (only the last part may have decimals)"),
        ),
        (
            "26° 6.5' 30\" S 28° E",
            bad("6.5' is followed by a smaller part (only the last part may have decimals)"),
        ),
        (
            "26° -6' S, 28° E",
            bad("-6' (minutes and seconds take no sign)"),
        ),
        ("-26.1081° S, 28.0502° E", sign("-26.1081", 'S')),
        ("S -26° 6.4917' E 28° 3.0117'", sign("-26", 'S')),
        ("26.1 S, -28.0 W", sign("-28.0", 'W')),
        (
            "26.1 N, 28.0 S",
            ParseError::ConflictingHemispheres('N', 'S'),
        ),
        (
            "28.0 E 26.1 W",
            ParseError::ConflictingHemispheres('E', 'W'),
        ),
        (
            "26.1.1° S, 28.0° E",
            ParseError::MalformedNumber("26.1.1".to_owned()),
        ),
        (
            "-26.10.76 ; 28.05",
            ParseError::MalformedNumber("-26.10.76".to_owned()),
        ),
        (
            "26.1e1 S 28.0 E",
            ParseError::MalformedNumber("26.1e1".to_owned()),
        ),
        ("91° N, 28° E", ParseError::LatitudeOutOfRange(91.0)),
        ("90°30' N 0° E", ParseError::LatitudeOutOfRange(90.5)),
        ("26° S, 181° E", ParseError::LongitudeOutOfRange(181.0)),
        ("120.5 ; 100.5", ParseError::LatitudeOutOfRange(120.5)),
    ];
    for (text, expected) in cases {
        let err = parse(text).expect_err(text);
        assert_eq!(err, expected, "{text:?}");
        assert!(!err.may_resolve_online(), "{text:?}");
    }
}
