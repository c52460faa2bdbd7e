//! The JSON shape of a session, as every route returns it.

use maplink::domain::Session;
use serde::Serialize;

pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[derive(Debug, Serialize)]
pub struct CountsView {
    pub successful: u64,
    pub failed: u64,
    pub skipped: u64,
}

#[derive(Debug, Serialize)]
pub struct ProgressView {
    pub done: u64,
    pub total: u64,
    pub percent: f64,
}

#[derive(Debug, Serialize)]
pub struct SessionView {
    pub session_id: String,
    pub filename: String,
    pub status: &'static str,
    pub map_column: String,
    pub total_rows: u64,
    pub counts: CountsView,
    pub progress: ProgressView,
    pub error: Option<String>,
    pub attempt: u32,
    pub created_at: String,
    pub last_seen_at: String,
    pub expires_at: String,
    pub age_s: f64,
    pub ttl_remaining_s: f64,
}

impl SessionView {
    /// The view of `s` at `now` (milliseconds since the epoch).
    pub fn new(s: &Session, ttl: std::time::Duration, now: i64) -> Self {
        let expires = s.expires_at_ms(ttl);
        let percent = if s.total_rows == 0 {
            if s.status == maplink::domain::SessionStatus::Completed {
                100.0
            } else {
                0.0
            }
        } else {
            ((s.progress as f64 / s.total_rows as f64) * 1000.0).round() / 10.0
        };
        Self {
            session_id: s.id.to_string(),
            filename: s.original_filename.clone(),
            status: s.status.as_str(),
            map_column: s.map_column.clone(),
            total_rows: s.total_rows,
            counts: CountsView {
                successful: s.counts.successful,
                failed: s.counts.failed,
                skipped: s.counts.skipped,
            },
            progress: ProgressView {
                done: s.progress,
                total: s.total_rows,
                percent,
            },
            error: s.error.clone(),
            attempt: s.attempt,
            created_at: rfc3339(s.created_at_ms),
            last_seen_at: rfc3339(s.last_seen_at_ms),
            expires_at: rfc3339(expires),
            age_s: s.age_ms(now) as f64 / 1000.0,
            ttl_remaining_s: ((expires - now).max(0) as f64 / 1000.0).round(),
        }
    }
}
