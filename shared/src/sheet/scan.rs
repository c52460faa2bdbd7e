//! The upload check: what the API needs from a file — the first sheet's header, its
//! first rows and how many rows it has — without holding the file's rows. Every sheet
//! is still read to the end and counted against the [`Limits`], so that a file a job
//! would refuse is refused at upload, while the API's memory stays bounded by the
//! preview, not by the file.

use std::collections::BTreeMap;

use super::{
    Cell, Sheet,
    limits::Limits,
    read::{RowSink, each_row},
};
use crate::{Error, Result, domain::FileFormat};

/// The first sheet, summarised.
#[derive(Clone, Debug, PartialEq)]
pub struct Scan {
    /// The header and up to the requested number of data rows.
    pub head: Sheet,
    /// Data rows (after the header), gaps included, as a job will count them.
    pub data_rows: u64,
    /// The widest row of the sheet.
    pub width: usize,
}

/// Reads the workbook within `limits` and keeps the first sheet's header and first
/// `keep` data rows.
pub fn scan(bytes: &[u8], format: FileFormat, limits: &Limits, keep: usize) -> Result<Scan> {
    let mut head = Head {
        keep: keep.saturating_add(1),
        ..Head::default()
    };
    each_row(bytes, format, limits, &mut head)?;
    let Some(name) = head.name else {
        return Err(Error::Sheet("the workbook has no worksheets".into()));
    };
    let Some((low, high)) = head.span else {
        return Err(Error::Sheet("the first worksheet is empty".into()));
    };
    if !head.any_value {
        return Err(Error::Sheet("the first worksheet is empty".into()));
    }
    let mut rows: Vec<Vec<Cell>> = Vec::with_capacity(head.rows.len());
    for (r, cells) in head.rows {
        // Rows between kept ones that hold nothing are still rows of the sheet.
        rows.resize_with((r - low) as usize, Vec::new);
        rows.push(cells);
    }
    let data_rows = u64::from(high - low);
    super::limits::rows_under_header(data_rows, rows.first().map_or(0, Vec::len), limits)?;
    Ok(Scan {
        head: Sheet {
            name,
            rows,
            first_row: low,
        },
        data_rows,
        width: head.width,
    })
}

/// Keeps the first sheet's lowest `keep` rows and counts the rest.
#[derive(Default)]
struct Head {
    keep: usize,
    sheets: usize,
    name: Option<String>,
    /// Rows by sheet row; at most `keep`, the lowest seen (an .xlsx may list rows out
    /// of order, so "first" means lowest, not earliest read).
    rows: BTreeMap<u32, Vec<Cell>>,
    span: Option<(u32, u32)>,
    width: usize,
    any_value: bool,
}

impl RowSink for Head {
    fn sheet(&mut self, name: &str) -> bool {
        self.sheets += 1;
        if self.sheets == 1 {
            self.name = Some(name.to_owned());
        }
        self.sheets == 1
    }

    fn row(&mut self, row: u32, cells: Vec<Cell>) {
        self.span = Some(match self.span {
            Some((low, high)) => (low.min(row), high.max(row)),
            None => (row, row),
        });
        self.width = self.width.max(cells.len());
        self.any_value |= cells.iter().any(|c| !c.is_blank());
        match self.rows.get_mut(&row) {
            Some(existing) => merge(existing, cells),
            None => {
                self.rows.insert(row, cells);
                if self.rows.len() > self.keep {
                    self.rows.pop_last();
                }
            }
        }
    }
}

/// A row listed twice: later values win, cell by cell.
pub(crate) fn merge(into: &mut Vec<Cell>, cells: Vec<Cell>) {
    if into.len() < cells.len() {
        into.resize(cells.len(), Cell::Empty);
    }
    for (slot, cell) in into.iter_mut().zip(cells) {
        if cell != Cell::Empty {
            *slot = cell;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scan_keeps_the_head_and_counts_the_rest() {
        let csv = "Name,Region,Maps\n".to_owned() + &"a,b,c\n".repeat(50) + "x,y,z,,w\n";
        let s = scan(csv.as_bytes(), FileFormat::Csv, &Limits::FORMAT, 10).unwrap();
        assert_eq!(s.data_rows, 51);
        assert_eq!(s.head.rows.len(), 11, "the header and ten rows");
        assert_eq!(s.width, 5, "the widest row counts, even past the head");
        assert_eq!(s.head.header()[2], Cell::Text("Maps".into()));
    }

    #[test]
    fn a_scan_refuses_what_a_read_refuses() {
        let csv = "Name,Region,Maps\n".to_owned() + &"a,b,c\n".repeat(20);
        let limits = Limits {
            max_cells: 30,
            ..Limits::FORMAT
        };
        let err = scan(csv.as_bytes(), FileFormat::Csv, &limits, 10).unwrap_err();
        assert_eq!(
            err.to_string(),
            "The workbook has 63 cells; the limit is 30."
        );
        let err = scan(b" , \n", FileFormat::Csv, &Limits::FORMAT, 10).unwrap_err();
        assert_eq!(err.to_string(), "the first worksheet is empty");
    }
}
