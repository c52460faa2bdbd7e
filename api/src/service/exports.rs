//! A completed session's points as GeoJSON, KML or GPX ([`maplink::export`]), built
//! on request from the processed sheet and the run's log rather than stored: an export
//! costs one read of each, and the session's files stay what the job wrote.

use maplink::{
    domain::{Session, SessionId, download_name},
    export::ExportFormat,
    files::SessionFile,
    sheet,
};

use crate::{
    access::Submitter,
    error::ApiResult,
    service::{results, sessions::touch},
    state::AppState,
};

/// The export of a completed session: (session, the file's bytes, rows left out for
/// having no coordinates). Conflicts until the session completed.
pub async fn export(
    state: &AppState,
    who: &Submitter,
    id: SessionId,
    format: ExportFormat,
) -> ApiResult<(Session, Vec<u8>, usize)> {
    let session = touch(state, who, id).await?;
    results::ensure_processed(state, &session).await?;
    let processed = state
        .files
        .read(id, SessionFile::Output(session.format))
        .await?;
    let log = state.files.read(id, SessionFile::Rows).await?;
    let sheet_format = session.format;
    let original = session.original_filename.rsplit(['/', '\\']).next();
    let title = download_name(original.unwrap_or_default(), "", Some(format.extension()));
    let (bytes, unlocated) = state
        .sheet_work
        .run(move || {
            // The processed sheet is the service's own file, within the limits it
            // was uploaded under (plus the coordinate columns).
            let book = sheet::read(&processed, sheet_format, &sheet::Limits::FORMAT)?;
            let text = std::str::from_utf8(&log)
                .map_err(|e| maplink::Error::Corrupt(format!("rows.jsonl: {e}")))?;
            let mut outcomes = Vec::new();
            for line in text.lines() {
                outcomes.extend(results::log_line(line)?);
            }
            maplink::export::export(format, &title, book.first(), &outcomes)
        })
        .await?;
    Ok((session, bytes, unlocated))
}
