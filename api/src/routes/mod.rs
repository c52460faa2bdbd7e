//! The router: one module per route group, each with `fn router() -> Router<AppState>`.

mod compat;
mod dead_jobs;
mod download;
mod health;
mod openapi;
mod ops;
mod sessions;
mod web;

pub use openapi::{document as openapi_document, documented_routes, v1_routes};

use axum::{Router, extract::DefaultBodyLimit, middleware};

use crate::{access, cors, error::ApiError, limits, state::AppState};

pub use download::{attachment, export_attachment};

/// Room for multipart framing around a file of exactly the upload limit, so that the
/// limit applies to the file and the 413 comes from the upload code as JSON.
const MULTIPART_OVERHEAD: u64 = 64 * 1024;

pub fn router(state: AppState) -> Router {
    let body_limit = state
        .settings
        .max_upload_bytes
        .saturating_add(MULTIPART_OVERHEAD);
    Router::new()
        .merge(health::router())
        .merge(compat::router())
        .merge(sessions::router())
        .merge(openapi::router())
        .merge(web::router())
        .merge(ops::router(state.clone()))
        .fallback(|| async { ApiError::RouteNotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        // The last layer added runs first: CORS answers preflights before anything
        // else, and rate limits count every attempt, authorised or not.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            access::require_token,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            limits::rate_limit,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), cors::cors))
        .layer(middleware::from_fn(http_metrics))
        .layer(DefaultBodyLimit::max(
            usize::try_from(body_limit).unwrap_or(usize::MAX),
        ))
        .with_state(state)
}

/// Runs every request in a `request` span (method and matched route), counts it by
/// route template (never the raw path: ids would make unbounded label values), method
/// and status, and times it.
async fn http_metrics(
    req: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    let started = std::time::Instant::now();
    let span = tracing::info_span!("request", method = %method, route = %route);
    let response = tracing::Instrument::instrument(next.run(req), span).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!(maplink::metrics::HTTP_REQUESTS, "route" => route.clone(), "method" => method.clone(), "status" => status)
        .increment(1);
    metrics::histogram!(maplink::metrics::HTTP_DURATION, "route" => route, "method" => method)
        .record(started.elapsed().as_secs_f64());
    response
}
