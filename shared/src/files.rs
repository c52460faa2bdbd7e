//! `FileStore`: where a session's files live, and how they are written.
//!
//! Layout: `<data_dir>/sessions/<session id>/{input.<ext>, output.<ext>, rows.jsonl}`.
//! Paths are built only from the `SessionId` and fixed names, never from a client's
//! filename. Every write goes to a temporary file in the same directory, is synced and
//! then renamed over the target: a crash at any point leaves either the old file or the
//! new one, never half of one.

use std::{
    fs,
    io::{self, Write},
    path::{Path, PathBuf},
    time::SystemTime,
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
    root: PathBuf,
}

impl FileStore {
    /// A store under `<data_dir>/sessions`, created if missing.
    pub fn open(data_dir: &Path) -> Result<Self> {
        let root = data_dir.join("sessions");
        fs::create_dir_all(&root).map_err(|e| Error::io(&root, e))?;
        Ok(Self { root })
    }

    pub fn session_dir(&self, id: SessionId) -> PathBuf {
        self.root.join(id.to_string())
    }

    pub fn path(&self, id: SessionId, file: SessionFile) -> PathBuf {
        self.session_dir(id).join(file.file_name())
    }

    pub fn exists(&self, id: SessionId, file: SessionFile) -> bool {
        self.path(id, file).is_file()
    }

    /// Writes `bytes` atomically.
    pub fn write(&self, id: SessionId, file: SessionFile, bytes: &[u8]) -> Result<()> {
        self.write_with(id, file, |w| w.write_all(bytes))
    }

    /// Writes atomically whatever `fill` writes. If `fill` fails, the target is left as
    /// it was and the temporary file is removed.
    pub fn write_with(
        &self,
        id: SessionId,
        file: SessionFile,
        fill: impl FnOnce(&mut fs::File) -> io::Result<()>,
    ) -> Result<()> {
        let dir = self.session_dir(id);
        fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let target = dir.join(file.file_name());
        // The temporary file lives in the same directory so that the rename is atomic
        // (same filesystem); its random name keeps two concurrent writers (a job re-run
        // on another worker) from writing into each other's file.
        let mut tmp = tempfile::Builder::new()
            .prefix(".tmp-")
            .tempfile_in(&dir)
            .map_err(|e| Error::io(&dir, e))?;
        fill(tmp.as_file_mut()).map_err(|e| Error::io(&target, e))?;
        tmp.as_file()
            .sync_all()
            .map_err(|e| Error::io(&target, e))?;
        tmp.persist(&target)
            .map_err(|e| Error::io(&target, e.error))?;
        Ok(())
    }

    pub fn read(&self, id: SessionId, file: SessionFile) -> Result<Vec<u8>> {
        let path = self.path(id, file);
        fs::read(&path).map_err(|e| Error::io(path, e))
    }

    /// Removes a file if present.
    pub fn remove_file(&self, id: SessionId, file: SessionFile) -> Result<()> {
        let path = self.path(id, file);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(Error::io(path, e)),
            _ => Ok(()),
        }
    }

    /// Removes every file of a session. Removing a session that has no files is fine.
    pub fn remove_session(&self, id: SessionId) -> Result<()> {
        let dir = self.session_dir(id);
        match fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(Error::io(dir, e)),
            _ => Ok(()),
        }
    }

    /// Session directories on disk with their last modification time; entries that are
    /// not session directories are ignored.
    /// The bytes of every file of every session (for the global storage quota).
    /// Walks the directories: call it now and then, not per request.
    pub fn stored_bytes(&self) -> Result<u64> {
        let entries = fs::read_dir(&self.root).map_err(|e| Error::io(&self.root, e))?;
        let mut total = 0u64;
        for dir in entries.flatten() {
            // A session removed by cleanup mid-walk is simply not counted.
            let Ok(files) = fs::read_dir(dir.path()) else {
                continue;
            };
            for file in files.flatten() {
                total = total.saturating_add(file.metadata().map_or(0, |m| m.len()));
            }
        }
        Ok(total)
    }

    pub fn list_sessions(&self) -> Result<Vec<(SessionId, SystemTime)>> {
        let entries = fs::read_dir(&self.root).map_err(|e| Error::io(&self.root, e))?;
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let Some(id) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
                continue;
            };
            let modified = entry
                .metadata()
                .and_then(|m| m.modified())
                .unwrap_or(SystemTime::UNIX_EPOCH);
            out.push((id, modified));
        }
        Ok(out)
    }
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

    #[test]
    fn failed_write_leaves_previous_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::open(dir.path()).unwrap();
        let id = SessionId::random();
        store.write(id, SessionFile::Rows, b"old").unwrap();
        let err = store.write_with(id, SessionFile::Rows, |w| {
            w.write_all(b"half")?;
            Err(io::Error::other("disk on fire"))
        });
        assert!(err.is_err());
        assert_eq!(store.read(id, SessionFile::Rows).unwrap(), b"old");
        let names: Vec<_> = fs::read_dir(store.session_dir(id))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("rows.jsonl")]);
    }

    #[test]
    fn remove_session_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::open(dir.path()).unwrap();
        let id = SessionId::random();
        store
            .write(id, SessionFile::Input(FileFormat::Csv), b"a,b")
            .unwrap();
        assert_eq!(store.list_sessions().unwrap().len(), 1);
        store.remove_session(id).unwrap();
        store.remove_session(id).unwrap();
        assert!(!store.session_dir(id).exists());
    }
}
