//! Checks an .xlsx container before it is parsed: password-protected workbooks (an OLE
//! compound file, not a zip) get their own message, and a workbook whose parts would
//! unpack to more than the limit (a zip bomb) is refused before anything is inflated.
//!
//! The declared sizes are what is checked; the zip reader stops at the declared size
//! and verifies the checksum, so an entry that lies about its size fails to read
//! rather than inflating without bound.
//!
//! The shared-string table's declared count is checked too: the reader reserves room
//! for that many strings up front, so `uniqueCount="99999999999"` in a 2 KB file would
//! otherwise ask for terabytes and abort the process.

use std::io::{Cursor, Read};

use crate::{Error, Result};

/// The signature of an OLE compound file: what Excel writes for an encrypted workbook
/// (and what an old .xls file renamed to .xlsx is).
const CFB_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
/// More parts than any real workbook has.
const MAX_ENTRIES: usize = 10_000;

fn mib(n: u64) -> String {
    format!("{} MiB", n.div_ceil(1024 * 1024))
}

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
        let entry = archive.by_index(i).map_err(|_| damaged())?;
        let size = entry.size();
        // The count sits in the opening tag, within the first bytes of the part.
        let mut head = Vec::with_capacity(4096);
        entry
            .take(4096)
            .read_to_end(&mut head)
            .map_err(|_| damaged())?;
        if let Some(count) = declared_count(&head) {
            // Each string takes at least `<si/>`, five bytes.
            if count > size / 5 + 1 {
                return Err(damaged());
            }
        }
    }
    Ok(())
}

fn damaged() -> Error {
    Error::Sheet("the file is not a valid .xlsx workbook (a part is damaged)".into())
}

/// The `uniqueCount` attribute of the `<sst>` tag, if the head of the part has one.
fn declared_count(head: &[u8]) -> Option<u64> {
    let text = String::from_utf8_lossy(head);
    let sst = &text[text.find("<sst")?..];
    let tag = &sst[..sst.find('>').unwrap_or(sst.len())];
    let value = tag.split("uniqueCount=").nth(1)?;
    let digits: String = value
        .trim_start_matches(['"', '\''])
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    // Too many digits for a u64 is certainly more strings than the part holds.
    Some(digits.parse().unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_declared_string_count_is_read_from_the_opening_tag() {
        let head = br#"<?xml version="1.0"?><sst xmlns="x" count="3" uniqueCount="2"><si>"#;
        assert_eq!(declared_count(head), Some(2));
        assert_eq!(
            declared_count(b"<sst uniqueCount='99999999999999999999999'>"),
            Some(u64::MAX)
        );
        assert_eq!(declared_count(b"<sst count=\"4\">"), None);
    }
}
