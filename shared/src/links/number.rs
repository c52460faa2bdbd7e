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

/// A number slot. ASCII digits only (`\d` would also match other scripts' digits,
/// which `f64::from_str` does not read).
pub(super) const NUM: &str = r"([+-]?[0-9]+(?:\.[0-9]+)*(?:[eE][+-]?[0-9]+)?)";

/// A number slot that requires a decimal point (the bare pair's numbers: integers in
/// free text are too often something else).
pub(super) const DEC: &str = r"([+-]?[0-9]+(?:\.[0-9]+)+(?:[eE][+-]?[0-9]+)?)";

/// Longest token quoted back in an error message (the text can be 100 KB).
const MAX_QUOTED: usize = 32;

/// A captured token that is not a plain decimal, as quoted to the user.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Malformed(pub(super) String);

/// What a pattern found: a (lat, lng) pair, or a number it refuses to read.
pub(super) type Found = Result<(f64, f64), Malformed>;

/// Compiles one of the link patterns.
pub(super) fn re(pattern: String) -> Regex {
    // The patterns are constants of this module's siblings; a typo is caught by every
    // test run.
    Regex::new(&pattern).unwrap_or_else(|e| panic!("link pattern {pattern:?}: {e}"))
}

/// Reads a captured token: one decimal point at most, no exponent.
pub(super) fn number(token: &str) -> Result<f64, Malformed> {
    let plain = token.bytes().filter(|&b| b == b'.').count() <= 1
        && !token.bytes().any(|b| b.eq_ignore_ascii_case(&b'e'));
    match token.parse() {
        Ok(v) if plain => Ok(v),
        _ => Err(Malformed(quoted(token))),
    }
}

/// Reads capture groups 1 and 2 as (lat, lng).
pub(super) fn pair_of(caps: &Captures<'_>) -> Option<Found> {
    let (a, b) = (caps.get(1)?.as_str(), caps.get(2)?.as_str());
    Some(number(a).and_then(|a| Ok((a, number(b)?))))
}

/// The first match of `re` in `text`, groups 1 and 2 read as (lat, lng).
pub(super) fn pair(re: &Regex, text: &str) -> Option<Found> {
    pair_of(&re.captures(text)?)
}

fn quoted(token: &str) -> String {
    // Tokens are ASCII (digits, signs, `.`, `e`), so any byte index is a char boundary.
    match token.get(..MAX_QUOTED) {
        Some(head) if token.len() > MAX_QUOTED => format!("{head}…"),
        _ => token.to_owned(),
    }
}
