//! The network tier: for links the parser cannot solve, follow short links, scrape the
//! map page, and (with an API key) search Places — safely (allow-listed hosts, no
//! internal addresses, bounded redirects, bodies and time), politely (bounded
//! concurrency per host) and once (results cached for every worker). With
//! `geocode_url` set, it also searches addresses for rows that have no link
//! ([`Geocoder`]).
//!
//! Every answer says how the point was found ([`Found::source`]), every failure what
//! was tried and what is missing, under a stable code ([`Reason`]). What the parser
//! said about a link decides what is worth trying: a place named only by id, or a
//! short plus code, needs the Places tier, so without a Places key such a link fails
//! at once with what is missing instead of being fetched in vain; a cell that is not a
//! link at all is not fetched either.

mod dns;
mod fetch;
mod geocode;
mod places;
mod policy;
mod rate_limit;
mod reason;
mod scrape;
mod stats;

use std::{sync::Arc, time::Duration};

use maplink::{
    cache::{CachedLink, LinkCache},
    config::Settings,
    domain::{provenance, reason_code as code},
    links::{self, Coordinates, ParseError, Parsed},
};
use reqwest::Url;

pub use self::{
    fetch::seconds,
    geocode::{GeocodeFailure, Geocoded, Geocoder, Place},
    policy::Policy,
    reason::Reason,
    stats::Stats,
};
use self::{
    fetch::{Failure, Fetcher, Landing, guarded_client},
    places::{Places, place_query},
};

/// What resolving one link produced.
#[derive(Clone, Debug, PartialEq)]
pub struct Resolution {
    pub result: Result<Found, Reason>,
    /// Network tries made (0 when answered from the cache; 1 when the link was
    /// refused without a request).
    pub attempts: u32,
    pub cached: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Found {
    pub coordinates: Coordinates,
    /// How it was found, for the ops counts: `redirect`, `scrape:…`, `places`.
    pub method: String,
    /// How it was found, for people: `short link → place pin`, `map page`, `Places`
    /// ([`provenance`]).
    pub source: String,
    /// Metres, where the form found implies a precision.
    pub precision_m: Option<f64>,
    /// The point is a map's viewport centre.
    pub approximate: bool,
}

impl Found {
    /// A point a short link led to, with the source of the link it led to.
    fn redirect(parsed: Parsed) -> Self {
        Self {
            coordinates: parsed.coordinates,
            method: "redirect".into(),
            source: provenance::short_link(parsed.pattern.source()),
            precision_m: parsed.precision_m,
            approximate: parsed.pattern.is_approximate(),
        }
    }

    fn places(coordinates: Coordinates) -> Self {
        Self {
            coordinates,
            method: "places".into(),
            source: provenance::PLACES.into(),
            precision_m: None,
            approximate: false,
        }
    }
}

/// What one try asks of the network.
enum Lookup {
    /// Follow a link to coordinates, a page, or a place name to search for.
    Link(Url),
    /// Search Places for a text (a short plus code with its locality).
    PlaceText(String),
    /// Look up a Places `place_id` the link names.
    PlaceId(String),
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

/// The reason of a cell that holds no link and nothing the parser reads.
const NOT_A_LINK: &str = "no coordinates, plus code or map link found in the cell";

/// Installs the process-wide TLS crypto provider (ring) that HTTP clients need. Any
/// process building a `reqwest::Client` calls this first; calling it again is harmless.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl Resolver {
    pub fn new(settings: &Settings, cache: Option<Arc<dyn LinkCache>>) -> Result<Self, String> {
        install_crypto_provider();
        let r = settings.resolve();
        let timeout = r.timeout;
        let mut allowed = r.allowed_hosts.to_vec();
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
        let policy = Policy::new(&allowed, r.private_hosts);
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
                r.max_redirects,
                r.max_body_bytes,
                timeout,
                r.per_host,
            ),
            places,
            cache,
            attempts: r.attempts.max(1),
            backoff: r.backoff,
            ttl_ms: millis(r.cache_ttl),
            negative_ttl_ms: millis(r.cache_negative_ttl),
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
        let refusal = links::parse(link).err();
        let needs_places = matches!(
            refusal,
            Some(ParseError::PlaceWithoutCoordinates(_) | ParseError::ShortPlusCode(_))
        );
        if needs_places && self.places.is_none() {
            self.stats.record("none", "not_found");
            let e = refusal.unwrap_or(ParseError::NoCoordinates);
            return refused(Reason::new(e.code(), e.offline_reason()));
        }
        if let Some(hit) = self.cached(link).await {
            return hit;
        }
        let place_id = self.places.as_ref().and(links::places_id(link));
        let lookup = match Url::parse(link)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
        {
            // A place_id is all Places needs: no page to fetch first.
            _ if place_id.is_some() => Lookup::PlaceId(place_id.unwrap_or_default()),
            Some(url) => Lookup::Link(url),
            // Only a place search knows where a short plus code's locality is.
            None if matches!(refusal, Some(ParseError::ShortPlusCode(_))) => {
                Lookup::PlaceText(link.to_owned())
            }
            None => {
                self.stats.record("none", "not_found");
                return refused(match refusal {
                    Some(e) if e != ParseError::NoCoordinates => {
                        Reason::new(e.code(), e.to_string())
                    }
                    _ => Reason::new(ParseError::NoCoordinates.code(), NOT_A_LINK),
                });
            }
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.try_once(&lookup, refusal.as_ref()).await {
                Ok(found) => {
                    self.stats.record(&found.method, "found");
                    self.remember(
                        link,
                        CachedLink::Found {
                            lat: found.coordinates.lat,
                            lng: found.coordinates.lng,
                            method: found.method.clone(),
                            source: Some(found.source.clone()),
                            precision_m: found.precision_m,
                            approximate: found.approximate,
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
                            reason: reason.text.clone(),
                            code: Some(reason.code.to_owned()),
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

    /// One try. `refusal` is what the parser said about the link.
    async fn try_once(
        &self,
        lookup: &Lookup,
        refusal: Option<&ParseError>,
    ) -> Result<Found, Failure> {
        let url = match lookup {
            Lookup::Link(url) => url,
            Lookup::PlaceText(text) => return self.search_places(text).await,
            Lookup::PlaceId(id) => return self.place_details(id).await,
        };
        let (final_url, body) = match self
            .fetcher
            .follow(url)
            .await
            .map_err(|f| f.map(|r| r.prefixed(DID_NOT_RESOLVE)))?
        {
            Landing::Coordinates(parsed) => return Ok(Found::redirect(parsed)),
            Landing::Page { url, body } => (url, body),
        };
        if let Ok(parsed) = links::parse(final_url.as_str()) {
            return Ok(Found::redirect(parsed));
        }
        if let Some((coordinates, method)) = scrape::find(&body) {
            return Ok(Found {
                coordinates,
                method: method.into(),
                source: provenance::MAP_PAGE.into(),
                precision_m: None,
                // A page's `og:` tags place the thing shown; its map's centre (`@`,
                // `"center"`) is only where the map looks.
                approximate: method != "scrape:og",
            });
        }
        let query = place_query(&final_url).or_else(|| place_query(url));
        match (query, &self.places, refusal) {
            (Some(query), Some(_), _) => self.search_places(&query).await,
            (Some(query), None, _) => Err(Failure::Permanent(Reason::new(
                code::PLACES_NOT_CONFIGURED,
                format!(
                    "needs a Places API key: the link names a place (\"{query}\") but carries \
                     no coordinates"
                ),
            ))),
            (None, _, Some(e @ ParseError::PlaceWithoutCoordinates(id))) => {
                Err(Failure::Permanent(Reason::new(
                    e.code(),
                    format!(
                        "The link names a place ({id}) but carries no coordinates, and neither \
                         it nor the page it leads to names the place for a place search"
                    ),
                )))
            }
            (None, _, _) => Err(Failure::Permanent(Reason::new(
                code::PAGE_WITHOUT_COORDINATES,
                format!(
                    "{}: the link and the page it leads to carry no coordinates and name no place",
                    ParseError::NoCoordinates
                ),
            ))),
        }
    }

    async fn search_places(&self, query: &str) -> Result<Found, Failure> {
        let Some(places) = &self.places else {
            return Err(Failure::Permanent(Reason::new(
                code::PLACES_NOT_CONFIGURED,
                format!("needs a Places API key to search for \"{query}\""),
            )));
        };
        let coordinates = places
            .search(&self.fetcher, query)
            .await
            .map_err(|f| f.map(|r| r.prefixed("Place search failed")))?;
        Ok(Found::places(coordinates))
    }

    async fn place_details(&self, place_id: &str) -> Result<Found, Failure> {
        let Some(places) = &self.places else {
            return Err(Failure::Permanent(Reason::new(
                code::PLACES_NOT_CONFIGURED,
                format!("needs a Places API key to look up place_id {place_id}"),
            )));
        };
        let coordinates = places
            .details(&self.fetcher, place_id)
            .await
            .map_err(|f| f.map(|r| r.prefixed("Place lookup failed")))?;
        Ok(Found::places(coordinates))
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
            CachedLink::Found {
                lat,
                lng,
                method,
                source: Some(source),
                precision_m,
                approximate,
            } => Coordinates::new(lat, lng)
                .map(|coordinates| Found {
                    coordinates,
                    method,
                    source,
                    precision_m,
                    approximate,
                })
                .map_err(|e| Reason::new(e.code(), e.to_string())),
            CachedLink::NotFound {
                reason,
                code: Some(stored),
            } => Err(Reason::new(code::known(&stored)?, reason)),
            // Written before sources and codes were kept: looked up again (and
            // overwritten) rather than shown without them.
            CachedLink::Found { source: None, .. } | CachedLink::NotFound { code: None, .. } => {
                return None;
            }
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

/// A link failed before any request.
fn refused(reason: Reason) -> Resolution {
    Resolution {
        result: Err(reason),
        attempts: 1,
        cached: false,
    }
}

/// A period in milliseconds, as the link cache keeps its expiry times.
fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
