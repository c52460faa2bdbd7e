//! Property tests of the written forms: any point, formatted as degrees-minutes-seconds,
//! degrees and decimal minutes, decimal degrees with letters, a padded or separated pair,
//! or a plus code — in any of the spellings people use — parses back to within the
//! precision the form has, and the parse reports that precision.

use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::Config;

use super::*;

fn config() -> Config {
    Config {
        cases: 256,
        failure_persistence: None,
        ..Config::default()
    }
}

/// In range, with the poles, the antimeridian and zero over-represented.
fn lat_lng() -> impl Strategy<Value = (f64, f64)> {
    let lat = prop_oneof![
        4 => -90.0..=90.0f64,
        1 => select(&[-90.0, 90.0, 0.0, -0.0, 0.00001, -89.99999][..]),
    ];
    let lng = prop_oneof![
        4 => -180.0..=180.0f64,
        1 => select(&[-180.0, 180.0, 0.0, -0.0, 179.99999][..]),
    ];
    (lat, lng)
}

/// How a spelling writes the marks, the letters and the gap between the coordinates.
#[derive(Clone, Debug)]
struct Style {
    degrees: &'static str,
    minutes: &'static str,
    seconds: &'static str,
    gap: &'static str,
    letter_first: bool,
    longitude_first: bool,
}

fn style() -> impl Strategy<Value = Style> {
    (
        select(&["°", "º", "˚"][..]),
        select(&["'", "′", "’", "´"][..]),
        select(&["\"", "″", "”", "''", "′′"][..]),
        select(&[" ", "  ", ", ", " , ", "; ", "\t", " \t "][..]),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(degrees, minutes, seconds, gap, letter_first, longitude_first)| Style {
                degrees,
                minutes,
                seconds,
                gap,
                letter_first,
                longitude_first,
            },
        )
}

/// `value` split into whole degrees, whole minutes and the rest, rounded to `places`
/// decimals of the last part written (`parts` of 1 to 3); the rounding carries, so a
/// part never reaches 60.
fn split(value: f64, parts: u32, places: u32) -> (u64, u64, f64) {
    let per_degree = [1.0, 60.0, 3600.0][parts as usize - 1] * 10f64.powi(places as i32);
    let units = (value.abs() * per_degree).round() as u64;
    let scale = 10u64.pow(places);
    match parts {
        3 => (
            units / (3600 * scale),
            units / (60 * scale) % 60,
            (units % (60 * scale)) as f64 / scale as f64,
        ),
        2 => (
            units / (60 * scale),
            0,
            (units % (60 * scale)) as f64 / scale as f64,
        ),
        _ => (0, 0, units as f64 / scale as f64),
    }
}

/// One coordinate in `style`, with its hemisphere letter.
fn coordinate(value: f64, axis_is_lat: bool, parts: u32, places: u32, s: &Style) -> String {
    let letter = match (axis_is_lat, value.is_sign_negative() && value != 0.0) {
        (true, false) => 'N',
        (true, true) => 'S',
        (false, false) => 'E',
        (false, true) => 'W',
    };
    let (d, m, rest) = split(value, parts, places);
    let p = places as usize;
    let body = match parts {
        3 => format!(
            "{d}{}{m:02}{}{rest:0w$.p$}{}",
            s.degrees,
            s.minutes,
            s.seconds,
            w = if p == 0 { 2 } else { p + 3 }
        ),
        2 => format!("{d}{}{rest:.p$}{}", s.degrees, s.minutes),
        _ => format!("{rest:.p$}{}", s.degrees),
    };
    if s.letter_first {
        format!("{letter} {body}")
    } else {
        format!("{body} {letter}")
    }
}

fn written(lat: f64, lng: f64, parts: u32, places: u32, s: &Style) -> String {
    let (a, b) = (
        coordinate(lat, true, parts, places, s),
        coordinate(lng, false, parts, places, s),
    );
    if s.longitude_first {
        format!("{b}{}{a}", s.gap)
    } else {
        format!("{a}{}{b}", s.gap)
    }
}

/// Parses `text` and checks the answer is within the precision it reports, which must
/// be `step` degrees at 111,320 m per degree.
fn assert_within(text: &str, lat: f64, lng: f64, step: f64, pattern: Pattern) {
    let parsed = parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    assert_eq!(parsed.pattern, pattern, "{text:?}");
    let precision = parsed.precision_m.expect("a precision");
    assert!(
        (precision - step * 111_320.0).abs() < 1e-6 * precision,
        "{text:?}: {precision} m"
    );
    let Coordinates {
        lat: plat,
        lng: plng,
    } = parsed.coordinates;
    // Half a step from rounding, and a hair for the floating point.
    let tolerance = step / 2.0 + 1e-9;
    assert!((plat - lat).abs() <= tolerance, "{text:?}: latitude {plat}");
    assert!(
        (plng - lng).abs() <= tolerance,
        "{text:?}: longitude {plng}"
    );
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn degrees_minutes_seconds_round_trip((lat, lng) in lat_lng(), s in style(), places in 0u32..3) {
        let text = written(lat, lng, 3, places, &s);
        assert_within(&text, lat, lng, 1.0 / 3600.0 / 10f64.powi(places as i32), Pattern::Dms);
    }

    #[test]
    fn degrees_and_decimal_minutes_round_trip((lat, lng) in lat_lng(), s in style(), places in 1u32..6) {
        let text = written(lat, lng, 2, places, &s);
        let step = 1.0 / 60.0 / 10f64.powi(places as i32);
        assert_within(&text, lat, lng, step, Pattern::DecimalMinutes);
    }

    #[test]
    fn decimal_degrees_with_letters_round_trip((lat, lng) in lat_lng(), s in style(), places in 0u32..8) {
        let text = written(lat, lng, 1, places, &s);
        let step = 10f64.powi(-(places as i32));
        assert_within(&text, lat, lng, step, Pattern::DecimalDegreesText);
    }

    #[test]
    fn separated_pairs_round_trip(
        (lat, lng) in lat_lng(),
        pad in select(&["", " ", "  ", "\t", "\u{A0}"][..]),
        sep in select(&[" , ", " ,", ";", " ; ", "\t", " ", "\t\t"][..]),
        places in 1u32..8,
    ) {
        let p = places as usize;
        let text = format!("{pad}{lat:.p$}{sep}{lng:.p$}{pad}");
        let step = 10f64.powi(-(places as i32));
        assert_within(&text, lat, lng, step, Pattern::SeparatedPair);
    }

    #[test]
    fn plus_codes_round_trip(
        (lat, lng) in lat_lng(),
        length in 10usize..=11,
        form in select(&["{}", "https://plus.codes/{}", "https://www.google.com/maps/search/{}", "{} Johannesburg"][..]),
    ) {
        let code = plus_code::encode(lat, lng, length);
        let link = form.replace("{}", &code.replace('+', if form.contains("search") { "%2B" } else { "+" }));
        let parsed = parse(&link).unwrap_or_else(|e| panic!("{link:?}: {e}"));
        prop_assert_eq!(parsed.pattern, Pattern::PlusCode);
        let (height, width) = if length == 10 { (0.000125, 0.000125) } else { (0.000025, 0.00003125) };
        let Coordinates { lat: plat, lng: plng } = parsed.coordinates;
        prop_assert!((plat - lat).abs() <= height / 2.0 + 1e-9, "{} {}", link, plat);
        // 180° and -180° are one meridian; the encoder writes it as -180°.
        let dlng = (plng - lng + 540.0).rem_euclid(360.0) - 180.0;
        prop_assert!(dlng.abs() <= width / 2.0 + 1e-9, "{} {}", link, plng);
        let expected = (height * 111_320.0).max(width * 111_320.0 * plat.to_radians().cos());
        prop_assert!((parsed.precision_m.unwrap() - expected).abs() < 1e-6);
    }
}
