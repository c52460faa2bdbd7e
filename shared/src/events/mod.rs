//! The per-session event log: `start`, `progress`, `log`, `complete`, `error` — the
//! original app's streaming vocabulary — appended by the job and read by clients from
//! any point (an SSE reconnect resumes after its `Last-Event-ID`).
//!
//! Redis keeps a capped stream per session; SQLite a table. Event ids are opaque text,
//! increasing within a session.

mod redis;
mod sqlite;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use self::{redis::RedisEventLog, sqlite::SqliteEventLog};
use crate::{Result, domain::SessionId};

/// Events kept per session; older ones are trimmed.
pub const MAX_EVENTS_PER_SESSION: usize = 5_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    Start,
    Progress,
    Log,
    Complete,
    Error,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Progress => "progress",
            Self::Log => "log",
            Self::Complete => "complete",
            Self::Error => "error",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [
            Self::Start,
            Self::Progress,
            Self::Log,
            Self::Complete,
            Self::Error,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    /// Whether the event ends a run.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Complete | Self::Error)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Event {
    pub id: String,
    pub kind: EventKind,
    /// The event's JSON payload; always carries `"type": <kind>`.
    pub data: serde_json::Value,
}

/// Builds a payload with the `type` field set.
pub fn payload(kind: EventKind, fields: serde_json::Value) -> serde_json::Value {
    let mut map = match fields {
        serde_json::Value::Object(m) => m,
        _ => serde_json::Map::new(),
    };
    map.insert("type".into(), kind.as_str().into());
    serde_json::Value::Object(map)
}

#[async_trait]
pub trait EventLog: Send + Sync + 'static {
    /// Appends an event and returns its id.
    async fn append(
        &self,
        session: SessionId,
        kind: EventKind,
        data: &serde_json::Value,
    ) -> Result<String>;

    /// Events after `after` (all when `None`), oldest first, at most `limit`. An
    /// unknown or malformed `after` reads from the start.
    async fn read_after(
        &self,
        session: SessionId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Event>>;

    /// Removes a session's events.
    async fn delete(&self, session: SessionId) -> Result<()>;
}
