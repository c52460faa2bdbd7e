//! Address search for rows that have no link: a Nominatim-compatible `/search`
//! (`q=<text>&format=jsonv2&limit=1&addressdetails=0`), used only when `geocode_url` is
//! set.
//!
//! It keeps the rules of the service it was written for (Nominatim's usage policy): at
//! most `geocode_rate_per_sec` requests per second from this process, every try
//! included ([`RateLimit`]); a `User-Agent` that names the application and its operator
//! (`geocode_user_agent`); and every answer, found or not, cached in the link cache
//! under a `geocode:` key with the links' time to live, so a sheet searched twice is
//! searched once. Failures to reach the service are not cached: the next job may find
//! it healthy. Requests pass the links' host policy: the endpoint's host is allowed
//! (the operator chose it) and a private address still needs `resolve_private_hosts`.
//! Transient failures are retried like links' (`resolve_attempts`,
//! `resolve_backoff_ms`).

use std::{fmt, sync::Arc, time::Duration};

use maplink::{
    cache::{CachedLink, LinkCache},
    config::{DEFAULT_GEOCODE_USER_AGENT, Settings},
    domain::reason_code as code,
    links::Coordinates,
};
use reqwest::Url;
use serde::Deserialize;

use super::{
    Policy, Stats,
    fetch::{Failure, Fetcher, guarded_client, status_failure},
    rate_limit::RateLimit,
    reason::Reason,
};

/// What one address search produced.
#[derive(Clone, Debug, PartialEq)]
pub struct Geocoded {
    pub result: Result<Place, GeocodeFailure>,
    /// Network tries made (0 when answered from the cache).
    pub attempts: u32,
    pub cached: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Place {
    pub coordinates: Coordinates,
    /// The larger side of the result's bounding box in metres (at least 1), when the
    /// service gave one: how far the point may be from what was searched for.
    pub precision_m: Option<f64>,
}

/// Why an address search gave no point.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GeocodeFailure {
    /// The service answered and found nothing for the query.
    NotFound { query: String },
    /// The service could not be asked or did not answer usably; the detail says how.
    Unavailable(String),
}

impl GeocodeFailure {
    /// A short name for the reason that stays the same across releases.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound { .. } => code::GEOCODE_NOT_FOUND,
            Self::Unavailable(_) => code::GEOCODE_UNAVAILABLE,
        }
    }
}

impl fmt::Display for GeocodeFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound { query } => write!(f, "address search found nothing for \"{query}\""),
            Self::Unavailable(detail) => write!(f, "address search failed: {detail}"),
        }
    }
}

pub struct Geocoder {
    base: Url,
    /// `countrycodes=` as sent (comma-separated), when limited.
    countrycodes: Option<String>,
    fetcher: Fetcher,
    /// One per process (the worker builds one resolver), shared by all its jobs.
    limit: RateLimit,
    cache: Option<Arc<dyn LinkCache>>,
    attempts: u32,
    backoff: Duration,
    ttl_ms: i64,
    negative_ttl_ms: i64,
    stats: Arc<Stats>,
}

/// One result of a `jsonv2` search. Nominatim writes numbers as strings; compatible
/// services may not, so both are read.
#[derive(Deserialize)]
struct Hit {
    lat: Number,
    lon: Number,
    /// `[south, north, west, east]`.
    #[serde(default)]
    boundingbox: Option<Vec<Number>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Number {
    Text(String),
    Value(f64),
}

impl Number {
    fn get(&self) -> Option<f64> {
        match self {
            Self::Text(t) => t.trim().parse().ok(),
            Self::Value(v) => Some(*v),
        }
    }
}

const METRES_PER_DEGREE: f64 = 111_320.0;

impl Geocoder {
    /// `None` when `geocode_url` is unset (geocoding off).
    pub fn new(
        settings: &Settings,
        cache: Option<Arc<dyn LinkCache>>,
        stats: Arc<Stats>,
    ) -> Result<Option<Self>, String> {
        let Some(url) = &settings.geocode_url else {
            return Ok(None);
        };
        let base = Url::parse(&format!("{}/", url.trim_end_matches('/')))
            .map_err(|e| format!("geocode_url: {e}"))?;
        let host = base.host_str().unwrap_or_default().to_owned();
        if host.ends_with("nominatim.openstreetmap.org")
            && settings.geocode_user_agent == DEFAULT_GEOCODE_USER_AGENT
        {
            tracing::warn!(
                "geocode_url is the public Nominatim but geocode_user_agent names no contact; \
                 its usage policy asks for one and it may block these requests"
            );
        }
        let r = settings.resolve();
        let mut allowed = r.allowed_hosts.to_vec();
        allowed.push(host);
        let policy = Policy::new(&allowed, r.private_hosts);
        let timeout = r.timeout;
        let client = guarded_client(&policy, timeout, settings.geocode_user_agent.trim())?;
        let codes: Vec<String> = settings
            .geocode_countrycodes
            .iter()
            .map(|c| c.trim().to_ascii_lowercase())
            .collect();
        Ok(Some(Self {
            base,
            countrycodes: (!codes.is_empty()).then(|| codes.join(",")),
            fetcher: Fetcher::new(client, policy, 0, r.max_body_bytes, timeout, r.per_host),
            limit: RateLimit::per_second(settings.geocode_rate_per_sec),
            cache,
            attempts: r.attempts.max(1),
            backoff: r.backoff,
            ttl_ms: super::millis(r.cache_ttl),
            negative_ttl_ms: super::millis(r.cache_negative_ttl),
            stats,
        }))
    }

    /// Searches for `query` (whitespace runs count as one space). Never fails as a
    /// call: problems are the `result`'s failure.
    pub async fn geocode(&self, query: &str) -> Geocoded {
        let query = query.split_whitespace().collect::<Vec<_>>().join(" ");
        let key = self.cache_key(&query);
        if let Some(hit) = self.cached(&key, &query).await {
            return hit;
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.limit.wait().await;
            let (result, entry) = match self.search_once(&query).await {
                Ok(Some(place)) => {
                    self.stats.record("geocode", "found");
                    let entry = CachedLink::AddressFound {
                        lat: place.coordinates.lat,
                        lng: place.coordinates.lng,
                        precision_m: place.precision_m,
                    };
                    (Ok(place), Some((entry, self.ttl_ms)))
                }
                Ok(None) => {
                    self.stats.record("geocode", "not_found");
                    let failure = GeocodeFailure::NotFound {
                        query: query.clone(),
                    };
                    let entry = (CachedLink::AddressNotFound, self.negative_ttl_ms);
                    (Err(failure), Some(entry))
                }
                Err(Failure::Transient(reason)) if attempt < self.attempts => {
                    tracing::debug!(attempt, %reason, "address search failed; retrying");
                    tokio::time::sleep(self.backoff * 2u32.saturating_pow(attempt - 1)).await;
                    continue;
                }
                Err(Failure::Transient(reason) | Failure::Permanent(reason)) => {
                    self.stats.record("geocode", "error");
                    (Err(GeocodeFailure::Unavailable(reason.text)), None)
                }
            };
            if let (Some(cache), Some((entry, ttl_ms))) = (&self.cache, entry)
                && let Err(e) = cache.put(&key, &entry, ttl_ms).await
            {
                tracing::warn!(error = %e, "could not cache an address search");
            }
            return Geocoded {
                result,
                attempts: attempt,
                cached: false,
            };
        }
    }

    /// `geocode:` and the search's parameters, the query lower-cased: the same search
    /// whatever the case of the sheet's text, and a different one per country limit.
    fn cache_key(&self, query: &str) -> String {
        let mut params = url::form_urlencoded::Serializer::new(String::new());
        params.append_pair("q", &query.to_lowercase());
        if let Some(codes) = &self.countrycodes {
            params.append_pair("countrycodes", codes);
        }
        format!("geocode:{}", params.finish())
    }

    async fn cached(&self, key: &str, query: &str) -> Option<Geocoded> {
        let hit = match self.cache.as_ref()?.get(key).await {
            Ok(hit) => hit?,
            Err(e) => {
                tracing::warn!(error = %e, "link cache unavailable; searching without it");
                return None;
            }
        };
        let result = match hit {
            CachedLink::AddressFound {
                lat,
                lng,
                precision_m,
            } => Coordinates::new(lat, lng)
                .map(|coordinates| Place {
                    coordinates,
                    precision_m,
                })
                .map_err(|e| GeocodeFailure::Unavailable(e.to_string())),
            CachedLink::AddressNotFound => Err(GeocodeFailure::NotFound {
                query: query.to_owned(),
            }),
            // Only address searches write `geocode:` keys; anything else is not ours.
            CachedLink::Found { .. } | CachedLink::NotFound { .. } => return None,
        };
        self.stats.cache_hit();
        Some(Geocoded {
            result,
            attempts: 0,
            cached: true,
        })
    }

    /// One request. `Ok(None)`: the service found nothing.
    async fn search_once(&self, query: &str) -> Result<Option<Place>, Failure> {
        let mut url = self
            .base
            .join("search")
            .map_err(|_| Failure::Permanent(unavailable("invalid geocode_url")))?;
        url.query_pairs_mut()
            .append_pair("q", query)
            .append_pair("format", "jsonv2")
            .append_pair("limit", "1")
            .append_pair("addressdetails", "0");
        if let Some(codes) = &self.countrycodes {
            url.query_pairs_mut().append_pair("countrycodes", codes);
        }
        let response = self.fetcher.get(&url).await?;
        if !response.status().is_success() {
            return Err(status_failure(response.status()));
        }
        read_reply(&self.fetcher.body(response).await?)
    }
}

fn unavailable(text: &str) -> Reason {
    Reason::new(code::GEOCODE_UNAVAILABLE, text)
}

/// The first result of a `jsonv2` reply, if any.
fn read_reply(body: &str) -> Result<Option<Place>, Failure> {
    let hits: Vec<Hit> = serde_json::from_str(body).map_err(|_| {
        Failure::Transient(unavailable(
            "the service answered with something other than a list of places",
        ))
    })?;
    let Some(hit) = hits.first() else {
        return Ok(None);
    };
    let invalid =
        || Failure::Permanent(unavailable("the service answered with invalid coordinates"));
    let (lat, lng) = (
        hit.lat.get().ok_or_else(invalid)?,
        hit.lon.get().ok_or_else(invalid)?,
    );
    let coordinates = Coordinates::new(lat, lng).map_err(|_| invalid())?;
    let precision_m = hit.boundingbox.as_deref().and_then(|b| extent(b, lat));
    Ok(Some(Place {
        coordinates,
        precision_m,
    }))
}

/// The larger side, in whole metres and at least 1, of a `[south, north, west, east]`
/// box around latitude `lat`.
fn extent(bbox: &[Number], lat: f64) -> Option<f64> {
    let [south, north, west, east] = bbox else {
        return None;
    };
    let (south, north, west, east) = (south.get()?, north.get()?, west.get()?, east.get()?);
    let height = (north - south).abs() * METRES_PER_DEGREE;
    let width = (east - west).abs() * METRES_PER_DEGREE * lat.to_radians().cos().abs();
    let side = height.max(width);
    side.is_finite().then(|| side.round().max(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nominatim_reply_gives_the_point_and_the_size_of_its_box() {
        let body = r#"[{"place_id":1,"lat":"-26.1076","lon":"28.0567",
            "boundingbox":["-26.1086","-26.1066","28.0557","28.0577"],
            "display_name":"Sandton City, Sandton, Gauteng, South Africa"}]"#;
        let place = read_reply(body).unwrap().unwrap();
        assert_eq!(
            (place.coordinates.lat, place.coordinates.lng),
            (-26.1076, 28.0567)
        );
        // 0.002° of latitude is 223 m; the same of longitude at -26° is 200 m.
        assert_eq!(place.precision_m, Some(223.0));
    }

    #[test]
    fn numbers_may_be_numbers_and_the_box_may_be_missing() {
        let place = read_reply(r#"[{"lat": 51.5, "lon": -0.12}]"#)
            .unwrap()
            .unwrap();
        assert_eq!(
            (place.coordinates.lat, place.coordinates.lng),
            (51.5, -0.12)
        );
        assert_eq!(place.precision_m, None);
        let point = read_reply(r#"[{"lat":"1","lon":"2","boundingbox":["1","1","2","2"]}]"#)
            .unwrap()
            .unwrap();
        assert_eq!(point.precision_m, Some(1.0), "never below a metre");
    }

    #[test]
    fn an_empty_list_is_nothing_found_and_anything_else_a_failure() {
        assert_eq!(read_reply("[]"), Ok(None));
        assert!(matches!(
            read_reply(r#"{"error":{"code":400,"message":"Bad request"}}"#),
            Err(Failure::Transient(_))
        ));
        assert!(matches!(
            read_reply(r#"[{"lat":"95","lon":"2"}]"#),
            Err(Failure::Permanent(_))
        ));
        assert!(matches!(
            read_reply(r#"[{"lat":"north","lon":"2"}]"#),
            Err(Failure::Permanent(_))
        ));
    }

    #[test]
    fn failures_say_what_was_searched_and_have_stable_codes() {
        let miss = GeocodeFailure::NotFound {
            query: "Nowhere Rd, Atlantis".into(),
        };
        assert_eq!(
            miss.to_string(),
            "address search found nothing for \"Nowhere Rd, Atlantis\""
        );
        assert_eq!(miss.code(), "geocode_not_found");
        let down = GeocodeFailure::Unavailable("HTTP 503".into());
        assert_eq!(down.to_string(), "address search failed: HTTP 503");
        assert_eq!(down.code(), "geocode_unavailable");
    }

    #[test]
    fn cache_keys_ignore_case_and_name_the_country_limit() {
        let settings = |codes: &[&str]| Settings {
            geocode_url: Some("https://nominatim.example.org/".into()),
            geocode_countrycodes: codes.iter().map(|c| (*c).to_owned()).collect(),
            ..Settings::default()
        };
        let stats = Arc::new(Stats::default());
        let worldwide = Geocoder::new(&settings(&[]), None, stats.clone())
            .unwrap()
            .unwrap();
        assert_eq!(
            worldwide.cache_key("Sandton City, Gauteng"),
            "geocode:q=sandton+city%2C+gauteng"
        );
        let limited = Geocoder::new(&settings(&["ZA", "na"]), None, stats)
            .unwrap()
            .unwrap();
        assert_eq!(
            limited.cache_key("sandton city, gauteng"),
            "geocode:q=sandton+city%2C+gauteng&countrycodes=za%2Cna"
        );
    }

    #[test]
    fn geocoding_is_off_without_a_url() {
        let off = Geocoder::new(&Settings::default(), None, Arc::new(Stats::default()));
        assert!(matches!(off, Ok(None)));
    }
}
