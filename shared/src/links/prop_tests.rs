//! Property tests of [`parse`]: it never panics and never answers out of range, every
//! link form round-trips any in-range pair, and it agrees with the original app's
//! parser (kept here as [`legacy`]) on every link that parser solved, except where the
//! contract says otherwise (place data, dash look-alikes, malformed numbers).

use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::Config;

use super::*;

/// Modest, so the suite stays fast; no regression files written into the tree.
fn config() -> Config {
    Config {
        cases: 512,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Pieces that make up links, and near-links, of every form.
const FRAGMENTS: &[&str] = &[
    "@",
    ",",
    ", ",
    "-",
    ".",
    "+",
    "~",
    "/",
    "?",
    "&",
    "#",
    "(",
    ")",
    ";",
    " ",
    "e",
    "E",
    "q=",
    "?q=",
    "&q=",
    "query=",
    "%2C",
    "%2c",
    "!3d",
    "!4d",
    "ll=",
    "?ll=",
    "&sll=",
    "geo:",
    "geo:0,0",
    "mlat=",
    "mlon=",
    "#map=",
    "cp=",
    "%7E",
    "%",
    "%E2%88%92",
    "\u{2212}",
    "\u{2013}",
    "\u{2010}",
    "0",
    "1",
    "9",
    "90",
    "180",
    "-90",
    "181",
    "https://maps.google.com/",
    "https://www.openstreetmap.org/",
    // Coordinates as text, plus codes, the data block and place ids.
    "°",
    "º",
    "'",
    "′",
    "\"",
    "″",
    "''",
    " N",
    "S",
    " E ",
    "W",
    "south",
    "\t",
    "; ",
    "5G5CVX5C",
    "+2V",
    "VX5C+2V",
    "0000+",
    "plus.codes/",
    "/maps/search/",
    "/maps/dir/",
    "data=",
    "pb=",
    "!1m3",
    "!1m5",
    "!2m2",
    "!1d",
    "!2d",
    "!1m0",
    "!1s0x1e95:0x2f1",
    "cid=",
    "ftid=0x1:0x2",
    "place_id:ChIJ2yV0Y2pzlR4R",
];

/// Like [`FRAGMENTS`], but only what the original app could read the same way: no
/// place data, dash look-alikes, `+` signs or exponents, ASCII digits only.
const LEGACY_FRAGMENTS: &[&str] = &[
    "@",
    ",",
    ", ",
    "-",
    ".",
    "~",
    "/",
    "?",
    "&",
    "#",
    "(",
    ")",
    ";",
    " ",
    "q=",
    "?q=",
    "&q=",
    "query=",
    "%2C",
    "%2c",
    "%2D",
    "%20",
    "!4d",
    "ll=",
    "?ll=",
    "&sll=",
    "geo:",
    "geo:0,0",
    "mlat=",
    "mlon=",
    "#map=",
    "cp=",
    "%7E",
    "0",
    "1",
    "9",
    "90",
    "180",
    "-90",
    "181",
    "https://maps.google.com/",
    "https://www.openstreetmap.org/",
];

fn link_from(fragments: &'static [&'static str]) -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        6 => select(fragments).prop_map(str::to_owned),
        3 => "[0-9]{1,3}(\\.[0-9]{1,4})?",
        2 => "-?[0-9]{1,3}\\.[0-9]{1,3}(,|, |%2C)-?[0-9]{1,3}(\\.[0-9]{1,3})?",
        1 => "[a-z]{1,3}",
    ];
    prop::collection::vec(piece, 0..12).prop_map(|pieces| pieces.concat())
}

fn any_link() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => link_from(FRAGMENTS),
        1 => link_from(FRAGMENTS).prop_map(|s| s.replace("e", "\u{2212}")),
        1 => any::<String>(),
    ]
}

/// In range, with the boundaries and zero over-represented.
fn lat_lng() -> impl Strategy<Value = (f64, f64)> {
    let lat = prop_oneof![
        4 => -90.0..=90.0f64,
        1 => select(&[-90.0, 90.0, 0.0, -0.0, 0.5, -0.000001][..]),
        1 => (-90i32..=90).prop_map(f64::from),
    ];
    let lng = prop_oneof![
        4 => -180.0..=180.0f64,
        1 => select(&[-180.0, 180.0, 0.0, -0.0, 179.999999][..]),
        1 => (-180i32..=180).prop_map(f64::from),
    ];
    (lat, lng)
}

/// Every form, writing a pair the way that form does (`{}` of an `f64` never uses an
/// exponent and round-trips exactly).
fn forms(lat: f64, lng: f64) -> Vec<(String, Pattern)> {
    let minus = |v: f64| v.to_string().replace('-', "\u{2212}");
    vec![
        (
            format!("https://maps.google.com/?q={lat},{lng}"),
            Pattern::Q,
        ),
        (
            format!("https://www.google.com/maps/search/?api=1&query={lat}%2C{lng}"),
            Pattern::QueryParam,
        ),
        (
            format!("https://www.google.com/maps/place/X/@0,0,15z/data=!3d{lat}!4d{lng}"),
            Pattern::Place,
        ),
        (
            format!("https://www.google.com/maps/@{lat},{lng},15z"),
            Pattern::At,
        ),
        (
            format!("https://maps.apple.com/?ll={lat},{lng}&q=Pin"),
            Pattern::Ll,
        ),
        (format!("geo:{lat},{lng};u=35"), Pattern::Geo),
        (
            format!("https://www.openstreetmap.org/?mlon={lng}&mlat={lat}#map=9/0/0"),
            Pattern::OsmMarker,
        ),
        (
            format!("https://www.openstreetmap.org/#map=15/{lat}/{lng}"),
            Pattern::OsmMap,
        ),
        (
            format!("https://www.bing.com/maps?cp={lat}~{lng}&lvl=11"),
            Pattern::Bing,
        ),
        (
            format!("https://maps.google.com/?q={},{}", minus(lat), minus(lng)),
            Pattern::Q,
        ),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn never_panics_and_never_answers_out_of_range(link in any_link()) {
        match parse(&link) {
            Ok(Parsed { coordinates: Coordinates { lat, lng }, .. }) => {
                prop_assert!((-90.0..=90.0).contains(&lat), "{lat}");
                prop_assert!((-180.0..=180.0).contains(&lng), "{lng}");
            }
            Err(e) => {
                prop_assert!(!e.to_string().is_empty());
                prop_assert!(!e.offline_reason().is_empty());
                prop_assert!(!e.code().is_empty());
            }
        }
    }

    #[test]
    fn q_links_round_trip((lat, lng) in lat_lng()) {
        let parsed = parse(&format!("https://maps.google.com/?q={lat},{lng}"));
        prop_assert_eq!(
            parsed.map(|p| (p.coordinates, p.pattern)),
            Ok((Coordinates { lat, lng }, Pattern::Q))
        );
    }

    #[test]
    fn every_form_round_trips((lat, lng) in lat_lng()) {
        for (link, pattern) in forms(lat, lng) {
            let parsed = parse(&link);
            prop_assert_eq!(
                parsed.map(|p| (p.coordinates, p.pattern)),
                Ok((Coordinates { lat, lng }, pattern)),
                "{}", link
            );
        }
    }

    #[test]
    fn agrees_with_the_original_on_what_it_solved(link in link_from(LEGACY_FRAGMENTS)) {
        if let Ok(old) = legacy::parse(&link) {
            let new = parse(&link);
            // Refusing a number with two decimal points is the one change allowed here.
            if !matches!(new, Err(ParseError::MalformedNumber(_))) {
                prop_assert_eq!(new.map(|p| p.coordinates), Ok(old), "{}", link);
            }
        }
    }
}

/// The original app's parser, verbatim but for the result type: the oracle for
/// "every link it solved keeps its answer".
mod legacy {
    use std::{borrow::Cow, sync::LazyLock};

    use regex::Regex;

    use super::{Coordinates, ParseError};

    const NUM: &str = r"(-?\d+(?:\.\d+)?)";
    const DEC: &str = r"(-?\d+\.\d+)";

    fn re(pattern: String) -> Regex {
        Regex::new(&pattern).unwrap_or_else(|e| panic!("{pattern:?}: {e}"))
    }

    static QUERY_PARAM: LazyLock<Regex> = LazyLock::new(|| re(format!(r"(?i)query={NUM}%2C{NUM}")));
    static AT: LazyLock<Regex> = LazyLock::new(|| re(format!(r"@{NUM},{NUM}")));
    static Q: LazyLock<Regex> = LazyLock::new(|| re(format!(r"[?&]q={NUM},\s*{NUM}")));
    static BARE_PAIR: LazyLock<Regex> = LazyLock::new(|| re(format!(r"{DEC},\s*{DEC}")));

    fn pair(re: &Regex, text: &str) -> Option<(f64, f64)> {
        let caps = re.captures(text)?;
        Some((
            caps.get(1)?.as_str().parse().ok()?,
            caps.get(2)?.as_str().parse().ok()?,
        ))
    }

    fn first_match(link: &str) -> Option<(f64, f64)> {
        if let Some(found) = pair(&QUERY_PARAM, link) {
            return Some(found);
        }
        if let Some(found) = pair(&AT, link) {
            return Some(found);
        }
        if let Some(found) = pair(&Q, link) {
            return Some(found);
        }
        let decoded: Cow<'_, str> = percent_encoding::percent_decode_str(link).decode_utf8_lossy();
        let (a, b) = pair(&BARE_PAIR, &decoded)?;
        Some(if a.abs() > 90.0 && b.abs() <= 90.0 {
            (b, a)
        } else {
            (a, b)
        })
    }

    pub(super) fn parse(link: &str) -> Result<Coordinates, ParseError> {
        let link = link.trim();
        let (lat, lng) = first_match(link).ok_or(ParseError::NoCoordinates)?;
        Coordinates::new(lat, lng)
    }
}
