//! Building file download responses.

use axum::{
    body::Body,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use maplink::domain::{FileFormat, Session};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

fn content_type(format: FileFormat) -> &'static str {
    match format {
        FileFormat::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        FileFormat::Csv => "text/csv; charset=utf-8",
    }
}

/// `name.ext` → `name<suffix>.ext`.
fn with_suffix(name: &str, suffix: &str) -> String {
    match name.rsplit_once('.') {
        Some((stem, ext)) if !suffix.is_empty() => format!("{stem}{suffix}.{ext}"),
        _ => format!("{name}{suffix}"),
    }
}

/// The processed file as an attachment named `processed_<original name>` (with
/// `suffix` before the extension for the failed/skipped subsets): an ASCII fallback
/// from the sanitized name, and the original (UTF-8) in `filename*`. The body is
/// streamed from the store with its length announced, so a transfer cut short by a
/// store failure is seen as incomplete.
pub fn attachment(
    session: &Session,
    suffix: &str,
    (size, chunks): (u64, crate::service::sessions::FileChunks),
) -> Response {
    let original = session
        .original_filename
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(&session.sanitized_filename);
    let disposition = format!(
        "attachment; filename=\"processed_{}\"; filename*=UTF-8''{}",
        with_suffix(&session.sanitized_filename, suffix),
        utf8_percent_encode(
            &format!("processed_{}", with_suffix(original, suffix)),
            NON_ALPHANUMERIC
        )
    );
    let mut response = Body::from_stream(chunks).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(session.format)),
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}
