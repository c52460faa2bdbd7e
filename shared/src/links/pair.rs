//! The catch-all: a bare or embedded `<lat>,<lng>` pair of decimals anywhere in the
//! percent-decoded text (the original app's last pattern, with its swap rule).

use std::sync::LazyLock;

use regex::Regex;

use super::number::{DEC, Found, Reading, pair, re};

static BARE_PAIR: LazyLock<Regex> = LazyLock::new(|| re(format!(r"{DEC},\s*{DEC}")));

/// The first decimal pair in `decoded`, as (lat, lng).
pub(super) fn bare_pair(decoded: &str) -> Option<Found> {
    Some(pair(&BARE_PAIR, decoded)?.map(swap_if_longitude_first))
}

/// A first number that cannot be a latitude while the second can means the pair was
/// written longitude first.
pub(super) fn swap_if_longitude_first(r: Reading) -> Reading {
    if r.lat.abs() > 90.0 && r.lng.abs() <= 90.0 {
        r.swapped()
    } else {
        r
    }
}
