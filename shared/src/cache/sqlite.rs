//! SQLite link cache: one table, expired rows ignored on read and pruned on write.

use async_trait::async_trait;
use sqlx::{Row, SqlitePool};

use super::{CachedLink, LinkCache, key};
use crate::{Error, Result, domain::now_ms};

#[derive(Clone)]
pub struct SqliteLinkCache {
    pool: SqlitePool,
}

impl SqliteLinkCache {
    pub async fn open(pool: SqlitePool) -> Result<Self> {
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS link_cache (
                link TEXT PRIMARY KEY NOT NULL,
                value TEXT NOT NULL,
                expires_at_ms INTEGER NOT NULL
            );
            CREATE INDEX IF NOT EXISTS link_cache_expiry ON link_cache (expires_at_ms);",
        )
        .execute(&pool)
        .await?;
        Ok(Self { pool })
    }
}

#[async_trait]
impl LinkCache for SqliteLinkCache {
    async fn get(&self, link: &str) -> Result<Option<CachedLink>> {
        let Some(k) = key(link) else { return Ok(None) };
        let row = sqlx::query("SELECT value FROM link_cache WHERE link = ? AND expires_at_ms > ?")
            .bind(k)
            .bind(now_ms())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.and_then(|r| serde_json::from_str(r.try_get::<&str, _>("value").ok()?).ok()))
    }

    async fn put(&self, link: &str, value: &CachedLink, ttl_ms: i64) -> Result<()> {
        let Some(k) = key(link) else { return Ok(()) };
        let json = serde_json::to_string(value).map_err(|e| Error::Corrupt(e.to_string()))?;
        let now = now_ms();
        sqlx::query(
            "INSERT OR REPLACE INTO link_cache (link, value, expires_at_ms) VALUES (?, ?, ?)",
        )
        .bind(k)
        .bind(json)
        .bind(now + ttl_ms.max(1))
        .execute(&self.pool)
        .await?;
        // Keep the table from growing without bound; cheap with the expiry index.
        sqlx::query("DELETE FROM link_cache WHERE expires_at_ms <= ?")
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
