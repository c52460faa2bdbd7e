//! A completed run's results as JSON: the per-row log (filtered and paged) and the
//! processed sheet's rows.
//!
//! Both are bounded whatever the sheet's size: the per-row log is read line by line
//! (a page of a million-row log costs one page of memory, not the log), and the inline
//! results stop at a row count and a byte budget (the files hold everything).

use std::io::BufRead;

use maplink::{
    domain::{RowOutcome, RowStatus, Session},
    files::SessionFile,
    sheet,
};

use crate::{
    error::{ApiError, ApiResult},
    service::blocking,
    service::row_views::{RowView, SeedRowView},
    state::AppState,
};
use tokio_util::io::{StreamReader, SyncIoBridge};

/// Rows of the processed sheet and of the per-row log returned inline at most.
pub const MAX_INLINE_ROWS: usize = 10_000;
/// About how many bytes of cell text the inline rows may carry.
pub const MAX_INLINE_BYTES: usize = 8 * 1024 * 1024;

/// One line of a run's log (`rows.jsonl`); `None` for a blank line.
pub(crate) fn log_line(line: &str) -> maplink::Result<Option<RowOutcome>> {
    if line.trim().is_empty() {
        return Ok(None);
    }
    serde_json::from_str(line)
        .map(Some)
        .map_err(|e| maplink::Error::Corrupt(format!("rows.jsonl: {e}")))
}

pub(crate) async fn ensure_processed(state: &AppState, session: &Session) -> ApiResult<()> {
    if session.status != maplink::domain::SessionStatus::Completed
        || !state.files.exists(session.id, SessionFile::Rows).await?
    {
        return Err(ApiError::NotProcessed);
    }
    Ok(())
}

/// Rows of the last completed run's log with `status` (all when `None`), from
/// `offset`, at most `limit`; and how many match in all.
pub async fn page(
    state: &AppState,
    session: &Session,
    status: Option<RowStatus>,
    offset: usize,
    limit: usize,
) -> ApiResult<(usize, Vec<RowView>)> {
    ensure_processed(state, session).await?;
    // Read line by line as the chunks arrive: a large log is never held whole.
    let (_, chunks) = state
        .files
        .read_stream(session.id, SessionFile::Rows)
        .await?;
    let log = SyncIoBridge::new(StreamReader::new(chunks));
    let (total, rows) = blocking(move || {
        let mut total = 0usize;
        let mut rows = Vec::new();
        for line in std::io::BufReader::new(log).lines() {
            let line = line.map_err(|e| maplink::Error::io("rows.jsonl", e))?;
            let Some(row) = log_line(&line)? else {
                continue;
            };
            if status.is_some_and(|s| row.status != s) {
                continue;
            }
            if total >= offset && rows.len() < limit {
                rows.push(row);
            }
            total += 1;
        }
        Ok((total, rows))
    })
    .await?;
    Ok((total, rows.into_iter().map(RowView::from).collect()))
}

pub struct Full {
    pub processing_log: Vec<SeedRowView>,
    pub processed_data: Vec<serde_json::Map<String, serde_json::Value>>,
    pub processed_columns: Vec<String>,
}

/// Everything `POST /process` answers with: the log and the processed rows (up to
/// [`MAX_INLINE_ROWS`] and about [`MAX_INLINE_BYTES`]), blanks as `null` and never a
/// bare NaN.
pub async fn full(state: &AppState, session: &Session) -> ApiResult<Full> {
    let (_, log) = page(state, session, None, 0, MAX_INLINE_ROWS).await?;
    let bytes = state
        .files
        .read(session.id, SessionFile::Output(session.format))
        .await?;
    let format = session.format;
    // The output is the service's own file, already within the limits when it was an
    // upload (plus the coordinate columns); the scan holds only the inline rows.
    let limits = sheet::Limits::FORMAT;
    let (processed_columns, processed_data) = state
        .sheet_work
        .run(move || {
            let scan = sheet::scan(&bytes, format, &limits, MAX_INLINE_ROWS)?;
            let json = sheet::as_json(&scan.head, scan.width, MAX_INLINE_ROWS, MAX_INLINE_BYTES);
            Ok((json.columns, json.rows))
        })
        .await?;
    Ok(Full {
        processing_log: log.into_iter().map(SeedRowView::from).collect(),
        processed_data,
        processed_columns,
    })
}
