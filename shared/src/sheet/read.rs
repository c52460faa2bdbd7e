//! Reading .xlsx (calamine) and .csv (csv crate) into a [`Workbook`].

use std::io::Cursor;

use calamine::{DataRef, Reader, Xlsx, XlsxError};

use super::{Cell, Sheet, Workbook};
use crate::{Error, Result, domain::FileFormat};

/// Reads a workbook whose parts unpack to at most `max_unpacked` bytes. Errors are
/// `Error::Sheet` with a reason fit for users.
pub fn read(bytes: &[u8], format: FileFormat, max_unpacked: u64) -> Result<Workbook> {
    let sheets = match format {
        FileFormat::Xlsx => {
            super::zip_guard::check(bytes, max_unpacked)?;
            read_xlsx(bytes)?
        }
        FileFormat::Csv => vec![read_csv(bytes)?],
    };
    match sheets.first() {
        None => Err(Error::Sheet("the workbook has no worksheets".into())),
        Some(first) if first.rows.iter().all(|r| r.iter().all(Cell::is_blank)) => {
            Err(Error::Sheet("the first worksheet is empty".into()))
        }
        Some(_) => Ok(Workbook { format, sheets }),
    }
}

fn xlsx_reason(e: XlsxError) -> Error {
    let reason = match e {
        XlsxError::Zip(_) | XlsxError::Io(_) => {
            "the file is not a valid .xlsx workbook (it is not a readable zip archive)".to_owned()
        }
        XlsxError::Password => {
            "the workbook is password-protected; remove the password and upload it again".to_owned()
        }
        other => format!("the workbook could not be read ({other})"),
    };
    Error::Sheet(reason)
}

fn read_xlsx(bytes: &[u8]) -> Result<Vec<Sheet>> {
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(xlsx_reason)?;
    let names = book.sheet_names();
    let mut sheets = Vec::with_capacity(names.len());
    for name in names {
        sheets.push(read_xlsx_sheet(&mut book, name)?);
    }
    Ok(sheets)
}

/// Streams one worksheet's cells straight into rows. Building calamine's `Range` first
/// would hold every cell twice at the peak (measured: 1.8 GiB for a million rows).
/// Column positions stay absolute; rows start at the first row holding a value.
fn read_xlsx_sheet(book: &mut Xlsx<Cursor<&[u8]>>, name: String) -> Result<Sheet> {
    let mut reader = book.worksheet_cells_reader(&name).map_err(xlsx_reason)?;
    let mut rows: Vec<Vec<Cell>> = Vec::new();
    let mut first_row: Option<u32> = None;
    while let Some(cell) = reader.next_cell().map_err(xlsx_reason)? {
        let value = cell_from_ref(cell.get_value());
        if value == Cell::Empty {
            continue;
        }
        let (r, c) = cell.get_position();
        let first = *first_row.get_or_insert(r);
        if r < first {
            // Rows out of order in the XML (rare, but legal): make room above.
            rows.splice(0..0, std::iter::repeat_n(Vec::new(), (first - r) as usize));
            first_row = Some(r);
        }
        let index = (r - first_row.unwrap_or(r)) as usize;
        if rows.len() <= index {
            rows.resize(index + 1, Vec::new());
        }
        let row = &mut rows[index];
        let c = c as usize;
        if row.len() <= c {
            row.resize(c + 1, Cell::Empty);
        }
        row[c] = value;
    }
    Ok(Sheet {
        name,
        rows,
        first_row: first_row.unwrap_or(0),
    })
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

fn trim_trailing_empty(row: &mut Vec<Cell>) {
    while matches!(row.last(), Some(Cell::Empty)) {
        row.pop();
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

fn read_csv(bytes: &[u8]) -> Result<Sheet> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        Error::Sheet(format!(
            "the CSV file is not UTF-8 text (invalid byte at position {}); save it as \"CSV UTF-8\" and upload it again",
            e.valid_up_to()
        ))
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(sniff_delimiter(text))
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for record in reader.records() {
        let record =
            record.map_err(|e| Error::Sheet(format!("the CSV file could not be read ({e})")))?;
        let mut row: Vec<Cell> = record
            .iter()
            .map(|f| {
                if f.is_empty() {
                    Cell::Empty
                } else {
                    Cell::Text(f.to_owned())
                }
            })
            .collect();
        trim_trailing_empty(&mut row);
        rows.push(row);
    }
    Ok(Sheet {
        name: "Sheet1".into(),
        rows,
        first_row: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: u64 = 64 * 1024 * 1024;

    #[test]
    fn empty_sheets_are_refused_clearly() {
        for csv in [&b""[..], b"\n\n", b" , ,\n"] {
            let err = read(csv, FileFormat::Csv, LIMIT).unwrap_err();
            assert_eq!(err.to_string(), "the first worksheet is empty");
        }
    }

    #[test]
    fn csv_with_bom_and_semicolons() {
        let wb = read(
            b"\xEF\xBB\xBFName;Region;Maps\nA;B;\"x;y\"\n",
            FileFormat::Csv,
            LIMIT,
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
        let err = read(b"Name,Region\n\xe9t\xe9,x\n", FileFormat::Csv, LIMIT).unwrap_err();
        assert!(err.to_string().contains("not UTF-8"), "{err}");
    }

    #[test]
    fn non_zip_xlsx_is_refused_clearly() {
        let err = read(b"Name,Region,Maps\n", FileFormat::Xlsx, LIMIT).unwrap_err();
        assert!(err.to_string().contains("not a valid .xlsx"), "{err}");
    }
}
