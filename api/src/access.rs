//! Optional submitter tokens. With `submitter_tokens` configured, every session route
//! needs `Authorization: Bearer <token>`, and a session is visible only to the token
//! that created it: to any other it does not exist (404), so ids cannot be probed.
//!
//! `?access_token=` is accepted on the event streams only (`GET
//! /api/v1/sessions/{id}/events` and `GET /process-stream/{id}`): browsers open those
//! with `EventSource`, which cannot set headers. Anywhere else a token in the URL would
//! be an invitation to put it in links, and from there into browser history, proxy
//! logs and `Referer` headers; the web page downloads with a header instead.
//! Tokens are compared by digest ([`maplink::secret`]), so timing reveals nothing.

use axum::{
    extract::{Request, State},
    http::{Method, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use maplink::{domain::Session, secret::Secret};

use crate::{error::ApiError, state::AppState};

/// Who is calling: the fingerprint of their token, or `None` when tokens are off.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Submitter(pub Option<String>);

impl Submitter {
    /// Whether this caller may see `session`.
    pub fn can_see(&self, session: &Session) -> bool {
        match (&self.0, &session.owner) {
            (None, _) => true,
            (Some(me), Some(owner)) => me == owner,
            (Some(_), None) => false,
        }
    }
}

/// A stable, non-reversible tag for a token (FNV-1a, 64 bits): stored on sessions
/// instead of the token itself. The token authenticates; the tag only partitions.
pub fn fingerprint(token: &str) -> String {
    let hash = token.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}")
}

/// Paths outside the submitter tokens: health checks, the web pages and their assets,
/// the API description, and the operators' routes (behind `OpsGate` instead).
fn is_public(path: &str) -> bool {
    matches!(
        path,
        "/" | "/ops" | "/metrics" | "/health" | "/healthz" | "/readyz" | "/api/v1/openapi.json"
    ) || path.starts_with("/assets/")
        || path.starts_with("/api/v1/ops/")
}

/// The routes that take `?access_token=`: the event streams, opened by `EventSource`.
fn is_event_stream(method: &Method, path: &str) -> bool {
    let in_session = |rest: &str| !rest.is_empty() && !rest.contains('/');
    method == Method::GET
        && (path
            .strip_prefix("/process-stream/")
            .is_some_and(in_session)
            || path
                .strip_prefix("/api/v1/sessions/")
                .and_then(|p| p.strip_suffix("/events"))
                .is_some_and(in_session))
}

fn presented_token(req: &Request) -> Option<String> {
    if let Some(v) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        return v.strip_prefix("Bearer ").map(|t| t.trim().to_owned());
    }
    if !is_event_stream(req.method(), req.uri().path()) {
        return None;
    }
    req.uri()
        .query()?
        .split('&')
        .find_map(|pair| pair.strip_prefix("access_token="))
        .map(|t| {
            percent_encoding::percent_decode_str(t)
                .decode_utf8_lossy()
                .into_owned()
        })
}

/// Whether `presented` is one of the configured tokens. Every token is checked, so the
/// time taken does not tell which one matched either.
fn is_known(tokens: &[String], presented: &str) -> bool {
    tokens.iter().fold(false, |found, known| {
        Secret::new(known).matches(presented) | found
    })
}

pub async fn require_token(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let tokens = &state.settings.submitter_tokens;
    if tokens.is_empty() || is_public(req.uri().path()) {
        req.extensions_mut().insert(Submitter(None));
        return next.run(req).await;
    }
    let valid = presented_token(&req).filter(|t| is_known(tokens, t));
    let Some(token) = valid else {
        return ApiError::Unauthorized.into_response();
    };
    req.extensions_mut()
        .insert(Submitter(Some(fingerprint(&token))));
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_stable_and_distinct() {
        assert_eq!(
            fingerprint("token-a-0123456789"),
            fingerprint("token-a-0123456789")
        );
        assert_ne!(
            fingerprint("token-a-0123456789"),
            fingerprint("token-b-0123456789")
        );
        assert_eq!(fingerprint("").len(), 16);
    }

    #[test]
    fn any_configured_token_is_known_and_nothing_else() {
        let tokens = vec![
            "token-alpha-0123456789".to_owned(),
            "token-bravo-0123456789".to_owned(),
        ];
        assert!(is_known(&tokens, "token-alpha-0123456789"));
        assert!(is_known(&tokens, "token-bravo-0123456789"));
        assert!(!is_known(&tokens, "token-alpha-012345678"));
        assert!(!is_known(&tokens, "token-alpha-01234567890"));
        assert!(!is_known(&[], "token-alpha-0123456789"));
    }

    #[test]
    fn only_event_streams_take_a_token_in_the_url() {
        assert!(is_event_stream(&Method::GET, "/api/v1/sessions/abc/events"));
        assert!(is_event_stream(&Method::GET, "/process-stream/abc"));
        for (method, path) in [
            (Method::POST, "/api/v1/sessions/abc/events"),
            (Method::GET, "/api/v1/sessions/abc"),
            (Method::GET, "/api/v1/sessions/abc/download"),
            (Method::GET, "/api/v1/sessions/abc/rows"),
            (Method::GET, "/download/abc"),
            (Method::GET, "/api/v1/sessions/abc/x/events"),
            (Method::GET, "/api/v1/sessions//events"),
            (Method::GET, "/process-stream/"),
        ] {
            assert!(!is_event_stream(&method, path), "{method} {path}");
        }
    }
}
