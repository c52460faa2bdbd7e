//! The versioned session API under `/api/v1/sessions`.

use axum::{
    Json, Router,
    extract::{
        Multipart, Path, Query, State, multipart::MultipartRejection, rejection::QueryRejection,
    },
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::Serialize;

use crate::{
    error::{ApiError, ApiResult},
    routes::attachment,
    service::{
        sessions::{self as svc, RowsFilter, parse_id},
        upload,
        views::SessionView,
    },
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", post(create))
        .route("/{id}", get(show).delete(delete))
        .route("/{id}/process", post(process))
        .route("/{id}/download", get(download))
        .route("/{id}/renew", post(renew))
}

#[derive(Serialize)]
struct Created {
    #[serde(flatten)]
    session: SessionView,
    preview_columns: Vec<String>,
    preview_data: Vec<serde_json::Map<String, serde_json::Value>>,
}

fn view(state: &AppState, s: &maplink::domain::Session) -> SessionView {
    SessionView::new(s, state.settings.session_ttl_ms())
}

pub(crate) fn multipart_or_415(m: Result<Multipart, MultipartRejection>) -> ApiResult<Multipart> {
    m.map_err(|_| {
        ApiError::UnsupportedMediaType(
            "Expected a multipart/form-data upload with the spreadsheet in a field named \"file\""
                .into(),
        )
    })
}

async fn create(
    State(state): State<AppState>,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<Response> {
    let uploaded = upload::upload(&state, multipart_or_415(multipart)?).await?;
    let body = Created {
        session: view(&state, &uploaded.session),
        preview_columns: uploaded.preview.columns,
        preview_data: uploaded.preview.rows,
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<SessionView>> {
    let session = svc::touch(&state, parse_id(&id)?).await?;
    Ok(Json(view(&state, &session)))
}

async fn process(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    let session = svc::process(&state, parse_id(&id)?).await?;
    Ok((StatusCode::ACCEPTED, Json(view(&state, &session))).into_response())
}

#[derive(serde::Deserialize)]
struct DownloadQuery {
    #[serde(default)]
    rows: RowsFilter,
}

async fn download(
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: Result<Query<DownloadQuery>, QueryRejection>,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let Query(query) = query.map_err(|_| {
        ApiError::bad_request("invalid_rows", "rows must be all, failed or skipped")
    })?;
    let (session, bytes) = svc::download(&state, id, query.rows).await?;
    Ok(attachment(&session, query.rows.suffix(), bytes))
}

async fn renew(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<SessionView>> {
    let session = svc::touch(&state, parse_id(&id)?).await?;
    Ok(Json(view(&state, &session)))
}

async fn delete(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<StatusCode> {
    svc::delete(&state, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
