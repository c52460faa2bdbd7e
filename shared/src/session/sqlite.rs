//! SQLite session store: one `sessions` table indexed on `last_seen_at_ms`, tombstones
//! and the cleanup history beside it, in the same database file as the embedded queue.
//!
//! Atomic steps are single statements (`UPDATE … WHERE status NOT IN …`,
//! `DELETE … RETURNING`): SQLite runs each under the database write lock, so two
//! processes sharing the file cannot both claim one session.

use std::{path::Path, str::FromStr, time::Duration};

use async_trait::async_trait;
use sqlx::{
    Row, SqlitePool,
    sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
    },
};

use super::{Census, Delivery, ExpiredSession, SessionStore, StartRun, Update, UpdateOutcome};
use crate::{
    Error, Result,
    clock::Clock,
    domain::{Counts, Session, SessionId, Tombstone},
};

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY NOT NULL,
    original_filename TEXT NOT NULL,
    sanitized_filename TEXT NOT NULL,
    format TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    last_seen_at_ms INTEGER NOT NULL,
    map_column TEXT NOT NULL,
    total_rows INTEGER NOT NULL,
    successful INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    skipped INTEGER NOT NULL DEFAULT 0,
    progress INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    job_id TEXT,
    attempt INTEGER NOT NULL DEFAULT 0,
    owner TEXT,
    -- The delivery of the current run that started last (see session::Delivery).
    delivery INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS sessions_last_seen ON sessions (last_seen_at_ms);
CREATE TABLE IF NOT EXISTS session_tombstones (
    id TEXT PRIMARY KEY NOT NULL,
    expired_at_ms INTEGER NOT NULL,
    idle_ms INTEGER NOT NULL,
    status TEXT NOT NULL,
    forget_at_ms INTEGER NOT NULL
);
"#;

/// Opens (creating if needed) the SQLite database at `path` with the settings every
/// process sharing it must use: WAL so readers never block the writer, a busy timeout
/// so concurrent writers wait instead of failing, and `synchronous=NORMAL` (durable in
/// WAL mode across process crashes).
pub async fn open_pool(path: &Path) -> Result<SqlitePool> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10));
    Ok(SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await?)
}

#[derive(Clone)]
pub struct SqliteSessionStore {
    pool: SqlitePool,
    clock: Clock,
}

impl SqliteSessionStore {
    /// A store on `pool`, creating its tables if they do not exist.
    pub async fn open(pool: SqlitePool) -> Result<Self> {
        sqlx::raw_sql(SCHEMA).execute(&pool).await?;
        // Databases created before the delivery fence lack its column.
        let has_delivery: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM pragma_table_info('sessions') WHERE name = 'delivery'",
        )
        .fetch_optional(&pool)
        .await?;
        if has_delivery.is_none() {
            sqlx::query("ALTER TABLE sessions ADD COLUMN delivery INTEGER NOT NULL DEFAULT 0")
                .execute(&pool)
                .await?;
        }
        Ok(Self {
            pool,
            clock: Clock::system(),
        })
    }

    /// The same store reading `clock` for "now" (tests move it to pass a TTL).
    pub fn with_clock(self, clock: Clock) -> Self {
        Self { clock, ..self }
    }
}

fn corrupt(e: impl std::fmt::Display) -> Error {
    Error::Corrupt(e.to_string())
}

fn from_row(row: &SqliteRow) -> Result<Session> {
    let u = |name: &str| -> Result<u64> {
        let v: i64 = row.try_get(name)?;
        u64::try_from(v).map_err(corrupt)
    };
    Ok(Session {
        id: SessionId::from_str(row.try_get("id")?).map_err(corrupt)?,
        original_filename: row.try_get("original_filename")?,
        sanitized_filename: row.try_get("sanitized_filename")?,
        format: row.try_get::<&str, _>("format")?.parse()?,
        status: row.try_get::<&str, _>("status")?.parse()?,
        created_at_ms: row.try_get("created_at_ms")?,
        last_seen_at_ms: row.try_get("last_seen_at_ms")?,
        map_column: row.try_get("map_column")?,
        total_rows: u("total_rows")?,
        counts: Counts {
            successful: u("successful")?,
            failed: u("failed")?,
            skipped: u("skipped")?,
        },
        progress: u("progress")?,
        error: row.try_get("error")?,
        job_id: row.try_get("job_id")?,
        attempt: u32::try_from(row.try_get::<i64, _>("attempt")?).map_err(corrupt)?,
        owner: row.try_get("owner")?,
    })
}

fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

#[async_trait]
impl SessionStore for SqliteSessionStore {
    async fn create(&self, s: &Session) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (id, original_filename, sanitized_filename, format, status,
                created_at_ms, last_seen_at_ms, map_column, total_rows, successful, failed,
                skipped, progress, error, job_id, attempt, owner)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(s.id.to_string())
        .bind(&s.original_filename)
        .bind(&s.sanitized_filename)
        .bind(s.format.extension())
        .bind(s.status.as_str())
        .bind(s.created_at_ms)
        .bind(s.last_seen_at_ms)
        .bind(&s.map_column)
        .bind(int(s.total_rows))
        .bind(int(s.counts.successful))
        .bind(int(s.counts.failed))
        .bind(int(s.counts.skipped))
        .bind(int(s.progress))
        .bind(&s.error)
        .bind(&s.job_id)
        .bind(i64::from(s.attempt))
        .bind(&s.owner)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn get(&self, id: SessionId) -> Result<Option<Session>> {
        let row = sqlx::query("SELECT * FROM sessions WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    async fn touch(&self, id: SessionId) -> Result<Option<Session>> {
        let row = sqlx::query("UPDATE sessions SET last_seen_at_ms = ? WHERE id = ? RETURNING *")
            .bind(self.clock.now_ms())
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    async fn start_run(
        &self,
        id: SessionId,
        job_id: &str,
        replacing: Option<&str>,
    ) -> Result<StartRun> {
        let row = sqlx::query(
            "UPDATE sessions SET status = 'queued', attempt = attempt + 1, job_id = ?,
                progress = 0, successful = 0, failed = 0, skipped = 0, error = NULL,
                delivery = 0, last_seen_at_ms = ?
             WHERE id = ? AND (status NOT IN ('queued', 'processing') OR (status = 'queued' AND job_id = ?))
             RETURNING *",
        )
        .bind(job_id)
        .bind(self.clock.now_ms())
        .bind(id.to_string())
        // NULL never equals a job id: without `replacing`, queued sessions stay busy.
        .bind(replacing)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(row) = row {
            return Ok(StartRun::Started(from_row(&row)?));
        }
        Ok(match self.get(id).await? {
            Some(s) => StartRun::Busy(s),
            None => StartRun::Missing,
        })
    }

    async fn update(&self, id: SessionId, u: &Update) -> Result<UpdateOutcome> {
        let mut sql = String::from("UPDATE sessions SET last_seen_at_ms = ?");
        if u.status.is_some() {
            sql.push_str(", status = ?");
        }
        if u.progress.is_some() {
            sql.push_str(", progress = ?");
        }
        if u.counts.is_some() {
            sql.push_str(", successful = ?, failed = ?, skipped = ?");
        }
        if u.error.is_some() {
            sql.push_str(", error = ?");
        }
        match u.delivery {
            Some(Delivery::Claim(_)) => sql.push_str(", delivery = ?"),
            Some(Delivery::Hold(_)) | None => {}
        }
        sql.push_str(" WHERE id = ?");
        if u.only_run.is_some() {
            sql.push_str(" AND attempt = ?");
        }
        match u.delivery {
            Some(Delivery::Claim(_)) => sql.push_str(" AND delivery <= ?"),
            Some(Delivery::Hold(_)) => sql.push_str(" AND delivery = ?"),
            None => {}
        }
        // Only fixed fragments are concatenated; every value is bound.
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(self.clock.now_ms());
        if let Some(s) = u.status {
            q = q.bind(s.as_str());
        }
        if let Some(p) = u.progress {
            q = q.bind(int(p));
        }
        if let Some(c) = u.counts {
            q = q
                .bind(int(c.successful))
                .bind(int(c.failed))
                .bind(int(c.skipped));
        }
        if let Some(e) = &u.error {
            q = q.bind(e.clone());
        }
        if let Some(Delivery::Claim(n)) = u.delivery {
            q = q.bind(i64::from(n));
        }
        q = q.bind(id.to_string());
        if let Some(run) = u.only_run {
            q = q.bind(i64::from(run));
        }
        if let Some(Delivery::Claim(n) | Delivery::Hold(n)) = u.delivery {
            q = q.bind(i64::from(n));
        }
        if q.execute(&self.pool).await?.rows_affected() > 0 {
            return Ok(UpdateOutcome::Applied);
        }
        Ok(match self.get(id).await? {
            Some(_) => UpdateOutcome::Stale,
            None => UpdateOutcome::Missing,
        })
    }

    async fn delete(&self, id: SessionId) -> Result<bool> {
        let done = sqlx::query("DELETE FROM sessions WHERE id = ?")
            .bind(id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn list_expired(&self, ttl_ms: i64) -> Result<Vec<SessionId>> {
        let rows = sqlx::query(
            "SELECT id FROM sessions WHERE last_seen_at_ms < ? ORDER BY last_seen_at_ms",
        )
        .bind(self.clock.now_ms() - ttl_ms)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .filter_map(|r| r.try_get::<&str, _>("id").ok()?.parse().ok())
            .collect())
    }

    async fn claim_expired(
        &self,
        ttl_ms: i64,
        limit: usize,
        tombstone_ttl_ms: i64,
    ) -> Result<Vec<ExpiredSession>> {
        let now = self.clock.now_ms();
        let mut tx = self.pool.begin().await?;
        // One statement: the expiry check and the delete happen under one write lock.
        let rows = sqlx::query(
            "DELETE FROM sessions WHERE id IN (
                SELECT id FROM sessions WHERE last_seen_at_ms < ? ORDER BY last_seen_at_ms LIMIT ?
             ) RETURNING *",
        )
        .bind(now - ttl_ms)
        .bind(i64::try_from(limit.max(1)).unwrap_or(i64::MAX))
        .fetch_all(&mut *tx)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let session = match from_row(row) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "claimed a corrupt session record");
                    continue;
                }
            };
            sqlx::query(
                "INSERT OR REPLACE INTO session_tombstones (id, expired_at_ms, idle_ms, status, forget_at_ms)
                 VALUES (?, ?, ?, ?, ?)",
            )
            .bind(session.id.to_string())
            .bind(now)
            .bind((now - session.last_seen_at_ms).max(0))
            .bind(session.status.as_str())
            .bind(now + tombstone_ttl_ms)
            .execute(&mut *tx)
            .await?;
            out.push(ExpiredSession {
                session,
                claimed_at_ms: now,
            });
        }
        sqlx::query("DELETE FROM session_tombstones WHERE forget_at_ms < ?")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn tombstone(&self, id: SessionId) -> Result<Option<Tombstone>> {
        let row = sqlx::query(
            "SELECT expired_at_ms, idle_ms, status FROM session_tombstones WHERE id = ? AND forget_at_ms >= ?",
        )
        .bind(id.to_string())
        .bind(self.clock.now_ms())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(Tombstone {
            id,
            expired_at_ms: row.try_get("expired_at_ms")?,
            idle_ms: row.try_get("idle_ms")?,
            status: row.try_get::<&str, _>("status")?.parse()?,
        }))
    }

    async fn queued_idle(&self, idle_ms: i64, limit: usize) -> Result<Vec<(SessionId, String)>> {
        let rows = sqlx::query(
            "SELECT id, job_id FROM sessions WHERE status = 'queued' AND job_id IS NOT NULL AND last_seen_at_ms < ?
             ORDER BY last_seen_at_ms LIMIT ?",
        )
        .bind(self.clock.now_ms() - idle_ms)
        .bind(i64::try_from(limit.max(1)).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                Some((
                    r.try_get::<&str, _>("id").ok()?.parse().ok()?,
                    r.try_get("job_id").ok()?,
                ))
            })
            .collect())
    }

    async fn census(&self) -> Result<Census> {
        let mut census = Census::default();
        for status in crate::domain::SessionStatus::ALL {
            census.by_status.insert(status.as_str().to_owned(), 0);
        }
        let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM sessions GROUP BY status")
            .fetch_all(&self.pool)
            .await?;
        for r in &rows {
            let n: i64 = r.try_get("n")?;
            census
                .by_status
                .insert(r.try_get("status")?, u64::try_from(n).unwrap_or(0));
        }
        census.oldest_last_seen_ms = sqlx::query("SELECT MIN(last_seen_at_ms) AS m FROM sessions")
            .fetch_one(&self.pool)
            .await?
            .try_get("m")?;
        Ok(census)
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}
