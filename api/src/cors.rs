//! CORS for an allow-list of origins (off when the list is empty), by tower-http's
//! [`CorsLayer`]: preflights are answered by the layer; other responses to an allowed
//! origin carry the allow headers. Requests from other origins get no
//! `Access-Control-Allow-Origin`, so browsers keep the answers from them.
//!
//! `*` in the list means any origin and is answered as the literal
//! `Access-Control-Allow-Origin: *`, never by echoing the caller's origin back: with
//! `*`, browsers send no cookies or HTTP authentication of their own and expose no
//! credentialed response, so a foreign page can only call the API with a bearer token
//! its own script already holds. maplink never sends `Access-Control-Allow-Credentials`
//! (it has no cookies to protect), whatever the list says.
//!
//! Every response of a service with a list says `Vary: Origin`: whether the allow
//! headers are there depends on the request's `Origin`, so a cache must not hand one
//! origin's answer to another.

use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, Method, header};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// How long a browser may reuse a preflight's answer.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);

/// The CORS layer for `allowed` (`cors_allowed_origins`); `None` when the list is
/// empty, and then no response carries any CORS header. An entry's trailing `/` is
/// ignored (`https://maps.example.org/` is the origin `https://maps.example.org`).
pub fn layer(allowed: &[String]) -> Option<CorsLayer> {
    if allowed.is_empty() {
        return None;
    }
    let origins = if allowed.iter().any(|a| a == "*") {
        AllowOrigin::any()
    } else {
        // An entry that is not a valid header value could never equal an `Origin`.
        AllowOrigin::list(
            allowed
                .iter()
                .filter_map(|a| HeaderValue::from_str(a.trim_end_matches('/')).ok()),
        )
    };
    Some(
        CorsLayer::new()
            .allow_origin(origins)
            .allow_methods([Method::GET, Method::POST, Method::DELETE, Method::OPTIONS])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                HeaderName::from_static("last-event-id"),
                HeaderName::from_static("prefer"),
            ])
            .expose_headers([header::CONTENT_DISPOSITION, header::RETRY_AFTER])
            .max_age(PREFLIGHT_MAX_AGE)
            .vary([header::ORIGIN]),
    )
}
