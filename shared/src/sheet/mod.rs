//! Spreadsheets in and out: read an .xlsx or .csv into a [`Workbook`], find the map /
//! Name / Region columns, build the upload preview, and write the filled-in output.
//!
//! Only the first worksheet is processed; the others are carried through unchanged.
//! Every read is bounded by [`Limits`] (rows, columns, cells, text), checked while the
//! file is read.

mod cell;
mod columns;
mod limits;
mod preview;
mod read;
mod scan;
mod sheet_name;
mod sheet_parts;
mod write;
mod zip_guard;

pub use cell::Cell;
pub use columns::{Columns, DETAIL_COLUMN_NAMES, DetailColumns, OutputColumns, find_columns};
pub use limits::{Limits, XLSX_MAX_COLUMNS, XLSX_MAX_ROWS, mib, thousands};
pub use preview::{PREVIEW_ROWS, Preview, as_json, column_names, preview, shorten};
pub use read::read;
pub use scan::{Scan, scan};
pub use write::write;

use crate::{Result, domain::FileFormat};

/// A worksheet as a grid of cells; `rows[0]` is the header row.
#[derive(Clone, Debug, PartialEq)]
pub struct Sheet {
    pub name: String,
    pub rows: Vec<Vec<Cell>>,
    /// The sheet row (0-based) the header sits on, so the output keeps positions.
    pub first_row: u32,
}

impl Sheet {
    pub fn header(&self) -> &[Cell] {
        self.rows.first().map(Vec::as_slice).unwrap_or_default()
    }

    /// The data rows (every row after the header).
    pub fn data(&self) -> &[Vec<Cell>] {
        self.rows.get(1..).unwrap_or_default()
    }

    pub fn data_len(&self) -> usize {
        self.rows.len().saturating_sub(1)
    }

    /// The cell at (data row, column), `Empty` past the end of a short row.
    pub fn data_cell(&self, row: usize, col: usize) -> &Cell {
        self.rows
            .get(row + 1)
            .and_then(|r| r.get(col))
            .unwrap_or(&Cell::Empty)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Workbook {
    pub format: FileFormat,
    /// The first sheet is the one processed.
    pub sheets: Vec<Sheet>,
}

impl Workbook {
    /// Writes a workbook of the first sheet's header and the data rows `keep` selects
    /// (by data row index), under the same sheet name; other sheets are left out.
    ///
    /// The selected rows are moved out of `self` for the write and moved back after
    /// it, not copied: the failed rows of a million-row sheet can be all of them, and
    /// a copy would double the job's memory at its peak.
    pub fn write_only_rows(&mut self, keep: impl Fn(usize) -> bool) -> Result<Vec<u8>> {
        let format = self.format;
        let first = self.first_mut();
        let mut lent = Vec::new();
        let mut rows = Vec::new();
        rows.extend(first.rows.first().cloned());
        for (i, row) in first.rows.iter_mut().skip(1).enumerate() {
            if keep(i) {
                lent.push(i + 1);
                rows.push(std::mem::take(row));
            }
        }
        let mut subset = Workbook {
            format,
            sheets: vec![Sheet {
                name: first.name.clone(),
                rows,
                first_row: first.first_row,
            }],
        };
        let written = write(&subset);
        let returned = std::mem::take(&mut subset.sheets[0].rows);
        for (at, row) in lent.into_iter().zip(returned.into_iter().skip(1)) {
            self.first_mut().rows[at] = row;
        }
        written
    }

    pub fn first(&self) -> &Sheet {
        &self.sheets[0]
    }

    pub fn first_mut(&mut self) -> &mut Sheet {
        &mut self.sheets[0]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subset_is_written_and_the_book_is_left_whole() {
        let text = |s: &str| Cell::Text(s.to_owned());
        let mut book = Workbook {
            format: FileFormat::Csv,
            sheets: vec![Sheet {
                name: "S".into(),
                rows: vec![
                    vec![text("Name")],
                    vec![text("a")],
                    vec![text("b")],
                    vec![text("c")],
                ],
                first_row: 0,
            }],
        };
        let before = book.clone();
        let subset = book.write_only_rows(|i| i != 1).unwrap();
        assert_eq!(String::from_utf8(subset).unwrap(), "Name\na\nc\n");
        assert_eq!(book, before);
    }
}
