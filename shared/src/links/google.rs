//! Google Maps URL forms (and `ll=`, which Apple Maps shares): the original app's
//! `query=`, `@` and `q=` patterns, plus `ll=`, the coordinates of a `/maps/search/`
//! path, and what the `data=` block holds (the place pin, a route's destination, an
//! embed's camera; read by [`super::data_block`]).
//!
//! Each function looks at the link (dash-normalised; percent-decoded only where it says
//! so) and returns what its first match holds; the order they are tried in is
//! [`super::patterns`]'s.

use std::sync::LazyLock;

use regex::Regex;

use super::number::{Found, NUM, pair, re};
use super::patterns::Link;

/// `query=<lat>%2C<lng>` (`%2c` too): the Maps URLs API's
/// `/maps/search/?api=1&query=…`.
static QUERY_PARAM: LazyLock<Regex> = LazyLock::new(|| re(format!(r"(?i)query={NUM}%2C{NUM}")));
/// `@<lat>,<lng>`: where the map was looking, not necessarily the place.
static AT: LazyLock<Regex> = LazyLock::new(|| re(format!(r"@{NUM},{NUM}")));
/// `?q=<lat>,<lng>` or `&q=<lat>,<lng>` (Google, Apple, and the `geo:0,0?q=` form).
static Q: LazyLock<Regex> = LazyLock::new(|| re(format!(r"[?&]q={NUM},\s*{NUM}")));
/// `?ll=<lat>,<lng>` or `&ll=…`, comma literal or `%2C`; not `sll=`.
static LL: LazyLock<Regex> = LazyLock::new(|| re(format!(r"[?&]ll={NUM}(?:,\s*|%2[Cc]){NUM}")));
/// `/maps/search/<lat>,+<lng>` in the percent-decoded link: what Google's address bar
/// shows after a search for coordinates, the `+` standing for a space (so a negative
/// longitude reads `,+-47.7`, which the bare pair does not take).
static SEARCH: LazyLock<Regex> =
    LazyLock::new(|| re(format!(r"/maps/search/{NUM},(?:\s|\+)*{NUM}")));

pub(super) fn query_param(link: &Link<'_>) -> Option<Found> {
    pair(&QUERY_PARAM, link.text)
}

/// `!3d<lat>!4d<lng>`: the place itself, in the `data=` of a `/maps/place/` URL.
pub(super) fn place(link: &Link<'_>) -> Option<Found> {
    link.block.place()
}

/// A route's destination, in the `data=` of a `/maps/dir/` URL.
pub(super) fn directions(link: &Link<'_>) -> Option<Found> {
    if !link.text.contains("/dir/") {
        return None;
    }
    link.block.destination()
}

pub(super) fn at(link: &Link<'_>) -> Option<Found> {
    pair(&AT, link.text)
}

pub(super) fn q(link: &Link<'_>) -> Option<Found> {
    pair(&Q, link.text)
}

pub(super) fn ll(link: &Link<'_>) -> Option<Found> {
    pair(&LL, link.text)
}

pub(super) fn search(link: &Link<'_>) -> Option<Found> {
    pair(&SEARCH, link.decoded)
}

/// The camera of a `/maps/embed?pb=…` map (or the `<iframe>` that holds it).
pub(super) fn embed(link: &Link<'_>) -> Option<Found> {
    if !link.text.contains("pb=") {
        return None;
    }
    link.block.embed_camera()
}
