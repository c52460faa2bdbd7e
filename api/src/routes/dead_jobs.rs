//! The dead list, for operators: `/api/v1/ops/dead-jobs`. A job goes dead when its
//! attempts are used up (the worker has then marked its session `failed`) or when its
//! payload does not decode; here an operator lists, retries and deletes such jobs.
//!
//! Retrying is not re-delivering the old job: it starts a *new run* of the session,
//! exactly as processing it again would (a new task id, `start_run`, so the session is
//! `queued` on run `attempt + 1`), and swaps the dead job for that run's job in one
//! step ([`JobStore::requeue_dead`]). The old payload names a run that has ended, and a
//! worker would drop it as stale.
//!
//! Operator data never carries a session id (the id is all a session's protection): a
//! dead job names its session by [`SessionId::handle`], and is acted on by task id.
//! Each run a retry starts counts against the caller's processing rate limit, as
//! `POST …/process` does, and a session may be retried from here at most
//! [`ConvertJob::MAX_DEAD_RETRIES`] times; after that it stays dead.
//!
//! These routes sit behind the same gate as `/api/v1/ops/stats` (see [`super::ops`]).

use std::net::SocketAddr;

use axum::{
    Json,
    extract::{ConnectInfo, Query, State, rejection::QueryRejection},
    http::{HeaderMap, Method, StatusCode},
    response::{IntoResponse, Response},
    routing::{MethodRouter, delete, get, post},
};
use maplink::{domain::SessionId, jobs::ConvertJob, session::StartRun};
use maplink_worker::queue::{DeadJob, JobStore, QueueError, producer::new_task_id};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{
    error::{ApiError, ApiResult},
    limits,
    routes::params::TaskIdParam,
    service::{sessions::abandon_unqueued_run, views::rfc3339},
    state::AppState,
};

/// The most dead jobs one request lists, retries or deletes.
const MOST_AT_ONCE: usize = 1000;
/// How many a listing holds when the caller does not say.
const DEFAULT_LIMIT: usize = 100;

/// The dead-job routes: (method, path, handler), guarded by the ops gate.
pub fn table() -> Vec<(Method, &'static str, MethodRouter<AppState>)> {
    vec![
        (Method::GET, "/api/v1/ops/dead-jobs", get(list)),
        (Method::DELETE, "/api/v1/ops/dead-jobs", delete(delete_all)),
        (Method::POST, "/api/v1/ops/dead-jobs/retry", post(retry_all)),
        (
            Method::POST,
            "/api/v1/ops/dead-jobs/{task_id}/retry",
            post(retry),
        ),
        (
            Method::DELETE,
            "/api/v1/ops/dead-jobs/{task_id}",
            delete(remove),
        ),
    ]
}

/// Why a dead job was left where it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refusal {
    /// No dead job has this task id (retried or deleted already, or trimmed).
    NotFound,
    /// The payload does not decode: there is no session to run again.
    NotRetryable,
    /// The session expired or was deleted.
    SessionGone,
    /// The session is queued or processing: a new run cannot start now.
    SessionBusy,
    /// The session has been retried from the dead list as often as it may.
    RetriesExhausted,
}

impl Refusal {
    fn code(self) -> &'static str {
        ApiError::from(self).code()
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::NotFound => ApiError::DeadJobNotFound,
            Refusal::NotRetryable => ApiError::NotRetryable,
            Refusal::SessionGone => ApiError::SessionGone,
            Refusal::SessionBusy => ApiError::SessionBusy,
            Refusal::RetriesExhausted => ApiError::RetriesExhausted {
                limit: ConvertJob::MAX_DEAD_RETRIES,
            },
        }
    }
}

/// How a retry ended. Store failures are errors instead: they say nothing about the job.
enum Retry {
    Queued {
        task_id: String,
        session_id: SessionId,
    },
    Refused(Refusal),
}

fn unavailable(e: QueueError) -> ApiError {
    ApiError::Unavailable(e.to_string())
}

/// The session and run a dead job was for, if its payload decodes.
fn decode(job: &DeadJob) -> Option<ConvertJob> {
    serde_json::from_str(&job.payload).ok()
}

#[derive(Serialize)]
struct DeadJobView {
    task_id: String,
    /// The session's handle (never its id); `None` when the payload does not decode.
    session: Option<String>,
    run: Option<u32>,
    attempts: u32,
    error: String,
    died_at: String,
}

impl DeadJobView {
    fn new(job: DeadJob) -> Self {
        let decoded = decode(&job);
        Self {
            session: decoded.as_ref().map(|j| j.session_id.handle()),
            run: decoded.map(|j| j.run),
            attempts: job.attempts,
            died_at: rfc3339(job.died_ms),
            error: without_session_ids(&job.error),
            task_id: job.task_id,
        }
    }
}

/// `text` with every session id in it (a failure's message may name a file of the
/// session) replaced by the session's handle.
fn without_session_ids(text: &str) -> String {
    const LEN: usize = 36;
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(|c: char| c.is_ascii_hexdigit()) {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        match rest.get(..LEN).and_then(|s| s.parse::<SessionId>().ok()) {
            Some(id) => {
                out.push_str(&id.handle());
                rest = &rest[LEN..];
            }
            None => {
                // Not an id starting here: keep this digit and look from the next.
                out.push_str(&rest[..1]);
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[derive(Deserialize)]
struct ListQuery {
    limit: Option<usize>,
}

/// The newest dead jobs, and how many there are in all.
async fn list(
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Json<serde_json::Value>> {
    let Query(query) = query.map_err(|_| ApiError::InvalidLimit)?;
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MOST_AT_ONCE);
    let store = state.queue.store();
    let jobs = store.dead(limit).await.map_err(unavailable)?;
    let count = store.stats().await.map_err(unavailable)?.dead;
    let jobs: Vec<DeadJobView> = jobs.into_iter().map(DeadJobView::new).collect();
    Ok(Json(json!({ "dead_jobs": jobs, "count": count })))
}

/// Retries one dead job: 202 with the new run's task id.
async fn retry(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    TaskIdParam(task_id): TaskIdParam,
) -> ApiResult<Response> {
    let store = state.queue.store();
    let Some(job) = find(store.as_ref(), &task_id).await? else {
        return Err(Refusal::NotFound.into());
    };
    if let Some(refusal) = refusal_before_run(&job) {
        return Err(refusal.into());
    }
    limits::take_process(&state, peer, &headers).await?;
    match retry_one(&state, store.as_ref(), &job).await? {
        Retry::Queued {
            task_id,
            session_id,
        } => {
            let body =
                json!({ "task_id": task_id, "session": session_id.handle(), "status": "queued" });
            Ok((StatusCode::ACCEPTED, Json(body)).into_response())
        }
        Retry::Refused(refusal) => Err(refusal.into()),
    }
}

/// Retries the newest dead jobs (up to [`MOST_AT_ONCE`]), saying which were left and why.
/// A store failure ends the pass with a 503; the jobs retried until then stay retried, so
/// calling again picks up where it stopped.
///
/// Each run started takes one processing request from the caller's rate limit; once
/// the limit refuses, the rest are skipped with `rate_limited` (call again later).
async fn retry_all(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> ApiResult<Json<serde_json::Value>> {
    let store = state.queue.store();
    let jobs = store.dead(MOST_AT_ONCE).await.map_err(unavailable)?;
    let mut retried = 0_u64;
    let mut skipped = Vec::new();
    let mut limited = false;
    // One at a time, in order: two dead jobs of one session must not both start a run
    // (the second finds the session busy and is skipped).
    for job in &jobs {
        if let Some(refusal) = refusal_before_run(job) {
            skipped.push(json!({ "task_id": job.task_id, "code": refusal.code() }));
            continue;
        }
        if !limited && limits::take_process(&state, peer, &headers).await.is_err() {
            limited = true;
        }
        if limited {
            skipped.push(json!({ "task_id": job.task_id, "code": "rate_limited" }));
            continue;
        }
        match retry_one(&state, store.as_ref(), job).await? {
            Retry::Queued { .. } => retried += 1,
            Retry::Refused(refusal) => {
                skipped.push(json!({ "task_id": job.task_id, "code": refusal.code() }));
            }
        }
    }
    Ok(Json(json!({ "retried": retried, "skipped": skipped })))
}

/// Removes one dead job: 204.
async fn remove(
    State(state): State<AppState>,
    TaskIdParam(task_id): TaskIdParam,
) -> ApiResult<StatusCode> {
    let removed = state
        .queue
        .store()
        .delete_dead(&task_id)
        .await
        .map_err(unavailable)?;
    if !removed {
        return Err(Refusal::NotFound.into());
    }
    tracing::info!(task = %task_id, "dead job deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// Removes the newest dead jobs (up to [`MOST_AT_ONCE`]).
async fn delete_all(State(state): State<AppState>) -> ApiResult<Json<serde_json::Value>> {
    let store = state.queue.store();
    let jobs = store.dead(MOST_AT_ONCE).await.map_err(unavailable)?;
    let mut deleted = 0_u64;
    for job in &jobs {
        // `false`: someone else removed it meanwhile, which is what was asked anyway.
        if store.delete_dead(&job.task_id).await.map_err(unavailable)? {
            deleted += 1;
        }
    }
    tracing::info!(deleted, "dead jobs deleted");
    Ok(Json(json!({ "deleted": deleted })))
}

/// The dead job with this task id.
async fn find(store: &dyn JobStore, task_id: &str) -> ApiResult<Option<DeadJob>> {
    store.dead_job(task_id).await.map_err(unavailable)
}

/// Why a dead job cannot be retried, as far as the job itself tells (before any rate
/// limit is spent on it).
fn refusal_before_run(dead: &DeadJob) -> Option<Refusal> {
    match decode(dead) {
        None => Some(Refusal::NotRetryable),
        Some(job) if job.dead_retries >= ConvertJob::MAX_DEAD_RETRIES => {
            Some(Refusal::RetriesExhausted)
        }
        Some(_) => None,
    }
}

/// Starts a new run of the dead job's session and puts that run's job in the dead
/// job's place.
async fn retry_one(state: &AppState, store: &dyn JobStore, dead: &DeadJob) -> ApiResult<Retry> {
    let Some(old) = decode(dead) else {
        return Ok(Retry::Refused(Refusal::NotRetryable));
    };
    let id = old.session_id;
    let task_id = new_task_id();
    // The run is started before the job is queued, as a new run from the API is: the
    // job must carry the run number `start_run` hands out, and a worker that took the
    // job before the session said `queued` would find nothing to do.
    let session = match state.sessions.start_run(id, &task_id, None).await? {
        StartRun::Started(session) => session,
        StartRun::Busy(_) => return Ok(Retry::Refused(Refusal::SessionBusy)),
        StartRun::Missing => return Ok(Retry::Refused(Refusal::SessionGone)),
    };
    // The new run asks for what the dead one asked for (the details columns), and
    // carries one more dead-list retry.
    let job = old.dead_retry(session.attempt);
    let payload = serde_json::to_string(&job).map_err(|e| ApiError::Internal(e.to_string()))?;
    match store
        .requeue_dead(&dead.task_id, (&task_id, &payload))
        .await
    {
        Ok(true) => {
            metrics::counter!(maplink::metrics::JOBS_ENQUEUED).increment(1);
            tracing::info!(session = %id, run = session.attempt, task = %task_id, dead_task = %dead.task_id, "dead job retried");
            Ok(Retry::Queued {
                task_id,
                session_id: id,
            })
        }
        // Another request retried or deleted the job between our read and now. The
        // run just started has no job, so it is given up like any run that could not
        // be queued.
        Ok(false) => {
            abandon_unqueued_run(state, id, session.attempt).await;
            Ok(Retry::Refused(Refusal::NotFound))
        }
        Err(e) => {
            abandon_unqueued_run(state, id, session.attempt).await;
            Err(unavailable(e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failures_message_names_no_session_id() {
        let id = SessionId::random();
        let text =
            format!("file store get {id}/input.xlsx: at /data/sessions/{id}/input.xlsx not found");
        let shown = without_session_ids(&text);
        assert!(!shown.contains(&id.to_string()), "{shown}");
        assert_eq!(
            shown,
            format!(
                "file store get {h}/input.xlsx: at /data/sessions/{h}/input.xlsx not found",
                h = id.handle()
            )
        );
        assert_eq!(
            without_session_ids(&format!("ab{id}")),
            format!("ab{}", id.handle())
        );
        for kept in [
            "Processing failed after 3 attempts: timeout",
            "deadbeef-1234 x",
            "",
            "ab",
        ] {
            assert_eq!(without_session_ids(kept), kept);
        }
    }
}
