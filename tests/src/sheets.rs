//! Sheet fixtures: the original app's worked example, generated workbooks, and
//! readers for asserting on downloaded output.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use rust_xlsxwriter::Workbook;

pub const SEED_EXAMPLE_CSV: &[u8] = include_bytes!("../fixtures/seed_example.csv");
pub const SEED_EXPECTED_CSV: &[u8] = include_bytes!("../fixtures/seed_example.expected.csv");

/// Rows of a CSV (header included), all cells as text.
pub fn csv_rows(bytes: &[u8]) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(bytes)
        .records()
        .map(|r| r.expect("fixture csv").iter().map(str::to_owned).collect())
        .collect()
}

/// An .xlsx with one sheet named `sheet` holding `rows` as text (empty text = empty cell).
pub fn xlsx_named(sheet: &str, rows: &[Vec<String>]) -> Vec<u8> {
    let mut book = Workbook::new();
    let ws = book.add_worksheet();
    ws.set_name(sheet).expect("sheet name");
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            if !cell.is_empty() {
                ws.write_string(r as u32, c as u16, cell)
                    .expect("write cell");
            }
        }
    }
    book.save_to_buffer().expect("save xlsx")
}

pub fn xlsx(rows: &[Vec<&str>]) -> Vec<u8> {
    let owned: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| (*c).to_owned()).collect())
        .collect();
    xlsx_named("Sheet1", &owned)
}

/// The worked example as the original app received it: an .xlsx of the CSV.
pub fn seed_example_xlsx() -> Vec<u8> {
    xlsx_named("Sites", &csv_rows(SEED_EXAMPLE_CSV))
}

/// One row of `seed_example.expected.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct Expected {
    pub row: usize,
    pub status: String,
    pub lng: Option<f64>,
    pub lat: Option<f64>,
}

pub fn seed_expected() -> Vec<Expected> {
    csv_rows(SEED_EXPECTED_CSV)
        .into_iter()
        .skip(1)
        .map(|r| Expected {
            row: r[0].parse().expect("row"),
            status: r[1].clone(),
            lng: r[2].parse().ok(),
            lat: r[3].parse().ok(),
        })
        .collect()
}

/// The worked example's located rows: (row, lng, lat).
pub fn seed_expected_points() -> Vec<(u64, f64, f64)> {
    seed_expected()
        .into_iter()
        .filter_map(|Expected { row, lng, lat, .. }| Some((row as u64, lng?, lat?)))
        .collect()
}

/// How `points` (row, lng, lat) differ from `seed_expected_points()` — count, row
/// order, or a coordinate beyond the sheet's last digit — if they do.
pub fn seed_points_mismatch(format: &str, points: &[(u64, f64, f64)]) -> Option<String> {
    let expected = seed_expected_points();
    assert_eq!(expected.len(), 26, "the worked example's fixture");
    if points.len() != expected.len() {
        return Some(format!(
            "{format}: {} points, want one per located row ({})",
            points.len(),
            expected.len()
        ));
    }
    points.iter().zip(&expected).find_map(|(got, want)| {
        if got.0 != want.0 {
            Some(format!(
                "{format}: row {} where row {} belongs (rows in sheet order)",
                got.0, want.0
            ))
        } else if (got.1 - want.1).abs() >= 1e-9 || (got.2 - want.2).abs() >= 1e-9 {
            Some(format!(
                "{format} row {}: got ({}, {}), want ({}, {})",
                got.0, got.1, got.2, want.1, want.2
            ))
        } else {
            None
        }
    })
}

/// `points` (row, lng, lat) equal `seed_expected_points()`, to the last digit the
/// sheet has.
pub fn assert_seed_points(format: &str, points: &[(u64, f64, f64)]) {
    if let Some(mismatch) = seed_points_mismatch(format, points) {
        panic!("{mismatch}");
    }
}

/// Every sheet of a workbook: (name, rows of cells).
pub fn read_xlsx(bytes: &[u8]) -> Vec<(String, Vec<Vec<Data>>)> {
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).expect("output is a valid xlsx");
    book.sheet_names()
        .into_iter()
        .map(|name| {
            let range = book.worksheet_range(&name).expect("sheet");
            let rows = range.rows().map(|r| r.to_vec()).collect();
            (name, rows)
        })
        .collect()
}
