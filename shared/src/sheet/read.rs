//! Reading .xlsx (calamine) and .csv (csv crate) as a stream of rows, within
//! [`Limits`], into whatever a [`RowSink`] keeps: the whole workbook for a job
//! ([`read`]), or the header and the first rows for an upload's preview
//! ([`super::scan`]).
//!
//! Every row is checked against the limits before it is kept (see `limits.rs`), and an
//! .xlsx cell position is checked against the format's grid before anything is sized by
//! it. A panic inside a third-party parser (a malformed file reaching a bug in it) is
//! caught here and becomes a refusal of that file, never a crashed process.

use std::{
    io::Cursor,
    panic::{AssertUnwindSafe, catch_unwind},
};

use calamine::{DataRef, Reader, Xlsx, XlsxError};

use super::{
    Cell, Sheet, Workbook,
    limits::{Budget, Limits, mib, thousands},
    sheet_parts::{Counted, MAX_SHEETS, Parts},
};
use crate::{Error, Result, domain::FileFormat};

/// Where the rows of a workbook go as they are read.
pub(crate) trait RowSink {
    /// A sheet begins; `false` means its rows are not wanted (they are still counted
    /// against the limits).
    fn sheet(&mut self, name: &str) -> bool;
    /// A row at sheet row `row` (0-based), as wide as its last value. Rows normally
    /// arrive in order; an .xlsx may list them out of order or split one row in two.
    fn row(&mut self, row: u32, cells: Vec<Cell>);
}

/// Reads the whole workbook. Errors are `Error::Sheet` or `Error::TooLarge`, with a
/// reason fit for users.
pub fn read(bytes: &[u8], format: FileFormat, limits: &Limits) -> Result<Workbook> {
    let mut book = Collect::default();
    each_row(bytes, format, limits, &mut book)?;
    let sheets = book.finish();
    match sheets.first() {
        None => Err(Error::Sheet("the workbook has no worksheets".into())),
        Some(first) if first.rows.iter().all(|r| r.iter().all(Cell::is_blank)) => {
            Err(Error::Sheet("the first worksheet is empty".into()))
        }
        Some(first) => {
            super::limits::rows_under_header(
                first.data_len() as u64,
                first.header().len(),
                limits,
            )?;
            Ok(Workbook { format, sheets })
        }
    }
}

/// Feeds every row of the workbook to `sink`, then fails if any limit was passed.
pub(crate) fn each_row(
    bytes: &[u8],
    format: FileFormat,
    limits: &Limits,
    sink: &mut impl RowSink,
) -> Result<()> {
    let mut budget = Budget::new(*limits);
    // Why catch panics: calamine, zip and csv see attacker-chosen bytes; a bug in them
    // must cost one refused upload, not the process (in embedded mode, the workers
    // too). Nothing is shared across the boundary but the sink, which a half-read
    // file leaves harmless (the caller drops it on error).
    let read = catch_unwind(AssertUnwindSafe(|| match format {
        FileFormat::Xlsx => {
            super::zip_guard::check(bytes, limits.max_unpacked_bytes)?;
            xlsx_rows(bytes, &mut budget, sink)
        }
        FileFormat::Csv => csv_rows(bytes, &mut budget, sink),
    }));
    match read {
        Ok(result) => result?,
        Err(_) => {
            return Err(Error::Sheet(
                "the file is damaged and could not be read".into(),
            ));
        }
    }
    budget.finish()
}

fn xlsx_reason(e: XlsxError) -> Error {
    let reason = match e {
        XlsxError::Zip(_) | XlsxError::Io(_) => {
            "the file is not a valid .xlsx workbook (it is not a readable zip archive)".to_owned()
        }
        XlsxError::Password => {
            "the workbook is password-protected; remove the password and upload it again".to_owned()
        }
        other => {
            let mut text = other.to_string();
            text.truncate(text.floor_char_boundary(200));
            format!("the workbook could not be read ({text})")
        }
    };
    Error::Sheet(reason)
}

/// The row being assembled from an .xlsx's cells.
struct PendingRow {
    row: u32,
    cells: Vec<Cell>,
    width: u64,
    text: u64,
    /// Whether the cells are being kept (the sheet is wanted and no limit is passed).
    keep: bool,
}

impl PendingRow {
    fn flush(self, budget: &mut Budget, sink: &mut impl RowSink) {
        if budget.row(self.row, self.width, self.text) && self.keep {
            sink.row(self.row, self.cells);
        }
    }
}

fn xlsx_rows(bytes: &[u8], budget: &mut Budget, sink: &mut impl RowSink) -> Result<()> {
    let parts = Parts::of(bytes);
    let allowance = parts.allowance();
    let (file, read) = Counted::new(Cursor::new(bytes), parts);
    let mut book: Xlsx<_> = Xlsx::new(file).map_err(xlsx_reason)?;
    let max_columns = budget.max_columns();
    let names = book.sheet_names();
    if names.len() > MAX_SHEETS {
        return Err(Error::TooLarge(format!(
            "The workbook has {} sheets; the limit is {}.",
            thousands(names.len() as u64),
            thousands(MAX_SHEETS as u64)
        )));
    }
    for name in names {
        // See `sheet_parts.rs`: a part named by many sheets is read once per sheet.
        if read.get() > allowance {
            return Err(Error::TooLarge(format!(
                "The workbook lists the same data as several sheets; reading them would unpack more than {}, twice the workbook.",
                mib(allowance)
            )));
        }
        budget.next_sheet(&name);
        let wanted = sink.sheet(&name);
        // Streams the sheet's cells: building calamine's `Range` first would hold every
        // cell twice at the peak (measured: 1.8 GiB for a million rows), and would be
        // sized by the sheet's declared dimensions, which the file may lie about.
        let mut reader = book.worksheet_cells_reader(&name).map_err(xlsx_reason)?;
        let mut pending: Option<PendingRow> = None;
        while let Some(cell) = reader.next_cell().map_err(xlsx_reason)? {
            let value = cell.get_value();
            if matches!(value, DataRef::Empty) {
                continue;
            }
            let (r, c) = cell.get_position();
            Budget::xlsx_position(r, c)?;
            if pending.as_ref().is_some_and(|p| p.row != r)
                && let Some(done) = pending.take()
            {
                done.flush(budget, sink);
            }
            let row = pending.get_or_insert_with(|| PendingRow {
                row: r,
                cells: Vec::new(),
                width: 0,
                text: 0,
                keep: wanted && budget.within(),
            });
            let c = u64::from(c);
            row.width = row.width.max(c + 1);
            row.text = row.text.saturating_add(text_len(value));
            // A row wider than the limit is refused at its flush; until then nothing
            // is sized by it.
            if row.width > max_columns {
                row.keep = false;
                row.cells = Vec::new();
            }
            if row.keep {
                let c = c as usize;
                if row.cells.len() <= c {
                    row.cells.resize(c + 1, Cell::Empty);
                }
                row.cells[c] = cell_from_ref(value);
            }
        }
        if let Some(done) = pending.take() {
            done.flush(budget, sink);
        }
    }
    Ok(())
}

fn text_len(d: &DataRef<'_>) -> u64 {
    match d {
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.len() as u64,
        DataRef::SharedString(s) => s.len() as u64,
        _ => 0,
    }
}

fn cell_from_ref(d: &DataRef<'_>) -> Cell {
    match d {
        DataRef::Empty => Cell::Empty,
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => {
            Cell::Text(s.clone())
        }
        DataRef::SharedString(s) => Cell::Text((*s).to_owned()),
        DataRef::Int(i) => Cell::Number(*i as f64),
        DataRef::Float(f) => Cell::Number(*f),
        DataRef::Bool(b) => Cell::Bool(*b),
        DataRef::DateTime(dt) => Cell::DateTime(dt.as_f64()),
        DataRef::Error(e) => Cell::Error(e.to_string()),
    }
}

/// The delimiter among `, ; \t |` that appears most in the header line.
fn sniff_delimiter(text: &str) -> u8 {
    let header = text.lines().next().unwrap_or_default();
    [b',', b';', b'\t', b'|']
        .into_iter()
        .max_by_key(|d| header.bytes().filter(|b| b == d).count())
        .unwrap_or(b',')
}

fn csv_rows(bytes: &[u8], budget: &mut Budget, sink: &mut impl RowSink) -> Result<()> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        Error::Sheet(format!(
            "the CSV file is not UTF-8 text (invalid byte at position {}); save it as \"CSV UTF-8\" and upload it again",
            e.valid_up_to()
        ))
    })?;
    budget.next_sheet("");
    let wanted = sink.sheet("Sheet1");
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(sniff_delimiter(text))
        .from_reader(text.as_bytes());
    let mut record = csv::StringRecord::new();
    let mut row: u32 = 0;
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                return Err(Error::Sheet(format!(
                    "the CSV file could not be read ({e})"
                )));
            }
        }
        // The width is up to the last non-empty field: trailing separators are not
        // columns.
        let width = (0..record.len())
            .rposition(|i| record.get(i).is_some_and(|f| !f.is_empty()))
            .map_or(0, |i| i + 1);
        let text = record.as_slice().len() as u64;
        if budget.row(row, width as u64, text) && wanted {
            let cells = record
                .iter()
                .take(width)
                .map(|f| {
                    if f.is_empty() {
                        Cell::Empty
                    } else {
                        Cell::Text(f.to_owned())
                    }
                })
                .collect();
            sink.row(row, cells);
        }
        // More records than a u32 counts cannot fit in a 16 MiB upload; saturating
        // keeps the count honest enough for the message if limits are raised that far.
        row = row.saturating_add(1);
    }
    Ok(())
}

/// Rows as read: sheet row and cells.
type Rows = Vec<(u32, Vec<Cell>)>;

/// Keeps every row of every sheet: the whole workbook.
#[derive(Default)]
struct Collect {
    sheets: Vec<(String, Rows)>,
}

impl RowSink for Collect {
    fn sheet(&mut self, name: &str) -> bool {
        self.sheets.push((name.to_owned(), Vec::new()));
        true
    }

    fn row(&mut self, row: u32, cells: Vec<Cell>) {
        if let Some((_, rows)) = self.sheets.last_mut() {
            rows.push((row, cells));
        }
    }
}

impl Collect {
    /// Lays each sheet's rows out from its first row to its last, gaps as empty rows
    /// (the limits counted them), rows listed twice merged.
    fn finish(self) -> Vec<Sheet> {
        self.sheets
            .into_iter()
            .map(|(name, mut rows)| {
                if !rows.is_sorted_by_key(|(r, _)| *r) {
                    rows.sort_by_key(|(r, _)| *r);
                }
                let first_row = rows.first().map_or(0, |(r, _)| *r);
                let mut dense: Vec<Vec<Cell>> = Vec::with_capacity(rows.len());
                for (r, cells) in rows {
                    let index = (r - first_row) as usize;
                    if dense.len() <= index {
                        dense.resize_with(index + 1, Vec::new);
                        dense[index] = cells;
                    } else {
                        super::scan::merge(&mut dense[index], cells);
                    }
                }
                Sheet {
                    name,
                    rows: dense,
                    first_row,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits::FORMAT;

    #[test]
    fn empty_sheets_are_refused_clearly() {
        for csv in [&b""[..], b"\n\n", b" , ,\n"] {
            let err = read(csv, FileFormat::Csv, &LIMITS).unwrap_err();
            assert_eq!(err.to_string(), "the first worksheet is empty");
        }
    }

    #[test]
    fn csv_with_bom_and_semicolons() {
        let wb = read(
            b"\xEF\xBB\xBFName;Region;Maps\nA;B;\"x;y\"\n",
            FileFormat::Csv,
            &LIMITS,
        )
        .unwrap();
        let s = wb.first();
        assert_eq!(
            s.header(),
            &[
                Cell::Text("Name".into()),
                Cell::Text("Region".into()),
                Cell::Text("Maps".into())
            ]
        );
        assert_eq!(s.data_cell(0, 2), &Cell::Text("x;y".into()));
    }

    #[test]
    fn non_utf8_csv_is_refused_clearly() {
        let err = read(b"Name,Region\n\xe9t\xe9,x\n", FileFormat::Csv, &LIMITS).unwrap_err();
        assert!(err.to_string().contains("not UTF-8"), "{err}");
    }

    #[test]
    fn non_zip_xlsx_is_refused_clearly() {
        let err = read(b"Name,Region,Maps\n", FileFormat::Xlsx, &LIMITS).unwrap_err();
        assert!(err.to_string().contains("not a valid .xlsx"), "{err}");
    }

    #[test]
    fn a_csv_over_the_row_limit_is_refused_with_its_real_size() {
        let csv = "Name,Region,Maps\n".to_owned() + &"a,b,c\n".repeat(20);
        let limits = Limits {
            max_rows: 10,
            ..LIMITS
        };
        let err = read(csv.as_bytes(), FileFormat::Csv, &limits).unwrap_err();
        assert!(matches!(err, Error::TooLarge(_)));
        assert_eq!(err.to_string(), "The sheet has 21 rows; the limit is 10.");
    }

    #[test]
    fn trailing_separators_are_not_columns() {
        let limits = Limits {
            max_columns: 3,
            ..LIMITS
        };
        let wb = read(b"Name,Region,Maps,,,,\n", FileFormat::Csv, &limits).unwrap();
        assert_eq!(wb.first().header().len(), 3);
        let err = read(b"Name,Region,Maps,,,,x\n", FileFormat::Csv, &limits).unwrap_err();
        assert_eq!(err.to_string(), "The sheet has 7 columns; the limit is 3.");
    }
}
