//! `FileStore`: where a session's files live, and how they are written.
//!
//! The files are objects in an `object_store` store: by default the local filesystem
//! under `<data_dir>/sessions/`, laid out `<session id>/{input.<ext>, output.<ext>,
//! rows.jsonl, …}`. Names are built only from the `SessionId` and fixed names, never
//! from a client's filename. Job code and routes go through this type only, so they do
//! not know which store holds the files.
//!
//! Every write is one atomic put: readers see the old object or the new one, never
//! half of one. On the local filesystem the object is written under a staging name
//! (with a `#`, which listings skip), synced, and renamed over the target.

use std::{
    io,
    path::{Path, PathBuf},
    sync::Arc,
    time::SystemTime,
};

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt, stream::BoxStream};
use object_store::{
    GetResult, ObjectStore, ObjectStoreExt, PutPayload,
    aws::{AmazonS3Builder, AmazonS3ConfigKey},
    local::LocalFileSystem,
    path::Path as ObjectPath,
    prefix::PrefixStore,
};

use crate::{
    Error, Result,
    domain::{FileFormat, SessionId},
};

/// The files a session can have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionFile {
    Input(FileFormat),
    Output(FileFormat),
    /// The output's header and failed rows only.
    Failed(FileFormat),
    /// The output's header and skipped rows only.
    Skipped(FileFormat),
    /// The per-row log, one JSON object per line.
    Rows,
}

impl SessionFile {
    fn file_name(self) -> String {
        match self {
            Self::Input(f) => format!("input.{}", f.extension()),
            Self::Output(f) => format!("output.{}", f.extension()),
            Self::Failed(f) => format!("failed.{}", f.extension()),
            Self::Skipped(f) => format!("skipped.{}", f.extension()),
            Self::Rows => "rows.jsonl".to_owned(),
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
            .map_err(|e| storage_error(&root, e))?
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
    /// `AWS_*` environment, see [`aws_env`]).
    pub fn open_url(url: &str, options: &[(String, String)]) -> Result<Self> {
        let parsed =
            url::Url::parse(url).map_err(|e| Error::Config(format!("storage_url {url:?}: {e}")))?;
        if !matches!(parsed.scheme(), "s3" | "s3a") {
            return Err(Error::Config(format!(
                "storage_url {url:?}: only s3:// URLs are supported (unset it for the local filesystem)"
            )));
        }
        let mut builder = AmazonS3Builder::new().with_url(url);
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
            Some(url) => Self::open_url(url, &aws_env()),
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

    pub async fn exists(&self, id: SessionId, file: SessionFile) -> Result<bool> {
        let at = Self::location(id, file);
        match self.store.head(&at).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(storage_error(at.as_ref(), e)),
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
            .map_err(|e| storage_error(at.as_ref(), e))
    }

    pub async fn read(&self, id: SessionId, file: SessionFile) -> Result<Bytes> {
        let (at, got) = self.get(id, file).await?;
        got.bytes().await.map_err(|e| storage_error(at.as_ref(), e))
    }

    async fn get(&self, id: SessionId, file: SessionFile) -> Result<(ObjectPath, GetResult)> {
        let at = Self::location(id, file);
        match self.store.get(&at).await {
            Ok(got) => Ok((at, got)),
            Err(e) => Err(storage_error(at.as_ref(), e)),
        }
    }

    /// Deletes one object; one that is already gone is fine.
    async fn delete(&self, at: &ObjectPath) -> Result<()> {
        match self.store.delete(at).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(storage_error(at.as_ref(), e)),
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

    /// Removes every file of a session. Removing a session that has no files is fine.
    pub async fn remove_session(&self, id: SessionId) -> Result<()> {
        let prefix = ObjectPath::from(id.to_string());
        let listed: Vec<_> = self
            .store
            .list(Some(&prefix))
            .try_collect()
            .await
            .map_err(|e| storage_error(prefix.as_ref(), e))?;
        for meta in listed {
            self.delete(&meta.location).await?;
        }
        Ok(())
    }

    /// The bytes of every file of every session (for the global storage quota). Lists
    /// the whole store: call it now and then, not per request.
    pub async fn stored_bytes(&self) -> Result<u64> {
        let mut total = 0u64;
        let mut listed = self.store.list(None);
        while let Some(meta) = listed.next().await {
            // A session removed by cleanup mid-listing is simply not counted.
            if let Ok(meta) = meta {
                total = total.saturating_add(meta.size);
            }
        }
        Ok(total)
    }

    /// The sessions that have files, each with the time its newest file was written;
    /// objects not under a session id are ignored.
    pub async fn list_sessions(&self) -> Result<Vec<(SessionId, SystemTime)>> {
        let mut newest: std::collections::HashMap<SessionId, SystemTime> = Default::default();
        let mut listed = self.store.list(None);
        while let Some(meta) = listed.next().await {
            let Ok(meta) = meta else { continue };
            let Some(id) = meta
                .location
                .parts()
                .next()
                .and_then(|p| p.as_ref().parse::<SessionId>().ok())
            else {
                continue;
            };
            let modified = SystemTime::from(meta.last_modified);
            let at = newest.entry(id).or_insert(modified);
            *at = (*at).max(modified);
        }
        Ok(newest.into_iter().collect())
    }
}

/// This process's `AWS_*` environment variables, as options for [`FileStore::open_url`].
pub fn aws_env() -> Vec<(String, String)> {
    std::env::vars()
        .filter(|(k, _)| k.starts_with("AWS_"))
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect()
}

/// A store failure as the library's error: the object's name and the cause. Not
/// found stays recognisable (`io::ErrorKind::NotFound`).
fn storage_error(at: impl AsRef<Path>, e: object_store::Error) -> Error {
    let kind = match &e {
        object_store::Error::NotFound { .. } => io::ErrorKind::NotFound,
        _ => io::ErrorKind::Other,
    };
    Error::io(at.as_ref(), io::Error::new(kind, e))
}

/// A safe rendition of a client's filename: ASCII letters, digits, `-`, `_` and `.`
/// only, no leading dots, at most 100 characters, always ending in the format's
/// extension. Used for display and download names, never for paths.
pub fn sanitize_filename(original: &str, format: FileFormat) -> String {
    let base = original.rsplit(['/', '\\']).next().unwrap_or_default();
    let stem = match base.rsplit_once('.') {
        Some((stem, _)) => stem,
        None => base,
    };
    let mut clean: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    clean = clean.trim_start_matches('.').to_owned();
    clean.truncate(100);
    if clean.is_empty() {
        clean.push_str("upload");
    }
    format!("{clean}.{}", format.extension())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitized_names_cannot_escape_or_hide() {
        assert_eq!(
            sanitize_filename("../../etc/passwd.xlsx", FileFormat::Xlsx),
            "passwd.xlsx"
        );
        assert_eq!(
            sanitize_filename("C:\\x\\..hidden.XLSX", FileFormat::Xlsx),
            "hidden.xlsx"
        );
        assert_eq!(
            sanitize_filename("Stores 2024 (v2).csv", FileFormat::Csv),
            "Stores_2024__v2_.csv"
        );
        assert_eq!(sanitize_filename(".xlsx", FileFormat::Xlsx), "upload.xlsx");
        assert_eq!(
            sanitize_filename("Überstädte.xlsx", FileFormat::Xlsx),
            "_berst_dte.xlsx"
        );
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
