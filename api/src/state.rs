//! `AppState`: what every handler can reach.

use std::sync::Arc;

use maplink::{config::Settings, files::FileStore, session::SessionStore};
use maplink_worker::queue::{Producer, QueueBackend};

#[derive(Clone)]
pub struct AppState {
    pub sessions: Arc<dyn SessionStore>,
    pub files: FileStore,
    pub producer: Producer,
    pub queue: QueueBackend,
    pub settings: Arc<Settings>,
}
