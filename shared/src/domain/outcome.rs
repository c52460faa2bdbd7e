//! The outcome of one data row of a sheet.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RowStatus {
    Success,
    Failed,
    Skipped,
}

/// One line of a session's per-row log (`rows.jsonl`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RowOutcome {
    /// 1-based data row (the header is row 0).
    pub row: u64,
    pub name: String,
    pub status: RowStatus,
    /// The text written to the Comments column.
    pub comment: String,
    pub lng: Option<f64>,
    pub lat: Option<f64>,
    pub attempts: u32,
    /// How the coordinates were found (`parse` for the pure parser).
    pub method: Option<String>,
    /// The link, cut to 50 characters + `...` (the seed's log format).
    pub link: String,
}

impl RowOutcome {
    pub fn shorten_link(link: &str) -> String {
        const MAX: usize = 50;
        match link.char_indices().nth(MAX) {
            Some((cut, _)) => format!("{}...", &link[..cut]),
            None => link.to_owned(),
        }
    }
}
