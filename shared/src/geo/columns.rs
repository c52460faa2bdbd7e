//! Which columns of a sheet name the region a row's point should be in.

use super::key::key;

/// Header texts of region columns, as keys: case, spaces and punctuation do not matter
/// (`Region`, `PROVINCE`, `State/Province`, `Country / Region`).
const REGION_HEADERS: &[&str] = &[
    "region",
    "province",
    "state",
    "country",
    "stateprovince",
    "provincestate",
    "stateorprovince",
    "countryregion",
];

/// The indexes of the header cells that name a region column — `Region`, `Province`,
/// `State`, `Country` and their combinations (`State/Province`, `Country/Region`) — in
/// header order. Case, spaces and punctuation are ignored; other headers (`Region
/// code`, `Sales region`) are not region columns. Each column found is checked on its
/// own: a row with both a `Country` and a `Province` gets a verdict for each.
pub fn region_columns(header: &[String]) -> Vec<usize> {
    header
        .iter()
        .enumerate()
        .filter(|(_, cell)| REGION_HEADERS.contains(&key(cell).as_str()))
        .map(|(i, _)| i)
        .collect()
}
