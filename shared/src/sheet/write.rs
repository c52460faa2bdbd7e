//! Writing a workbook back in its own format: .xlsx with rust_xlsxwriter (every sheet,
//! names kept unless Excel would refuse them — see `sheet_name.rs` —, numbers as
//! numbers, dates as dates) or .csv.
//!
//! Cells come from an uploaded sheet, so they are written so that opening the output
//! never runs anything (OWASP's "CSV injection"):
//! - .xlsx: text is always written as a string cell, never as a formula, so `=…` in a
//!   cell stays the text `=…`.
//! - .csv has no types, and spreadsheet programs run a field that starts with `=`, `+`,
//!   `-` or `@` as a formula (`=HYPERLINK(…)`, `@SUM(…)`, `-2+3+cmd|…`), as well as one
//!   whose leading tab or carriage return they strip first. Such a text cell is written
//!   with a leading `'`, which spreadsheet programs read as "text follows". A field
//!   that is a plain number (`-26.108`, `+27`, `1e-5`) is left as it is: it cannot call
//!   anything, and the column stays numeric. The price: a text like `-26.1,28.0` comes
//!   back as `'-26.1,28.0` (the link parser still reads it on a re-upload).

use std::{borrow::Cow, io::Write};

use rust_xlsxwriter::{Format, Workbook as XlsxWorkbook, Worksheet, XlsxError};

use super::{Cell, Workbook, sheet_name::SheetNames};
use crate::{Error, Result, domain::FileFormat};

/// Serializes `book` to bytes in its format.
pub fn write(book: &Workbook) -> Result<Vec<u8>> {
    match book.format {
        FileFormat::Xlsx => write_xlsx(book)
            .map_err(|e| Error::Sheet(format!("could not write the workbook ({e})"))),
        FileFormat::Csv => write_csv(book),
    }
}

fn write_xlsx(book: &Workbook) -> std::result::Result<Vec<u8>, XlsxError> {
    let mut out = XlsxWorkbook::new();
    let date = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    let mut names = SheetNames::default();
    for sheet in &book.sheets {
        // Constant-memory sheets stream their rows to a temporary file as they are
        // written (rows are written in order), instead of holding every cell in memory
        // until the workbook is saved: a 100,000-row sheet otherwise costs hundreds of MiB.
        let ws: &mut Worksheet = out.add_worksheet_with_constant_memory()?;
        ws.set_name(names.writable(&sheet.name))?;
        for (r, row) in sheet.rows.iter().enumerate() {
            let r =
                sheet.first_row + u32::try_from(r).map_err(|_| XlsxError::RowColumnLimitError)?;
            for (c, cell) in row.iter().enumerate() {
                let c = u16::try_from(c).map_err(|_| XlsxError::RowColumnLimitError)?;
                match cell {
                    Cell::Empty => {}
                    Cell::Text(s) | Cell::Error(s) => {
                        ws.write_string(r, c, fit_cell(s))?;
                    }
                    Cell::Number(n) => {
                        ws.write_number(r, c, *n)?;
                    }
                    Cell::Bool(b) => {
                        ws.write_boolean(r, c, *b)?;
                    }
                    Cell::DateTime(serial) => {
                        ws.write_number_with_format(r, c, *serial, &date)?;
                    }
                }
            }
        }
    }
    out.save_to_buffer()
}

/// Excel's limit on the text of one cell. Only a CSV can bring longer text; writing it
/// as an .xlsx would fail, so it is cut (such a cell is never a usable map link).
const MAX_CELL_CHARS: usize = 32_767;

fn fit_cell(s: &str) -> &str {
    match s.char_indices().nth(MAX_CELL_CHARS) {
        Some((cut, _)) => &s[..cut],
        None => s,
    }
}

fn write_csv(book: &Workbook) -> Result<Vec<u8>> {
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    for row in &book.first().rows {
        w.write_record(row.iter().map(csv_field))
            .map_err(|e| Error::Sheet(format!("could not write the CSV file ({e})")))?;
    }
    let mut bytes = w
        .into_inner()
        .map_err(|e| Error::Sheet(format!("could not write the CSV file ({e})")))?;
    bytes.flush().ok();
    Ok(bytes)
}

/// A cell as a CSV field: text that would start a formula gets a leading `'`.
fn csv_field(cell: &Cell) -> String {
    match cell {
        Cell::Text(s) => match defuse(s) {
            Cow::Borrowed(_) => cell.text(),
            Cow::Owned(quoted) => quoted,
        },
        other => other.text(),
    }
}

fn defuse(s: &str) -> Cow<'_, str> {
    let starts_formula = match s.as_bytes().first() {
        Some(b'=' | b'@' | b'\t' | b'\r') => true,
        Some(b'+' | b'-') => !is_plain_number(s),
        _ => false,
    };
    if starts_formula {
        Cow::Owned(format!("'{s}"))
    } else {
        Cow::Borrowed(s)
    }
}

/// Digits with a sign, a point and an exponent at most: what a spreadsheet reads as a
/// number. (`str::parse::<f64>` alone would also take `-inf` and `NaN`.)
fn is_plain_number(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'))
        && s.parse::<f64>().is_ok_and(f64::is_finite)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sheet::Sheet;

    fn book(format: FileFormat, cells: &[&str]) -> Workbook {
        Workbook {
            format,
            sheets: vec![Sheet {
                name: "Sheet1".into(),
                rows: vec![vec![Cell::Text("Cell".into())]]
                    .into_iter()
                    .chain(cells.iter().map(|c| vec![Cell::Text((*c).into())]))
                    .collect(),
                first_row: 0,
            }],
        }
    }

    /// The written CSV's fields, one per line, as a CSV reader sees them.
    fn csv_fields(cells: &[&str]) -> Vec<String> {
        let bytes = write(&book(FileFormat::Csv, cells)).unwrap();
        csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(&bytes[..])
            .records()
            .map(|r| r.unwrap()[0].to_owned())
            .collect()
    }

    #[test]
    fn csv_text_that_starts_a_formula_is_written_as_text() {
        let risky = [
            "=HYPERLINK(\"https://evil.example\",\"Click\")",
            "+1+1",
            "-2+3+cmd|' /C calc'!A0",
            "@SUM(A1:A9)",
            "\t=1+1",
            "\r=1+1",
            "-",
            "-inf",
            "-26.1,28.0",
        ];
        let expected: Vec<String> = risky.iter().map(|c| format!("'{c}")).collect();
        assert_eq!(csv_fields(&risky), expected);
    }

    #[test]
    fn a_quoted_coordinate_pair_still_parses_on_a_re_upload() {
        let field = &csv_fields(&["-26.1,28.0"])[0];
        assert_eq!(field, "'-26.1,28.0");
        assert_eq!(
            crate::links::parse(field).unwrap().coordinates,
            crate::links::parse("-26.1,28.0").unwrap().coordinates
        );
    }

    #[test]
    fn csv_numbers_and_ordinary_text_are_written_unchanged() {
        let plain = [
            "-26.108",
            "28.0473",
            "+27",
            "-1e-5",
            "Sandton City Mall",
            "https://maps.google.com/?q=-26.1,28.0",
            "a=b",
            " =not first",
            "'already quoted",
        ];
        assert_eq!(csv_fields(&plain), plain.map(str::to_owned).to_vec());
    }

    #[test]
    fn csv_numbers_from_the_job_are_never_quoted() {
        let mut b = book(FileFormat::Csv, &[]);
        b.sheets[0].rows.push(vec![Cell::Number(-26.108)]);
        let text = String::from_utf8(write(&b).unwrap()).unwrap();
        assert_eq!(text, "Cell\n-26.108\n");
    }

    #[test]
    fn xlsx_text_that_looks_like_a_formula_is_a_string_cell() {
        use calamine::{Data, Reader, Xlsx};

        let cells = [
            "=HYPERLINK(\"https://evil.example\",\"Click\")",
            "+1+1",
            "@SUM(A1:A9)",
            "-26.1,28.0",
        ];
        let bytes = write(&book(FileFormat::Xlsx, &cells)).unwrap();
        let mut xlsx = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();

        let formulas = xlsx.worksheet_formula("Sheet1").unwrap();
        assert!(
            formulas.used_cells().all(|(_, _, f)| f.is_empty()),
            "a formula was written: {formulas:?}"
        );
        let values = xlsx.worksheet_range("Sheet1").unwrap();
        let column: Vec<Data> = values.rows().skip(1).map(|r| r[0].clone()).collect();
        let expected: Vec<Data> = cells.iter().map(|c| Data::String((*c).into())).collect();
        assert_eq!(column, expected);
    }
}
