//! What operators see of a process: gauges computed from the shared store (sessions by
//! status, queue depth, live workers, last cleanup), this worker's presence heartbeat
//! for the ops dashboard, a worker's own `/metrics` listener, and who may read any of
//! it ([`OpsGate`], in `maplink::ops`, the rule of the API's `/metrics` and
//! `/api/v1/ops/stats` too).

use std::{net::SocketAddr, sync::Arc, sync::atomic::Ordering, time::Duration};

use axum::{
    Json, Router,
    extract::{ConnectInfo, Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
};
use maplink::metrics::PrometheusHandle;
use maplink::{
    domain::now_ms,
    metrics as m,
    ops::{LIVE_AFTER_BEATS, OpsGate, OpsRefusal, OpsStore, WorkerInfo},
    session::SessionStore,
    shutdown::Shutdown,
};
use serde_json::json;

use crate::{queue::QueueBackend, state::WorkerState};

const GAUGES_EVERY: Duration = Duration::from_secs(5);

/// Refreshes the store-derived gauges every few seconds until shutdown. Every process
/// exporting metrics runs this (the values are the same everywhere; alerts take max).
pub fn spawn_gauges(
    sessions: Arc<dyn SessionStore>,
    queue: QueueBackend,
    ops: Arc<dyn OpsStore>,
    heartbeat: Duration,
    handle: PrometheusHandle,
    shutdown: Shutdown,
) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(GAUGES_EVERY);
        loop {
            tokio::select! {
                _ = shutdown.clone().wait() => return,
                _ = tick.tick() => {}
            }
            refresh(&*sessions, &queue, &*ops, heartbeat).await;
            handle.run_upkeep();
        }
    });
}

async fn refresh(
    sessions: &dyn SessionStore,
    queue: &QueueBackend,
    ops: &dyn OpsStore,
    heartbeat: Duration,
) {
    match sessions.census().await {
        Ok(census) => {
            metrics::gauge!(m::STORE_UP).set(1.0);
            for (status, n) in &census.by_status {
                metrics::gauge!(m::SESSIONS, "status" => status.clone()).set(*n as f64);
            }
            let idle = census
                .oldest_last_seen_ms
                .map_or(0, |t| (now_ms() - t).max(0));
            metrics::gauge!(m::SESSION_OLDEST_IDLE).set(idle as f64 / 1000.0);
        }
        Err(e) => {
            metrics::gauge!(m::STORE_UP).set(0.0);
            tracing::warn!(error = %e, "session census failed");
        }
    }
    if let Ok(d) = queue.depth().await {
        for (state, n) in [
            ("pending", d.pending),
            ("scheduled", d.scheduled),
            ("running", d.running),
            ("dead", d.dead),
        ] {
            metrics::gauge!(m::QUEUE_DEPTH, "state" => state).set(n as f64);
        }
        metrics::gauge!(m::QUEUE_OLDEST_PENDING).set(d.oldest_pending_ms as f64 / 1000.0);
    }
    if let Ok(workers) = ops.workers().await {
        let cutoff = now_ms() - LIVE_AFTER_BEATS * heartbeat.as_millis() as i64;
        let live = workers
            .iter()
            .filter(|w| w.last_heartbeat_ms >= cutoff)
            .count();
        metrics::gauge!(m::LIVE_WORKERS).set(live as f64);
    }
    if let Ok(Some(last)) = ops.recent_cleanups(1).await.map(|c| c.into_iter().next()) {
        metrics::gauge!(m::CLEANUP_LAST_RUN).set(last.ran_at_ms as f64 / 1000.0);
    }
}

/// Tells the ops dashboard this worker is alive, what it runs and what it has done.
pub fn spawn_presence(state: WorkerState, shutdown: Shutdown) {
    let started_ms = now_ms();
    let host = gethostname::gethostname().to_string_lossy().into_owned();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(state.settings.queue().heartbeat);
        loop {
            tokio::select! {
                _ = shutdown.clone().wait() => return,
                _ = tick.tick() => {}
            }
            let info = WorkerInfo {
                name: state.process_name.to_string(),
                host: host.clone(),
                pid: std::process::id(),
                started_ms,
                last_heartbeat_ms: now_ms(),
                in_flight: state.in_flight.load(Ordering::Relaxed),
                jobs_done: state.jobs_done.load(Ordering::Relaxed),
            };
            match state.ops.worker_heartbeat(&info).await {
                Ok(()) => metrics::counter!(m::WORKER_HEARTBEATS).increment(1),
                Err(e) => tracing::warn!(error = %e, "worker heartbeat failed"),
            }
        }
    });
}

/// A refusal of the gate as the API answers it: JSON, with `WWW-Authenticate` on 401.
fn refusal(refusal: OpsRefusal) -> Response {
    let body = match refusal {
        OpsRefusal::Unauthorized => json!({ "error": refusal.message(), "code": "unauthorized" }),
        OpsRefusal::Closed | OpsRefusal::NotLocal => {
            json!({ "error": refusal.message(), "code": "forbidden" })
        }
    };
    let status = match refusal {
        OpsRefusal::Unauthorized => StatusCode::UNAUTHORIZED,
        OpsRefusal::Closed | OpsRefusal::NotLocal => StatusCode::FORBIDDEN,
    };
    let mut r = (status, Json(body)).into_response();
    if refusal == OpsRefusal::Unauthorized {
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    r
}

/// Middleware for the routes that serve operator data: the gate sees the connection's
/// peer address, never a forwarded one.
pub async fn require_ops_access(
    State(gate): State<Arc<OpsGate>>,
    req: Request,
    next: Next,
) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    match gate.check(req.headers(), peer) {
        Ok(()) => next.run(req).await,
        Err(r) => refusal(r),
    }
}

/// Serves `/metrics` (behind `gate`), `/healthz` and `/readyz` (always open, for
/// probes) on `listener`.
///
/// `/readyz` answers 200 while the worker takes jobs and 503 from the moment its stop
/// begins. The listener stays up until the process exits, so that the stop (running
/// jobs finishing within the grace, then handed back) can still be watched and scraped.
pub fn serve_metrics(
    listener: tokio::net::TcpListener,
    handle: PrometheusHandle,
    gate: OpsGate,
    shutdown: Shutdown,
) {
    let app = Router::new()
        .route("/metrics", get(move || std::future::ready(handle.render())))
        .route_layer(middleware::from_fn_with_state(
            Arc::new(gate),
            require_ops_access,
        ))
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/readyz",
            get(move || std::future::ready(readiness(&shutdown))),
        );
    tokio::spawn(async move {
        let app = app.into_make_service_with_connect_info::<SocketAddr>();
        let _ = axum::serve(listener, app).await;
    });
}

/// A worker is ready while it takes jobs.
fn readiness(shutdown: &Shutdown) -> Response {
    if shutdown.is_triggered() {
        let body = json!({ "status": "stopping", "taking_jobs": false });
        (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
    } else {
        Json(json!({ "status": "ready", "taking_jobs": true })).into_response()
    }
}
