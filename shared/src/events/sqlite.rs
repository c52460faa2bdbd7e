//! SQLite event log: one table; the row id is the event id. Each append trims its
//! session to the newest [`MAX_EVENTS_PER_SESSION`] in the same transaction.

use async_trait::async_trait;
use sqlx::{Row, SqlitePool};

use super::{Event, EventKind, EventLog, MAX_EVENTS_PER_SESSION, fit};
use crate::{Error, Result, domain::SessionId};

#[derive(Clone)]
pub struct SqliteEventLog {
    pool: SqlitePool,
}

impl SqliteEventLog {
    pub async fn open(pool: SqlitePool) -> Result<Self> {
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS session_events (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                session_id TEXT NOT NULL,
                kind TEXT NOT NULL,
                data TEXT NOT NULL
            );
            CREATE INDEX IF NOT EXISTS session_events_by_session ON session_events (session_id, seq);",
        )
        .execute(&pool)
        .await?;
        Ok(Self { pool })
    }
}

#[async_trait]
impl EventLog for SqliteEventLog {
    async fn append(
        &self,
        session: SessionId,
        kind: EventKind,
        data: &serde_json::Value,
    ) -> Result<String> {
        let sid = session.to_string();
        let mut tx = self.pool.begin().await?;
        let seq: i64 = sqlx::query(
            "INSERT INTO session_events (session_id, kind, data) VALUES (?, ?, ?) RETURNING seq",
        )
        .bind(&sid)
        .bind(kind.as_str())
        .bind(fit(kind, data))
        .fetch_one(&mut *tx)
        .await?
        .try_get("seq")?;
        // Sequence numbers are shared by all sessions, so the cut is found by position
        // within this session (an index walk of at most the cap), not by arithmetic on
        // `seq`. Trimming on every append keeps the bound exact.
        sqlx::query(
            "DELETE FROM session_events WHERE session_id = ?1 AND seq <= (
                SELECT seq FROM session_events WHERE session_id = ?1
                ORDER BY seq DESC LIMIT 1 OFFSET ?2)",
        )
        .bind(&sid)
        .bind(i64::try_from(MAX_EVENTS_PER_SESSION).unwrap_or(i64::MAX))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(seq.to_string())
    }

    async fn read_after(
        &self,
        session: SessionId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Event>> {
        let after: i64 = after.and_then(|a| a.parse().ok()).unwrap_or(0);
        let rows = sqlx::query("SELECT seq, kind, data FROM session_events WHERE session_id = ? AND seq > ? ORDER BY seq LIMIT ?")
            .bind(session.to_string())
            .bind(after)
            .bind(i64::try_from(limit.max(1)).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let kind = EventKind::parse(r.try_get("kind")?)
                    .ok_or_else(|| Error::Corrupt("unknown event kind".into()))?;
                let data = serde_json::from_str(r.try_get("data")?)
                    .map_err(|e| Error::Corrupt(e.to_string()))?;
                Ok(Event {
                    id: r.try_get::<i64, _>("seq")?.to_string(),
                    kind,
                    data,
                })
            })
            .collect()
    }

    async fn last_id(&self, session: SessionId) -> Result<Option<String>> {
        let seq: Option<i64> =
            sqlx::query("SELECT MAX(seq) AS seq FROM session_events WHERE session_id = ?")
                .bind(session.to_string())
                .fetch_one(&self.pool)
                .await?
                .try_get("seq")?;
        Ok(seq.map(|s| s.to_string()))
    }

    async fn delete(&self, session: SessionId) -> Result<()> {
        sqlx::query("DELETE FROM session_events WHERE session_id = ?")
            .bind(session.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
