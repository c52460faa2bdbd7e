//! The queue in SQLite (embedded mode): one table beside the sessions, the durable
//! record of every job. The API and the workers share one process, so nobody polls:
//! a reader with nothing to claim waits in a list, and the producer hands it a new job
//! directly, written to the table already leased to that reader (one write from
//! enqueue to delivery); other changes that make jobs ready wake the readers (a
//! `Notify`) to claim them.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use sqlx::{Row, SqlitePool};
use tokio::sync::{Notify, oneshot};

use super::store::{
    DeadJob, Delivery, Finish, Finished, Housework, JobStore, QueueError, QueueStats, Reader,
    Retention,
};
use maplink::domain::now_ms;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS queue_jobs (
    task_id TEXT PRIMARY KEY,
    queue TEXT NOT NULL,
    payload TEXT NOT NULL,
    -- ready | running | done | dead
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    -- Deliveries handed back by a stopping worker (not attempts).
    hand_backs INTEGER NOT NULL DEFAULT 0,
    run_at_ms INTEGER NOT NULL,
    enqueued_ms INTEGER NOT NULL,
    -- The current delivery: its owner, receipt and lease expiry.
    consumer TEXT,
    receipt TEXT,
    lease_until_ms INTEGER,
    last_error TEXT,
    finished_ms INTEGER
);
CREATE INDEX IF NOT EXISTS queue_jobs_by_state ON queue_jobs (queue, state, run_at_ms, task_id);
"#;

#[derive(Clone)]
pub struct SqliteQueue {
    pool: SqlitePool,
    queue: String,
    /// Woken on every change that makes a job ready (enqueue, retry due, lease taken back).
    wake: Arc<Notify>,
    /// Readers waiting for a job, oldest first.
    waiting: Arc<Mutex<VecDeque<Waiter>>>,
    /// The lease of a delivery; readers stamp it on claim.
    lease: Duration,
}

impl SqliteQueue {
    /// A queue on `pool`, creating its table if needed. `lease` is how long a delivery
    /// is held without renewal.
    pub async fn open(pool: SqlitePool, queue: &str, lease: Duration) -> Result<Self, QueueError> {
        sqlx::raw_sql(SCHEMA).execute(&pool).await?;
        // Tables created before hand-backs were counted lack their column.
        let has_hand_backs: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM pragma_table_info('queue_jobs') WHERE name = 'hand_backs'",
        )
        .fetch_optional(&pool)
        .await?;
        if has_hand_backs.is_none() {
            sqlx::query("ALTER TABLE queue_jobs ADD COLUMN hand_backs INTEGER NOT NULL DEFAULT 0")
                .execute(&pool)
                .await?;
        }
        Ok(Self {
            pool,
            queue: queue.to_owned(),
            wake: Arc::new(Notify::new()),
            waiting: Arc::default(),
            lease,
        })
    }

    /// The same queue with another lease (tests use sub-second leases).
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    fn lease_ms(&self) -> i64 {
        i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX)
    }

    /// Claims up to `max` ready jobs for `consumer` in one statement. A receipt names
    /// the delivery's number, so no two deliveries of a job share one.
    async fn claim(&self, consumer: &str, max: usize) -> Result<Vec<Delivery>, QueueError> {
        let now = now_ms();
        let rows = sqlx::query(
            "UPDATE queue_jobs SET state = 'running', consumer = ?1,
                    receipt = task_id || ':' || (attempts + hand_backs + 1) || ':' || ?2,
                    lease_until_ms = ?2 + ?3
             WHERE task_id IN (SELECT task_id FROM queue_jobs
                               WHERE queue = ?4 AND state = 'ready' AND run_at_ms <= ?2
                               ORDER BY run_at_ms, task_id LIMIT ?5)
             RETURNING task_id, payload, attempts, hand_backs, enqueued_ms, receipt",
        )
        .bind(consumer)
        .bind(now)
        .bind(self.lease_ms())
        .bind(&self.queue)
        .bind(i64::try_from(max).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        let mut out = rows
            .iter()
            .map(|r| {
                Ok(Delivery {
                    task_id: r.try_get("task_id")?,
                    payload: r.try_get("payload")?,
                    attempts: u32::try_from(r.try_get::<i64, _>("attempts")?).unwrap_or(0),
                    hand_backs: u32::try_from(r.try_get::<i64, _>("hand_backs")?).unwrap_or(0),
                    enqueued_ms: r.try_get("enqueued_ms")?,
                    receipt: r.try_get("receipt")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        // RETURNING gives no order guarantee; hand them out oldest first.
        out.sort_by(|a, b| (a.enqueued_ms, &a.task_id).cmp(&(b.enqueued_ms, &b.task_id)));
        Ok(out)
    }

    /// When the next scheduled job is due (ms), if any.
    async fn next_due_ms(&self) -> Result<Option<i64>, QueueError> {
        Ok(sqlx::query_scalar(
            "SELECT MIN(run_at_ms) FROM queue_jobs WHERE queue = ? AND state = 'ready'",
        )
        .bind(&self.queue)
        .fetch_one(&self.pool)
        .await?)
    }
}

/// A reader waiting for the producer to hand it a job.
struct Waiter {
    consumer: String,
    tx: oneshot::Sender<Delivery>,
}

impl SqliteQueue {
    /// The first waiting reader that is still waiting (one that gave up has dropped its
    /// receiver).
    fn next_waiter(&self) -> Option<Waiter> {
        let mut waiting = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
        while let Some(w) = waiting.pop_front() {
            if !w.tx.is_closed() {
                return Some(w);
            }
        }
        None
    }

    /// Puts one delivery back on the queue with `handed` more hand-backs (0 for one the
    /// consumer never received).
    async fn release(&self, receipt: &str, handed: u32) -> Result<(), QueueError> {
        sqlx::query(
            "UPDATE queue_jobs SET state = 'ready', consumer = NULL, receipt = NULL,
                    lease_until_ms = NULL, hand_backs = hand_backs + ?
             WHERE receipt = ? AND state = 'running'",
        )
        .bind(i64::from(handed))
        .bind(receipt)
        .execute(&self.pool)
        .await?;
        self.wake.notify_waiters();
        Ok(())
    }

    fn wait_for_handoff(&self, consumer: &str) -> oneshot::Receiver<Delivery> {
        let (tx, rx) = oneshot::channel();
        self.waiting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push_back(Waiter {
                consumer: consumer.to_owned(),
                tx,
            });
        rx
    }
}

struct TableReader {
    queue: SqliteQueue,
    consumer: String,
}

#[async_trait]
impl Reader for TableReader {
    async fn fetch(&mut self, max: usize, wait: Duration) -> Result<Vec<Delivery>, QueueError> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            // Registered before the claim, so a job queued between an empty claim and
            // the wait still wakes this reader.
            let notified = self.queue.wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let got = self.queue.claim(&self.consumer, max).await?;
            if !got.is_empty() {
                return Ok(got);
            }
            let mut until = deadline;
            if let Some(due) = self.queue.next_due_ms().await? {
                let in_ms = u64::try_from((due - now_ms()).max(0)).unwrap_or(0);
                until = until.min(tokio::time::Instant::now() + Duration::from_millis(in_ms));
            }
            // Dropped when this wait ends any other way: the producer then skips it.
            let handoff = self.queue.wait_for_handoff(&self.consumer);
            tokio::select! {
                handed = handoff => {
                    if let Ok(delivery) = handed {
                        return Ok(vec![delivery]);
                    }
                }
                _ = &mut notified => {}
                _ = tokio::time::sleep_until(until) => {
                    if tokio::time::Instant::now() >= deadline {
                        return Ok(Vec::new());
                    }
                }
            }
        }
    }
}

#[async_trait]
impl JobStore for SqliteQueue {
    async fn enqueue(&self, jobs: &[(String, String)]) -> Result<u64, QueueError> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let mut queued = 0;
        let mut handed = Vec::new();
        for (task, payload) in jobs {
            // A waiting reader gets the job leased to it in the same write.
            let waiter = self.next_waiter();
            let receipt = waiter.as_ref().map(|_| format!("{task}:1:{now}"));
            let added = sqlx::query(
                "INSERT INTO queue_jobs (task_id, queue, payload, state, run_at_ms, enqueued_ms,
                                         consumer, receipt, lease_until_ms)
                 VALUES (?1, ?2, ?3, CASE WHEN ?5 IS NULL THEN 'ready' ELSE 'running' END, ?4, ?4,
                         ?6, ?5, CASE WHEN ?5 IS NULL THEN NULL ELSE ?4 + ?7 END)
                 ON CONFLICT (task_id) DO NOTHING",
            )
            .bind(task)
            .bind(&self.queue)
            .bind(payload)
            .bind(now)
            .bind(&receipt)
            .bind(waiter.as_ref().map(|w| w.consumer.as_str()))
            .bind(self.lease_ms())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if added == 0 {
                // Already queued; the waiter (if any) just waits again.
                continue;
            }
            match (waiter, receipt) {
                (Some(w), Some(receipt)) => handed.push((w, receipt, task, payload)),
                _ => queued += 1,
            }
        }
        tx.commit().await?;
        let added = queued + handed.len() as u64;
        for (waiter, receipt, task, payload) in handed {
            let delivery = Delivery {
                task_id: task.clone(),
                receipt: receipt.clone(),
                payload: payload.clone(),
                attempts: 0,
                hand_backs: 0,
                enqueued_ms: now,
            };
            if waiter.tx.send(delivery).is_err() {
                // The reader stopped waiting after it was chosen: the job goes back.
                self.release(&receipt, 0).await?;
            }
        }
        if queued > 0 {
            self.wake.notify_waiters();
        }
        Ok(added)
    }

    async fn reader(&self, consumer: &str) -> Result<Box<dyn Reader>, QueueError> {
        Ok(Box::new(TableReader {
            queue: self.clone(),
            consumer: consumer.to_owned(),
        }))
    }

    async fn finish(&self, finished: &[Finished], retention: &Retention) -> Result<(), QueueError> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let mut retried = false;
        for f in finished {
            let (state, run_at, error) = match &f.finish {
                Finish::Done => ("done", now, None),
                Finish::Retry { delay, error } => (
                    "ready",
                    now + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2),
                    Some(error.as_str()),
                ),
                Finish::Dead { error } => ("dead", now, Some(error.as_str())),
            };
            retried |= state == "ready";
            // Only the current delivery (same receipt, still running) may end the job.
            sqlx::query(
                "UPDATE queue_jobs SET state = ?, attempts = ?, run_at_ms = ?,
                        last_error = COALESCE(?, last_error), finished_ms = ?,
                        consumer = NULL, receipt = NULL, lease_until_ms = NULL
                 WHERE task_id = ? AND receipt = ? AND state = 'running'",
            )
            .bind(state)
            .bind(i64::from(f.attempts))
            .bind(run_at)
            .bind(error)
            .bind(now)
            .bind(&f.delivery.task_id)
            .bind(&f.delivery.receipt)
            .execute(&mut *tx)
            .await?;
        }
        if retention.keep_done_count == 0 {
            sqlx::query("DELETE FROM queue_jobs WHERE queue = ? AND state = 'done'")
                .bind(&self.queue)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        if retried {
            // A retry's time may be earlier than what a sleeping reader waits for.
            self.wake.notify_waiters();
        }
        Ok(())
    }

    async fn renew(&self, consumer: &str, receipts: &[String]) -> Result<Vec<String>, QueueError> {
        let until = now_ms() + self.lease_ms();
        let mut lost = Vec::new();
        for r in receipts {
            let renewed = sqlx::query(
                "UPDATE queue_jobs SET lease_until_ms = ?
                 WHERE receipt = ? AND consumer = ? AND state = 'running'",
            )
            .bind(until)
            .bind(r)
            .bind(consumer)
            .execute(&self.pool)
            .await?
            .rows_affected();
            if renewed == 0 {
                lost.push(r.clone());
            }
        }
        Ok(lost)
    }

    async fn sweep(&self, _lease: Duration) -> Result<Housework, QueueError> {
        let reclaimed = sqlx::query(
            "UPDATE queue_jobs SET state = 'ready', attempts = attempts + 1, run_at_ms = ?1,
                    last_error = 'the worker running it stopped answering (lease lapsed)',
                    consumer = NULL, receipt = NULL, lease_until_ms = NULL
             WHERE queue = ?2 AND state = 'running' AND lease_until_ms < ?1",
        )
        .bind(now_ms())
        .bind(&self.queue)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if reclaimed > 0 {
            self.wake.notify_waiters();
        }
        // Scheduled retries need no promotion here: a reader sleeps until the next one
        // is due.
        Ok(Housework {
            promoted: 0,
            reclaimed,
        })
    }

    async fn trim(
        &self,
        retention: &Retention,
        _idle_consumer: Duration,
    ) -> Result<(), QueueError> {
        let cutoff = now_ms() - i64::try_from(retention.keep_done.as_millis()).unwrap_or(i64::MAX);
        let mut tx = self.pool.begin().await?;
        for (state, keep) in [
            ("done", retention.keep_done_count),
            ("dead", retention.keep_dead_count),
        ] {
            sqlx::query(
                "DELETE FROM queue_jobs WHERE queue = ?1 AND state = ?2 AND task_id NOT IN
                   (SELECT task_id FROM queue_jobs WHERE queue = ?1 AND state = ?2
                    ORDER BY finished_ms DESC LIMIT ?3)",
            )
            .bind(&self.queue)
            .bind(state)
            .bind(i64::try_from(keep).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "DELETE FROM queue_jobs WHERE queue = ? AND state = 'done' AND finished_ms < ?",
        )
        .bind(&self.queue)
        .bind(cutoff)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn hand_back(&self, consumer: &str, keep: &[String]) -> Result<u64, QueueError> {
        let rows = sqlx::query(
            "SELECT receipt FROM queue_jobs WHERE queue = ? AND state = 'running' AND consumer = ?",
        )
        .bind(&self.queue)
        .bind(consumer)
        .fetch_all(&self.pool)
        .await?;
        let mut back = 0;
        for r in rows {
            let receipt: String = r.try_get("receipt")?;
            if !keep.contains(&receipt) {
                self.release(&receipt, 1).await?;
                back += 1;
            }
        }
        Ok(back)
    }

    async fn stats(&self) -> Result<QueueStats, QueueError> {
        let now = now_ms();
        let rows = sqlx::query(
            "SELECT CASE WHEN state = 'ready' AND run_at_ms > ?1 THEN 'scheduled' ELSE state END AS s,
                    COUNT(*) AS n, MIN(enqueued_ms) AS oldest
             FROM queue_jobs WHERE queue = ?2 GROUP BY s",
        )
        .bind(now)
        .bind(&self.queue)
        .fetch_all(&self.pool)
        .await?;
        let mut stats = QueueStats::default();
        for r in &rows {
            let n = u64::try_from(r.try_get::<i64, _>("n")?).unwrap_or(0);
            match r.try_get::<&str, _>("s")? {
                "ready" => {
                    stats.pending = n;
                    let oldest: Option<i64> = r.try_get("oldest")?;
                    stats.oldest_pending_ms =
                        oldest.map_or(0, |t| u64::try_from(now - t).unwrap_or(0));
                }
                "scheduled" => stats.scheduled = n,
                "running" => stats.running = n,
                "done" => stats.done = n,
                "dead" => stats.dead = n,
                _ => {}
            }
        }
        Ok(stats)
    }

    async fn contains(&self, task_id: &str) -> Result<bool, QueueError> {
        Ok(sqlx::query(
            "SELECT 1 FROM queue_jobs WHERE task_id = ? AND state IN ('ready', 'running')",
        )
        .bind(task_id)
        .fetch_optional(&self.pool)
        .await?
        .is_some())
    }

    async fn dead(&self, limit: usize) -> Result<Vec<DeadJob>, QueueError> {
        let rows = sqlx::query(
            "SELECT task_id, payload, attempts, last_error, finished_ms FROM queue_jobs
             WHERE queue = ? AND state = 'dead' ORDER BY finished_ms DESC, task_id LIMIT ?",
        )
        .bind(&self.queue)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(dead_row).collect::<Result<_, _>>()?)
    }

    async fn dead_job(&self, task_id: &str) -> Result<Option<DeadJob>, QueueError> {
        let row = sqlx::query(
            "SELECT task_id, payload, attempts, last_error, finished_ms FROM queue_jobs
             WHERE task_id = ? AND state = 'dead'",
        )
        .bind(task_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(dead_row).transpose()?)
    }

    async fn requeue_dead(
        &self,
        task_id: &str,
        (new_task, payload): (&str, &str),
    ) -> Result<bool, QueueError> {
        let mut tx = self.pool.begin().await?;
        let removed = sqlx::query("DELETE FROM queue_jobs WHERE task_id = ? AND state = 'dead'")
            .bind(task_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if removed == 0 {
            return Ok(false);
        }
        let now = now_ms();
        sqlx::query(
            "INSERT INTO queue_jobs (task_id, queue, payload, state, run_at_ms, enqueued_ms)
             VALUES (?, ?, ?, 'ready', ?, ?) ON CONFLICT (task_id) DO NOTHING",
        )
        .bind(new_task)
        .bind(&self.queue)
        .bind(payload)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.wake.notify_waiters();
        Ok(true)
    }

    async fn delete_dead(&self, task_id: &str) -> Result<bool, QueueError> {
        Ok(
            sqlx::query("DELETE FROM queue_jobs WHERE task_id = ? AND state = 'dead'")
                .bind(task_id)
                .execute(&self.pool)
                .await?
                .rows_affected()
                > 0,
        )
    }

    async fn ping(&self) -> Result<(), QueueError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

fn dead_row(r: &sqlx::sqlite::SqliteRow) -> Result<DeadJob, sqlx::Error> {
    Ok(DeadJob {
        task_id: r.try_get("task_id")?,
        payload: r.try_get("payload")?,
        attempts: u32::try_from(r.try_get::<i64, _>("attempts")?).unwrap_or(0),
        error: r
            .try_get::<Option<String>, _>("last_error")?
            .unwrap_or_default(),
        died_ms: r.try_get::<Option<i64>, _>("finished_ms")?.unwrap_or(0),
    })
}
