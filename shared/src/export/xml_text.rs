//! Text as XML 1.0 may hold it. A sheet's cells may carry characters XML forbids — C0
//! controls other than tab, line feed and carriage return (a line break pasted from
//! Word arrives as U+000B, stored in an .xlsx as `_x000B_`), and the non-characters
//! U+FFFE and U+FFFF — and one of them makes a whole KML or GPX file unreadable:
//! GDAL, gpsbabel and xmllint refuse it. Escaping cannot help (`&#x1;` is forbidden
//! too), so such characters are replaced: a vertical tab or form feed by a line break
//! (what it meant), any other by nothing.

use std::borrow::Cow;

/// Whether XML 1.0 allows `c` in a document (its `Char` production).
fn allowed(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// `text` with every character XML 1.0 forbids replaced (borrowed when it has none).
pub fn xml_text(text: &str) -> Cow<'_, str> {
    if text.chars().all(allowed) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .filter_map(|c| match c {
                c if allowed(c) => Some(c),
                '\u{0B}' | '\u{0C}' => Some('\n'),
                _ => None,
            })
            .collect(),
    )
}

/// [`xml_text`] as an owned string.
pub fn xml_string(text: impl AsRef<str>) -> String {
    xml_text(text.as_ref()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_xml_allows_is_kept_as_it_is() {
        let text = "Sandton City\tMall\r\nÜber ünd — 東京 🗺 \u{7F}\u{85}";
        assert!(matches!(xml_text(text), Cow::Borrowed(t) if t == text));
    }

    #[test]
    fn forbidden_characters_are_replaced() {
        assert_eq!(xml_text("a\u{0B}b\u{0C}c"), "a\nb\nc");
        assert_eq!(xml_text("\u{01}Store\u{1F} 1\u{0}"), "Store 1");
        assert_eq!(xml_text("x\u{FFFE}y\u{FFFF}z"), "xyz");
        assert_eq!(xml_string("\u{08}"), "");
    }
}
