//! A completed run's points in the formats map tools read: GeoJSON (RFC 7946), KML and
//! GPX waypoints, for the download route and the CLI alike.
//!
//! The input is the processed sheet (every column of it becomes a property of its
//! point) and the run's per-row log, which holds each row's coordinates as found
//! (exact, not read back from a formatted cell), status, source and precision. Rows
//! without coordinates — failed, skipped — are left out and counted: in the file's own
//! header ([`Points::unlocated`]) and, on the API, in a response header.
//!
//! Each format is written by its georust crate (`geojson`, `kml`, `gpx`), never by
//! string templates: escaping and structure are theirs. The XML formats get every text
//! through [`xml_text`] first: characters XML 1.0 forbids cannot be escaped.

mod geojson;
mod gpx;
mod kml;
mod xml_text;

pub use xml_text::xml_text;

use crate::{
    Result,
    domain::{RowOutcome, RowStatus},
    sheet::{self, Cell, Sheet},
};

/// A format a completed session can be exported to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    GeoJson,
    Kml,
    Gpx,
}

impl ExportFormat {
    pub const ALL: [Self; 3] = [Self::GeoJson, Self::Kml, Self::Gpx];

    /// The format for its name as written in `?format=` and `--format`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::GeoJson => "geojson",
            Self::Kml => "kml",
            Self::Gpx => "gpx",
        }
    }

    /// The file extension, which is also the name.
    pub fn extension(self) -> &'static str {
        self.name()
    }

    /// The media type each format registered (RFC 7946 §12 for GeoJSON).
    pub fn content_type(self) -> &'static str {
        match self {
            Self::GeoJson => "application/geo+json",
            Self::Kml => "application/vnd.google-earth.kml+xml",
            Self::Gpx => "application/gpx+xml",
        }
    }
}

/// maplink's own fields of a point, in the order they follow the sheet's columns.
const FIELDS: [&str; 6] = [
    "row",
    "status",
    "source",
    "precision_m",
    "approximate",
    "check",
];

/// The located rows of a run, ready to be written in any format.
#[derive(Debug)]
pub struct Points<'a> {
    /// The document's title (the processed file's name).
    pub title: &'a str,
    /// One distinct name per sheet column (blank and repeated headers made unique).
    pub columns: Vec<String>,
    /// The Name, Region, map-link and Comments columns of the sheet, where it has them.
    pub name: Option<usize>,
    pub region: Option<usize>,
    pub link: Option<usize>,
    pub comment: Option<usize>,
    /// The key each of maplink's own fields is written under: its own name, or
    /// `maplink_<name>` when a sheet column already has that name.
    pub fields: Vec<(&'static str, String)>,
    pub located: Vec<Point<'a>>,
    /// Rows of the run without coordinates, left out of the export.
    pub unlocated: usize,
}

/// One located row.
#[derive(Debug)]
pub struct Point<'a> {
    pub lng: f64,
    pub lat: f64,
    /// The row's cells, one per column (a short row is padded with blanks).
    pub cells: &'a [Cell],
    pub outcome: &'a RowOutcome,
}

impl<'a> Points<'a> {
    /// Pairs the processed sheet's data rows with the run's log (`outcomes`, by their
    /// 1-based `row`). A row is located when its log line has coordinates in range.
    pub fn new(title: &'a str, sheet: &'a Sheet, outcomes: &'a [RowOutcome]) -> Self {
        let header = sheet.header();
        let width = sheet.rows.iter().map(Vec::len).max().unwrap_or(0);
        let columns = sheet::column_names(header, width);
        let found = sheet::find_columns(header).ok();
        let comment = sheet::OutputColumns::for_header(header).comments;
        let comment = (comment < header.len()).then_some(comment);
        let mut located = Vec::new();
        let mut unlocated = 0;
        for outcome in outcomes {
            let cells = usize::try_from(outcome.row)
                .ok()
                .and_then(|row| sheet.rows.get(row))
                .map(Vec::as_slice);
            match (outcome.lng, outcome.lat, cells) {
                (Some(lng), Some(lat), Some(cells))
                    if outcome.status == RowStatus::Success && in_range(lng, lat) =>
                {
                    located.push(Point {
                        lng,
                        lat,
                        cells,
                        outcome,
                    });
                }
                _ => unlocated += 1,
            }
        }
        let fields = FIELDS
            .iter()
            .map(|&f| {
                let key = if columns.iter().any(|c| c == f) {
                    format!("maplink_{f}")
                } else {
                    f.to_owned()
                };
                (f, key)
            })
            .collect();
        Self {
            title,
            columns,
            name: found.as_ref().map(|c| c.name),
            region: found.as_ref().map(|c| c.region),
            link: found.as_ref().map(|c| c.map),
            comment,
            fields,
            located,
            unlocated,
        }
    }

    /// The column's header as used in the export, if the sheet has that column.
    fn column(&self, at: Option<usize>) -> Option<&str> {
        at.and_then(|i| self.columns.get(i)).map(String::as_str)
    }

    /// One sentence for a file's description: how many rows are in it and how many
    /// were left out.
    pub fn summary(&self) -> String {
        let located = self.located.len();
        let noun = |n: usize| if n == 1 { "row" } else { "rows" };
        format!(
            "{located} located {}; {} {} without coordinates left out",
            noun(located),
            self.unlocated,
            noun(self.unlocated)
        )
    }
}

impl Point<'_> {
    /// The text of the cell in column `at` (blank when the row is short).
    pub fn text(&self, at: Option<usize>) -> Option<String> {
        let text = self.cells.get(at?)?.text();
        let text = text.trim();
        (!text.is_empty()).then(|| text.to_owned())
    }

    /// The point's name: its Name cell, else `Row N`.
    pub fn name(&self, points: &Points) -> String {
        self.text(points.name)
            .unwrap_or_else(|| format!("Row {}", self.outcome.row))
    }

    /// maplink's fields as (key, value), keys from [`Points::fields`].
    fn fields(&self, points: &Points) -> Vec<(String, serde_json::Value)> {
        let o = self.outcome;
        points
            .fields
            .iter()
            .map(|(field, key)| {
                let value = match *field {
                    "row" => o.row.into(),
                    "status" => o.status.as_str().into(),
                    "source" => o.source.clone().into(),
                    "precision_m" => o.precision_m.into(),
                    "approximate" => o.approximate.into(),
                    _ => o.check.clone().into(),
                };
                (key.clone(), value)
            })
            .collect()
    }
}

fn in_range(lng: f64, lat: f64) -> bool {
    (-180.0..=180.0).contains(&lng) && (-90.0..=90.0).contains(&lat)
}

/// Writes `points` in `format`.
pub fn write(format: ExportFormat, points: &Points) -> Result<Vec<u8>> {
    match format {
        ExportFormat::GeoJson => geojson::write(points),
        ExportFormat::Kml => kml::write(points),
        ExportFormat::Gpx => gpx::write(points),
    }
}

/// The processed sheet's first worksheet and the run's log as `format`: reads and
/// writes in one step, for callers that hold both as bytes.
pub fn export(
    format: ExportFormat,
    title: &str,
    processed: &Sheet,
    outcomes: &[RowOutcome],
) -> Result<(Vec<u8>, usize)> {
    let points = Points::new(title, processed, outcomes);
    Ok((write(format, &points)?, points.unlocated))
}

#[cfg(test)]
mod tests;
