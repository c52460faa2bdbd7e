//! Checks an .xlsx container before it is parsed: password-protected workbooks (an OLE
//! compound file, not a zip) get their own message, and a workbook whose parts would
//! unpack to more than the limit (a zip bomb) is refused before anything is inflated.
//!
//! The declared sizes are what is checked; the zip reader stops at the declared size
//! and verifies the checksum, so an entry that lies about its size fails to read
//! rather than inflating without bound.
//!
//! The shared-string table is checked too, because the reader holds all of it in memory
//! before the first cell is read, whatever the sheet uses:
//! - its declared count: the reader reserves room for that many strings up front, so
//!   `uniqueCount="99999999999"` in a 2 KB file would otherwise ask for terabytes and
//!   abort the process. The count is read from the `<sst>` tag found the way the reader
//!   finds it, with the same XML parser, so that no spelling the reader accepts slips
//!   past (a `>` inside a quoted value, spaces around `=`, a namespace prefix, a long
//!   preamble before the tag);
//! - its size in memory: each string costs its text plus about 40 bytes (the string's
//!   own header and the allocator's rounding), so 15 million one-letter strings — a
//!   table that compresses to almost nothing — would take 850 MiB. The table may take
//!   at most [`SHARED_STRINGS_SHARE`] of `max_unpacked_bytes`.

use std::io::{BufReader, Cursor, Read};

use quick_xml::events::Event;

use super::limits::mib;
use crate::{Error, Result};

/// The signature of an OLE compound file: what Excel writes for an encrypted workbook
/// (and what an old .xls file renamed to .xlsx is).
const CFB_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
/// The share of `max_unpacked_bytes` (numerator, denominator) the shared-string table
/// may take in memory: 160 MiB at the default 256 MiB, which a million distinct
/// 80-character links (about 125 MiB) fit.
pub const SHARED_STRINGS_SHARE: (u64, u64) = (5, 8);
/// Bytes a held string costs beyond its text.
const PER_STRING: u64 = 40;

/// More parts than any real workbook has.
const MAX_ENTRIES: usize = 10_000;

pub fn check(bytes: &[u8], max_unpacked: u64) -> Result<()> {
    if bytes.starts_with(CFB_MAGIC) {
        return Err(Error::Sheet(
            "the workbook is password-protected (or is an old .xls file renamed to .xlsx); \
             save it as an unprotected .xlsx and upload it again"
                .into(),
        ));
    }
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|_| {
        Error::Sheet(
            "the file is not a valid .xlsx workbook (it is not a readable zip archive)".into(),
        )
    })?;
    if archive.len() > MAX_ENTRIES {
        return Err(Error::Sheet(format!(
            "the workbook has more than {MAX_ENTRIES} parts"
        )));
    }
    let mut total: u64 = 0;
    let mut shared_strings = Vec::new();
    for i in 0..archive.len() {
        let entry = archive.by_index_raw(i).map_err(|_| damaged())?;
        if entry
            .name()
            .is_ok_and(|n| n.to_ascii_lowercase().ends_with("sharedstrings.xml"))
        {
            shared_strings.push(i);
        }
        total = total.saturating_add(entry.size());
        if total > max_unpacked {
            return Err(Error::Sheet(format!(
                "the workbook unpacks to more than {} (the limit); it may be a zip bomb",
                mib(max_unpacked)
            )));
        }
    }
    for i in shared_strings {
        let declared = declared_count(archive.by_index(i).map_err(|_| damaged())?);
        let entry = archive.by_index(i).map_err(|_| damaged())?;
        let size = entry.size();
        let counted = count_strings(entry).map_err(|_| damaged())?;
        // Each string takes at least `<si/>`, five bytes.
        if declared.is_some_and(|n| n > size / 5 + 1) {
            return Err(damaged());
        }
        let held = size.saturating_add(counted.saturating_mul(PER_STRING));
        let budget = max_unpacked / SHARED_STRINGS_SHARE.1 * SHARED_STRINGS_SHARE.0;
        if held > budget {
            return Err(Error::TooLarge(format!(
                "The workbook's shared-string table holds {} strings and needs about {} in memory; the limit is {}.",
                super::limits::thousands(counted),
                mib(held),
                mib(budget)
            )));
        }
    }
    Ok(())
}

/// Bytes of one chunk kept for the next: a tag split across chunks, and its prefix.
const CARRY: usize = 24;

/// Opening `<si>` tags (with or without a namespace prefix, `<x:si>`) in `window` that
/// end past its first `seen` bytes (those were counted with the previous chunk).
fn opening_tags(window: &[u8], seen: usize) -> u64 {
    let mut count = 0;
    for (p, w) in window.windows(4).enumerate() {
        if p + 3 < seen {
            continue;
        }
        match w {
            [b'<', b's', b'i', b'>' | b' ' | b'/'] => count += 1,
            [b':', b's', b'i', b'>' | b' ' | b'/'] => {
                // `<x:si>` opens an element; `</x:si>` closes one.
                let from = p.saturating_sub(CARRY - 4);
                if let Some(lt) = window[from..p].iter().rposition(|&b| b == b'<')
                    && window.get(from + lt + 1) != Some(&b'/')
                {
                    count += 1;
                }
            }
            _ => {}
        }
    }
    count
}

/// The number of `<si>` elements of a shared-string part, read as a stream.
fn count_strings(mut part: impl Read) -> std::io::Result<u64> {
    let mut buf = vec![0u8; 64 * 1024];
    // The last bytes of the previous chunk, so that a tag split across two chunks is
    // still seen once.
    let mut carry: Vec<u8> = Vec::new();
    let mut count = 0u64;
    loop {
        let n = part.read(&mut buf)?;
        if n == 0 {
            break;
        }
        let mut window = std::mem::take(&mut carry);
        let seen = window.len();
        window.extend_from_slice(&buf[..n]);
        count += opening_tags(&window, seen);
        // Keep the tail: a tag split across chunks is counted in the next window (with
        // room to look back for a prefix's `<`).
        carry = window[window.len().saturating_sub(CARRY)..].to_vec();
    }
    Ok(count)
}

fn damaged() -> Error {
    Error::Sheet("the file is not a valid .xlsx workbook (a part is damaged)".into())
}

/// The `uniqueCount` of the part's `<sst>` tag, found as calamine finds it: the first
/// start tag whose local name is `sst`, read with quick-xml configured as calamine
/// configures it. `None` when there is no such tag or the XML breaks before it (the
/// reader then fails the same way, without reserving anything).
fn declared_count(part: impl Read) -> Option<u64> {
    let mut xml = quick_xml::Reader::from_reader(BufReader::new(part));
    let config = xml.config_mut();
    config.check_end_names = false;
    config.check_comments = false;
    config.expand_empty_elements = true;
    config.trim_text(false);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match xml.read_event_into(&mut buf) {
            Ok(Event::Start(tag)) if tag.local_name().as_ref() == "sst" => {
                return count_in_tag(tag.attributes_raw().as_bytes());
            }
            Ok(Event::Eof) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

/// The largest `uniqueCount = "digits"` in a tag, spaces around `=` allowed. Any
/// occurrence counts, not only a well-formed attribute: a check stricter than the
/// reader costs nothing, a looser one costs the process.
fn count_in_tag(tag: &[u8]) -> Option<u64> {
    const NAME: &[u8] = b"uniqueCount";
    let mut largest = None;
    for start in (0..tag.len()).filter(|&i| tag[i..].starts_with(NAME)) {
        let rest = tag[start + NAME.len()..].trim_ascii_start();
        let Some(rest) = rest.strip_prefix(b"=") else {
            continue;
        };
        let rest = rest.trim_ascii_start();
        let Some(value) = rest.strip_prefix(b"\"").or_else(|| rest.strip_prefix(b"'")) else {
            continue;
        };
        let value = value.strip_prefix(b"+").unwrap_or(value);
        let digits: String = value
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .skip_while(|&&b| b == b'0')
            .map(|&b| char::from(b))
            .collect();
        // Too many digits for a u64 is certainly more strings than the part holds.
        let count = if digits.is_empty() {
            0
        } else {
            digits.parse().unwrap_or(u64::MAX)
        };
        largest = largest.max(Some(count));
    }
    largest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_declared_string_count_is_read_from_the_opening_tag() {
        let head = br#"<?xml version="1.0"?><sst xmlns="x" count="3" uniqueCount="2"><si>"#;
        assert_eq!(declared_count(&head[..]), Some(2));
        assert_eq!(
            declared_count(&b"<sst uniqueCount='99999999999999999999999'>"[..]),
            Some(u64::MAX)
        );
        assert_eq!(declared_count(&b"<sst count=\"4\">"[..]), None);
        assert_eq!(declared_count(&b"<other uniqueCount=\"4\"/>"[..]), None);
    }

    #[test]
    fn the_declared_count_is_found_in_every_spelling_the_reader_accepts() {
        let count = |xml: &str| declared_count(xml.as_bytes());
        // A `>` inside a quoted value does not end the tag (found by fuzzing: the
        // reader reserved room for 99,999,999,999 strings and the process aborted).
        assert_eq!(
            count(r#"<sst xmlns="http://x/200>/main" uniqueCount="99999999999">"#),
            Some(99_999_999_999)
        );
        assert_eq!(count(r#"<sst uniqueCount = "7">"#), Some(7));
        assert_eq!(count(r#"<x:sst xmlns:x="u" uniqueCount="7"/>"#), Some(7));
        assert_eq!(count(r#"<sst uniqueCount="0007">"#), Some(7));
        let preamble = format!(r#"<!--{}--><sst uniqueCount="7">"#, " ".repeat(10_000));
        assert_eq!(count(&preamble), Some(7));
    }

    #[test]
    fn strings_are_counted_across_chunk_boundaries_and_prefixes() {
        let mut xml = String::from(r#"<sst uniqueCount="3">"#);
        xml.push_str(&"x".repeat(64 * 1024 - xml.len() - 2));
        xml.push_str("<si><t>a</t></si><x:si><x:t>b</x:t></x:si><si/></sst>");
        assert_eq!(count_strings(xml.as_bytes()).unwrap(), 3);
    }
}
