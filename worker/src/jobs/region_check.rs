//! The region plausibility check over a run's rows ([`maplink::geo`]): every row with
//! a point is checked against each of its sheet's region columns (`Region`,
//! `Country`, `Province`, `State`), and a point outside the region its row names gets
//! the warning in the row's `check`. The row stays a success: the coordinates are what
//! the link says, and only a person can tell whether the link or the region is wrong.
//!
//! The index is built once per run from every region cell of every row, so that a name
//! that can mean several areas is read in the sheet's own country. Region names the
//! data does not know are returned once for the run, not flagged on each row.

use maplink::{
    domain::RowOutcome,
    geo::{RegionIndex, region_columns},
    links::Coordinates,
    sheet::{Cell, Sheet},
};

/// Checks `rows` (the outcomes of `sheet`'s data rows, in order) and sets the `check`
/// of each row whose point is outside its region; with several region columns, the
/// warnings are joined with `; `. Returns the region names the check did not know.
pub fn check_rows(sheet: &Sheet, rows: &mut [RowOutcome]) -> Vec<String> {
    let header: Vec<String> = sheet.header().iter().map(Cell::text).collect();
    let columns = region_columns(&header);
    if columns.is_empty() {
        return Vec::new();
    }
    let cells: Vec<Vec<String>> = (0..sheet.data_len())
        .map(|i| {
            columns
                .iter()
                .map(|&c| sheet.data_cell(i, c).text())
                .collect()
        })
        .collect();
    let index = RegionIndex::new(cells.iter().flatten().map(String::as_str));
    for (outcome, regions) in rows.iter_mut().zip(&cells) {
        let (Some(lat), Some(lng)) = (outcome.lat, outcome.lng) else {
            continue;
        };
        let Ok(point) = Coordinates::new(lat, lng) else {
            continue;
        };
        let warnings: Vec<String> = regions
            .iter()
            .filter_map(|region| index.check(region, point).message())
            .collect();
        if !warnings.is_empty() {
            outcome.check = Some(warnings.join("; "));
        }
    }
    index.unknown_regions()
}

#[cfg(test)]
mod tests {
    use maplink::domain::RowStatus;

    use super::*;

    fn text(s: &str) -> Cell {
        Cell::Text(s.to_owned())
    }

    fn outcome(row: u64, point: Option<(f64, f64)>) -> RowOutcome {
        RowOutcome {
            row,
            name: format!("row {row}"),
            status: if point.is_some() {
                RowStatus::Success
            } else {
                RowStatus::Failed
            },
            reason: None,
            lng: point.map(|p| p.1),
            lat: point.map(|p| p.0),
            attempts: 1,
            method: None,
            link: String::new(),
            code: None,
            source: None,
            precision_m: None,
            approximate: false,
            check: None,
        }
    }

    #[test]
    fn points_outside_their_region_are_flagged_and_unknown_names_listed_once() {
        let sheet = Sheet {
            name: "Stores".into(),
            first_row: 0,
            rows: vec![
                vec![text("Name"), text("Region"), text("Maps")],
                vec![text("Sandton"), text("Gauteng"), text("x")],
                vec![text("Cape Town"), text("Gauteng"), text("x")],
                vec![text("A"), text("Atlantis"), text("x")],
                vec![text("B"), text("atlantis "), text("x")],
                vec![text("C"), text("Atlantis"), text("x")],
                vec![text("D"), text("Gauteng"), text("x")],
            ],
        };
        let mut rows = vec![
            outcome(1, Some((-26.1076, 28.0567))),
            outcome(2, Some((-33.9249, 18.4241))),
            outcome(3, Some((-26.1, 28.0))),
            outcome(4, Some((-26.1, 28.0))),
            outcome(5, None),
            outcome(6, None),
        ];
        let unknown = check_rows(&sheet, &mut rows);
        assert_eq!(unknown, ["Atlantis"]);
        assert_eq!(rows[0].check, None);
        assert_eq!(
            rows[1].check.as_deref(),
            Some("point is outside Gauteng (ZA-GP): it falls in Western Cape (ZA-WC)")
        );
        assert!(rows[2..].iter().all(|r| r.check.is_none()));
    }

    #[test]
    fn a_sheet_without_region_columns_is_not_checked() {
        let sheet = Sheet {
            name: "S".into(),
            first_row: 0,
            rows: vec![vec![text("Maps")], vec![text("x")]],
        };
        let mut rows = vec![outcome(1, Some((0.0, 0.0)))];
        assert!(check_rows(&sheet, &mut rows).is_empty());
        assert_eq!(rows[0].check, None);
    }
}
