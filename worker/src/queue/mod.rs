//! The job queue on apalis 1.0: Redis in distributed mode, SQLite embedded.
//!
//! Every apalis workaround lives in this module, one file each, with its regression
//! test in `tests/tests/queue_*.rs`:
//! - [`names`]: unique worker names per process start and per restart;
//! - [`armed_interval`]: a poll strategy that does not lose wake-ups;
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

use std::time::Duration;

use apalis_redis::{ConnectionManager, RedisStorage};
use apalis_sqlite::{SqlitePool, SqliteStorage};
use maplink::{config::Settings, jobs::CONVERT_QUEUE};

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

    /// A producer for this backend.
    pub fn producer(&self, settings: &Settings) -> Producer {
        match self {
            Self::Redis(conn) => {
                Producer::Redis(RedisStorage::new(conn.clone()).with_config(Self::redis_config(settings)))
            }
            Self::Sqlite(pool) => {
                Producer::Sqlite(SqliteStorage::new(pool).with_config(Self::sqlite_config(settings)))
            }
        }
    }
}
