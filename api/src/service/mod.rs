//! The service layer both HTTP surfaces share: upload, look up, process, download,
//! renew and delete sessions. Handlers only translate HTTP to these calls and back.

pub mod events;
pub mod exports;
pub mod results;
pub mod row_views;
pub mod sessions;
pub mod sheet_work;
pub mod upload;
pub mod upload_budget;
pub mod usage;
pub mod views;

use crate::error::{ApiError, ApiResult};

/// Runs file or sheet work on a blocking thread; a panicked task is an internal error.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> maplink::Result<T> + Send + 'static,
) -> ApiResult<T> {
    Ok(tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??)
}
