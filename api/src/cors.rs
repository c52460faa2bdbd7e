//! CORS for an allow-list of origins (off when the list is empty): preflights from an
//! allowed origin are answered here; other responses to it carry the allow headers.
//! Requests from other origins get no CORS headers, so browsers keep them out.
//!
//! `*` in the list means any origin and is answered as the literal
//! `Access-Control-Allow-Origin: *`, never by echoing the caller's origin back: with
//! `*`, browsers send no cookies or HTTP authentication of their own and expose no
//! credentialed response, so a foreign page can only call the API with a bearer token
//! its own script already holds. maplink never sends `Access-Control-Allow-Credentials`
//! (it has no cookies to protect), whatever the list says.

use axum::{
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::state::AppState;

/// `origin` is the caller's own origin (from the list) or `*`. `Vary: Origin` either
/// way: whether the headers are there at all depends on the request's `Origin`.
fn allow(headers: &mut HeaderMap, origin: HeaderValue) {
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(header::VARY, HeaderValue::from_static("Origin"));
}

pub async fn cors(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let allowed = &state.settings.cors_allowed_origins;
    let origin = req.headers().get(header::ORIGIN).cloned();
    let any = allowed.iter().any(|a| a == "*");
    let Some(origin) = origin.and_then(|o| {
        if any {
            Some(HeaderValue::from_static("*"))
        } else {
            o.to_str()
                .is_ok_and(|o| allowed.iter().any(|a| a.trim_end_matches('/') == o))
                .then_some(o)
        }
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
