//! The coordinates job: read the session's sheet, fill in coordinates, write the output
//! and the per-row log, and keep the session informed throughout.
//!
//! Delivery is at-least-once (a worker killed mid-job has its job run again elsewhere),
//! so the job is idempotent: it only writes whole files by rename and finishes with one
//! conditional session update. A job for a session that has since started another run
//! is stale and does nothing.

use std::{
    collections::HashMap,
    io::Write,
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use futures::StreamExt;
use serde_json::json;

use maplink::{
    Error,
    domain::{Counts, FileFormat, RowStatus, SessionId, SessionStatus},
    events::{EventKind, EventLog},
    files::SessionFile,
    jobs::ConvertJob,
    session::{Update, UpdateOutcome},
    sheet,
};

use crate::{
    heartbeat::{self, RunSignals},
    jobs::rows::{self, Filled, Plan},
    progress::{self, emit},
    resolve::Resolution,
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

    let signals = Arc::new(RunSignals::default());
    let reporter = progress::spawn_reporter(state.events.clone(), id, total, signals.clone());
    let _heartbeat = heartbeat::spawn(
        state.sessions.clone(),
        id,
        job.run,
        state.settings.heartbeat_interval(),
        signals.clone(),
    );
    let result = convert_files(state, id, session.format, &signals).await;
    drop(reporter);
    let (status, counts, error, rows) = match result {
        Ok(Some(filled)) => (SessionStatus::Completed, filled.counts, None, filled.rows),
        Ok(None) => return Ok(Outcome::Gone),
        Err(e) if !e.is_transient() => (
            SessionStatus::Failed,
            Counts::default(),
            Some(e.to_string()),
            Vec::new(),
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
            emit(
                events,
                id,
                EventKind::Progress,
                progress::progress_fields(total, total, rows.last().map(|r| r.name.clone())),
            )
            .await;
            let failed = rows.iter().filter(|r| r.status == RowStatus::Failed);
            for row in failed.clone().take(MAX_ROW_LOGS) {
                log(
                    events,
                    id,
                    "warning",
                    format!("Row {} ({}): {}", row.row, row.name, row.comment()),
                )
                .await;
            }
            if counts.failed as usize > MAX_ROW_LOGS {
                log(
                    events,
                    id,
                    "warning",
                    format!(
                        "… and {} more failed rows (download the failed rows)",
                        counts.failed as usize - MAX_ROW_LOGS
                    ),
                )
                .await;
            }
            emit(
                events,
                id,
                EventKind::Complete,
                json!({
                    "total_rows": total,
                    "successful": counts.successful,
                    "failed": counts.failed,
                    "skipped": counts.skipped,
                }),
            )
            .await;
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
            Outcome::Completed(counts)
        }
        Some(reason) => {
            tracing::warn!(session = %id, %reason, "job failed");
            emit(events, id, EventKind::Error, json!({ "message": reason })).await;
            Outcome::Failed(reason)
        }
    })
}

/// Failed rows reported one by one in the event log; the rest are summarised.
const MAX_ROW_LOGS: usize = 100;

async fn log(events: &dyn EventLog, id: SessionId, level: &str, message: String) {
    emit(
        events,
        id,
        EventKind::Log,
        json!({ "level": level, "message": message }),
    )
    .await;
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
    emit(
        state.events.as_ref(),
        job.session_id,
        EventKind::Error,
        json!({ "message": reason }),
    )
    .await;
    Ok(())
}

/// Reads, plans, resolves and writes. `Ok(None)` when the run was cancelled.
///
/// Reading, parsing and writing the sheet is CPU and file work, done on blocking
/// threads: on the async worker it would stall the queue heartbeats of this process,
/// and the queue would hand the job to another worker while this one still runs it.
async fn convert_files(
    state: &WorkerState,
    id: SessionId,
    format: FileFormat,
    signals: &Arc<RunSignals>,
) -> Result<Option<Filled>, Error> {
    let files = state.files.clone();
    let row_delay = Duration::from_millis(state.settings.row_delay_ms);
    let plan_signals = signals.clone();
    let planned = blocking(move || {
        let bytes = files.read(id, SessionFile::Input(format))?;
        let book = sheet::read(&bytes, format)?;
        let cols = sheet::find_columns(book.first().header())?;
        let plans = rows::plan(book.first(), &cols, &plan_signals, row_delay);
        Ok((book, cols, plans))
    })
    .await?;
    let (mut book, cols, Ok(plans)) = planned else {
        return Ok(None);
    };

    let Some(online) = resolve_online(state, &plans, signals).await else {
        return Ok(None);
    };

    let files = state.files.clone();
    let filled = blocking(move || {
        let filled = rows::apply(book.first_mut(), &cols, &plans, &online);
        let output = sheet::write(&book)?;
        files.write_with(id, SessionFile::Rows, |w| {
            let mut w = std::io::BufWriter::new(w);
            for row in &filled.rows {
                serde_json::to_writer(&mut w, row)?;
                w.write_all(b"\n")?;
            }
            w.flush()
        })?;
        for (status, file) in [
            (RowStatus::Failed, SessionFile::Failed(format)),
            (RowStatus::Skipped, SessionFile::Skipped(format)),
        ] {
            let subset = book.only_rows(|i| filled.rows.get(i).is_some_and(|r| r.status == status));
            files.write(id, file, &sheet::write(&subset)?)?;
        }
        // The full output goes last: its presence means the whole set was written.
        files.write(id, SessionFile::Output(format), &output)?;
        Ok(filled)
    })
    .await?;
    Ok(Some(filled))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::io("convert job", std::io::Error::other(e)))?
}

/// Resolves every distinct link that needs the network, `resolve_concurrency` at a
/// time. Each answer counts as progress for every row holding that link. `None` when
/// the run was cancelled.
async fn resolve_online(
    state: &WorkerState,
    plans: &[Plan],
    signals: &RunSignals,
) -> Option<HashMap<String, Resolution>> {
    let mut rows_per_link: HashMap<&str, u64> = HashMap::new();
    for plan in plans {
        if let Plan::Online(link) = plan {
            *rows_per_link.entry(link.as_str()).or_default() += 1;
        }
    }
    let mut answers = HashMap::with_capacity(rows_per_link.len());
    // Owned links and an owned resolver handle keep the futures `Send + 'static`, as
    // the worker's future must be.
    let links: Vec<(String, u64)> = rows_per_link
        .into_iter()
        .map(|(l, n)| (l.to_owned(), n))
        .collect();
    let resolver = state.resolver.clone();
    let mut pending = futures::stream::iter(links)
        .map(move |(link, rows)| {
            let resolver = resolver.clone();
            async move {
                let resolution = resolver.resolve(&link).await;
                (link, rows, resolution)
            }
        })
        .buffer_unordered(state.settings.resolve_concurrency);
    while let Some((link, rows, resolution)) = pending.next().await {
        if signals.cancelled.load(Ordering::Relaxed) {
            return None;
        }
        signals.progress.fetch_add(rows, Ordering::Relaxed);
        answers.insert(link, resolution);
    }
    Some(answers)
}
