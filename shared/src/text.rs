//! Cutting user text (names, links, messages) to a length for display: in events, in
//! upload previews and in refusal messages. The files keep every character.

/// `text` cut to at most `max_chars` characters, the last of them `…` when cut. Cuts on
/// characters, never inside one.
pub fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        None => text.to_owned(),
        Some(_) => {
            let keep = max_chars.saturating_sub(1);
            let end = text.char_indices().nth(keep).map_or(text.len(), |(i, _)| i);
            format!("{}…", &text[..end])
        }
    }
}
