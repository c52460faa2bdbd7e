//! Why a link gave no coordinates: one variant per reason, each with a stable machine
//! code ([`ParseError::code`]) and a text for people ([`fmt::Display`]).
//!
//! The texts of the first four variants are the original app's, word for word: its
//! clients read them. The later ones say what was found and what is missing, so that a
//! person can fix the row without guessing.
//!
//! Three reasons leave the link to the network tier ([`ParseError::may_resolve_online`]):
//! nothing recognisable was found, a short plus code (it needs a reference location),
//! and a place named by id without coordinates. The others are final: no lookup changes
//! the text of the link.

use std::fmt;

/// The reason a link gave no coordinates.
#[derive(Clone, Debug, PartialEq)]
pub enum ParseError {
    /// No pattern matched: the network tier may still resolve the link.
    NoCoordinates,
    LatitudeOutOfRange(f64),
    LongitudeOutOfRange(f64),
    /// A pattern matched but one of its numbers is not a plain decimal (two decimal
    /// points, an exponent). Final: a lookup would not fix the link's text.
    MalformedNumber(String),
    /// Degrees-minutes-seconds whose minutes or seconds are 60 or more, signed, or
    /// follow a part with decimals. The detail names the part and the rule.
    BadMinutesOrSeconds(String),
    /// A number with a minus sign and a hemisphere letter (`-26.1 S`): which one was
    /// meant cannot be told.
    SignAndHemisphere {
        number: String,
        letter: char,
    },
    /// Both coordinates marked N/S, or both E/W.
    ConflictingHemispheres(char, char),
    /// A plus code without its first digits (`VX5C+2V Johannesburg`): only a place
    /// search that knows the locality can place it.
    ShortPlusCode(String),
    /// Eight characters and a `+`, but not a valid Open Location Code.
    InvalidPlusCode(String),
    /// The link names a place by id (a feature id `0x…:0x…`, `cid=`, `place_id:`) but
    /// carries no coordinates; the detail says which id.
    PlaceWithoutCoordinates(String),
}

impl ParseError {
    /// Every [`Self::code`], in declaration order (for documentation and API schemas).
    pub const CODES: [&'static str; 10] = [
        "no_coordinates",
        "latitude_out_of_range",
        "longitude_out_of_range",
        "malformed_number",
        "bad_minutes_or_seconds",
        "sign_and_hemisphere",
        "conflicting_hemispheres",
        "short_plus_code",
        "invalid_plus_code",
        "place_without_coordinates",
    ];

    /// Whether a network lookup could still find coordinates for this link.
    pub fn may_resolve_online(&self) -> bool {
        matches!(
            self,
            Self::NoCoordinates | Self::ShortPlusCode(_) | Self::PlaceWithoutCoordinates(_)
        )
    }

    /// A short name for the reason that stays the same across releases (for the rows
    /// API, the rows log and the event log).
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoCoordinates => "no_coordinates",
            Self::LatitudeOutOfRange(_) => "latitude_out_of_range",
            Self::LongitudeOutOfRange(_) => "longitude_out_of_range",
            Self::MalformedNumber(_) => "malformed_number",
            Self::BadMinutesOrSeconds(_) => "bad_minutes_or_seconds",
            Self::SignAndHemisphere { .. } => "sign_and_hemisphere",
            Self::ConflictingHemispheres(..) => "conflicting_hemispheres",
            Self::ShortPlusCode(_) => "short_plus_code",
            Self::InvalidPlusCode(_) => "invalid_plus_code",
            Self::PlaceWithoutCoordinates(_) => "place_without_coordinates",
        }
    }

    /// The reason a row shows when the link stays unresolved without the Places tier
    /// (no API key configured): for the two reasons only a place search can settle,
    /// what is missing; for every other reason, the same text as [`fmt::Display`].
    pub fn offline_reason(&self) -> String {
        match self {
            Self::PlaceWithoutCoordinates(_) => {
                "needs a Places API key: the link names a place but carries no coordinates"
                    .to_owned()
            }
            Self::ShortPlusCode(code) => format!(
                "needs a Places API key: the short plus code {code} needs a reference location"
            ),
            other => other.to_string(),
        }
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
            Self::BadMinutesOrSeconds(detail) => {
                write!(f, "Invalid minutes or seconds: {detail}")
            }
            Self::SignAndHemisphere { number, letter } => write!(
                f,
                "Conflicting signs: {number} has a minus sign and the hemisphere letter \
                 {letter} (write one or the other)"
            ),
            Self::ConflictingHemispheres(a, b) => write!(
                f,
                "Conflicting hemisphere letters: {a} and {b} (one coordinate must be N or S, \
                 the other E or W)"
            ),
            Self::ShortPlusCode(code) => write!(
                f,
                "Short plus code {code} needs a reference location: only a full code (8 \
                 characters before the +) can be decoded offline, so a place search must \
                 resolve it"
            ),
            Self::InvalidPlusCode(code) => {
                write!(
                    f,
                    "Invalid plus code: {code} (not a valid Open Location Code)"
                )
            }
            Self::PlaceWithoutCoordinates(id) => write!(
                f,
                "The link names a place ({id}) but carries no coordinates: a place search \
                 must resolve it"
            ),
        }
    }
}

impl std::error::Error for ParseError {}
