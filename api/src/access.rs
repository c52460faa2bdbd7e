//! Optional submitter tokens. With `submitter_tokens` configured, every session route
//! needs `Authorization: Bearer <token>` (or `?access_token=` for event streams, which
//! browsers open without headers), and a session is visible only to the token that
//! created it: to any other it does not exist (404), so ids cannot be probed.

use axum::{
    extract::{Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use maplink::domain::Session;
use serde_json::json;

use crate::state::AppState;

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

/// Compares without an early exit, so response timing does not reveal a token prefix.
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Paths outside the submitter tokens: health checks, the web pages and their assets,
/// the API description, and the operators' routes (guarded by the ops token instead).
fn is_public(path: &str) -> bool {
    matches!(
        path,
        "/" | "/ops" | "/metrics" | "/health" | "/healthz" | "/readyz" | "/api/v1/openapi.json"
    ) || path.starts_with("/assets/")
        || path.starts_with("/api/v1/ops/")
}

fn presented_token(req: &Request) -> Option<String> {
    if let Some(v) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        return v.strip_prefix("Bearer ").map(|t| t.trim().to_owned());
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
    let valid = presented_token(&req).filter(|t| {
        tokens
            .iter()
            .any(|known| same(known.as_bytes(), t.as_bytes()))
    });
    let Some(token) = valid else {
        let mut r = (
            StatusCode::UNAUTHORIZED,
            axum::Json(
                json!({ "error": "Missing or invalid access token.", "code": "unauthorized" }),
            ),
        )
            .into_response();
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return r;
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
    fn comparison_is_exact() {
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
        assert!(!same(b"abc", b"abcd"));
    }
}
