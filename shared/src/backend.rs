//! The one place a process opens its backend: Redis when `redis_url` is set
//! (distributed mode), else the SQLite file `<data_dir>/maplink.db` (embedded mode).
//!
//! A process opens its [`Backend`] once, at start, and takes every shared store from
//! it: sessions, the event log, the link cache and the ops data. The job queue is
//! opened from it too (`maplink_worker::queue::QueueBackend::open`); it lives with the
//! worker because it implements apalis' traits, and nothing here knows about it.
//!
//! On Redis the stores share the backend's one connection manager (it multiplexes
//! commands and reconnects by itself); on SQLite they share its one pool, so every
//! store runs with the same database settings (WAL, busy timeout; see [`open_pool`]).
//! A store on SQLite creates its tables when it is opened, which is why the store
//! methods are `async`.

use std::{path::PathBuf, sync::Arc};

use redis::aio::ConnectionManager;
use sqlx::SqlitePool;

use crate::{
    Error, Result,
    cache::{LinkCache, RedisLinkCache, SqliteLinkCache},
    clock::Clock,
    config::Settings,
    events::{EventLog, RedisEventLog, SqliteEventLog},
    ops::{OpsStore, RedisOpsStore, SqliteOpsStore},
    session::{RedisSessionStore, SessionStore, SqliteSessionStore, connect_fail_fast, open_pool},
};

/// Where a process keeps what it shares with the others.
#[derive(Clone)]
pub enum Backend {
    /// Distributed mode. `url` is kept for the connections that cannot be shared
    /// (the queue's blocking reads); it may hold a password, so print it only through
    /// [`redacted`].
    Redis {
        url: String,
        conn: ConnectionManager,
    },
    /// Embedded mode: the API and its in-process workers on one database file.
    Sqlite { pool: SqlitePool },
}

/// How a process's Redis connection meets Redis going away. (SQLite has no such
/// choice: the file is there or the process does not start.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reconnect {
    /// Every command and every reconnect is one attempt of at most `redis_timeout_ms`
    /// ([`connect_fail_fast`]): a process that answers requests (the API) answers 503
    /// at once while Redis is down, and recovers by itself when it is back.
    FailFast,
    /// The connection manager's own retries, with backoff, that commands wait through:
    /// a worker's job would rather wait for Redis to come back than fail an attempt.
    WithBackoff,
}

/// Why a backend could not be opened; the message names the Redis URL (without its
/// password) or the database file.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("connecting to Redis at {url}")]
    Redis {
        /// Already [`redacted`].
        url: String,
        #[source]
        source: Error,
    },
    #[error("opening {}", path.display())]
    Sqlite {
        path: PathBuf,
        #[source]
        source: Error,
    },
}

impl Backend {
    /// Opens the backend `settings` name: Redis at `redis_url` if it is set (the first
    /// connection must succeed, whatever `reconnect` says), else `<data_dir>/maplink.db`,
    /// created if missing.
    pub async fn open(settings: &Settings, reconnect: Reconnect) -> Result<Self, OpenError> {
        match &settings.redis_url {
            Some(url) => {
                let connected = match reconnect {
                    Reconnect::FailFast => {
                        connect_fail_fast(url, settings.stores().redis_timeout).await
                    }
                    Reconnect::WithBackoff => connect_with_backoff(url).await,
                };
                let conn = connected.map_err(|source| OpenError::Redis {
                    url: redacted(url),
                    source,
                })?;
                Ok(Self::Redis {
                    url: url.clone(),
                    conn,
                })
            }
            None => {
                let path = settings.sqlite_path();
                match open_pool(&path).await {
                    Ok(pool) => Ok(Self::Sqlite { pool }),
                    Err(source) => Err(OpenError::Sqlite { path, source }),
                }
            }
        }
    }

    /// Whether this is embedded mode (SQLite): the API then runs the workers itself.
    pub fn is_embedded(&self) -> bool {
        matches!(self, Self::Sqlite { .. })
    }

    /// The session store, reading `clock` for "now" (the system clock in a service).
    pub async fn sessions(&self, clock: &Clock) -> Result<Arc<dyn SessionStore>> {
        Ok(match self {
            Self::Redis { conn, .. } => {
                Arc::new(RedisSessionStore::from_connection(conn.clone()).with_clock(clock.clone()))
            }
            Self::Sqlite { pool } => Arc::new(
                SqliteSessionStore::open(pool.clone())
                    .await?
                    .with_clock(clock.clone()),
            ),
        })
    }

    pub async fn events(&self) -> Result<Arc<dyn EventLog>> {
        Ok(match self {
            Self::Redis { conn, .. } => Arc::new(RedisEventLog::new(conn.clone())),
            Self::Sqlite { pool } => Arc::new(SqliteEventLog::open(pool.clone()).await?),
        })
    }

    pub async fn link_cache(&self) -> Result<Arc<dyn LinkCache>> {
        Ok(match self {
            Self::Redis { conn, .. } => Arc::new(RedisLinkCache::new(conn.clone())),
            Self::Sqlite { pool } => Arc::new(SqliteLinkCache::open(pool.clone()).await?),
        })
    }

    pub async fn ops(&self) -> Result<Arc<dyn OpsStore>> {
        Ok(match self {
            Self::Redis { conn, .. } => Arc::new(RedisOpsStore::new(conn.clone())),
            Self::Sqlite { pool } => Arc::new(SqliteOpsStore::open(pool.clone()).await?),
        })
    }
}

/// The connection manager's defaults: a lost connection is retried with backoff.
async fn connect_with_backoff(url: &str) -> Result<ConnectionManager> {
    Ok(redis::Client::open(url)?.get_connection_manager().await?)
}

/// A Redis URL for messages: whatever stands before `@` (a user name and password)
/// is replaced, as in [`Settings`]' `Debug`.
pub fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://[redacted]@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redis_url_is_printed_without_its_password() {
        assert_eq!(
            redacted("redis://:s3cret@cache:6379/0"),
            "redis://[redacted]@cache:6379/0"
        );
        assert_eq!(
            redacted("rediss://user:p@ss@cache:6380"),
            "rediss://[redacted]@cache:6380"
        );
        assert_eq!(redacted("redis://cache:6379"), "redis://cache:6379");
    }

    #[tokio::test]
    async fn without_redis_the_backend_is_the_data_dirs_database() {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings {
            data_dir: dir.path().join("data"),
            ..Settings::default()
        };
        let backend = Backend::open(&settings, Reconnect::FailFast).await.unwrap();
        assert!(backend.is_embedded());
        backend.sessions(&Clock::system()).await.unwrap();
        backend.ops().await.unwrap();
        assert!(dir.path().join("data/maplink.db").is_file());
    }

    #[tokio::test]
    async fn an_unreachable_redis_is_named_without_its_password() {
        // Port 1 on loopback: nothing listens there, so the connect fails at once.
        let settings = Settings {
            redis_url: Some("redis://:s3cret@127.0.0.1:1/0".into()),
            ..Settings::default()
        };
        let Err(e) = Backend::open(&settings, Reconnect::FailFast).await else {
            panic!("connected to nothing");
        };
        assert_eq!(
            e.to_string(),
            "connecting to Redis at redis://[redacted]@127.0.0.1:1/0"
        );
    }
}
