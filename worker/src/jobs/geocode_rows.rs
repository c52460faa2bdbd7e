//! Rows with no link but an address or a name, when address search is on
//! (`geocode_url`): the text each such row searches for ([`AddressSearch`]), the
//! searches ([`search_all`]), and what an answer makes of the row ([`found`]).
//!
//! The query is the row's address when the sheet has an address column (the first of
//! `Address`, `Street address`, `Full address`, `Location`, matched trimmed and
//! case-insensitively) and the row's cell there is not blank. Otherwise it is the row's
//! Name, Region and, when the sheet has a `Country` column, country, joined with ", "
//! (blank parts left out). A row with neither an address nor a name is skipped as
//! before: a region alone would find the region's centre, which places no row.

use std::{
    collections::HashMap,
    sync::{Arc, atomic::Ordering},
};

use futures::StreamExt;
use maplink::{
    domain::{RowOutcome, provenance, reason_code},
    sheet::{Cell, Columns, Sheet},
};

use crate::{
    heartbeat::RunSignals,
    jobs::rows::{Plan, Point},
    resolve::{Geocoded, Resolver},
};

/// Address column headers, in order of preference.
const ADDRESS_COLUMN_NAMES: &[&str] = &["address", "street address", "full address", "location"];

/// Where a row's search text comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressSearch {
    address: Option<usize>,
    name: usize,
    region: usize,
    country: Option<usize>,
}

fn column(header: &[Cell], names: &[&str]) -> Option<usize> {
    names.iter().find_map(|want| {
        header
            .iter()
            .position(|h| matches!(h, Cell::Text(t) if t.trim().eq_ignore_ascii_case(want)))
    })
}

impl AddressSearch {
    pub fn for_header(header: &[Cell], cols: &Columns) -> Self {
        Self {
            address: column(header, ADDRESS_COLUMN_NAMES),
            name: cols.name,
            region: cols.region,
            country: column(header, &["country"]),
        }
    }

    /// The search text of data row `i`, whitespace runs made one space; `None` when
    /// the row has nothing to search for.
    pub fn query(&self, sheet: &Sheet, i: usize) -> Option<String> {
        let text = |col: usize| {
            let text = sheet.data_cell(i, col).text();
            let words: Vec<&str> = text.split_whitespace().collect();
            words.join(" ")
        };
        if let Some(address) = self.address.map(text).filter(|a| !a.is_empty()) {
            return Some(address);
        }
        let name = text(self.name);
        if name.is_empty() {
            return None;
        }
        let parts: Vec<String> = [Some(self.region), self.country]
            .into_iter()
            .flatten()
            .map(text)
            .filter(|p| !p.is_empty())
            .collect();
        Some(
            std::iter::once(name)
                .chain(parts)
                .collect::<Vec<_>>()
                .join(", "),
        )
    }
}

/// Searches every distinct query of `plans`, `concurrency` at a time (the geocoder's
/// rate limit sets the real pace; concurrency lets cache hits through meanwhile). Each
/// answer counts as progress for every row asking it. `None` when cancelled.
pub async fn search_all(
    resolver: &Arc<Resolver>,
    concurrency: usize,
    plans: &[Plan],
    signals: &RunSignals,
) -> Option<HashMap<String, Geocoded>> {
    let mut rows_per_query: HashMap<&str, u64> = HashMap::new();
    for plan in plans {
        if let Plan::Geocode(query) = plan {
            *rows_per_query.entry(query.as_str()).or_default() += 1;
        }
    }
    let mut answers = HashMap::with_capacity(rows_per_query.len());
    // Owned queries and resolver handle keep the futures `Send + 'static`, as an
    // apalis worker's future must be.
    let queries: Vec<(String, u64)> = rows_per_query
        .into_iter()
        .map(|(q, n)| (q.to_owned(), n))
        .collect();
    let resolver = resolver.clone();
    let mut pending = futures::stream::iter(queries)
        .map(move |(query, rows)| {
            let resolver = resolver.clone();
            async move {
                let answer = match resolver.geocoder() {
                    Some(geocoder) => Some(geocoder.geocode(&query).await),
                    None => None,
                };
                (query, rows, answer)
            }
        })
        .buffer_unordered(concurrency.max(1));
    while let Some((query, rows, answer)) = pending.next().await {
        if signals.cancelled.load(Ordering::Relaxed) {
            return None;
        }
        signals.progress.fetch_add(rows, Ordering::Relaxed);
        if let Some(answer) = answer {
            answers.insert(query, answer);
        }
    }
    Some(answers)
}

/// The point an answer gives a row, with its method (`geocode`, `geocode+cache`), the
/// source `address search` and the result's size as its precision; on a failure, the
/// row's reason and code instead. Sets the row's attempts either way.
pub fn found(outcome: &mut RowOutcome, answer: Option<&Geocoded>) -> Option<Point> {
    let Some(answer) = answer else {
        outcome.reason = Some("the address was not searched".into());
        outcome.code = Some(reason_code::NOT_LOOKED_UP.to_owned());
        return None;
    };
    outcome.attempts = answer.attempts;
    match &answer.result {
        Ok(place) => {
            let method = if answer.cached {
                "geocode+cache"
            } else {
                "geocode"
            };
            Some(Point {
                coordinates: place.coordinates,
                method: method.into(),
                source: provenance::ADDRESS_SEARCH.into(),
                precision_m: place.precision_m,
                approximate: false,
            })
        }
        Err(failure) => {
            outcome.reason = Some(failure.to_string());
            outcome.code = Some(failure.code().to_owned());
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use maplink::{domain::RowStatus, links::Coordinates, sheet::find_columns};

    use super::*;
    use crate::{
        jobs::rows,
        resolve::{GeocodeFailure, Place},
    };

    fn sheet(header: &[&str], rows: &[&[&str]]) -> Sheet {
        let cells = |r: &[&str]| r.iter().map(|c| Cell::Text((*c).to_owned())).collect();
        Sheet {
            name: "Stores".into(),
            first_row: 0,
            rows: std::iter::once(cells(header))
                .chain(rows.iter().map(|r| cells(r)))
                .collect(),
        }
    }

    fn queries(s: &Sheet) -> Vec<Option<String>> {
        let search = AddressSearch::for_header(s.header(), &find_columns(s.header()).unwrap());
        (0..s.data_len()).map(|i| search.query(s, i)).collect()
    }

    #[test]
    fn the_address_column_is_searched_and_name_region_country_stand_in() {
        let s = sheet(
            &["Name", "Region", "Maps", " street ADDRESS ", "Country"],
            &[
                &["Shop", "Gauteng", "", " 83  Rivonia Rd,\tSandton ", "ZA"],
                &["Shop", "Gauteng", "", "  ", "South Africa"],
                &["", "Gauteng", "", "", "ZA"],
                &["Shop", "", "", "", ""],
            ],
        );
        assert_eq!(
            queries(&s),
            [
                Some("83 Rivonia Rd, Sandton".into()),
                Some("Shop, Gauteng, South Africa".into()),
                None,
                Some("Shop".into()),
            ]
        );
    }

    #[test]
    fn without_an_address_column_name_and_region_are_searched() {
        let s = sheet(
            &["Name", "Region", "Maps"],
            &[&["Sandton City", "Gauteng", ""]],
        );
        assert_eq!(queries(&s), [Some("Sandton City, Gauteng".into())]);
    }

    #[test]
    fn the_preferred_address_column_wins() {
        let s = sheet(
            &["Location", "Name", "Region", "Maps", "Address"],
            &[&["Johannesburg", "Shop", "Gauteng", "", "1 Main St"]],
        );
        assert_eq!(queries(&s), [Some("1 Main St".into())]);
    }

    #[test]
    fn blank_links_with_something_to_search_wait_for_the_search() {
        let mut s = sheet(
            &["Name", "Region", "Maps"],
            &[
                &["Sandton City", "Gauteng", ""],
                &["", "", ""],
                &["Nowhere", "Atlantis", ""],
                &["Menlyn", "Gauteng", "-25.78,28.27"],
            ],
        );
        let cols = find_columns(s.header()).unwrap();
        let search = AddressSearch::for_header(s.header(), &cols);
        let signals = RunSignals::default();
        let plans = rows::plan(&s, &cols, &signals, Duration::ZERO, Some(&search)).unwrap();
        assert_eq!(plans[0], Plan::Geocode("Sandton City, Gauteng".into()));
        assert_eq!(plans[1], Plan::Skip);
        assert!(matches!(plans[3], Plan::Parsed(_)));
        assert_eq!(
            signals.progress.load(Ordering::Relaxed),
            2,
            "searched rows count when answered"
        );

        let geocoded = HashMap::from([
            (
                "Sandton City, Gauteng".to_owned(),
                Geocoded {
                    result: Ok(Place {
                        coordinates: Coordinates::new(-26.1076, 28.0567).unwrap(),
                        precision_m: Some(223.0),
                    }),
                    attempts: 1,
                    cached: true,
                },
            ),
            (
                "Nowhere, Atlantis".to_owned(),
                Geocoded {
                    result: Err(GeocodeFailure::NotFound {
                        query: "Nowhere, Atlantis".into(),
                    }),
                    attempts: 1,
                    cached: false,
                },
            ),
        ]);
        let filled = rows::apply(&mut s, &cols, &plans, &HashMap::new(), &geocoded);
        let row = &filled.rows[0];
        assert_eq!(
            (row.status, row.lat, row.lng, row.method.as_deref()),
            (
                RowStatus::Success,
                Some(-26.1076),
                Some(28.0567),
                Some("geocode+cache")
            )
        );
        assert_eq!(filled.rows[1].status, RowStatus::Skipped);
        assert_eq!(
            filled.rows[2].comment(),
            "Failed after 1 attempt: address search found nothing for \"Nowhere, Atlantis\""
        );
        assert_eq!(
            s.rows[1][3..],
            [
                Cell::Number(28.0567),
                Cell::Number(-26.1076),
                Cell::Text("Success".into())
            ]
        );
    }
}
