//! What every job needs: the session store, the file store and the settings.

use std::sync::Arc;

use maplink::{config::Settings, files::FileStore, session::SessionStore};

#[derive(Clone)]
pub struct WorkerState {
    pub sessions: Arc<dyn SessionStore>,
    pub files: FileStore,
    pub settings: Arc<Settings>,
    /// This process's name in logs and in the cleanup history.
    pub process_name: Arc<str>,
}
