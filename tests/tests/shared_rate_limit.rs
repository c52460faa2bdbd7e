//! Rate limits: one conformance suite over both bucket stores (the process's own and
//! Redis'), then the API: instances on one Redis share each client's limit, an
//! embedded API limits on its own, and an unreachable Redis falls back to each
//! instance's own buckets rather than failing requests.
//!
//! Nothing here depends on timing except through bounds: with a limit of `n` a minute
//! one more request is allowed every `60 s / n`, so a test that took `t` may have seen
//! `t / (60 s / n)` refills, and the assertions allow exactly that many more.

use std::{
    net::Ipv4Addr,
    sync::Arc,
    time::{Duration, Instant},
};

use maplink_api::limits::{Client, Kind, LocalRates, Rate, RedisRates, Taken};
use maplink_tests::{Backend, RedisServer, TestApp, api::assert_rate_limited, eventually};
use reqwest::StatusCode;

/// A bucket store under test, either kind behind one interface.
enum Store {
    Local(LocalRates),
    Redis(RedisRates, Arc<RedisServer>),
}

impl Store {
    fn local() -> Self {
        Self::Local(LocalRates::default())
    }

    async fn redis() -> Self {
        let server = Arc::new(RedisServer::start());
        let conn = redis::Client::open(server.url())
            .unwrap()
            .get_connection_manager()
            .await
            .unwrap();
        Self::Redis(RedisRates::new(conn), server)
    }

    async fn take(&self, client: Client, kind: Kind, rate: Rate) -> Taken {
        match self {
            Self::Local(rates) => rates.take(client, kind, rate),
            Self::Redis(rates, _) => rates.take(client, kind, rate).await.expect("redis"),
        }
    }
}

fn client(n: u8) -> Client {
    Client::V4(Ipv4Addr::new(192, 0, 2, n))
}

/// Refills a test of `elapsed` may have seen at `per_minute`.
fn refills(elapsed: Duration, per_minute: u32) -> u32 {
    (elapsed.as_secs_f64() / (60.0 / f64::from(per_minute))) as u32
}

async fn a_burst_of_the_limit_passes_then_requests_wait_at_most_one_interval(store: Store) {
    let rate = Rate::per_minute(3).unwrap();
    let started = Instant::now();
    let mut allowed = 0;
    let mut waits = Vec::new();
    for _ in 0..6 {
        match store.take(client(1), Kind::Upload, rate).await {
            Taken::Allowed => allowed += 1,
            Taken::Refused { wait } => waits.push(wait),
        }
    }
    let extra = refills(started.elapsed(), 3);
    assert!((3..=3 + extra).contains(&allowed), "{allowed} allowed");
    assert!(!waits.is_empty());
    for wait in &waits {
        assert!(
            *wait > Duration::ZERO && *wait <= rate.interval(),
            "{wait:?}"
        );
    }
    // A refusal takes nothing: the wait only shrinks as time passes.
    assert!(waits.windows(2).all(|w| w[1] <= w[0]), "{waits:?}");
}

async fn kinds_and_clients_have_their_own_buckets(store: Store) {
    let rate = Rate::per_minute(1).unwrap();
    assert_eq!(
        store.take(client(1), Kind::Upload, rate).await,
        Taken::Allowed
    );
    assert_ne!(
        store.take(client(1), Kind::Upload, rate).await,
        Taken::Allowed
    );
    assert_eq!(
        store.take(client(1), Kind::Process, rate).await,
        Taken::Allowed
    );
    assert_eq!(
        store.take(client(2), Kind::Upload, rate).await,
        Taken::Allowed
    );
    let net = |s: &str| Client::from(s.parse::<std::net::IpAddr>().unwrap());
    assert_eq!(
        store.take(net("2001:db8:1:2::1"), Kind::Upload, rate).await,
        Taken::Allowed
    );
    assert_ne!(
        store
            .take(net("2001:db8:1:2::ffff"), Kind::Upload, rate)
            .await,
        Taken::Allowed,
        "one IPv6 /64 is one client"
    );
}

async fn a_spent_bucket_refills_at_the_rate(store: Store) {
    // One request every 50 ms: spend the burst (however long that takes), then one
    // more is allowed again soon after.
    let rate = Rate::per_minute(1200).unwrap();
    let mut spent = false;
    for _ in 0..20_000 {
        if store.take(client(3), Kind::Process, rate).await != Taken::Allowed {
            spent = true;
            break;
        }
    }
    assert!(spent, "the burst never ran out");
    eventually(Duration::from_secs(10), "a refill", || async {
        (store.take(client(3), Kind::Process, rate).await == Taken::Allowed).then_some(())
    })
    .await;
}

macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod local {
            $(#[tokio::test] async fn $name() { super::$name(super::Store::local()).await })*
        }
        mod redis_store {
            $(#[tokio::test] async fn $name() { super::$name(super::Store::redis().await).await })*
        }
    };
}

on_both_stores!(
    a_burst_of_the_limit_passes_then_requests_wait_at_most_one_interval,
    kinds_and_clients_have_their_own_buckets,
    a_spent_bucket_refills_at_the_rate,
);

#[tokio::test]
async fn redis_buckets_are_maplink_keys_that_expire_when_full_again() {
    let Store::Redis(rates, server) = Store::redis().await else {
        unreachable!()
    };
    let rate = Rate::per_minute(3).unwrap();
    assert_eq!(
        rates.take(client(9), Kind::Upload, rate).await.unwrap(),
        Taken::Allowed
    );
    let mut conn = server.conn();
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut conn).unwrap();
    assert_eq!(keys, ["{maplink}:ratelimit:upload:4-192.0.2.9"]);
    // One request taken of 3 a minute: full again 20 s later, and gone then.
    let ttl_ms: i64 = redis::cmd("PTTL").arg(&keys[0]).query(&mut conn).unwrap();
    assert!((1..=20_000).contains(&ttl_ms), "{ttl_ms}");
}

/// A request that counts against the processing limit and costs the API nothing else
/// (the id is refused before any lookup).
async fn process_request(app: &TestApp) -> reqwest::Response {
    app.post("/api/v1/sessions/not-a-session-id/process").await
}

/// Sends `count` limited requests, alternating between `apps`; returns how many were
/// allowed, checking that every refusal is a proper 429.
async fn allowed_of(apps: &[&TestApp], count: usize) -> u32 {
    let mut allowed = 0;
    for i in 0..count {
        let r = process_request(apps[i % apps.len()]).await;
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            assert_rate_limited(r).await;
        } else {
            assert_eq!(
                r.status(),
                StatusCode::BAD_REQUEST,
                "answered past the limit"
            );
            allowed += 1;
        }
    }
    allowed
}

const LIMIT: u32 = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_instances_on_one_redis_share_each_clients_limit() {
    let redis = Arc::new(RedisServer::start());
    let limit = |s: &mut maplink::config::Settings| s.rate_limit_process_per_minute = LIMIT;
    let a = TestApp::spawn_on(Some(redis.clone()), false, limit).await;
    let b = TestApp::spawn_on(Some(redis.clone()), false, limit).await;

    let started = Instant::now();
    let allowed = allowed_of(&[&a, &b], 3 * LIMIT as usize).await;
    let extra = refills(started.elapsed(), LIMIT);
    assert!(
        (LIMIT..=LIMIT + extra).contains(&allowed),
        "{allowed} allowed by two instances with a limit of {LIMIT} (+{extra} refills)"
    );
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn an_embedded_api_limits_on_its_own() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.rate_limit_process_per_minute = LIMIT;
    })
    .await;
    let started = Instant::now();
    let allowed = allowed_of(&[&app], 3 * LIMIT as usize).await;
    let extra = refills(started.elapsed(), LIMIT);
    assert!((LIMIT..=LIMIT + extra).contains(&allowed), "{allowed}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_unreachable_each_instance_limits_on_its_own() {
    let redis = Arc::new(RedisServer::start());
    let app = TestApp::spawn_on(Some(redis.clone()), false, |s| {
        s.rate_limit_process_per_minute = LIMIT;
    })
    .await;
    redis.kill9();

    let started = Instant::now();
    let allowed = allowed_of(&[&app], 3 * LIMIT as usize).await;
    let extra = refills(started.elapsed(), LIMIT);
    assert!((LIMIT..=LIMIT + extra).contains(&allowed), "{allowed}");

    let metrics = app.get("/metrics").await.text().await.unwrap();
    let fallbacks: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("maplink_rate_limit_fallbacks_total "))
        .expect("the fallback counter")
        .trim()
        .parse()
        .unwrap();
    assert!(fallbacks >= f64::from(3 * LIMIT), "{fallbacks}");
    app.stop().await;
}
