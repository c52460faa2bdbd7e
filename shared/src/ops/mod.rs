//! What the ops dashboard reads that no single process knows: live workers, throughput
//! per minute over the last hours, link-resolution counts by method and the cleanup
//! history — kept in the shared store (Redis or the SQLite file) by every process —
//! and the claims that let one process of many run each tick of a schedule.

mod gate;
mod redis;
mod sqlite;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use self::{
    gate::{OpsGate, OpsRefusal},
    redis::RedisOpsStore,
    sqlite::SqliteOpsStore,
};
use crate::{
    Result,
    domain::{SessionId, SessionStatus},
};

/// A worker counts as live while its last heartbeat is younger than this many
/// heartbeat intervals.
pub const LIVE_AFTER_BEATS: i64 = 3;

/// How long throughput minutes and silent workers are kept.
pub const KEEP_MS: i64 = 2 * 3600 * 1000;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkerInfo {
    pub name: String,
    pub host: String,
    pub pid: u32,
    pub started_ms: i64,
    pub last_heartbeat_ms: i64,
    /// Jobs this worker is running now.
    pub in_flight: u64,
    /// Jobs it has finished since it started.
    pub jobs_done: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Minute {
    /// Unix time of the minute's start, in seconds.
    pub at: i64,
    pub jobs: u64,
    pub rows: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResolutionCount {
    pub method: String,
    pub outcome: String,
    pub count: u64,
}

/// One cleanup run, as kept in the capped history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CleanupReport {
    pub ran_at_ms: i64,
    /// The process that ran it.
    pub runner: String,
    pub sessions: Vec<CleanedSession>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CleanedSession {
    pub id: SessionId,
    pub age_ms: i64,
    pub idle_ms: i64,
    pub status: SessionStatus,
}

/// How many cleanup reports the history keeps.
pub const CLEANUP_HISTORY_LEN: usize = 50;

#[async_trait]
pub trait OpsStore: Send + Sync + 'static {
    /// Records a worker's presence (and forgets workers silent for [`KEEP_MS`]).
    async fn worker_heartbeat(&self, worker: &WorkerInfo) -> Result<()>;
    async fn workers(&self) -> Result<Vec<WorkerInfo>>;
    /// Counts a finished job of `rows` rows in the current minute.
    async fn record_job(&self, rows: u64) -> Result<()>;
    /// The last `minutes` minutes, oldest first, minutes without jobs included as zero.
    async fn throughput(&self, minutes: u32) -> Result<Vec<Minute>>;
    async fn record_resolutions(&self, counts: &[ResolutionCount]) -> Result<()>;
    async fn resolutions(&self) -> Result<Vec<ResolutionCount>>;

    /// Appends to the capped cleanup history ([`CLEANUP_HISTORY_LEN`]).
    async fn record_cleanup(&self, report: &CleanupReport) -> Result<()>;

    /// The most recent cleanups, newest first.
    async fn recent_cleanups(&self, limit: usize) -> Result<Vec<CleanupReport>>;

    /// Claims tick number `tick` of the schedule `name` for this process: `true` for
    /// exactly one caller per (name, tick) across every process sharing the store.
    /// Claims are forgotten after `keep_ms`.
    async fn claim_tick(&self, name: &str, tick: i64, keep_ms: i64) -> Result<bool>;
}

/// The minute (unix seconds, floored) a moment falls in.
pub fn minute_of(ms: i64) -> i64 {
    ms.div_euclid(60_000) * 60
}

/// Fills in the minutes without data, oldest first, ending at the current minute.
pub fn fill_minutes(
    now_ms: i64,
    minutes: u32,
    known: impl IntoIterator<Item = Minute>,
) -> Vec<Minute> {
    let known: std::collections::HashMap<i64, Minute> =
        known.into_iter().map(|m| (m.at, m)).collect();
    let last = minute_of(now_ms);
    (0..i64::from(minutes))
        .rev()
        .map(|back| {
            let at = last - back * 60;
            known.get(&at).cloned().unwrap_or(Minute {
                at,
                jobs: 0,
                rows: 0,
            })
        })
        .collect()
}
