//! The layers every request passes through besides the routes' own (tokens, rate
//! limits): a request id, a tracing span, HTTP metrics, compression, CORS, and a
//! caught panic answered as JSON. All but the metrics come from tower-http; what it
//! does not cover stays hand-written elsewhere (`docs/decisions/0010-http-edge.md`).
//!
//! Compression (gzip, when the client asks for it) is for JSON and the map exports,
//! which are built in memory. Never compressed:
//! - event streams (`text/event-stream`): a compressor buffers, and an event must reach
//!   the client when it happens;
//! - files streamed from the store ([`KeepLength`]): their `Content-Length` is how a
//!   client tells a transfer cut short by a store failure from a complete one, and a
//!   compressed body has no length to announce; an `.xlsx` is a zip already.

use std::{any::Any, time::Instant};

use axum::{
    Router,
    extract::{MatchedPath, Request},
    http::{HeaderMap, HeaderValue, StatusCode, Version, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use maplink::config::Settings;
use tower::{ServiceBuilder, util::option_layer};
use tower_http::{
    catch_panic::CatchPanicLayer,
    compression::{CompressionLayer, Predicate, predicate::SizeAbove},
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer},
    trace::{DefaultOnResponse, TraceLayer},
};
use tracing::Level;

use crate::error::ApiError;

/// Marks a response whose announced length must reach the client: it is never
/// compressed (see the module doc).
#[derive(Clone, Copy, Debug)]
pub struct KeepLength;

/// The content types worth compressing: JSON (API answers, row pages, the OpenAPI
/// document, the map outlines), the map exports, and CSV (the sheets themselves are
/// streamed from the store, so [`KeepLength`] leaves them as they are).
const COMPRESSIBLE: [&str; 5] = [
    "application/json",
    "application/geo+json",
    "application/vnd.google-earth.kml+xml",
    "application/gpx+xml",
    "text/csv",
];

fn compressible(
    _: StatusCode,
    _: Version,
    headers: &HeaderMap,
    extensions: &axum::http::Extensions,
) -> bool {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    extensions.get::<KeepLength>().is_none()
        && COMPRESSIBLE.iter().any(|c| content_type.starts_with(c))
}

/// `router` inside every layer, the outermost last: a caught panic, the request id and
/// the span (so everything inside is logged under them), compression, metrics (which
/// count preflights too), then CORS, which answers preflights before the routes'
/// own layers see them.
pub fn around(router: Router, settings: &Settings) -> Router {
    router
        .layer(option_layer(crate::cors::layer(
            &settings.cors_allowed_origins,
        )))
        .layer(axum::middleware::from_fn(edge_headers))
        .layer(axum::middleware::from_fn(http_metrics))
        .layer(
            CompressionLayer::new()
                .gzip(true)
                .compress_when(SizeAbove::default().and(compressible)),
        )
        .layer(
            ServiceBuilder::new()
                // `x-request-id`: the caller's, or a new UUID; on the request, in the
                // span, and on the answer.
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(request_span)
                        .on_request(())
                        .on_response(DefaultOnResponse::new().level(Level::DEBUG))
                        // A 5xx is not logged again here: `ApiError` logged its cause.
                        .on_failure(()),
                )
                .layer(PropagateRequestIdLayer::x_request_id()),
        )
        .layer(CatchPanicLayer::custom(panicked))
}

/// Operator data and actions: never opened to other origins by CORS.
fn is_operator_path(path: &str) -> bool {
    path == "/metrics" || path.starts_with("/api/v1/ops/")
}

/// Headers every answer gets or loses on its way out, around the CORS layer:
/// - `X-Content-Type-Options: nosniff`, so that a browser never reads a download (a
///   sheet, a CSV, an export holding a user's cells) as HTML or script;
/// - no CORS header on operator routes, whatever `cors_allowed_origins` says: a
///   preflight for them then fails in the browser, and no other origin reads their
///   answers (their actions also refuse cross-site requests themselves, see
///   `routes/ops.rs`).
async fn edge_headers(req: Request, next: Next) -> Response {
    let operator = is_operator_path(req.uri().path());
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if operator {
        let cors: Vec<_> = headers
            .keys()
            .filter(|name| name.as_str().starts_with("access-control-"))
            .cloned()
            .collect();
        for name in cors {
            headers.remove(name);
        }
    }
    response
}

/// A `request` span per request (method, route template, request id), so everything
/// logged while serving it names them.
fn request_span(req: &Request) -> tracing::Span {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    let id = req
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or_default();
    tracing::info_span!("request", method = %req.method(), route, request_id = id)
}

/// A handler that panicked answers 500 like any internal error (logged once, generic
/// body) instead of dropping the connection.
fn panicked(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("a panic without a message");
    ApiError::Internal(format!("handler panicked: {message}")).into_response()
}

/// Counts every request by route template (never the raw path: ids would make
/// unbounded label values), method and status, and times it.
async fn http_metrics(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!(maplink::metrics::HTTP_REQUESTS, "route" => route.clone(), "method" => method.clone(), "status" => status)
        .increment(1);
    metrics::histogram!(maplink::metrics::HTTP_DURATION, "route" => route, "method" => method)
        .record(started.elapsed().as_secs_f64());
    response
}

#[cfg(test)]
mod tests {
    use axum::{body::Body, routing::get};
    use tower::ServiceExt;

    use super::*;

    async fn buggy() -> StatusCode {
        panic!("a handler bug")
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_500_as_json() {
        let app = around(
            Router::new().route("/boom", get(buggy)),
            &Settings::default(),
        );
        let response = app
            .oneshot(Request::get("/boom").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&body).unwrap(),
            serde_json::json!({ "error": "Internal server error", "code": "internal" })
        );
    }
}
