//! `FileStore`: where a session's files live, and how they are written.
//!
//! The files are objects in an `object_store` store: by default the local filesystem
//! under `<data_dir>/sessions/`, laid out `<session id>/{input.<ext>, output.<ext>,
//! rows.jsonl, …}`; with `storage_url` an S3 bucket (or an S3-compatible service)
//! under a prefix, laid out the same. Names are built only from the `SessionId` and
//! fixed names, never from a client's filename. Job code and routes go through this
//! type only, so they do not know which store holds the files.
//!
//! Every write is atomic: readers see the old object or the new one, never half of
//! one. On the local filesystem an object is written under a staging name (with a
//! `#`), synced, and renamed over the target; on S3 a put or a completed multipart
//! upload replaces the object whole.
//!
//! Failures: the S3 client retries a failed request with backoff for up to
//! `storage_retry_secs`; what still fails is an [`Error::Storage`] naming the operation,
//! counted in `maplink_storage_errors_total{operation}`. Callers treat it as
//! transient: the API answers 503, a job is retried.

mod names;
mod writer;

use std::{
    io,
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, SystemTime},
};

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt, stream::BoxStream};
use object_store::{
    BackoffConfig, ClientOptions, GetResult, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig,
    aws::{AmazonS3Builder, AmazonS3ConfigKey},
    local::LocalFileSystem,
    path::Path as ObjectPath,
    prefix::PrefixStore,
};

pub use names::SessionFile;
pub use writer::{FileWriter, PART_SIZE};

use crate::{Error, Result, domain::SessionId};

/// How long the S3 client keeps retrying a failed request when not told: long enough
/// to ride out a store restart or a brief network fault, short enough that an API
/// request answers 503 rather than hanging.
const DEFAULT_RETRY_FOR: Duration = Duration::from_secs(10);
/// How long a connection to the store may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// What a store request was doing, for errors and the error metric's label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StorageOp {
    Get,
    Put,
    Multipart,
    Head,
    Delete,
    List,
}

/// Every value of the storage error metric's `operation` label.
pub const STORAGE_OPERATIONS: &[&str] = &["get", "put", "multipart", "head", "delete", "list"];

impl StorageOp {
    fn as_str(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::Put => "put",
            Self::Multipart => "multipart",
            Self::Head => "head",
            Self::Delete => "delete",
            Self::List => "list",
        }
    }
}

#[derive(Clone, Debug)]
pub struct FileStore {
    store: Arc<dyn ObjectStore>,
    /// Where the objects are on disk, for a local store.
    local_root: Option<PathBuf>,
}

impl FileStore {
    /// A store on the local filesystem under `<data_dir>/sessions`, created if missing.
    pub fn open(data_dir: &Path) -> Result<Self> {
        let root = data_dir.join("sessions");
        std::fs::create_dir_all(&root).map_err(|e| Error::io(&root, e))?;
        let local = LocalFileSystem::new_with_prefix(&root)
            .map_err(|e| Error::Config(format!("data_dir {}: {e}", root.display())))?
            // Removing a session's last object removes its directory too.
            .with_automatic_cleanup(true)
            // Written files (and their directory) reach the disk before the rename: a
            // power loss leaves the old file or the new one, not an empty one.
            .with_fsync(true);
        Ok(Self {
            store: Arc::new(local),
            local_root: Some(root),
        })
    }

    /// A store at `url`: `s3://bucket/prefix` (S3 or an S3-compatible service) with
    /// `options` as `object_store` names them (`aws_endpoint_url`, `aws_access_key_id`,
    /// `aws_secret_access_key`, `aws_region`, `aws_allow_http`, …; a process passes its
    /// `AWS_*` environment, see [`aws_env`]). A failed request is retried with backoff
    /// for up to 10 s.
    pub fn open_url(url: &str, options: &[(String, String)]) -> Result<Self> {
        Self::open_url_retrying(url, options, DEFAULT_RETRY_FOR)
    }

    /// [`open_url`](Self::open_url), retrying a failed request for up to `retry_for`.
    pub fn open_url_retrying(
        url: &str,
        options: &[(String, String)],
        retry_for: Duration,
    ) -> Result<Self> {
        let parsed =
            url::Url::parse(url).map_err(|e| Error::Config(format!("storage_url {url:?}: {e}")))?;
        if !matches!(parsed.scheme(), "s3" | "s3a") {
            return Err(Error::Config(format!(
                "storage_url {url:?}: only s3:// URLs are supported (unset it for the local filesystem)"
            )));
        }
        let mut builder = AmazonS3Builder::new()
            .with_url(url)
            .with_retry(RetryConfig {
                backoff: BackoffConfig {
                    init_backoff: Duration::from_millis(100),
                    max_backoff: Duration::from_secs(2),
                    base: 2.0,
                },
                max_retries: 16,
                retry_timeout: retry_for,
            })
            .with_client_options(ClientOptions::new().with_connect_timeout(CONNECT_TIMEOUT));
        for (key, value) in options {
            if let Ok(key) = key.to_ascii_lowercase().parse::<AmazonS3ConfigKey>() {
                builder = builder.with_config(key, value);
            }
        }
        let s3 = builder
            .build()
            .map_err(|e| Error::Config(format!("storage_url {url:?}: {e}")))?;
        let prefix = parsed.path().trim_matches('/');
        let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
            Arc::new(s3)
        } else {
            Arc::new(PrefixStore::new(s3, prefix))
        };
        Ok(Self {
            store,
            local_root: None,
        })
    }

    /// The store the settings name: `storage_url` with this process's `AWS_*`
    /// environment, or the local filesystem under `data_dir`.
    pub fn from_settings(settings: &crate::config::Settings) -> Result<Self> {
        match &settings.storage_url {
            Some(url) => Self::open_url_retrying(url, &aws_env(), settings.stores().storage_retry),
            None => Self::open(&settings.data_dir),
        }
    }

    /// A session's directory, for a local store (where tests look at the files).
    pub fn session_dir(&self, id: SessionId) -> PathBuf {
        self.local_root
            .as_deref()
            .unwrap_or(Path::new("/nonexistent"))
            .join(id.to_string())
    }

    fn location(id: SessionId, file: SessionFile) -> ObjectPath {
        ObjectPath::from(format!("{id}/{}", file.file_name()))
    }

    /// Whether the store answers: one request for an object that never exists, so
    /// "not found" is the healthy answer. For readiness probes; bound it with a timeout,
    /// as the client retries a store that is down for up to `storage_retry_secs`.
    pub async fn ping(&self) -> Result<()> {
        let at = ObjectPath::from("readiness-probe");
        match self.store.head(&at).await {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(storage_error(StorageOp::Head, at.as_ref(), e)),
        }
    }

    pub async fn exists(&self, id: SessionId, file: SessionFile) -> Result<bool> {
        let at = Self::location(id, file);
        match self.store.head(&at).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(storage_error(StorageOp::Head, at.as_ref(), e)),
        }
    }

    /// Writes `bytes` atomically.
    pub async fn write(
        &self,
        id: SessionId,
        file: SessionFile,
        bytes: impl Into<Bytes>,
    ) -> Result<()> {
        let at = Self::location(id, file);
        self.store
            .put(&at, PutPayload::from_bytes(bytes.into()))
            .await
            .map(drop)
            .map_err(|e| storage_error(StorageOp::Put, at.as_ref(), e))
    }

    /// A file written as its bytes arrive; it appears, whole, when the writer is
    /// finished, and not at all if the writer is dropped before. See [`FileWriter`].
    pub fn writer(&self, id: SessionId, file: SessionFile) -> FileWriter {
        FileWriter::start(self.store.clone(), Self::location(id, file))
    }

    pub async fn read(&self, id: SessionId, file: SessionFile) -> Result<Bytes> {
        let (at, got) = self.get(id, file).await?;
        got.bytes()
            .await
            .map_err(|e| storage_error(StorageOp::Get, at.as_ref(), e))
    }

    async fn get(&self, id: SessionId, file: SessionFile) -> Result<(ObjectPath, GetResult)> {
        let at = Self::location(id, file);
        match self.store.get(&at).await {
            Ok(got) => Ok((at, got)),
            Err(e) => Err(storage_error(StorageOp::Get, at.as_ref(), e)),
        }
    }

    /// Deletes one object; one that is already gone is fine.
    async fn delete(&self, at: &ObjectPath) -> Result<()> {
        match self.store.delete(at).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(storage_error(StorageOp::Delete, at.as_ref(), e)),
        }
    }

    /// The file's size and its bytes as a stream of chunks, for downloads: nothing is
    /// held whole. A failure after the first chunk ends the stream with an error.
    pub async fn read_stream(
        &self,
        id: SessionId,
        file: SessionFile,
    ) -> Result<(u64, BoxStream<'static, io::Result<Bytes>>)> {
        let (_, got) = self.get(id, file).await?;
        let size = got.meta.size;
        Ok((size, got.into_stream().map_err(io::Error::other).boxed()))
    }

    /// Removes a file if present.
    pub async fn remove_file(&self, id: SessionId, file: SessionFile) -> Result<()> {
        self.delete(&Self::location(id, file)).await
    }

    /// Removes every file of a session, answering the bytes they held. Removing a
    /// session that has no files is fine.
    pub async fn remove_session(&self, id: SessionId) -> Result<u64> {
        let prefix = ObjectPath::from(id.to_string());
        let listed: Vec<_> = self
            .store
            .list(Some(&prefix))
            .try_collect()
            .await
            .map_err(|e| storage_error(StorageOp::List, prefix.as_ref(), e))?;
        let mut bytes = 0u64;
        for meta in listed {
            self.delete(&meta.location).await?;
            bytes = bytes.saturating_add(meta.size);
        }
        if self.local_root.is_some() {
            // Listings do not show a staging file left by a process killed mid-write;
            // the session's directory goes with whatever is left in it.
            let dir = self.session_dir(id);
            match tokio::fs::remove_dir_all(&dir).await {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(dir, e)),
            }
        }
        Ok(bytes)
    }

    /// The bytes of every file of every session (for the global storage quota). Lists
    /// the whole store: call it now and then, not per request.
    pub async fn stored_bytes(&self) -> Result<u64> {
        let mut total = 0u64;
        let mut listed = self.store.list(None);
        while let Some(meta) = listed.next().await {
            match meta {
                Ok(meta) => total = total.saturating_add(meta.size),
                // A session removed by cleanup mid-listing is simply not counted.
                Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(storage_error(StorageOp::List, "", e)),
            }
        }
        Ok(total)
    }

    /// The sessions that have files, each with the time its newest file was written;
    /// objects not under a session id are ignored. On the local filesystem a session
    /// directory holding only a staging file (a write cut short by a crash) counts too,
    /// so that the orphan sweep removes it.
    pub async fn list_sessions(&self) -> Result<Vec<(SessionId, SystemTime)>> {
        let mut newest: std::collections::HashMap<SessionId, SystemTime> = Default::default();
        let mut seen = |id: SessionId, at: SystemTime| {
            let newest = newest.entry(id).or_insert(at);
            *newest = (*newest).max(at);
        };
        let mut listed = self.store.list(None);
        while let Some(meta) = listed.next().await {
            let meta = match meta {
                Ok(meta) => meta,
                Err(object_store::Error::NotFound { .. }) => continue,
                Err(e) => return Err(storage_error(StorageOp::List, "", e)),
            };
            if let Some(id) = meta
                .location
                .parts()
                .next()
                .and_then(|p| p.as_ref().parse::<SessionId>().ok())
            {
                seen(id, SystemTime::from(meta.last_modified));
            }
        }
        if let Some(root) = self.local_root.clone() {
            let dirs = tokio::task::spawn_blocking(move || local_session_dirs(&root))
                .await
                .map_err(|e| Error::io("sessions", io::Error::other(e)))??;
            for (id, at) in dirs {
                seen(id, at);
            }
        }
        Ok(newest.into_iter().collect())
    }
}

/// Each session directory under a local root with the newest modification time of
/// anything in it (staging files included).
fn local_session_dirs(root: &Path) -> Result<Vec<(SessionId, SystemTime)>> {
    let mut out = Vec::new();
    let entries = std::fs::read_dir(root).map_err(|e| Error::io(root, e))?;
    for entry in entries.flatten() {
        let Some(id) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<SessionId>().ok())
        else {
            continue;
        };
        // A directory removed meanwhile is simply not listed.
        let Ok(dir) = std::fs::read_dir(entry.path()) else {
            continue;
        };
        let newest = dir
            .flatten()
            .filter_map(|f| f.metadata().and_then(|m| m.modified()).ok())
            .chain(entry.metadata().and_then(|m| m.modified()).ok())
            .max();
        if let Some(at) = newest {
            out.push((id, at));
        }
    }
    Ok(out)
}

/// This process's `AWS_*` environment variables, as options for [`FileStore::open_url`].
pub fn aws_env() -> Vec<(String, String)> {
    std::env::vars()
        .filter(|(k, _)| k.starts_with("AWS_"))
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect()
}

/// A store failure as the library's error, counted by operation unless it is the
/// store saying "not found" (an answer, not a failure).
pub(crate) fn storage_error(op: StorageOp, object: &str, source: object_store::Error) -> Error {
    if !matches!(source, object_store::Error::NotFound { .. }) {
        metrics::counter!(crate::metrics::STORAGE_ERRORS, "operation" => op.as_str()).increment(1);
    }
    Error::Storage {
        operation: op.as_str(),
        object: object.to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::FileFormat;

    #[test]
    fn every_operation_is_a_registered_metric_label() {
        use StorageOp::*;
        let ops = [Get, Put, Multipart, Head, Delete, List];
        let names: Vec<_> = ops.iter().map(|op| op.as_str()).collect();
        assert_eq!(names, STORAGE_OPERATIONS);
    }

    #[tokio::test]
    async fn a_write_replaces_the_file_whole_and_leaves_no_staging_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::open(dir.path()).unwrap();
        let id = SessionId::random();
        store
            .write(id, SessionFile::Rows, &b"old"[..])
            .await
            .unwrap();
        store
            .write(id, SessionFile::Rows, &b"new"[..])
            .await
            .unwrap();
        assert_eq!(
            &store.read(id, SessionFile::Rows).await.unwrap()[..],
            b"new"
        );
        let names: Vec<_> = std::fs::read_dir(store.session_dir(id))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("rows.jsonl")]);
    }

    #[tokio::test]
    async fn a_stream_read_gives_the_size_and_every_byte() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::open(dir.path()).unwrap();
        let id = SessionId::random();
        let body: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        store
            .write(id, SessionFile::Output(FileFormat::Csv), body.clone())
            .await
            .unwrap();
        let (size, stream) = store
            .read_stream(id, SessionFile::Output(FileFormat::Csv))
            .await
            .unwrap();
        assert_eq!(size, body.len() as u64);
        let chunks: Vec<Bytes> = stream.try_collect().await.unwrap();
        assert!(chunks.len() > 1, "read in chunks, not whole");
        assert_eq!(chunks.concat(), body);
    }

    #[tokio::test]
    async fn remove_session_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::open(dir.path()).unwrap();
        let id = SessionId::random();
        store
            .write(id, SessionFile::Input(FileFormat::Csv), &b"a,b"[..])
            .await
            .unwrap();
        assert_eq!(store.list_sessions().await.unwrap().len(), 1);
        assert_eq!(store.stored_bytes().await.unwrap(), 3);
        store.remove_session(id).await.unwrap();
        store.remove_session(id).await.unwrap();
        assert!(!store.session_dir(id).exists());
        assert!(
            !store
                .exists(id, SessionFile::Input(FileFormat::Csv))
                .await
                .unwrap()
        );
    }
}
