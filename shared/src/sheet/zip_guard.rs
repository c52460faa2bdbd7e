//! Checks an .xlsx container before it is parsed: password-protected workbooks (an OLE
//! compound file, not a zip) get their own message, and a workbook whose parts would
//! unpack to more than the limit (a zip bomb) is refused before anything is inflated.
//!
//! The declared sizes are what is checked; the zip reader stops at the declared size
//! and verifies the checksum, so an entry that lies about its size fails to read
//! rather than inflating without bound.

use std::io::Cursor;

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
    for i in 0..archive.len() {
        let entry = archive.by_index_raw(i).map_err(|_| {
            Error::Sheet("the file is not a valid .xlsx workbook (a part is damaged)".into())
        })?;
        total = total.saturating_add(entry.size());
        if total > max_unpacked {
            return Err(Error::Sheet(format!(
                "the workbook unpacks to more than {} (the limit); it may be a zip bomb",
                mib(max_unpacked)
            )));
        }
    }
    Ok(())
}
