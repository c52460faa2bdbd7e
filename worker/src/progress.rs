//! Progress events while a job runs: a reporter task appends a `progress` event a few
//! times a second while the count moves (not one per row: a 100,000-row sheet would
//! flood the log), plus helpers for the other event kinds.

use std::{
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use maplink::{
    domain::SessionId,
    events::{EventKind, EventLog, payload},
};
use serde_json::json;
use tokio::task::JoinHandle;

use crate::heartbeat::RunSignals;

/// How often the reporter looks at the count.
const EVERY: Duration = Duration::from_millis(250);

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

/// Stops the reporter when dropped.
pub struct Reporter(JoinHandle<()>);

impl Drop for Reporter {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub fn spawn_reporter(
    events: Arc<dyn EventLog>,
    session: SessionId,
    total: u64,
    signals: Arc<RunSignals>,
) -> Reporter {
    Reporter(tokio::spawn(async move {
        let mut last = u64::MAX;
        let mut ticker = tokio::time::interval(EVERY);
        loop {
            ticker.tick().await;
            let done = signals.progress.load(Ordering::Relaxed);
            if done != last {
                last = done;
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
    }))
}
