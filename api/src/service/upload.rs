//! Upload: read the multipart body, validate it with the original app's rules and
//! messages (first failure wins), store the file and create the session.

use axum::extract::{Multipart, multipart::MultipartError};
use maplink::{
    domain::{FileFormat, Session},
    files::SessionFile,
    sheet::{self, Preview},
};

use crate::{
    access::Submitter,
    error::{ApiError, ApiResult},
    state::AppState,
};

/// A validated, stored upload.
#[derive(Debug)]
pub struct Uploaded {
    pub session: Session,
    pub preview: Preview,
}

fn multipart_error(e: MultipartError, limit: u64) -> ApiError {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::TooLarge { limit }
    } else {
        ApiError::bad_request(
            "bad_multipart",
            format!("The upload could not be read: {}", e.body_text()),
        )
    }
}

/// Reads the `file` part. Other parts are skipped.
async fn file_part(multipart: &mut Multipart, limit: u64) -> ApiResult<(String, Vec<u8>)> {
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| multipart_error(e, limit))?
    {
        if field.name() != Some("file") {
            continue;
        }
        let filename = field.file_name().unwrap_or_default().to_owned();
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(|e| multipart_error(e, limit))? {
            if (bytes.len() + chunk.len()) as u64 > limit {
                return Err(ApiError::TooLarge { limit });
            }
            bytes.extend_from_slice(&chunk);
        }
        return Ok((filename, bytes));
    }
    Err(ApiError::bad_request("no_file", "No file uploaded"))
}

/// Refuses an upload while the service holds as many sessions or bytes as it may.
/// Checked before the file is read: a full service spends nothing on it.
async fn check_quotas(state: &AppState, size: u64) -> ApiResult<()> {
    let s = &state.settings;
    if s.max_sessions > 0 {
        let live = state.usage.live_sessions(state.sessions.as_ref()).await?;
        if live >= s.max_sessions {
            return Err(ApiError::StorageFull(format!(
                "{live} live sessions, the limit is {}",
                s.max_sessions
            )));
        }
    }
    if s.max_stored_bytes > 0 {
        let stored = state.usage.stored_bytes(&state.files).await?;
        if stored.saturating_add(size) > s.max_stored_bytes {
            return Err(ApiError::StorageFull(format!(
                "{stored} bytes stored, the limit is {}",
                s.max_stored_bytes
            )));
        }
    }
    Ok(())
}

pub async fn upload(
    state: &AppState,
    who: &Submitter,
    mut multipart: Multipart,
) -> ApiResult<Uploaded> {
    let limit = state.settings.max_upload_bytes;
    // A client that trickles its upload (slow loris) is cut off.
    let body_timeout = std::time::Duration::from_secs(state.settings.request_body_timeout_secs);
    let (filename, bytes) = tokio::time::timeout(body_timeout, file_part(&mut multipart, limit))
        .await
        .map_err(|_| ApiError::RequestTimeout)??;
    if filename.trim().is_empty() {
        return Err(ApiError::bad_request(
            "no_file_selected",
            "No file selected",
        ));
    }
    let Some(format) = FileFormat::from_filename(filename.trim()) else {
        return Err(ApiError::bad_request(
            "unsupported_file_type",
            "Only .xlsx or .csv files are allowed",
        ));
    };
    check_quotas(state, bytes.len() as u64).await?;
    let limits = state.settings.sheet_limits();
    // Reading and checking a workbook is CPU work: on the bounded sheet pool, never on
    // the async executor. Only the header and the preview rows are kept.
    let (scan, bytes) = state
        .sheet_work
        .run(move || {
            sheet::scan(&bytes, format, &limits, sheet::PREVIEW_ROWS).map(|scan| (scan, bytes))
        })
        .await?;
    let columns = sheet::find_columns(scan.head.header())
        .map_err(|e| ApiError::bad_request("missing_columns", e.to_string()))?;

    let mut session = Session::new(filename.trim(), format, &columns.map_header, scan.data_rows);
    session.owner = who.0.clone();
    let preview = sheet::preview(&scan.head, scan.width);
    // The file is written before the record exists: a crash in between leaves only a
    // directory without a session, which the orphan sweep removes.
    let size = bytes.len() as u64;
    state
        .files
        .write(session.id, SessionFile::Input(format), bytes)
        .await?;
    state.sessions.create(&session).await?;
    state.usage.added(size).await;
    metrics::counter!(maplink::metrics::UPLOADS).increment(1);
    metrics::counter!(maplink::metrics::UPLOAD_BYTES).increment(size);
    metrics::counter!(maplink::metrics::SESSIONS_CREATED).increment(1);
    tracing::info!(session = %session.id, rows = session.total_rows, format = format.extension(), "session created");
    Ok(Uploaded { session, preview })
}
