//! `Application::build` opens the backend and the queue, builds the worker state and
//! binds the metrics listener (port 0 picks a free port, reported by
//! [`Application::metrics_addr`]); `run_until_stopped` runs the queue workers and the
//! cleanup schedule until the shutdown signal, then hands back what it holds.
//!
//! A worker process needs Redis: without it, the API is the whole service and runs
//! the same runtime in-process on its SQLite file.

use std::{net::SocketAddr, sync::Arc};

use anyhow::Context;
use maplink::{
    backend::{Backend, Reconnect},
    clock::Clock,
    config::Settings,
    files::FileStore,
    metrics::PrometheusHandle,
    shutdown::Shutdown,
};
use tokio::net::TcpListener;

use crate::{
    WorkerState, observe,
    queue::{QueueBackend, names},
    runtime::{self, Roles},
};

/// The backend and the queue on it, as a process opens them at its start.
pub async fn open_backend(
    settings: &Settings,
    reconnect: Reconnect,
) -> anyhow::Result<(Backend, QueueBackend)> {
    let backend = Backend::open(settings, reconnect).await?;
    let queue = QueueBackend::open(&backend, settings)
        .await
        .context("opening the queue")?;
    Ok((backend, queue))
}

pub struct Application {
    state: WorkerState,
    queue: QueueBackend,
    metrics: PrometheusHandle,
    metrics_listener: TcpListener,
    metrics_addr: SocketAddr,
    roles: Roles,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with_clock(settings, Clock::system()).await
    }

    /// [`build`](Self::build) with the clock the session rules read (tests move it).
    pub async fn build_with_clock(settings: Settings, clock: Clock) -> anyhow::Result<Self> {
        if settings.redis_url.is_none() {
            anyhow::bail!(
                "maplink-worker needs MAPLINK_REDIS_URL (or redis_url in the config file); \
                 without Redis, maplink-api runs its workers in-process"
            );
        }
        // The object store's HTTP client (S3) needs the TLS crypto provider.
        crate::resolve::install_crypto_provider();
        let files = FileStore::from_settings(&settings)?;
        // A job waits through a Redis reconnect rather than fail an attempt.
        let (backend, queue) = open_backend(&settings, Reconnect::WithBackoff).await?;
        let metrics_listener = TcpListener::bind(&settings.worker_metrics_bind)
            .await
            .with_context(|| {
                format!(
                    "binding the metrics listener on {}",
                    settings.worker_metrics_bind
                )
            })?;
        let metrics_addr = metrics_listener.local_addr()?;
        let state = WorkerState::new(
            &backend,
            queue.clone(),
            files,
            Arc::new(settings),
            names::process_name("worker"),
            clock,
        )
        .await?;
        Ok(Self {
            state,
            queue,
            metrics: maplink::metrics::install(),
            metrics_listener,
            metrics_addr,
            roles: Roles::ALL,
        })
    }

    /// The same process doing only `roles` (a test runs a cleanup-only process).
    pub fn with_roles(mut self, roles: Roles) -> Self {
        self.roles = roles;
        self
    }

    /// Where `/metrics`, `/healthz` and `/readyz` are served.
    pub fn metrics_addr(&self) -> SocketAddr {
        self.metrics_addr
    }

    /// Runs until `shutdown`; an error means the queue workers died, and the process
    /// should exit non-zero so that a supervisor restarts it.
    pub async fn run_until_stopped(self, shutdown: Shutdown) -> anyhow::Result<()> {
        let settings = &self.state.settings;
        observe::spawn_gauges(
            self.state.sessions.clone(),
            self.queue.clone(),
            self.state.ops.clone(),
            settings.queue().heartbeat,
            self.metrics.clone(),
            shutdown.clone(),
        );
        observe::serve_metrics(
            self.metrics_listener,
            self.metrics,
            maplink::ops::OpsGate::from_settings(settings),
            shutdown.clone(),
        );
        tracing::info!(
            worker = %self.state.process_name,
            metrics = %self.metrics_addr,
            "maplink worker started"
        );
        runtime::run(self.state, self.queue, self.roles, shutdown).await?;
        tracing::info!("maplink worker stopped");
        Ok(())
    }
}
