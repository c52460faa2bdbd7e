//! The routes' path parameters, read so that a malformed one is an [`ApiError`] like
//! every other answer (axum's own rejection, for a parameter that is not UTF-8 once
//! percent-decoded, would be a plain-text 400).

use axum::{
    extract::{FromRequestParts, Path},
    http::request::Parts,
};
use maplink::domain::SessionId;

use crate::{error::ApiError, service::sessions::parse_id};

/// The raw `{param}` of a route with one parameter; `None` when it is not UTF-8.
async fn raw<S: Send + Sync>(parts: &mut Parts, state: &S) -> Option<String> {
    Path::<String>::from_request_parts(parts, state)
        .await
        .ok()
        .map(|Path(raw)| raw)
}

/// A v1 session route's `{id}`: anything but a session id is 400
/// `invalid_session_id`, before any lookup.
#[derive(Clone, Copy, Debug)]
pub struct SessionIdParam(pub SessionId);

impl<S: Send + Sync> FromRequestParts<S> for SessionIdParam {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let raw = raw(parts, state).await.ok_or(ApiError::InvalidSessionId)?;
        parse_id(&raw).map(Self)
    }
}

/// The original app's `<id>`: it had no id format, so a malformed id is an unknown
/// session there (`None`), answered as the route answers those.
#[derive(Clone, Copy, Debug)]
pub struct SeedIdParam(pub Option<SessionId>);

impl<S: Send + Sync> FromRequestParts<S> for SeedIdParam {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Self, std::convert::Infallible> {
        Ok(Self(raw(parts, state).await.and_then(|r| r.parse().ok())))
    }
}

/// A dead job's `{task_id}`: one that is not UTF-8 names no dead job (404).
#[derive(Clone, Debug)]
pub struct TaskIdParam(pub String);

impl<S: Send + Sync> FromRequestParts<S> for TaskIdParam {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        raw(parts, state)
            .await
            .map(Self)
            .ok_or(ApiError::DeadJobNotFound)
    }
}
