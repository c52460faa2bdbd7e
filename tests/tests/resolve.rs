//! The network tier against real HTTP servers on 127.0.0.1 (and 127.0.0.2).

use std::{
    io::Write,
    net::Ipv6Addr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use maplink::{
    cache::{LinkCache, RedisLinkCache, SqliteLinkCache},
    config::Settings,
    session::open_pool,
};
use maplink_tests::{
    RedisServer,
    link_server::{Breakage, BrokenServer, LinkServer, PLACES_KEY},
};
use maplink_worker::resolve::{Resolution, Resolver};
use reqwest::Url;

fn settings(server: &LinkServer) -> Settings {
    Settings {
        resolve_allowed_hosts: vec!["127.0.0.1".into(), "127.0.0.2".into(), "localhost".into()],
        // Only the main test server may be reached on loopback; 127.0.0.2 and
        // "localhost" stand in for internal services.
        resolve_private_hosts: vec!["127.0.0.1".into()],
        resolve_timeout_ms: 500,
        resolve_backoff_ms: 20,
        resolve_max_body_bytes: 1024 * 1024,
        places_base_url: server.url(""),
        ..Settings::default()
    }
}

fn resolver(server: &LinkServer) -> Resolver {
    Resolver::new(&settings(server), None).unwrap()
}

/// A resolver that may search Places (the link server's stand-in) with the right key.
fn resolver_with_places_key(server: &LinkServer) -> Resolver {
    let with_key = Settings {
        places_api_key: Some(PLACES_KEY.into()),
        ..settings(server)
    };
    Resolver::new(&with_key, None).unwrap()
}

fn found(r: &Resolution) -> (f64, f64, &str) {
    let f = r
        .result
        .as_ref()
        .unwrap_or_else(|e| panic!("not found: {e}"));
    (f.coordinates.lat, f.coordinates.lng, f.method.as_str())
}

fn reason(r: &Resolution) -> &str {
    r.result
        .as_ref()
        .err()
        .map(|reason| reason.text.as_str())
        .unwrap_or_else(|| panic!("unexpectedly found: {r:?}"))
}

/// The failure's stable code.
fn code(r: &Resolution) -> &'static str {
    r.result
        .as_ref()
        .err()
        .map(|reason| reason.code)
        .unwrap_or_else(|| panic!("unexpectedly found: {r:?}"))
}

/// How the point was found: source, precision, approximate.
fn provenance(r: &Resolution) -> (&str, Option<f64>, bool) {
    let f = r
        .result
        .as_ref()
        .unwrap_or_else(|e| panic!("not found: {e}"));
    (f.source.as_str(), f.precision_m, f.approximate)
}

#[tokio::test]
async fn redirects_are_followed_to_coordinates() {
    let server = LinkServer::start().await;
    let r = resolver(&server);
    let res = r.resolve(&server.url("/chain/5")).await;
    assert_eq!(found(&res), (-33.9249, 18.4241, "redirect"));
    assert_eq!(res.attempts, 1);
    assert_eq!(
        provenance(&res),
        ("short link → map centre", None, true),
        "the link it led to has only an @ viewport centre"
    );
    assert_eq!(
        found(&r.resolve(&server.url("/to-coords")).await).2,
        "redirect"
    );
}

#[tokio::test]
async fn map_pages_are_scraped() {
    let server = LinkServer::start().await;
    let r = resolver(&server);
    assert_eq!(
        found(&r.resolve(&server.url("/to-page")).await),
        (-26.2041, 28.0473, "scrape:center")
    );
    assert_eq!(
        provenance(&r.resolve(&server.url("/to-page")).await),
        ("map page", None, true),
        "a page's map centre is approximate"
    );
    let og = r.resolve(&server.url("/page-og")).await;
    assert_eq!(found(&og), (-29.8587, 31.0218, "scrape:og"));
    assert_eq!(provenance(&og), ("map page", None, false));
    let none = r.resolve(&server.url("/page-none")).await;
    assert_eq!(
        reason(&none),
        "Could not extract coordinates from URL: the link and the page it leads to carry no \
         coordinates and name no place"
    );
    assert_eq!(code(&none), "page_without_coordinates");
    assert_eq!(none.attempts, 1, "no coordinates is not worth a retry");
}

#[tokio::test]
async fn loops_and_long_chains_end_with_a_reason() {
    let server = LinkServer::start().await;
    let r = resolver(&server);
    let looped = r.resolve(&server.url("/loop-a")).await;
    assert_eq!(reason(&looped), "Short link did not resolve: redirect loop");
    assert_eq!(code(&looped), "redirect_loop");
    assert_eq!(looped.attempts, 1);
    let long = r.resolve(&server.url("/chain/25")).await;
    assert_eq!(
        reason(&long),
        "Short link did not resolve: more than 10 redirects"
    );
    assert_eq!(code(&long), "too_many_redirects");
}

#[tokio::test]
async fn slow_links_time_out_and_are_retried() {
    let server = LinkServer::start().await;
    let r = resolver(&server);
    let started = Instant::now();
    let res = r.resolve(&server.url("/slow")).await;
    assert_eq!(
        reason(&res),
        "Short link did not resolve: timeout after 0.5 s"
    );
    assert_eq!(code(&res), "timeout");
    assert_eq!(res.attempts, 3);
    assert_eq!(server.hits("/slow"), 3);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "the timeout bounds the wait: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn server_errors_are_retried_and_client_errors_are_not() {
    let server = LinkServer::start().await;
    let r = resolver(&server);
    let res = r.resolve(&server.url("/fail")).await;
    assert_eq!(reason(&res), "Short link did not resolve: HTTP 503");
    assert_eq!(code(&res), "http_error");
    assert_eq!((res.attempts, server.hits("/fail")), (3, 3));

    let flaky = r.resolve(&server.url("/flaky")).await;
    assert_eq!(found(&flaky).2, "redirect");
    assert_eq!(flaky.attempts, 3, "succeeded on the third try");

    let gone = r.resolve(&server.url("/gone")).await;
    assert_eq!(reason(&gone), "Short link did not resolve: HTTP 404");
    assert_eq!((gone.attempts, server.hits("/gone")), (1, 1));
}

#[tokio::test]
async fn huge_bodies_are_not_read() {
    let server = LinkServer::start().await;
    let res = resolver(&server).resolve(&server.url("/huge")).await;
    assert_eq!(
        reason(&res),
        "Short link did not resolve: response larger than 1048576 bytes"
    );
    assert_eq!(code(&res), "response_too_large");
}

#[tokio::test]
async fn internal_addresses_are_refused_on_every_hop() {
    let server = LinkServer::start().await;
    let r = resolver(&server);
    let res = r.resolve(&server.url("/to-internal")).await;
    assert_eq!(
        reason(&res),
        format!(
            "Short link did not resolve: refused to connect to internal address {}",
            server.other_addr.ip()
        )
    );
    assert_eq!(code(&res), "internal_address");
    let res = r.resolve(&server.url("/to-localhost")).await;
    assert_eq!(
        reason(&res),
        "Short link did not resolve: refused: localhost resolves only to internal addresses"
    );
    assert_eq!(code(&res), "internal_address");
    assert_eq!(
        server.hits("/page-center"),
        0,
        "no internal page was fetched"
    );

    // With no private hosts allowed at all, the test server itself is off limits.
    let strict = Resolver::new(
        &Settings {
            resolve_private_hosts: vec![],
            ..settings(&server)
        },
        None,
    )
    .unwrap();
    let res = strict.resolve(&server.url("/fail")).await;
    assert_eq!(
        reason(&res),
        "Short link did not resolve: refused to connect to internal address 127.0.0.1"
    );
    assert_eq!(server.hits("/fail"), 0);
}

#[tokio::test]
async fn hosts_off_the_allow_list_are_never_fetched() {
    let server = LinkServer::start().await;
    let r = resolver(&server);
    let res = r.resolve("https://goo.gl/maps/abc123").await;
    assert_eq!(
        reason(&res),
        "Short link did not resolve: host goo.gl is not on the allow-list"
    );
    assert_eq!(code(&res), "host_not_allowed");
    assert_eq!(res.attempts, 1);
    let text = r.resolve("not a valid url").await;
    assert_eq!(
        reason(&text),
        "no coordinates, plus code or map link found in the cell"
    );
    assert_eq!(code(&text), "no_coordinates");
}

#[tokio::test]
async fn places_named_by_id_without_a_places_key_say_what_is_missing_and_are_not_fetched() {
    let server = LinkServer::start().await;
    let r = resolver(&server);
    // /slow counts its hits (and would time out): a fetch would show.
    for link in [
        server.url("/slow?cid=14887290543960349143"),
        server.url("/slow/data=!4m2!3m1!1s0x1ec6d0f1b1b1b1b1:0x2725ca255462e772"),
        server.url("/slow?q=place_id:ChIJN1t_tDeuEmsRUsoyG83frY4"),
    ] {
        let res = r.resolve(&link).await;
        assert_eq!(
            reason(&res),
            "needs a Places API key: the link names a place but carries no coordinates",
            "{link}"
        );
        assert_eq!(code(&res), "place_without_coordinates", "{link}");
        assert_eq!(res.attempts, 1, "{link}");
    }
    let short = r.resolve("CVX5C+2V Johannesburg").await;
    assert_eq!(code(&short), "short_plus_code");
    assert!(
        reason(&short).starts_with("needs a Places API key: the short plus code CVX5C+2V"),
        "{}",
        reason(&short)
    );
    assert_eq!(server.hits("/slow"), 0, "nothing was fetched");
}

#[tokio::test]
async fn with_a_places_key_a_place_id_link_is_looked_up_without_fetching_the_page() {
    let server = LinkServer::start().await;
    let r = resolver_with_places_key(&server);
    let res = r
        .resolve(&server.url("/slow?q=place_id:ChIJN1t_tDeuEmsRUsoyG83frY4"))
        .await;
    let found = res.result.as_ref().expect("found");
    assert_eq!(
        (found.coordinates.lat, found.coordinates.lng),
        (-33.866489, 151.1958561)
    );
    assert_eq!(found.source, "Places");
    let missing = r
        .resolve(&server.url("/slow?q=place_id:ChIJunknownunknown"))
        .await;
    assert_eq!(code(&missing), "place_not_found");
    assert_eq!(
        reason(&missing),
        "Place lookup failed: no place found for place_id ChIJunknownunknown"
    );
    assert_eq!(server.hits("/places"), 2);
    assert_eq!(server.hits("/slow"), 0, "the page was not fetched");
}

#[tokio::test]
async fn with_a_places_key_a_cid_link_is_found_through_the_place_its_page_names() {
    let server = LinkServer::start().await;
    let r = resolver_with_places_key(&server);
    // A cid= share link lands on the place's page, which names it.
    let link = server.url("/redirect?cid=14887290543960349143&to=/maps/place/Polokwane+Mall");
    let res = r.resolve(&link).await;
    let found = res.result.as_ref().expect("found");
    assert_eq!(
        (found.coordinates.lat, found.coordinates.lng),
        (-23.8772, 29.4848)
    );
    assert_eq!(found.source, "Places");
    assert_eq!(server.hits("/places"), 1);
}

#[tokio::test]
async fn with_a_places_key_a_short_plus_code_is_searched_as_written() {
    let server = LinkServer::start().await;
    let r = resolver_with_places_key(&server);
    let res = r.resolve("CVX5C+2V Johannesburg").await;
    assert_eq!(
        reason(&res),
        "Place search failed: no place found for \"CVX5C+2V Johannesburg\""
    );
    assert_eq!(code(&res), "place_not_found");
    assert_eq!(server.hits("/places"), 1);
}

#[tokio::test]
async fn place_names_are_searched_when_a_key_is_configured() {
    let server = LinkServer::start().await;
    let link = server.url("/maps/place/Polokwane+Mall");
    let without = resolver(&server).resolve(&link).await;
    assert_eq!(
        reason(&without),
        "needs a Places API key: the link names a place (\"Polokwane Mall\") but carries no \
         coordinates"
    );
    assert_eq!(code(&without), "places_not_configured");
    assert_eq!(server.hits("/places"), 0);

    let with_key = resolver_with_places_key(&server);
    let hit = with_key.resolve(&link).await;
    assert_eq!(found(&hit), (-23.8772, 29.4848, "places"));
    assert_eq!(provenance(&hit), ("Places", None, false));
    let nowhere = with_key
        .resolve(&server.url("/maps/place/Nowhere+Land"))
        .await;
    assert_eq!(
        reason(&nowhere),
        "Place search failed: no place found for \"Nowhere Land\""
    );
    assert_eq!(code(&nowhere), "place_not_found");

    let bad_key = Resolver::new(
        &Settings {
            places_api_key: Some("wrong".into()),
            ..settings(&server)
        },
        None,
    )
    .unwrap();
    let denied = bad_key.resolve(&link).await;
    assert_eq!(
        reason(&denied),
        "Place search failed: place search: REQUEST_DENIED (The provided API key is invalid.)"
    );
    assert_eq!(code(&denied), "place_search_failed");
}

#[tokio::test]
async fn redirects_to_ipv6_forms_of_internal_addresses_are_refused() {
    let server = LinkServer::start().await;
    // Every host is allowed, so only the address policy stands between a link and
    // these targets; each embeds 127.0.0.1 or points at a non-public range.
    let r = Resolver::new(
        &Settings {
            resolve_allowed_hosts: vec!["*".into()],
            ..settings(&server)
        },
        None,
    )
    .unwrap();
    for ip in [
        "64:ff9b::7f00:1",   // NAT64
        "64:ff9b:1::7f00:1", // local-use NAT64
        "::ffff:7f00:1",     // IPv4-mapped
        "::ffff:0:7f00:1",   // IPv4-translated
        "::7f00:1",          // IPv4-compatible
        "2002:7f00:1::1",    // 6to4
        "2001:0:7f00:1::1",  // Teredo
        "fec0::1",           // site-local
        "100::1",            // discard-only
    ] {
        let target = format!("http://[{ip}]:{}/page-center", server.addr.port());
        let link = Url::parse_with_params(&server.url("/redirect"), [("to", &target)]).unwrap();
        let res = r.resolve(link.as_str()).await;
        let shown: Ipv6Addr = ip.parse().unwrap();
        assert_eq!(
            reason(&res),
            format!("Short link did not resolve: refused to connect to internal address {shown}"),
            "{target}"
        );
        assert_eq!(res.attempts, 1, "a refusal is not worth a retry");
    }
    assert_eq!(server.hits("/page-center"), 0);
}

/// A key that must never be seen anywhere but in the request to the Places service.
const SECRET_KEY: &str = "AIzaSy-secret-places-key";

fn with_secret_key(server: &LinkServer, places_base_url: String) -> Resolver {
    Resolver::new(
        &Settings {
            places_api_key: Some(SECRET_KEY.into()),
            places_base_url,
            ..settings(server)
        },
        None,
    )
    .unwrap()
}

/// Everything logged on this thread while it is alive, at every level.
struct CapturedLogs {
    text: Arc<Mutex<Vec<u8>>>,
    _guard: tracing::subscriber::DefaultGuard,
}

struct LogSink(Arc<Mutex<Vec<u8>>>);

impl Write for LogSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl CapturedLogs {
    /// Tokio tests run on one thread, so a thread-local subscriber sees the resolver's
    /// events, the spawned connection tasks' included.
    fn start() -> Self {
        let text = Arc::new(Mutex::new(Vec::new()));
        let sink = text.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || LogSink(sink.clone()))
            .finish();
        Self {
            text,
            _guard: tracing::subscriber::set_default(subscriber),
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.text.lock().unwrap()).into_owned()
    }
}

#[tokio::test]
async fn the_places_key_never_reaches_a_reason_or_a_log_line() {
    let server = LinkServer::start().await;
    let hangup = BrokenServer::start(Breakage::Hangup).await;
    let truncated = BrokenServer::start(Breakage::TruncatedBody).await;
    let silent = BrokenServer::start(Breakage::Silent).await;
    let logs = CapturedLogs::start();
    let link = server.url("/maps/place/Polokwane+Mall");
    for (places, want) in [
        (
            hangup.url(""),
            "Place search failed: request failed (error sending request",
        ),
        (
            truncated.url(""),
            "Place search failed: request failed (error decoding response body",
        ),
        (silent.url(""), "Place search failed: timeout after 0.5 s"),
        (
            BrokenServer::closed_port_url().await,
            "Place search failed: could not connect",
        ),
        (server.url("/places-down"), "Place search failed: HTTP 503"),
        (
            server.url("/places-echo"),
            "Place search failed: place search: REQUEST_DENIED \
             (The provided API key [redacted] is invalid.)",
        ),
    ] {
        let res = with_secret_key(&server, places).resolve(&link).await;
        assert_eq!(code(&res), "place_search_failed", "{want}");
        let reason = reason(&res);
        assert!(reason.starts_with(want), "{want:?}: {reason}");
        assert!(!reason.contains(SECRET_KEY), "the key leaked: {reason}");
        // Nor the request URL: it names the operator's Places endpoint and, scrubbed
        // or not, says where the key goes.
        assert!(!reason.contains("://"), "a URL leaked: {reason}");
    }
    let logged = logs.text();
    assert!(
        logged.contains("transient failure; retrying"),
        "the failures were logged: {logged}"
    );
    assert!(!logged.contains(SECRET_KEY), "the key leaked: {logged}");
}

async fn results_are_cached(cache: Arc<dyn LinkCache>) {
    let server = LinkServer::start().await;
    let r = Resolver::new(&settings(&server), Some(cache.clone())).unwrap();
    let first = r.resolve(&server.url("/flaky")).await;
    assert!(first.result.is_ok() && !first.cached);
    let second = r.resolve(&format!("  {}  ", server.url("/flaky"))).await;
    assert_eq!((second.cached, second.attempts), (true, 0));
    assert_eq!(second.result, first.result);
    assert_eq!(server.hits("/flaky"), 3, "no new request");

    // Another worker sharing the cache gets the answer too.
    let other = Resolver::new(&settings(&server), Some(cache.clone())).unwrap();
    assert!(other.resolve(&server.url("/flaky")).await.cached);

    // Dead links are cached; transient failures are not.
    r.resolve(&server.url("/gone")).await;
    let again = r.resolve(&server.url("/gone")).await;
    assert_eq!(
        (again.cached, reason(&again), code(&again)),
        (true, "Short link did not resolve: HTTP 404", "http_error")
    );
    assert_eq!(server.hits("/gone"), 1);
    r.resolve(&server.url("/fail")).await;
    assert!(!r.resolve(&server.url("/fail")).await.cached);
    assert_eq!(server.hits("/fail"), 6);
    assert_eq!(r.stats.cache_hits(), 2);
}

#[tokio::test]
async fn results_are_cached_in_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let pool = open_pool(&dir.path().join("c.db")).await.unwrap();
    results_are_cached(Arc::new(SqliteLinkCache::open(pool).await.unwrap())).await;
}

#[tokio::test]
async fn results_are_cached_in_redis() {
    let redis = RedisServer::start();
    results_are_cached(Arc::new(RedisLinkCache::new(redis.async_conn().await))).await;
}
