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
    ops::{OpsStore, RedisOpsStore, SqliteOpsStore},
};

pub use producer::Producer;

/// Coordinates jobs by state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct QueueDepth {
    /// Ready to be fetched.
    pub pending: u64,
    /// Waiting for their time (new pushes, retries with backoff).
    pub scheduled: u64,
    /// Claimed by a worker.
    pub running: u64,
    pub done: u64,
    /// Given up (attempts exhausted, undecodable payloads).
    pub dead: u64,
}

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

    /// The ops store kept beside the queue.
    pub async fn ops_store(&self) -> maplink::Result<Arc<dyn OpsStore>> {
        Ok(match self {
            Self::Redis(conn) => Arc::new(RedisOpsStore::new(conn.clone())),
            Self::Sqlite(pool) => Arc::new(SqliteOpsStore::open(pool.clone()).await?),
        })
    }

    /// Coordinates jobs by state, computed from the backend's own keys and tables
    /// (apalis-redis' built-in statistics are broken: they read keys of the wrong type).
    pub async fn depth(&self) -> Result<QueueDepth, String> {
        match self {
            Self::Redis(conn) => {
                let config = apalis_redis::Config::default().queue(CONVERT_QUEUE);
                let mut conn = conn.clone();
                let err = |e: redis::RedisError| e.to_string();
                let (pending, scheduled, dead, done, workers): (u64, u64, u64, u64, Vec<String>) =
                    redis::pipe()
                        .llen(config.active_jobs_list())
                        .zcard(config.scheduled_jobs_set())
                        .scard(config.dead_jobs_set())
                        .scard(config.done_jobs_set())
                        .zrange(config.workers_set(), 0, -1)
                        .query_async(&mut conn)
                        .await
                        .map_err(err)?;
                let mut pipe = redis::pipe();
                for w in &workers {
                    // Worker entries are the names of their inflight sets' owners.
                    pipe.scard(format!("{}:{w}", config.inflight_jobs_set()));
                }
                let running: Vec<u64> = if workers.is_empty() {
                    Vec::new()
                } else {
                    pipe.query_async(&mut conn).await.map_err(err)?
                };
                Ok(QueueDepth {
                    pending,
                    scheduled,
                    running: running.iter().sum(),
                    done,
                    dead,
                })
            }
            Self::Sqlite(pool) => {
                let rows = sqlx::query(
                    "SELECT CASE WHEN status = 'Pending' AND run_at > strftime('%s','now') THEN 'Scheduled' ELSE status END AS state,
                            COUNT(*) AS n FROM Jobs WHERE job_type = ? GROUP BY state",
                )
                .bind(CONVERT_QUEUE)
                .fetch_all(pool)
                .await
                .map_err(|e| e.to_string())?;
                let mut d = QueueDepth::default();
                for r in &rows {
                    let n = u64::try_from(
                        sqlx::Row::try_get::<i64, _>(r, "n").map_err(|e| e.to_string())?,
                    )
                    .unwrap_or(0);
                    match sqlx::Row::try_get::<&str, _>(r, "state").map_err(|e| e.to_string())? {
                        "Pending" => d.pending += n,
                        "Scheduled" => d.scheduled += n,
                        "Running" | "Queued" => d.running += n,
                        "Done" => d.done += n,
                        "Killed" | "Failed" => d.dead += n,
                        _ => {}
                    }
                }
                Ok(d)
            }
        }
    }

    /// Whether a task with this id is on the queue (in any state).
    pub async fn has_task(&self, task_id: &str) -> Result<bool, String> {
        match self {
            Self::Redis(conn) => {
                let config = apalis_redis::Config::default().queue(CONVERT_QUEUE);
                redis::cmd("HEXISTS")
                    .arg(config.job_data_hash())
                    .arg(task_id)
                    .query_async::<bool>(&mut conn.clone())
                    .await
                    .map_err(|e| e.to_string())
            }
            Self::Sqlite(pool) => sqlx::query("SELECT 1 FROM Jobs WHERE id = ?")
                .bind(task_id)
                .fetch_optional(pool)
                .await
                .map(|r| r.is_some())
                .map_err(|e| e.to_string()),
        }
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
