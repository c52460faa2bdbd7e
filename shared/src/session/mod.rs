//! The session store: one trait, a Redis and a SQLite implementation, both held to the
//! same conformance suite (`tests/tests/session_store.rs`).
//!
//! The sliding TTL lives here. A session is expired when
//! `now - last_seen_at > ttl`; every read through the API and every worker heartbeat
//! refreshes `last_seen_at` with [`SessionStore::touch`]. Cleanup uses
//! [`SessionStore::claim_expired`], which re-checks the expiry and removes the session
//! in one atomic step, so a session whose heartbeat is fresh is never claimed, and two
//! cleaners running at once never claim the same session.

mod redis;
mod sqlite;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use self::{
    redis::{RedisSessionStore, connect_fail_fast},
    sqlite::{SqliteSessionStore, open_pool},
};
use crate::{
    Result,
    domain::{Counts, Session, SessionId, SessionStatus, Tombstone},
};

/// Changes to a session made by a run; `None` fields are left alone. Every applied
/// update also refreshes `last_seen_at`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Update {
    pub status: Option<SessionStatus>,
    pub progress: Option<u64>,
    pub counts: Option<Counts>,
    /// `Some(None)` clears the error.
    pub error: Option<Option<String>>,
    /// Apply only if the session is still on this run (`Session::attempt`): a stale job
    /// must not overwrite a newer run's state.
    pub only_run: Option<u32>,
    /// The delivery fence within a run: see [`Delivery`].
    pub delivery: Option<Delivery>,
}

/// The queue delivers a job at least once: a delivery whose worker stalled past its
/// lease is delivered again elsewhere while the first may still wake up. Each delivery
/// of a run has a higher number (its attempt); the session remembers the highest that
/// started, and only that one may change the session. So a stalled worker that wakes
/// up finds its updates refused (and stops), and one run never completes twice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Start delivery `n`: applies if no later delivery has started, and records `n`.
    Claim(u32),
    /// Applies only while delivery `n` is the one that started last.
    Hold(u32),
}

#[derive(Clone, Debug, PartialEq)]
pub enum UpdateOutcome {
    Applied,
    /// The session has moved on to another run; nothing was changed.
    Stale,
    Missing,
}

#[derive(Clone, Debug, PartialEq)]
pub enum StartRun {
    /// The session is now `queued` for a new run (returned as updated).
    Started(Session),
    /// A run is already queued or processing.
    Busy(Session),
    Missing,
}

/// A session taken by cleanup: already gone from the store when returned.
#[derive(Clone, Debug, PartialEq)]
pub struct ExpiredSession {
    pub session: Session,
    /// When it was claimed.
    pub claimed_at_ms: i64,
}

impl ExpiredSession {
    pub fn age_ms(&self) -> i64 {
        self.session.age_ms(self.claimed_at_ms)
    }

    pub fn idle_ms(&self) -> i64 {
        (self.claimed_at_ms - self.session.last_seen_at_ms).max(0)
    }
}

/// Sessions by status, and the least recently seen one.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Census {
    pub by_status: std::collections::BTreeMap<String, u64>,
    pub oldest_last_seen_ms: Option<i64>,
}

#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// Stores a new session. Its `last_seen_at` starts the TTL.
    async fn create(&self, session: &Session) -> Result<()>;

    /// Reads a session without refreshing it.
    async fn get(&self, id: SessionId) -> Result<Option<Session>>;

    /// Refreshes `last_seen_at` to now and returns the session; `None` if it is gone.
    /// Never brings back a session that cleanup has claimed.
    async fn touch(&self, id: SessionId) -> Result<Option<Session>>;

    /// Atomically moves a session that is not queued or processing to `queued` for a
    /// new run: `attempt + 1`, the given job id, progress and counts reset. With
    /// `replacing`, a session still `queued` under exactly that job id is taken over
    /// too (its job never reached the queue).
    async fn start_run(
        &self,
        id: SessionId,
        job_id: &str,
        replacing: Option<&str>,
    ) -> Result<StartRun>;

    async fn update(&self, id: SessionId, update: &Update) -> Result<UpdateOutcome>;

    /// Removes a session record; `false` if there was none. Files are the caller's.
    async fn delete(&self, id: SessionId) -> Result<bool>;

    /// Ids of sessions idle for longer than `ttl_ms`, oldest first (read-only).
    async fn list_expired(&self, ttl_ms: i64) -> Result<Vec<SessionId>>;

    /// Atomically re-checks and removes up to `limit` sessions idle for longer than
    /// `ttl_ms`, leaving a tombstone for `tombstone_ttl_ms`, and returns them.
    async fn claim_expired(
        &self,
        ttl_ms: i64,
        limit: usize,
        tombstone_ttl_ms: i64,
    ) -> Result<Vec<ExpiredSession>>;

    /// What is remembered of an expired session, while the tombstone lasts.
    async fn tombstone(&self, id: SessionId) -> Result<Option<Tombstone>>;

    /// Sessions `queued` and idle for longer than `idle_ms`, with their job ids (at most
    /// `limit`, least recently seen first): cleanup keeps those whose job is still on
    /// the queue alive, since a backlog is not the submitter's inactivity.
    async fn queued_idle(&self, idle_ms: i64, limit: usize) -> Result<Vec<(SessionId, String)>>;

    /// Counts sessions by status (every status present, zero included) and finds the
    /// least recently seen one.
    async fn census(&self) -> Result<Census>;

    /// Cheap round trip to the store, for readiness checks.
    async fn ping(&self) -> Result<()>;
}
