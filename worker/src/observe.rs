//! What operators see of a process: gauges computed from the shared store (sessions by
//! status, queue depth, live workers, last cleanup), this worker's presence heartbeat
//! for the ops dashboard, and a worker's own `/metrics` listener.

use std::{net::SocketAddr, sync::Arc, sync::atomic::Ordering, time::Duration};

use axum::{Router, routing::get};
use maplink::metrics::PrometheusHandle;
use maplink::{
    domain::now_ms,
    metrics as m,
    ops::{OpsStore, WorkerInfo},
    session::SessionStore,
    shutdown::Shutdown,
};

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
    }
    if let Ok(workers) = ops.workers().await {
        let cutoff = now_ms() - LIVE_AFTER_BEATS * heartbeat.as_millis() as i64;
        let live = workers
            .iter()
            .filter(|w| w.last_heartbeat_ms >= cutoff)
            .count();
        metrics::gauge!(m::LIVE_WORKERS).set(live as f64);
    }
    if let Ok(Some(last)) = sessions
        .recent_cleanups(1)
        .await
        .map(|c| c.into_iter().next())
    {
        metrics::gauge!(m::CLEANUP_LAST_RUN).set(last.ran_at_ms as f64 / 1000.0);
    }
}

/// Tells the ops dashboard this worker is alive, what it runs and what it has done.
pub fn spawn_presence(state: WorkerState, shutdown: Shutdown) {
    let started_ms = now_ms();
    let host = gethostname::gethostname().to_string_lossy().into_owned();
    tokio::spawn(async move {
        let mut tick =
            tokio::time::interval(Duration::from_secs(state.settings.queue_heartbeat_secs));
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

/// Serves `/metrics` (and `/healthz`) on `bind` until shutdown; returns the bound
/// address (port 0 picks one).
pub async fn serve_metrics(
    bind: &str,
    handle: PrometheusHandle,
    shutdown: Shutdown,
) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(bind).await?;
    let addr = listener.local_addr()?;
    let app = Router::new()
        .route("/metrics", get(move || std::future::ready(handle.render())))
        .route("/healthz", get(|| async { "ok" }));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown.wait())
            .await;
    });
    Ok(addr)
}
