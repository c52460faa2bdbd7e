//! How the patterns read numbers: capture generously, then accept strictly.
//!
//! A pattern's number slot captures the whole number-like token (sign, digits, any
//! number of `.digits` groups, an exponent), so that `-26.10.76` is seen whole instead
//! of being cut to `-26.10`, and `1e2` whole instead of `1`. The token is then refused
//! unless it is a plain decimal. Refusing is the point: a shortened number would be a
//! wrong place on the map, reported as a success.
//!
//! A leading `+` is accepted: in a query string it is either an explicit sign or a
//! form-encoded space, and both readings give the same number.

use regex::{Captures, Regex};

use super::{ParseError, precision};

/// A number slot. ASCII digits only (`\d` would also match other scripts' digits,
/// which `f64::from_str` does not read).
pub(super) const NUM: &str = r"([+-]?[0-9]+(?:\.[0-9]+)*(?:[eE][+-]?[0-9]+)?)";

/// A number slot that requires a decimal point (the bare pair's numbers: integers in
/// free text are too often something else).
pub(super) const DEC: &str = r"([+-]?[0-9]+(?:\.[0-9]+)+(?:[eE][+-]?[0-9]+)?)";

/// Longest token quoted back in an error message (the text can be 100 KB).
const MAX_QUOTED: usize = 32;

/// A pair a pattern read, before the range check.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Reading {
    pub(super) lat: f64,
    pub(super) lng: f64,
    /// See [`precision`]; `None` where the form implies none.
    pub(super) precision_m: Option<f64>,
}

impl Reading {
    /// The same point, whatever the precision each reading gives it.
    pub(super) fn same_point(&self, other: &Self) -> bool {
        (self.lat, self.lng) == (other.lat, other.lng)
    }

    /// The pair written the other way round.
    pub(super) fn swapped(self) -> Self {
        Self {
            lat: self.lng,
            lng: self.lat,
            ..self
        }
    }
}

/// What a pattern found: a pair, or the reason it refuses the text it matched.
pub(super) type Found = Result<Reading, ParseError>;

/// Compiles one of the link patterns.
pub(super) fn re(pattern: String) -> Regex {
    // The patterns are constants of this module's siblings; a typo is caught by every
    // test run.
    Regex::new(&pattern).unwrap_or_else(|e| panic!("link pattern {pattern:?}: {e}"))
}

/// Reads a captured token: one decimal point at most, no exponent.
pub(super) fn number(token: &str) -> Result<f64, ParseError> {
    let plain = token.bytes().filter(|&b| b == b'.').count() <= 1
        && !token.bytes().any(|b| b.eq_ignore_ascii_case(&b'e'));
    match token.parse() {
        Ok(v) if plain => Ok(v),
        _ => Err(ParseError::MalformedNumber(quoted(token))),
    }
}

/// Reads two decimal-degree tokens as (lat, lng), with the precision their decimal
/// places give.
pub(super) fn decimal_pair(lat: &str, lng: &str) -> Found {
    Ok(Reading {
        lat: number(lat)?,
        lng: number(lng)?,
        precision_m: Some(precision::of_decimal_pair(lat, lng)),
    })
}

/// Reads capture groups 1 and 2 as (lat, lng).
pub(super) fn pair_of(caps: &Captures<'_>) -> Option<Found> {
    Some(decimal_pair(caps.get(1)?.as_str(), caps.get(2)?.as_str()))
}

/// The first match of `re` in `text`, groups 1 and 2 read as (lat, lng).
pub(super) fn pair(re: &Regex, text: &str) -> Option<Found> {
    pair_of(&re.captures(text)?)
}

/// A token as quoted back in an error message: at most [`MAX_QUOTED`] characters.
pub(super) fn quoted(token: &str) -> String {
    match token.char_indices().nth(MAX_QUOTED) {
        Some((cut, _)) => format!("{}…", &token[..cut]),
        None => token.to_owned(),
    }
}
