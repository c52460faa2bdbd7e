//! Liveness and readiness.

use axum::{Json, Router, extract::State, routing::get};
use serde_json::{Value, json};

use crate::{error::ApiError, state::AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

/// The process is up and serving.
async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// The session store and the queue answer. Both are asked at once; on Redis the
/// answer comes within `redis_timeout_ms` whatever state Redis is in, so a probe
/// never hangs on a store that does not answer.
async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let checks = async {
        let (sessions, queue) = tokio::join!(state.sessions.ping(), state.queue.ping());
        sessions?;
        queue.map_err(ApiError::Unavailable)
    };
    if state.settings.redis_url.is_some() {
        tokio::time::timeout(state.settings.redis_timeout(), checks)
            .await
            .map_err(|_| ApiError::Unavailable("readiness checks timed out".into()))??;
    } else {
        checks.await?;
    }
    Ok(Json(json!({ "status": "ready" })))
}
