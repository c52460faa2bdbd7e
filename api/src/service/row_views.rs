//! One per-row log entry as each surface shows it.
//!
//! The v1 rows API shows every field, the details always present (`null` or `false`
//! when a row has none) so that a client reads one shape. The original app's
//! `POST /process/<id>` shows the fields its log entries had before codes, sources and
//! the region check existed, unchanged, so that its clients see what they always saw.

use maplink::domain::{RowOutcome, RowStatus};
use serde::Serialize;

/// The fields of the first release, and the Comments text.
#[derive(Debug, Serialize)]
pub struct SeedRowView {
    pub row: u64,
    pub name: String,
    pub status: RowStatus,
    pub reason: Option<String>,
    pub lng: Option<f64>,
    pub lat: Option<f64>,
    pub attempts: u32,
    pub method: Option<String>,
    pub link: String,
    pub message: String,
}

/// A row in the v1 rows API.
#[derive(Debug, Serialize)]
pub struct RowView {
    #[serde(flatten)]
    pub basics: SeedRowView,
    pub code: Option<String>,
    pub source: Option<String>,
    pub precision_m: Option<f64>,
    pub approximate: bool,
    pub check: Option<String>,
}

impl From<RowOutcome> for SeedRowView {
    fn from(row: RowOutcome) -> Self {
        Self {
            message: row.comment(),
            row: row.row,
            name: row.name,
            status: row.status,
            reason: row.reason,
            lng: row.lng,
            lat: row.lat,
            attempts: row.attempts,
            method: row.method,
            link: row.link,
        }
    }
}

impl From<RowOutcome> for RowView {
    fn from(mut row: RowOutcome) -> Self {
        let (code, source, check) = (row.code.take(), row.source.take(), row.check.take());
        let (precision_m, approximate) = (row.precision_m, row.approximate);
        Self {
            basics: row.into(),
            code,
            source,
            precision_m,
            approximate,
            check,
        }
    }
}

impl From<RowView> for SeedRowView {
    fn from(view: RowView) -> Self {
        view.basics
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn failed_row() -> RowOutcome {
        serde_json::from_value(json!({
            "row": 5, "name": "Bloemfontein", "status": "failed",
            "reason": "Malformed number: 26.10.76", "lng": null, "lat": null,
            "attempts": 1, "method": null, "link": "x", "code": "malformed_number"
        }))
        .unwrap()
    }

    #[test]
    fn the_rows_api_always_shows_the_details_and_the_seed_log_never() {
        let v1 = serde_json::to_value(RowView::from(failed_row())).unwrap();
        assert_eq!(v1["code"], "malformed_number");
        for field in ["source", "precision_m", "check"] {
            assert_eq!(v1[field], serde_json::Value::Null, "{field}");
        }
        assert_eq!(v1["approximate"], false);
        assert_eq!(
            v1["message"],
            "Failed after 1 attempt: Malformed number: 26.10.76"
        );

        let seed = serde_json::to_value(SeedRowView::from(failed_row())).unwrap();
        let keys: Vec<&str> = seed
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "row", "name", "status", "reason", "lng", "lat", "attempts", "method", "link",
                "message"
            ]
        );
    }
}
