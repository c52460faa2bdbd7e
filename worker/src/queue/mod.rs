//! The job queue: a store of jobs with leased deliveries ([`store::JobStore`]), on Redis
//! Streams in distributed mode and on a SQLite table in embedded mode, and the apalis
//! backend that feeds it to the workers ([`source::JobSource`], with the
//! acknowledging layer in [`ack`] and the lease keeping in [`housekeeping`]).
//!
//! The design and why it replaced apalis' stock Redis and SQLite storages is in
//! `docs/decisions/0006-queue-core.md`.

pub mod ack;
pub mod housekeeping;
pub mod names;
pub mod producer;
pub mod redis;
pub mod redis_scripts;
pub mod source;
pub mod sqlite;
pub mod store;

use std::{sync::Arc, time::Duration};

use ::redis::aio::ConnectionManager;
use maplink::{
    cache::{LinkCache, RedisLinkCache, SqliteLinkCache},
    config::Settings,
    events::{EventLog, RedisEventLog, SqliteEventLog},
    jobs::CONVERT_QUEUE,
    ops::{OpsStore, RedisOpsStore, SqliteOpsStore},
};
use sqlx::SqlitePool;

pub use producer::Producer;
pub use store::{DeadJob, JobStore, QueueError, QueueStats, Retention};

use self::{housekeeping::Timing, redis::RedisQueue, source::SourceConfig, sqlite::SqliteQueue};

/// Where the queue lives, with the stores kept beside it.
#[derive(Clone)]
pub enum QueueBackend {
    Redis(Box<RedisQueue>),
    Sqlite(SqliteQueue),
}

impl QueueBackend {
    /// Connects to Redis with a connection manager (reconnects on its own; shared by
    /// the session store, the producer and the workers of a process).
    pub async fn connect_redis(url: &str) -> Result<ConnectionManager, ::redis::RedisError> {
        ::redis::Client::open(url)?.get_connection_manager().await
    }

    /// The coordinates queue on Redis at `url`, sharing `conn` for everything but the
    /// workers' blocking reads.
    pub async fn redis(url: &str, conn: ConnectionManager) -> Result<Self, QueueError> {
        let client = ::redis::Client::open(url)?;
        let queue = RedisQueue::new(client, conn.clone(), CONVERT_QUEUE);
        queue.ensure_group().await?;
        Ok(Self::Redis(Box::new(queue)))
    }

    /// The coordinates queue in the embedded database.
    pub async fn sqlite(pool: SqlitePool, settings: &Settings) -> Result<Self, QueueError> {
        let queue = SqliteQueue::open(pool, CONVERT_QUEUE, settings.queue_lease()).await?;
        Ok(Self::Sqlite(queue))
    }

    /// The job store itself.
    pub fn store(&self) -> Arc<dyn JobStore> {
        match self {
            Self::Redis(queue) => Arc::new((**queue).clone()),
            Self::Sqlite(queue) => Arc::new(queue.clone()),
        }
    }

    /// How workers of this process take jobs, from the settings.
    pub fn source_config(settings: &Settings) -> SourceConfig {
        SourceConfig {
            concurrency: settings.worker_concurrency.max(1),
            timing: Timing {
                lease: settings.queue_lease(),
                renew_every: Duration::from_secs(settings.queue_heartbeat_secs),
                retention: retention(settings),
            },
            retry_base: Duration::from_secs(1),
        }
    }

    /// Cheap round trip to the queue's store, for readiness checks.
    pub async fn ping(&self) -> Result<(), String> {
        self.store().ping().await.map_err(|e| e.to_string())
    }

    /// The session event log kept beside the queue.
    pub async fn event_log(&self) -> maplink::Result<Arc<dyn EventLog>> {
        Ok(match self {
            Self::Redis(q) => Arc::new(RedisEventLog::new(q.connection())),
            Self::Sqlite(q) => Arc::new(SqliteEventLog::open(q.pool()).await?),
        })
    }

    /// The link cache kept beside the queue, shared by every worker.
    pub async fn link_cache(&self) -> maplink::Result<Arc<dyn LinkCache>> {
        Ok(match self {
            Self::Redis(q) => Arc::new(RedisLinkCache::new(q.connection())),
            Self::Sqlite(q) => Arc::new(SqliteLinkCache::open(q.pool()).await?),
        })
    }

    /// The ops store kept beside the queue.
    pub async fn ops_store(&self) -> maplink::Result<Arc<dyn OpsStore>> {
        Ok(match self {
            Self::Redis(q) => Arc::new(RedisOpsStore::new(q.connection())),
            Self::Sqlite(q) => Arc::new(SqliteOpsStore::open(q.pool()).await?),
        })
    }

    /// Coordinates jobs by state.
    pub async fn depth(&self) -> Result<QueueStats, String> {
        self.store().stats().await.map_err(|e| e.to_string())
    }

    /// Whether a task with this id is waiting, scheduled or running.
    pub async fn has_task(&self, task_id: &str) -> Result<bool, String> {
        self.store()
            .contains(task_id)
            .await
            .map_err(|e| e.to_string())
    }

    /// A producer for this backend.
    pub fn producer(&self) -> Producer {
        Producer::new(self.store())
    }
}

/// What the queue keeps of finished work, from the settings.
pub fn retention(settings: &Settings) -> Retention {
    Retention {
        keep_done: Duration::from_secs(settings.queue_keep_done_secs),
        keep_done_count: settings.queue_keep_done_count,
        keep_dead_count: settings.queue_keep_dead_count,
    }
}
