//! `ApiError`: every failure the HTTP edge can answer with, mapped to a status code and a
//! JSON body `{"error": "<message for people>", "code": "<stable code for scripts>"}`.
//!
//! Policy: 4xx messages say what was wrong and what to do; 5xx bodies are generic and
//! their cause is logged once, here, never sent to the client.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use maplink::domain::Tombstone;
use serde_json::{Value, json};

/// The message the original app introduced for unknown or expired ids.
pub const SESSION_EXPIRED_MESSAGE: &str =
    "Invalid session ID. Your session may have expired. Please upload the file again.";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("session not found")]
    SessionNotFound(Option<Tombstone>),
    /// Something other than a session, named by the code (`dead_job_not_found`).
    #[error("{message}")]
    NotFound { code: &'static str, message: String },
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("upload larger than {limit} bytes")]
    TooLarge { limit: u64 },
    /// The sheet is over a row, column, cell or text limit; the message names it.
    #[error("{0}")]
    SheetTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("the request body took too long")]
    RequestTimeout,
    #[error("not found")]
    RouteNotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// Every sheet thread is taken and the line for them is full.
    #[error("busy reading other uploads")]
    Busy,
    /// A global quota (live sessions or stored bytes) is reached.
    #[error("storage full: {0}")]
    StorageFull(String),
    #[error("internal: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
        }
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::NotFound {
            code,
            message: message.into(),
        }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::SessionNotFound(_) | Self::NotFound { .. } | Self::RouteNotFound => {
                StatusCode::NOT_FOUND
            }
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::TooLarge { .. } | Self::SheetTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Unavailable(_) | Self::Busy | Self::StorageFull(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The JSON body, without the status.
    pub fn body(&self) -> Value {
        match self {
            Self::BadRequest { code, message }
            | Self::NotFound { code, message }
            | Self::Conflict { code, message } => {
                json!({ "error": message, "code": code })
            }
            Self::SessionNotFound(None) => {
                json!({ "error": SESSION_EXPIRED_MESSAGE, "code": "session_not_found" })
            }
            Self::SessionNotFound(Some(t)) => json!({
                "error": SESSION_EXPIRED_MESSAGE,
                "code": "session_expired",
                "expired_at": crate::service::views::rfc3339(t.expired_at_ms),
                "idle_minutes": (t.idle_ms as f64 / 6000.0).round() / 10.0,
            }),
            Self::TooLarge { limit } => json!({
                "error": format!("File too large. The maximum upload size is {}.", human_bytes(*limit)),
                "code": "payload_too_large",
            }),
            Self::SheetTooLarge(message) => json!({ "error": message, "code": "sheet_too_large" }),
            Self::UnsupportedMediaType(message) => {
                json!({ "error": message, "code": "unsupported_media_type" })
            }
            Self::RouteNotFound => json!({ "error": "Not found", "code": "not_found" }),
            Self::RequestTimeout => json!({
                "error": "The upload took too long to arrive. Please try again on a faster connection.",
                "code": "request_timeout",
            }),
            Self::MethodNotAllowed => {
                json!({ "error": "Method not allowed", "code": "method_not_allowed" })
            }
            Self::Unavailable(_) => json!({
                "error": "The service is temporarily unavailable. Please try again shortly.",
                "code": "unavailable",
            }),
            Self::Busy => json!({
                "error": "The service is busy reading other uploads. Please try again in a few seconds.",
                "code": "busy",
            }),
            Self::StorageFull(_) => json!({
                "error": "The service is holding as many files as it can right now. Please try again later.",
                "code": "storage_full",
            }),
            Self::Internal(_) => json!({ "error": "Internal server error", "code": "internal" }),
        }
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
        if matches!(
            self,
            Self::Unavailable(_) | Self::Busy | Self::StorageFull(_)
        ) {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
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
            maplink::Error::Sheet(reason) => Self::bad_request(
                "unreadable_file",
                format!("Error processing file: {reason}"),
            ),
            other => Self::Internal(other.to_string()),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
