//! The optional details columns of the output sheet — `Source`, `Precision`, `Check` —
//! written when a run asks for them (`?details=true`, the page's checkbox, `--details`),
//! after the output columns ([`DetailColumns`] says where). Without the option the
//! sheet is exactly what it was before these columns existed.
//!
//! - `Source`: how the point was found (`place pin`, `short link → map centre`, …).
//! - `Precision`: metres, a number (two significant figures), so that a sheet can be
//!   sorted or filtered by it; the text `approximate` for a map's viewport centre,
//!   whose digits say nothing about where the place is; blank when the form implies
//!   nothing (a Places answer) and on failed and skipped rows.
//! - `Check`: the region check's warning, blank when the point fits its region.

use maplink::{
    domain::RowOutcome,
    sheet::{Cell, DetailColumns, Sheet},
};

use crate::jobs::rows::set;

/// What the `Precision` column shows for a map centre.
pub const APPROXIMATE: &str = "approximate";

/// Writes the details of `rows` (the outcomes of `sheet`'s data rows, in order).
pub fn write(sheet: &mut Sheet, rows: &[RowOutcome]) {
    let cols = DetailColumns::for_header(sheet.header());
    if sheet.rows.is_empty() {
        sheet.rows.push(Vec::new());
    }
    for (col, name) in &cols.appended {
        set(&mut sheet.rows[0], *col, Cell::Text((*name).to_owned()));
    }
    let text = |t: &Option<String>| t.clone().map_or(Cell::Empty, Cell::Text);
    for (row, outcome) in sheet.rows.iter_mut().skip(1).zip(rows) {
        // Every cell is written, blanks included: a reused column from an earlier run
        // must not keep that run's values.
        set(row, cols.source, text(&outcome.source));
        set(row, cols.precision, precision(outcome));
        set(row, cols.check, text(&outcome.check));
    }
}

/// The `Precision` cell of a row.
pub fn precision(outcome: &RowOutcome) -> Cell {
    match (outcome.precision_m, outcome.approximate) {
        (Some(metres), _) => Cell::Number(metres),
        (None, true) => Cell::Text(APPROXIMATE.to_owned()),
        (None, false) => Cell::Empty,
    }
}
