//! Google Maps URL forms (and `ll=`, which Apple Maps shares): the original app's
//! `query=`, `@` and `q=` patterns, plus the place data `!3d…!4d…` and `ll=`.
//!
//! Each function looks at the (dash-normalised, not percent-decoded) link and returns
//! what its first match holds; the order they are tried in is [`super::patterns`]'s.

use std::sync::LazyLock;

use regex::Regex;

use super::number::{Found, NUM, pair, re};

/// `query=<lat>%2C<lng>` (`%2c` too): the Maps URLs API's
/// `/maps/search/?api=1&query=…`.
static QUERY_PARAM: LazyLock<Regex> = LazyLock::new(|| re(format!(r"(?i)query={NUM}%2C{NUM}")));
/// `!3d<lat>!4d<lng>`: the place itself, in the `data=` of a `/maps/place/` URL.
static PLACE: LazyLock<Regex> = LazyLock::new(|| re(format!(r"!3d{NUM}!4d{NUM}")));
/// `@<lat>,<lng>`: where the map was looking, not necessarily the place.
static AT: LazyLock<Regex> = LazyLock::new(|| re(format!(r"@{NUM},{NUM}")));
/// `?q=<lat>,<lng>` or `&q=<lat>,<lng>` (Google, Apple, and the `geo:0,0?q=` form).
static Q: LazyLock<Regex> = LazyLock::new(|| re(format!(r"[?&]q={NUM},\s*{NUM}")));
/// `?ll=<lat>,<lng>` or `&ll=…`, comma literal or `%2C`; not `sll=`.
static LL: LazyLock<Regex> = LazyLock::new(|| re(format!(r"[?&]ll={NUM}(?:,\s*|%2[Cc]){NUM}")));

pub(super) fn query_param(text: &str) -> Option<Found> {
    pair(&QUERY_PARAM, text)
}

pub(super) fn place(text: &str) -> Option<Found> {
    pair(&PLACE, text)
}

pub(super) fn at(text: &str) -> Option<Found> {
    pair(&AT, text)
}

pub(super) fn q(text: &str) -> Option<Found> {
    pair(&Q, text)
}

pub(super) fn ll(text: &str) -> Option<Found> {
    pair(&LL, text)
}
