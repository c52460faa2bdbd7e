//! The link cache: link → resolution result, shared by every worker (a Redis key per
//! link, or a SQLite table), with a time to live. Results the network tier could not
//! find are cached too, for a shorter time, so a sheet full of one dead short link does
//! not fetch it a thousand times. Address searches (`geocode:` keys) are kept here too,
//! by the same rules.

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
        /// How the point was found (`short link → place pin`, `map page`, `Places`);
        /// absent in entries written before sources existed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        source: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        precision_m: Option<f64>,
        #[serde(default)]
        approximate: bool,
    },
    /// Nothing to find (not a transient failure); the reason shown to users, and its
    /// stable code (absent in entries written before codes existed).
    NotFound {
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<String>,
    },
    /// What an address search found, under a `geocode:` key. A variant of its own, so
    /// that a link cell whose text happens to spell such a key is never answered with
    /// an address search's result.
    AddressFound {
        lat: f64,
        lng: f64,
        /// The larger side of the result's bounding box, when the service gave one.
        #[serde(default)]
        precision_m: Option<f64>,
    },
    /// The address search found nothing.
    AddressNotFound,
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
