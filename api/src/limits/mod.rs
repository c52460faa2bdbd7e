//! Per-client rate limits on uploads and processing requests. Over the limit: 429
//! `rate_limited` with `Retry-After` ([`ApiError::RateLimited`]).
//!
//! A limit of `n` a minute admits a burst of `n`, then one request every `60 s / n`
//! ([`gcra`]: the generic cell rate algorithm, one stored time per bucket). Where the
//! buckets live decides what "a limit" means with several API instances:
//! - distributed mode: in Redis ([`redis`]), one atomic script per request, so every
//!   instance counts against the same buckets and N instances allow the limit, not N
//!   times it;
//! - embedded mode: in the process ([`gcra::LocalRates`]), the only instance there is;
//! - distributed mode with Redis not answering: in each process again, with a warning
//!   and `maplink_rate_limit_fallbacks_total` (see [`RateLimiter::take`] for why).
//!
//! A client is an IPv4 address, or an IPv6 /64 network ([`Client`]): one subscriber
//! line or one cloud host is routinely given a whole /64, so keying on the full IPv6
//! address would hand a single client 2^64 fresh buckets.

mod gcra;
mod redis;

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    time::Duration,
};

use axum::{
    extract::{ConnectInfo, Request, State},
    http::Method,
    middleware::Next,
    response::{IntoResponse, Response},
};
use maplink::backend::Backend;

pub use self::{
    gcra::{LocalRates, Rate, Taken},
    redis::RedisRates,
};
use crate::{error::ApiError, state::AppState};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Upload,
    Process,
}

/// Which limit a request counts against, if any.
fn classify(method: &Method, path: &str) -> Option<Kind> {
    let post = method == Method::POST;
    match path {
        "/upload" | "/api/v1/sessions" if post => Some(Kind::Upload),
        p if post
            && (p.starts_with("/process/")
                || (p.starts_with("/api/v1/sessions/") && p.ends_with("/process"))) =>
        {
            Some(Kind::Process)
        }
        p if method == Method::GET && p.starts_with("/process-stream/") => Some(Kind::Process),
        _ => None,
    }
}

/// The client a request counts against: the peer address, or — when the peer is a
/// trusted reverse proxy — the last entry of `X-Forwarded-For` (the address the proxy
/// itself saw; earlier entries are the client's to invent). Proxies write that entry as
/// `ip`, `ip:port` or `[ipv6]:port`; one that cannot be read counts as the proxy's own
/// address, never as an earlier, client-written one.
pub fn client_ip(
    peer: IpAddr,
    headers: &axum::http::HeaderMap,
    trusted_proxies: &[String],
) -> IpAddr {
    if !trusted_proxies
        .iter()
        .any(|p| p.parse::<IpAddr>().is_ok_and(|p| p == peer))
    {
        return peer;
    }
    let Some(last_header) = headers.get_all("x-forwarded-for").iter().next_back() else {
        return peer;
    };
    last_header
        .to_str()
        .ok()
        .and_then(|v| v.rsplit(',').next())
        .and_then(|entry| forwarded_ip(entry.trim()))
        .unwrap_or(peer)
}

/// The address of one `X-Forwarded-For` entry: `ip`, `ip:port`, `[ipv6]` or
/// `[ipv6]:port`.
fn forwarded_ip(entry: &str) -> Option<IpAddr> {
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(addr) = entry.parse::<SocketAddr>() {
        return Some(addr.ip());
    }
    entry
        .strip_prefix('[')?
        .strip_suffix(']')?
        .parse::<std::net::Ipv6Addr>()
        .ok()
        .map(IpAddr::V6)
}

/// Whom a bucket belongs to: an IPv4 address (IPv4-mapped IPv6 addresses, as a
/// dual-stack socket reports IPv4 peers, count as that IPv4 address), or the /64
/// network of an IPv6 address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Client {
    V4(Ipv4Addr),
    V6Net64(u64),
}

impl From<IpAddr> for Client {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self::V4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self::V4(v4),
                None => Self::V6Net64((v6.to_bits() >> 64) as u64),
            },
        }
    }
}

/// The rate limiter of one API process: the shared buckets in Redis in distributed
/// mode, the process's own in embedded mode, and those too when Redis does not answer.
#[derive(Default)]
pub struct RateLimiter {
    local: LocalRates,
    shared: Option<RedisRates>,
}

impl RateLimiter {
    /// The limiter for the process's backend: shared through Redis in distributed
    /// mode (on the backend's connection, which fails fast), in the process in embedded
    /// mode, where there is no other instance.
    pub fn for_backend(backend: &Backend) -> Self {
        match backend {
            Backend::Redis { conn, .. } => Self {
                local: LocalRates::default(),
                shared: Some(RedisRates::new(conn.clone())),
            },
            Backend::Sqlite { .. } => Self::default(),
        }
    }

    /// Takes one request from the bucket of `client` for `kind`.
    ///
    /// With Redis unreachable the request is counted in this process instead: the
    /// requests that are limited need Redis themselves and get their own 503, so a
    /// limiter 503 would add nothing, and failing open altogether would drop the limit
    /// just when the service is weakest. Each instance then limits on its own (N
    /// instances allow at most N times the limit) until Redis answers again.
    pub async fn take(&self, client: Client, kind: Kind, rate: Rate) -> Taken {
        if let Some(shared) = &self.shared {
            match shared.take(client, kind, rate).await {
                Ok(taken) => return taken,
                Err(e) => {
                    metrics::counter!(maplink::metrics::RATE_LIMIT_FALLBACKS).increment(1);
                    tracing::warn!(error = %e, "rate limits unavailable in Redis; counting in this process");
                }
            }
        }
        self.local.take(client, kind, rate)
    }
}

/// Takes one request of `kind` from `client`'s bucket; refused past the limit.
async fn take(state: &AppState, client: Client, kind: Kind) -> Result<(), ApiError> {
    let per_minute = match kind {
        Kind::Upload => state.settings.rate_limit_uploads_per_minute,
        Kind::Process => state.settings.rate_limit_process_per_minute,
    };
    let Some(rate) = Rate::per_minute(per_minute) else {
        return Ok(());
    };
    match state.limiter.take(client, kind, rate).await {
        Taken::Allowed => Ok(()),
        Taken::Refused { wait } => Err(ApiError::RateLimited {
            kind,
            wait_secs: retry_after_secs(wait),
        }),
    }
}

/// Takes one processing request from the bucket of the client that sent a request
/// with `headers` over a connection from `peer`: for handlers that start more than one
/// run (the dead list's retries), one per run they start.
pub async fn take_process(
    state: &AppState,
    peer: SocketAddr,
    headers: &axum::http::HeaderMap,
) -> Result<(), ApiError> {
    let ip = client_ip(peer.ip(), headers, &state.settings.trusted_proxies);
    take(state, Client::from(ip), Kind::Process).await
}

/// The rate limits, and for uploads the cap on one client's uploads in flight
/// (`max_uploads_per_client`), whose place is held until the upload is answered.
pub async fn rate_limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(kind) = classify(req.method(), req.uri().path()) else {
        return next.run(req).await;
    };
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| client_ip(c.0.ip(), req.headers(), &state.settings.trusted_proxies));
    let Some(client) = peer.map(Client::from) else {
        return next.run(req).await;
    };
    if let Err(refused) = take(&state, client, kind).await {
        return refused.into_response();
    }
    if kind == Kind::Upload {
        let limit = state.settings.max_uploads_per_client;
        let Some(_slot) = state.uploads_in_flight.enter(client, limit) else {
            return ApiError::TooManyUploads { limit }.into_response();
        };
        return next.run(req).await;
    }
    next.run(req).await
}

/// Whole seconds for `Retry-After`, rounded up: after them one more request passes.
fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// Spends `ip`'s whole burst of 2, then reports whether `other` still gets one.
    fn other_still_allowed(ip: IpAddr, other: IpAddr) -> bool {
        let rates = LocalRates::default();
        let rate = Rate::per_minute(2).unwrap();
        let take = |ip: IpAddr| rates.take(Client::from(ip), Kind::Upload, rate);
        for _ in 0..2 {
            assert_eq!(take(ip), Taken::Allowed);
        }
        assert_ne!(take(ip), Taken::Allowed);
        take(other) == Taken::Allowed
    }

    #[test]
    fn retry_after_is_whole_seconds_rounded_up_and_at_least_one() {
        assert_eq!(retry_after_secs(Duration::from_micros(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(20)), 20);
        assert_eq!(retry_after_secs(Duration::from_millis(20_001)), 21);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
    }

    #[test]
    fn addresses_in_one_ipv6_64_share_a_bucket() {
        assert!(!other_still_allowed(
            ip("2001:db8:1:2::1"),
            ip("2001:db8:1:2:ffff:ffff:ffff:fffe")
        ));
        assert!(!other_still_allowed(
            ip("2001:db8:1:2::1"),
            ip("2001:db8:1:2:8000::")
        ));
    }

    #[test]
    fn other_ipv6_64s_have_their_own_buckets() {
        assert!(other_still_allowed(
            ip("2001:db8:1:2::1"),
            ip("2001:db8:1:3::1")
        ));
        assert!(other_still_allowed(
            ip("2001:db8:1:2::1"),
            ip("2001:db9:1:2::1")
        ));
    }

    #[test]
    fn ipv4_counts_per_address_and_mapped_ipv6_as_that_address() {
        assert!(other_still_allowed(ip("192.0.2.1"), ip("192.0.2.2")));
        assert!(!other_still_allowed(
            ip("192.0.2.1"),
            ip("::ffff:192.0.2.1")
        ));
        assert!(other_still_allowed(
            ip("::ffff:192.0.2.1"),
            ip("::ffff:192.0.2.2")
        ));
        assert_eq!(
            Client::from(ip("::ffff:192.0.2.1")),
            Client::V4("192.0.2.1".parse().unwrap())
        );
    }

    #[test]
    fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
        let mut h = axum::http::HeaderMap::new();
        h.insert("x-forwarded-for", "1.2.3.4, 5.6.7.8".parse().unwrap());
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let trusted = vec!["10.0.0.1".to_owned()];
        assert_eq!(
            client_ip(proxy, &h, &trusted),
            "5.6.7.8".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            client_ip(proxy, &h, &[]),
            proxy,
            "untrusted peers cannot claim another address"
        );
        assert_eq!(
            client_ip(proxy, &axum::http::HeaderMap::new(), &trusted),
            proxy
        );
    }

    #[test]
    fn a_proxys_entry_with_a_port_is_its_own_not_the_clients() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let trusted = vec!["10.0.0.1".to_owned()];
        let seen = |xff: &str| {
            let mut h = axum::http::HeaderMap::new();
            h.insert("x-forwarded-for", xff.parse().unwrap());
            client_ip(proxy, &h, &trusted)
        };
        assert_eq!(seen("7.7.7.1, 203.0.113.5:4711"), ip("203.0.113.5"));
        assert_eq!(seen("7.7.7.1, [2001:db8::5]:4711"), ip("2001:db8::5"));
        assert_eq!(seen("7.7.7.1, [2001:db8::5]"), ip("2001:db8::5"));
        assert_eq!(seen("7.7.7.1,2001:db8::6"), ip("2001:db8::6"));
        // An entry that cannot be read never lets an earlier one through.
        for bad in [
            "7.7.7.1, unknown",
            "7.7.7.1, _hidden",
            "7.7.7.1, ",
            "7.7.7.1, 203.0.113.5:port",
        ] {
            assert_eq!(seen(bad), proxy, "{bad}");
        }
    }

    #[test]
    fn only_the_last_forwarded_header_counts() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let trusted = vec!["10.0.0.1".to_owned()];
        let mut h = axum::http::HeaderMap::new();
        h.append("x-forwarded-for", "7.7.7.1".parse().unwrap());
        h.append("x-forwarded-for", "203.0.113.9".parse().unwrap());
        assert_eq!(client_ip(proxy, &h, &trusted), ip("203.0.113.9"));
    }

    #[test]
    fn requests_are_classified() {
        assert_eq!(classify(&Method::POST, "/upload"), Some(Kind::Upload));
        assert_eq!(
            classify(&Method::POST, "/api/v1/sessions"),
            Some(Kind::Upload)
        );
        assert_eq!(
            classify(&Method::POST, "/api/v1/sessions/x/process"),
            Some(Kind::Process)
        );
        assert_eq!(classify(&Method::POST, "/process/x"), Some(Kind::Process));
        assert_eq!(
            classify(&Method::GET, "/process-stream/x"),
            Some(Kind::Process)
        );
        assert_eq!(classify(&Method::GET, "/api/v1/sessions/x"), None);
        assert_eq!(classify(&Method::POST, "/api/v1/sessions/x/renew"), None);
    }
}
