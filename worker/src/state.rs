//! What every job needs: the session store, the file store, the network tier and the
//! settings.

use std::sync::{Arc, atomic::AtomicU64};

use maplink::{
    backend::Backend, clock::Clock, config::Settings, events::EventLog, files::FileStore,
    ops::OpsStore, session::SessionStore,
};

use crate::{hand_back::Runs, queue::QueueBackend, resolve::Resolver};

#[derive(Clone)]
pub struct WorkerState {
    pub sessions: Arc<dyn SessionStore>,
    pub files: FileStore,
    pub settings: Arc<Settings>,
    /// The network tier, shared by every job of the process (its per-host limits and
    /// counters are per process; its cache is shared by all workers).
    pub resolver: Arc<Resolver>,
    pub events: Arc<dyn EventLog>,
    pub ops: Arc<dyn OpsStore>,
    /// The queue this process works on (cleanup asks it whether queued jobs exist).
    pub queue: QueueBackend,
    /// Jobs this process is running now, and has finished since it started.
    pub in_flight: Arc<AtomicU64>,
    pub jobs_done: Arc<AtomicU64>,
    /// The runs of the coordinates job under way, cancelled when the process stops.
    pub runs: Arc<Runs>,
    /// This process's name in logs and in the cleanup history.
    pub process_name: Arc<str>,
    /// What the session rules take as "now" (the system clock but in tests).
    pub clock: Clock,
}

impl WorkerState {
    /// A state whose stores come from `backend`, beside `queue` (opened from it too).
    pub async fn new(
        backend: &Backend,
        queue: QueueBackend,
        files: FileStore,
        settings: Arc<Settings>,
        process_name: String,
        clock: Clock,
    ) -> maplink::Result<Self> {
        let resolver = Resolver::new(&settings, Some(backend.link_cache().await?))
            .map_err(maplink::Error::Config)?;
        Ok(Self {
            sessions: backend.sessions(&clock).await?,
            files,
            settings,
            resolver: Arc::new(resolver),
            events: backend.events().await?,
            ops: backend.ops().await?,
            queue,
            in_flight: Arc::default(),
            jobs_done: Arc::default(),
            runs: Arc::default(),
            process_name: process_name.into(),
            clock,
        })
    }
}
