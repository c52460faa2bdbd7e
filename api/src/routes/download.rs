//! Building file download responses: the processed sheet (or its failed/skipped rows)
//! and the map exports.

use axum::{
    body::Body,
    http::{HeaderName, HeaderValue, header},
    response::{IntoResponse, Response},
};
use maplink::{
    domain::{FileFormat, Session, download_name},
    export::ExportFormat,
};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

use crate::layers::KeepLength;

/// How many rows of the run an export left out for having no coordinates.
pub const UNLOCATED_ROWS: HeaderName = HeaderName::from_static("maplink-unlocated-rows");

fn content_type(format: FileFormat) -> &'static str {
    match format {
        FileFormat::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        FileFormat::Csv => "text/csv; charset=utf-8",
    }
}

/// The download's name, `processed_<original name>` with `suffix` before the
/// extension (and `extension` in place of the sheet's for an export): an ASCII
/// fallback from the sanitized name, and the original (UTF-8) in `filename*`.
fn disposition(session: &Session, suffix: &str, extension: Option<&str>) -> Option<HeaderValue> {
    let original = session
        .original_filename
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(&session.sanitized_filename);
    let value = format!(
        "attachment; filename=\"{}\"; filename*=UTF-8''{}",
        download_name(&session.sanitized_filename, suffix, extension),
        utf8_percent_encode(
            &download_name(original, suffix, extension),
            NON_ALPHANUMERIC
        )
    );
    HeaderValue::from_str(&value).ok()
}

fn with_headers(
    mut response: Response,
    length: u64,
    content_type: &'static str,
    disposition: Option<HeaderValue>,
) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Some(v) = disposition {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

/// The processed file as an attachment (`suffix` names the failed/skipped subsets).
/// The body is streamed from the store with its length announced, so a transfer cut
/// short by a store failure is seen as incomplete.
pub fn attachment(
    session: &Session,
    suffix: &str,
    (size, chunks): (u64, crate::service::sessions::FileChunks),
) -> Response {
    let mut response = with_headers(
        Body::from_stream(chunks).into_response(),
        size,
        content_type(session.format),
        disposition(session, suffix, None),
    );
    // The length must reach the client as announced, so no compression.
    response.extensions_mut().insert(KeepLength);
    response
}

/// An export as an attachment, with the count of rows it left out in a header.
pub fn export_attachment(
    session: &Session,
    format: ExportFormat,
    bytes: Vec<u8>,
    unlocated: usize,
) -> Response {
    let length = bytes.len() as u64;
    let mut response = with_headers(
        Body::from(bytes).into_response(),
        length,
        format.content_type(),
        disposition(session, "", Some(format.extension())),
    );
    response
        .headers_mut()
        .insert(UNLOCATED_ROWS, HeaderValue::from(unlocated));
    response
}
