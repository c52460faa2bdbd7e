//! Links that name a place by id but carry no coordinates: a feature id in the `data=`
//! block (`!1s0x…:0x…`) or in `ftid=` (where `maps.app.goo.gl` links often land), a
//! `cid=` (the old "customer id" share links) or a Places `place_id`
//! (`?q=place_id:ChIJ…`, `query_place_id=ChIJ…`). Only a place search can turn one into
//! a point, so these become [`super::ParseError::PlaceWithoutCoordinates`] rather than
//! the plain "nothing found": the row can then say that a Places API key is what is
//! missing.
//!
//! Consulted last, when no pattern found coordinates: a link that has both keeps its
//! coordinates.

use std::sync::LazyLock;

use regex::Regex;

use super::number::re;
use super::patterns::Link;

static FTID: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)[?&]ftid=(0x[0-9a-f]{1,16})(?::|%3A)(0x[0-9a-f]{1,16})".to_owned()));
static CID: LazyLock<Regex> = LazyLock::new(|| re(r"[?&]cid=([0-9]{1,24})\b".to_owned()));
/// `place_id:<id>` or `…place_id=<id>`, in the percent-decoded link.
static PLACE_ID: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)place_id[:=]\s*([A-Za-z0-9_-]{10,256})".to_owned()));

/// Which id `link` names a place by, as written in the reason (`feature id 0x…:0x…`).
pub(super) fn find(link: &Link<'_>) -> Option<String> {
    if let Some(id) = link.block.feature_id() {
        return Some(format!("feature id {id}"));
    }
    if let Some(caps) = FTID.captures(link.text) {
        return Some(format!("feature id {}:{}", &caps[1], &caps[2]));
    }
    if let Some(caps) = CID.captures(link.text) {
        return Some(format!("cid {}", &caps[1]));
    }
    PLACE_ID
        .captures(link.decoded)
        .map(|caps| format!("place_id {}", &caps[1]))
}

/// The Places `place_id` a link names (`?q=place_id:ChIJ…`, `query_place_id=ChIJ…`), if
/// any: the one id a Places lookup can take as it is (feature ids and `cid`s cannot).
pub fn places_id(link: &str) -> Option<String> {
    let decoded = percent_encoding::percent_decode_str(link).decode_utf8_lossy();
    PLACE_ID.captures(&decoded).map(|caps| caps[1].to_owned())
}
