//! The characters and words of coordinates written as text: degree, minute and second
//! marks with their look-alikes, and hemisphere letters.
//!
//! Keyboards, fonts and word processors give many spellings of the same marks: `°` is
//! typed as the masculine ordinal `º` (Spanish and Portuguese keyboards) or the ring
//! above `˚` (macOS), the prime `′` as an apostrophe `'` that then turns into `’`, the
//! double prime `″` as `"`, `”` or two apostrophes `''`. All of them are read as the
//! mark they stand for; two minute marks in a row are a second mark.
//!
//! Hemisphere letters are the capitals `N`, `S`, `E`, `W`, or the words `north`,
//! `south`, `east`, `west` in any case. A lone lower-case letter is not one: `e` is an
//! exponent's and `s` a seconds' abbreviation, too often to be read as a hemisphere.

/// Which part of an angle a number is, by the mark written after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mark {
    Degrees,
    Minutes,
    Seconds,
}

impl Mark {
    /// The part at position `i` of degrees, minutes, seconds.
    pub(super) fn at(i: usize) -> Option<Self> {
        [Self::Degrees, Self::Minutes, Self::Seconds]
            .get(i)
            .copied()
    }

    /// What one unit of this part is worth, in degrees.
    pub(super) fn unit(self) -> f64 {
        match self {
            Self::Degrees => 1.0,
            Self::Minutes => 1.0 / 60.0,
            Self::Seconds => 1.0 / 3600.0,
        }
    }

    /// How the part is written back in a message.
    pub(super) fn symbol(self) -> char {
        match self {
            Self::Degrees => '°',
            Self::Minutes => '\'',
            Self::Seconds => '"',
        }
    }
}

/// Degree sign, masculine ordinal, ring above, superscript zero.
const DEGREES: &[char] = &['\u{B0}', '\u{BA}', '\u{2DA}', '\u{2070}'];
/// Apostrophe, prime, right and left single quotes, acute accent, modifier prime,
/// grave accent, modifier apostrophe.
const MINUTES: &[char] = &[
    '\'', '\u{2032}', '\u{2019}', '\u{2018}', '\u{B4}', '\u{2B9}', '`', '\u{2BC}',
];
/// Quotation mark, double prime, right and left double quotes, modifier double prime,
/// double acute accent.
const SECONDS: &[char] = &[
    '"', '\u{2033}', '\u{201D}', '\u{201C}', '\u{2BA}', '\u{2DD}',
];

/// The mark `c` stands for, if any (a single minute mark; see [`mark_at`]).
fn single(c: char) -> Option<Mark> {
    if DEGREES.contains(&c) {
        Some(Mark::Degrees)
    } else if MINUTES.contains(&c) {
        Some(Mark::Minutes)
    } else if SECONDS.contains(&c) {
        Some(Mark::Seconds)
    } else {
        None
    }
}

/// The mark at the start of `text` and how many bytes it takes: two minute marks in a
/// row are one second mark.
pub(super) fn mark_at(text: &str) -> Option<(Mark, usize)> {
    let mut chars = text.chars();
    let first = chars.next()?;
    let mark = single(first)?;
    let len = first.len_utf8();
    match (mark, chars.next()) {
        (Mark::Minutes, Some(next)) if single(next) == Some(Mark::Minutes) => {
            Some((Mark::Seconds, len + next.len_utf8()))
        }
        _ => Some((mark, len)),
    }
}

/// Which coordinate a hemisphere letter marks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Axis {
    Latitude,
    Longitude,
}

/// A hemisphere: its axis, whether it counts negative (S, W), and its letter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Hemisphere {
    pub(super) axis: Axis,
    pub(super) negative: bool,
    pub(super) letter: char,
}

/// The hemisphere a word of ASCII letters names, if it names one.
pub(super) fn hemisphere(word: &str) -> Option<Hemisphere> {
    let letter = match word {
        "N" | "S" | "E" | "W" => word.chars().next()?,
        _ => match word.to_ascii_lowercase().as_str() {
            "north" => 'N',
            "south" => 'S',
            "east" => 'E',
            "west" => 'W',
            _ => return None,
        },
    };
    let (axis, negative) = match letter {
        'N' => (Axis::Latitude, false),
        'S' => (Axis::Latitude, true),
        'E' => (Axis::Longitude, false),
        _ => (Axis::Longitude, true),
    };
    Some(Hemisphere {
        axis,
        negative,
        letter,
    })
}
