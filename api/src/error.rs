//! `ApiError`: every error the HTTP edge answers with, one variant each. A variant
//! knows its status ([`ApiError::status`]), its stable code ([`ApiError::code`]) and its
//! message ([`ApiError::message`]); call sites name the error
//! (`ApiError::InvalidFormat`), never a code or a status. Handlers, middlewares,
//! rejections and the fallbacks all answer through it, so the body is always
//! `{"error": "<message for people>", "code": "<stable code for scripts>"}`, plus the
//! fields a few errors add (`expired_at` and `idle_minutes` with `session_expired`,
//! `checks` from `/readyz`).
//!
//! Policy: 4xx messages say what was wrong and what to do; 5xx bodies are generic and
//! their cause is logged once, here, never sent to the client.
//!
//! Codes are part of the API: scripts branch on them, the README quotes them, and the
//! OpenAPI document names each one the v1 routes can answer (a test holds the document
//! and [`ApiError::catalogue`] equal). A code keeps its meaning for good; several
//! errors may share one (`invalid_query` is any malformed query parameter). The
//! original app's routes answer these same errors in that app's shapes (see
//! `routes/compat.rs`).

use std::borrow::Cow;

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use maplink::{domain::Tombstone, ops::OpsRefusal};
use serde_json::{Value, json};

use crate::limits::Kind;

/// The message the original app introduced for unknown or expired ids; the event
/// streams also send it when a session goes away under them.
pub const SESSION_EXPIRED_MESSAGE: &str =
    "Invalid session ID. Your session may have expired. Please upload the file again.";

/// Seconds a client is told to wait after a 503 of a store or of a quota.
const RETRY_AFTER_UNAVAILABLE: u64 = 5;
/// Seconds a client refused an event stream is told to wait.
const RETRY_AFTER_STREAMS: u64 = 10;
/// Seconds a client with too many uploads in flight is told to wait.
const RETRY_AFTER_UPLOADS: u64 = 5;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    // 400: the request itself is wrong.
    /// A path id that is not a session id (checked before any lookup).
    #[error("malformed session id")]
    InvalidSessionId,
    /// `POST …/process?details=` other than true or false.
    #[error("invalid details parameter")]
    InvalidDetails,
    /// `GET …/download?rows=` other than all, failed or skipped (or a malformed query).
    #[error("invalid rows parameter")]
    InvalidRows,
    /// `GET …/download?format=` other than geojson, kml or gpx.
    #[error("invalid format parameter")]
    InvalidFormat,
    /// `GET …/download?format=…&rows=failed|skipped`: exports hold located rows only.
    #[error("export of a row subset")]
    ExportOfRowSubset,
    /// `GET …/rows` with a malformed status, offset or limit.
    #[error("invalid rows query")]
    InvalidRowsQuery,
    /// `GET /api/v1/ops/dead-jobs?limit=` that is not a whole number.
    #[error("invalid limit parameter")]
    InvalidLimit,
    /// The multipart body could not be read; the detail says where it broke.
    #[error("malformed multipart: {0}")]
    BadMultipart(String),
    /// No `file` part at all.
    #[error("no file part")]
    NoFile,
    /// A `file` part without a file name.
    #[error("no file name")]
    NoFileSelected,
    /// A file name that ends in neither .xlsx nor .csv.
    #[error("unsupported file type")]
    UnsupportedFileType,
    /// The sheet lacks the map column or the name and region columns; the message
    /// names what is missing and what was found.
    #[error("{0}")]
    MissingColumns(String),
    /// The file is not a sheet maplink can read; the reason says why.
    #[error("unreadable file: {0}")]
    UnreadableFile(String),

    // 401 and 403: who is calling.
    /// A session route without a known submitter token (`WWW-Authenticate: Bearer`).
    #[error("missing or invalid access token")]
    Unauthorized,
    /// Operator data without the ops token (`WWW-Authenticate: Bearer`).
    #[error("missing or invalid ops token")]
    OpsUnauthorized,
    /// Operator data on a service with submitter tokens and no ops token.
    #[error("operator data is closed")]
    OpsClosed,
    /// Operator data with no ops token set, from a client not on this machine.
    #[error("operator data is local only")]
    OpsNotLocal,
    /// An operator action (POST, DELETE) sent from another site's page.
    #[error("cross-site operator action")]
    CrossSite,

    // 404: nothing here.
    /// An unknown id, another token's session, or (with its tombstone) an expired one.
    #[error("session not found")]
    SessionNotFound(Option<Tombstone>),
    /// No dead job has this task id.
    #[error("dead job not found")]
    DeadJobNotFound,
    /// No such route (the router's fallback).
    #[error("not found")]
    RouteNotFound,

    // 405, 408.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The upload's body did not arrive within `request_body_timeout_secs`.
    #[error("the request body took too long")]
    RequestTimeout,

    // 409: the session (or dead job) is not in a state that allows this.
    #[error("already processing")]
    AlreadyProcessing,
    #[error("not processed")]
    NotProcessed,
    /// A newer run started while `POST /process/<id>` waited for this one (the
    /// original app's route only: the v1 route does not wait).
    #[error("superseded by a newer run")]
    Superseded,
    /// A dead job whose payload does not decode.
    #[error("dead job not retryable")]
    NotRetryable,
    /// A dead job whose session expired or was deleted.
    #[error("dead job's session gone")]
    SessionGone,
    /// A dead job whose session is queued or processing.
    #[error("dead job's session busy")]
    SessionBusy,
    /// A dead job whose session has been retried from the dead list as often as it may.
    #[error("dead job retried too often")]
    RetriesExhausted { limit: u32 },

    // 413, 415.
    /// The upload is over `max_upload_bytes`.
    #[error("upload larger than {limit} bytes")]
    TooLarge { limit: u64 },
    /// The sheet is over a row, column, cell or text limit; the message names it.
    #[error("{0}")]
    SheetTooLarge(String),
    /// An upload that is not `multipart/form-data`.
    #[error("not a multipart upload")]
    NotMultipart,
    /// An operator action without `Content-Type: application/json` (which a plain HTML
    /// form cannot send).
    #[error("operator action without a JSON content type")]
    JsonRequired,

    // 429: this client asks too much (`Retry-After`).
    /// Over the client's rate limit of `kind`; `wait_secs` until one more is allowed.
    #[error("rate limited: {kind:?}, {wait_secs} s")]
    RateLimited { kind: Kind, wait_secs: u64 },
    /// The client holds `limit` event streams already.
    #[error("too many streams ({limit})")]
    TooManyStreams { limit: usize },
    /// The client is sending `limit` uploads already.
    #[error("too many uploads in flight ({limit})")]
    TooManyUploads { limit: usize },

    // 500.
    /// A bug or a broken invariant; the cause is logged, never sent.
    #[error("internal: {0}")]
    Internal(String),
    /// The run the original app's `POST /process/<id>` waited for failed; the reason
    /// is the run's own (it is shown to the submitter, as the original app did).
    #[error("run failed: {0}")]
    RunFailed(String),

    // 503: try again later (`Retry-After`).
    /// A store or the queue does not answer; the cause is logged.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// `/readyz`: a dependency is not ready; `checks` names each check's state.
    #[error("not ready")]
    NotReady(Value),
    /// Every sheet thread is taken and the line for them is full.
    #[error("busy reading other uploads")]
    Busy,
    /// A global quota (live sessions or stored bytes) is reached; the cause is logged.
    #[error("storage full: {0}")]
    StorageFull(String),
    /// The process follows as many event streams as it may.
    #[error("streams full")]
    StreamsFull,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidSessionId
            | Self::InvalidDetails
            | Self::InvalidRows
            | Self::InvalidFormat
            | Self::ExportOfRowSubset
            | Self::InvalidRowsQuery
            | Self::InvalidLimit
            | Self::BadMultipart(_)
            | Self::NoFile
            | Self::NoFileSelected
            | Self::UnsupportedFileType
            | Self::MissingColumns(_)
            | Self::UnreadableFile(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized | Self::OpsUnauthorized => StatusCode::UNAUTHORIZED,
            Self::OpsClosed | Self::OpsNotLocal | Self::CrossSite => StatusCode::FORBIDDEN,
            Self::SessionNotFound(_) | Self::DeadJobNotFound | Self::RouteNotFound => {
                StatusCode::NOT_FOUND
            }
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::AlreadyProcessing
            | Self::NotProcessed
            | Self::Superseded
            | Self::NotRetryable
            | Self::SessionGone
            | Self::SessionBusy
            | Self::RetriesExhausted { .. } => StatusCode::CONFLICT,
            Self::TooLarge { .. } | Self::SheetTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::NotMultipart | Self::JsonRequired => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::RateLimited { .. }
            | Self::TooManyStreams { .. }
            | Self::TooManyUploads { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal(_) | Self::RunFailed(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable(_)
            | Self::NotReady(_)
            | Self::Busy
            | Self::StorageFull(_)
            | Self::StreamsFull => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The stable code scripts branch on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidSessionId => "invalid_session_id",
            Self::InvalidDetails
            | Self::ExportOfRowSubset
            | Self::InvalidRowsQuery
            | Self::InvalidLimit => "invalid_query",
            Self::InvalidRows => "invalid_rows",
            Self::InvalidFormat => "invalid_format",
            Self::BadMultipart(_) => "bad_multipart",
            Self::NoFile => "no_file",
            Self::NoFileSelected => "no_file_selected",
            Self::UnsupportedFileType => "unsupported_file_type",
            Self::MissingColumns(_) => "missing_columns",
            Self::UnreadableFile(_) => "unreadable_file",
            Self::Unauthorized | Self::OpsUnauthorized => "unauthorized",
            Self::OpsClosed | Self::OpsNotLocal => "forbidden",
            Self::CrossSite => "cross_site",
            Self::SessionNotFound(None) => "session_not_found",
            Self::SessionNotFound(Some(_)) => "session_expired",
            Self::DeadJobNotFound => "dead_job_not_found",
            Self::RouteNotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::RequestTimeout => "request_timeout",
            Self::AlreadyProcessing => "already_processing",
            Self::NotProcessed => "not_processed",
            Self::Superseded => "superseded",
            Self::NotRetryable => "not_retryable",
            Self::SessionGone => "session_gone",
            Self::SessionBusy => "session_busy",
            Self::RetriesExhausted { .. } => "retries_exhausted",
            Self::TooLarge { .. } => "payload_too_large",
            Self::SheetTooLarge(_) => "sheet_too_large",
            Self::NotMultipart | Self::JsonRequired => "unsupported_media_type",
            Self::RateLimited { .. } => "rate_limited",
            Self::TooManyStreams { .. } => "too_many_streams",
            Self::TooManyUploads { .. } => "too_many_uploads",
            Self::Internal(_) => "internal",
            Self::RunFailed(_) => "run_failed",
            Self::Unavailable(_) | Self::NotReady(_) => "unavailable",
            Self::Busy => "busy",
            Self::StorageFull(_) => "storage_full",
            Self::StreamsFull => "streams_full",
        }
    }

    /// The message for people: what was wrong and what to do (generic for a 5xx).
    pub fn message(&self) -> Cow<'static, str> {
        let text: &'static str = match self {
            Self::InvalidSessionId => {
                "Invalid session ID format. Session IDs look like 3f2a9c1e-7b6d-4c1a-9e0f-2b8d4a6c1e5f."
            }
            Self::InvalidDetails => "details must be true or false",
            Self::InvalidRows => "rows must be all, failed or skipped",
            Self::InvalidFormat => "format must be geojson, kml or gpx",
            Self::ExportOfRowSubset => {
                "rows=failed and rows=skipped are sheets only: failed and skipped rows have no coordinates to export"
            }
            Self::InvalidRowsQuery => {
                "status must be success, failed or skipped; offset and limit whole numbers"
            }
            Self::InvalidLimit => "limit must be a whole number",
            Self::BadMultipart(detail) => {
                return format!("The upload could not be read: {detail}").into();
            }
            Self::NoFile => "No file uploaded",
            Self::NoFileSelected => "No file selected",
            Self::UnsupportedFileType => "Only .xlsx or .csv files are allowed",
            Self::MissingColumns(message) | Self::SheetTooLarge(message) => {
                return message.clone().into();
            }
            Self::UnreadableFile(reason) | Self::RunFailed(reason) => {
                return format!("Error processing file: {reason}").into();
            }
            Self::Unauthorized => "Missing or invalid access token.",
            Self::OpsUnauthorized => OpsRefusal::Unauthorized.message(),
            Self::OpsClosed => OpsRefusal::Closed.message(),
            Self::OpsNotLocal => OpsRefusal::NotLocal.message(),
            Self::CrossSite => {
                "Operator actions are accepted only from this service's own pages or from scripts, not from another site."
            }
            Self::SessionNotFound(_) => SESSION_EXPIRED_MESSAGE,
            Self::DeadJobNotFound => {
                "No dead job has this task id: it was retried or deleted already, or trimmed from the dead list."
            }
            Self::RouteNotFound => "Not found",
            Self::MethodNotAllowed => "Method not allowed",
            Self::RequestTimeout => {
                "The upload took too long to arrive. Please try again on a faster connection."
            }
            Self::AlreadyProcessing => "File is already being processed",
            Self::NotProcessed => "File has not been processed yet",
            Self::Superseded => "A newer run of this file was started",
            Self::NotRetryable => {
                "This job's payload cannot be decoded, so there is no session to run again. Delete it instead."
            }
            Self::SessionGone => {
                "This job's session no longer exists (it expired or was deleted), so there is nothing to run again. Delete the job instead."
            }
            Self::SessionBusy => {
                "This job's session is already queued or processing. Retry once that run has finished."
            }
            Self::RetriesExhausted { limit } => {
                return format!(
                    "This job's session has been retried from the dead list {limit} times already; it stays dead. Delete the job, or upload the sheet again."
                )
                .into();
            }
            Self::TooLarge { limit } => {
                return format!(
                    "File too large. The maximum upload size is {}.",
                    human_bytes(*limit)
                )
                .into();
            }
            Self::NotMultipart => {
                "Expected a multipart/form-data upload with the spreadsheet in a field named \"file\""
            }
            Self::JsonRequired => {
                "Operator actions need the header Content-Type: application/json."
            }
            Self::RateLimited { kind, wait_secs } => {
                let what = match kind {
                    Kind::Upload => "uploads",
                    Kind::Process => "processing requests",
                };
                return format!("Too many {what}. Please wait {wait_secs} seconds and try again.")
                    .into();
            }
            Self::TooManyStreams { limit } => {
                return format!(
                    "Too many open event streams: a client may follow at most {limit} at once. Close one, or try again in {RETRY_AFTER_STREAMS} seconds."
                )
                .into();
            }
            Self::TooManyUploads { limit } => {
                return format!(
                    "Too many uploads at once: a client may send at most {limit} at a time. Wait for one to finish, or try again in {RETRY_AFTER_UPLOADS} seconds."
                )
                .into();
            }
            Self::Internal(_) => "Internal server error",
            Self::Unavailable(_) | Self::NotReady(_) => {
                "The service is temporarily unavailable. Please try again shortly."
            }
            Self::Busy => {
                "The service is busy reading other uploads. Please try again in a few seconds."
            }
            Self::StorageFull(_) => {
                "The service is holding as many files as it can right now. Please try again later."
            }
            Self::StreamsFull => {
                "The service is following as many event streams as it can. Please try again shortly."
            }
        };
        Cow::Borrowed(text)
    }

    /// Seconds for `Retry-After`: every 429 and 503 says when to try again.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::RateLimited { wait_secs, .. } => Some(*wait_secs),
            Self::TooManyStreams { .. } | Self::StreamsFull => Some(RETRY_AFTER_STREAMS),
            Self::TooManyUploads { .. } => Some(RETRY_AFTER_UPLOADS),
            Self::Unavailable(_) | Self::NotReady(_) | Self::Busy | Self::StorageFull(_) => {
                Some(RETRY_AFTER_UNAVAILABLE)
            }
            _ => None,
        }
    }

    /// The JSON body, without the status.
    pub fn body(&self) -> Value {
        let mut body = json!({ "error": self.message(), "code": self.code() });
        match self {
            Self::SessionNotFound(Some(t)) => {
                body["expired_at"] = json!(crate::service::views::rfc3339(t.expired_at_ms));
                body["idle_minutes"] = json!((t.idle_ms as f64 / 6000.0).round() / 10.0);
            }
            Self::NotReady(checks) => body["checks"] = checks.clone(),
            _ => {}
        }
        body
    }

    /// The answer with `status` in place of the error's own, for the original app's
    /// routes, which answered some errors with another status (400 for an unknown
    /// session on `/process`). Body and headers stay this error's.
    pub fn into_response_with_status(self, status: StatusCode) -> Response {
        let mut response = self.into_response();
        *response.status_mut() = status;
        response
    }

    /// Answered only by the original app's routes, which the OpenAPI document does not
    /// describe.
    pub fn seed_only(&self) -> bool {
        matches!(self, Self::Superseded | Self::RunFailed(_))
    }

    /// One error of every variant (both kinds of [`ApiError::SessionNotFound`]), in
    /// the enum's order: what the OpenAPI check compares the document with. A new
    /// variant belongs here too.
    pub fn catalogue() -> Vec<ApiError> {
        let tombstone = Tombstone {
            id: maplink::domain::SessionId::random(),
            expired_at_ms: 0,
            idle_ms: 0,
            status: maplink::domain::SessionStatus::Uploaded,
        };
        vec![
            Self::InvalidSessionId,
            Self::InvalidDetails,
            Self::InvalidRows,
            Self::InvalidFormat,
            Self::ExportOfRowSubset,
            Self::InvalidRowsQuery,
            Self::InvalidLimit,
            Self::BadMultipart(String::new()),
            Self::NoFile,
            Self::NoFileSelected,
            Self::UnsupportedFileType,
            Self::MissingColumns(String::new()),
            Self::UnreadableFile(String::new()),
            Self::Unauthorized,
            Self::OpsUnauthorized,
            Self::OpsClosed,
            Self::OpsNotLocal,
            Self::CrossSite,
            Self::SessionNotFound(None),
            Self::SessionNotFound(Some(tombstone)),
            Self::DeadJobNotFound,
            Self::RouteNotFound,
            Self::MethodNotAllowed,
            Self::RequestTimeout,
            Self::AlreadyProcessing,
            Self::NotProcessed,
            Self::Superseded,
            Self::NotRetryable,
            Self::SessionGone,
            Self::SessionBusy,
            Self::RetriesExhausted { limit: 0 },
            Self::TooLarge { limit: 0 },
            Self::SheetTooLarge(String::new()),
            Self::NotMultipart,
            Self::JsonRequired,
            Self::RateLimited {
                kind: Kind::Upload,
                wait_secs: 1,
            },
            Self::TooManyStreams { limit: 0 },
            Self::TooManyUploads { limit: 0 },
            Self::Internal(String::new()),
            Self::RunFailed(String::new()),
            Self::Unavailable(String::new()),
            Self::NotReady(Value::Null),
            Self::Busy,
            Self::StorageFull(String::new()),
            Self::StreamsFull,
        ]
    }
}

fn human_bytes(n: u64) -> String {
    if n >= 1024 * 1024 && n.is_multiple_of(1024 * 1024) {
        format!("{} MiB", n / (1024 * 1024))
    } else if n >= 1024 && n.is_multiple_of(1024) {
        format!("{} KiB", n / 1024)
    } else {
        format!("{n} bytes")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            Self::Internal(cause) => tracing::error!(%cause, "internal error"),
            Self::Unavailable(cause) => tracing::warn!(%cause, "dependency unavailable"),
            Self::StorageFull(cause) => tracing::warn!(%cause, "upload refused: quota reached"),
            _ => {}
        }
        let mut response = (self.status(), Json(self.body())).into_response();
        let headers = response.headers_mut();
        if let Some(secs) = self.retry_after() {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if matches!(self, Self::Unauthorized | Self::OpsUnauthorized) {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<maplink::Error> for ApiError {
    fn from(e: maplink::Error) -> Self {
        match e {
            // A store that is down (after the store client's retries) is a 503 the
            // client may retry; a file missing where a session says it exists is ours.
            maplink::Error::Redis(_) | maplink::Error::Sqlite(_) => {
                Self::Unavailable(e.to_string())
            }
            maplink::Error::Storage { .. } if !e.is_missing_file() => {
                Self::Unavailable(e.to_string())
            }
            maplink::Error::TooLarge(message) => Self::SheetTooLarge(message),
            maplink::Error::Sheet(reason) => Self::UnreadableFile(reason),
            other => Self::Internal(other.to_string()),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_is_a_4xx_or_5xx_with_a_code_for_scripts() {
        for e in ApiError::catalogue() {
            let status = e.status();
            assert!(
                status.is_client_error() || status.is_server_error(),
                "{e:?}"
            );
            assert!(
                e.code()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{e:?}"
            );
            let retry = e.retry_after().is_some();
            assert_eq!(
                retry,
                status == StatusCode::TOO_MANY_REQUESTS
                    || status == StatusCode::SERVICE_UNAVAILABLE,
                "{e:?}: every 429 and 503, and only those, say when to try again"
            );
        }
    }

    #[test]
    fn server_errors_say_nothing_of_their_cause() {
        for e in [
            ApiError::Internal("secret path /var/x".into()),
            ApiError::Unavailable("redis at 10.0.0.1".into()),
            ApiError::StorageFull("12 live sessions".into()),
        ] {
            let body = e.body().to_string();
            assert!(
                !body.contains("10.0.0.1") && !body.contains("/var/x") && !body.contains("12 live"),
                "{body}"
            );
        }
    }

    #[test]
    fn an_expired_session_says_when_and_after_how_long_idle() {
        let e = ApiError::SessionNotFound(Some(Tombstone {
            id: maplink::domain::SessionId::random(),
            expired_at_ms: 0,
            idle_ms: 90_000,
            status: maplink::domain::SessionStatus::Uploaded,
        }));
        let body = e.body();
        assert_eq!(body["code"], "session_expired");
        assert_eq!(body["error"], SESSION_EXPIRED_MESSAGE);
        assert_eq!(body["idle_minutes"], 1.5);
        assert_eq!(body["expired_at"], "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn upload_limits_are_named_in_whole_units() {
        assert_eq!(
            ApiError::TooLarge { limit: 4096 }.message(),
            "File too large. The maximum upload size is 4 KiB."
        );
        assert_eq!(
            ApiError::TooLarge {
                limit: 50 * 1024 * 1024
            }
            .message(),
            "File too large. The maximum upload size is 50 MiB."
        );
        assert_eq!(
            ApiError::TooLarge { limit: 1000 }.message(),
            "File too large. The maximum upload size is 1000 bytes."
        );
    }
}
