//! What a completed run tells the event log about its rows, before its summary: each
//! failed row with its reason's code, each row whose point is outside its region
//! (`outside_region`), and once the region names the check does not know
//! (`unknown_region`). Each kind is reported row by row up to [`MAX_ROW_LOGS`] and
//! then summarised, so that a sheet of 100,000 bad rows cannot flood the log (its size
//! is bounded, [`maplink::events`]); the rows API and the files have every row.

use maplink::{
    domain::{RowOutcome, RowStatus, SessionId, reason_code},
    events::{EventKind, EventLog, truncate},
};
use serde_json::{Value, json};

use crate::progress::emit;

/// Rows of one kind reported one by one in the event log; the rest are summarised.
pub const MAX_ROW_LOGS: usize = 100;

/// The longest row name quoted in a row's log message.
const ROW_NAME_CHARS: usize = 60;

/// Unknown region names listed in their event.
const MAX_REGION_NAMES: usize = 10;

/// The longest region name listed.
const REGION_NAME_CHARS: usize = 40;

/// A `log` event; `extra` fields (an object) are added beside `level` and `message`.
pub async fn log(events: &dyn EventLog, id: SessionId, level: &str, message: String, extra: Value) {
    let mut fields = json!({ "level": level, "message": message });
    if let (Some(fields), Value::Object(extra)) = (fields.as_object_mut(), extra) {
        fields.extend(extra);
    }
    emit(events, id, EventKind::Log, fields).await;
}

fn row_label(row: &RowOutcome) -> String {
    // A short name, so that the reason fits in the event's text limit.
    format!("Row {} ({})", row.row, truncate(&row.name, ROW_NAME_CHARS))
}

/// The failed rows, each with its reason's `code` and its `row`.
pub async fn tell_failed(events: &dyn EventLog, id: SessionId, rows: &[RowOutcome]) {
    let failed: Vec<&RowOutcome> = rows
        .iter()
        .filter(|r| r.status == RowStatus::Failed)
        .collect();
    for row in failed.iter().take(MAX_ROW_LOGS) {
        let message = format!("{}: {}", row_label(row), row.comment());
        log(
            events,
            id,
            "warning",
            message,
            json!({ "row": row.row, "code": row.code }),
        )
        .await;
    }
    if failed.len() > MAX_ROW_LOGS {
        log(
            events,
            id,
            "warning",
            format!(
                "… and {} more failed rows (download the failed rows)",
                failed.len() - MAX_ROW_LOGS
            ),
            Value::Null,
        )
        .await;
    }
}

/// The rows whose point is outside the region they name (successful rows, with a
/// warning), then the region names the check did not know, once.
pub async fn tell_checks(
    events: &dyn EventLog,
    id: SessionId,
    rows: &[RowOutcome],
    unknown_regions: &[String],
) {
    let outside: Vec<(&RowOutcome, &str)> = rows
        .iter()
        .filter_map(|r| r.check.as_deref().map(|c| (r, c)))
        .collect();
    for (row, check) in outside.iter().take(MAX_ROW_LOGS) {
        log(
            events,
            id,
            "warning",
            format!("{}: check: {check}", row_label(row)),
            json!({ "row": row.row, "code": reason_code::OUTSIDE_REGION }),
        )
        .await;
    }
    if outside.len() > MAX_ROW_LOGS {
        log(
            events,
            id,
            "warning",
            format!(
                "… and {} more rows outside their region (see the rows' check in the rows API)",
                outside.len() - MAX_ROW_LOGS
            ),
            json!({ "code": reason_code::OUTSIDE_REGION }),
        )
        .await;
    }
    if !unknown_regions.is_empty() {
        log(
            events,
            id,
            "warning",
            unknown_regions_message(unknown_regions),
            json!({
                "code": reason_code::UNKNOWN_REGION,
                "regions": unknown_regions
                    .iter()
                    .take(MAX_REGION_NAMES)
                    .map(|r| truncate(r, REGION_NAME_CHARS))
                    .collect::<Vec<_>>(),
            }),
        )
        .await;
    }
}

/// `Region names the check does not know (their rows were not checked): "Atlantis",
/// "Narnia"`, the first few of them.
pub fn unknown_regions_message(names: &[String]) -> String {
    let listed: Vec<String> = names
        .iter()
        .take(MAX_REGION_NAMES)
        .map(|n| format!("\"{}\"", truncate(n, REGION_NAME_CHARS)))
        .collect();
    let more = names.len().saturating_sub(MAX_REGION_NAMES);
    let tail = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    format!(
        "Region names the check does not know (their rows were not checked): {}{tail}",
        listed.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_regions_are_listed_briefly() {
        assert_eq!(
            unknown_regions_message(&["Atlantis".into()]),
            "Region names the check does not know (their rows were not checked): \"Atlantis\""
        );
        let many: Vec<String> = (0..12).map(|i| format!("R{i}")).collect();
        assert!(unknown_regions_message(&many).ends_with("\"R9\" and 2 more"));
    }
}
