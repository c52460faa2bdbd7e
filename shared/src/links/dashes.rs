//! Dash look-alikes read as a minus sign.
//!
//! Word processors and spreadsheets turn `-` into U+2212 (minus sign), U+2013 (en
//! dash) and the like; without this step `−26.1,28.0` would parse as `26.1,28.0`, the
//! wrong hemisphere. A look-alike becomes `-` only when a digit follows it directly,
//! so dashes used as punctuation are left alone. Browsers percent-encode these
//! characters when a link is copied (`%E2%88%92` for U+2212), so the encoded forms are
//! recognised too. The em dash is deliberately not on the list: it is punctuation,
//! not something a minus sign is mistaken for.
//!
//! One linear pass; the text is borrowed unchanged when there is nothing to replace.

use std::borrow::Cow;

/// UTF-8 of the look-alikes: hyphen, non-breaking hyphen, figure dash, en dash, minus
/// sign, small hyphen-minus, fullwidth hyphen-minus.
const DASHES: [[u8; 3]; 7] = [
    [0xE2, 0x80, 0x90],
    [0xE2, 0x80, 0x91],
    [0xE2, 0x80, 0x92],
    [0xE2, 0x80, 0x93],
    [0xE2, 0x88, 0x92],
    [0xEF, 0xB9, 0xA3],
    [0xEF, 0xBC, 0x8D],
];

/// `text` with every dash look-alike (literal or percent-encoded) that directly
/// precedes an ASCII digit replaced by `-`.
pub(super) fn normalise(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let (mut copied, mut i) = (0, 0);
    while i < bytes.len() {
        match dash_len(&bytes[i..]) {
            Some(n) if bytes.get(i + n).is_some_and(u8::is_ascii_digit) => {
                // A dash starts with a lead byte (0xE2, 0xEF) or `%`, never with a UTF-8
                // continuation byte, so `i` and `i + n` are char boundaries.
                let out = out.get_or_insert_with(|| String::with_capacity(text.len()));
                out.push_str(&text[copied..i]);
                out.push('-');
                i += n;
                copied = i;
            }
            _ => i += 1,
        }
    }
    match out {
        None => Cow::Borrowed(text),
        Some(mut out) => {
            out.push_str(&text[copied..]);
            Cow::Owned(out)
        }
    }
}

/// The length of the dash look-alike at the start of `bytes`, if there is one: 3 for
/// the literal character, 9 for its percent-encoded form.
fn dash_len(bytes: &[u8]) -> Option<usize> {
    if bytes
        .get(..3)
        .is_some_and(|head| DASHES.iter().any(|d| d == head))
    {
        return Some(3);
    }
    let encoded = bytes.get(..9)?;
    let mut decoded = [0u8; 3];
    for (k, byte) in decoded.iter_mut().enumerate() {
        let [b'%', hi, lo] = encoded[3 * k..3 * k + 3] else {
            return None;
        };
        *byte = (hex(hi)? << 4) | hex(lo)?;
    }
    DASHES.contains(&decoded).then_some(9)
}

fn hex(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}
