//! Upload: store the multipart body's file as it arrives, validate it with the
//! original app's rules and messages (first failure wins), and create the session.

use axum::extract::{Multipart, multipart::MultipartError};
use maplink::{
    domain::{FileFormat, Session, SessionId},
    files::SessionFile,
    sheet::{self, Preview},
};

use super::upload_budget::HeldBody;
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
        ApiError::BadMultipart(e.body_text())
    }
}

/// The `file` part, stored as it arrives.
struct Received {
    filename: String,
    format: FileFormat,
    /// The bytes as they came, kept for reading the sheet: a workbook is a zip, whose
    /// directory is at its end, so it is read whole once it is all here (at most
    /// `max_upload_bytes`). In memory while uploads in flight fit their budget, else in
    /// a temporary file ([`super::upload_budget`]).
    body: HeldBody,
    size: u64,
}

/// Finds the `file` part (other parts are skipped) and writes it to the store as
/// `id`'s input while it arrives. Returning early for any reason drops the writer,
/// which aborts the write: a refused, cut-off or timed-out upload leaves no object.
async fn receive(
    state: &AppState,
    id: SessionId,
    multipart: &mut Multipart,
    limit: u64,
) -> ApiResult<Received> {
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| multipart_error(e, limit))?
    {
        if field.name() != Some("file") {
            continue;
        }
        let filename = field.file_name().unwrap_or_default().trim().to_owned();
        let format = FileFormat::from_filename(&filename);
        let mut writer = format.map(|f| state.files.writer(id, SessionFile::Input(f)));
        let mut body = state.upload_memory.body();
        let mut size = 0u64;
        // A part with a bad name is still read to its end, so that a body over the
        // limit is refused as too large first, as the original app did.
        while let Some(chunk) = field.chunk().await.map_err(|e| multipart_error(e, limit))? {
            size += chunk.len() as u64;
            if size > limit {
                return Err(ApiError::TooLarge { limit });
            }
            if let Some(writer) = writer.as_mut() {
                writer.write(chunk.clone()).await?;
                body.push(chunk).await?;
            }
        }
        if filename.is_empty() {
            return Err(ApiError::NoFileSelected);
        }
        let (Some(format), Some(writer)) = (format, writer) else {
            return Err(ApiError::UnsupportedFileType);
        };
        writer.finish().await?;
        return Ok(Received {
            filename,
            format,
            body,
            size,
        });
    }
    Err(ApiError::NoFile)
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
    check_quotas(state, 0).await?;
    let id = SessionId::random();
    // A client that trickles its upload (slow loris) is cut off.
    let body_timeout = state.settings.limits().body_timeout;
    let received = tokio::time::timeout(body_timeout, receive(state, id, &mut multipart, limit))
        .await
        .map_err(|_| ApiError::RequestTimeout)??;
    // From here the input is stored: a refusal removes it again. (A crash before the
    // session record exists leaves an object no session owns; the orphan sweep
    // removes it once it is older than the TTL.)
    match accept(state, who, id, received).await {
        Ok(uploaded) => Ok(uploaded),
        Err(refused) => {
            if let Err(e) = state.files.remove_session(id).await {
                tracing::warn!(session = %id, error = %e, "refused upload's file not removed; the orphan sweep will");
            }
            Err(refused)
        }
    }
}

/// Checks the stored upload against the quotas and the sheet rules, and creates its
/// session.
async fn accept(
    state: &AppState,
    who: &Submitter,
    id: SessionId,
    received: Received,
) -> ApiResult<Uploaded> {
    let Received {
        filename,
        format,
        body,
        size,
    } = received;
    check_quotas(state, size).await?;
    let limits = state.settings.sheet_limits();
    // Reading and checking a workbook is CPU work: on the bounded sheet pool, never on
    // the async executor. Only the header and the preview rows are kept.
    let scan = state
        .sheet_work
        .run(move || {
            let bytes = body
                .into_bytes()
                .map_err(|e| maplink::Error::Invalid(format!("upload spool unreadable: {e}")))?;
            sheet::scan(&bytes, format, &limits, sheet::PREVIEW_ROWS)
        })
        .await?;
    let columns = sheet::find_columns(scan.head.header())
        .map_err(|e| ApiError::MissingColumns(e.to_string()))?;

    let mut session = Session::new(
        &filename,
        format,
        &columns.map_header,
        scan.data_rows,
        state.clock.now_ms(),
    );
    session.id = id;
    session.owner = who.0.clone();
    let preview = sheet::preview(&scan.head, scan.width);
    state.sessions.create(&session).await?;
    state.usage.added(size).await;
    metrics::counter!(maplink::metrics::UPLOADS).increment(1);
    metrics::counter!(maplink::metrics::UPLOAD_BYTES).increment(size);
    metrics::counter!(maplink::metrics::SESSIONS_CREATED).increment(1);
    tracing::info!(session = %session.id, rows = session.total_rows, format = format.extension(), "session created");
    Ok(Uploaded { session, preview })
}
