//! SQLite event log: one table; the row id is the event id.

use async_trait::async_trait;
use sqlx::{Row, SqlitePool};

use super::{Event, EventKind, EventLog, MAX_EVENTS_PER_SESSION};
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
        let seq: i64 = sqlx::query(
            "INSERT INTO session_events (session_id, kind, data) VALUES (?, ?, ?) RETURNING seq",
        )
        .bind(&sid)
        .bind(kind.as_str())
        .bind(data.to_string())
        .fetch_one(&self.pool)
        .await?
        .try_get("seq")?;
        // Trim now and then rather than on every append.
        if seq % 100 == 0 {
            sqlx::query("DELETE FROM session_events WHERE session_id = ? AND seq <= ?")
                .bind(&sid)
                .bind(seq - MAX_EVENTS_PER_SESSION as i64)
                .execute(&self.pool)
                .await?;
        }
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

    async fn delete(&self, session: SessionId) -> Result<()> {
        sqlx::query("DELETE FROM session_events WHERE session_id = ?")
            .bind(session.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
