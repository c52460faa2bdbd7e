//! Per-client rate limits on uploads and processing requests: a token bucket per
//! (client, kind), refilled continuously. Over the limit: 429 with `Retry-After` and a
//! JSON body. Buckets live in the process (each API instance limits on its own).
//!
//! A client is an IPv4 address, or an IPv6 /64 network ([`Client`]): one subscriber
//! line or one cloud host is routinely given a whole /64, so keying on the full IPv6
//! address would hand a single client 2^64 fresh buckets.

use std::{
    collections::HashMap,
    net::{IpAddr, Ipv4Addr, SocketAddr},
    sync::Mutex,
    time::Instant,
};

use axum::{
    extract::{ConnectInfo, Request, State},
    http::Method,
    middleware::Next,
    response::{IntoResponse, Response},
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
/// trusted reverse proxy — the last address it added to `X-Forwarded-For` (the one
/// the proxy itself saw; earlier entries are the client's to invent).
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
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse::<IpAddr>().ok())
        .next_back()
        .unwrap_or(peer)
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

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Buckets kept before idle ones are dropped.
const PRUNE_ABOVE: usize = 10_000;

#[derive(Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<(Client, Kind), Bucket>>,
}

impl RateLimiter {
    /// Takes one token from the bucket of `ip`'s client; `Err(seconds)` to wait when
    /// there is none.
    pub fn take(&self, ip: IpAddr, kind: Kind, per_minute: u32) -> Result<(), u64> {
        let capacity = f64::from(per_minute);
        let per_second = capacity / 60.0;
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > PRUNE_ABOVE {
            buckets.retain(|_, b| {
                b.tokens + now.duration_since(b.at).as_secs_f64() * per_second < capacity
            });
        }
        let b = buckets.entry((Client::from(ip), kind)).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * per_second).min(capacity);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - b.tokens) / per_second).ceil().max(1.0) as u64)
        }
    }
}

pub async fn rate_limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(kind) = classify(req.method(), req.uri().path()) else {
        return next.run(req).await;
    };
    let per_minute = match kind {
        Kind::Upload => state.settings.rate_limit_uploads_per_minute,
        Kind::Process => state.settings.rate_limit_process_per_minute,
    };
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| client_ip(c.0.ip(), req.headers(), &state.settings.trusted_proxies));
    let (Some(ip), true) = (peer, per_minute > 0) else {
        return next.run(req).await;
    };
    match state.limiter.take(ip, kind, per_minute) {
        Ok(()) => next.run(req).await,
        Err(wait_secs) => ApiError::RateLimited { kind, wait_secs }.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_allow_a_burst_then_ask_to_wait() {
        let l = RateLimiter::default();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(l.take(ip, Kind::Upload, 3), Ok(()));
        }
        let wait = l.take(ip, Kind::Upload, 3).unwrap_err();
        assert!((1..=20).contains(&wait), "{wait}");
        assert_eq!(l.take(ip, Kind::Process, 3), Ok(()), "kinds are separate");
        assert_eq!(
            l.take("127.0.0.2".parse().unwrap(), Kind::Upload, 3),
            Ok(()),
            "clients are separate"
        );
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// Spends `ip`'s whole burst of 2, then reports whether `other` still gets one.
    fn other_still_allowed(ip: IpAddr, other: IpAddr) -> bool {
        let l = RateLimiter::default();
        for _ in 0..2 {
            assert_eq!(l.take(ip, Kind::Upload, 2), Ok(()));
        }
        assert!(l.take(ip, Kind::Upload, 2).is_err());
        l.take(other, Kind::Upload, 2).is_ok()
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
