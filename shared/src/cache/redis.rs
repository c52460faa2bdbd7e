//! Redis link cache: one string key per link with `PX` expiry.

use async_trait::async_trait;
use redis::{AsyncCommands, aio::ConnectionManager};

use super::{CachedLink, LinkCache, key};
use crate::{Error, Result};

const PREFIX: &str = "{maplink}:link:";

#[derive(Clone)]
pub struct RedisLinkCache {
    conn: ConnectionManager,
}

impl RedisLinkCache {
    pub fn new(conn: ConnectionManager) -> Self {
        Self { conn }
    }
}

#[async_trait]
impl LinkCache for RedisLinkCache {
    async fn get(&self, link: &str) -> Result<Option<CachedLink>> {
        let Some(k) = key(link) else { return Ok(None) };
        let mut conn = self.conn.clone();
        let v: Option<String> = conn.get(format!("{PREFIX}{k}")).await?;
        // An unreadable entry (an older format) is a miss, not an error.
        Ok(v.and_then(|v| serde_json::from_str(&v).ok()))
    }

    async fn put(&self, link: &str, value: &CachedLink, ttl_ms: i64) -> Result<()> {
        let Some(k) = key(link) else { return Ok(()) };
        let mut conn = self.conn.clone();
        let json = serde_json::to_string(value).map_err(|e| Error::Corrupt(e.to_string()))?;
        let ttl = u64::try_from(ttl_ms.max(1)).unwrap_or(1);
        conn.pset_ex::<_, _, ()>(format!("{PREFIX}{k}"), json, ttl)
            .await?;
        Ok(())
    }
}
