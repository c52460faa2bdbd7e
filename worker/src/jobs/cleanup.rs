//! The TTL sweep: removes every session idle for longer than the TTL, with its files,
//! and logs each one's age.
//!
//! Claiming is atomic in the store (see `maplink::session`), so a session whose
//! heartbeat is fresh is never taken and concurrent sweeps in several processes never
//! take the same session twice. Files are removed after the claim; if the process dies
//! in between, the orphan sweep at the end of a later run removes them.

use std::time::{Duration, SystemTime};

use maplink::{
    Error,
    domain::now_ms,
    ops::{CleanedSession, CleanupReport},
};

use crate::state::WorkerState;

/// Sessions claimed per store round trip.
const CLAIM_BATCH: usize = 200;

/// Runs one sweep and returns what it removed (also appended to the history when
/// anything was removed).
pub async fn run(state: &WorkerState) -> Result<CleanupReport, Error> {
    let rules = state.settings.sessions();
    let ttl_ms = millis(rules.ttl);
    let tombstone_ms = millis(rules.tombstone_ttl);
    keep_waiting_sessions(state, ttl_ms).await;
    let mut report = CleanupReport {
        ran_at_ms: state.clock.now_ms(),
        runner: state.process_name.to_string(),
        sessions: Vec::new(),
    };
    loop {
        let claimed = state
            .sessions
            .claim_expired(ttl_ms, CLAIM_BATCH, tombstone_ms)
            .await?;
        let batch_len = claimed.len();
        for expired in claimed {
            let s = &expired.session;
            if let Err(e) = state.files.remove_session(s.id).await {
                tracing::warn!(session = %s.id, error = %e, "could not remove files; the orphan sweep will retry");
            }
            if let Err(e) = state.events.delete(s.id).await {
                tracing::warn!(session = %s.id, error = %e, "could not remove the session's events");
            }
            tracing::info!(
                session = %s.id,
                age_minutes = expired.age_ms() as f64 / 60_000.0,
                idle_minutes = expired.idle_ms() as f64 / 60_000.0,
                status = %s.status,
                "cleaned up expired session {}… (age: {:.1} minutes, status: {})",
                s.id.short(),
                expired.age_ms() as f64 / 60_000.0,
                s.status,
            );
            metrics::counter!(maplink::metrics::SESSIONS_EXPIRED).increment(1);
            metrics::histogram!(maplink::metrics::SESSION_AGE_AT_CLEANUP)
                .record(expired.age_ms() as f64 / 1000.0);
            report.sessions.push(CleanedSession {
                id: s.id,
                age_ms: expired.age_ms(),
                idle_ms: expired.idle_ms(),
                status: s.status,
            });
        }
        if batch_len < CLAIM_BATCH {
            break;
        }
    }
    metrics::counter!(maplink::metrics::CLEANUP_RUNS).increment(1);
    if !report.sessions.is_empty() {
        tracing::info!(
            count = report.sessions.len(),
            "total cleanup: {} expired sessions removed",
            report.sessions.len()
        );
        state.ops.record_cleanup(&report).await?;
    }
    sweep_orphans(state).await?;
    Ok(report)
}

/// Refreshes sessions that are `queued` behind a backlog, half a TTL before they would
/// expire, as long as their job is still on the queue: waiting for a worker is not the
/// submitter walking away. (A queued session whose job is gone is left to expire.)
async fn keep_waiting_sessions(state: &WorkerState, ttl_ms: i64) {
    let waiting = match state.sessions.queued_idle(ttl_ms / 2, CLAIM_BATCH).await {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!(error = %e, "could not list queued sessions");
            return;
        }
    };
    for (id, job) in waiting {
        if matches!(state.queue.has_task(&job).await, Ok(true))
            && let Err(e) = state.sessions.touch(id).await
        {
            tracing::warn!(session = %id, error = %e, "could not refresh a queued session");
        }
    }
}

/// Removes session directories that have no session record and have not changed for
/// longer than the TTL (left by a crash between claim and file removal, or between
/// writing an upload and creating its record).
async fn sweep_orphans(state: &WorkerState) -> Result<(), Error> {
    let listed = state.files.list_sessions().await?;
    let now = SystemTime::now();
    let cutoff = now - state.settings.sessions().ttl;
    for (id, modified) in listed {
        if modified < cutoff && state.sessions.get(id).await?.is_none() {
            state.files.remove_session(id).await?;
            let age = now.duration_since(modified).unwrap_or_default();
            tracing::info!(session = %id, age_s = age.as_secs(), "removed orphaned session files");
        }
    }
    Ok(())
}

/// A period in milliseconds, as the stores compare timestamps.
fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The tick a moment falls in, for a schedule every `interval`.
pub fn tick_of(now_ms: i64, interval: Duration) -> i64 {
    now_ms / (interval.as_millis().max(1) as i64)
}

/// Runs the sweep every `cleanup_interval`, in every process, but only once per tick
/// across all of them: each process asks the store to claim the tick, and only the one
/// that gets it sweeps. Ends when `shutdown` resolves.
pub async fn schedule(state: WorkerState, shutdown: impl std::future::Future<Output = ()>) {
    let interval = state.settings.sessions().cleanup_interval;
    let interval_ms = interval.as_millis().max(1) as i64;
    tokio::pin!(shutdown);
    loop {
        // Sleep to the next tick boundary of the wall clock, so that all processes
        // agree on tick numbers.
        let now = now_ms();
        let wait = Duration::from_millis((interval_ms - now % interval_ms) as u64);
        tokio::select! {
            _ = &mut shutdown => return,
            _ = tokio::time::sleep(wait) => {}
        }
        let tick = tick_of(now_ms(), interval);
        match state
            .ops
            .claim_tick("cleanup", tick, interval_ms * 10)
            .await
        {
            Ok(true) => {
                if let Err(e) = run(&state).await {
                    tracing::error!(error = %e, "cleanup failed");
                }
            }
            Ok(false) => tracing::debug!(tick, "cleanup tick taken by another process"),
            Err(e) => tracing::warn!(error = %e, "could not claim the cleanup tick"),
        }
    }
}
