//! A completed run's results as JSON: the per-row log (filtered and paged) and the
//! processed sheet's rows.

use maplink::{
    domain::{RowOutcome, RowStatus, Session},
    files::SessionFile,
    sheet,
};
use serde::Serialize;

use crate::{
    error::{ApiError, ApiResult},
    service::blocking,
    service::sessions::NOT_PROCESSED,
    state::AppState,
};

/// Rows of the processed sheet returned inline at most (the file has them all).
pub const MAX_INLINE_ROWS: usize = 10_000;

/// One per-row log entry as the API shows it: the stored fields plus the Comments text.
#[derive(Debug, Serialize)]
pub struct RowView {
    #[serde(flatten)]
    pub row: RowOutcome,
    pub message: String,
}

impl From<RowOutcome> for RowView {
    fn from(row: RowOutcome) -> Self {
        Self {
            message: row.comment(),
            row,
        }
    }
}

/// The per-row log of the last completed run.
pub async fn row_log(state: &AppState, session: &Session) -> ApiResult<Vec<RowOutcome>> {
    let files = state.files.clone();
    let id = session.id;
    if !files.exists(id, SessionFile::Rows)
        || session.status != maplink::domain::SessionStatus::Completed
    {
        return Err(ApiError::conflict("not_processed", NOT_PROCESSED));
    }
    let bytes = blocking(move || files.read(id, SessionFile::Rows)).await?;
    String::from_utf8_lossy(&bytes)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l).map_err(|e| ApiError::Internal(format!("rows.jsonl: {e}")))
        })
        .collect()
}

/// Rows with `status` (all when `None`), from `offset`, at most `limit`; and how many
/// match in all.
pub fn page(
    rows: Vec<RowOutcome>,
    status: Option<RowStatus>,
    offset: usize,
    limit: usize,
) -> (usize, Vec<RowView>) {
    let matching: Vec<RowOutcome> = rows
        .into_iter()
        .filter(|r| status.is_none_or(|s| r.status == s))
        .collect();
    let total = matching.len();
    (
        total,
        matching
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(RowView::from)
            .collect(),
    )
}

pub struct Full {
    pub processing_log: Vec<RowView>,
    pub processed_data: Vec<serde_json::Map<String, serde_json::Value>>,
    pub processed_columns: Vec<String>,
}

/// Everything `POST /process` answers with: the log and the processed rows (up to
/// [`MAX_INLINE_ROWS`]), blanks as `null` and never a bare NaN.
pub async fn full(state: &AppState, session: &Session) -> ApiResult<Full> {
    let log = row_log(state, session).await?;
    let files = state.files.clone();
    let (id, format, max_unpacked) = (
        session.id,
        session.format,
        state.settings.max_unpacked_bytes,
    );
    let (processed_columns, processed_data) = blocking(move || {
        let bytes = files.read(id, SessionFile::Output(format))?;
        let book = sheet::read(&bytes, format, max_unpacked)?;
        let json = sheet::as_json(book.first(), MAX_INLINE_ROWS);
        Ok((json.columns, json.rows))
    })
    .await?;
    Ok(Full {
        processing_log: log.into_iter().map(RowView::from).collect(),
        processed_data,
        processed_columns,
    })
}
