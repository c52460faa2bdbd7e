//! The coordinates job: read the session's sheet, fill in coordinates, write the output
//! and the per-row log, and keep the session informed throughout.
//!
//! Delivery is at-least-once (a worker killed mid-job has its job run again elsewhere),
//! so the job is idempotent: it only writes whole files by rename and finishes with one
//! conditional session update. A job for a session that has since started another run
//! is stale and does nothing.

use std::{io::Write, sync::Arc, time::Duration};

use maplink::{
    Error,
    domain::{Counts, SessionId, SessionStatus},
    files::SessionFile,
    jobs::ConvertJob,
    session::{Update, UpdateOutcome},
    sheet,
};

use crate::{
    heartbeat::{self, RunSignals},
    jobs::fill::{self, Filled},
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

/// Runs one job. `Err` is a transient failure (store or file I/O) worth retrying.
pub async fn run(state: &WorkerState, job: &ConvertJob) -> Result<Outcome, Error> {
    let id = job.session_id;
    let Some(session) = state.sessions.get(id).await? else {
        return Ok(Outcome::Gone);
    };
    if session.attempt != job.run {
        return Ok(Outcome::Stale);
    }
    let start = Update {
        status: Some(SessionStatus::Processing),
        progress: Some(0),
        only_run: Some(job.run),
        ..Update::default()
    };
    match state.sessions.update(id, &start).await? {
        UpdateOutcome::Applied => {}
        UpdateOutcome::Stale => return Ok(Outcome::Stale),
        UpdateOutcome::Missing => return Ok(Outcome::Gone),
    }
    tracing::info!(session = %id, run = job.run, rows = session.total_rows, "job started");

    let signals = Arc::new(RunSignals::default());
    let _heartbeat = heartbeat::spawn(
        state.sessions.clone(),
        id,
        job.run,
        state.settings.heartbeat_interval(),
        signals.clone(),
    );
    // Reading, parsing and writing the sheet is CPU and file work: on the async worker
    // it would stall the queue heartbeats of this process, and the queue would hand the
    // job to another worker while this one still runs it.
    let blocking_state = state.clone();
    let format = session.format;
    let row_delay = Duration::from_millis(state.settings.row_delay_ms);
    let result = tokio::task::spawn_blocking(move || {
        convert_files(&blocking_state, id, format, &signals, row_delay)
    })
    .await
    .map_err(|e| Error::io("convert job", std::io::Error::other(e)))?;

    let (status, counts, error) = match result {
        Ok(Some(filled)) => (SessionStatus::Completed, filled.counts, None),
        Ok(None) => return Ok(Outcome::Gone),
        Err(e) if !e.is_transient() => (
            SessionStatus::Failed,
            Counts::default(),
            Some(e.to_string()),
        ),
        Err(e) => return Err(e),
    };
    let finish = Update {
        status: Some(status),
        progress: Some(counts.total()),
        counts: Some(counts),
        error: Some(error.clone()),
        only_run: Some(job.run),
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
            Outcome::Completed(counts)
        }
        Some(reason) => {
            tracing::warn!(session = %id, %reason, "job failed");
            Outcome::Failed(reason)
        }
    })
}

/// Marks a session's run failed (used when attempts are exhausted).
pub async fn mark_failed(state: &WorkerState, job: &ConvertJob, reason: &str) -> Result<(), Error> {
    let update = Update {
        status: Some(SessionStatus::Failed),
        error: Some(Some(reason.to_owned())),
        only_run: Some(job.run),
        ..Update::default()
    };
    state.sessions.update(job.session_id, &update).await?;
    Ok(())
}

/// The blocking part. `Ok(None)` when the run was cancelled.
fn convert_files(
    state: &WorkerState,
    id: SessionId,
    format: maplink::domain::FileFormat,
    signals: &RunSignals,
    row_delay: Duration,
) -> Result<Option<Filled>, Error> {
    let bytes = state.files.read(id, SessionFile::Input(format))?;
    let mut book = sheet::read(&bytes, format)?;
    let cols = sheet::find_columns(book.first().header())?;
    let Ok(filled) = fill::fill(book.first_mut(), &cols, signals, row_delay) else {
        return Ok(None);
    };
    let output = sheet::write(&book)?;
    state.files.write_with(id, SessionFile::Rows, |w| {
        let mut w = std::io::BufWriter::new(w);
        for row in &filled.rows {
            serde_json::to_writer(&mut w, row)?;
            w.write_all(b"\n")?;
        }
        w.flush()
    })?;
    state
        .files
        .write(id, SessionFile::Output(format), &output)?;
    Ok(Some(filled))
}
