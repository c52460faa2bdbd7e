//! The per-session event log: `start`, `progress`, `log`, `complete`, `error` — the
//! original app's streaming vocabulary — appended by the job and read by clients from
//! any point (an SSE reconnect resumes after its `Last-Event-ID`).
//!
//! Redis keeps a capped stream per session; SQLite a table. Event ids are opaque text,
//! increasing within a session.
//!
//! A session's log is bounded in bytes, not only in events: every store cuts each text
//! in an event to [`MAX_TEXT_CHARS`] and each event to [`MAX_EVENT_BYTES`]
//! ([`fit`]), and keeps the last [`MAX_EVENTS_PER_SESSION`], so a log never holds
//! much more than [`MAX_EVENT_LOG_BYTES`] whatever the sheet's names and links are
//! (Redis can only trim a stream by count; bounding each event makes count a bound on
//! bytes). The job keeps the log useful within that budget: progress events a few times
//! per percent, failed rows reported up to a limit and then summarised.

mod redis;
mod sqlite;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use self::{redis::RedisEventLog, sqlite::SqliteEventLog};
use crate::{Result, domain::SessionId};

/// The most a session's event log holds, in bytes, all runs together.
pub const MAX_EVENT_LOG_BYTES: usize = 1024 * 1024;

/// The longest stored event: its JSON payload, in bytes.
pub const MAX_EVENT_BYTES: usize = 1024;

/// What a store spends on one event beyond its payload (id, kind, field names and
/// bookkeeping), as an upper estimate for the budget.
pub const EVENT_OVERHEAD_BYTES: usize = 128;

/// Events kept per session; older ones are trimmed. A little under the budget divided
/// by the largest event, leaving room for memory a store frees in steps (Redis frees a
/// stream node once all its entries are trimmed).
pub const MAX_EVENTS_PER_SESSION: usize = 800;

const _: () = assert!(
    MAX_EVENTS_PER_SESSION * (MAX_EVENT_BYTES + EVENT_OVERHEAD_BYTES) + 64 * 1024
        <= MAX_EVENT_LOG_BYTES
);

/// The longest text (a name, a link, a message) inside an event, in characters;
/// longer texts are cut and end with `…`.
pub const MAX_TEXT_CHARS: usize = 200;

pub use crate::text::truncate;

/// Cuts every text in `value` (at any depth) to `max_chars`.
fn truncate_texts(value: &mut serde_json::Value, max_chars: usize) {
    match value {
        serde_json::Value::String(s) if s.chars().count() > max_chars => {
            *s = truncate(s, max_chars);
        }
        serde_json::Value::Array(items) => {
            items.iter_mut().for_each(|v| truncate_texts(v, max_chars));
        }
        serde_json::Value::Object(map) => {
            map.values_mut().for_each(|v| truncate_texts(v, max_chars));
        }
        _ => {}
    }
}

/// The JSON text a store keeps for an event: texts cut to [`MAX_TEXT_CHARS`], and the
/// whole within [`MAX_EVENT_BYTES`]. Texts of multi-byte or escaped characters can
/// still overflow; they are then cut shorter, and as a last resort (an event of many
/// fields) only the type and a `truncated` flag are kept.
pub fn fit(kind: EventKind, data: &serde_json::Value) -> String {
    let mut data = data.clone();
    for max_chars in [MAX_TEXT_CHARS, MAX_TEXT_CHARS / 4] {
        truncate_texts(&mut data, max_chars);
        let text = data.to_string();
        if text.len() <= MAX_EVENT_BYTES {
            return text;
        }
    }
    serde_json::json!({ "type": kind.as_str(), "truncated": true }).to_string()
}

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
    /// Appends an event, [`fit`] to the size bounds, trims the session's log to
    /// [`MAX_EVENTS_PER_SESSION`], and returns the event's id.
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

    /// The id of the session's newest event; `None` for an empty log.
    async fn last_id(&self, session: SessionId) -> Result<Option<String>>;

    /// Removes a session's events.
    async fn delete(&self, session: SessionId) -> Result<()>;
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn texts_are_cut_to_their_length_with_an_ellipsis() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("exactly10!", 10), "exactly10!");
        assert_eq!(truncate("eleven chars", 10), "eleven ch…");
        assert_eq!(truncate("ééééé", 3), "éé…", "cut on characters, not bytes");
    }

    #[test]
    fn a_fitted_event_keeps_its_shape_within_the_bounds() {
        let long = "n".repeat(10_000);
        let data = payload(
            EventKind::Progress,
            json!({ "row": 3, "name": long, "nested": [{ "link": long }] }),
        );
        let fitted: serde_json::Value =
            serde_json::from_str(&fit(EventKind::Progress, &data)).unwrap();
        assert_eq!(fitted["type"], "progress");
        assert_eq!(fitted["row"], 3);
        let name = fitted["name"].as_str().unwrap();
        assert_eq!(name.chars().count(), MAX_TEXT_CHARS);
        assert!(name.ends_with('…'));
        assert_eq!(
            fitted["nested"][0]["link"]
                .as_str()
                .unwrap()
                .chars()
                .count(),
            MAX_TEXT_CHARS
        );
    }

    #[test]
    fn no_event_is_stored_larger_than_the_bound() {
        // Characters that JSON escapes take six bytes each; many fields add up.
        let escaped = "\u{1}".repeat(MAX_TEXT_CHARS);
        let mut fields = serde_json::Map::new();
        for i in 0..50 {
            fields.insert(format!("f{i}"), json!(escaped));
        }
        let data = payload(EventKind::Log, serde_json::Value::Object(fields));
        let text = fit(EventKind::Log, &data);
        assert!(text.len() <= MAX_EVENT_BYTES, "{}", text.len());
        let fitted: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(fitted["type"], "log");

        let wide = payload(EventKind::Log, json!({ "message": "\u{1}".repeat(1000) }));
        let text = fit(EventKind::Log, &wide);
        assert!(text.len() <= MAX_EVENT_BYTES, "{}", text.len());
        let fitted: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert!(fitted["message"].is_string(), "cut shorter, still there");
    }
}
