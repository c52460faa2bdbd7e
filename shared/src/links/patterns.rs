//! The link patterns and the order they are tried in. The first that matches decides,
//! including when one of its numbers is malformed: `?q=-26.10.76,28.05` is refused
//! rather than passed on to the bare pair, which would find `10.76,28.05`.
//!
//! The order, and why:
//!
//! 0. A cell that is nothing but coordinates written as text — `dms`,
//!    `decimal-minutes`, `decimal-degrees-text`, `separated-pair`
//!    ([`super::coordinate_text`]). The whole cell must be two coordinates, so no URL
//!    ever gets here, and the reader leaves to the bare pair the plain pairs that it
//!    reads (`-26.1, 28.0` stays `pair`). What it claims, the other patterns found
//!    nothing in, with one deliberate exception: hemisphere letters the bare pair would
//!    ignore (`40.7128, 74.0060 W` was read as 74.006 *east*). A cell shaped like a
//!    plus code is not read as text (`2329232W+23` is a code).
//! 1. `query` — the original app's first pattern. It stays ahead of `place` so that
//!    every link the original solved with it keeps its answer: the `query=` value is
//!    the point the link's author asked for through the Maps URLs API. The two hardly
//!    meet anyway (`/maps/search/?api=1&query=…` has no `data=`, and the `/maps/place/`
//!    URL Google redirects it to has no `query=`).
//! 2. `place` — `!3d<lat>!4d<lng>` is the place itself, while `@` is only where the
//!    map was looking, so it must come before `at`. A deliberate change to answers the
//!    original gave.
//! 3. `directions` — a `/maps/dir/` link's destination (its last stop's coordinates in
//!    the `data=` block). Ahead of `at` for the same reason as `place`: the `@` of a
//!    route is the middle of the map showing it, often far from either end. The second
//!    deliberate change.
//! 4. `at`, 5. `q` — the original's, in its order.
//! 6. `ll`, `geo`, `osm-marker`, `osm-map`, `bing`, `search`, `embed` — the forms the
//!    original did not know. They come after the original's specific patterns so that
//!    they cannot change those answers, and before the bare pair so that a link is
//!    recorded under the form it is written in. The bare pair is a catch-all, though,
//!    and the original solved some of these links through it; to keep those answers,
//!    one of these patterns only claims a link when the bare pair would find nothing or
//!    the same pair. Otherwise the bare pair's answer stands: `?sll=1.5,2.5&ll=3.5,4.5`
//!    stays `1.5,2.5`, and `geo:151.2,-33.8` stays swapped to `-33.8,151.2`.
//!    `osm-marker` is ahead of `osm-map` for the same reason `place` is ahead of `at`
//!    (the marker is the point, the map view only a view); the other keys never meet.
//! 7. `pair` — the original's catch-all, on the percent-decoded text.
//! 8. Only when nothing above found a pair: a path segment or `q` value that is a
//!    coordinate text or a plus code ([`super::in_link`]; `plus-code` also for a bare
//!    code in the cell), then the refusals that leave the link to a place search (a
//!    short plus code, a place named by id with no coordinates, [`super::place_ref`]).
//!    Last so that nothing the patterns above solved changes.
//!
//! `pair` and `search` read the percent-decoded text; the others read the link as
//! written, as the original's did (which is why `query=` insists on `%2C`).

use std::borrow::Cow;

use super::data_block::Block;
use super::number::Found;
use super::{ParseError, coordinate_text, dashes, google, in_link, other_maps, pair, place_ref};

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
    /// Degrees, minutes and seconds: `26°06'29.5"S 28°03'09.7"E`.
    Dms,
    /// Degrees and decimal minutes: `S 26° 6.4917' E 28° 3.0117'`.
    DecimalMinutes,
    /// Decimal degrees with hemisphere letters or degree marks: `26.1081° S, 28.0502° E`.
    DecimalDegreesText,
    /// Two decimals separated otherwise than the bare pair's comma: `-26.1 ; 28.0`,
    /// `-26.1 , 28.0`, a tab.
    SeparatedPair,
    /// A global plus code: `5G5CVX5C+2V`, alone or in a link.
    PlusCode,
    /// A `/maps/dir/` route's destination, from the `data=` block.
    Directions,
    /// A `/maps/search/<lat>,+<lng>` path.
    Search,
    /// The camera of a `/maps/embed?pb=…` map.
    Embed,
}

impl Pattern {
    /// Every pattern, in declaration order.
    pub const ALL: [Self; 18] = [
        Self::QueryParam,
        Self::Place,
        Self::At,
        Self::Q,
        Self::Ll,
        Self::Geo,
        Self::OsmMarker,
        Self::OsmMap,
        Self::Bing,
        Self::BarePair,
        Self::Dms,
        Self::DecimalMinutes,
        Self::DecimalDegreesText,
        Self::SeparatedPair,
        Self::PlusCode,
        Self::Directions,
        Self::Search,
        Self::Embed,
    ];

    /// Every [`Self::source`], once each.
    pub const SOURCES: [&'static str; 5] = [
        "place pin",
        "map centre",
        "coordinates in link",
        "coordinates in text",
        "plus code",
    ];

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
            Self::Dms => "dms",
            Self::DecimalMinutes => "decimal-minutes",
            Self::DecimalDegreesText => "decimal-degrees-text",
            Self::SeparatedPair => "separated-pair",
            Self::PlusCode => "plus-code",
            Self::Directions => "directions",
            Self::Search => "search",
            Self::Embed => "embed",
        }
    }

    /// How the point was found, in words a person reads: `place pin` (the place's own
    /// coordinates), `map centre` (where the map was looking), `coordinates in link` (a
    /// parameter that holds the point), `coordinates in text` (written out, or the bare
    /// pair found anywhere in the text), `plus code`.
    pub fn source(self) -> &'static str {
        match self {
            Self::Place | Self::Directions => "place pin",
            Self::At | Self::OsmMap | Self::Embed => "map centre",
            Self::QueryParam
            | Self::Q
            | Self::Ll
            | Self::Geo
            | Self::OsmMarker
            | Self::Bing
            | Self::Search => "coordinates in link",
            Self::BarePair
            | Self::Dms
            | Self::DecimalMinutes
            | Self::DecimalDegreesText
            | Self::SeparatedPair => "coordinates in text",
            Self::PlusCode => "plus code",
        }
    }

    /// Whether the point is only where a map was looking, which can be far from the
    /// place the link was shared for (Google's `@` is often ~1.5 km off the pin).
    pub fn is_approximate(self) -> bool {
        matches!(self, Self::At | Self::OsmMap | Self::Embed)
    }
}

/// A link as the patterns see it, prepared once.
pub(super) struct Link<'a> {
    /// Trimmed, dash look-alikes read as `-`.
    pub(super) text: &'a str,
    /// The same, percent-decoded (and dash-normalised again).
    pub(super) decoded: &'a str,
    /// The `!`-separated entries of the text.
    pub(super) block: Block<'a>,
}

type Finder = fn(&Link<'_>) -> Option<Found>;

/// Tried in order; the first match decides.
const SPECIFIC: [(Pattern, Finder); 5] = [
    (Pattern::QueryParam, google::query_param),
    (Pattern::Place, google::place),
    (Pattern::Directions, google::directions),
    (Pattern::At, google::at),
    (Pattern::Q, google::q),
];

/// Tried in order, each deferring to the bare pair (see the module doc).
const DEFERRING: [(Pattern, Finder); 7] = [
    (Pattern::Ll, google::ll),
    (Pattern::Geo, other_maps::geo),
    (Pattern::OsmMarker, other_maps::osm_marker),
    (Pattern::OsmMap, other_maps::osm_map),
    (Pattern::Bing, other_maps::bing),
    (Pattern::Search, google::search),
    (Pattern::Embed, google::embed),
];

/// What `link` (trimmed, not empty) says: the pattern that found a pair and what it
/// read, or why there is none.
pub(super) fn first_match(link: &str) -> Result<(Pattern, Found), ParseError> {
    let text = dashes::normalise(link);
    if !in_link::looks_like_plus_code(&text)
        && let Some(found) = coordinate_text::read(&text)
    {
        return Ok(found);
    }
    let decoded: Cow<'_, str> = percent_encoding::percent_decode_str(&text).decode_utf8_lossy();
    let decoded = dashes::normalise(&decoded);
    let link = Link {
        text: &text,
        decoded: &decoded,
        block: Block::read(&text),
    };
    if let Some(found) = url_patterns(&link) {
        return Ok(found);
    }
    if let Some(found) = in_link::find(&text) {
        return Ok(found);
    }
    match place_ref::find(&link) {
        Some(id) => Err(ParseError::PlaceWithoutCoordinates(id)),
        None => Err(ParseError::NoCoordinates),
    }
}

/// Steps 1 to 7 of the order.
fn url_patterns(link: &Link<'_>) -> Option<(Pattern, Found)> {
    for (pattern, find) in SPECIFIC {
        if let Some(found) = find(link) {
            return Some((pattern, found));
        }
    }
    let bare = pair::bare_pair(link.decoded);
    let deferring = DEFERRING
        .iter()
        .find_map(|&(pattern, find)| Some((pattern, find(link)?)));
    match (deferring, bare) {
        (Some((pattern, found)), None) => Some((pattern, found)),
        (Some((pattern, found)), Some(bare)) if same(&found, &bare) => Some((pattern, found)),
        (_, bare) => Some((Pattern::BarePair, bare?)),
    }
}

/// Whether two findings agree: the same point, or the same refusal.
fn same(a: &Found, b: &Found) -> bool {
    match (a, b) {
        (Ok(a), Ok(b)) => a.same_point(b),
        (a, b) => a == b,
    }
}
