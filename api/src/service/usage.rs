//! How full the service is, for the global quotas (`max_sessions`,
//! `max_stored_bytes`): live sessions from the session store, stored bytes from the
//! file store.
//!
//! Both are costly to count exactly (a pass over every session, a walk over every
//! file), so a request never counts: the counts are kept by increments (an accepted
//! upload adds its session and bytes, a delete takes its own away) and recounted by a
//! background task every [`REFRESH`], which also brings in what other API instances and
//! the cleanup changed. Only the very first check of a process counts inline, once. The
//! quotas are coarse guards against filling the disk or the store, not exact
//! accounting: being off by one refresh interval is fine, a count per request is not.

use std::{sync::Arc, time::Duration};

use maplink::{files::FileStore, session::SessionStore, shutdown::Shutdown};
use tokio::sync::Mutex;

/// How often the counts are taken again.
pub const REFRESH: Duration = Duration::from_secs(10);

#[derive(Debug, Default)]
pub struct Usage {
    // Why a tokio Mutex held across the first count: until one exists, one request
    // counts and the others wait for its answer instead of all counting at once.
    // Afterwards it is held only to read or adjust a number.
    sessions: Mutex<Option<u64>>,
    bytes: Mutex<Option<u64>>,
}

impl Usage {
    /// Live sessions: the last count, with the changes made here since.
    pub async fn live_sessions(&self, store: &dyn SessionStore) -> maplink::Result<u64> {
        kept_or_counted(&self.sessions, count_sessions(store)).await
    }

    /// Stored bytes: the last count, with the changes made here since.
    pub async fn stored_bytes(&self, files: &FileStore) -> maplink::Result<u64> {
        kept_or_counted(&self.bytes, files.stored_bytes()).await
    }

    /// Counts an accepted upload until the next count sees it.
    pub async fn added(&self, bytes: u64) {
        adjust(&self.sessions, |n| n.saturating_add(1)).await;
        adjust(&self.bytes, |n| n.saturating_add(bytes)).await;
    }

    /// A session and `bytes` of its files were deleted here: the room is there at once.
    pub async fn removed(&self, bytes: u64) {
        adjust(&self.sessions, |n| n.saturating_sub(1)).await;
        adjust(&self.bytes, |n| n.saturating_sub(bytes)).await;
    }

    /// Takes both counts again (a failed count keeps the last one).
    pub async fn recount(&self, store: &dyn SessionStore, files: &FileStore) {
        match count_sessions(store).await {
            Ok(n) => *self.sessions.lock().await = Some(n),
            Err(e) => {
                tracing::warn!(error = %e, "counting live sessions failed; keeping the last count")
            }
        }
        match files.stored_bytes().await {
            Ok(n) => *self.bytes.lock().await = Some(n),
            Err(e) => {
                tracing::warn!(error = %e, "counting stored bytes failed; keeping the last count")
            }
        }
    }

    /// Recounts every [`REFRESH`] until `shutdown`, off the request path.
    pub fn spawn_recounts(
        self: Arc<Self>,
        store: Arc<dyn SessionStore>,
        files: FileStore,
        shutdown: Shutdown,
    ) {
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = shutdown.clone().wait() => return,
                    () = tokio::time::sleep(REFRESH) => {}
                }
                self.recount(store.as_ref(), &files).await;
            }
        });
    }
}

async fn count_sessions(store: &dyn SessionStore) -> maplink::Result<u64> {
    Ok(store.census().await?.by_status.values().sum())
}

/// The kept count in `slot`, or — the first time only — a new one from `count`.
async fn kept_or_counted(
    slot: &Mutex<Option<u64>>,
    count: impl std::future::Future<Output = maplink::Result<u64>>,
) -> maplink::Result<u64> {
    let mut kept = slot.lock().await;
    if let Some(n) = *kept {
        return Ok(n);
    }
    let n = count.await?;
    *kept = Some(n);
    Ok(n)
}

/// Applies `change` to a kept count (none yet: the first count will see the change).
async fn adjust(slot: &Mutex<Option<u64>>, change: impl FnOnce(u64) -> u64) {
    if let Some(n) = slot.lock().await.as_mut() {
        *n = change(*n);
    }
}

#[cfg(test)]
mod tests {
    use maplink::{
        config::Settings,
        domain::{FileFormat, Session},
        session::{SqliteSessionStore, open_pool},
    };

    use super::*;

    async fn add_session(store: &dyn SessionStore) {
        let session = Session::new(
            "a.csv",
            FileFormat::Csv,
            "Maps",
            1,
            maplink::domain::now_ms(),
        );
        store.create(&session).await.unwrap();
    }

    #[tokio::test]
    async fn a_delete_frees_its_room_without_counting_the_store_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteSessionStore::open(open_pool(&dir.path().join("m.db")).await.unwrap())
            .await
            .unwrap();
        let files = FileStore::from_settings(&Settings {
            data_dir: dir.path().to_path_buf(),
            ..Settings::default()
        })
        .unwrap();
        add_session(&store).await;
        add_session(&store).await;
        let usage = Usage::default();
        assert_eq!(
            usage.live_sessions(&store).await.unwrap(),
            2,
            "the first check counts"
        );

        // Another API instance adds one: this one does not know until it counts again.
        add_session(&store).await;
        usage.added(10).await;
        assert_eq!(usage.live_sessions(&store).await.unwrap(), 3);
        usage.removed(10).await;
        assert_eq!(
            usage.live_sessions(&store).await.unwrap(),
            2,
            "a delete is taken off the kept count; no request counts the store"
        );
        usage.recount(&store, &files).await;
        assert_eq!(
            usage.live_sessions(&store).await.unwrap(),
            3,
            "the background count sees all"
        );
    }
}
