//! How much one upload may make the service hold: rows, columns, cells and text.
//!
//! Every limit is checked *while* the file is read, row by row, before the row is
//! kept: a sheet over a limit costs no more memory than the rows read before the limit
//! was reached. After a limit is passed the reader keeps counting (without keeping
//! anything) so that the refusal can name the real size: `The sheet has 8,300,000
//! rows; the limit is 1,048,576.` Counting is bounded by the file itself (its size,
//! and for an .xlsx the unpacked-size check that runs first).
//!
//! What is counted:
//! - **rows** of one sheet, from its first row holding a value to its last, header
//!   included, gaps included (they are kept as empty rows);
//! - **columns**: a row is as wide as its last value, so one value far to the right
//!   costs the whole width — that is what the service holds, so that is what is counted;
//! - **cells**: the widths of all rows of all sheets added up;
//! - **text**: the bytes of text in all cells. A shared string in an .xlsx is stored
//!   once in the file but held once per cell that uses it; without this count a 1 MiB
//!   workbook can ask for gigabytes;
//! - **the first sheet under its header**, once it is read (`rows_under_header`):
//!   the job writes its results (LONG, LATTs, Comments) on every data row, after the
//!   header's last column unless the header has them, so every data row is then held
//!   at least as wide as the header. Short rows under a wide header — 20,000 one-letter
//!   rows under 1,000 column names, a 45 KB CSV — would otherwise be read as 20,000
//!   cells and held by the job as 20 million (found by fuzzing: 675 MiB for that file).

use crate::{Error, Result};

/// The most rows an .xlsx sheet can have (`A1048576`).
pub const XLSX_MAX_ROWS: u32 = 1_048_576;
/// The most columns an .xlsx sheet can have (`XFD`).
pub const XLSX_MAX_COLUMNS: u32 = 16_384;

/// The limits one workbook must stay within.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Rows of one sheet, header included.
    pub max_rows: u64,
    /// Columns of one sheet.
    pub max_columns: u64,
    /// Cells of the whole workbook (each row counted as wide as its last value).
    pub max_cells: u64,
    /// Unpacked bytes of an .xlsx, and bytes of text held for any workbook.
    pub max_unpacked_bytes: u64,
}

impl Limits {
    /// Limits that only the formats themselves impose (for tools and tests).
    pub const FORMAT: Limits = Limits {
        max_rows: XLSX_MAX_ROWS as u64,
        max_columns: XLSX_MAX_COLUMNS as u64,
        max_cells: u64::MAX,
        max_unpacked_bytes: u64::MAX,
    };
}

/// A limit that was passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Exceeded {
    Rows,
    Columns,
    Cells,
    Text,
}

/// The first limit passed, on which sheet, and how big that sheet turned out to be.
#[derive(Debug)]
struct Passed {
    what: Exceeded,
    sheet: String,
    /// Whether the sheet that passed it is still being read (its size still grows).
    current: bool,
    rows: u64,
    widest: u64,
}

/// The running count of what a workbook asks for, checked against [`Limits`].
#[derive(Debug)]
pub(crate) struct Budget {
    limits: Limits,
    sheet: String,
    /// Rows of the current sheet: the lowest and highest row index seen.
    span: Option<(u32, u32)>,
    /// The widest row of the current sheet.
    widest: u64,
    cells: u64,
    text: u64,
    /// From the first limit passed on, rows are counted, not kept.
    passed: Option<Passed>,
}

impl Budget {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            sheet: String::new(),
            span: None,
            widest: 0,
            cells: 0,
            text: 0,
            passed: None,
        }
    }

    /// A new sheet starts: rows and columns are per sheet, cells and text are not.
    pub fn next_sheet(&mut self, name: &str) {
        self.span = None;
        self.widest = 0;
        self.sheet = name.to_owned();
        if let Some(p) = &mut self.passed {
            p.current = false;
        }
    }

    /// Counts a row at sheet row `row` that is `width` cells wide and holds `text`
    /// bytes of text. `false` once any limit is passed: the caller must not keep it.
    pub fn row(&mut self, row: u32, width: u64, text: u64) -> bool {
        let (low, high) = match self.span {
            Some((low, high)) => (low.min(row), high.max(row)),
            None => (row, row),
        };
        self.span = Some((low, high));
        let rows = u64::from(high - low) + 1;
        self.widest = self.widest.max(width);
        self.cells = self.cells.saturating_add(width);
        self.text = self.text.saturating_add(text);
        match &mut self.passed {
            Some(p) => {
                if p.current {
                    p.rows = rows;
                    p.widest = self.widest;
                }
                false
            }
            None => {
                let l = &self.limits;
                let what = if rows > l.max_rows {
                    Exceeded::Rows
                } else if width > l.max_columns {
                    Exceeded::Columns
                } else if self.cells > l.max_cells {
                    Exceeded::Cells
                } else if self.text > l.max_unpacked_bytes {
                    Exceeded::Text
                } else {
                    return true;
                };
                self.passed = Some(Passed {
                    what,
                    sheet: self.sheet.clone(),
                    current: true,
                    rows,
                    widest: self.widest,
                });
                false
            }
        }
    }

    /// Checks a cell position against what the .xlsx format allows, before anything
    /// is sized by it (a reference like `ZZZZZZZ2` or `A4000000000` is not a real
    /// cell, and sizing a row or a sheet by it would ask for terabytes).
    pub fn xlsx_position(row: u32, col: u32) -> Result<()> {
        if row >= XLSX_MAX_ROWS || col >= XLSX_MAX_COLUMNS {
            return Err(Error::TooLarge(format!(
                "The sheet refers to a cell outside what an .xlsx sheet can hold (row {}, column {}); the format allows {} rows and {} columns.",
                thousands(u64::from(row) + 1),
                thousands(u64::from(col) + 1),
                thousands(u64::from(XLSX_MAX_ROWS)),
                thousands(u64::from(XLSX_MAX_COLUMNS)),
            )));
        }
        Ok(())
    }

    pub fn max_columns(&self) -> u64 {
        self.limits.max_columns
    }

    /// Whether every row so far was kept.
    pub fn within(&self) -> bool {
        self.passed.is_none()
    }

    /// Ends the count: the refusal naming the first limit passed and the real size.
    pub fn finish(&self) -> Result<()> {
        let Some(p) = &self.passed else {
            return Ok(());
        };
        let l = &self.limits;
        let on = if p.sheet.is_empty() {
            String::new()
        } else {
            format!(" \"{}\"", super::preview::shorten(&p.sheet, 40))
        };
        let message = match p.what {
            Exceeded::Rows => format!(
                "The sheet{on} has {} rows; the limit is {}.",
                thousands(p.rows),
                thousands(l.max_rows)
            ),
            Exceeded::Columns => format!(
                "The sheet{on} has {} columns; the limit is {}.",
                thousands(p.widest),
                thousands(l.max_columns)
            ),
            Exceeded::Cells => format!(
                "The workbook has {} cells; the limit is {}.",
                thousands(self.cells),
                thousands(l.max_cells)
            ),
            Exceeded::Text => format!(
                "The workbook holds {} of text; the limit is {}.",
                mib(self.text),
                mib(l.max_unpacked_bytes)
            ),
        };
        Err(Error::TooLarge(message))
    }
}

/// Checks the first sheet as the job will hold it: `data_rows` rows, each at least as
/// wide as the header, must stay within `max_cells`. (What the job holds beyond that is
/// the rows' own cells, already counted, and three result cells a row.)
pub(crate) fn rows_under_header(
    data_rows: u64,
    header_width: usize,
    limits: &Limits,
) -> Result<()> {
    let cells = data_rows.saturating_mul(header_width as u64);
    if cells > limits.max_cells {
        return Err(Error::TooLarge(format!(
            "The sheet has {} rows under a header {} columns wide: {} cells once the results are written; the limit is {}.",
            thousands(data_rows),
            thousands(header_width as u64),
            thousands(cells),
            thousands(limits.max_cells)
        )));
    }
    Ok(())
}

/// `8300000` → `8,300,000`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// Bytes as whole MiB, rounded up (`1 MiB` for anything up to one).
pub fn mib(n: u64) -> String {
    format!("{} MiB", thousands(n.div_ceil(1024 * 1024)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(rows: u64, cols: u64, cells: u64, text: u64) -> Limits {
        Limits {
            max_rows: rows,
            max_columns: cols,
            max_cells: cells,
            max_unpacked_bytes: text,
        }
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(8_300_000), "8,300,000");
        assert_eq!(thousands(1_048_576), "1,048,576");
    }

    #[test]
    fn rows_are_counted_from_the_first_to_the_last_row_of_a_sheet() {
        let mut b = Budget::new(limits(3, 10, 100, 100));
        b.next_sheet("");
        assert!(b.row(5, 1, 0));
        assert!(b.row(7, 1, 0), "rows 5..=7 are three rows");
        assert!(!b.row(8, 1, 0), "a fourth row passes the limit");
        assert!(!b.row(9, 1, 0), "nothing is kept after the limit");
        assert_eq!(
            b.finish().unwrap_err().to_string(),
            "The sheet has 5 rows; the limit is 3."
        );
    }

    #[test]
    fn each_sheet_has_its_own_rows_but_cells_add_up() {
        let mut b = Budget::new(limits(2, 10, 5, 100));
        b.next_sheet("One");
        assert!(b.row(0, 2, 0) && b.row(1, 2, 0));
        b.next_sheet("Two");
        assert!(b.row(0, 1, 0), "rows start again on a new sheet");
        assert!(
            !b.row(1, 1, 0),
            "the sixth cell of the workbook passes the limit"
        );
        assert_eq!(
            b.finish().unwrap_err().to_string(),
            "The workbook has 6 cells; the limit is 5."
        );
    }

    #[test]
    fn a_wide_row_is_refused_by_its_width() {
        let mut b = Budget::new(limits(10, 1_024, u64::MAX, u64::MAX));
        b.next_sheet("Data");
        assert!(!b.row(0, 16_384, 0));
        assert_eq!(
            b.finish().unwrap_err().to_string(),
            "The sheet \"Data\" has 16,384 columns; the limit is 1,024."
        );
    }

    #[test]
    fn text_is_counted_per_cell() {
        let mut b = Budget::new(limits(10, 10, 100, 3 * 1024 * 1024));
        b.next_sheet("");
        assert!(b.row(0, 1, 2 * 1024 * 1024));
        assert!(!b.row(1, 1, 2 * 1024 * 1024));
        assert_eq!(
            b.finish().unwrap_err().to_string(),
            "The workbook holds 4 MiB of text; the limit is 3 MiB."
        );
    }

    #[test]
    fn short_rows_under_a_wide_header_count_as_wide_as_the_header() {
        let l = limits(u64::MAX, 2_000, 5_000_000, u64::MAX);
        assert!(rows_under_header(4_985, 1_003, &l).is_ok());
        assert_eq!(
            rows_under_header(5_000, 1_003, &l).unwrap_err().to_string(),
            "The sheet has 5,000 rows under a header 1,003 columns wide: 5,015,000 cells once the results are written; the limit is 5,000,000."
        );
        assert!(
            rows_under_header(1_048_575, 3, &l).is_ok(),
            "the largest sheet of three columns still fits the default limit"
        );
    }

    #[test]
    fn positions_outside_the_xlsx_grid_are_refused() {
        assert!(Budget::xlsx_position(XLSX_MAX_ROWS - 1, XLSX_MAX_COLUMNS - 1).is_ok());
        let err = Budget::xlsx_position(3_999_999_999, 0).unwrap_err();
        assert!(err.to_string().contains("row 4,000,000,000"), "{err}");
        assert!(Budget::xlsx_position(1, XLSX_MAX_COLUMNS).is_err());
    }
}
