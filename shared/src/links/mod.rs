//! The pure link → coordinates parser: no I/O, microseconds per link.
//!
//! The patterns live in [`patterns`], in the order they are tried (the order and the
//! reasons for it are documented there); the first that matches decides, and its
//! numbers are then range-checked (latitude −90..90, longitude −180..180, inclusive).
//! A link that no pattern matches is for the network tier (short links, page scrape);
//! a link whose numbers are malformed or out of range is refused with the reason.
//!
//! Before matching, dash look-alikes directly before a digit (U+2212 minus sign, en
//! dash, …) are read as `-` ([`dashes`]), and the numbers a pattern captures are read
//! strictly ([`number`]): `-26.10.76` or `1e2` is refused, never cut short.

mod dashes;
mod google;
mod number;
mod other_maps;
mod pair;
mod patterns;

use std::fmt;

pub use patterns::Pattern;

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

#[derive(Clone, Debug, PartialEq)]
pub enum ParseError {
    /// No pattern matched: the network tier may still resolve the link.
    NoCoordinates,
    LatitudeOutOfRange(f64),
    LongitudeOutOfRange(f64),
    /// A pattern matched but one of its numbers is not a plain decimal (two decimal
    /// points, an exponent). Final: a lookup would not fix the link's text.
    MalformedNumber(String),
}

impl ParseError {
    /// Whether a network lookup could still find coordinates for this link.
    pub fn may_resolve_online(&self) -> bool {
        matches!(self, Self::NoCoordinates)
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoCoordinates => f.write_str("Could not extract coordinates from URL"),
            Self::LatitudeOutOfRange(v) => {
                write!(f, "Invalid latitude: {v:?} (must be between -90 and 90)")
            }
            Self::LongitudeOutOfRange(v) => {
                write!(f, "Invalid longitude: {v:?} (must be between -180 and 180)")
            }
            Self::MalformedNumber(n) => write!(f, "Malformed number: {n}"),
        }
    }
}

impl std::error::Error for ParseError {}

/// A successful parse: the coordinates and the pattern that found them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Parsed {
    pub coordinates: Coordinates,
    pub pattern: Pattern,
}

/// Parses a map link. Surrounding whitespace is ignored.
pub fn parse(link: &str) -> Result<Parsed, ParseError> {
    let link = link.trim();
    if link.is_empty() {
        return Err(ParseError::NoCoordinates);
    }
    let (pattern, found) = patterns::first_match(link).ok_or(ParseError::NoCoordinates)?;
    let (lat, lng) = found.map_err(|number::Malformed(n)| ParseError::MalformedNumber(n))?;
    Ok(Parsed {
        coordinates: Coordinates::new(lat, lng)?,
        pattern,
    })
}

#[cfg(test)]
mod prop_tests;
#[cfg(test)]
mod tests;
