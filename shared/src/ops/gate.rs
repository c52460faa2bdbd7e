//! Who may read operator data and act on it: one rule for the API's `/metrics` and
//! `/api/v1/ops/*` and every worker's `/metrics`, each answering a refusal its own way
//! (the API through its error type, a worker's listener with the same JSON).

use std::net::IpAddr;

use http::{HeaderMap, header};

use crate::{config::Settings, secret::Secret};

/// Who may read operator data (`/metrics`, the API's and every worker's, and
/// `/api/v1/ops/stats`) and act on the dead list. Operator data names no session's
/// content, but it tells how busy the service is and which hosts run workers, and the
/// dead list's actions start runs; so it is never open to everyone.
///
/// - `ops_token` set: only requests with `Authorization: Bearer <ops_token>` (a header
///   only; a token in the URL ends up in logs and browser history).
/// - neither `ops_token` nor `submitter_tokens`: only clients on this machine — the
///   connection's peer is a loopback address (never a forwarded header, which anyone
///   can write) and the `Host` it asked for is a loopback name, so that a page whose
///   own domain resolves to 127.0.0.1 (DNS rebinding) is not taken for a local client.
///   The embedded default works on a laptop; anywhere else operators set the token.
/// - `submitter_tokens` without `ops_token`: nobody (403). A service that asks its
///   users for tokens is meant to be closed, so operator data defaults to closed too
///   rather than being the one open door; setting `ops_token` opens it to operators.
#[derive(Clone, Debug)]
pub enum OpsGate {
    LoopbackOnly,
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
    /// No ops token is set and the client is not on this machine: 403.
    NotLocal,
}

impl OpsRefusal {
    /// The message for people, the same from the API and a worker.
    pub fn message(self) -> &'static str {
        match self {
            Self::Unauthorized => "Missing or invalid ops token.",
            Self::Closed => {
                "Operator data is closed: this service uses submitter tokens and has no ops token. Set ops_token to read it."
            }
            Self::NotLocal => {
                "Operator data is served only to clients on this machine while no ops_token is set. Set ops_token to read it from elsewhere."
            }
        }
    }
}

impl OpsGate {
    pub fn from_settings(settings: &Settings) -> Self {
        match (&settings.ops_token, settings.submitter_tokens.is_empty()) {
            (Some(token), _) => Self::Token(Secret::new(token)),
            (None, true) => Self::LoopbackOnly,
            (None, false) => Self::Closed,
        }
    }

    /// Whether a request with `headers`, from the connection's `peer` (`None` when it
    /// is not known), may pass.
    pub fn check(&self, headers: &HeaderMap, peer: Option<IpAddr>) -> Result<(), OpsRefusal> {
        match self {
            Self::LoopbackOnly => {
                let local_peer = peer.is_some_and(is_loopback);
                let local_host = headers
                    .get(header::HOST)
                    .map(|h| h.to_str().is_ok_and(is_loopback_host))
                    .unwrap_or(true);
                if local_peer && local_host {
                    Ok(())
                } else {
                    Err(OpsRefusal::NotLocal)
                }
            }
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

/// A loopback address, IPv4-mapped IPv6 included (as a dual-stack socket reports an
/// IPv4 peer).
fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// A `Host` header naming this machine: `localhost` (or a name under it), a loopback
/// IP address, each with or without a port.
fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        // `[::1]:8080`, `[::1]`
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, port)| {
            if port.bytes().all(|b| b.is_ascii_digit()) {
                name
            } else {
                host
            }
        }),
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost"
        || name.ends_with(".localhost")
        || name.parse::<IpAddr>().is_ok_and(is_loopback)
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

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    fn host(h: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, h.parse().unwrap());
        headers
    }

    #[test]
    fn without_any_token_operator_data_is_served_to_this_machine_only() {
        let gate = OpsGate::from_settings(&settings(None, &[]));
        for peer in ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"] {
            assert_eq!(gate.check(&HeaderMap::new(), ip(peer)), Ok(()), "{peer}");
        }
        for peer in [
            "203.0.113.5",
            "10.0.0.1",
            "192.168.1.2",
            "2001:db8::1",
            "::ffff:10.0.0.1",
            "0.0.0.0",
        ] {
            assert_eq!(
                gate.check(&HeaderMap::new(), ip(peer)),
                Err(OpsRefusal::NotLocal),
                "{peer}"
            );
        }
        assert_eq!(
            gate.check(&HeaderMap::new(), None),
            Err(OpsRefusal::NotLocal)
        );
    }

    #[test]
    fn a_forwarded_header_never_makes_a_remote_client_local() {
        let gate = OpsGate::from_settings(&settings(None, &[]));
        let mut headers = host("127.0.0.1:8080");
        headers.insert("x-forwarded-for", "127.0.0.1".parse().unwrap());
        headers.insert("forwarded", "for=127.0.0.1".parse().unwrap());
        assert_eq!(
            gate.check(&headers, ip("203.0.113.5")),
            Err(OpsRefusal::NotLocal)
        );
    }

    #[test]
    fn a_local_client_asking_for_a_foreign_host_is_refused() {
        // A page on rebind.example whose name now resolves to 127.0.0.1.
        let gate = OpsGate::from_settings(&settings(None, &[]));
        for h in [
            "rebind.example",
            "rebind.example:8080",
            "127.0.0.1.nip.example",
            "localhost.example",
        ] {
            assert_eq!(
                gate.check(&host(h), ip("127.0.0.1")),
                Err(OpsRefusal::NotLocal),
                "{h}"
            );
        }
        for h in [
            "localhost",
            "localhost:8080",
            "LOCALHOST.",
            "maplink.localhost:80",
            "127.0.0.1",
            "127.0.0.1:8080",
            "[::1]:8080",
            "[::1]",
        ] {
            assert_eq!(gate.check(&host(h), ip("127.0.0.1")), Ok(()), "{h}");
        }
    }

    #[test]
    fn submitter_tokens_without_an_ops_token_close_operator_data() {
        let gate = OpsGate::from_settings(&settings(None, &["submitter-0123456789"]));
        assert_eq!(
            gate.check(&HeaderMap::new(), ip("127.0.0.1")),
            Err(OpsRefusal::Closed)
        );
        assert_eq!(
            gate.check(&bearer("submitter-0123456789"), ip("127.0.0.1")),
            Err(OpsRefusal::Closed),
            "a submitter token is not an ops token"
        );
    }

    #[test]
    fn an_ops_token_admits_exactly_its_bearer() {
        for submitters in [&[][..], &["submitter-0123456789"][..]] {
            let gate = OpsGate::from_settings(&settings(Some(OPS), submitters));
            assert_eq!(gate.check(&bearer(OPS), ip("203.0.113.5")), Ok(()));
            assert_eq!(
                gate.check(&HeaderMap::new(), ip("127.0.0.1")),
                Err(OpsRefusal::Unauthorized),
                "with a token, being local is not enough"
            );
            assert_eq!(
                gate.check(&bearer("ops-token-012345678"), ip("127.0.0.1")),
                Err(OpsRefusal::Unauthorized)
            );
            let mut basic = HeaderMap::new();
            basic.insert(
                header::AUTHORIZATION,
                format!("Basic {OPS}").parse().unwrap(),
            );
            assert_eq!(
                gate.check(&basic, ip("127.0.0.1")),
                Err(OpsRefusal::Unauthorized)
            );
        }
    }
}
