//! The router: one module per route group, each with `fn router() -> Router<AppState>`.

mod compat;
mod dead_jobs;
mod download;
mod health;
mod openapi;
mod ops;
mod params;
mod sessions;
mod web;

pub use openapi::{document as openapi_document, documented_routes, v1_routes};

use axum::{Router, extract::DefaultBodyLimit, middleware};

use crate::{access, error::ApiError, limits, state::AppState};

pub use download::{attachment, export_attachment};

/// Room for multipart framing around a file of exactly the upload limit, so that the
/// limit applies to the file and the 413 comes from the upload code as JSON.
const MULTIPART_OVERHEAD: u64 = 64 * 1024;

pub fn router(state: AppState) -> Router {
    let body_limit = state
        .settings
        .max_upload_bytes
        .saturating_add(MULTIPART_OVERHEAD);
    let settings = state.settings.clone();
    let routes = Router::new()
        .merge(health::router())
        .merge(compat::router())
        .merge(sessions::router())
        .merge(openapi::router())
        .merge(web::router())
        .merge(ops::router(state.clone()))
        .fallback(|| async { ApiError::RouteNotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        // The last layer added runs first: rate limits count every attempt, authorised
        // or not.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            access::require_token,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            limits::rate_limit,
        ))
        .layer(DefaultBodyLimit::max(
            usize::try_from(body_limit).unwrap_or(usize::MAX),
        ))
        .with_state(state);
    crate::layers::around(routes, &settings)
}
