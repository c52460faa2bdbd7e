//! The job queue: a store of jobs with leased deliveries ([`store::JobStore`]), on Redis
//! Streams in distributed mode and on a SQLite table in embedded mode, opened from the
//! process's backend ([`QueueBackend::open`]), and the apalis backend that feeds it to
//! the workers ([`source::JobSource`], with the acknowledging layer in [`ack`] and the
//! lease keeping in [`housekeeping`]).
//!
//! Where apalis does not do what maplink needs, the workaround has a file of its own:
//! - [`attempts`]: the attempts cap, across deliveries apalis' retries never see;
//! - [`monitor`]: telling a requested stop from workers that ended by themselves.
//!
//! The design and why it replaced apalis' stock Redis and SQLite storages is in
//! `docs/decisions/0006-queue-core.md`.

pub mod ack;
pub mod attempts;
pub mod housekeeping;
pub mod monitor;
pub mod names;
pub mod producer;
pub mod redis;
pub mod redis_scripts;
pub mod source;
pub mod sqlite;
pub mod store;

use std::{sync::Arc, time::Duration};

use ::redis::aio::ConnectionManager;
use maplink::{backend::Backend, config::Settings, jobs::CONVERT_QUEUE};
use sqlx::SqlitePool;

pub use producer::Producer;
pub use store::{DeadJob, JobStore, QueueError, QueueStats, Retention};

use self::{housekeeping::Timing, redis::RedisQueue, source::SourceConfig, sqlite::SqliteQueue};

/// The coordinates queue, on the process's backend.
#[derive(Clone)]
pub enum QueueBackend {
    Redis(Box<RedisQueue>),
    Sqlite(SqliteQueue),
}

impl QueueBackend {
    /// The coordinates queue on `backend`: a stream beside the other stores on Redis
    /// (sharing its connection for everything but the workers' blocking reads, which
    /// get connections of their own), a table in the same SQLite file in embedded
    /// mode.
    pub async fn open(backend: &Backend, settings: &Settings) -> Result<Self, QueueError> {
        match backend {
            Backend::Redis { url, conn } => Self::redis(url, conn.clone()).await,
            Backend::Sqlite { pool } => Self::sqlite(pool.clone(), settings).await,
        }
    }

    async fn redis(url: &str, conn: ConnectionManager) -> Result<Self, QueueError> {
        let client = ::redis::Client::open(url)?;
        let queue = RedisQueue::new(client, conn, CONVERT_QUEUE);
        queue.ensure_group().await?;
        Ok(Self::Redis(Box::new(queue)))
    }

    async fn sqlite(pool: SqlitePool, settings: &Settings) -> Result<Self, QueueError> {
        let queue = SqliteQueue::open(pool, CONVERT_QUEUE, settings.queue().lease).await?;
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
        let queue = settings.queue();
        SourceConfig {
            concurrency: queue.concurrency,
            timing: Timing {
                lease: queue.lease,
                renew_every: queue.heartbeat,
                retention: retention(settings),
            },
            retry_base: Duration::from_secs(1),
        }
    }

    /// Cheap round trip to the queue's store, for readiness checks.
    pub async fn ping(&self) -> Result<(), String> {
        self.store().ping().await.map_err(|e| e.to_string())
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
    let queue = settings.queue();
    Retention {
        keep_done: queue.keep_done,
        keep_done_count: queue.keep_done_count,
        keep_dead_count: queue.keep_dead_count,
    }
}
