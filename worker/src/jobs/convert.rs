//! The coordinates job: read the session's sheet, fill in coordinates, write the output
//! and the per-row log, and keep the session informed throughout.
//!
//! Delivery is at-least-once (a worker killed mid-job has its job run again elsewhere),
//! so the job is idempotent: it only writes whole files by rename and finishes with one
//! conditional session update. A job for a session that has since started another run
//! is stale and does nothing.
//!
//! The run's last events (`complete` or `error`, and the logs before them) are stored
//! *before* that final update: a client that reads the status `completed` (or
//! `failed`) and then the event log always finds the ending there. A terminal event
//! that cannot be stored fails the attempt (it is retried) rather than letting the
//! status get ahead of the log. Terminal events carry the run number, so the ending of
//! a run that turns out stale at the final update is told apart from the current run's.

use std::sync::Arc;

use serde_json::json;

use maplink::{
    Error,
    domain::{Counts, FileFormat, RowStatus, SessionId, SessionStatus},
    events::{EventKind, EventLog},
    files::SessionFile,
    jobs::ConvertJob,
    ops::ResolutionCount,
    session::{Delivery, Update, UpdateOutcome},
};

use crate::{
    heartbeat::{self, RunSignals},
    jobs::{
        pipeline::{self, blocking},
        row_events,
        rows::Filled,
    },
    progress::{self, emit},
    state::WorkerState,
};

#[derive(Debug, PartialEq)]
pub enum Outcome {
    Completed(Counts),
    /// The input cannot be processed; the session is marked failed with this reason.
    Failed(String),
    /// The session has moved on to a newer run.
    Stale,
    /// The session was deleted before or during the run.
    Gone,
}

/// Runs one job; `delivery` is the queue's attempt number for this delivery (see
/// [`Delivery`]). `Err` is a transient failure (store or file I/O) worth retrying.
#[tracing::instrument(name = "job", skip_all, fields(session = %job.session_id, run = job.run))]
pub async fn run(state: &WorkerState, job: &ConvertJob, delivery: u32) -> Result<Outcome, Error> {
    let id = job.session_id;
    let Some(session) = state.sessions.get(id).await? else {
        return Ok(Outcome::Gone);
    };
    // A later run has started, or this run already ended (a delivery repeated after
    // its outcome was recorded but before the queue heard of it).
    if session.attempt != job.run
        || matches!(
            session.status,
            SessionStatus::Completed | SessionStatus::Failed
        )
    {
        return Ok(Outcome::Stale);
    }
    let start = Update {
        status: Some(SessionStatus::Processing),
        progress: Some(0),
        only_run: Some(job.run),
        delivery: Some(Delivery::Claim(delivery)),
        ..Update::default()
    };
    match state.sessions.update(id, &start).await? {
        UpdateOutcome::Applied => {}
        UpdateOutcome::Stale => return Ok(Outcome::Stale),
        UpdateOutcome::Missing => return Ok(Outcome::Gone),
    }
    tracing::info!(session = %id, run = job.run, rows = session.total_rows, "job started");
    let events = state.events.as_ref();
    let total = session.total_rows;
    emit(
        events,
        id,
        EventKind::Start,
        json!({ "total": total, "filename": session.original_filename, "run": job.run }),
    )
    .await;
    log(
        events,
        id,
        "info",
        format!("Processing {total} rows from {}", session.original_filename),
    )
    .await;

    // Registered so that a stopping worker can cancel the run (`crate::hand_back`).
    let signals = state.runs.start(id, job.run, delivery);
    let reporter = progress::spawn_reporter(state.events.clone(), id, total, signals.clone());
    let _heartbeat = heartbeat::spawn(
        state.sessions.clone(),
        id,
        (job.run, delivery),
        state.settings.sessions().heartbeat_interval,
        signals.clone(),
    );
    let result = convert_files(state, id, session.format, job.details, &signals).await;
    // Waits for a progress event being stored, so none lands after the ending.
    reporter.finish().await;
    let (status, error, filled) = match result {
        Ok(Some(filled)) => (SessionStatus::Completed, None, filled),
        Ok(None) => return Ok(Outcome::Gone),
        Err(e) if !e.is_transient() => (
            SessionStatus::Failed,
            Some(e.to_string()),
            Filled {
                counts: Counts::default(),
                rows: Vec::new(),
                unknown_regions: Vec::new(),
            },
        ),
        Err(e) => return Err(e),
    };
    let counts = filled.counts;
    // A run already known to be stale (the session moved on while it worked) leaves
    // no ending in the log; the conditional update below stays the authority.
    match state.sessions.get(id).await? {
        Some(s) if s.attempt == job.run => {}
        Some(_) => return Ok(Outcome::Stale),
        None => return Ok(Outcome::Gone),
    }
    match &error {
        None => tell_completed(events, id, job.run, total, &filled).await?,
        Some(reason) => {
            progress::emit_final(
                events,
                id,
                EventKind::Error,
                json!({ "message": reason, "run": job.run }),
            )
            .await?;
        }
    }
    let finish = Update {
        status: Some(status),
        progress: Some(counts.total()),
        counts: Some(counts),
        error: Some(error.clone()),
        only_run: Some(job.run),
        delivery: Some(Delivery::Hold(delivery)),
    };
    match state.sessions.update(id, &finish).await? {
        UpdateOutcome::Applied => {}
        UpdateOutcome::Stale => return Ok(Outcome::Stale),
        UpdateOutcome::Missing => return Ok(Outcome::Gone),
    }
    Ok(match error {
        None => {
            tracing::info!(session = %id, successful = counts.successful, failed = counts.failed,
                skipped = counts.skipped, "job completed");
            record_methods(state, &filled.rows).await;
            Outcome::Completed(counts)
        }
        Some(reason) => {
            tracing::warn!(session = %id, %reason, "job failed");
            Outcome::Failed(reason)
        }
    })
}

/// The ending of a completed run: the final count, the failed rows and the region
/// check's warnings ([`row_events`]), the summary and `complete`, in that order.
async fn tell_completed(
    events: &dyn EventLog,
    id: SessionId,
    run: u32,
    total: u64,
    filled: &Filled,
) -> Result<(), Error> {
    let (counts, rows) = (filled.counts, filled.rows.as_slice());
    let mut last = progress::progress_fields(total, total, rows.last().map(|r| r.name.clone()));
    last["successful"] = counts.successful.into();
    last["failed"] = counts.failed.into();
    last["skipped"] = counts.skipped.into();
    emit(events, id, EventKind::Progress, last).await;
    row_events::tell_failed(events, id, rows).await;
    row_events::tell_checks(events, id, rows, &filled.unknown_regions).await;
    log(
        events,
        id,
        "success",
        format!(
            "Done: {} successful, {} failed, {} skipped",
            counts.successful, counts.failed, counts.skipped
        ),
    )
    .await;
    progress::emit_final(
        events,
        id,
        EventKind::Complete,
        json!({
            "total_rows": total,
            "successful": counts.successful,
            "failed": counts.failed,
            "skipped": counts.skipped,
            "run": run,
        }),
    )
    .await
}

/// Adds the run's rows to the shared per-method counts (the ops dashboard's
/// link-resolution table): the method that found a row, or `none`.
async fn record_methods(state: &WorkerState, rows: &[maplink::domain::RowOutcome]) {
    let mut counts: std::collections::BTreeMap<(String, &'static str), u64> = Default::default();
    for row in rows.iter().filter(|r| r.status != RowStatus::Skipped) {
        let method = row.method.clone().unwrap_or_else(|| "none".to_owned());
        *counts.entry((method, row.status.as_str())).or_default() += 1;
    }
    let counts: Vec<ResolutionCount> = counts
        .into_iter()
        .map(|((method, outcome), count)| ResolutionCount {
            method,
            outcome: outcome.to_owned(),
            count,
        })
        .collect();
    if let Err(e) = state.ops.record_resolutions(&counts).await {
        tracing::warn!(error = %e, "could not record resolution counts");
    }
}

async fn log(events: &dyn EventLog, id: SessionId, level: &str, message: String) {
    row_events::log(events, id, level, message, serde_json::Value::Null).await;
}

/// Marks a session's run failed (used when attempts are exhausted, by delivery
/// `delivery`): the `error` event first, then the status, as at the end of a run.
pub async fn mark_failed(
    state: &WorkerState,
    job: &ConvertJob,
    delivery: u32,
    reason: &str,
) -> Result<(), Error> {
    match state.sessions.get(job.session_id).await? {
        Some(s) if s.attempt == job.run && s.status.is_active() => {}
        // Another run has started (or the session is gone): nothing to mark.
        _ => return Ok(()),
    }
    progress::emit_final(
        state.events.as_ref(),
        job.session_id,
        EventKind::Error,
        json!({ "message": reason, "run": job.run }),
    )
    .await?;
    let update = Update {
        status: Some(SessionStatus::Failed),
        error: Some(Some(reason.to_owned())),
        only_run: Some(job.run),
        delivery: Some(Delivery::Claim(delivery)),
        ..Update::default()
    };
    state.sessions.update(job.session_id, &update).await?;
    Ok(())
}

/// Reads the upload, converts it and writes every output file. `Ok(None)` when the
/// run was cancelled.
async fn convert_files(
    state: &WorkerState,
    id: SessionId,
    format: FileFormat,
    details: bool,
    signals: &Arc<RunSignals>,
) -> Result<Option<Filled>, Error> {
    let bytes = state
        .files
        .read(id, SessionFile::Input(format))
        .await?
        .to_vec();
    let opts = pipeline::Options {
        resolver: state.resolver.clone(),
        concurrency: state.settings.resolve().concurrency,
        row_delay: state.settings.queue().row_delay,
        limits: state.settings.sheet_limits(),
        details,
    };
    let Some(converted) = pipeline::convert(bytes, format, &opts, signals).await? else {
        return Ok(None);
    };
    let rows = blocking(move || {
        let mut log = Vec::new();
        pipeline::write_rows_jsonl(&converted.filled.rows, &mut log)
            .map_err(|e| Error::io("rows.jsonl", e))?;
        Ok((log, converted))
    });
    let (log, converted) = rows.await?;
    let files = &state.files;
    files.write(id, SessionFile::Rows, log).await?;
    files
        .write(id, SessionFile::Failed(format), converted.failed)
        .await?;
    files
        .write(id, SessionFile::Skipped(format), converted.skipped)
        .await?;
    // The full output goes last: its presence means the whole set was written.
    files
        .write(id, SessionFile::Output(format), converted.output)
        .await?;
    Ok(Some(converted.filled))
}
