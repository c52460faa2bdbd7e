//! How full the service is, for the global quotas (`max_sessions`,
//! `max_stored_bytes`): live sessions from the session store, stored bytes from the
//! file store.
//!
//! Both are costly to count exactly (a pass over every session, a walk over every
//! file), so each is counted at most once per [`REFRESH`] and uploads accepted since
//! are added on top. The quotas are coarse guards against filling the disk or the
//! store, not exact accounting: being off by one refresh interval is fine, a count per
//! request is not.

use std::time::{Duration, Instant};

use maplink::{files::FileStore, session::SessionStore};
use tokio::sync::Mutex;

/// How long a count is reused.
pub const REFRESH: Duration = Duration::from_secs(10);

#[derive(Debug, Default)]
pub struct Usage {
    // Why a tokio Mutex held across the count: when a count is stale, one request
    // recounts and the others wait for its answer instead of all counting at once.
    sessions: Mutex<Option<Counted>>,
    bytes: Mutex<Option<Counted>>,
}

#[derive(Debug, Clone, Copy)]
struct Counted {
    at: Instant,
    value: u64,
}

impl Usage {
    /// Live sessions: the last count plus the sessions this process created since.
    pub async fn live_sessions(&self, store: &dyn SessionStore) -> maplink::Result<u64> {
        recount_if_stale(&self.sessions, async {
            Ok(store.census().await?.by_status.values().sum())
        })
        .await
    }

    /// Stored bytes: the last count plus what this process stored since.
    pub async fn stored_bytes(&self, files: &FileStore) -> maplink::Result<u64> {
        recount_if_stale(&self.bytes, files.stored_bytes()).await
    }

    /// A session was deleted here: count again at the next upload, so that the room it
    /// made is seen at once.
    pub async fn forget(&self) {
        *self.sessions.lock().await = None;
        *self.bytes.lock().await = None;
    }

    /// Counts an accepted upload until the next count sees it.
    pub async fn added(&self, bytes: u64) {
        if let Some(c) = self.sessions.lock().await.as_mut() {
            c.value += 1;
        }
        if let Some(c) = self.bytes.lock().await.as_mut() {
            c.value = c.value.saturating_add(bytes);
        }
    }
}

/// The cached count in `slot`, or a new one from `count` when it is older than
/// [`REFRESH`] (or was forgotten).
async fn recount_if_stale(
    slot: &Mutex<Option<Counted>>,
    count: impl std::future::Future<Output = maplink::Result<u64>>,
) -> maplink::Result<u64> {
    let mut cached = slot.lock().await;
    match *cached {
        Some(c) if c.at.elapsed() < REFRESH => Ok(c.value),
        _ => {
            let value = count.await?;
            *cached = Some(Counted {
                at: Instant::now(),
                value,
            });
            Ok(value)
        }
    }
}
