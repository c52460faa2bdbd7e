//! The session heartbeat: while a job runs, its session's `last_seen_at` and progress
//! are refreshed every `heartbeat_interval`, so a run longer than the TTL never loses
//! its session to cleanup.
//!
//! The ticker is a separate tokio task (the job itself runs on a blocking thread and
//! cannot be relied on to yield), owned by a guard that aborts it when dropped, so it
//! also stops when the job is cancelled or times out.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use maplink::{
    domain::SessionId,
    session::{Delivery, SessionStore, Update, UpdateOutcome},
};
use tokio::task::JoinHandle;

/// Shared between a running job and its heartbeat.
#[derive(Debug, Default)]
pub struct RunSignals {
    /// Rows done so far, written by the job.
    pub progress: AtomicU64,
    /// Data rows of the sheet, once it has been read.
    pub total: AtomicU64,
    /// Set by the heartbeat when the session is gone (deleted), has moved on to a
    /// newer run, or a later delivery of this run has started (this worker stalled
    /// past its queue lease): the job should stop early and write nothing.
    pub cancelled: AtomicBool,
    /// The Name of the row done last, for progress events.
    last_name: Mutex<Option<String>>,
}

impl RunSignals {
    pub fn set_last_name(&self, name: String) {
        *self.last_name.lock().unwrap_or_else(|p| p.into_inner()) = Some(name);
    }

    pub fn last_name(&self) -> Option<String> {
        self.last_name
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// Aborts the heartbeat task when dropped.
pub struct Heartbeat(JoinHandle<()>);

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub fn spawn(
    sessions: Arc<dyn SessionStore>,
    id: SessionId,
    (run, delivery): (u32, u32),
    every: Duration,
    signals: Arc<RunSignals>,
) -> Heartbeat {
    Heartbeat(tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await; // the first tick is immediate; the job has just touched
        loop {
            ticker.tick().await;
            let update = Update {
                progress: Some(signals.progress.load(Ordering::Relaxed)),
                only_run: Some(run),
                delivery: Some(Delivery::Hold(delivery)),
                ..Update::default()
            };
            match sessions.update(id, &update).await {
                Ok(UpdateOutcome::Applied) => {}
                Ok(outcome) => {
                    tracing::info!(session = %id, ?outcome, "session gone or superseded; stopping the run");
                    signals.cancelled.store(true, Ordering::Relaxed);
                    return;
                }
                // A store hiccup is not a reason to stop the job; the next beat retries.
                Err(e) => tracing::warn!(session = %id, error = %e, "heartbeat failed"),
            }
        }
    }))
}
