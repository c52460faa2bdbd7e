//! A session: one uploaded file and everything derived from it, and its status machine
//! `uploaded → queued → processing → completed | failed` (completed/failed may run again).

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use super::SessionId;

/// Milliseconds since the Unix epoch, the unit every stored timestamp uses.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    Uploaded,
    Queued,
    Processing,
    Completed,
    Failed,
}

impl SessionStatus {
    pub const ALL: [SessionStatus; 5] = [
        Self::Uploaded,
        Self::Queued,
        Self::Processing,
        Self::Completed,
        Self::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Uploaded => "uploaded",
            Self::Queued => "queued",
            Self::Processing => "processing",
            Self::Completed => "completed",
            Self::Failed => "failed",
        }
    }

    /// A run is pending or under way: a new run may not be started.
    pub fn is_active(self) -> bool {
        matches!(self, Self::Queued | Self::Processing)
    }
}

impl fmt::Display for SessionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SessionStatus {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| crate::Error::Corrupt(format!("unknown session status {s:?}")))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    Xlsx,
    Csv,
}

impl FileFormat {
    pub fn extension(self) -> &'static str {
        match self {
            Self::Xlsx => "xlsx",
            Self::Csv => "csv",
        }
    }

    /// The format named by a file name's extension (case-insensitive), if supported.
    pub fn from_filename(name: &str) -> Option<Self> {
        let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
        match ext.as_str() {
            "xlsx" => Some(Self::Xlsx),
            "csv" => Some(Self::Csv),
            _ => None,
        }
    }
}

impl FromStr for FileFormat {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "xlsx" => Ok(Self::Xlsx),
            "csv" => Ok(Self::Csv),
            other => Err(crate::Error::Corrupt(format!(
                "unknown file format {other:?}"
            ))),
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub successful: u64,
    pub failed: u64,
    pub skipped: u64,
}

impl Counts {
    pub fn total(&self) -> u64 {
        self.successful + self.failed + self.skipped
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub id: SessionId,
    /// As sent by the client: for display and the download name, never a path.
    pub original_filename: String,
    /// A safe rendition of the original name (ASCII, no separators).
    pub sanitized_filename: String,
    pub format: FileFormat,
    pub status: SessionStatus,
    pub created_at_ms: i64,
    pub last_seen_at_ms: i64,
    pub map_column: String,
    pub total_rows: u64,
    pub counts: Counts,
    /// Rows done in the current (or last) run.
    pub progress: u64,
    pub error: Option<String>,
    /// The queue task id of the current (or last) run.
    pub job_id: Option<String>,
    /// How many runs have been requested for this session.
    pub attempt: u32,
    /// Fingerprint of the submitter token that created it, when tokens are in use.
    pub owner: Option<String>,
}

impl Session {
    /// A new session, created at `now` (milliseconds since the epoch, from the
    /// process's [`Clock`](crate::clock::Clock)).
    pub fn new(
        original_filename: &str,
        format: FileFormat,
        map_column: &str,
        total_rows: u64,
        now: i64,
    ) -> Self {
        Self {
            id: SessionId::random(),
            original_filename: original_filename.to_owned(),
            sanitized_filename: super::sanitize_filename(original_filename, format),
            format,
            status: SessionStatus::Uploaded,
            created_at_ms: now,
            last_seen_at_ms: now,
            map_column: map_column.to_owned(),
            total_rows,
            counts: Counts::default(),
            progress: 0,
            error: None,
            job_id: None,
            attempt: 0,
            owner: None,
        }
    }

    /// When the session expires if nothing touches it again.
    pub fn expires_at_ms(&self, ttl: std::time::Duration) -> i64 {
        self.last_seen_at_ms
            .saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX))
    }

    pub fn age_ms(&self, now_ms: i64) -> i64 {
        (now_ms - self.created_at_ms).max(0)
    }
}

/// What the service remembers for a while about a session that expired, so that a late
/// visitor learns when and after how long idle it went away.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tombstone {
    pub id: SessionId,
    pub expired_at_ms: i64,
    pub idle_ms: i64,
    pub status: SessionStatus,
}
