//! Who may read operator data: one rule for the API's `/metrics` and
//! `/api/v1/ops/stats` and every worker's `/metrics`, each answering a refusal its own
//! way (the API through its error type, a worker's listener with the same JSON).

use http::{HeaderMap, header};

use crate::{config::Settings, secret::Secret};

/// Who may read operator data: `/metrics` (the API's and every worker's) and
/// `/api/v1/ops/stats`. Operator data names no session's content, but it tells how busy
/// the service is, how many sessions each state holds and which hosts run workers.
///
/// - `ops_token` set: only requests with `Authorization: Bearer <ops_token>` (a header
///   only; a token in the URL ends up in logs and browser history).
/// - neither `ops_token` nor `submitter_tokens`: everyone who can reach the port. A
///   service open to any submitter has nothing to keep from them; bind the worker
///   listener to a private address.
/// - `submitter_tokens` without `ops_token`: nobody (403). A service that asks its
///   users for tokens is meant to be closed, so operator data defaults to closed too
///   rather than being the one open door; setting `ops_token` opens it to operators.
#[derive(Clone, Debug)]
pub enum OpsGate {
    Open,
    Token(Secret),
    Closed,
}

/// Why the gate turned a request away; answered as JSON like every error of the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpsRefusal {
    /// No ops token, or a wrong one: 401 with `WWW-Authenticate: Bearer`.
    Unauthorized,
    /// Operator data is closed on this service: 403.
    Closed,
}

impl OpsGate {
    pub fn from_settings(settings: &Settings) -> Self {
        match (&settings.ops_token, settings.submitter_tokens.is_empty()) {
            (Some(token), _) => Self::Token(Secret::new(token)),
            (None, true) => Self::Open,
            (None, false) => Self::Closed,
        }
    }

    pub fn check(&self, headers: &HeaderMap) -> Result<(), OpsRefusal> {
        match self {
            Self::Open => Ok(()),
            Self::Closed => Err(OpsRefusal::Closed),
            Self::Token(secret) => {
                let presented = headers
                    .get(header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Bearer "));
                match presented {
                    Some(t) if secret.matches(t.trim()) => Ok(()),
                    _ => Err(OpsRefusal::Unauthorized),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPS: &str = "ops-token-0123456789";

    fn settings(ops: Option<&str>, submitters: &[&str]) -> Settings {
        Settings {
            ops_token: ops.map(str::to_owned),
            submitter_tokens: submitters.iter().map(|t| (*t).to_owned()).collect(),
            ..Settings::default()
        }
    }

    fn bearer(token: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            format!("Bearer {token}").parse().unwrap(),
        );
        h
    }

    #[test]
    fn without_any_token_operator_data_is_open() {
        let gate = OpsGate::from_settings(&settings(None, &[]));
        assert_eq!(gate.check(&HeaderMap::new()), Ok(()));
    }

    #[test]
    fn submitter_tokens_without_an_ops_token_close_operator_data() {
        let gate = OpsGate::from_settings(&settings(None, &["submitter-0123456789"]));
        assert_eq!(gate.check(&HeaderMap::new()), Err(OpsRefusal::Closed));
        assert_eq!(
            gate.check(&bearer("submitter-0123456789")),
            Err(OpsRefusal::Closed),
            "a submitter token is not an ops token"
        );
    }

    #[test]
    fn an_ops_token_admits_exactly_its_bearer() {
        for submitters in [&[][..], &["submitter-0123456789"][..]] {
            let gate = OpsGate::from_settings(&settings(Some(OPS), submitters));
            assert_eq!(gate.check(&bearer(OPS)), Ok(()));
            assert_eq!(gate.check(&HeaderMap::new()), Err(OpsRefusal::Unauthorized));
            assert_eq!(
                gate.check(&bearer("ops-token-012345678")),
                Err(OpsRefusal::Unauthorized)
            );
            let mut basic = HeaderMap::new();
            basic.insert(
                header::AUTHORIZATION,
                format!("Basic {OPS}").parse().unwrap(),
            );
            assert_eq!(gate.check(&basic), Err(OpsRefusal::Unauthorized));
        }
    }
}
