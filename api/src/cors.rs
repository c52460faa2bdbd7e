//! CORS for an allow-list of origins (off when the list is empty): preflights from an
//! allowed origin are answered here; other responses to it carry the allow headers.
//! Requests from other origins get no CORS headers, so browsers keep them out.

use axum::{
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::state::AppState;

fn allow(headers: &mut HeaderMap, origin: HeaderValue) {
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(header::VARY, HeaderValue::from_static("Origin"));
}

pub async fn cors(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let allowed = &state.settings.cors_allowed_origins;
    let origin = req.headers().get(header::ORIGIN).cloned();
    let Some(origin) = origin.filter(|o| {
        !allowed.is_empty()
            && o.to_str().is_ok_and(|o| {
                allowed
                    .iter()
                    .any(|a| a == "*" || a.trim_end_matches('/') == o)
            })
    }) else {
        return next.run(req).await;
    };
    if req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    {
        let mut r = StatusCode::NO_CONTENT.into_response();
        let h = r.headers_mut();
        allow(h, origin);
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, DELETE, OPTIONS"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("authorization, content-type, last-event-id, prefer"),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        return r;
    }
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    allow(h, origin);
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("content-disposition, retry-after"),
    );
    r
}
