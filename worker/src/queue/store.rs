//! What a queue store does, whichever engine holds it: the operations the producer,
//! the workers' job source, their housekeeping and the operator's dead-job actions use.
//!
//! Two implementations: [`super::redis::RedisQueue`] (Redis Streams, distributed mode)
//! and [`super::sqlite::SqliteQueue`] (a table beside the sessions, embedded mode). Both
//! are held to the same tests (`tests/tests/queue_store.rs`).
//!
//! Delivery is at-least-once. A delivery is leased to one consumer; the lease is
//! renewed while the job runs and, once it lapses (the worker died or froze), the job
//! goes back on the queue as a *new* delivery with one more attempt counted. A worker
//! that stops hands its deliveries back instead: new deliveries at once, with one more
//! hand-back counted and no attempt. A late finish of an old delivery is ignored: every
//! finishing step first checks that its delivery is still the current one.

use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;

/// One delivery of a job to a consumer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub task_id: String,
    /// The store's handle on this delivery (a stream entry id, a row's lease token).
    /// A later delivery of the same job has another one.
    pub receipt: String,
    /// The job, as the producer serialized it.
    pub payload: String,
    /// Attempts used before this delivery (failed runs and lapsed leases).
    pub attempts: u32,
    /// Earlier deliveries handed back by a stopping worker (not attempts).
    pub hand_backs: u32,
    /// When the job was first enqueued (ms since the epoch).
    pub enqueued_ms: i64,
}

impl Delivery {
    /// This delivery's number among the job's deliveries, from 1: every earlier one
    /// (failed, lapsed or handed back) counts, so a later delivery always has a higher
    /// number (the session's delivery fence, `maplink::session::Delivery`, relies on it).
    pub fn number(&self) -> u32 {
        self.attempts
            .saturating_add(self.hand_backs)
            .saturating_add(1)
    }
}

/// How a delivery ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finish {
    /// Done: the job leaves the queue, a short record is kept for the retention period.
    Done,
    /// Failed, worth another try after `delay`.
    Retry { delay: Duration, error: String },
    /// Given up: kept in the dead list (up to its bound) for an operator.
    Dead { error: String },
}

/// A delivery's outcome, as handed to [`JobStore::finish`]. `attempts` counts this one.
#[derive(Clone, Debug)]
pub struct Finished {
    pub delivery: Delivery,
    pub attempts: u32,
    pub finish: Finish,
}

/// How long finished work is remembered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// Done-job records older than this are removed.
    pub keep_done: Duration,
    /// At most this many done-job records are kept (0: none).
    pub keep_done_count: u64,
    /// At most this many dead jobs are kept, newest first.
    pub keep_dead_count: u64,
}

/// Jobs by state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct QueueStats {
    /// Ready to be fetched.
    pub pending: u64,
    /// Waiting for their time (retries with backoff).
    pub scheduled: u64,
    /// Delivered to a worker and not yet finished.
    pub running: u64,
    /// Done-job records within the retention.
    pub done: u64,
    /// Given up, kept for an operator.
    pub dead: u64,
    /// How long the oldest pending job has waited (ms), 0 when none waits.
    pub oldest_pending_ms: u64,
}

/// A job in the dead list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeadJob {
    pub task_id: String,
    pub payload: String,
    pub attempts: u32,
    pub error: String,
    /// When it was given up (ms since the epoch).
    pub died_ms: i64,
}

/// What one housekeeping pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Housework {
    /// Retries whose time had come, put back on the queue.
    pub promoted: u64,
    /// Deliveries whose lease had lapsed, put back on the queue.
    pub reclaimed: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("queue store: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("queue store: {0}")]
    Sqlite(#[from] sqlx::Error),
    #[error("queue store: {0}")]
    Other(String),
}

/// Reads deliveries for one consumer, waiting for work when there is none.
#[async_trait]
pub trait Reader: Send {
    /// Up to `max` deliveries; waits up to `wait` for the first one, and returns an
    /// empty list if none came.
    async fn fetch(&mut self, max: usize, wait: Duration) -> Result<Vec<Delivery>, QueueError>;
}

#[async_trait]
pub trait JobStore: Send + Sync {
    /// Queues jobs (task id, payload). A task id already on the queue is left alone.
    /// Returns how many were added.
    async fn enqueue(&self, jobs: &[(String, String)]) -> Result<u64, QueueError>;

    /// A reader for `consumer` (one per worker).
    async fn reader(&self, consumer: &str) -> Result<Box<dyn Reader>, QueueError>;

    /// Records how deliveries ended, in one step. Deliveries that are no longer current
    /// (their lease lapsed and the job went to another worker) are skipped.
    async fn finish(&self, finished: &[Finished], retention: &Retention) -> Result<(), QueueError>;

    /// Renews the leases of `consumer`'s running deliveries; returns the receipts whose
    /// lease was already lost.
    async fn renew(&self, consumer: &str, receipts: &[String]) -> Result<Vec<String>, QueueError>;

    /// Puts due retries back on the queue and takes back deliveries whose lease is older
    /// than `lease` (each counts as an attempt).
    async fn sweep(&self, lease: Duration) -> Result<Housework, QueueError>;

    /// Removes done records and dead jobs beyond the retention, and forgets consumers
    /// that have been idle, holding nothing, for longer than `idle_consumer`.
    async fn trim(&self, retention: &Retention, idle_consumer: Duration) -> Result<(), QueueError>;

    /// Puts `consumer`'s deliveries other than `keep` straight back on the queue as new
    /// deliveries, with a hand-back counted and no attempt (they were fetched but never
    /// started, or their runs were cancelled because the worker is stopping), and
    /// forgets the consumer if it then holds nothing.
    async fn hand_back(&self, consumer: &str, keep: &[String]) -> Result<u64, QueueError>;

    async fn stats(&self) -> Result<QueueStats, QueueError>;

    /// Whether the task is waiting, scheduled or running.
    async fn contains(&self, task_id: &str) -> Result<bool, QueueError>;

    /// Dead jobs, newest first.
    async fn dead(&self, limit: usize) -> Result<Vec<DeadJob>, QueueError>;

    /// One dead job, by task id.
    async fn dead_job(&self, task_id: &str) -> Result<Option<DeadJob>, QueueError>;

    /// Takes a job off the dead list and queues `replacement` (task id, payload) in its
    /// place, in one step. `false` if it was not in the dead list.
    async fn requeue_dead(
        &self,
        task_id: &str,
        replacement: (&str, &str),
    ) -> Result<bool, QueueError>;

    /// Removes a job from the dead list. `false` if it was not there.
    async fn delete_dead(&self, task_id: &str) -> Result<bool, QueueError>;

    /// A cheap round trip, for readiness checks.
    async fn ping(&self) -> Result<(), QueueError>;
}
