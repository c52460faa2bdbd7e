//! Coordinates that a link holds as one of its parts rather than as parameters: a path
//! segment (`/maps/search/5G5CVX5C%2B2V`, `https://plus.codes/5G5CVX5C+2V`,
//! `/maps/place/26°06'29.5"S+28°03'09.7"E`) or a `q`/`query` value that is, on its own,
//! a coordinate text or a plus code. The whole cell is a candidate too, for a bare plus
//! code.
//!
//! Path segments and values are percent-decoded. For text, `+` is a space (as Google
//! writes spaces in paths and forms in queries); for plus codes it stays the separator,
//! since a code's `+` is often pasted unencoded (`?q=5G5CVX5C+2V`). A code may be
//! followed by a locality after a space, comma or `+` (`VX5C+2V Johannesburg`).
//!
//! A full code decodes to its cell's centre. A short code, or a token of the same shape
//! with fewer than eight characters before the `+` that is not even a valid short code
//! (`CVX5C+2V`, a digit too many or too few), is left to a place search with the
//! locality: [`ParseError::ShortPlusCode`]. Eight characters and a `+` that do not make
//! a valid full code are refused as [`ParseError::InvalidPlusCode`].

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

use super::number::{Found, Reading, re};
use super::plus_code::{self, Code};
use super::{ParseError, Pattern, coordinate_text, dashes, precision};

/// A plus-code-shaped token at the start of a candidate, then nothing or a locality.
static PLUS_CODE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?is)^([23456789CFGHJMPQRVWX0]{2,8})\+([23456789CFGHJMPQRVWX]*)(?:[\s,+].*)?$".to_owned())
});

/// The query keys whose value may be a place written as text.
const QUERY_KEYS: [&str; 2] = ["q", "query"];

/// The path segments and `q`/`query` values of `link`, percent-decoded (`+` kept).
fn parts(link: &str) -> Vec<Cow<'_, str>> {
    let link = link.split('#').next().unwrap_or_default();
    let (path, query) = link.split_once('?').unwrap_or((link, ""));
    let decode = |s| percent_encoding::percent_decode_str(s).decode_utf8_lossy();
    let values = query.split('&').filter_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        QUERY_KEYS.contains(&key).then(|| decode(value))
    });
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(decode)
        .chain(values)
        .collect()
}

/// Whether `text` has the shape of a plus code (and maybe a locality). Such a text is
/// never read as coordinate text: `2329232W+23` is a code, not 2329232° W and 23°.
pub(super) fn looks_like_plus_code(text: &str) -> bool {
    PLUS_CODE.is_match(text.trim())
}

/// The first coordinate text, or plus code, that `link` or one of its parts is.
pub(super) fn find(link: &str) -> Option<(Pattern, Found)> {
    let parts = parts(link);
    let text = parts.iter().find_map(|part| {
        if looks_like_plus_code(part) {
            return None;
        }
        let spaced = part.replace('+', " ");
        coordinate_text::read(dashes::normalise(spaced.trim()).as_ref())
    });
    text.or_else(|| {
        std::iter::once(Cow::Borrowed(link))
            .chain(parts)
            .find_map(|part| plus_code(&part))
            .map(|found| (Pattern::PlusCode, found))
    })
}

/// What `candidate` says if it is a plus code (and maybe a locality).
fn plus_code(candidate: &str) -> Option<Found> {
    let caps = PLUS_CODE.captures(candidate.trim())?;
    let (before, after) = (caps.get(1)?.as_str(), caps.get(2)?.as_str());
    let code = format!("{before}+{after}").to_ascii_uppercase();
    match plus_code::classify(&code) {
        Code::Full(area) => {
            let (lat, lng) = area.centre();
            Some(Ok(Reading {
                lat,
                lng,
                precision_m: Some(precision::of_area(area.height, area.width, lat)),
            }))
        }
        _ if before.len() == 8 => Some(Err(ParseError::InvalidPlusCode(code))),
        // A `+` after a word or two (`22+33`) is not worth calling a plus code.
        _ if after.len() < 2 => None,
        _ => Some(Err(ParseError::ShortPlusCode(code))),
    }
}
