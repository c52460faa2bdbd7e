//! What the table tests share.

use super::{Coordinates, Pattern, parse};

/// Each `(input, lat, lng, pattern)` parses to that point (within 1e-9°) by that pattern.
#[track_caller]
pub(super) fn assert_near(cases: &[(&str, f64, f64, Pattern)]) {
    for &(input, lat, lng, pattern) in cases {
        let parsed = parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        let Coordinates {
            lat: got_lat,
            lng: got_lng,
        } = parsed.coordinates;
        assert!(
            (got_lat - lat).abs() < 1e-9 && (got_lng - lng).abs() < 1e-9,
            "{input:?}: {got_lat},{got_lng} instead of {lat},{lng}"
        );
        assert_eq!(parsed.pattern, pattern, "{input:?}");
    }
}
