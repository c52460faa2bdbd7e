//! What operators see of a process: gauges computed from the shared store (sessions by
//! status, queue depth, live workers, last cleanup), this worker's presence heartbeat
//! for the ops dashboard, a worker's own `/metrics` listener, and who may read any of
//! it ([`OpsGate`], shared with the API's `/metrics` and `/api/v1/ops/stats`).

use std::{sync::Arc, sync::atomic::Ordering, time::Duration};

use axum::{
    Json, Router,
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
};
use maplink::metrics::PrometheusHandle;
use maplink::{
    config::Settings,
    domain::now_ms,
    metrics as m,
    ops::{OpsStore, WorkerInfo},
    secret::Secret,
    session::SessionStore,
    shutdown::Shutdown,
};
use serde_json::json;

use crate::{queue::QueueBackend, state::WorkerState};

const GAUGES_EVERY: Duration = Duration::from_secs(5);

/// A worker counts as live while its last heartbeat is younger than this many
/// heartbeat intervals.
pub const LIVE_AFTER_BEATS: i64 = 3;

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

/// Who may read operator data: `/metrics` (the API's and every worker's) and
/// `/api/v1/ops/stats`. Operator data names no session's content, but it tells how busy
/// the service is, how many sessions each state holds and which hosts run workers.
///
/// - `ops_token` set: only requests with `Authorization: Bearer <ops_token>` (a header
///   only; a token in the URL ends up in logs and browser history).
/// - neither `ops_token` nor `submitter_tokens`: everyone who can reach the port. A
///   service open to any submitter has nothing to keep from them; bind the worker
///   listener to a private address.
/// - `submitter_tokens` without `ops_token`: nobody (403). A service that asks its
///   users for tokens is meant to be closed, so operator data defaults to closed too
///   rather than being the one open door; setting `ops_token` opens it to operators.
#[derive(Clone, Debug)]
pub enum OpsGate {
    Open,
    Token(Secret),
    Closed,
}

/// Why the gate turned a request away; answered as JSON like every error of the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpsRefusal {
    /// No ops token, or a wrong one: 401 with `WWW-Authenticate: Bearer`.
    Unauthorized,
    /// Operator data is closed on this service: 403.
    Closed,
}

impl OpsGate {
    pub fn from_settings(settings: &Settings) -> Self {
        match (&settings.ops_token, settings.submitter_tokens.is_empty()) {
            (Some(token), _) => Self::Token(Secret::new(token)),
            (None, true) => Self::Open,
            (None, false) => Self::Closed,
        }
    }

    pub fn check(&self, headers: &HeaderMap) -> Result<(), OpsRefusal> {
        match self {
            Self::Open => Ok(()),
            Self::Closed => Err(OpsRefusal::Closed),
            Self::Token(secret) => {
                let presented = headers
                    .get(header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Bearer "));
                match presented {
                    Some(t) if secret.matches(t.trim()) => Ok(()),
                    _ => Err(OpsRefusal::Unauthorized),
                }
            }
        }
    }
}

impl IntoResponse for OpsRefusal {
    fn into_response(self) -> Response {
        match self {
            Self::Unauthorized => {
                let mut r = (
                    StatusCode::UNAUTHORIZED,
                    Json(json!({ "error": "Missing or invalid ops token.", "code": "unauthorized" })),
                )
                    .into_response();
                r.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                r
            }
            Self::Closed => (
                StatusCode::FORBIDDEN,
                Json(json!({
                    "error": "Operator data is closed: this service uses submitter tokens and has no ops token. Set ops_token to read it.",
                    "code": "forbidden",
                })),
            )
                .into_response(),
        }
    }
}

/// Middleware for the routes that serve operator data.
pub async fn require_ops_access(
    State(gate): State<Arc<OpsGate>>,
    req: Request,
    next: Next,
) -> Response {
    match gate.check(req.headers()) {
        Ok(()) => next.run(req).await,
        Err(refusal) => refusal.into_response(),
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

#[cfg(test)]
mod tests {
    use super::*;

    const OPS: &str = "ops-token-0123456789";

    fn settings(ops: Option<&str>, submitters: &[&str]) -> Settings {
        Settings {
            ops_token: ops.map(str::to_owned),
            submitter_tokens: submitters.iter().map(|t| (*t).to_owned()).collect(),
            ..Settings::default()
        }
    }

    fn bearer(token: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            format!("Bearer {token}").parse().unwrap(),
        );
        h
    }

    #[test]
    fn without_any_token_operator_data_is_open() {
        let gate = OpsGate::from_settings(&settings(None, &[]));
        assert_eq!(gate.check(&HeaderMap::new()), Ok(()));
    }

    #[test]
    fn submitter_tokens_without_an_ops_token_close_operator_data() {
        let gate = OpsGate::from_settings(&settings(None, &["submitter-0123456789"]));
        assert_eq!(gate.check(&HeaderMap::new()), Err(OpsRefusal::Closed));
        assert_eq!(
            gate.check(&bearer("submitter-0123456789")),
            Err(OpsRefusal::Closed),
            "a submitter token is not an ops token"
        );
    }

    #[test]
    fn an_ops_token_admits_exactly_its_bearer() {
        for submitters in [&[][..], &["submitter-0123456789"][..]] {
            let gate = OpsGate::from_settings(&settings(Some(OPS), submitters));
            assert_eq!(gate.check(&bearer(OPS)), Ok(()));
            assert_eq!(gate.check(&HeaderMap::new()), Err(OpsRefusal::Unauthorized));
            assert_eq!(
                gate.check(&bearer("ops-token-012345678")),
                Err(OpsRefusal::Unauthorized)
            );
            let mut basic = HeaderMap::new();
            basic.insert(
                header::AUTHORIZATION,
                format!("Basic {OPS}").parse().unwrap(),
            );
            assert_eq!(gate.check(&basic), Err(OpsRefusal::Unauthorized));
        }
    }
}
