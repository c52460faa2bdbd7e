//! How precise a written coordinate is, in metres: the rule for every form in one place.
//!
//! A written value stands for a small area: `-26.1081` for every latitude that rounds to
//! it, `5G5CVX5C+2V` for its grid cell. The precision reported is the **larger side of
//! that area**, in metres; the answer (the value itself, or the cell's centre) lies
//! within this distance of any point the text could have been written for.
//!
//! - Decimal degrees with `d` decimal places: one step of the last digit, `10^-d`
//!   degrees, at 111,320 m per degree (a degree of latitude; a degree of longitude is
//!   that or less, so this is the larger side). 6 places → 0.11 m, 4 → 11 m, 0 → 111 km.
//!   Of the two numbers, the one with fewer places decides.
//! - Degrees-minutes(-seconds): one step of the last written part: a minute is 1/60°
//!   (1,855 m), a second 1/3600° (30.9 m), each divided by 10 per decimal place.
//! - Plus codes: the larger side of the code's area, its height or its width at the
//!   area's latitude (a 10-digit code: 13.9 m; an 11-digit one: 3.5 m at the equator).
//! - A viewport centre (`@`, `#map=`, an embed's camera) has none: the digits say how
//!   precisely the map was centred, not where the place is ([`super::Pattern::is_approximate`]).

/// Metres in one degree of latitude (and of longitude at the equator).
pub(super) const METRES_PER_DEGREE: f64 = 111_320.0;

/// The number of decimal places a number token is written with.
pub(super) fn decimals(token: &str) -> i32 {
    token.split_once('.').map_or(0, |(_, frac)| {
        i32::try_from(frac.bytes().take_while(u8::is_ascii_digit).count()).unwrap_or(i32::MAX)
    })
}

/// One step of the last decimal place, in degrees, of a part worth `unit` degrees.
pub(super) fn step_degrees(token: &str, unit: f64) -> f64 {
    unit / 10f64.powi(decimals(token))
}

/// The precision of a pair whose numbers step by `lat_step` and `lng_step` degrees.
pub(super) fn of_steps(lat_step: f64, lng_step: f64) -> f64 {
    lat_step.max(lng_step) * METRES_PER_DEGREE
}

/// The precision of a pair of decimal-degree tokens.
pub(super) fn of_decimal_pair(lat: &str, lng: &str) -> f64 {
    of_steps(step_degrees(lat, 1.0), step_degrees(lng, 1.0))
}

/// The larger side of an area `height` by `width` degrees centred at `lat`.
pub(super) fn of_area(height: f64, width: f64, lat: f64) -> f64 {
    let width_m = width * METRES_PER_DEGREE * lat.to_radians().cos().abs();
    (height * METRES_PER_DEGREE).max(width_m)
}
