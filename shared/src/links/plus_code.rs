//! Open Location Codes ("plus codes"), validated and decoded offline.
//!
//! A full code (`5G5CVX5C+2V`: eight characters, `+`, two or more) names a cell of a
//! global grid: pairs of base-20 digits narrow latitude and longitude together (20°,
//! 1°, 0.05°, 0.0025°, 0.000125°), and each digit after the tenth narrows a 5 × 4 grid.
//! It decodes to the centre of its cell, with the cell's larger side as precision
//! ([`super::precision`]). `0` pads a code cut to a larger cell (`7FG49Q00+`).
//!
//! A short code (`VX5C+2V Johannesburg`, fewer than eight characters before the `+`)
//! has lost its first digits and is only a place relative to a reference location, so
//! it is never decoded here.
//!
//! The rules follow the reference implementation (google/open-location-code), and the
//! tests use its published test data: `decoding.csv` and `validityTests.csv`. The
//! arithmetic is done in integers, as the reference does, so that cell edges are exact.

/// The digits, in order of value.
const ALPHABET: &[u8; 20] = b"23456789CFGHJMPQRVWX";
const SEPARATOR: u8 = b'+';
const PADDING: u8 = b'0';
/// Where the separator stands in a full code.
const SEPARATOR_POSITION: usize = 8;
/// Digits after the fifteenth do not narrow the cell any further.
const MAX_DIGITS: usize = 15;
/// Digits read in pairs; the rest index a grid.
const PAIR_DIGITS: usize = 10;
/// The value of the first pair's digits, in units of the last pair's (20^4).
const PAIR_FIRST_PLACE_VALUE: i64 = 160_000;
/// Units of the last pair per degree (20^3).
const PAIR_PRECISION: i64 = 8_000;
const GRID_ROWS: i64 = 5;
const GRID_COLUMNS: i64 = 4;
/// Units of the finest grid digit per degree: latitude (8000 × 5^5), longitude
/// (8000 × 4^5).
const FINAL_LAT_PRECISION: i64 = PAIR_PRECISION * 3_125;
const FINAL_LNG_PRECISION: i64 = PAIR_PRECISION * 1_024;

/// A decoded code's cell, in degrees.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Area {
    pub(super) south: f64,
    pub(super) west: f64,
    pub(super) height: f64,
    pub(super) width: f64,
}

impl Area {
    /// The centre, clipped to the poles and the antimeridian as the reference does.
    pub(super) fn centre(&self) -> (f64, f64) {
        (
            (self.south + self.height / 2.0).min(90.0),
            (self.west + self.width / 2.0).min(180.0),
        )
    }
}

/// What a plus-code-shaped token is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Code {
    Full(Area),
    Short,
    Invalid,
}

fn value(digit: u8) -> Option<i64> {
    let upper = digit.to_ascii_uppercase();
    ALPHABET
        .iter()
        .position(|&d| d == upper)
        .and_then(|i| i64::try_from(i).ok())
}

/// Classifies `code` as the reference's `isValid`, `isShort` and `isFull` do, and
/// decodes a full code.
pub(super) fn classify(code: &str) -> Code {
    if is_valid(code.as_bytes()) {
        if code.find('+').is_some_and(|s| s < SEPARATOR_POSITION) {
            Code::Short
        } else {
            full(code.as_bytes()).map_or(Code::Invalid, Code::Full)
        }
    } else {
        Code::Invalid
    }
}

fn is_valid(code: &[u8]) -> bool {
    let Some(sep) = code.iter().position(|&b| b == SEPARATOR) else {
        return false;
    };
    if code.iter().rposition(|&b| b == SEPARATOR) != Some(sep)
        || code.len() == 1
        || sep > SEPARATOR_POSITION
        || sep % 2 == 1
    {
        return false;
    }
    if let Some(pad) = code.iter().position(|&b| b == PADDING) {
        // Only a full code may be padded, never from its first digit, with one even
        // run that leaves at least two digits and ends the code at the separator.
        let run = code[pad..].iter().take_while(|&&b| b == PADDING).count();
        if sep < SEPARATOR_POSITION
            || pad == 0
            || code[pad + run..].contains(&PADDING)
            || run % 2 == 1
            || run > SEPARATOR_POSITION - 2
            || code.last() != Some(&SEPARATOR)
        {
            return false;
        }
    }
    // One digit after the separator is never valid.
    if code.len() - sep - 1 == 1 {
        return false;
    }
    code.iter()
        .all(|&b| b == SEPARATOR || b == PADDING || value(b).is_some())
}

/// Decodes a valid code with the separator in place, if it is a full one: its first
/// digits must name a latitude below 90 and a longitude below 180.
fn full(code: &[u8]) -> Option<Area> {
    let digits: Vec<i64> = code
        .iter()
        .filter(|&&b| b != SEPARATOR && b != PADDING)
        .take(MAX_DIGITS)
        .map(|&b| value(b))
        .collect::<Option<_>>()?;
    if digits.first()? * 20 >= 180 || digits.get(1)? * 20 >= 360 {
        return None;
    }
    let mut lat = -90 * PAIR_PRECISION;
    let mut lng = -180 * PAIR_PRECISION;
    let mut place = PAIR_FIRST_PLACE_VALUE;
    let pairs = digits.len().min(PAIR_DIGITS);
    for i in (0..pairs).step_by(2) {
        lat += digits[i] * place;
        lng += digits.get(i + 1)? * place;
        if i + 2 < pairs {
            place /= 20;
        }
    }
    // Pair units per degree, as f64 to divide by: exact (powers of 20 below 2^53).
    let per_degree = PAIR_PRECISION as f64;
    let mut height = place as f64 / per_degree;
    let mut width = height;
    let (mut grid_lat, mut grid_lng) = (0, 0);
    if digits.len() > PAIR_DIGITS {
        let mut row_place = GRID_ROWS.pow(4);
        let mut column_place = GRID_COLUMNS.pow(4);
        for (i, &d) in digits.iter().enumerate().skip(PAIR_DIGITS) {
            grid_lat += d / GRID_COLUMNS * row_place;
            grid_lng += d % GRID_COLUMNS * column_place;
            if i + 1 < digits.len() {
                row_place /= GRID_ROWS;
                column_place /= GRID_COLUMNS;
            }
        }
        height = row_place as f64 / FINAL_LAT_PRECISION as f64;
        width = column_place as f64 / FINAL_LNG_PRECISION as f64;
    }
    Some(Area {
        south: lat as f64 / per_degree + grid_lat as f64 / FINAL_LAT_PRECISION as f64,
        west: lng as f64 / per_degree + grid_lng as f64 / FINAL_LNG_PRECISION as f64,
        height,
        width,
    })
}

/// Encodes a point as a code of `length` digits (10 to 15), as the reference does: the
/// inverse of [`classify`], used by the round-trip tests.
#[cfg(test)]
pub(super) fn encode(lat: f64, lng: f64, length: usize) -> String {
    let lat = lat.clamp(-90.0, 90.0);
    let lng = (lng + 180.0).rem_euclid(360.0) - 180.0;
    let scaled = |v: f64, per: i64| ((v * per as f64 * 1e6).round() / 1e6).floor() as i64;
    let mut lat_val = scaled(lat + 90.0, FINAL_LAT_PRECISION);
    let mut lng_val = scaled(lng + 180.0, FINAL_LNG_PRECISION);
    // The north pole itself belongs to the cell below it.
    lat_val = lat_val.min(180 * FINAL_LAT_PRECISION - 1);
    // All fifteen digits, least significant first, then cut to the length asked for.
    let mut code = Vec::new();
    for _ in PAIR_DIGITS..MAX_DIGITS {
        let digit = (lat_val % GRID_ROWS) * GRID_COLUMNS + lng_val % GRID_COLUMNS;
        code.push(ALPHABET[digit as usize]);
        lat_val /= GRID_ROWS;
        lng_val /= GRID_COLUMNS;
    }
    for _ in 0..PAIR_DIGITS / 2 {
        code.push(ALPHABET[(lng_val % 20) as usize]);
        code.push(ALPHABET[(lat_val % 20) as usize]);
        lat_val /= 20;
        lng_val /= 20;
    }
    code.reverse();
    code.insert(SEPARATOR_POSITION, SEPARATOR);
    code.truncate(length + 1);
    String::from_utf8(code).unwrap_or_default()
}

#[cfg(test)]
#[path = "plus_code_tests.rs"]
mod tests;
