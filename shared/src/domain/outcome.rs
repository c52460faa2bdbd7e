//! The outcome of one data row of a sheet, as written to the Comments column and to the
//! per-row log (`rows.jsonl`).
//!
//! The fields added after the first release (`code`, `source`, `precision_m`,
//! `approximate`, `check`) are left out of a log line when absent, and read as absent
//! from lines written before them.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RowStatus {
    Success,
    Failed,
    Skipped,
}

impl RowStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
        }
    }
}

pub const SUCCESS_COMMENT: &str = "Success";
pub const SKIPPED_COMMENT: &str = "Skipped: No map link provided";

fn is_false(b: &bool) -> bool {
    !b
}

/// One line of a session's per-row log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RowOutcome {
    /// 1-based data row (the header is row 0).
    pub row: u64,
    pub name: String,
    pub status: RowStatus,
    /// Why the row failed (or was skipped).
    pub reason: Option<String>,
    pub lng: Option<f64>,
    pub lat: Option<f64>,
    /// Tries made for this row (network tries for links resolved online).
    pub attempts: u32,
    /// How the coordinates were found: `parse:<pattern>`, `redirect`, `scrape:…`,
    /// `places`, with `+cache` when the answer came from the link cache.
    pub method: Option<String>,
    /// The link, cut to 50 characters + `...` (the original app's log format).
    pub link: String,
    /// The stable code of the reason a row failed or was skipped
    /// ([`reason_code`](super::reason_code)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// How the point was found, in words ([`provenance`](super::provenance)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// How precise the point is, in metres (two significant figures), where its form
    /// implies one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision_m: Option<f64>,
    /// The point is a map's viewport centre, which may be far from the place.
    #[serde(default, skip_serializing_if = "is_false")]
    pub approximate: bool,
    /// The region check's warning: the point is outside the region the row names. A
    /// successful row stays successful.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<String>,
}

impl RowOutcome {
    pub fn shorten_link(link: &str) -> String {
        const MAX: usize = 50;
        match link.char_indices().nth(MAX) {
            Some((cut, _)) => format!("{}...", &link[..cut]),
            None => link.to_owned(),
        }
    }

    /// The text of the Comments column.
    pub fn comment(&self) -> String {
        match self.status {
            RowStatus::Success => SUCCESS_COMMENT.to_owned(),
            RowStatus::Skipped => SKIPPED_COMMENT.to_owned(),
            RowStatus::Failed => {
                let n = self.attempts.max(1);
                let unit = if n == 1 { "attempt" } else { "attempts" };
                format!(
                    "Failed after {n} {unit}: {}",
                    self.reason.as_deref().unwrap_or("unknown error")
                )
            }
        }
    }
}
