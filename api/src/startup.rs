//! `Application::build` opens the backend ([`Backend`]) and takes the stores and the
//! queue from it, wires the router and binds the listener (port 0 picks a free port,
//! reported by [`Application::port`]); `run_until_stopped` serves until the shutdown
//! signal, then drains.
//!
//! With no Redis configured the process is the whole service (embedded mode): the same
//! worker runtime as `maplink-worker` runs in-process on the same SQLite file.

use std::{net::SocketAddr, sync::Arc};

use anyhow::Context;
use maplink::{
    backend::{Backend, Reconnect},
    clock::Clock,
    config::Settings,
    files::FileStore,
    shutdown::Shutdown,
};
use maplink_worker::{
    WorkerState,
    app::open_backend,
    queue::names,
    runtime::{self, Roles},
};
use tokio::net::TcpListener;

use crate::{routes, state::AppState};

pub struct Application {
    listener: TcpListener,
    addr: SocketAddr,
    state: AppState,
    /// Kept for the in-process workers of embedded mode.
    backend: Backend,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with_clock(settings, Clock::system()).await
    }

    /// [`build`](Self::build) with the clock the session rules read (tests move it).
    pub async fn build_with_clock(settings: Settings, clock: Clock) -> anyhow::Result<Self> {
        let settings = Arc::new(settings);
        // The object store's HTTP client (S3) needs the TLS crypto provider.
        maplink_worker::resolve::install_crypto_provider();
        let files = FileStore::from_settings(&settings)?;
        // Fail-fast: a request never waits through a reconnect backoff, so with Redis
        // down the API answers 503 at once (and `/readyz` says so).
        let (backend, queue) = open_backend(&settings, Reconnect::FailFast).await?;
        let listener = TcpListener::bind(&settings.bind)
            .await
            .with_context(|| format!("binding {}", settings.bind))?;
        let addr = listener.local_addr()?;
        let sheet_work = Arc::new(crate::service::sheet_work::SheetWork::new(
            settings.sheet_work_threads,
            settings.sheet_work_queue,
        ));
        let upload_memory = Arc::new(crate::service::upload_budget::MemoryBudget::new(
            settings.max_upload_memory_bytes,
            settings.data_dir.join("upload-spool"),
        ));
        let state = AppState {
            upload_memory,
            uploads_in_flight: Default::default(),
            sessions: backend.sessions(&clock).await?,
            events: backend.events().await?,
            ops: backend.ops().await?,
            files,
            producer: queue.producer(),
            queue,
            settings,
            clock,
            limiter: Arc::new(crate::limits::RateLimiter::for_backend(&backend)),
            metrics: maplink::metrics::install(),
            sheet_work,
            usage: Default::default(),
            streams: Default::default(),
        };
        Ok(Self {
            listener,
            addr,
            state,
            backend,
        })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until `shutdown`. In embedded mode an unexpected stop of the in-process
    /// workers is an error, so that a supervisor restarts the whole process.
    pub async fn run_until_stopped(self, shutdown: Shutdown) -> anyhow::Result<()> {
        let embedded = self.backend.is_embedded();
        let mode = if embedded {
            "embedded (SQLite, in-process workers)"
        } else {
            "distributed (Redis)"
        };
        tracing::info!(addr = %self.addr, mode, "maplink API listening on http://{}", self.addr);
        let app = routes::router(self.state.clone());
        maplink_worker::observe::spawn_gauges(
            self.state.sessions.clone(),
            self.state.queue.clone(),
            self.state.ops.clone(),
            self.state.settings.queue().heartbeat,
            self.state.metrics.clone(),
            shutdown.clone(),
        );
        self.state.usage.clone().spawn_recounts(
            self.state.sessions.clone(),
            self.state.files.clone(),
            shutdown.clone(),
        );
        let streams = self.state.streams.clone();
        let streams_stop = shutdown.clone();
        // Event streams would hold the drain open until its grace period ends.
        tokio::spawn(async move {
            streams_stop.wait().await;
            streams.close_all();
        });
        let server_stop = shutdown.clone();
        let header_timeout = self.state.settings.limits().header_timeout;
        let server = async move {
            crate::server::serve(self.listener, app, header_timeout, server_stop).await;
            Ok::<(), anyhow::Error>(())
        };
        if !embedded {
            return server.await;
        }
        let worker_state = WorkerState::new(
            &self.backend,
            self.state.queue.clone(),
            self.state.files.clone(),
            self.state.settings.clone(),
            names::process_name("api"),
            self.state.clock.clone(),
        )
        .await
        .context("starting the in-process workers")?;
        let workers = runtime::run(
            worker_state,
            self.state.queue.clone(),
            Roles::ALL,
            shutdown.clone(),
        );
        tokio::pin!(server, workers);
        tokio::select! {
            served = &mut server => {
                served?;
                workers.await.context("in-process workers")?;
                Ok(())
            }
            worked = &mut workers => match worked {
                Ok(()) => server.await,
                // The workers died on their own: stop serving (nothing would process
                // the jobs) and exit non-zero so that a supervisor restarts us.
                Err(e) => Err(anyhow::Error::new(e).context("in-process workers stopped")),
            },
        }
    }
}
