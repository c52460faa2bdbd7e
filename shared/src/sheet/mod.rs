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
mod write;
mod zip_guard;

pub use cell::Cell;
pub use columns::{Columns, OutputColumns, find_columns};
pub use limits::{Limits, XLSX_MAX_COLUMNS, XLSX_MAX_ROWS, mib, thousands};
pub use preview::{PREVIEW_ROWS, Preview, as_json, column_names, preview, shorten};
pub use read::read;
pub use scan::{Scan, scan};
pub use write::write;

use crate::domain::FileFormat;

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
    /// A workbook of the first sheet's header and the data rows `keep` selects (by
    /// data row index), under the same sheet name; other sheets are left out.
    pub fn only_rows(&self, keep: impl Fn(usize) -> bool) -> Workbook {
        let first = self.first();
        let mut rows = Vec::with_capacity(first.rows.len());
        rows.extend(first.rows.first().cloned());
        rows.extend(
            first
                .data()
                .iter()
                .enumerate()
                .filter(|(i, _)| keep(*i))
                .map(|(_, r)| r.clone()),
        );
        Workbook {
            format: self.format,
            sheets: vec![Sheet {
                name: first.name.clone(),
                rows,
                first_row: first.first_row,
            }],
        }
    }

    pub fn first(&self) -> &Sheet {
        &self.sheets[0]
    }

    pub fn first_mut(&mut self) -> &mut Sheet {
        &mut self.sheets[0]
    }
}
