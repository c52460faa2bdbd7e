//! The versioned session API under `/api/v1/sessions`.

use std::{convert::Infallible, net::SocketAddr};

use axum::{
    Extension, Json, Router,
    extract::{
        ConnectInfo, Multipart, Query, State, multipart::MultipartRejection,
        rejection::QueryRejection,
    },
    http::{HeaderMap, Method, StatusCode},
    response::{
        IntoResponse, Response,
        sse::{Event as SseEvent, KeepAlive, Sse},
    },
    routing::{MethodRouter, delete, get, post},
};
use futures::StreamExt;
use maplink::{domain::RowStatus, export::ExportFormat};
use serde::Serialize;

use crate::{
    access::Submitter,
    error::{ApiError, ApiResult},
    routes::{attachment, export_attachment, params::SessionIdParam},
    service::{
        events::{STREAM_KEEP_ALIVE, acquire_slot, follow},
        exports, results,
        sessions::{self as svc, RowsFilter},
        upload,
        views::SessionView,
    },
    state::AppState,
};

/// Every v1 session route: (method, path, handler). The router is built from this
/// table, and the OpenAPI document is checked against it.
pub fn table() -> Vec<(Method, &'static str, MethodRouter<AppState>)> {
    vec![
        (Method::POST, "/api/v1/sessions", post(create)),
        (Method::GET, "/api/v1/sessions/{id}", get(show)),
        (Method::DELETE, "/api/v1/sessions/{id}", delete(remove)),
        (Method::POST, "/api/v1/sessions/{id}/process", post(process)),
        (Method::GET, "/api/v1/sessions/{id}/download", get(download)),
        // Renewing is reading: any look at a session refreshes it.
        (Method::POST, "/api/v1/sessions/{id}/renew", post(show)),
        (Method::GET, "/api/v1/sessions/{id}/events", get(events)),
        (Method::GET, "/api/v1/sessions/{id}/rows", get(rows)),
    ]
}

pub fn router() -> Router<AppState> {
    table()
        .into_iter()
        .fold(Router::new(), |r, (_, path, handler)| {
            r.route(path, handler)
        })
}

#[derive(Serialize)]
struct Created {
    #[serde(flatten)]
    session: SessionView,
    preview_columns: Vec<String>,
    preview_data: Vec<serde_json::Map<String, serde_json::Value>>,
}

fn view(state: &AppState, s: &maplink::domain::Session) -> SessionView {
    SessionView::new(s, state.settings.sessions().ttl, state.clock.now_ms())
}

pub(crate) fn multipart_or_415(m: Result<Multipart, MultipartRejection>) -> ApiResult<Multipart> {
    m.map_err(|_| ApiError::NotMultipart)
}

async fn create(
    State(state): State<AppState>,
    Extension(who): Extension<Submitter>,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<Response> {
    let uploaded = upload::upload(&state, &who, multipart_or_415(multipart)?).await?;
    let body = Created {
        session: view(&state, &uploaded.session),
        preview_columns: uploaded.preview.columns,
        preview_data: uploaded.preview.rows,
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

async fn show(
    State(state): State<AppState>,
    Extension(who): Extension<Submitter>,
    SessionIdParam(id): SessionIdParam,
) -> ApiResult<Json<SessionView>> {
    let session = svc::touch(&state, &who, id).await?;
    Ok(Json(view(&state, &session)))
}

#[derive(serde::Deserialize)]
struct ProcessQuery {
    /// Add the `Source`, `Precision` and `Check` columns to the output sheet.
    #[serde(default)]
    details: bool,
}

async fn process(
    State(state): State<AppState>,
    Extension(who): Extension<Submitter>,
    SessionIdParam(id): SessionIdParam,
    query: Result<Query<ProcessQuery>, QueryRejection>,
) -> ApiResult<Response> {
    let Query(query) = query.map_err(|_| ApiError::InvalidDetails)?;
    let session = svc::process(&state, &who, id, query.details).await?;
    Ok((StatusCode::ACCEPTED, Json(view(&state, &session))).into_response())
}

#[derive(serde::Deserialize)]
struct DownloadQuery {
    rows: Option<RowsFilter>,
    /// `geojson`, `kml` or `gpx` for the located rows as map data; the sheet when absent.
    format: Option<String>,
}

async fn download(
    State(state): State<AppState>,
    Extension(who): Extension<Submitter>,
    SessionIdParam(id): SessionIdParam,
    query: Result<Query<DownloadQuery>, QueryRejection>,
) -> ApiResult<Response> {
    let Query(query) = query.map_err(|_| ApiError::InvalidRows)?;
    let Some(format) = query.format else {
        let rows = query.rows.unwrap_or_default();
        let (session, size, chunks) = svc::download(&state, &who, id, rows).await?;
        return Ok(attachment(&session, rows.suffix(), (size, chunks)));
    };
    let format = ExportFormat::parse(&format).ok_or(ApiError::InvalidFormat)?;
    // An export holds the located rows; failed and skipped rows have no point to show.
    if query.rows.is_some_and(|r| r != RowsFilter::All) {
        return Err(ApiError::ExportOfRowSubset);
    }
    let (session, bytes, unlocated) = exports::export(&state, &who, id, format).await?;
    Ok(export_attachment(&session, format, bytes, unlocated))
}

async fn remove(
    State(state): State<AppState>,
    Extension(who): Extension<Submitter>,
    SessionIdParam(id): SessionIdParam,
) -> ApiResult<StatusCode> {
    svc::delete(&state, &who, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(serde::Deserialize)]
struct EventsQuery {
    after: Option<String>,
}

/// SSE with `id:` lines; a reconnect resumes after `Last-Event-ID` (or `?after=`).
/// Opening the stream counts as a read of the session; the open stream does not.
async fn events(
    State(state): State<AppState>,
    Extension(who): Extension<Submitter>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    SessionIdParam(id): SessionIdParam,
    headers: HeaderMap,
    query: Result<Query<EventsQuery>, QueryRejection>,
) -> ApiResult<Response> {
    let slot = acquire_slot(&state, peer.map(|Extension(ConnectInfo(a))| a), &headers)?;
    svc::touch(&state, &who, id).await?;
    let after = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| query.ok().and_then(|Query(q)| q.after));
    let stream = follow(state, id, after, slot)
        .map(|e| Ok::<_, Infallible>(SseEvent::default().id(e.id).data(e.data.to_string())));
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(STREAM_KEEP_ALIVE))
        .into_response())
}

#[derive(serde::Deserialize)]
struct RowsQuery {
    status: Option<RowStatus>,
    #[serde(default)]
    offset: usize,
    limit: Option<usize>,
}

/// Most rows one page holds.
const MAX_PAGE: usize = 1000;

/// The per-row log, filtered by status and paged.
async fn rows(
    State(state): State<AppState>,
    Extension(who): Extension<Submitter>,
    SessionIdParam(id): SessionIdParam,
    query: Result<Query<RowsQuery>, QueryRejection>,
) -> ApiResult<Json<serde_json::Value>> {
    let Query(q) = query.map_err(|_| ApiError::InvalidRowsQuery)?;
    let limit = q.limit.unwrap_or(100).clamp(1, MAX_PAGE);
    let session = svc::touch(&state, &who, id).await?;
    let (total, page) = results::page(&state, &session, q.status, q.offset, limit).await?;
    Ok(Json(
        serde_json::json!({ "total": total, "offset": q.offset, "limit": limit, "rows": page }),
    ))
}
