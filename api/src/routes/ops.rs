//! The operators' surface: `/metrics` (Prometheus), `/api/v1/ops/stats` (JSON), the dead
//! list (`/api/v1/ops/dead-jobs`, in [`super::dead_jobs`]), and the `/ops` dashboard page
//! that renders them. Who may read the data and act on the dead list is decided by
//! [`OpsGate`] (the same rule as a worker's `/metrics`); the page itself holds no data
//! and stays open.

use std::{sync::Arc, time::Instant};

use axum::{
    Json, Router,
    extract::State,
    http::Method,
    middleware,
    response::{IntoResponse, Response},
    routing::{MethodRouter, get},
};
use maplink::ops::{LIVE_AFTER_BEATS, OpsGate, OpsRefusal};
use serde_json::{Value, json};

use crate::{error::ApiError, service::views::rfc3339, state::AppState};

const OPS_HTML: &str = include_str!("../web/ops.html");
const OPS_JS: &str = include_str!("../web/ops.js");

/// The v1 ops routes, all behind the gate; also read by the OpenAPI check.
pub fn table() -> Vec<(Method, &'static str, MethodRouter<AppState>)> {
    let mut routes = vec![(Method::GET, "/api/v1/ops/stats", get(stats))];
    routes.extend(super::dead_jobs::table());
    routes
}

pub fn router(state: AppState) -> Router<AppState> {
    let guarded = table()
        .into_iter()
        .fold(Router::new(), |r, (_, path, handler)| {
            r.route(path, handler)
        })
        .route(
            "/metrics",
            get(|State(s): State<AppState>| async move { s.metrics.render() }),
        )
        .route_layer(middleware::from_fn_with_state(
            Arc::new(OpsGate::from_settings(&state.settings)),
            gate,
        ));
    Router::new()
        .merge(guarded)
        .route("/ops", get(|| async { super::web::page(OPS_HTML) }))
        .route(
            "/assets/ops.js",
            get(|| async { super::web::asset(OPS_JS, "text/javascript; charset=utf-8") }),
        )
}

/// Lets a request through [`OpsGate`] (the rule the workers' `/metrics` follows too),
/// answering a refusal as the API answers every error.
async fn gate(
    State(gate): State<Arc<OpsGate>>,
    req: axum::extract::Request,
    next: middleware::Next,
) -> Response {
    match gate.check(req.headers()) {
        Ok(()) => next.run(req).await,
        Err(OpsRefusal::Unauthorized) => ApiError::OpsUnauthorized.into_response(),
        Err(OpsRefusal::Closed) => ApiError::OpsClosed.into_response(),
    }
}

/// Everything the dashboard shows, from the shared stores.
async fn stats(State(state): State<AppState>) -> Json<Value> {
    let now = state.clock.now_ms();
    let started = Instant::now();
    let census = state.sessions.census().await;
    let store_ms = started.elapsed().as_secs_f64() * 1000.0;
    let heartbeat_ms =
        i64::try_from(state.settings.queue().heartbeat.as_millis()).unwrap_or(i64::MAX);
    let live_cutoff = now - LIVE_AFTER_BEATS * heartbeat_ms;
    let queue = state.queue.depth().await;
    let workers = state.ops.workers().await.unwrap_or_default();
    let throughput = state.ops.throughput(60).await.unwrap_or_default();
    let cleanups = state.ops.recent_cleanups(20).await.unwrap_or_default();
    let resolution = state.ops.resolutions().await.unwrap_or_default();
    let minutes = |ms: i64| (ms as f64 / 6_000.0).round() / 10.0;
    Json(json!({
        "generated_at": rfc3339(now),
        "mode": if state.settings.redis_url.is_some() { "distributed" } else { "embedded" },
        "store": match &census {
            Ok(_) => json!({ "ok": true, "latency_ms": (store_ms * 10.0).round() / 10.0 }),
            Err(e) => json!({ "ok": false, "error": e.to_string() }),
        },
        "queue": match queue {
            Ok(d) => json!({
                "pending": d.pending, "scheduled": d.scheduled, "running": d.running,
                "done": d.done, "dead": d.dead,
                "oldest_pending_seconds": (d.oldest_pending_ms as f64 / 100.0).round() / 10.0,
            }),
            Err(e) => json!({ "error": e }),
        },
        "workers": workers.iter().map(|w| json!({
            "name": w.name, "host": w.host, "pid": w.pid,
            "started_at": rfc3339(w.started_ms), "last_heartbeat_at": rfc3339(w.last_heartbeat_ms),
            "heartbeat_age_s": ((now - w.last_heartbeat_ms).max(0) as f64 / 1000.0).round(),
            "live": w.last_heartbeat_ms >= live_cutoff, "in_flight": w.in_flight, "jobs_done": w.jobs_done,
        })).collect::<Vec<_>>(),
        "sessions": match &census {
            Ok(c) => json!({
                "by_status": c.by_status,
                "total": c.by_status.values().sum::<u64>(),
                "oldest_idle_minutes": c.oldest_last_seen_ms.map(|t| minutes((now - t).max(0))),
            }),
            Err(_) => Value::Null,
        },
        "ttl_minutes": state.settings.sessions().ttl.as_secs_f64() / 60.0,
        "throughput": throughput,
        "cleanups": cleanups.iter().map(|c| json!({
            "ran_at": rfc3339(c.ran_at_ms), "runner": c.runner,
            "sessions": c.sessions.iter().map(|s| json!({
                "id": s.id.short(), "age_minutes": minutes(s.age_ms), "idle_minutes": minutes(s.idle_ms), "status": s.status,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "resolution": resolution,
    }))
}
