//! Mutations of a .csv as text: delimiters, quotes, byte-order marks, encodings
//! (UTF-16, invalid UTF-8), line endings, very long fields, very wide or very many
//! rows, header spellings, and link cells of every shape.

use super::{
    MAX_INPUT, bytes,
    words::{self, HEADERS, NUMBERS},
};
use crate::rng::Rng;

const DELIMITERS: &[u8] = b",;\t| \0\"'";

const BOMS: &[&[u8]] = &[
    b"\xEF\xBB\xBF",
    b"\xEF\xBB\xBF\xEF\xBB\xBF",
    b"\xFF\xFE",
    b"\xFE\xFF",
    b"\xEF\xBB",
];

/// Byte sequences that are not UTF-8: a lone continuation byte, a cut sequence, a
/// surrogate, an overlong NUL, a code point past U+10FFFF.
const INVALID_UTF8: &[&[u8]] = &[
    b"\x80",
    b"\xC3",
    b"\xE2\x82",
    b"\xED\xA0\x80",
    b"\xC0\x80",
    b"\xF4\x90\x80\x80",
    b"\xFF",
];

/// Applies one CSV-aware mutation; returns what it did.
pub fn mutate(text: &mut Vec<u8>, rng: &mut Rng) -> &'static str {
    match rng.below(14) {
        0 => {
            let from = *rng.pick(b",;\t|");
            let to = *rng.pick(DELIMITERS);
            let all = rng.one_in(2);
            for b in text.iter_mut().filter(|b| **b == from) {
                if all || rng.one_in(3) {
                    *b = to;
                }
            }
            "csv: changed a delimiter"
        }
        1 => {
            let at = rng.below(text.len() + 1);
            let quotes = *rng.pick(&[&b"\""[..], b"\"\"", b"\"\"\"", b"'"]);
            bytes::insert(text, at, quotes);
            "csv: inserted a quote"
        }
        2 => {
            text.retain(|b| *b != b'"');
            "csv: removed every quote"
        }
        3 => {
            let bom = *rng.pick(BOMS);
            bytes::insert(text, 0, bom);
            "csv: added a byte-order mark"
        }
        4 => {
            let at = rng.below(text.len() + 1);
            let bad = *rng.pick(INVALID_UTF8);
            bytes::insert(text, at, bad);
            "csv: inserted bytes that are not UTF-8"
        }
        5 => {
            let utf16: Vec<u8> = String::from_utf8_lossy(text)
                .encode_utf16()
                .flat_map(u16::to_le_bytes)
                .collect();
            if utf16.len() <= MAX_INPUT {
                *text = b"\xFF\xFE".iter().copied().chain(utf16).collect();
            }
            "csv: saved as UTF-16"
        }
        6 => {
            let ending = *rng.pick(&[
                &b"\r\n"[..],
                b"\r",
                b"\n\n",
                b"\x0B",
                b"\x0C",
                b"\xE2\x80\xA8",
            ]);
            let mut out = Vec::with_capacity(text.len());
            for &b in text.iter() {
                if b == b'\n' {
                    out.extend_from_slice(ending);
                } else {
                    out.push(b);
                }
            }
            if out.len() <= MAX_INPUT {
                *text = out;
            }
            "csv: changed the line endings"
        }
        7 => {
            let at = field_start(text, rng);
            let long = match rng.below(3) {
                0 => "x".repeat(rng.size(18)),
                1 => format!("\"{}\"", "a\n\"\",".repeat(rng.size(14))),
                _ => "é".repeat(rng.size(16)),
            };
            bytes::insert(text, at, long.as_bytes());
            "csv: inserted a very long field"
        }
        8 => {
            let at = line_end(text, rng);
            let field = *rng.pick(&[",x", ",", ",\"\"", ";y", ",Maps"]);
            let wide = field.repeat(rng.size(14));
            bytes::insert(text, at, wide.as_bytes());
            "csv: made a row very wide"
        }
        9 => {
            let lines = line_spans(text);
            let (start, end) = *rng.pick(&lines);
            let copies = rng.size(13);
            let room = MAX_INPUT.saturating_sub(text.len()) / (end - start).max(1);
            let piece = text[start..end].repeat(copies.min(room));
            text.splice(end..end, piece);
            "csv: repeated a row many times"
        }
        10 => {
            let header: Vec<&str> = (0..rng.between(1, 6)).map(|_| *rng.pick(HEADERS)).collect();
            let end = text.iter().position(|&b| b == b'\n').unwrap_or(text.len());
            text.splice(0..end, header.join(",").into_bytes());
            "csv: a new header row"
        }
        11 => {
            let at = field_start(text, rng);
            let value = match rng.below(3) {
                0 => format!("\"{}\",", words::link(rng)),
                1 => format!("{},", rng.pick(NUMBERS)),
                _ => format!("\"{}\",", words::link(rng).replace('"', "\"\"")),
            };
            bytes::insert(text, at, value.as_bytes());
            "csv: inserted a link or a number"
        }
        12 => {
            let at = rng.below(text.len() + 1);
            let control = *rng.pick(&[&b"\0"[..], b"\x1B[31m", b"\r", b"\x7F", b"\t=1+1"]);
            bytes::insert(text, at, control);
            "csv: inserted control characters"
        }
        _ => {
            let empty = "\n".repeat(rng.size(14));
            let at = line_end(text, rng);
            bytes::insert(text, at, empty.as_bytes());
            "csv: inserted many empty lines"
        }
    }
}

/// `(start, end)` of each line, newline included (at least one span).
fn line_spans(text: &[u8]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = 0;
    for (i, &b) in text.iter().enumerate() {
        if b == b'\n' {
            spans.push((start, i + 1));
            start = i + 1;
        }
    }
    if start < text.len() || spans.is_empty() {
        spans.push((start, text.len()));
    }
    spans
}

/// Where a line ends (before its newline), or the end of the text.
fn line_end(text: &[u8], rng: &mut Rng) -> usize {
    let (start, end) = *rng.pick(&line_spans(text));
    if end > start && text[end - 1] == b'\n' {
        end - 1
    } else {
        end
    }
}

/// Just after a delimiter or a newline, or at the start.
fn field_start(text: &[u8], rng: &mut Rng) -> usize {
    let starts: Vec<usize> = std::iter::once(0)
        .chain(
            text.iter()
                .enumerate()
                .filter(|(_, b)| matches!(b, b',' | b';' | b'\t' | b'|' | b'\n'))
                .map(|(i, _)| i + 1),
        )
        .collect();
    *rng.pick(&starts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_split_with_their_newlines() {
        assert_eq!(line_spans(b"a\nbc\nd"), [(0, 2), (2, 5), (5, 6)]);
        assert_eq!(line_spans(b""), [(0, 0)]);
    }

    #[test]
    fn csv_mutations_keep_files_within_the_size_cap() {
        let mut text = b"Name,Region,Maps\na,b,\"-26.1,28.05\"\n".to_vec();
        for case in 0..2_000 {
            mutate(&mut text, &mut Rng::for_case(5, case));
            assert!(text.len() <= MAX_INPUT, "case {case}");
        }
    }
}
