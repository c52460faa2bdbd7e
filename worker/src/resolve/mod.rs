//! The network tier: for links the parser cannot solve, follow short links, scrape the
//! map page, and (with an API key) search Places — safely (allow-listed hosts, no
//! internal addresses, bounded redirects, bodies and time), politely (bounded
//! concurrency per host) and once (results cached for every worker). With
//! `geocode_url` set, it also searches addresses for rows that have no link
//! ([`Geocoder`]).

mod dns;
mod fetch;
mod geocode;
mod places;
mod policy;
mod rate_limit;
mod scrape;
mod stats;

use std::{sync::Arc, time::Duration};

use maplink::{
    cache::{CachedLink, LinkCache},
    config::Settings,
    links::Coordinates,
};
use reqwest::Url;

pub use self::{
    fetch::seconds,
    geocode::{GeocodeFailure, Geocoded, Geocoder, Place},
    policy::Policy,
    stats::Stats,
};
use self::{
    fetch::{Failure, Fetcher, Landing, guarded_client},
    places::{Places, place_query},
};

/// What resolving one link produced.
#[derive(Clone, Debug, PartialEq)]
pub struct Resolution {
    pub result: Result<Found, String>,
    /// Network tries made (0 when answered from the cache).
    pub attempts: u32,
    pub cached: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Found {
    pub coordinates: Coordinates,
    /// How it was found: `redirect`, `scrape:…`, `places`.
    pub method: String,
}

pub struct Resolver {
    fetcher: Fetcher,
    places: Option<Places>,
    cache: Option<Arc<dyn LinkCache>>,
    attempts: u32,
    backoff: Duration,
    ttl_ms: i64,
    negative_ttl_ms: i64,
    geocoder: Option<Geocoder>,
    pub stats: Arc<Stats>,
}

/// The reason prefix for links that were fetched without success.
const DID_NOT_RESOLVE: &str = "Short link did not resolve";

/// Installs the process-wide TLS crypto provider (ring) that HTTP clients need. Any
/// process building a `reqwest::Client` calls this first; calling it again is harmless.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl Resolver {
    pub fn new(settings: &Settings, cache: Option<Arc<dyn LinkCache>>) -> Result<Self, String> {
        install_crypto_provider();
        let timeout = Duration::from_millis(settings.resolve_timeout_ms);
        let mut allowed = settings.resolve_allowed_hosts.clone();
        let places = match &settings.places_api_key {
            Some(key) => {
                let base = Url::parse(&format!(
                    "{}/",
                    settings.places_base_url.trim_end_matches('/')
                ))
                .map_err(|e| format!("places_base_url: {e}"))?;
                // The operator chose this host; it is allowed, addresses are still checked.
                allowed.extend(base.host_str().map(str::to_owned));
                Some(Places {
                    base,
                    key: key.clone(),
                })
            }
            None => None,
        };
        let policy = Policy::new(&allowed, &settings.resolve_private_hosts);
        let client = guarded_client(
            &policy,
            timeout,
            concat!("maplink/", env!("CARGO_PKG_VERSION")),
        )?;
        let stats = Arc::new(Stats::default());
        let geocoder = Geocoder::new(settings, cache.clone(), stats.clone())?;
        Ok(Self {
            fetcher: Fetcher::new(
                client,
                policy,
                settings.resolve_max_redirects,
                settings.resolve_max_body_bytes,
                timeout,
                settings.resolve_per_host,
            ),
            places,
            cache,
            attempts: settings.resolve_attempts.max(1),
            backoff: Duration::from_millis(settings.resolve_backoff_ms),
            ttl_ms: secs_to_ms(settings.link_cache_ttl_secs),
            negative_ttl_ms: secs_to_ms(settings.link_cache_negative_ttl_secs),
            geocoder,
            stats,
        })
    }

    /// The address search, when `geocode_url` is set.
    pub fn geocoder(&self) -> Option<&Geocoder> {
        self.geocoder.as_ref()
    }

    /// Resolves one link. Never fails as a call: problems are the `result`'s reason.
    pub async fn resolve(&self, link: &str) -> Resolution {
        let link = link.trim();
        if let Some(hit) = self.cached(link).await {
            return hit;
        }
        let Some(url) = Url::parse(link)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
        else {
            self.stats.record("none", "not_found");
            return Resolution {
                result: Err(maplink::links::ParseError::NoCoordinates.to_string()),
                attempts: 1,
                cached: false,
            };
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.try_once(&url).await {
                Ok(found) => {
                    self.stats.record(&found.method, "found");
                    self.remember(
                        link,
                        CachedLink::Found {
                            lat: found.coordinates.lat,
                            lng: found.coordinates.lng,
                            method: found.method.clone(),
                        },
                        self.ttl_ms,
                    )
                    .await;
                    return Resolution {
                        result: Ok(found),
                        attempts: attempt,
                        cached: false,
                    };
                }
                Err(Failure::Permanent(reason)) => {
                    self.stats.record("network", "not_found");
                    self.remember(
                        link,
                        CachedLink::NotFound {
                            reason: reason.clone(),
                        },
                        self.negative_ttl_ms,
                    )
                    .await;
                    return Resolution {
                        result: Err(reason),
                        attempts: attempt,
                        cached: false,
                    };
                }
                Err(Failure::Transient(reason)) if attempt >= self.attempts => {
                    // Not cached: the next job may find the host healthy again.
                    self.stats.record("network", "error");
                    return Resolution {
                        result: Err(reason),
                        attempts: attempt,
                        cached: false,
                    };
                }
                Err(Failure::Transient(reason)) => {
                    tracing::debug!(link, attempt, %reason, "transient failure; retrying");
                    tokio::time::sleep(self.backoff * 2u32.saturating_pow(attempt - 1)).await;
                }
            }
        }
    }

    async fn try_once(&self, url: &Url) -> Result<Found, Failure> {
        let prefix = |f: Failure| match f {
            Failure::Transient(r) => Failure::Transient(format!("{DID_NOT_RESOLVE}: {r}")),
            Failure::Permanent(r) => Failure::Permanent(format!("{DID_NOT_RESOLVE}: {r}")),
        };
        let (final_url, body) = match self.fetcher.follow(url).await.map_err(prefix)? {
            Landing::Coordinates(coordinates, method) => {
                return Ok(Found {
                    coordinates,
                    method: method.into(),
                });
            }
            Landing::Page { url, body } => (url, body),
        };
        if let Ok(parsed) = maplink::links::parse(final_url.as_str()) {
            return Ok(Found {
                coordinates: parsed.coordinates,
                method: "redirect".into(),
            });
        }
        if let Some((coordinates, method)) = scrape::find(&body) {
            return Ok(Found {
                coordinates,
                method: method.into(),
            });
        }
        if let Some(places) = &self.places
            && let Some(query) = place_query(&final_url).or_else(|| place_query(url))
        {
            let coordinates = places
                .search(&self.fetcher, &query)
                .await
                .map_err(|f| match f {
                    Failure::Transient(r) => {
                        Failure::Transient(format!("Place search failed: {r}"))
                    }
                    Failure::Permanent(r) => {
                        Failure::Permanent(format!("Place search failed: {r}"))
                    }
                })?;
            return Ok(Found {
                coordinates,
                method: "places".into(),
            });
        }
        Err(Failure::Permanent(
            maplink::links::ParseError::NoCoordinates.to_string(),
        ))
    }

    async fn cached(&self, link: &str) -> Option<Resolution> {
        let cache = self.cache.as_ref()?;
        let hit = match cache.get(link).await {
            Ok(hit) => hit?,
            Err(e) => {
                tracing::warn!(error = %e, "link cache unavailable; resolving without it");
                return None;
            }
        };
        let result = match hit {
            CachedLink::Found { lat, lng, method } => Coordinates::new(lat, lng)
                .map(|coordinates| Found {
                    coordinates,
                    method,
                })
                .map_err(|e| e.to_string()),
            CachedLink::NotFound { reason } => Err(reason),
            // An address search's answer under a key that this link's text spells.
            CachedLink::AddressFound { .. } | CachedLink::AddressNotFound => return None,
        };
        self.stats.cache_hit();
        Some(Resolution {
            result,
            attempts: 0,
            cached: true,
        })
    }

    async fn remember(&self, link: &str, value: CachedLink, ttl_ms: i64) {
        if let Some(cache) = &self.cache
            && let Err(e) = cache.put(link, &value, ttl_ms).await
        {
            tracing::warn!(error = %e, "could not cache a link result");
        }
    }
}

fn secs_to_ms(secs: u64) -> i64 {
    i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX)
}
