//! The library's error type.
//!
//! Policy: variants describe *what kind* of failure happened so that callers (the HTTP
//! edge, the job runner) can decide on status codes and retries without string matching.
//! `Sheet`, `TooLarge` and `Invalid` carry messages written for users; the others carry causes that
//! are logged, never shown.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The uploaded or stored sheet cannot be read; the message is shown to the user.
    #[error("{0}")]
    Sheet(String),
    /// The uploaded or stored sheet is larger than a configured limit allows; the
    /// message, shown to the user, names the limit and the size.
    #[error("{0}")]
    TooLarge(String),
    /// A value supplied by a caller is not acceptable; the message is shown to the user.
    #[error("{0}")]
    Invalid(String),
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("sqlite: {0}")]
    Sqlite(#[from] sqlx::Error),
    #[error("io error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file store (local filesystem or object storage) failed an operation on an
    /// object, after the store client's own retries.
    #[error("file store {operation} {object}: {source}")]
    Storage {
        operation: &'static str,
        object: String,
        #[source]
        source: object_store::Error,
    },
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("configuration: {0}")]
    Config(String),
    /// A format writer (GeoJSON, KML, GPX) refused what it was given.
    #[error("writing the {0} export: {1}")]
    Export(&'static str, String),
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    /// Whether retrying the same operation later may succeed (store or network trouble),
    /// as opposed to a problem with the input itself.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Redis(_) | Self::Sqlite(_) | Self::Io { .. } | Self::Storage { .. }
        )
    }

    /// Whether this is the file store saying the object does not exist.
    pub fn is_missing_file(&self) -> bool {
        matches!(
            self,
            Self::Storage {
                source: object_store::Error::NotFound { .. },
                ..
            }
        )
    }
}
