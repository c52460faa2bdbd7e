//! Progress events while a job runs: a reporter task appends a `progress` event when
//! the count has moved by a whole percent (at most four times a second), or every few
//! seconds while it moves more slowly — not one per row: a 100,000-row sheet would
//! flood the log, whose size is bounded ([`maplink::events`]); a run of any length adds
//! about a hundred progress events plus one per [`SLOW_EVERY`] it lasts.

use std::{
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use maplink::{
    domain::SessionId,
    events::{EventKind, EventLog, payload},
};
use serde_json::json;
use tokio::{sync::oneshot, task::JoinHandle};

use crate::heartbeat::RunSignals;

/// How often the reporter looks at the count.
const EVERY: Duration = Duration::from_millis(250);

/// The longest a moving count goes unreported.
const SLOW_EVERY: Duration = Duration::from_secs(5);

/// Appends a run's `complete` or `error` event. Unlike [`emit`], a failure is the
/// caller's: the session must not be marked ended while its log lacks the ending.
pub async fn emit_final(
    events: &dyn EventLog,
    session: SessionId,
    kind: EventKind,
    fields: serde_json::Value,
) -> maplink::Result<()> {
    debug_assert!(kind.is_final());
    events.append(session, kind, &payload(kind, fields)).await?;
    Ok(())
}

/// Appends an event; a failure to record progress never fails the job.
pub async fn emit(
    events: &dyn EventLog,
    session: SessionId,
    kind: EventKind,
    fields: serde_json::Value,
) {
    if let Err(e) = events.append(session, kind, &payload(kind, fields)).await {
        tracing::warn!(session = %session, error = %e, kind = kind.as_str(), "could not record an event");
    }
}

pub fn progress_fields(done: u64, total: u64, name: Option<String>) -> serde_json::Value {
    let percent = if total == 0 {
        100.0
    } else {
        ((done as f64 / total as f64) * 1000.0).round() / 10.0
    };
    json!({ "row": done, "total": total, "percent": percent, "name": name })
}

/// The reporter task. Dropping it aborts the task (an attempt that failed);
/// [`Reporter::finish`] stops it cleanly.
pub struct Reporter {
    task: JoinHandle<()>,
    stop: Option<oneshot::Sender<()>>,
}

impl Reporter {
    /// Stops the reporter and waits for it, so that a progress event it was storing
    /// is stored before anything the caller appends next (an abort could leave the
    /// append in flight, to land after the run's ending).
    pub async fn finish(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub fn spawn_reporter(
    events: Arc<dyn EventLog>,
    session: SessionId,
    total: u64,
    signals: Arc<RunSignals>,
) -> Reporter {
    let (stop, mut stopped) = oneshot::channel();
    let task = tokio::spawn(async move {
        let mut last = u64::MAX;
        let mut last_percent = u64::MAX;
        let mut last_at = tokio::time::Instant::now();
        let mut ticker = tokio::time::interval(EVERY);
        loop {
            // Stop requests are only seen between events, never during an append.
            tokio::select! {
                _ = &mut stopped => return,
                _ = ticker.tick() => {}
            }
            let done = signals.progress.load(Ordering::Relaxed);
            let percent = done.saturating_mul(100) / total.max(1);
            if done != last && (percent != last_percent || last_at.elapsed() >= SLOW_EVERY) {
                last = done;
                last_percent = percent;
                last_at = tokio::time::Instant::now();
                let name = signals.last_name();
                emit(
                    events.as_ref(),
                    session,
                    EventKind::Progress,
                    progress_fields(done, total, name),
                )
                .await;
            }
        }
    });
    Reporter {
        task,
        stop: Some(stop),
    }
}
