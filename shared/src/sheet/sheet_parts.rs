//! How many sheets an .xlsx may list, and how often its parts may be read.
//!
//! A sheet of an .xlsx is a line in the workbook part naming the part that holds its
//! cells, so a small file can list thousands of sheets, and they may all name the same
//! part. The unpacked-size check sees each part once; the reader reads it once per
//! sheet. Found by fuzzing: a 440 KB workbook listing one 50-row part as 6,989 sheets
//! was accepted at upload and kept a job busy for 17 s writing them back; and a large
//! part, mostly blank (so it costs no cells) and compressed to almost nothing, listed a
//! thousand times would be unpacked and parsed a thousand times at upload. So:
//! - a workbook may list at most [`MAX_SHEETS`] sheets;
//! - the reader's reads from the file are counted as the bytes they unpack to (each
//!   read weighed by the unpacked size of the part it falls in, per byte of that part
//!   in the file), and the workbook is refused once that passes twice its unpacked
//!   size: every part may be read once, none again and again, whatever names it.

use std::{
    cell::Cell,
    io::{self, Cursor, Read, Seek, SeekFrom},
    rc::Rc,
};

/// The most sheets a workbook may list. Real workbooks have a few, rarely hundreds.
pub const MAX_SHEETS: usize = 1_000;

/// Unpacked bytes a reader may read beyond twice the workbook's unpacked size (the zip
/// directory, headers, read-ahead).
const SLACK: u64 = 1024 * 1024;

/// Where the parts lie in the file: each part's span from its header to the next
/// part's, and the bytes it unpacks to.
#[derive(Debug, Default)]
pub(crate) struct Parts {
    /// `(start, end, unpacked)`, sorted by start, not overlapping.
    spans: Vec<(u64, u64, u64)>,
    unpacked: u64,
}

impl Parts {
    /// The parts of the zip in `bytes` (none if it is not one; the reader then fails).
    pub fn of(bytes: &[u8]) -> Self {
        let Ok(mut archive) = zip::ZipArchive::new(Cursor::new(bytes)) else {
            return Self::default();
        };
        let mut starts: Vec<(u64, u64)> = Vec::with_capacity(archive.len());
        for i in 0..archive.len() {
            if let Ok(entry) = archive.by_index_raw(i) {
                starts.push((entry.header_start(), entry.size()));
            }
        }
        starts.sort_unstable();
        starts.dedup_by_key(|(start, _)| *start);
        let file_end = bytes.len() as u64;
        let spans = starts
            .iter()
            .enumerate()
            .map(|(i, &(start, size))| {
                let end = starts.get(i + 1).map_or(file_end, |next| next.0);
                (start, end.max(start + 1), size)
            })
            .collect();
        Self {
            unpacked: starts
                .iter()
                .map(|(_, size)| *size)
                .fold(0, u64::saturating_add),
            spans,
        }
    }

    /// What `n` bytes read at `pos` unpack to, at most: their share of the part they
    /// fall in, and never less than themselves.
    fn weight(&self, pos: u64, n: u64) -> u64 {
        let i = self.spans.partition_point(|(start, ..)| *start <= pos);
        let Some(&(start, end, unpacked)) = i.checked_sub(1).and_then(|i| self.spans.get(i)) else {
            return n;
        };
        if pos >= end {
            return n;
        }
        let share = u128::from(n) * u128::from(unpacked) / u128::from(end - start);
        u64::try_from(share).unwrap_or(u64::MAX).max(n)
    }

    /// The most a reader may read, in unpacked bytes.
    pub fn allowance(&self) -> u64 {
        self.unpacked.saturating_mul(2).saturating_add(SLACK)
    }
}

/// A reader of a workbook's file that counts what its reads unpack to.
#[derive(Debug)]
pub(crate) struct Counted<R> {
    inner: R,
    pos: u64,
    parts: Rc<Parts>,
    read: Rc<Cell<u64>>,
}

impl<R> Counted<R> {
    /// `inner` (at its start), and the count that every read through it adds to.
    pub fn new(inner: R, parts: Parts) -> (Self, Rc<Cell<u64>>) {
        let read = Rc::new(Cell::new(0));
        let reader = Self {
            inner,
            pos: 0,
            parts: Rc::new(parts),
            read: read.clone(),
        };
        (reader, read)
    }
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let weight = self.parts.weight(self.pos, n as u64);
        self.read.set(self.read.get().saturating_add(weight));
        self.pos = self.pos.saturating_add(n as u64);
        Ok(n)
    }
}

impl<R: Seek> Seek for Counted<R> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.pos = self.inner.seek(to)?;
        Ok(self.pos)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::{
        Error,
        domain::FileFormat,
        sheet::{Limits, read},
    };

    /// An .xlsx whose workbook lists `sheets` sheets, all naming the one worksheet part
    /// `sheet_data` (deflated).
    fn one_part_as_many_sheets(sheets: usize, sheet_data: &str) -> Vec<u8> {
        const MAIN: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
        const REL: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
        let list: String = (0..sheets)
            .map(|i| format!(r#"<sheet name="S{i}" sheetId="{}" r:id="rId1"/>"#, i + 1))
            .collect();
        let parts = [
            (
                "_rels/.rels".to_owned(),
                format!(
                    r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>"#
                ),
            ),
            (
                "xl/workbook.xml".to_owned(),
                format!(
                    r#"<workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets>{list}</sheets></workbook>"#
                ),
            ),
            (
                "xl/_rels/workbook.xml.rels".to_owned(),
                format!(
                    r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#
                ),
            ),
            (
                "xl/worksheets/sheet1.xml".to_owned(),
                format!(
                    r#"<worksheet xmlns="{MAIN}"><sheetData>{sheet_data}</sheetData></worksheet>"#
                ),
            ),
        ];
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, text) in parts {
            w.start_file(name, zip::write::SimpleFileOptions::default())
                .unwrap();
            w.write_all(text.as_bytes()).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    const HEADER: &str = r#"<row r="1"><c r="A1" t="inlineStr"><is><t>Maps</t></is></c></row>"#;

    #[test]
    fn a_workbook_listing_more_sheets_than_the_limit_is_refused() {
        let bytes = one_part_as_many_sheets(MAX_SHEETS + 1, HEADER);
        let err = read(&bytes, FileFormat::Xlsx, &Limits::FORMAT).unwrap_err();
        assert_eq!(
            err.to_string(),
            "The workbook has 1,001 sheets; the limit is 1,000."
        );
        assert!(
            read(
                &one_part_as_many_sheets(3, HEADER),
                FileFormat::Xlsx,
                &Limits::FORMAT
            )
            .is_ok()
        );
    }

    #[test]
    fn a_large_blank_part_named_by_many_sheets_is_not_read_again_and_again() {
        // 4 MiB of blank rows: no cells, a few KB once compressed.
        let blank = format!("{HEADER}{}", "<row/>".repeat(700_000));
        let bytes = one_part_as_many_sheets(500, &blank);
        assert!(bytes.len() < 64 * 1024, "{} bytes", bytes.len());
        let err = read(&bytes, FileFormat::Xlsx, &Limits::FORMAT).unwrap_err();
        assert!(matches!(err, Error::TooLarge(_)));
        assert!(
            err.to_string()
                .starts_with("The workbook lists the same data as several sheets;"),
            "{err}"
        );
    }

    /// A zip of a stored 1,000-byte part and a deflated part of 100,000 spaces.
    fn zip_of_two_parts() -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let stored = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        w.start_file("a.xml", stored).unwrap();
        w.write_all(&[b'a'; 1_000]).unwrap();
        w.start_file("b.xml", zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(&[b' '; 100_000]).unwrap();
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn a_read_counts_what_its_part_unpacks_to() {
        let bytes = zip_of_two_parts();
        let parts = Parts::of(&bytes);
        assert_eq!(parts.unpacked, 101_000);
        let (_, b_start, b_end) = (parts.spans[0].0, parts.spans[1].0, parts.spans[1].1);
        assert!(b_end - b_start < 1_000, "the spaces compress");
        // Reading the deflated part's span whole counts its unpacked size.
        assert_eq!(parts.weight(b_start, b_end - b_start), 100_000);
        // A stored part counts about its own bytes.
        assert!((1_000..1_100).contains(&parts.weight(parts.spans[0].0, parts.spans[0].1)));
    }

    #[test]
    fn reading_one_part_again_and_again_passes_the_allowance() {
        let bytes = zip_of_two_parts();
        let parts = Parts::of(&bytes);
        let allowance = parts.allowance();
        let (b_start, b_end) = (parts.spans[1].0, parts.spans[1].1);
        let (mut r, read) = Counted::new(Cursor::new(&bytes[..]), parts);
        let mut span = vec![0u8; (b_end - b_start) as usize];
        let mut times = 0;
        while read.get() <= allowance {
            r.seek(SeekFrom::Start(b_start)).unwrap();
            r.read_exact(&mut span).unwrap();
            times += 1;
        }
        assert!(
            (12..=13).contains(&times),
            "{times} reads of 100,000 spaces"
        );
    }
}
