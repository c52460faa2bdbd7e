//! The link cache: link → resolution result, shared by every worker (a Redis key per
//! link, or a SQLite table), with a time to live. Results the network tier could not
//! find are cached too, for a shorter time, so a sheet full of one dead short link does
//! not fetch it a thousand times.

mod redis;
mod sqlite;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use self::{redis::RedisLinkCache, sqlite::SqliteLinkCache};
use crate::Result;

/// What the network tier found for a link.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CachedLink {
    Found {
        lat: f64,
        lng: f64,
        method: String,
    },
    /// Nothing to find (not a transient failure); the reason shown to users.
    NotFound {
        reason: String,
    },
}

/// Links longer than this are not cached (they are rare and make poor keys).
pub const MAX_KEY_LEN: usize = 2048;

/// The cache key of a link: trimmed; `None` when the link is too long to cache.
pub fn key(link: &str) -> Option<&str> {
    let k = link.trim();
    (!k.is_empty() && k.len() <= MAX_KEY_LEN).then_some(k)
}

#[async_trait]
pub trait LinkCache: Send + Sync + 'static {
    async fn get(&self, link: &str) -> Result<Option<CachedLink>>;
    async fn put(&self, link: &str, value: &CachedLink, ttl_ms: i64) -> Result<()>;
}
