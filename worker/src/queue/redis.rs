//! The queue on Redis Streams (distributed mode): one stream with a consumer group,
//! blocking reads for instant pickup, the group's pending list as the lease table.
//! The scripts and the key layout are in [`super::redis_scripts`].

use std::time::Duration;

use async_trait::async_trait;
use redis::{
    AsyncConnectionConfig, Client, RedisError, Value,
    aio::{ConnectionManager, MultiplexedConnection},
    streams::StreamReadReply,
};

use super::{
    redis_scripts as scripts,
    store::{
        DeadJob, Delivery, Finish, Finished, Housework, JobStore, QueueError, QueueStats, Reader,
        Retention,
    },
};
use maplink::domain::now_ms;

/// The consumer group every worker reads through.
const GROUP: &str = "workers";
/// Retries promoted / lapsed leases taken back per script call.
const SWEEP_CHUNK: usize = 500;

/// The keys of one queue.
#[derive(Clone, Debug)]
struct Keys {
    stream: String,
    ids: String,
    delayed: String,
    done: String,
    dead: String,
    dead_jobs: String,
}

impl Keys {
    fn new(queue: &str) -> Self {
        let tag = format!("{{{queue}}}");
        Self {
            stream: format!("{tag}:stream"),
            ids: format!("{tag}:ids"),
            delayed: format!("{tag}:delayed"),
            done: format!("{tag}:done"),
            dead: format!("{tag}:dead"),
            dead_jobs: format!("{tag}:dead:jobs"),
        }
    }
}

#[derive(Clone)]
pub struct RedisQueue {
    /// Shared by every request of the process (multiplexed; reconnects on its own).
    conn: ConnectionManager,
    /// For the readers' own connections: a blocking read would stall every request
    /// sharing a multiplexed connection.
    client: Client,
    keys: Keys,
}

impl RedisQueue {
    pub fn new(client: Client, conn: ConnectionManager, queue: &str) -> Self {
        Self {
            conn,
            client,
            keys: Keys::new(queue),
        }
    }

    /// Creates the stream and its group if they do not exist. The group starts at the
    /// beginning of the stream, so jobs queued before any worker started are delivered.
    pub async fn ensure_group(&self) -> Result<(), RedisError> {
        ensure_group(&mut self.conn.clone(), &self.keys.stream).await
    }

    /// An invocation of `script` with every key of the queue and the retention as its
    /// first arguments (the layout [`scripts::FINISH`] and [`scripts::TRIM`] share).
    fn with_retention<'a>(
        &self,
        script: &'a redis::Script,
        retention: &Retention,
    ) -> redis::ScriptInvocation<'a> {
        let k = &self.keys;
        let mut inv = script.prepare_invoke();
        inv.key(&k.stream)
            .key(&k.ids)
            .key(&k.delayed)
            .key(&k.done)
            .key(&k.dead)
            .key(&k.dead_jobs)
            .arg(GROUP)
            .arg(now_ms())
            .arg(ms(retention.keep_done))
            .arg(retention.keep_done_count)
            .arg(retention.keep_dead_count);
        inv
    }
}

async fn ensure_group(
    conn: &mut impl redis::aio::ConnectionLike,
    stream: &str,
) -> Result<(), RedisError> {
    let created: Result<Value, RedisError> = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(stream)
        .arg(GROUP)
        .arg("0")
        .arg("MKSTREAM")
        .query_async(conn)
        .await;
    match created {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
        Err(e) => Err(e),
    }
}

/// A worker's reader: its own connection, with no response timeout (a blocking read
/// answers only when work arrives or its BLOCK ends).
struct StreamReader {
    client: Client,
    conn: Option<MultiplexedConnection>,
    stream: String,
    consumer: String,
}

impl StreamReader {
    async fn connection(&mut self) -> Result<&mut MultiplexedConnection, RedisError> {
        if self.conn.is_none() {
            let config = AsyncConnectionConfig::new()
                .set_connection_timeout(Some(Duration::from_secs(5)))
                .set_response_timeout(None);
            self.conn = Some(
                self.client
                    .get_multiplexed_async_connection_with_config(&config)
                    .await?,
            );
        }
        Ok(self.conn.as_mut().expect("just connected"))
    }
}

#[async_trait]
impl Reader for StreamReader {
    async fn fetch(&mut self, max: usize, wait: Duration) -> Result<Vec<Delivery>, QueueError> {
        let stream = self.stream.clone();
        let consumer = self.consumer.clone();
        let block_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1);
        let read = |conn: &mut MultiplexedConnection| {
            let mut cmd = redis::cmd("XREADGROUP");
            cmd.arg("GROUP")
                .arg(GROUP)
                .arg(&consumer)
                .arg("COUNT")
                .arg(max.max(1))
                .arg("BLOCK")
                .arg(block_ms)
                .arg("STREAMS")
                .arg(&stream)
                .arg(">");
            let mut conn = conn.clone();
            async move { cmd.query_async::<Option<StreamReadReply>>(&mut conn).await }
        };
        let conn = self.connection().await?;
        let reply = match read(conn).await {
            Ok(r) => r,
            // The group is gone (Redis restarted without persistence, or was flushed):
            // create it again and read once more.
            Err(e) if e.code() == Some("NOGROUP") => {
                ensure_group(conn, &stream).await?;
                read(conn).await?
            }
            Err(e) => {
                // A broken connection is replaced on the next fetch.
                self.conn = None;
                return Err(e.into());
            }
        };
        let mut out = Vec::new();
        for key in reply.map(|r| r.keys).unwrap_or_default() {
            for entry in key.ids {
                out.push(Delivery {
                    task_id: entry.get::<String>("t").unwrap_or_default(),
                    payload: entry.get::<String>("p").unwrap_or_default(),
                    attempts: entry.get::<u32>("a").unwrap_or(0),
                    hand_backs: entry.get::<u32>("h").unwrap_or(0),
                    enqueued_ms: entry.get::<i64>("q").unwrap_or(0),
                    receipt: entry.id,
                });
            }
        }
        Ok(out)
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[async_trait]
impl JobStore for RedisQueue {
    async fn enqueue(&self, jobs: &[(String, String)]) -> Result<u64, QueueError> {
        if jobs.is_empty() {
            return Ok(0);
        }
        let mut inv = scripts::ENQUEUE.prepare_invoke();
        inv.key(&self.keys.stream).key(&self.keys.ids).arg(now_ms());
        for (task, payload) in jobs {
            inv.arg(task).arg(payload);
        }
        Ok(inv.invoke_async(&mut self.conn.clone()).await?)
    }

    async fn reader(&self, consumer: &str) -> Result<Box<dyn Reader>, QueueError> {
        self.ensure_group().await?;
        Ok(Box::new(StreamReader {
            client: self.client.clone(),
            conn: None,
            stream: self.keys.stream.clone(),
            consumer: consumer.to_owned(),
        }))
    }

    async fn finish(&self, finished: &[Finished], retention: &Retention) -> Result<(), QueueError> {
        if finished.is_empty() {
            return Ok(());
        }
        let mut inv = self.with_retention(&scripts::FINISH, retention);
        for f in finished {
            let (kind, delay, error) = match &f.finish {
                Finish::Done => ("d", 0, ""),
                Finish::Retry { delay, error } => ("r", ms(*delay), error.as_str()),
                Finish::Dead { error } => ("x", 0, error.as_str()),
            };
            let d = &f.delivery;
            inv.arg(kind)
                .arg(&d.receipt)
                .arg(&d.task_id)
                .arg(f.attempts)
                .arg(&d.payload)
                .arg(delay)
                .arg(error)
                .arg(d.enqueued_ms)
                .arg(d.hand_backs);
        }
        let _current: u64 = inv.invoke_async(&mut self.conn.clone()).await?;
        Ok(())
    }

    async fn renew(&self, consumer: &str, receipts: &[String]) -> Result<Vec<String>, QueueError> {
        if receipts.is_empty() {
            return Ok(Vec::new());
        }
        // XCLAIM with a minimum idle time of 0 to the entries' own consumer resets their
        // idle time (the lease) without counting a delivery. Entries deleted meanwhile
        // (taken back after a lapse) are not returned: those leases are lost. No other
        // consumer ever owns these entries (a lapsed lease is taken back as a new
        // entry), so this cannot steal.
        let mut cmd = redis::cmd("XCLAIM");
        cmd.arg(&self.keys.stream).arg(GROUP).arg(consumer).arg(0);
        for r in receipts {
            cmd.arg(r);
        }
        cmd.arg("JUSTID");
        let kept: Vec<String> = cmd.query_async(&mut self.conn.clone()).await?;
        Ok(receipts
            .iter()
            .filter(|r| !kept.contains(r))
            .cloned()
            .collect())
    }

    async fn sweep(&self, lease: Duration) -> Result<Housework, QueueError> {
        let mut total = Housework::default();
        loop {
            let (promoted, reclaimed): (u64, u64) = scripts::SWEEP
                .key(&self.keys.stream)
                .key(&self.keys.ids)
                .key(&self.keys.delayed)
                .arg(GROUP)
                .arg(now_ms())
                .arg(ms(lease))
                .arg(SWEEP_CHUNK)
                .invoke_async(&mut self.conn.clone())
                .await?;
            total.promoted += promoted;
            total.reclaimed += reclaimed;
            if promoted < SWEEP_CHUNK as u64 && reclaimed < SWEEP_CHUNK as u64 {
                return Ok(total);
            }
        }
    }

    async fn trim(&self, retention: &Retention, idle_consumer: Duration) -> Result<(), QueueError> {
        let mut inv = self.with_retention(&scripts::TRIM, retention);
        let _removed: u64 = inv
            .arg(ms(idle_consumer))
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(())
    }

    async fn hand_back(&self, consumer: &str, keep: &[String]) -> Result<u64, QueueError> {
        let mut inv = scripts::HAND_BACK.prepare_invoke();
        inv.key(&self.keys.stream)
            .key(&self.keys.ids)
            .arg(GROUP)
            .arg(consumer);
        for r in keep {
            inv.arg(r);
        }
        match inv.invoke_async(&mut self.conn.clone()).await {
            Ok(n) => Ok(n),
            // No stream or group yet: nothing was ever delivered.
            Err(e) if e.code() == Some("NOGROUP") => Ok(0),
            Err(e) => Err(e.into()),
        }
    }

    async fn stats(&self) -> Result<QueueStats, QueueError> {
        let k = &self.keys;
        let v: Vec<u64> = scripts::STATS
            .key(&k.stream)
            .key(&k.delayed)
            .key(&k.done)
            .key(&k.dead)
            .arg(GROUP)
            .arg(now_ms())
            .invoke_async(&mut self.conn.clone())
            .await?;
        let [pending, scheduled, running, done, dead, oldest_pending_ms] = v[..] else {
            return Err(QueueError::Other(format!("unexpected stats reply {v:?}")));
        };
        Ok(QueueStats {
            pending,
            scheduled,
            running,
            done,
            dead,
            oldest_pending_ms,
        })
    }

    async fn contains(&self, task_id: &str) -> Result<bool, QueueError> {
        Ok(redis::cmd("HEXISTS")
            .arg(&self.keys.ids)
            .arg(task_id)
            .query_async(&mut self.conn.clone())
            .await?)
    }

    async fn dead(&self, limit: usize) -> Result<Vec<DeadJob>, QueueError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut conn = self.conn.clone();
        let ids: Vec<String> = redis::cmd("ZREVRANGE")
            .arg(&self.keys.dead)
            .arg(0)
            .arg(limit - 1)
            .query_async(&mut conn)
            .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let records: Vec<Option<String>> = redis::cmd("HMGET")
            .arg(&self.keys.dead_jobs)
            .arg(&ids)
            .query_async(&mut conn)
            .await?;
        Ok(ids
            .into_iter()
            .zip(records)
            .filter_map(|(task_id, record)| dead_record(task_id, &record?))
            .collect())
    }

    async fn dead_job(&self, task_id: &str) -> Result<Option<DeadJob>, QueueError> {
        let record: Option<String> = redis::cmd("HGET")
            .arg(&self.keys.dead_jobs)
            .arg(task_id)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(record.and_then(|r| dead_record(task_id.to_owned(), &r)))
    }

    async fn requeue_dead(
        &self,
        task_id: &str,
        (new_task, payload): (&str, &str),
    ) -> Result<bool, QueueError> {
        let k = &self.keys;
        let done: u64 = scripts::REQUEUE_DEAD
            .key(&k.stream)
            .key(&k.ids)
            .key(&k.dead)
            .key(&k.dead_jobs)
            .arg(task_id)
            .arg(now_ms())
            .arg(new_task)
            .arg(payload)
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(done == 1)
    }

    async fn delete_dead(&self, task_id: &str) -> Result<bool, QueueError> {
        let (removed, _): (u64, u64) = redis::pipe()
            .atomic()
            .zrem(&self.keys.dead, task_id)
            .hdel(&self.keys.dead_jobs, task_id)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(removed == 1)
    }

    async fn ping(&self) -> Result<(), QueueError> {
        let _: String = redis::cmd("PING")
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(())
    }
}

/// A dead job from its record (JSON written by the finish script).
fn dead_record(task_id: String, record: &str) -> Option<DeadJob> {
    let v: serde_json::Value = serde_json::from_str(record).ok()?;
    Some(DeadJob {
        task_id,
        payload: v["p"].as_str().unwrap_or_default().to_owned(),
        attempts: lua_number(&v["a"]) as u32,
        error: v["e"].as_str().unwrap_or_default().to_owned(),
        died_ms: lua_number(&v["at"]) as i64,
    })
}

/// Numbers come back from Lua's cjson as strings or numbers, depending on how they
/// went in.
fn lua_number(v: &serde_json::Value) -> f64 {
    match v {
        serde_json::Value::Number(n) => n.as_f64().unwrap_or(0.0),
        serde_json::Value::String(s) => s.parse().unwrap_or(0.0),
        _ => 0.0,
    }
}
