//! The upload preview and inline results: the header and the first rows, JSON-safe and
//! bounded in size whatever the sheet holds.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::{Cell, Sheet};

pub const PREVIEW_ROWS: usize = 10;
/// Longest column name shown (longer headers are cut, then made distinct).
pub const MAX_NAME_CHARS: usize = 200;
/// Longest cell text shown inline; the files keep the whole text.
pub const MAX_VALUE_CHARS: usize = 2_000;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Preview {
    pub columns: Vec<String>,
    /// One object per row, keyed by column; blanks are `null`.
    pub rows: Vec<serde_json::Map<String, serde_json::Value>>,
}

/// `s` cut to its first `max` characters, then `…`, when it is longer.
pub fn shorten(s: &str, max: usize) -> String {
    crate::text::truncate(s, max + 1)
}

/// Column names for a sheet `width` columns wide: the header texts (cut to
/// [`MAX_NAME_CHARS`]); a blank or duplicate header gets a stable stand-in
/// (`Unnamed: 3`, `Name.1`) so that every column has a distinct key.
///
/// Linear in the number of columns: each base name remembers the next suffix to try,
/// so 4,000 copies of one header cost 4,000 lookups, not 8 million.
pub fn column_names(header: &[Cell], width: usize) -> Vec<String> {
    let width = width.max(header.len());
    let mut names: Vec<String> = Vec::with_capacity(width);
    let mut taken: HashSet<String> = HashSet::with_capacity(width);
    let mut next_suffix: HashMap<String, usize> = HashMap::new();
    for i in 0..width {
        let raw = header.get(i).map(Cell::text).unwrap_or_default();
        let base = if raw.trim().is_empty() {
            format!("Unnamed: {i}")
        } else {
            shorten(&raw, MAX_NAME_CHARS)
        };
        let mut name = base.clone();
        if taken.contains(&name) {
            let n = next_suffix.entry(base.clone()).or_insert(1);
            loop {
                name = format!("{base}.{n}");
                *n += 1;
                if !taken.contains(&name) {
                    break;
                }
            }
        }
        taken.insert(name.clone());
        names.push(name);
    }
    names
}

/// The upload preview: the header and the first [`PREVIEW_ROWS`] rows.
pub fn preview(sheet: &Sheet, width: usize) -> Preview {
    as_json(sheet, width, PREVIEW_ROWS, usize::MAX)
}

/// The header and up to `limit` data rows as JSON objects keyed by column name (blanks
/// `null`, never a bare NaN, long texts cut), stopping before the rows' text passes
/// about `max_bytes`.
pub fn as_json(sheet: &Sheet, width: usize, limit: usize, max_bytes: usize) -> Preview {
    let columns = column_names(sheet.header(), width);
    let mut bytes = 0usize;
    let mut rows = Vec::new();
    for row in sheet.data().iter().take(limit) {
        let object: serde_json::Map<String, serde_json::Value> = columns
            .iter()
            .enumerate()
            .map(|(i, c)| (c.clone(), row.get(i).map(json_value).unwrap_or_default()))
            .collect();
        // A rough size (names, values, quotes and separators) is enough for a bound.
        bytes = bytes.saturating_add(
            object
                .iter()
                .map(|(k, v)| k.len() + 6 + v.as_str().map_or(8, str::len))
                .sum(),
        );
        if bytes > max_bytes && !rows.is_empty() {
            break;
        }
        rows.push(object);
    }
    Preview { columns, rows }
}

fn json_value(cell: &Cell) -> serde_json::Value {
    match cell.to_json() {
        serde_json::Value::String(s) if s.chars().nth(MAX_VALUE_CHARS).is_some() => {
            serde_json::Value::String(shorten(&s, MAX_VALUE_CHARS))
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(names: &[&str]) -> Vec<Cell> {
        names.iter().map(|n| Cell::Text((*n).to_owned())).collect()
    }

    #[test]
    fn blank_and_duplicate_headers_get_distinct_names() {
        let h = header(&["Name", "", "Name", "Name.1", "Name"]);
        assert_eq!(
            column_names(&h, 6),
            [
                "Name",
                "Unnamed: 1",
                "Name.1",
                "Name.1.1",
                "Name.2",
                "Unnamed: 5"
            ]
        );
    }

    #[test]
    fn thousands_of_duplicate_headers_take_linear_time() {
        // Quadratic de-duplication took ~20 s for 4,000 copies; this is 50,000.
        let h = header(&vec!["x"; 50_000]);
        let started = std::time::Instant::now();
        let names = column_names(&h, h.len());
        assert_eq!(names.len(), 50_000);
        assert_eq!(names[49_999], "x.49999");
        assert_eq!(
            names.iter().collect::<HashSet<_>>().len(),
            50_000,
            "every name is distinct"
        );
        // Not a benchmark: a generous bound that only a quadratic algorithm misses.
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn long_names_and_values_are_cut() {
        let long = "y".repeat(5_000);
        let sheet = Sheet {
            name: "S".into(),
            rows: vec![header(&[&long]), vec![Cell::Text(long.clone())]],
            first_row: 0,
        };
        let p = preview(&sheet, 1);
        assert_eq!(p.columns[0].chars().count(), MAX_NAME_CHARS + 1);
        let value = p.rows[0][&p.columns[0]].as_str().unwrap();
        assert_eq!(value.chars().count(), MAX_VALUE_CHARS + 1);
        assert!(value.ends_with('…'));
    }

    #[test]
    fn inline_rows_stop_at_the_byte_budget() {
        let mut rows = vec![header(&["Maps"])];
        rows.extend((0..100).map(|_| vec![Cell::Text("z".repeat(1_000))]));
        let sheet = Sheet {
            name: "S".into(),
            rows,
            first_row: 0,
        };
        let p = as_json(&sheet, 1, 100, 10_000);
        assert!(p.rows.len() < 11 && !p.rows.is_empty(), "{}", p.rows.len());
    }
}
