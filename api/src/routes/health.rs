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

/// The session store and the queue answer.
async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    state.sessions.ping().await?;
    state.queue.ping().await.map_err(ApiError::Unavailable)?;
    Ok(Json(json!({ "status": "ready" })))
}
