//! The per-row part of the coordinates job, in two pure steps around the network:
//! [`plan`] decides each row from its cell alone (blank → skipped, or an address search
//! when that is on, parsed → success, refused → failed, anything else → needs the
//! network), and [`apply`] writes every
//! row's outcome into the output columns once the online answers are in: the point,
//! how it was found and how precise it is ([`Point`]), or the reason and its code.
//!
//! Counts always add up to the number of data rows, and no cell outside the three
//! output columns (and the details columns, when asked for) is touched.

use std::{collections::HashMap, sync::atomic::Ordering, thread, time::Duration};

use maplink::{
    domain::{
        Counts, RowOutcome, RowStatus,
        provenance::round_metres,
        reason_code::{self, NO_LINK},
    },
    links::{self, Coordinates, ParseError, Parsed},
    sheet::{Cell, Columns, OutputColumns, Sheet},
};

use crate::{
    heartbeat::RunSignals,
    jobs::geocode_rows::{self, AddressSearch},
    resolve::{Geocoded, Resolution},
};

/// What a row needs.
#[derive(Clone, Debug, PartialEq)]
pub enum Plan {
    Skip,
    Parsed(Parsed),
    /// The parser refused the link for good (out of range, malformed number).
    Refused(ParseError),
    /// Only the network tier can tell; the trimmed link.
    Online(String),
    /// No link, but an address search may place the row; the search text.
    Geocode(String),
}

#[derive(Debug, PartialEq)]
pub struct Filled {
    pub counts: Counts,
    pub rows: Vec<RowOutcome>,
    /// Region names the region check did not know, each once, in the order first
    /// seen (filled by the check, after [`apply`]).
    pub unknown_regions: Vec<String>,
}

/// Where a row's point came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    pub coordinates: Coordinates,
    /// For the ops counts: `parse:<pattern>`, `redirect`, `geocode+cache`, ….
    pub method: String,
    /// For people: `place pin`, `short link → map centre`, `address search`, ….
    pub source: String,
    pub precision_m: Option<f64>,
    pub approximate: bool,
}

impl Point {
    fn parsed(p: &Parsed) -> Self {
        Self {
            coordinates: p.coordinates,
            method: format!("parse:{}", p.pattern.as_str()),
            source: p.pattern.source().to_owned(),
            precision_m: p.precision_m,
            approximate: p.pattern.is_approximate(),
        }
    }
}

/// The run was cancelled (session deleted or superseded) part-way.
#[derive(Debug, PartialEq, Eq)]
pub struct Cancelled;

/// Plans every data row. Rows decided here count as progress at once. With `search`
/// (address search on), a blank link whose row has an address or a name is searched.
pub fn plan(
    sheet: &Sheet,
    cols: &Columns,
    signals: &RunSignals,
    row_delay: Duration,
    search: Option<&AddressSearch>,
) -> Result<Vec<Plan>, Cancelled> {
    let mut plans = Vec::with_capacity(sheet.data_len());
    for i in 0..sheet.data_len() {
        if signals.cancelled.load(Ordering::Relaxed) {
            return Err(Cancelled);
        }
        let link = sheet.data_cell(i, cols.map);
        let plan = if link.is_blank() {
            search
                .and_then(|s| s.query(sheet, i))
                .map_or(Plan::Skip, Plan::Geocode)
        } else {
            let text = link.text();
            match links::parse(&text) {
                Ok(parsed) => Plan::Parsed(parsed),
                Err(e) if e.may_resolve_online() => Plan::Online(text.trim().to_owned()),
                Err(e) => Plan::Refused(e),
            }
        };
        if !matches!(plan, Plan::Online(_) | Plan::Geocode(_)) {
            signals.progress.fetch_add(1, Ordering::Relaxed);
            // Names only feed progress events: sampling keeps the hot loop cheap.
            if i % 64 == 0 {
                signals.set_last_name(sheet.data_cell(i, cols.name).text());
            }
        }
        plans.push(plan);
        if !row_delay.is_zero() {
            thread::sleep(row_delay);
        }
    }
    Ok(plans)
}

pub(crate) fn set(row: &mut Vec<Cell>, col: usize, value: Cell) {
    if row.len() <= col {
        row.resize(col + 1, Cell::Empty);
    }
    row[col] = value;
}

/// Writes the outcome of every row into `sheet` (header of appended columns included).
/// `online` holds the network answer of every `Plan::Online` link, `geocoded` that of
/// every `Plan::Geocode` search.
pub fn apply(
    sheet: &mut Sheet,
    cols: &Columns,
    plans: &[Plan],
    online: &HashMap<String, Resolution>,
    geocoded: &HashMap<String, Geocoded>,
) -> Filled {
    let out = OutputColumns::for_header(sheet.header());
    if sheet.rows.is_empty() {
        sheet.rows.push(Vec::new());
    }
    for (col, name) in &out.appended {
        set(&mut sheet.rows[0], *col, Cell::Text((*name).to_owned()));
    }
    let mut counts = Counts::default();
    let mut log = Vec::with_capacity(plans.len());
    for (i, (row, plan)) in sheet.rows.iter_mut().skip(1).zip(plans).enumerate() {
        let cell = |c: usize| row.get(c).map(Cell::text).unwrap_or_default();
        let mut outcome = RowOutcome {
            row: i as u64 + 1,
            name: cell(cols.name),
            status: RowStatus::Failed,
            reason: None,
            lng: None,
            lat: None,
            attempts: 1,
            method: None,
            link: RowOutcome::shorten_link(cell(cols.map).trim()),
            code: None,
            source: None,
            precision_m: None,
            approximate: false,
            check: None,
        };
        let found = match plan {
            Plan::Skip => {
                outcome.status = RowStatus::Skipped;
                outcome.attempts = 0;
                outcome.code = Some(NO_LINK.to_owned());
                None
            }
            Plan::Parsed(p) => Some(Point::parsed(p)),
            Plan::Refused(e) => {
                outcome.reason = Some(e.to_string());
                outcome.code = Some(e.code().to_owned());
                None
            }
            Plan::Online(link) => match online.get(link) {
                Some(res) => {
                    outcome.attempts = res.attempts;
                    match &res.result {
                        Ok(f) => Some(Point {
                            coordinates: f.coordinates,
                            method: if res.cached {
                                format!("{}+cache", f.method)
                            } else {
                                f.method.clone()
                            },
                            source: f.source.clone(),
                            precision_m: f.precision_m,
                            approximate: f.approximate,
                        }),
                        Err(reason) => {
                            outcome.reason = Some(reason.text.clone());
                            outcome.code = Some(reason.code.to_owned());
                            None
                        }
                    }
                }
                None => {
                    outcome.reason = Some("the link was not looked up".into());
                    outcome.code = Some(reason_code::NOT_LOOKED_UP.to_owned());
                    None
                }
            },
            Plan::Geocode(query) => geocode_rows::found(&mut outcome, geocoded.get(query)),
        };
        if let Some(point) = found {
            let c = point.coordinates;
            set(row, out.lng, Cell::Number(c.lng));
            set(row, out.lat, Cell::Number(c.lat));
            outcome.status = RowStatus::Success;
            outcome.lng = Some(c.lng);
            outcome.lat = Some(c.lat);
            outcome.method = Some(point.method);
            outcome.source = Some(point.source);
            outcome.precision_m = point.precision_m.and_then(round_metres);
            outcome.approximate = point.approximate;
        }
        match outcome.status {
            RowStatus::Success => counts.successful += 1,
            RowStatus::Failed => counts.failed += 1,
            RowStatus::Skipped => counts.skipped += 1,
        }
        set(row, out.comments, Cell::Text(outcome.comment()));
        log.push(outcome);
    }
    Filled {
        counts,
        rows: log,
        unknown_regions: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use maplink::{domain::SKIPPED_COMMENT, links::Coordinates, sheet::find_columns};

    use super::*;
    use crate::resolve::{Found, Reason};

    fn text(s: &str) -> Cell {
        Cell::Text(s.to_owned())
    }

    fn sheet() -> Sheet {
        Sheet {
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
                vec![text("E"), text("R"), text(" https://goo.gl/maps/ok ")],
            ],
        }
    }

    #[test]
    fn plans_rows_from_their_cells_alone() {
        let s = sheet();
        let cols = find_columns(s.header()).unwrap();
        let signals = RunSignals::default();
        let plans = plan(&s, &cols, &signals, Duration::ZERO, None).unwrap();
        assert!(matches!(plans[0], Plan::Parsed(_)));
        assert_eq!(plans[1], Plan::Skip);
        assert_eq!(plans[2], Plan::Online("not a valid url".into()));
        assert_eq!(
            plans[3],
            Plan::Refused(ParseError::LatitudeOutOfRange(100.0))
        );
        assert_eq!(plans[4], Plan::Online("https://goo.gl/maps/ok".into()));
        assert_eq!(
            signals.progress.load(Ordering::Relaxed),
            3,
            "online rows count when answered"
        );
    }

    #[test]
    fn applies_outcomes_and_leaves_other_cells_alone() {
        let mut s = sheet();
        let cols = find_columns(s.header()).unwrap();
        let plans = plan(&s, &cols, &RunSignals::default(), Duration::ZERO, None).unwrap();
        let online = HashMap::from([
            (
                "not a valid url".to_owned(),
                Resolution {
                    result: Err(Reason::new(
                        "no_coordinates",
                        "Could not extract coordinates from URL",
                    )),
                    attempts: 1,
                    cached: false,
                },
            ),
            (
                "https://goo.gl/maps/ok".to_owned(),
                Resolution {
                    result: Ok(Found {
                        coordinates: Coordinates::new(-33.9, 18.4).unwrap(),
                        method: "redirect".into(),
                        source: "short link → place pin".into(),
                        precision_m: Some(11_132.0),
                        approximate: false,
                    }),
                    attempts: 2,
                    cached: true,
                },
            ),
        ]);
        let filled = apply(&mut s, &cols, &plans, &online, &HashMap::new());
        assert_eq!(
            filled.counts,
            Counts {
                successful: 2,
                failed: 2,
                skipped: 1
            }
        );
        assert_eq!(
            &s.rows[0][4..],
            &[text("LONG"), text("LATTs"), text("Comments")]
        );
        assert_eq!(
            &s.rows[1][3..],
            &[
                Cell::Number(7.0),
                Cell::Number(28.0),
                Cell::Number(-26.1),
                text("Success")
            ]
        );
        assert_eq!(s.rows[2][6], text(SKIPPED_COMMENT));
        assert_eq!(
            s.rows[2][2],
            text("   "),
            "the blank link cell is kept as it was"
        );
        assert_eq!(
            &s.rows[3][3..],
            &[
                Cell::Bool(true),
                Cell::Empty,
                Cell::Empty,
                text("Failed after 1 attempt: Could not extract coordinates from URL")
            ]
        );
        assert_eq!(
            s.rows[4][6],
            text("Failed after 1 attempt: Invalid latitude: 100.0 (must be between -90 and 90)")
        );
        assert_eq!(
            s.rows[5][2],
            text(" https://goo.gl/maps/ok "),
            "spaces around a link stay"
        );
        assert_eq!(
            &s.rows[5][4..],
            &[Cell::Number(18.4), Cell::Number(-33.9), text("Success")]
        );
        assert_eq!(filled.rows[0].method.as_deref(), Some("parse:q"));
        assert_eq!(filled.rows[4].method.as_deref(), Some("redirect+cache"));
        assert_eq!(filled.rows[4].attempts, 2);
        assert_eq!(
            filled.rows[2].reason.as_deref(),
            Some("Could not extract coordinates from URL")
        );
        fn details(r: &RowOutcome) -> (Option<&str>, Option<&str>, Option<f64>, bool) {
            (
                r.code.as_deref(),
                r.source.as_deref(),
                r.precision_m,
                r.approximate,
            )
        }
        assert_eq!(
            details(&filled.rows[0]),
            (None, Some("coordinates in link"), Some(11_000.0), false),
            "a point with one decimal place is good to about 11 km"
        );
        assert_eq!(
            details(&filled.rows[1]),
            (Some("no_link"), None, None, false)
        );
        assert_eq!(
            details(&filled.rows[2]),
            (Some("no_coordinates"), None, None, false)
        );
        assert_eq!(
            details(&filled.rows[3]),
            (Some("latitude_out_of_range"), None, None, false)
        );
        assert_eq!(
            details(&filled.rows[4]),
            (None, Some("short link → place pin"), Some(11_000.0), false)
        );
    }

    #[test]
    fn planning_stops_when_cancelled() {
        let s = sheet();
        let cols = find_columns(s.header()).unwrap();
        let signals = RunSignals::default();
        signals.cancelled.store(true, Ordering::Relaxed);
        assert_eq!(
            plan(&s, &cols, &signals, Duration::ZERO, None),
            Err(Cancelled)
        );
    }
}
