//! Looking up, processing, downloading, renewing and deleting sessions.
//!
//! Every successful lookup refreshes the session's `last_seen_at` (the sliding TTL):
//! reading a session is a sign of life.

use maplink::{
    domain::{Session, SessionId, SessionStatus},
    files::SessionFile,
    jobs::ConvertJob,
    session::{StartRun, Update},
};
use maplink_worker::queue::producer::{new_task_id, task_age_ms};

use crate::{
    access::Submitter,
    error::{ApiError, ApiResult},
    state::AppState,
};

/// Parses an id from a path; malformed ids are a 400, not a lookup.
pub fn parse_id(raw: &str) -> ApiResult<SessionId> {
    raw.parse().map_err(|_| ApiError::InvalidSessionId)
}

async fn not_found(state: &AppState, id: SessionId) -> ApiError {
    match state.sessions.tombstone(id).await {
        Ok(t) => ApiError::SessionNotFound(t),
        Err(e) => e.into(),
    }
}

/// Checks that `who` may see the session (only when tokens are in use: it costs a read).
async fn check_visible(state: &AppState, who: &Submitter, id: SessionId) -> ApiResult<()> {
    if who.0.is_none() {
        return Ok(());
    }
    match state.sessions.get(id).await? {
        Some(s) if who.can_see(&s) => Ok(()),
        // Someone else's session does not exist for this caller.
        Some(_) => Err(ApiError::SessionNotFound(None)),
        None => Err(not_found(state, id).await),
    }
}

/// Looks a session up and refreshes it.
pub async fn touch(state: &AppState, who: &Submitter, id: SessionId) -> ApiResult<Session> {
    check_visible(state, who, id).await?;
    match state.sessions.touch(id).await? {
        Some(s) => Ok(s),
        None => Err(not_found(state, id).await),
    }
}

/// A queued run's job counts as lost when it is older than this and not on the queue
/// (the grace covers a request that is between marking the run and pushing its job).
const STUCK_AFTER_MS: i64 = 30_000;

/// The job id of a `queued` session whose job is not on the queue, if that is the case.
async fn stuck_job(state: &AppState, s: &Session) -> Option<String> {
    let job = s
        .job_id
        .as_deref()
        .filter(|_| s.status == SessionStatus::Queued)?;
    if task_age_ms(job)? < STUCK_AFTER_MS {
        return None;
    }
    match state.queue.has_task(job).await {
        Ok(false) => Some(job.to_owned()),
        Ok(true) => None,
        Err(e) => {
            tracing::warn!(error = %e, "could not check the queue for a job");
            None
        }
    }
}

/// Queues a new run. Conflicts while a run is queued or processing (unless the queued
/// run's job was lost).
/// Starts a run of a session and queues its job; `details` asks for the `Source`,
/// `Precision` and `Check` columns (carried by the job: see `ConvertJob::details`).
pub async fn process(
    state: &AppState,
    who: &Submitter,
    id: SessionId,
    details: bool,
) -> ApiResult<Session> {
    check_visible(state, who, id).await?;
    let task_id = new_task_id();
    let session = match state.sessions.start_run(id, &task_id, None).await? {
        StartRun::Started(s) => s,
        StartRun::Busy(s) => match stuck_job(state, &s).await {
            // The previous request died between marking the run and queueing its job:
            // nothing would ever process it, so this request takes the run over.
            Some(stuck) => match state.sessions.start_run(id, &task_id, Some(&stuck)).await? {
                StartRun::Started(s) => {
                    tracing::warn!(session = %id, stuck_job = %stuck, "replaced a queued run whose job never reached the queue");
                    s
                }
                StartRun::Busy(_) => return Err(ApiError::AlreadyProcessing),
                StartRun::Missing => return Err(not_found(state, id).await),
            },
            None => return Err(ApiError::AlreadyProcessing),
        },
        StartRun::Missing => return Err(not_found(state, id).await),
    };
    if let Err(e) = state
        .producer
        .enqueue(
            ConvertJob::new(id, session.attempt).with_details(details),
            &task_id,
        )
        .await
    {
        abandon_unqueued_run(state, id, session.attempt).await;
        return Err(ApiError::Unavailable(e.to_string()));
    }
    metrics::counter!(maplink::metrics::JOBS_ENQUEUED).increment(1);
    tracing::info!(session = %id, run = session.attempt, task = %task_id, "job enqueued");
    Ok(session)
}

/// Marks run `run`, started but whose job never reached the queue, failed: the session
/// stays re-processable rather than stuck in `queued`.
pub async fn abandon_unqueued_run(state: &AppState, id: SessionId, run: u32) {
    let undo = Update {
        status: Some(SessionStatus::Failed),
        error: Some(Some(
            "The job could not be queued. Please try again.".into(),
        )),
        only_run: Some(run),
        ..Update::default()
    };
    if let Err(e) = state.sessions.update(id, &undo).await {
        tracing::error!(session = %id, error = %e, "could not mark an unqueued run failed");
    }
}

/// Waits until run `run` of a session has finished (completed or failed), up to
/// `limit`; `None` when the limit passed first.
pub async fn wait_for_run(
    state: &AppState,
    id: SessionId,
    run: u32,
    limit: std::time::Duration,
) -> ApiResult<Option<Session>> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let Some(s) = state.sessions.get(id).await? else {
            return Err(not_found(state, id).await);
        };
        if s.attempt != run {
            return Err(ApiError::Superseded);
        }
        if matches!(s.status, SessionStatus::Completed | SessionStatus::Failed) {
            return Ok(Some(s));
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(None);
        }
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    }
}

/// Which rows a download holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RowsFilter {
    #[default]
    All,
    Failed,
    Skipped,
}

impl RowsFilter {
    fn file(self, format: maplink::domain::FileFormat) -> SessionFile {
        match self {
            Self::All => SessionFile::Output(format),
            Self::Failed => SessionFile::Failed(format),
            Self::Skipped => SessionFile::Skipped(format),
        }
    }

    /// The suffix of the download name (`processed_stores_failed.xlsx`).
    pub fn suffix(self) -> &'static str {
        match self {
            Self::All => "",
            Self::Failed => "_failed",
            Self::Skipped => "_skipped",
        }
    }
}

/// The processed file, streamed from the file store: (session, its size, its
/// chunks). Conflicts until the session completed.
pub async fn download(
    state: &AppState,
    who: &Submitter,
    id: SessionId,
    rows: RowsFilter,
) -> ApiResult<(Session, u64, FileChunks)> {
    let session = touch(state, who, id).await?;
    if session.status != SessionStatus::Completed {
        return Err(ApiError::NotProcessed);
    }
    let (size, chunks) = state
        .files
        .read_stream(id, rows.file(session.format))
        .await?;
    Ok((session, size, chunks))
}

/// A stored file's bytes, chunk by chunk.
pub type FileChunks = futures::stream::BoxStream<'static, std::io::Result<axum::body::Bytes>>;

/// Deletes a session and its files.
pub async fn delete(state: &AppState, who: &Submitter, id: SessionId) -> ApiResult<()> {
    check_visible(state, who, id).await?;
    if !state.sessions.delete(id).await? {
        return Err(not_found(state, id).await);
    }
    if let Err(e) = state.events.delete(id).await {
        tracing::warn!(session = %id, error = %e, "could not remove the session's events");
    }
    let bytes = state.files.remove_session(id).await?;
    state.usage.removed(bytes).await;
    tracing::info!(session = %id, "session deleted");
    Ok(())
}
