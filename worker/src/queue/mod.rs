//! The job queue on apalis 1.0: Redis in distributed mode, SQLite embedded.
//!
//! Every apalis workaround lives in this module, one file each, with a regression test
//! that fails without it (in `tests/tests/queue_redis.rs` unless noted):
//! - [`names`]: unique worker names per process start and per restart;
//! - [`armed_interval`]: a poll strategy that does not lose wake-ups (tested in place);
//! - [`promote`]: due tasks promoted in chunks (the fetch script's unpack limit);
//! - [`lenient`]: payloads decoded defensively (a poison payload is dead-lettered);
//! - [`QueueBackend::redis_config`] / [`QueueBackend::sqlite_config`]: explicit heartbeat and
//!   missed-heartbeat settings, small prefetch;
//! - `crate::runtime`: bounded attempts, restarts with a cap, blocking work off the
//!   worker future.

pub mod armed_interval;
pub mod lenient;
pub mod names;
pub mod producer;
pub mod promote;

use std::{sync::Arc, time::Duration};

use apalis_redis::{ConnectionManager, RedisStorage};
use apalis_sqlite::{SqlitePool, SqliteStorage};
use maplink::{
    cache::{LinkCache, RedisLinkCache, SqliteLinkCache},
    config::Settings,
    events::{EventLog, RedisEventLog, SqliteEventLog},
    jobs::CONVERT_QUEUE,
};

pub use producer::Producer;

/// Where the queue lives.
#[derive(Clone)]
pub enum QueueBackend {
    Redis(ConnectionManager),
    Sqlite(SqlitePool),
}

impl QueueBackend {
    /// apalis-redis settings. The defaults are unsafe: `missed_heartbeats` defaults to
    /// 10 (not the documented 2), so a killed worker's jobs wait 300 s; and a prefetch of
    /// 10 hoards long jobs on one worker. Both are set explicitly here.
    pub fn redis_config(settings: &Settings) -> apalis_redis::Config {
        apalis_redis::Config::default()
            .queue(CONVERT_QUEUE)
            .heartbeat_interval(Duration::from_secs(settings.queue_heartbeat_secs))
            .missed_heartbeats(settings.queue_missed_heartbeats)
            .batch_size(settings.worker_concurrency.max(1))
            // Completed tasks must leave the inflight set, or a later orphan sweep
            // re-runs them all.
            .persist_results(true)
    }

    pub fn sqlite_config(settings: &Settings) -> apalis_sqlite::Config {
        apalis_sqlite::Config::default()
            .queue(CONVERT_QUEUE)
            .heartbeat_interval(Duration::from_secs(settings.queue_heartbeat_secs))
            .missed_heartbeats(settings.queue_missed_heartbeats)
            .batch_size(settings.worker_concurrency.max(1))
            .persist_results(true)
    }

    /// Connects to Redis with a connection manager (reconnects on its own; shared by
    /// the session store, the producer and the workers of a process).
    pub async fn connect_redis(url: &str) -> Result<ConnectionManager, redis::RedisError> {
        apalis_redis::connect(url).await
    }

    /// Creates apalis' tables in the embedded database. `SqliteStorage::setup` would
    /// also set `synchronous=OFF` on a pooled connection (shared with the session
    /// store); only the migrations are run, so the pool keeps its durable settings.
    pub async fn setup_sqlite(pool: &SqlitePool) -> Result<(), sqlx::Error> {
        SqliteStorage::<()>::migrations().run(pool).await?;
        Ok(())
    }

    /// Cheap round trip to the queue's store, for readiness checks.
    pub async fn ping(&self) -> Result<(), String> {
        match self {
            Self::Redis(conn) => redis::cmd("PING")
                .query_async::<String>(&mut conn.clone())
                .await
                .map(drop)
                .map_err(|e| e.to_string()),
            Self::Sqlite(pool) => sqlx::query("SELECT 1 FROM sqlite_master LIMIT 1")
                .execute(pool)
                .await
                .map(drop)
                .map_err(|e| e.to_string()),
        }
    }

    /// The session event log kept beside the queue.
    pub async fn event_log(&self) -> maplink::Result<Arc<dyn EventLog>> {
        Ok(match self {
            Self::Redis(conn) => Arc::new(RedisEventLog::new(conn.clone())),
            Self::Sqlite(pool) => Arc::new(SqliteEventLog::open(pool.clone()).await?),
        })
    }

    /// The link cache kept beside the queue, shared by every worker.
    pub async fn link_cache(&self) -> maplink::Result<Arc<dyn LinkCache>> {
        Ok(match self {
            Self::Redis(conn) => Arc::new(RedisLinkCache::new(conn.clone())),
            Self::Sqlite(pool) => Arc::new(SqliteLinkCache::open(pool.clone()).await?),
        })
    }

    /// A producer for this backend.
    pub fn producer(&self, settings: &Settings) -> Producer {
        match self {
            Self::Redis(conn) => Producer::Redis(
                RedisStorage::new(conn.clone()).with_config(Self::redis_config(settings)),
            ),
            Self::Sqlite(pool) => Producer::Sqlite(
                SqliteStorage::new(pool).with_config(Self::sqlite_config(settings)),
            ),
        }
    }
}
