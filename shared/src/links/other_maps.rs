//! Non-Google forms: `geo:` URIs (RFC 5870 and Android's `geo:0,0?q=`),
//! OpenStreetMap's marker (`mlat=`/`mlon=`) and map view (`#map=zoom/lat/lon`), and
//! Bing's `cp=lat~lng`.
//!
//! Each function looks at the (dash-normalised, not percent-decoded) link; the order
//! they are tried in is [`super::patterns`]'s.

use std::sync::LazyLock;

use regex::Regex;

use super::number::{Found, NUM, number, pair, pair_of, re};

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
pub(super) fn geo(text: &str) -> Option<Found> {
    let caps = GEO.captures(text)?;
    let found = pair_of(&caps)?;
    let rest = &text[caps.get(0)?.end()..];
    if found == Ok((0.0, 0.0)) && Q_PARAM.is_match(rest) {
        return None;
    }
    Some(found)
}

/// `mlat=` and `mlon=`, in either order; both must be present.
pub(super) fn osm_marker(text: &str) -> Option<Found> {
    let lat = MLAT.captures(text)?.get(1)?.as_str();
    let lng = MLON.captures(text)?.get(1)?.as_str();
    Some(number(lat).and_then(|lat| Ok((lat, number(lng)?))))
}

pub(super) fn osm_map(text: &str) -> Option<Found> {
    pair(&OSM_MAP, text)
}

pub(super) fn bing(text: &str) -> Option<Found> {
    pair(&BING, text)
}
