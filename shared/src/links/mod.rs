//! The pure link → coordinates parser: no I/O, microseconds per link.
//!
//! The patterns live in [`patterns`], in the order they are tried (the order and the
//! reasons for it are documented there); the first that matches decides, and its
//! numbers are then range-checked (latitude −90..90, longitude −180..180, inclusive).
//! A link that no pattern matches is for the network tier (short links, page scrape,
//! place search); a link whose numbers are malformed or out of range is refused with
//! the reason ([`ParseError`], each with a stable code).
//!
//! Before matching, dash look-alikes directly before a digit (U+2212 minus sign, en
//! dash, …) are read as `-` ([`dashes`]), and the numbers a pattern captures are read
//! strictly ([`number`]): `-26.10.76` or `1e2` is refused, never cut short.
//!
//! Besides URLs: coordinates written as text ([`coordinate_text`], with the marks and
//! letters of [`marks`]), plus codes ([`plus_code`], found by [`in_link`]), Google's
//! `data=` block read entry by entry ([`data_block`]), and places named by id without
//! coordinates ([`place_ref`]). Each answer says how precise its form is
//! ([`precision`]).

mod coordinate_text;
mod dashes;
mod data_block;
mod error;
mod google;
mod in_link;
mod marks;
mod number;
mod other_maps;
mod pair;
mod patterns;
mod place_ref;
mod plus_code;
mod precision;

pub use error::ParseError;
pub use patterns::Pattern;
pub use place_ref::places_id;

/// A validated coordinate pair.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Coordinates {
    pub lat: f64,
    pub lng: f64,
}

impl Coordinates {
    /// Range-checks a pair; the error is the user-facing reason.
    pub fn new(lat: f64, lng: f64) -> Result<Self, ParseError> {
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err(ParseError::LatitudeOutOfRange(lat));
        }
        if !lng.is_finite() || !(-180.0..=180.0).contains(&lng) {
            return Err(ParseError::LongitudeOutOfRange(lng));
        }
        Ok(Self { lat, lng })
    }
}

/// A successful parse: the coordinates, the pattern that found them, and how precise
/// the form they were written in is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Parsed {
    pub coordinates: Coordinates,
    pub pattern: Pattern,
    /// The larger side, in metres, of the area the written value stands for: from the
    /// decimal places, the last part of degrees-minutes-seconds, or a plus code's cell
    /// (the rules are in one place, the `precision` module). `None` where the form
    /// implies none: a viewport centre ([`Pattern::is_approximate`]).
    pub precision_m: Option<f64>,
}

/// Parses a map link. Surrounding whitespace is ignored.
pub fn parse(link: &str) -> Result<Parsed, ParseError> {
    let link = link.trim();
    if link.is_empty() {
        return Err(ParseError::NoCoordinates);
    }
    let (pattern, found) = patterns::first_match(link)?;
    let reading = found?;
    Ok(Parsed {
        coordinates: Coordinates::new(reading.lat, reading.lng)?,
        pattern,
        precision_m: reading.precision_m.filter(|_| !pattern.is_approximate()),
    })
}

#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
mod format_prop_tests;
#[cfg(test)]
mod link_tests;
#[cfg(test)]
mod prop_tests;
#[cfg(test)]
mod report_tests;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod text_tests;
