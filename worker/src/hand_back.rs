//! What a stopping worker does with the jobs it still runs when its grace
//! (`shutdown_timeout_secs`) is over: it hands them back, so that another worker starts
//! them at once instead of after their queue lease lapses.
//!
//! The order is what keeps a run from completing twice:
//! 1. **cancel** every run of this process ([`Runs::cancel_all`], at the end of the
//!    grace, before the worker's futures are dropped): each run's `cancelled` flag stops
//!    its row loop, and a run that would start from then on starts cancelled;
//! 2. **fence** each run's session ([`fence`]): a `Delivery::Claim` of the next
//!    delivery number, so every later write of the cancelled delivery (heartbeat,
//!    ending) is refused by the session store, whatever this process does next (it may
//!    be frozen and wake up much later);
//! 3. tell the session's event log that the job moved;
//! 4. only then **hand back** the deliveries (`JobStore::hand_back`): new deliveries,
//!    visible to every worker at once, with a hand-back counted and no attempt, so the
//!    next delivery's number is exactly the one the fence claimed.
//!
//! If the process is frozen or the store does not answer before step 4, the deliveries
//! stay leased to this worker until their lease lapses, and the lapse gives the next
//! delivery the same number: the fence holds either way.

use std::{
    collections::HashMap,
    ops::Deref,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use maplink::{
    domain::SessionId,
    events::EventKind,
    session::{Delivery, Update, UpdateOutcome},
};
use serde_json::json;

use crate::{heartbeat::RunSignals, progress::emit, state::WorkerState};

/// What the session's event log says when its job was handed back.
pub const MOVED_MESSAGE: &str = "Moved to another worker: the worker running this job is \
     shutting down; the job starts again from the first row.";

/// The runs of the coordinates job under way in this process, for cancelling them
/// when it stops.
#[derive(Debug, Default)]
pub struct Runs {
    /// Keys of live runs; a run removes itself when it ends ([`RunGuard`]).
    next_key: AtomicU64,
    // A std mutex: held only to insert, remove or drain, never across an await.
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    live: HashMap<u64, Run>,
    /// Set once the grace is over: every run is cancelled, new ones included.
    cancelled: bool,
}

/// One run of a session's job, by one delivery.
#[derive(Clone, Debug)]
pub struct Run {
    pub session: SessionId,
    /// The session's run number.
    pub run: u32,
    /// This delivery's number (`queue::store::Delivery::number`).
    pub delivery: u32,
    signals: Arc<RunSignals>,
}

impl Runs {
    /// Registers a run starting now; its signals are the run's own. The run stays
    /// registered until the guard is dropped.
    pub fn start(self: &Arc<Self>, session: SessionId, run: u32, delivery: u32) -> RunGuard {
        let signals = Arc::new(RunSignals::default());
        let key = self.next_key.fetch_add(1, Ordering::Relaxed);
        let mut inner = self.lock();
        if inner.cancelled {
            signals.cancelled.store(true, Ordering::Relaxed);
        }
        inner.live.insert(
            key,
            Run {
                session,
                run,
                delivery,
                signals: signals.clone(),
            },
        );
        RunGuard {
            runs: self.clone(),
            key,
            signals,
        }
    }

    /// Cancels every live run, and every run that starts from now on; returns the runs
    /// that were live.
    pub fn cancel_all(&self) -> Vec<Run> {
        let mut inner = self.lock();
        inner.cancelled = true;
        let runs: Vec<Run> = inner.live.values().cloned().collect();
        for r in &runs {
            r.signals.cancelled.store(true, Ordering::Relaxed);
        }
        runs
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A registered run's signals; unregisters the run when dropped.
pub struct RunGuard {
    runs: Arc<Runs>,
    key: u64,
    signals: Arc<RunSignals>,
}

impl Deref for RunGuard {
    type Target = Arc<RunSignals>;

    fn deref(&self) -> &Self::Target {
        &self.signals
    }
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        self.runs.lock().live.remove(&self.key);
    }
}

/// Fences a cancelled run's session and records in its event log that the job moved,
/// if the session still waits for that run. Store errors are logged: the run is
/// cancelled in this process either way, and the next delivery's own claim fences it
/// too.
pub async fn fence(state: &WorkerState, run: &Run) {
    match state.sessions.get(run.session).await {
        Ok(Some(s)) if s.attempt == run.run && s.status.is_active() => {}
        // The run ended just before it was cancelled, the session moved on to another
        // run or is gone: nothing is left to move.
        Ok(_) => return,
        Err(e) => {
            tracing::warn!(session = %run.session, error = %e, "could not fence the cancelled run");
            return;
        }
    }
    let update = Update {
        only_run: Some(run.run),
        delivery: Some(Delivery::Claim(run.delivery.saturating_add(1))),
        ..Update::default()
    };
    match state.sessions.update(run.session, &update).await {
        Ok(UpdateOutcome::Applied) => {}
        // A later run, or a later delivery of this one, has started: the job has moved
        // already (this worker was frozen past its lease).
        Ok(_) => return,
        Err(e) => {
            tracing::warn!(session = %run.session, error = %e, "could not fence the cancelled run");
            return;
        }
    }
    tracing::info!(session = %run.session, run = run.run, delivery = run.delivery,
        "job handed back: its run was cancelled and its session fenced");
    emit(
        state.events.as_ref(),
        run.session,
        EventKind::Log,
        json!({ "level": "info", "message": MOVED_MESSAGE }),
    )
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancelling_stops_live_runs_and_runs_started_afterwards() {
        let runs = Arc::new(Runs::default());
        let live = runs.start(SessionId::random(), 1, 1);
        let ended = runs.start(SessionId::random(), 1, 1);
        drop(ended);
        let cancelled = runs.cancel_all();
        assert_eq!(cancelled.len(), 1, "only the run still under way");
        assert!(live.cancelled.load(Ordering::Relaxed));
        let late = runs.start(SessionId::random(), 2, 3);
        assert!(late.cancelled.load(Ordering::Relaxed));
    }
}
