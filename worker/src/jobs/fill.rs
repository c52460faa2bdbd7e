//! Filling a sheet: the per-row part of the coordinates job, pure and synchronous.
//!
//! For every data row, in order: a blank link is skipped, a parsed link writes
//! longitude and latitude and `Success`, anything else writes the reason. Counts always
//! add up to the number of data rows, and no cell outside the three output columns is
//! touched.

use std::{sync::atomic::Ordering, thread, time::Duration};

use maplink::{
    domain::{Counts, RowOutcome, RowStatus},
    links,
    sheet::{Cell, Columns, OutputColumns, Sheet},
};

use crate::heartbeat::RunSignals;

pub const SKIPPED_COMMENT: &str = "Skipped: No map link provided";
pub const SUCCESS_COMMENT: &str = "Success";

#[derive(Debug, PartialEq)]
pub struct Filled {
    pub counts: Counts,
    pub rows: Vec<RowOutcome>,
}

/// The run was cancelled (session deleted or superseded) part-way.
#[derive(Debug, PartialEq, Eq)]
pub struct Cancelled;

fn failure_comment(attempts: u32, reason: &str) -> String {
    let unit = if attempts == 1 { "attempt" } else { "attempts" };
    format!("Failed after {attempts} {unit}: {reason}")
}

fn set(row: &mut Vec<Cell>, col: usize, value: Cell) {
    if row.len() <= col {
        row.resize(col + 1, Cell::Empty);
    }
    row[col] = value;
}

/// Fills the output columns of `sheet` in place.
pub fn fill(
    sheet: &mut Sheet,
    cols: &Columns,
    signals: &RunSignals,
    row_delay: Duration,
) -> Result<Filled, Cancelled> {
    let out = OutputColumns::for_header(sheet.header());
    if sheet.rows.is_empty() {
        sheet.rows.push(Vec::new());
    }
    for (col, name) in &out.appended {
        set(&mut sheet.rows[0], *col, Cell::Text((*name).to_owned()));
    }
    let mut counts = Counts::default();
    let mut log = Vec::with_capacity(sheet.data_len());
    for (i, row) in sheet.rows.iter_mut().enumerate().skip(1) {
        if signals.cancelled.load(Ordering::Relaxed) {
            return Err(Cancelled);
        }
        let cell = |c: usize| row.get(c).cloned().unwrap_or(Cell::Empty);
        let link = cell(cols.map);
        let name = cell(cols.name).text();
        let link_text = link.text();
        let mut outcome = RowOutcome {
            row: i as u64,
            name,
            status: RowStatus::Skipped,
            comment: SKIPPED_COMMENT.to_owned(),
            lng: None,
            lat: None,
            attempts: 0,
            method: None,
            link: RowOutcome::shorten_link(link_text.trim()),
        };
        if link.is_blank() {
            counts.skipped += 1;
        } else {
            outcome.attempts = 1;
            match links::parse(&link_text) {
                Ok(parsed) => {
                    let c = parsed.coordinates;
                    set(row, out.lng, Cell::Number(c.lng));
                    set(row, out.lat, Cell::Number(c.lat));
                    outcome.status = RowStatus::Success;
                    outcome.comment = SUCCESS_COMMENT.to_owned();
                    outcome.lng = Some(c.lng);
                    outcome.lat = Some(c.lat);
                    outcome.method = Some(format!("parse:{}", parsed.pattern.as_str()));
                    counts.successful += 1;
                }
                Err(reason) => {
                    outcome.status = RowStatus::Failed;
                    outcome.comment = failure_comment(1, &reason.to_string());
                    counts.failed += 1;
                }
            }
        }
        set(row, out.comments, Cell::Text(outcome.comment.clone()));
        log.push(outcome);
        signals.progress.fetch_add(1, Ordering::Relaxed);
        if !row_delay.is_zero() {
            thread::sleep(row_delay);
        }
    }
    Ok(Filled { counts, rows: log })
}

#[cfg(test)]
mod tests {
    use maplink::sheet::find_columns;

    use super::*;

    fn text(s: &str) -> Cell {
        Cell::Text(s.to_owned())
    }

    #[test]
    fn fills_each_kind_of_row_and_leaves_other_cells_alone() {
        let mut sheet = Sheet {
            name: "Stores".into(),
            first_row: 0,
            rows: vec![
                vec![
                    text("Name"),
                    text("Region"),
                    text("Maps link"),
                    text("Extra"),
                ],
                vec![
                    text("A"),
                    text("R"),
                    text("https://maps.google.com/?q=-26.1,28.0"),
                    Cell::Number(7.0),
                ],
                vec![text("B"), text("R"), text("   ")],
                vec![
                    text("C"),
                    text("R"),
                    text("not a valid url"),
                    Cell::Bool(true),
                ],
                vec![
                    text("D"),
                    text("R"),
                    text("https://maps.google.com/?q=100,0"),
                ],
            ],
        };
        let cols = find_columns(sheet.header()).unwrap();
        let signals = RunSignals::default();
        let filled = fill(&mut sheet, &cols, &signals, Duration::ZERO).unwrap();
        assert_eq!(
            filled.counts,
            Counts {
                successful: 1,
                failed: 2,
                skipped: 1
            }
        );
        assert_eq!(signals.progress.load(Ordering::Relaxed), 4);
        assert_eq!(
            &sheet.rows[0][4..],
            &[text("LONG"), text("LATTs"), text("Comments")]
        );
        assert_eq!(
            &sheet.rows[1][3..],
            &[
                Cell::Number(7.0),
                Cell::Number(28.0),
                Cell::Number(-26.1),
                text("Success")
            ]
        );
        assert_eq!(sheet.rows[2][6], text(SKIPPED_COMMENT));
        assert_eq!(
            sheet.rows[2][2],
            text("   "),
            "the blank link cell is kept as it was"
        );
        assert_eq!(
            &sheet.rows[3][3..],
            &[
                Cell::Bool(true),
                Cell::Empty,
                Cell::Empty,
                text("Failed after 1 attempt: Could not extract coordinates from URL")
            ]
        );
        assert_eq!(
            sheet.rows[4][6],
            text("Failed after 1 attempt: Invalid latitude: 100.0 (must be between -90 and 90)")
        );
        assert_eq!(filled.rows[0].method.as_deref(), Some("parse:q"));
    }

    #[test]
    fn stops_when_cancelled() {
        let mut sheet = Sheet {
            name: "S".into(),
            first_row: 0,
            rows: vec![
                vec![text("Name"), text("Region"), text("Maps")],
                vec![text("A"), text("R"), text("1.5,2.5")],
            ],
        };
        let cols = find_columns(sheet.header()).unwrap();
        let signals = RunSignals::default();
        signals.cancelled.store(true, Ordering::Relaxed);
        assert_eq!(
            fill(&mut sheet, &cols, &signals, Duration::ZERO),
            Err(Cancelled)
        );
    }
}
