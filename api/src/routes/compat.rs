//! The original app's routes, kept byte-for-byte in paths, field names and messages so
//! that its web client and scripts keep working: `POST /upload`, `POST /process/<id>`,
//! `GET /process-stream/<id>`, `GET /download/<id>`, `GET /health`.
//!
//! Where the original answered 400 for an unknown session (`/process`), so does this;
//! `/download` answers 404 as it did. Malformed ids are unknown ids here (the original
//! had no id format).

use std::{convert::Infallible, net::SocketAddr, time::Duration};

use axum::{
    Extension, Json, Router,
    extract::{ConnectInfo, Multipart, State, multipart::MultipartRejection},
    http::{HeaderMap, StatusCode, header},
    response::{
        IntoResponse, Response,
        sse::{Event as SseEvent, KeepAlive, Sse},
    },
    routing::{get, post},
};
use futures::StreamExt;
use maplink::domain::{SessionId, SessionStatus};
use serde_json::{Value, json};

use crate::{
    access::Submitter,
    error::ApiError,
    routes::{attachment, params::SeedIdParam, sessions::multipart_or_415},
    service::{
        events::{STREAM_KEEP_ALIVE, acquire_slot, current_run_start, follow, latest_event_id},
        results,
        sessions::{self as svc, RowsFilter},
        upload,
    },
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/upload", post(upload))
        .route("/process/{id}", post(process))
        // GET starts a run (the original app's contract); HEAD, which the router would
        // otherwise serve with the GET handler, never starts anything and is not
        // counted by the rate limits.
        .route(
            "/process-stream/{id}",
            get(process_stream)
                .head(|| async { ([(header::ALLOW, "GET")], ApiError::MethodNotAllowed) }),
        )
        .route("/download/{id}", get(download))
        .route(
            "/health",
            get(|| async { Json(json!({ "status": "healthy" })) }),
        )
}

/// An error as the original app's routes answer it: the v1 error, with the original
/// app's status where it had another one. Where the original answered 400 for an
/// unknown session (`/process`, `/process-stream`) so does this, and an expired session
/// is an unknown one (the original kept no tombstones); a run under way or not yet
/// processed was a 400 there too. A failed run that `/process` waited for is a 500
/// with the message alone, as the original app sent it.
struct SeedError {
    error: ApiError,
    status: Option<StatusCode>,
}

impl From<ApiError> for SeedError {
    fn from(error: ApiError) -> Self {
        Self {
            error,
            status: None,
        }
    }
}

impl From<maplink::Error> for SeedError {
    fn from(error: maplink::Error) -> Self {
        ApiError::from(error).into()
    }
}

impl IntoResponse for SeedError {
    fn into_response(self) -> Response {
        match (self.error, self.status) {
            (failed @ ApiError::RunFailed(_), _) => {
                (failed.status(), Json(json!({ "error": failed.message() }))).into_response()
            }
            (error, Some(status)) => error.into_response_with_status(status),
            (error, None) => error.into_response(),
        }
    }
}

/// Maps the errors of a session lookup or a run start to the original app's answers;
/// `unknown` is its status for an unknown session on this route.
fn seed(unknown: StatusCode) -> impl Fn(ApiError) -> SeedError {
    move |error| match error {
        ApiError::SessionNotFound(_) => SeedError {
            error: ApiError::SessionNotFound(None),
            status: Some(unknown),
        },
        error @ (ApiError::AlreadyProcessing | ApiError::NotProcessed) => SeedError {
            error,
            status: Some(StatusCode::BAD_REQUEST),
        },
        error => error.into(),
    }
}

/// The id, or the original app's answer for an unknown session (malformed ids are
/// unknown ids here).
fn known(id: Option<SessionId>, unknown: StatusCode) -> Result<SessionId, SeedError> {
    id.ok_or_else(|| seed(unknown)(ApiError::SessionNotFound(None)))
}

async fn upload(
    State(state): State<AppState>,
    Extension(who): Extension<Submitter>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Json<Value>, SeedError> {
    let uploaded = upload::upload(&state, &who, multipart_or_415(multipart)?).await?;
    let s = &uploaded.session;
    Ok(Json(json!({
        "success": true,
        "session_id": s.id.to_string(),
        "preview_data": uploaded.preview.rows,
        "preview_columns": uploaded.preview.columns,
        "total_rows": s.total_rows,
        "map_column": s.map_column,
        "expires_at": crate::service::views::rfc3339(s.expires_at_ms(state.settings.sessions().ttl)),
    })))
}

/// How long `POST /process` waits for the job before answering 202 instead.
const WAIT_LIMIT: Duration = Duration::from_secs(30 * 60);

fn wants_async(headers: &HeaderMap) -> bool {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim().eq_ignore_ascii_case("respond-async"))
}

async fn process(
    State(state): State<AppState>,
    Extension(who): Extension<Submitter>,
    SeedIdParam(id): SeedIdParam,
    headers: HeaderMap,
) -> Result<Response, SeedError> {
    let id = known(id, StatusCode::BAD_REQUEST)?;
    let started = svc::process(&state, &who, id, false)
        .await
        .map_err(seed(StatusCode::BAD_REQUEST))?;
    let accepted = || {
        (
            StatusCode::ACCEPTED,
            Json(json!({ "success": true, "session_id": id.to_string(), "status": "queued" })),
        )
            .into_response()
    };
    if wants_async(&headers) {
        return Ok(accepted());
    }
    let Some(done) = svc::wait_for_run(&state, id, started.attempt, WAIT_LIMIT).await? else {
        return Ok(accepted());
    };
    if done.status == SessionStatus::Failed {
        let reason = done.error.unwrap_or_else(|| "unknown error".into());
        return Err(ApiError::RunFailed(reason).into());
    }
    let result = results::full(&state, &done).await?;
    Ok(Json(json!({
        "success": true,
        "total_rows": done.total_rows,
        "successful": done.counts.successful,
        "failed": done.counts.failed,
        "skipped": done.counts.skipped,
        "processing_log": result.processing_log,
        "processed_data": result.processed_data,
        "processed_columns": result.processed_columns,
    }))
    .into_response())
}

/// Starts a run (or joins the one under way) and streams its events as the original
/// app did: `data: {json}` lines, no ids.
async fn process_stream(
    State(state): State<AppState>,
    Extension(who): Extension<Submitter>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    SeedIdParam(id): SeedIdParam,
    headers: HeaderMap,
) -> Result<Response, SeedError> {
    let id = known(id, StatusCode::BAD_REQUEST)?;
    let slot = acquire_slot(&state, peer.map(|Extension(ConnectInfo(a))| a), &headers)
        .map_err(ApiError::from)?;
    let session = svc::touch(&state, &who, id)
        .await
        .map_err(seed(StatusCode::BAD_REQUEST))?;
    let after = match session.status {
        SessionStatus::Processing => current_run_start(&state, id).await?,
        SessionStatus::Queued => latest_event_id(&state, id).await?,
        _ => {
            let after = latest_event_id(&state, id).await?;
            match svc::process(&state, &who, id, false).await {
                // Another request started it in between: join that run.
                Ok(_) | Err(ApiError::AlreadyProcessing) => after,
                Err(e) => return Err(seed(StatusCode::BAD_REQUEST)(e)),
            }
        }
    };
    let stream = follow(state, id, after, slot)
        .map(|e| Ok::<_, Infallible>(SseEvent::default().data(e.data.to_string())));
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(STREAM_KEEP_ALIVE))
        .into_response())
}

async fn download(
    State(state): State<AppState>,
    Extension(who): Extension<Submitter>,
    SeedIdParam(id): SeedIdParam,
) -> Result<Response, SeedError> {
    let id = known(id, StatusCode::NOT_FOUND)?;
    let (session, size, chunks) = svc::download(&state, &who, id, RowsFilter::All)
        .await
        .map_err(seed(StatusCode::NOT_FOUND))?;
    let mut response = attachment(&session, "", (size, chunks));
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}
