//! Non-Google forms: `geo:` URIs (RFC 5870 and Android's `geo:0,0?q=`),
//! OpenStreetMap's marker (`mlat=`/`mlon=`) and map view (`#map=zoom/lat/lon`), and
//! Bing's `cp=lat~lng`.
//!
//! Each function looks at the (dash-normalised, not percent-decoded) link; the order
//! they are tried in is [`super::patterns`]'s.

use std::sync::LazyLock;

use regex::Regex;

use super::number::{Found, NUM, decimal_pair, pair, pair_of, re};
use super::patterns::Link;

/// `geo:<lat>,<lng>`, then anything (`,alt`, `;u=35`, `?z=…`).
static GEO: LazyLock<Regex> = LazyLock::new(|| re(format!(r"(?i)\bgeo:{NUM}(?:,|%2C){NUM}")));
/// A `q` parameter, whatever its value.
static Q_PARAM: LazyLock<Regex> = LazyLock::new(|| re(r"[?&]q=".to_owned()));
static MLAT: LazyLock<Regex> = LazyLock::new(|| re(format!(r"[?&]mlat={NUM}")));
static MLON: LazyLock<Regex> = LazyLock::new(|| re(format!(r"[?&]mlon={NUM}")));
/// `#map=<zoom>/<lat>/<lon>`, the OpenStreetMap (leaflet-hash) view fragment.
static OSM_MAP: LazyLock<Regex> =
    LazyLock::new(|| re(format!(r"#map=[0-9]+(?:\.[0-9]+)?/{NUM}/{NUM}")));
/// `cp=<lat>~<lng>`, the tilde literal or `%7E`.
static BING: LazyLock<Regex> = LazyLock::new(|| re(format!(r"[?&]cp={NUM}(?:~|%7[Ee]){NUM}")));

/// `geo:lat,lng`, except Android's `geo:0,0?q=…`: there 0,0 means "no position" and
/// the query is the point. A query that is a pair has already been taken by the `q`
/// pattern, which comes first; any other query (an address) is not coordinates, so
/// this declines rather than answer 0,0.
pub(super) fn geo(link: &Link<'_>) -> Option<Found> {
    let text = link.text;
    let caps = GEO.captures(text)?;
    let found = pair_of(&caps)?;
    let rest = &text[caps.get(0)?.end()..];
    let zero = matches!(found, Ok(r) if (r.lat, r.lng) == (0.0, 0.0));
    if zero && Q_PARAM.is_match(rest) {
        return None;
    }
    Some(found)
}

/// `mlat=` and `mlon=`, in either order; both must be present.
pub(super) fn osm_marker(link: &Link<'_>) -> Option<Found> {
    let lat = MLAT.captures(link.text)?.get(1)?.as_str();
    let lng = MLON.captures(link.text)?.get(1)?.as_str();
    Some(decimal_pair(lat, lng))
}

pub(super) fn osm_map(link: &Link<'_>) -> Option<Found> {
    pair(&OSM_MAP, link.text)
}

pub(super) fn bing(link: &Link<'_>) -> Option<Found> {
    pair(&BING, link.text)
}
