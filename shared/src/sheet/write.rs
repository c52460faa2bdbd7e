//! Writing a workbook back in its own format: .xlsx with rust_xlsxwriter (every sheet,
//! names kept, numbers as numbers, dates as dates) or .csv.

use std::io::Write;

use rust_xlsxwriter::{Format, Workbook as XlsxWorkbook, Worksheet, XlsxError};

use super::{Cell, Workbook};
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
    for sheet in &book.sheets {
        // Constant-memory sheets stream their rows to a temporary file as they are
        // written (rows are written in order), instead of holding every cell in memory
        // until the workbook is saved: a 100,000-row sheet otherwise costs hundreds of MiB.
        let ws: &mut Worksheet = out.add_worksheet_with_constant_memory()?;
        ws.set_name(&sheet.name)?;
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
        w.write_record(row.iter().map(Cell::text))
            .map_err(|e| Error::Sheet(format!("could not write the CSV file ({e})")))?;
    }
    let mut bytes = w
        .into_inner()
        .map_err(|e| Error::Sheet(format!("could not write the CSV file ({e})")))?;
    bytes.flush().ok();
    Ok(bytes)
}
