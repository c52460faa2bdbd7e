//! The upload preview: the header and the first rows, JSON-safe.

use serde::Serialize;

use super::Sheet;

pub const PREVIEW_ROWS: usize = 10;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Preview {
    pub columns: Vec<String>,
    /// One object per row, keyed by column; blanks are `null`.
    pub rows: Vec<serde_json::Map<String, serde_json::Value>>,
}

/// Column names are the header texts; a blank or duplicate header gets a stable
/// stand-in (`Unnamed: 3`, `Name.1`) so that every column has a distinct key.
pub fn column_names(sheet: &Sheet) -> Vec<String> {
    let width = sheet.rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut names: Vec<String> = Vec::with_capacity(width);
    for i in 0..width {
        let raw = sheet.header().get(i).map(|c| c.text()).unwrap_or_default();
        let base = if raw.trim().is_empty() {
            format!("Unnamed: {i}")
        } else {
            raw
        };
        let mut name = base.clone();
        let mut n = 1;
        while names.contains(&name) {
            name = format!("{base}.{n}");
            n += 1;
        }
        names.push(name);
    }
    names
}

pub fn preview(sheet: &Sheet) -> Preview {
    as_json(sheet, PREVIEW_ROWS)
}

/// The header and up to `limit` data rows as JSON objects keyed by column name (blanks
/// `null`, never a bare NaN).
pub fn as_json(sheet: &Sheet, limit: usize) -> Preview {
    let columns = column_names(sheet);
    let rows = sheet
        .data()
        .iter()
        .take(limit)
        .map(|row| {
            columns
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    (
                        c.clone(),
                        row.get(i).map(|cell| cell.to_json()).unwrap_or_default(),
                    )
                })
                .collect()
        })
        .collect();
    Preview { columns, rows }
}
