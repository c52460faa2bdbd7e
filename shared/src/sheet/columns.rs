//! Finding the columns a job needs, with the original app's matching rules and messages.

use super::Cell;
use crate::{Error, Result};

/// Map-link header spellings, in order of preference (matched trimmed, case-insensitive).
pub const MAP_COLUMN_NAMES: &[&str] = &[
    "map link",
    "maps link",
    "maps",
    "map",
    "map links",
    "maps links",
    "map_link",
    "maps_link",
    "maplink",
    "mapslink",
];
const LONGITUDE_NAMES: &[&str] = &["long", "longitude", "lng"];
const LATITUDE_NAMES: &[&str] = &["latts", "latt", "lat", "latitude"];

/// The input columns of the first sheet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Columns {
    pub map: usize,
    /// The map column's header as written in the file.
    pub map_header: String,
    pub name: usize,
    pub region: usize,
}

fn normalized(cell: &Cell) -> Option<String> {
    match cell {
        Cell::Text(s) => Some(s.trim().to_lowercase()),
        _ => None,
    }
}

fn position(header: &[Cell], names: &[&str]) -> Option<usize> {
    let normalized: Vec<Option<String>> = header.iter().map(normalized).collect();
    names
        .iter()
        .find_map(|want| normalized.iter().position(|h| h.as_deref() == Some(*want)))
}

fn found_columns(header: &[Cell]) -> String {
    header
        .iter()
        .filter_map(|c| match c {
            Cell::Text(s) if !s.trim().is_empty() => Some(format!("\"{}\"", s.trim())),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Finds the map, Name and Region columns. The map column is checked first; numeric or
/// empty header cells are simply not matches.
pub fn find_columns(header: &[Cell]) -> Result<Columns> {
    let Some(map) = position(header, MAP_COLUMN_NAMES) else {
        return Err(Error::Invalid(format!(
            "Missing required map column. Looking for: \"Map link\" or \"Maps\" (case-insensitive). Found columns: {}",
            found_columns(header)
        )));
    };
    let name = position(header, &["name"]);
    let region = position(header, &["region"]);
    match (name, region) {
        (Some(name), Some(region)) => Ok(Columns {
            map,
            map_header: header[map].text().trim().to_owned(),
            name,
            region,
        }),
        _ => {
            let missing: Vec<&str> = [("Name", name), ("Region", region)]
                .into_iter()
                .filter(|(_, at)| at.is_none())
                .map(|(n, _)| n)
                .collect();
            Err(Error::Invalid(format!(
                "Missing required columns: {}. Found columns: {}",
                missing.join(", "),
                found_columns(header)
            )))
        }
    }
}

/// Where the job writes: existing coordinate/Comments columns are reused, missing ones
/// are appended as `LONG`, `LATTs`, `Comments` in that order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputColumns {
    pub lng: usize,
    pub lat: usize,
    pub comments: usize,
    /// Headers to add at the end of the header row, in order, with their columns.
    pub appended: Vec<(usize, &'static str)>,
}

impl OutputColumns {
    pub fn for_header(header: &[Cell]) -> Self {
        let mut next = header.len();
        let mut appended = Vec::new();
        let mut pick = |names: &[&str], new: &'static str| {
            position(header, names).unwrap_or_else(|| {
                let at = next;
                next += 1;
                appended.push((at, new));
                at
            })
        };
        let lng = pick(LONGITUDE_NAMES, "LONG");
        let lat = pick(LATITUDE_NAMES, "LATTs");
        let comments = pick(&["comments"], "Comments");
        Self {
            lng,
            lat,
            comments,
            appended,
        }
    }
}

/// The optional details columns, in order: how each point was found, how precise it
/// is, and the region check's warning.
pub const DETAIL_COLUMN_NAMES: [&str; 3] = ["Source", "Precision", "Check"];

/// Where the details columns go, when a run asks for them: a column whose header is
/// already `Source`, `Precision` or `Check` (trimmed, case-insensitive: a processed
/// sheet run again) is reused, as the coordinate and Comments columns are; the others
/// are appended after the last header cell, which by then is the output columns'.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DetailColumns {
    pub source: usize,
    pub precision: usize,
    pub check: usize,
    /// Headers to add at the end of the header row, in order, with their columns.
    pub appended: Vec<(usize, &'static str)>,
}

impl DetailColumns {
    pub fn for_header(header: &[Cell]) -> Self {
        let mut next = header.len();
        let mut appended = Vec::new();
        let mut pick = |name: &'static str| {
            position(header, &[name.to_lowercase().as_str()]).unwrap_or_else(|| {
                let at = next;
                next += 1;
                appended.push((at, name));
                at
            })
        };
        let [source, precision, check] = DETAIL_COLUMN_NAMES.map(&mut pick);
        Self {
            source,
            precision,
            check,
            appended,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(names: &[&str]) -> Vec<Cell> {
        names.iter().map(|n| Cell::Text((*n).to_owned())).collect()
    }

    #[test]
    fn map_column_variants_first_present_wins() {
        let h = header(&["Name", "MAP", " Maps Link ", "Region"]);
        let c = find_columns(&h).unwrap();
        assert_eq!((c.map, c.name, c.region), (2, 0, 3));
        assert_eq!(c.map_header, "Maps Link");
    }

    #[test]
    fn missing_map_column_message_lists_found_columns() {
        let h = vec![
            Cell::Text("Name".into()),
            Cell::Number(3.0),
            Cell::Empty,
            Cell::Text("Region".into()),
            Cell::Text("Link".into()),
        ];
        assert_eq!(
            find_columns(&h).unwrap_err().to_string(),
            "Missing required map column. Looking for: \"Map link\" or \"Maps\" (case-insensitive). Found columns: \"Name\", \"Region\", \"Link\""
        );
    }

    #[test]
    fn missing_name_and_region_named_in_order() {
        assert_eq!(
            find_columns(&header(&["Maps"])).unwrap_err().to_string(),
            "Missing required columns: Name, Region. Found columns: \"Maps\""
        );
        assert_eq!(
            find_columns(&header(&["name", "maps"]))
                .unwrap_err()
                .to_string(),
            "Missing required columns: Region. Found columns: \"name\", \"maps\""
        );
    }

    #[test]
    fn output_columns_reuse_by_preference_then_append() {
        let h = header(&["Name", "Region", "Maps link", "LONG", "LATTs"]);
        let o = OutputColumns::for_header(&h);
        assert_eq!((o.lng, o.lat, o.comments), (3, 4, 5));
        assert_eq!(o.appended, vec![(5, "Comments")]);

        let h = header(&["lat", "Latitude", "lng", "Maps", "comments"]);
        let o = OutputColumns::for_header(&h);
        assert_eq!((o.lng, o.lat, o.comments), (2, 0, 4));
        assert!(o.appended.is_empty());

        let o = OutputColumns::for_header(&header(&["Maps"]));
        assert_eq!(o.appended, vec![(1, "LONG"), (2, "LATTs"), (3, "Comments")]);
    }

    #[test]
    fn detail_columns_are_appended_or_reused() {
        let d = DetailColumns::for_header(&header(&["Maps", "LONG", "LATTs", "Comments"]));
        assert_eq!((d.source, d.precision, d.check), (4, 5, 6));
        assert_eq!(
            d.appended,
            vec![(4, "Source"), (5, "Precision"), (6, "Check")]
        );

        let d = DetailColumns::for_header(&header(&["Maps", " check ", "Comments", "SOURCE"]));
        assert_eq!((d.source, d.precision, d.check), (3, 4, 1));
        assert_eq!(d.appended, vec![(4, "Precision")]);
    }
}
