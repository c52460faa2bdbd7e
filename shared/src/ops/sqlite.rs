//! Ops data in SQLite: small tables beside the sessions (workers, minutes, resolution
//! counts, schedule ticks, the capped cleanup history).

use async_trait::async_trait;
use sqlx::{Row, SqlitePool};

use super::{
    CLEANUP_HISTORY_LEN, CleanupReport, KEEP_MS, Minute, OpsStore, ResolutionCount, WorkerInfo,
    fill_minutes, minute_of,
};
use crate::{Error, Result, domain::now_ms};

#[derive(Clone)]
pub struct SqliteOpsStore {
    pool: SqlitePool,
}

impl SqliteOpsStore {
    pub async fn open(pool: SqlitePool) -> Result<Self> {
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS ops_workers (name TEXT PRIMARY KEY NOT NULL, info TEXT NOT NULL, last_ms INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS ops_minutes (at INTEGER PRIMARY KEY NOT NULL, jobs INTEGER NOT NULL, rows INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS ops_resolutions (method TEXT NOT NULL, outcome TEXT NOT NULL, count INTEGER NOT NULL,
                 PRIMARY KEY (method, outcome));
             CREATE TABLE IF NOT EXISTS schedule_ticks (name TEXT NOT NULL, tick INTEGER NOT NULL, forget_at_ms INTEGER NOT NULL,
                 PRIMARY KEY (name, tick));
             CREATE TABLE IF NOT EXISTS cleanup_history (seq INTEGER PRIMARY KEY AUTOINCREMENT, report TEXT NOT NULL);",
        )
        .execute(&pool)
        .await?;
        Ok(Self { pool })
    }
}

fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

#[async_trait]
impl OpsStore for SqliteOpsStore {
    async fn worker_heartbeat(&self, w: &WorkerInfo) -> Result<()> {
        let json = serde_json::to_string(w).map_err(|e| Error::Corrupt(e.to_string()))?;
        sqlx::query("INSERT OR REPLACE INTO ops_workers (name, info, last_ms) VALUES (?, ?, ?)")
            .bind(&w.name)
            .bind(json)
            .bind(w.last_heartbeat_ms)
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM ops_workers WHERE last_ms < ?")
            .bind(now_ms() - KEEP_MS)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn workers(&self) -> Result<Vec<WorkerInfo>> {
        let rows = sqlx::query("SELECT info FROM ops_workers ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .filter_map(|r| serde_json::from_str(r.try_get::<&str, _>("info").ok()?).ok())
            .collect())
    }

    async fn record_job(&self, rows: u64) -> Result<()> {
        let now = now_ms();
        sqlx::query(
            "INSERT INTO ops_minutes (at, jobs, rows) VALUES (?, 1, ?)
             ON CONFLICT (at) DO UPDATE SET jobs = jobs + 1, rows = rows + excluded.rows",
        )
        .bind(minute_of(now))
        .bind(int(rows))
        .execute(&self.pool)
        .await?;
        sqlx::query("DELETE FROM ops_minutes WHERE at < ?")
            .bind((now - KEEP_MS) / 1000)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn throughput(&self, minutes: u32) -> Result<Vec<Minute>> {
        let now = now_ms();
        let from = minute_of(now) - i64::from(minutes) * 60;
        let rows = sqlx::query("SELECT at, jobs, rows FROM ops_minutes WHERE at > ?")
            .bind(from)
            .fetch_all(&self.pool)
            .await?;
        let known = rows.iter().filter_map(|r| {
            Some(Minute {
                at: r.try_get("at").ok()?,
                jobs: u64::try_from(r.try_get::<i64, _>("jobs").ok()?).ok()?,
                rows: u64::try_from(r.try_get::<i64, _>("rows").ok()?).ok()?,
            })
        });
        Ok(fill_minutes(now, minutes, known.collect::<Vec<_>>()))
    }

    async fn record_resolutions(&self, counts: &[ResolutionCount]) -> Result<()> {
        for c in counts {
            sqlx::query(
                "INSERT INTO ops_resolutions (method, outcome, count) VALUES (?, ?, ?)
                 ON CONFLICT (method, outcome) DO UPDATE SET count = count + excluded.count",
            )
            .bind(&c.method)
            .bind(&c.outcome)
            .bind(int(c.count))
            .execute(&self.pool)
            .await?;
        }
        Ok(())
    }

    async fn resolutions(&self) -> Result<Vec<ResolutionCount>> {
        let rows = sqlx::query(
            "SELECT method, outcome, count FROM ops_resolutions ORDER BY method, outcome",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                Some(ResolutionCount {
                    method: r.try_get("method").ok()?,
                    outcome: r.try_get("outcome").ok()?,
                    count: u64::try_from(r.try_get::<i64, _>("count").ok()?).ok()?,
                })
            })
            .collect())
    }

    async fn record_cleanup(&self, report: &CleanupReport) -> Result<()> {
        let json = serde_json::to_string(report).map_err(|e| Error::Corrupt(e.to_string()))?;
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO cleanup_history (report) VALUES (?)")
            .bind(json)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "DELETE FROM cleanup_history WHERE seq NOT IN (SELECT seq FROM cleanup_history ORDER BY seq DESC LIMIT ?)",
        )
        .bind(CLEANUP_HISTORY_LEN as i64)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn recent_cleanups(&self, limit: usize) -> Result<Vec<CleanupReport>> {
        let rows = sqlx::query("SELECT report FROM cleanup_history ORDER BY seq DESC LIMIT ?")
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .filter_map(|r| serde_json::from_str(r.try_get::<&str, _>("report").ok()?).ok())
            .collect())
    }

    async fn claim_tick(&self, name: &str, tick: i64, keep_ms: i64) -> Result<bool> {
        let now = now_ms();
        let inserted = sqlx::query(
            "INSERT OR IGNORE INTO schedule_ticks (name, tick, forget_at_ms) VALUES (?, ?, ?)",
        )
        .bind(name)
        .bind(tick)
        .bind(now + keep_ms)
        .execute(&self.pool)
        .await?
        .rows_affected();
        sqlx::query("DELETE FROM schedule_ticks WHERE forget_at_ms < ?")
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(inserted == 1)
    }
}
