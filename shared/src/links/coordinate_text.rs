//! Coordinates written as text: `26°06'29.5"S 28°03'09.7"E`, `S 26° 6.4917' E 28°
//! 3.0117'`, `26.1081° S, 28.0502° E`, `-26.108204 ; 28.0527061`.
//!
//! The whole text must be two coordinates and nothing else, which is what keeps this
//! reader out of URLs and free text. A coordinate is an optional hemisphere letter, one
//! to three numbers (degrees, minutes, seconds) each followed by its mark
//! ([`super::marks`]), and the letter after instead of before. Marks after the first
//! number may be left out only when the coordinate has a letter (`S26 06.492`, as GPS
//! units write it); without letters, both coordinates are marked or neither is. The two coordinates are separated by one comma or semicolon, or by
//! whitespace alone (tabs included); without a separator, a letter or the start of a
//! new degrees part tells where the second begins.
//!
//! Which number is which:
//! - Letters decide: N/S is the latitude, E/W the longitude, in whichever order they
//!   come; a letter on one coordinate only places the other too. Two N/S (or two E/W)
//!   are refused, and so is a letter on a number with a minus sign.
//! - Without letters, latitude first. A pair of plain decimals with no marks
//!   ([`Pattern::SeparatedPair`]) is the bare pair with other separators and keeps its
//!   swap rule (a first number that cannot be a latitude while the second can); such a
//!   pair that the bare pair itself reads (`-26.1, 28.0`) is left to it, so it keeps
//!   its answer and its name.
//!
//! Minutes and seconds must be below 60, carry no sign, and only the last part may have
//! decimals. Every number is read strictly ([`super::number`]).
//!
//! Decimal commas: a text with one semicolon, commas and no full stop
//! (`-26,108204;28,0527061`, a pair from a spreadsheet in a European locale) is read
//! with its commas as decimal points. Nowhere else, since a comma between two numbers
//! is otherwise the separator.

use std::sync::LazyLock;

use regex::Regex;

use super::marks::{self, Axis, Hemisphere, Mark};
use super::number::{Found, NUM, Reading, number, quoted, re};
use super::{ParseError, Pattern, pair, precision};

/// A number at the start of the rest of the text.
static LEADING_NUM: LazyLock<Regex> = LazyLock::new(|| re(format!("^{NUM}")));

/// More tokens than two full coordinates and a separator take: not coordinate text.
/// Also what keeps a long cell from being tokenised to its end.
const MAX_TOKENS: usize = 16;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Token<'a> {
    Num(&'a str),
    Mark(Mark),
    Letter(Hemisphere),
    Separator,
}

fn tokens(text: &str) -> Option<Vec<Token<'_>>> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(c) = text[i..].chars().next() {
        if out.len() > MAX_TOKENS {
            return None;
        }
        let rest = &text[i..];
        if c.is_whitespace() {
            i += c.len_utf8();
        } else if c == ',' || c == ';' {
            out.push(Token::Separator);
            i += 1;
        } else if let Some(num) = LEADING_NUM.find(rest) {
            out.push(Token::Num(num.as_str()));
            i += num.end();
        } else if let Some((mark, len)) = marks::mark_at(rest) {
            out.push(Token::Mark(mark));
            i += len;
        } else if c.is_ascii_alphabetic() {
            let len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
            out.push(Token::Letter(marks::hemisphere(&rest[..len])?));
            i += len;
        } else {
            return None;
        }
    }
    Some(out)
}

/// Where the second coordinate starts: a separator (dropped), else letters, else the
/// second number that starts a degrees part.
fn split<'t, 'a>(tokens: &'t [Token<'a>]) -> Option<(&'t [Token<'a>], &'t [Token<'a>])> {
    let is_sep = |t: &Token<'_>| *t == Token::Separator;
    match tokens.iter().filter(|t| is_sep(t)).count() {
        0 => {}
        1 => {
            let at = tokens.iter().position(is_sep)?;
            return Some((&tokens[..at], &tokens[at + 1..]));
        }
        _ => return None,
    }
    let letters: Vec<usize> = (0..tokens.len())
        .filter(|&i| matches!(tokens[i], Token::Letter(_)))
        .collect();
    let by_letters = match letters.as_slice() {
        // Letters before the numbers: the second coordinate starts at the second letter.
        [0, second, ..] => Some(*second),
        // Letters after: it starts after the first.
        [first, ..] if *first != 0 && first + 1 < tokens.len() => Some(first + 1),
        _ => None,
    };
    let at = by_letters.or_else(|| {
        (1..tokens.len()).find(|&k| {
            let Token::Num(_) = tokens[k] else {
                return false;
            };
            let starts_degrees = !matches!(
                tokens.get(k + 1),
                Some(Token::Mark(Mark::Minutes | Mark::Seconds))
            );
            starts_degrees && tokens[..k].iter().any(|t| matches!(t, Token::Num(_)))
        })
    })?;
    Some((&tokens[..at], &tokens[at..]))
}

/// One coordinate as written: its letter and its parts (number, mark).
struct Shape<'a> {
    hemisphere: Option<Hemisphere>,
    parts: Vec<(&'a str, Option<Mark>)>,
}

impl<'a> Shape<'a> {
    fn of(group: &[Token<'a>]) -> Option<Self> {
        let (hemisphere, body) = match group {
            [Token::Letter(h), rest @ ..] => (Some(*h), rest),
            [rest @ .., Token::Letter(h)] => (Some(*h), rest),
            _ => (None, group),
        };
        let mut parts = Vec::new();
        let mut rest = body;
        while let [Token::Num(n), tail @ ..] = rest {
            let (mark, tail) = match tail {
                [Token::Mark(m), tail @ ..] => (Some(*m), tail),
                _ => (None, tail),
            };
            let i = parts.len();
            let expected = Mark::at(i)?;
            let unmarked_ok = i == 0 || hemisphere.is_some();
            if mark.is_some_and(|m| m != expected) || (mark.is_none() && !unmarked_ok) {
                return None;
            }
            parts.push((*n, mark));
            rest = tail;
        }
        (rest.is_empty() && !parts.is_empty()).then_some(Self { hemisphere, parts })
    }

    fn marked(&self) -> bool {
        self.parts.iter().any(|(_, m)| m.is_some())
    }

    /// The signed value in degrees and the step of its last part, in degrees.
    fn value(&self) -> Result<(f64, f64), ParseError> {
        let last = self.parts.len() - 1;
        let mut magnitude = 0.0;
        for (i, &(token, _)) in self.parts.iter().enumerate() {
            let mark = Mark::at(i).unwrap_or(Mark::Seconds);
            let written = || format!("{}{}", quoted(token), mark.symbol());
            if i > 0 && (token.starts_with('-') || token.starts_with('+')) {
                return Err(ParseError::BadMinutesOrSeconds(format!(
                    "{} (minutes and seconds take no sign)",
                    written()
                )));
            }
            if i < last && token.contains('.') {
                return Err(ParseError::BadMinutesOrSeconds(format!(
                    "{} is followed by a smaller part (only the last part may have decimals)",
                    written()
                )));
            }
            let v = number(token)?.abs();
            if i > 0 && v >= 60.0 {
                let name = if mark == Mark::Minutes {
                    "minutes"
                } else {
                    "seconds"
                };
                return Err(ParseError::BadMinutesOrSeconds(format!(
                    "{} ({name} must be below 60)",
                    written()
                )));
            }
            magnitude += v * mark.unit();
        }
        let degrees = self.parts[0].0;
        let minus = degrees.starts_with('-');
        if let (true, Some(h)) = (minus, self.hemisphere) {
            return Err(ParseError::SignAndHemisphere {
                number: quoted(degrees),
                letter: h.letter,
            });
        }
        let negative = minus || self.hemisphere.is_some_and(|h| h.negative);
        let unit = Mark::at(last).map_or(1.0, Mark::unit);
        let step = precision::step_degrees(self.parts[last].0, unit);
        Ok((if negative { -magnitude } else { magnitude }, step))
    }
}

/// Reads `text` when the whole of it is two coordinates written as text.
pub(super) fn read(text: &str) -> Option<(Pattern, Found)> {
    let decimal_commas =
        text.contains(',') && !text.contains('.') && text.matches(';').count() == 1;
    if decimal_commas {
        return read_points(&text.replace(',', "."));
    }
    read_points(text)
}

/// [`read`], with full stops as the decimal points.
fn read_points(text: &str) -> Option<(Pattern, Found)> {
    let tokens = tokens(text)?;
    let (first, second) = split(&tokens)?;
    let (a, b) = (Shape::of(first)?, Shape::of(second)?);
    let lettered = a.hemisphere.is_some() || b.hemisphere.is_some();
    if !lettered && a.marked() != b.marked() {
        // `26° 30`: half marked, half not, and nothing else to tell what was meant.
        return None;
    }
    let parts = a.parts.len().max(b.parts.len());
    let pattern = match parts {
        3 => Pattern::Dms,
        2 => Pattern::DecimalMinutes,
        _ if lettered || a.marked() || b.marked() => Pattern::DecimalDegreesText,
        _ => {
            let decimal = |s: &Shape<'_>| s.parts[0].0.contains('.');
            if !(decimal(&a) && decimal(&b)) || pair::bare_pair(text).is_some() {
                return None;
            }
            Pattern::SeparatedPair
        }
    };
    Some((pattern, reading(&a, &b, pattern)))
}

fn reading(a: &Shape<'_>, b: &Shape<'_>, pattern: Pattern) -> Found {
    let ((va, sa), (vb, sb)) = (a.value()?, b.value()?);
    let axis = |s: &Shape<'_>| s.hemisphere.map(|h| h.axis);
    let longitude_first = match (axis(a), axis(b)) {
        (Some(x), Some(y)) if x == y => {
            let letter = |s: &Shape<'_>| s.hemisphere.map_or('?', |h| h.letter);
            return Err(ParseError::ConflictingHemispheres(letter(a), letter(b)));
        }
        (Some(Axis::Longitude), _) | (_, Some(Axis::Latitude)) => true,
        _ => false,
    };
    let r = Reading {
        lat: va,
        lng: vb,
        precision_m: Some(precision::of_steps(sa, sb)),
    };
    Ok(if longitude_first {
        r.swapped()
    } else if pattern == Pattern::SeparatedPair {
        pair::swap_if_longitude_first(r)
    } else {
        r
    })
}
