//! Ops data in Redis: a hash of workers, a small hash per minute, a hash of counts.

use async_trait::async_trait;
use redis::{AsyncCommands, aio::ConnectionManager};

use super::{KEEP_MS, Minute, OpsStore, ResolutionCount, WorkerInfo, fill_minutes, minute_of};
use crate::{Error, Result, domain::now_ms};

const WORKERS: &str = "{maplink}:ops:workers";
const RESOLUTIONS: &str = "{maplink}:ops:resolutions";

fn minute_key(at: i64) -> String {
    format!("{{maplink}}:ops:minute:{at}")
}

#[derive(Clone)]
pub struct RedisOpsStore {
    conn: ConnectionManager,
}

impl RedisOpsStore {
    pub fn new(conn: ConnectionManager) -> Self {
        Self { conn }
    }
}

#[async_trait]
impl OpsStore for RedisOpsStore {
    async fn worker_heartbeat(&self, w: &WorkerInfo) -> Result<()> {
        let mut conn = self.conn.clone();
        let json = serde_json::to_string(w).map_err(|e| Error::Corrupt(e.to_string()))?;
        conn.hset::<_, _, _, ()>(WORKERS, &w.name, json).await?;
        let all: Vec<(String, String)> = conn.hgetall(WORKERS).await?;
        let cutoff = now_ms() - KEEP_MS;
        for (name, json) in all {
            let stale = serde_json::from_str::<WorkerInfo>(&json)
                .map_or(true, |i| i.last_heartbeat_ms < cutoff);
            if stale {
                conn.hdel::<_, _, ()>(WORKERS, name).await?;
            }
        }
        Ok(())
    }

    async fn workers(&self) -> Result<Vec<WorkerInfo>> {
        let mut conn = self.conn.clone();
        let all: Vec<(String, String)> = conn.hgetall(WORKERS).await?;
        let mut workers: Vec<WorkerInfo> = all
            .iter()
            .filter_map(|(_, j)| serde_json::from_str(j).ok())
            .collect();
        workers.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(workers)
    }

    async fn record_job(&self, rows: u64) -> Result<()> {
        let mut conn = self.conn.clone();
        let key = minute_key(minute_of(now_ms()));
        redis::pipe()
            .hincr(&key, "jobs", 1)
            .ignore()
            .hincr(&key, "rows", rows)
            .ignore()
            .pexpire(&key, KEEP_MS)
            .ignore()
            .query_async::<()>(&mut conn)
            .await?;
        Ok(())
    }

    async fn throughput(&self, minutes: u32) -> Result<Vec<Minute>> {
        let mut conn = self.conn.clone();
        let now = now_ms();
        let last = minute_of(now);
        let ats: Vec<i64> = (0..i64::from(minutes)).map(|b| last - b * 60).collect();
        let mut pipe = redis::pipe();
        for at in &ats {
            pipe.cmd("HMGET")
                .arg(minute_key(*at))
                .arg("jobs")
                .arg("rows");
        }
        let values: Vec<(Option<u64>, Option<u64>)> = pipe.query_async(&mut conn).await?;
        let known = ats.iter().zip(values).map(|(at, (jobs, rows))| Minute {
            at: *at,
            jobs: jobs.unwrap_or(0),
            rows: rows.unwrap_or(0),
        });
        Ok(fill_minutes(now, minutes, known))
    }

    async fn record_resolutions(&self, counts: &[ResolutionCount]) -> Result<()> {
        if counts.is_empty() {
            return Ok(());
        }
        let mut conn = self.conn.clone();
        let mut pipe = redis::pipe();
        for c in counts {
            pipe.hincr(RESOLUTIONS, format!("{}|{}", c.method, c.outcome), c.count)
                .ignore();
        }
        pipe.query_async::<()>(&mut conn).await?;
        Ok(())
    }

    async fn resolutions(&self) -> Result<Vec<ResolutionCount>> {
        let mut conn = self.conn.clone();
        let all: Vec<(String, u64)> = conn.hgetall(RESOLUTIONS).await?;
        let mut out: Vec<ResolutionCount> = all
            .into_iter()
            .filter_map(|(k, count)| {
                let (method, outcome) = k.split_once('|')?;
                Some(ResolutionCount {
                    method: method.into(),
                    outcome: outcome.into(),
                    count,
                })
            })
            .collect();
        out.sort_by(|a, b| (&a.method, &a.outcome).cmp(&(&b.method, &b.outcome)));
        Ok(out)
    }
}
