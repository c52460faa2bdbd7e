//! The ops store's cleanup history and schedule ticks, one suite run against both
//! stores, each with two independent handles on the same data (two "processes").

use std::sync::Arc;

use maplink::{
    domain::{SessionId, SessionStatus},
    ops::{
        CLEANUP_HISTORY_LEN, CleanedSession, CleanupReport, OpsStore, RedisOpsStore, SqliteOpsStore,
    },
    session::open_pool,
};
use maplink_tests::RedisServer;

/// A store plus whatever keeps it alive.
struct Subject {
    store: Arc<dyn OpsStore>,
    /// A second, independent handle on the same data (another process).
    other: Arc<dyn OpsStore>,
    _keep: Box<dyn std::any::Any>,
}

async fn sqlite() -> Subject {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("maplink.db");
    let open = || async {
        SqliteOpsStore::open(open_pool(&path).await.unwrap())
            .await
            .unwrap()
    };
    Subject {
        store: Arc::new(open().await),
        other: Arc::new(open().await),
        _keep: Box::new(dir),
    }
}

async fn redis() -> Subject {
    let server = RedisServer::start();
    let open = || async {
        let client = redis::Client::open(server.url()).unwrap();
        RedisOpsStore::new(client.get_connection_manager().await.unwrap())
    };
    Subject {
        store: Arc::new(open().await),
        other: Arc::new(open().await),
        _keep: Box::new(server),
    }
}

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite { $( #[tokio::test] async fn $name() { super::$name(super::sqlite().await).await } )* }
        mod on_redis { $( #[tokio::test] async fn $name() { super::$name(super::redis().await).await } )* }
    };
}

conformance!(
    cleanup_history_is_capped_and_newest_first,
    schedule_ticks_are_claimed_once,
);

async fn cleanup_history_is_capped_and_newest_first(s: Subject) {
    for i in 0..55 {
        let report = CleanupReport {
            ran_at_ms: i,
            runner: format!("p{i}"),
            sessions: vec![CleanedSession {
                id: SessionId::random(),
                age_ms: 1,
                idle_ms: 1,
                status: SessionStatus::Uploaded,
            }],
        };
        s.store.record_cleanup(&report).await.unwrap();
    }
    let recent = s.other.recent_cleanups(100).await.unwrap();
    assert_eq!(recent.len(), CLEANUP_HISTORY_LEN);
    assert_eq!(recent[0].ran_at_ms, 54);
    assert_eq!(recent.last().unwrap().ran_at_ms, 5);
    assert_eq!(s.store.recent_cleanups(3).await.unwrap().len(), 3);
}

async fn schedule_ticks_are_claimed_once(s: Subject) {
    assert!(s.store.claim_tick("cleanup", 42, 60_000).await.unwrap());
    assert!(!s.other.claim_tick("cleanup", 42, 60_000).await.unwrap());
    assert!(s.other.claim_tick("cleanup", 43, 60_000).await.unwrap());
    assert!(s.other.claim_tick("other", 42, 60_000).await.unwrap());
}
