//! Ops data in Redis: a hash of workers, a small hash per minute, a hash of counts, the
//! capped cleanup history list, and schedule ticks claimed with `SET NX PX`.

use async_trait::async_trait;
use redis::{AsyncCommands, aio::ConnectionManager};

use super::{
    CLEANUP_HISTORY_LEN, CleanupReport, KEEP_MS, Minute, OpsStore, ResolutionCount, WorkerInfo,
    fill_minutes, minute_of,
};
use crate::{Error, Result, domain::now_ms};

const WORKERS: &str = "{maplink}:ops:workers";
const RESOLUTIONS: &str = "{maplink}:ops:resolutions";
/// The cleanup history (its key from before it moved here from the session store).
const CLEANUPS: &str = "{maplink}:cleanups";

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

    async fn record_cleanup(&self, report: &CleanupReport) -> Result<()> {
        let json = serde_json::to_string(report).map_err(|e| Error::Corrupt(e.to_string()))?;
        let mut pipe = redis::pipe();
        pipe.atomic()
            .lpush(CLEANUPS, json)
            .ignore()
            .ltrim(CLEANUPS, 0, CLEANUP_HISTORY_LEN as isize - 1)
            .ignore();
        pipe.query_async::<()>(&mut self.conn.clone()).await?;
        Ok(())
    }

    async fn recent_cleanups(&self, limit: usize) -> Result<Vec<CleanupReport>> {
        let last = limit.saturating_sub(1) as isize;
        let items: Vec<String> = self.conn.clone().lrange(CLEANUPS, 0, last).await?;
        Ok(items
            .iter()
            .filter_map(|j| serde_json::from_str(j).ok())
            .collect())
    }

    async fn claim_tick(&self, name: &str, tick: i64, keep_ms: i64) -> Result<bool> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(format!("{{maplink}}:tick:{name}:{tick}"))
            .arg(now_ms())
            .arg("NX")
            .arg("PX")
            .arg(keep_ms.max(1));
        let set: Option<String> = cmd.query_async(&mut self.conn.clone()).await?;
        Ok(set.is_some())
    }
}
