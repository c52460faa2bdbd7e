//! Liveness and readiness.

use std::{future::Future, time::Duration};

use axum::{
    Json, Router,
    extract::State,
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::{Value, json};

use crate::{error::ApiError, state::AppState};

/// How long the file store may take to answer a readiness check. Its client retries
/// a store that is down for several seconds; a probe needs its answer before that.
const FILES_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

/// The process is up and serving.
async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// The session store, the queue and the file store answer. All three are asked at
/// once, each within a bound (on Redis `redis_timeout_ms`), so a probe never hangs on
/// a store that does not answer. The answer names each check: 200 when all are
/// `ok`, else 503 with the usual error body.
async fn readyz(State(state): State<AppState>) -> Response {
    let redis_budget = state
        .settings
        .redis_url
        .is_some()
        .then(|| state.settings.stores().redis_timeout);
    let (sessions, queue, files) = tokio::join!(
        check("sessions", redis_budget, async {
            state.sessions.ping().await.map_err(|e| e.to_string())
        }),
        check("queue", redis_budget, state.queue.ping()),
        check("files", Some(FILES_CHECK_TIMEOUT), async {
            state.files.ping().await.map_err(|e| e.to_string())
        }),
    );
    let checks = json!({ "sessions": sessions, "queue": queue, "files": files });
    if [sessions, queue, files].iter().all(|c| *c == "ok") {
        return Json(json!({ "status": "ready", "checks": checks })).into_response();
    }
    ApiError::NotReady(checks).into_response()
}

/// One readiness check: `"ok"`, `"unavailable"` or `"timeout"`; a failure's cause is
/// logged, not shown.
async fn check(
    name: &'static str,
    budget: Option<Duration>,
    answer: impl Future<Output = Result<(), String>>,
) -> &'static str {
    let answered = match budget {
        Some(budget) => tokio::time::timeout(budget, answer).await.ok(),
        None => Some(answer.await),
    };
    match answered {
        Some(Ok(())) => "ok",
        Some(Err(cause)) => {
            tracing::warn!(check = name, %cause, "not ready");
            "unavailable"
        }
        None => {
            tracing::warn!(check = name, "not ready: no answer in time");
            "timeout"
        }
    }
}
