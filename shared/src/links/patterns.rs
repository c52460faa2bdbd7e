//! The link patterns and the order they are tried in. The first that matches decides,
//! including when one of its numbers is malformed: `?q=-26.10.76,28.05` is refused
//! rather than passed on to the bare pair, which would find `10.76,28.05`.
//!
//! The order, and why:
//!
//! 1. `query` — the original app's first pattern. It stays ahead of `place` so that
//!    every link the original solved with it keeps its answer: the `query=` value is
//!    the point the link's author asked for through the Maps URLs API. The two hardly
//!    meet anyway (`/maps/search/?api=1&query=…` has no `data=`, and the `/maps/place/`
//!    URL Google redirects it to has no `query=`).
//! 2. `place` — `!3d<lat>!4d<lng>` is the place itself, while `@` is only where the
//!    map was looking, so it must come before `at`. This is the one deliberate change
//!    to answers the original gave.
//! 3. `at`, 4. `q` — the original's, in its order.
//! 5. `ll`, `geo`, `osm-marker`, `osm-map`, `bing` — the forms the original did not
//!    know. They come after the original's specific patterns so that they cannot change
//!    those answers, and before the bare pair so that a link is recorded under the
//!    form it is written in. The bare pair is a catch-all, though, and the original
//!    solved some of these links through it; to keep those answers, one of these
//!    patterns only claims a link when the bare pair would find nothing or the same
//!    pair. Otherwise the bare pair's answer stands: `?sll=1.5,2.5&ll=3.5,4.5` stays
//!    `1.5,2.5`, and `geo:151.2,-33.8` stays swapped to `-33.8,151.2`. `osm-marker`
//!    is ahead of `osm-map` for the same reason `place` is ahead of `at` (the marker
//!    is the point, the map view only a view); the other keys never meet.
//! 6. `pair` — the original's catch-all, on the percent-decoded text.
//!
//! `pair` reads the percent-decoded text; the others read the link as written, as
//! the original's did (which is why `query=` insists on `%2C`).

use std::borrow::Cow;

use super::number::Found;
use super::{dashes, google, other_maps, pair};

/// Which pattern found a pair (recorded per row as the method).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pattern {
    /// `query=<lat>%2C<lng>`, the Maps URLs API form.
    QueryParam,
    /// `!3d<lat>!4d<lng>`, Google's place data.
    Place,
    /// `@<lat>,<lng>`, the map viewport centre.
    At,
    /// `?q=<lat>,<lng>` or `&q=<lat>,<lng>` (also Apple Maps, and `geo:0,0?q=`).
    Q,
    /// `?ll=<lat>,<lng>` or `&ll=…` (Google and Apple Maps).
    Ll,
    /// A `geo:<lat>,<lng>` URI.
    Geo,
    /// OpenStreetMap's marker, `mlat=<lat>` and `mlon=<lng>` in either order.
    OsmMarker,
    /// OpenStreetMap's map view, `#map=<zoom>/<lat>/<lng>`.
    OsmMap,
    /// Bing Maps' `cp=<lat>~<lng>`.
    Bing,
    /// A bare or embedded `<lat>,<lng>` pair in the URL-decoded text.
    BarePair,
}

impl Pattern {
    /// A short name that stays the same across releases.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::QueryParam => "query",
            Self::Place => "place",
            Self::At => "at",
            Self::Q => "q",
            Self::Ll => "ll",
            Self::Geo => "geo",
            Self::OsmMarker => "osm-marker",
            Self::OsmMap => "osm-map",
            Self::Bing => "bing",
            Self::BarePair => "pair",
        }
    }
}

type Finder = fn(&str) -> Option<Found>;

/// Tried in order; the first match decides.
const SPECIFIC: [(Pattern, Finder); 4] = [
    (Pattern::QueryParam, google::query_param),
    (Pattern::Place, google::place),
    (Pattern::At, google::at),
    (Pattern::Q, google::q),
];

/// Tried in order, each deferring to the bare pair (see the module doc).
const DEFERRING: [(Pattern, Finder); 5] = [
    (Pattern::Ll, google::ll),
    (Pattern::Geo, other_maps::geo),
    (Pattern::OsmMarker, other_maps::osm_marker),
    (Pattern::OsmMap, other_maps::osm_map),
    (Pattern::Bing, other_maps::bing),
];

/// The first pattern that finds a pair (or a malformed number) in `link`.
pub(super) fn first_match(link: &str) -> Option<(Pattern, Found)> {
    let text = dashes::normalise(link);
    for (pattern, find) in SPECIFIC {
        if let Some(found) = find(&text) {
            return Some((pattern, found));
        }
    }
    let decoded: Cow<'_, str> = percent_encoding::percent_decode_str(&text).decode_utf8_lossy();
    let bare = pair::bare_pair(&dashes::normalise(&decoded));
    let deferring = DEFERRING
        .iter()
        .find_map(|&(pattern, find)| Some((pattern, find(&text)?)));
    match (deferring, bare) {
        (Some((pattern, found)), None) => Some((pattern, found)),
        (Some((pattern, found)), Some(bare)) if found == bare => Some((pattern, found)),
        (_, bare) => Some((Pattern::BarePair, bare?)),
    }
}
