//! `AppState`: what every handler can reach.

use std::sync::Arc;

use maplink::{config::Settings, events::EventLog, files::FileStore, session::SessionStore};
use maplink_worker::queue::{Producer, QueueBackend};

#[derive(Clone)]
pub struct AppState {
    pub sessions: Arc<dyn SessionStore>,
    pub events: Arc<dyn EventLog>,
    pub files: FileStore,
    pub producer: Producer,
    pub queue: QueueBackend,
    pub settings: Arc<Settings>,
    /// What the session rules take as "now" (the system clock but in tests).
    pub clock: maplink::clock::Clock,
    pub limiter: Arc<crate::limits::RateLimiter>,
    pub ops: Arc<dyn maplink::ops::OpsStore>,
    pub metrics: maplink::metrics::PrometheusHandle,
    /// Sheet reading and checking, off the async runtime and bounded.
    pub sheet_work: Arc<crate::service::sheet_work::SheetWork>,
    /// Live sessions and stored bytes, for the global quotas.
    pub usage: Arc<crate::service::usage::Usage>,
    /// Open event streams, for their limits.
    pub streams: Arc<crate::service::events::StreamSlots>,
    /// The memory all uploads in flight may hold together.
    pub upload_memory: Arc<crate::service::upload_budget::MemoryBudget>,
    /// Uploads in flight per client, for `max_uploads_per_client`.
    pub uploads_in_flight: Arc<crate::service::upload_budget::InFlight>,
}
